// Entry point: sets up the log, finds the interpreter, starts the language server and registers the
// commands. Restarts (debounced) when the interpreter changes; other setting changes reach the
// running server without a restart.
import * as os from 'node:os';
import { ConfigurationChangeEvent, Disposable, ExtensionContext, Uri } from 'vscode';
import { Commands, CONFIG_SECTION, DISPLAY_NAME, PREVIEW_SCHEME, SERVER_RESTART_DELAY_MS } from './common/constants';
import { describeError, Logger } from './common/log';
import { migrateFile, migrateWorkspace, PreviewDocuments, showStatus, verifyEntryPoints } from './common/migrate';
import { chooseInterpreter, describeInterpreter, Interpreter, ShownOnce } from './common/python';
import { ServerController } from './common/server';
import { ExtensionSettings, reactToChange, readSettings } from './common/settings';
import {
    createOutputChannel,
    getConfiguration,
    getSelectedPythonInterpreter,
    getWorkspaceFolders,
    onDidChangeConfiguration,
    onDidChangePythonInterpreter,
    registerCommand,
    registerContentProvider,
} from './common/vscodeapi';

let server: ServerController | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
    const outputChannel = createOutputChannel(DISPLAY_NAME);
    context.subscriptions.push(outputChannel);
    const log = new Logger(outputChannel);
    const settingsProblems = new ShownOnce();
    let settings = loadSettings(undefined);
    log.setLevel(settings.logLevel);
    const shown = new ShownOnce();
    const controller = new ServerController({ log, outputChannel, shown });
    server = controller;

    const interpreterFor = async (resource: Uri | undefined): Promise<Interpreter> => {
        const scoped = loadSettings(resource);
        let selected: string | undefined;
        if (scoped.interpreter.length === 0) {
            try {
                selected = await getSelectedPythonInterpreter(resource);
            } catch (error) {
                log.warn(`Could not ask the Python extension for its interpreter: ${describeError(error)}`);
            }
        }
        return chooseInterpreter(scoped.interpreter, selected);
    };

    const start = async (): Promise<void> => {
        const folder = getWorkspaceFolders()[0];
        const interpreter = await interpreterFor(folder?.uri);
        log.debug(`Interpreter: ${describeInterpreter(interpreter)}`);
        await controller.restart({ interpreter, settings, cwd: folder?.uri.fsPath });
    };

    let pendingRestart: NodeJS.Timeout | undefined;
    const restartSoon = (): void => {
        clearTimeout(pendingRestart);
        pendingRestart = setTimeout(() => {
            pendingRestart = undefined;
            if (settings.enable) {
                void start();
            }
        }, SERVER_RESTART_DELAY_MS);
    };
    context.subscriptions.push({ dispose: () => clearTimeout(pendingRestart) });

    const previews = new PreviewDocuments();
    const migrateContext = { log, previews, interpreterFor, showLogs: () => outputChannel.show(true) };

    context.subscriptions.push(
        previews,
        registerContentProvider(PREVIEW_SCHEME, previews),
        registerCommand(Commands.restart, async () => {
            settings = loadSettings(undefined);
            if (!settings.enable) {
                log.warn('Not restarting: doeff-migrate.enable is off');
                return;
            }
            clearTimeout(pendingRestart);
            // A user who asks for a restart (e.g. after installing doeff-migrate) wants to hear again.
            shown.clear();
            await start();
        }),
        registerCommand(Commands.showLogs, () => outputChannel.show()),
        registerCommand(Commands.migrateFile, (uri?: Uri) => migrateFile(migrateContext, uri)),
        registerCommand(Commands.migrateWorkspace, () => migrateWorkspace(migrateContext)),
        registerCommand(Commands.showStatus, () => showStatus(migrateContext)),
        registerCommand(Commands.verifyEntryPoints, (...targets: string[]) => verifyEntryPoints(migrateContext, targets)),
        onDidChangeConfiguration(async (event: ConfigurationChangeEvent) => {
            if (!event.affectsConfiguration(CONFIG_SECTION)) {
                return;
            }
            const before: ExtensionSettings = settings;
            settings = loadSettings(undefined);
            log.setLevel(settings.logLevel);
            const reaction = reactToChange(before, settings);
            log.debug(`Settings changed: ${reaction.kind}`);
            switch (reaction.kind) {
                case 'start':
                case 'restart':
                    restartSoon();
                    break;
                case 'stop':
                    clearTimeout(pendingRestart);
                    await controller.stop();
                    break;
                case 'notify':
                    await controller.notifySettings(settings);
                    break;
            }
        }),
    );

    try {
        const pythonListener = await onDidChangePythonInterpreter(() => {
            if (loadSettings(undefined).interpreter.length === 0) {
                log.debug('The Python extension selected another interpreter');
                restartSoon();
            }
        });
        if (pythonListener !== undefined) {
            context.subscriptions.push(pythonListener);
        }
    } catch (error) {
        log.debug(`Python extension not available: ${describeError(error)}`);
    }

    function loadSettings(resource: Uri | undefined): ExtensionSettings {
        const folder = resource ?? getWorkspaceFolders()[0]?.uri;
        const config = getConfiguration(CONFIG_SECTION, folder);
        const { settings: read, problems } = readSettings((key) => config.get(key), {
            workspaceFolder: folder?.fsPath,
            userHome: os.homedir(),
        });
        for (const problem of problems.filter((text) => settingsProblems.first(text))) {
            log.warn(problem);
        }
        return read;
    }

    if (settings.enable) {
        await start();
    }
    context.subscriptions.push(new Disposable(() => void controller.stop()));
}

export async function deactivate(): Promise<void> {
    await server?.stop();
    server = undefined;
}

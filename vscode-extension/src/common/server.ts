// Starts, stops and restarts the language server (`<interpreter> -m doeff_migrate.lsp`, stdio) through
// vscode-languageclient. Every diagnostic, fix and hover comes from the server; this file only runs it.
import { OutputChannel } from 'vscode';
import {
    DidChangeConfigurationNotification,
    LanguageClient,
    LanguageClientOptions,
    LogMessageNotification,
    RevealOutputChannelOn,
    ServerOptions,
} from 'vscode-languageclient/node';
import { CONFIG_SECTION, DISPLAY_NAME, SERVER_MODULE } from './constants';
import { describeError, levelOfServerMessage, Logger } from './log';
import {
    describeInterpreter,
    installCommand,
    Interpreter,
    probeMessage,
    probeModule,
    serverCommand,
    ShownOnce,
} from './python';
import { ExtensionSettings, initializationOptions, serverSettings } from './settings';
import { copyToClipboard, sendToNewTerminal, showErrorMessage } from './vscodeapi';

export interface ServerContext {
    log: Logger;
    outputChannel: OutputChannel;
    /** Problems the user was already told about; shared across restarts so each is said once. */
    shown: ShownOnce;
}

export interface StartRequest {
    interpreter: Interpreter;
    settings: ExtensionSettings;
    cwd: string | undefined;
}

/** Python documents the server checks, including notebook cells, as in the template. */
const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'python' },
    { scheme: 'untitled', language: 'python' },
    { scheme: 'vscode-notebook-cell', language: 'python' },
];

export class ServerController {
    private client: LanguageClient | undefined;
    /** What the server is told; also the answer to its workspace/configuration requests. */
    private settings: ExtensionSettings | undefined;
    /** Start and stop run one at a time, in the order they were asked for. */
    private queue: Promise<void> = Promise.resolve();

    constructor(private readonly context: ServerContext) {}

    restart(request: StartRequest): Promise<void> {
        return this.enqueue(async () => {
            await this.stopClient();
            await this.startClient(request);
        });
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.stopClient());
    }

    /** Sends changed select/ignore/logLevel; the server re-checks open documents without a restart. */
    async notifySettings(settings: ExtensionSettings): Promise<void> {
        this.settings = settings;
        const client = this.client;
        if (client === undefined || !client.isRunning()) {
            return;
        }
        await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings(settings) });
        this.context.log.debug(`Sent settings to the server: ${JSON.stringify(serverSettings(settings))}`);
    }

    private enqueue(step: () => Promise<void>): Promise<void> {
        const next = this.queue.then(step, step);
        this.queue = next.catch(() => undefined);
        return next;
    }

    private async startClient({ interpreter, settings, cwd }: StartRequest): Promise<void> {
        const { log, shown } = this.context;
        this.settings = settings;
        const probe = await probeModule(interpreter, SERVER_MODULE);
        const problem = probeMessage(interpreter, probe);
        if (problem !== undefined) {
            log.error(problem);
            if (shown.first(`${probe.kind}:${interpreter.command.join(' ')}`)) {
                void this.tellUser(problem, interpreter, probe.kind === 'missing');
            }
            return;
        }
        const { command, args } = serverCommand(interpreter);
        const serverOptions: ServerOptions = {
            command,
            args,
            // Unbuffered so the server's log lines reach the output channel as they are written.
            options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: DOCUMENT_SELECTOR,
            outputChannel: this.context.outputChannel,
            traceOutputChannel: this.context.outputChannel,
            // The channel never opens by itself: no noise on start-up or on the server's warnings.
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            initializationOptions: initializationOptions(settings),
            middleware: {
                workspace: {
                    // A server that pulls its section gets the checked settings, not VS Code's raw
                    // values (where an empty `select` would mean "report nothing").
                    configuration: async (params, token, next) => {
                        const answer = await next(params, token);
                        if (!Array.isArray(answer)) {
                            return answer;
                        }
                        return params.items.map((item, index) =>
                            item.section === CONFIG_SECTION && this.settings !== undefined ? serverSettings(this.settings) : answer[index],
                        );
                    },
                },
            },
        };
        const client = new LanguageClient(CONFIG_SECTION, DISPLAY_NAME, serverOptions, clientOptions);
        // Replaces the client's default handler, which writes every server message whatever the level.
        client.onNotification(LogMessageNotification.type, ({ type, message }) => log.at(levelOfServerMessage(type), `[server] ${message}`));
        log.debug(`Starting the language server: ${command} ${args.join(' ')} (cwd ${cwd ?? 'none'})`);
        try {
            await client.start();
            this.client = client;
            log.debug(`Language server running with ${describeInterpreter(interpreter)}`);
        } catch (error) {
            // vscode-languageclient has already told the user, once, and pointed at this channel.
            log.error('The language server did not start', error);
            await client.dispose().catch(() => undefined);
        }
    }

    private async stopClient(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client === undefined) {
            return;
        }
        try {
            await client.stop();
        } catch (error) {
            this.context.log.debug(`Stopping the language server: ${describeError(error)}`);
        }
        await client.dispose().catch(() => undefined);
        this.context.log.debug('Language server stopped');
    }

    private async tellUser(message: string, interpreter: Interpreter, offerInstall: boolean): Promise<void> {
        const install = 'Install in Terminal';
        const copy = 'Copy Install Command';
        const logs = 'Show Logs';
        const choice = offerInstall
            ? await showErrorMessage(message, install, copy, logs)
            : await showErrorMessage(message, logs);
        if (choice === install) {
            sendToNewTerminal(`${DISPLAY_NAME} install`, installCommand(interpreter));
        } else if (choice === copy) {
            await copyToClipboard(installCommand(interpreter));
        } else if (choice === logs) {
            this.context.outputChannel.show(true);
        }
    }
}

// Starts the REAL language server the way the extension does (the command line from
// serverCommand, the initializationOptions from settings.ts) and speaks LSP to it from Node through
// vscode-languageserver-protocol's node entry: diagnostics arrive for an `@injected` function, a
// quick fix and source.fixAll.doeff-migrate return edits that change the file, and a settings
// change sent as the extension sends it is honoured without a restart.
import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
    CodeAction,
    CodeActionKind,
    CodeActionRequest,
    CodeActionResolveRequest,
    ConfigurationRequest,
    createProtocolConnection,
    Diagnostic,
    DidChangeConfigurationNotification,
    DidOpenTextDocumentNotification,
    ExitNotification,
    HoverRequest,
    InitializedNotification,
    InitializeRequest,
    LogMessageNotification,
    ProtocolConnection,
    PublishDiagnosticsNotification,
    PublishDiagnosticsParams,
    RegistrationRequest,
    ShowMessageNotification,
    ShutdownRequest,
    StreamMessageReader,
    StreamMessageWriter,
    TextEdit,
    WorkDoneProgressCreateRequest,
    WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { FIX_ALL_KIND, SERVER_MODULE } from '../src/common/constants';
import { levelOfServerMessage, Logger } from '../src/common/log';
import { probeModule, serverCommand } from '../src/common/python';
import { DEFAULT_SETTINGS, ExtensionSettings, initializationOptions, serverSettings } from '../src/common/settings';
import { YIELD_FROM_SOURCE, INJECTED_SOURCE, projectPython, tempDir } from './support';

const TIMEOUT_MS = 30000;

async function skipReason(): Promise<string | false> {
    const python = projectPython();
    if (python === undefined) {
        return 'no interpreter with doeff-migrate: set DOEFF_MIGRATE_PYTHON or create .venv (scripts/bootstrap.sh)';
    }
    const probe = await probeModule(python, `${SERVER_MODULE}.__main__`);
    return probe.kind === 'ok' ? false : `${SERVER_MODULE}.__main__ is missing in ${python.command[0]}: the language server is not installed`;
}

/** Applies LSP text edits to a text (end to start, so earlier offsets stay valid). */
function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
    const lineStarts = [0];
    for (let i = 0; i < text.length; i += 1) {
        if (text[i] === '\n') {
            lineStarts.push(i + 1);
        }
    }
    const offset = (line: number, character: number) => Math.min((lineStarts[line] ?? text.length) + character, text.length);
    const sorted = [...edits].sort(
        (a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character,
    );
    let result = text;
    for (const edit of sorted) {
        const start = offset(edit.range.start.line, edit.range.start.character);
        const end = offset(edit.range.end.line, edit.range.end.character);
        result = result.slice(0, start) + edit.newText + result.slice(end);
    }
    return result;
}

function editsFor(edit: WorkspaceEdit | undefined, uri: string): TextEdit[] {
    const fromChanges = edit?.changes?.[uri] ?? [];
    const fromDocumentChanges = (edit?.documentChanges ?? []).flatMap((change) =>
        'textDocument' in change && change.textDocument.uri === uri ? change.edits : [],
    ) as TextEdit[];
    return [...fromChanges, ...fromDocumentChanges];
}

class Session {
    private readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
    private readonly waiters: (() => void)[] = [];
    readonly stderr: string[] = [];
    /** window/logMessage and window/showMessage: the extension logs the first by level, VS Code pops up the second. */
    readonly messages: { kind: 'log' | 'show'; type: number; message: string }[] = [];
    settings: ExtensionSettings = DEFAULT_SETTINGS;

    constructor(
        readonly child: ChildProcessWithoutNullStreams,
        readonly connection: ProtocolConnection,
    ) {
        child.stderr.on('data', (chunk) => this.stderr.push(String(chunk)));
        connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
            this.diagnostics.set(params.uri, params);
            this.waiters.splice(0).forEach((wake) => wake());
        });
        // What VS Code answers through the extension: the normalized settings for our section.
        connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => serverSettings(this.settings)));
        connection.onNotification(LogMessageNotification.type, ({ type, message }) => this.messages.push({ kind: 'log', type, message }));
        connection.onNotification(ShowMessageNotification.type, ({ type, message }) => this.messages.push({ kind: 'show', type, message }));
        connection.onRequest(RegistrationRequest.type, () => undefined);
        connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
        connection.listen();
    }

    async waitForDiagnostics(uri: string, accept: (diagnostics: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
        const deadline = Date.now() + TIMEOUT_MS;
        for (;;) {
            const current = this.diagnostics.get(uri);
            if (current !== undefined && accept(current.diagnostics)) {
                return current.diagnostics;
            }
            const left = deadline - Date.now();
            if (left <= 0) {
                throw new Error(
                    `no matching diagnostics for ${uri} within ${TIMEOUT_MS} ms; last: ${JSON.stringify(current?.diagnostics)}\nserver stderr:\n${this.stderr.join('')}`,
                );
            }
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, left);
                this.waiters.push(() => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
    }

    async resolved(action: CodeAction): Promise<CodeAction> {
        if (action.edit !== undefined || action.data === undefined) {
            return action;
        }
        return this.connection.sendRequest(CodeActionResolveRequest.type, action);
    }
}

describe('the real language server, driven as the extension drives it', async () => {
    const skip = await skipReason();
    let session: Session;
    const folder = tempDir('lsp');
    const file = path.join(folder, 'train.py');
    const uri = pathToFileURL(file).toString();

    before(async () => {
        if (skip) {
            return;
        }
        fs.writeFileSync(file, INJECTED_SOURCE);
        const { command, args } = serverCommand(projectPython()!);
        const child = spawn(command, args, { cwd: folder, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
        const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
        session = new Session(child, connection);
        const result = await connection.sendRequest(InitializeRequest.type, {
            processId: process.pid,
            rootUri: pathToFileURL(folder).toString(),
            workspaceFolders: [{ uri: pathToFileURL(folder).toString(), name: 'lsp' }],
            initializationOptions: initializationOptions(DEFAULT_SETTINGS),
            capabilities: {
                textDocument: {
                    synchronization: { didSave: true },
                    publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true },
                    codeAction: {
                        isPreferredSupport: true,
                        dataSupport: true,
                        resolveSupport: { properties: ['edit'] },
                        codeActionLiteralSupport: {
                            codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'source', 'source.fixAll'] },
                        },
                    },
                    hover: { contentFormat: ['markdown', 'plaintext'] },
                },
                workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false }, workspaceFolders: true },
                window: { workDoneProgress: true },
            },
        });
        assert.ok(result.capabilities.codeActionProvider, 'the server offers code actions');
        await connection.sendNotification(InitializedNotification.type, {});
        await connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri, languageId: 'python', version: 1, text: INJECTED_SOURCE },
        });
    });

    after(async () => {
        if (skip || session === undefined) {
            return;
        }
        await session.connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
        await session.connection.sendNotification(ExitNotification.type).catch(() => undefined);
        const exited = new Promise((resolve) => session.child.once('exit', resolve));
        const timer = setTimeout(() => session.child.kill(), 5000);
        await exited;
        clearTimeout(timer);
        session.connection.dispose();
    });

    test('diagnostics with DM codes arrive for the @injected function', { skip }, async () => {
        const diagnostics = await session.waitForDiagnostics(uri, (found) => found.length > 0);
        const ours = diagnostics.filter((diagnostic) => diagnostic.source === 'doeff-migrate');
        assert.ok(ours.length > 0, JSON.stringify(diagnostics));
        for (const diagnostic of ours) {
            assert.match(String(diagnostic.code), /^DM\d{3}$/);
        }
        const decoratorLine = INJECTED_SOURCE.split('\n').indexOf('@injected');
        assert.ok(
            ours.some((diagnostic) => diagnostic.range.start.line >= decoratorLine && diagnostic.range.start.line <= decoratorLine + 1),
            `a diagnostic on the @injected function: ${JSON.stringify(ours)}`,
        );
    });

    test('start-up is quiet at the default log level: no stderr, no pop-up, no warning', { skip }, async () => {
        await session.waitForDiagnostics(uri, (found) => found.length > 0);
        assert.equal(session.stderr.join(''), '');
        const written: string[] = [];
        const log = new Logger({ appendLine: (line) => written.push(line) }, DEFAULT_SETTINGS.logLevel);
        for (const message of session.messages) {
            assert.equal(message.kind, 'log', `a pop-up at start-up: ${message.message}`);
            log.at(levelOfServerMessage(message.type), message.message);
        }
        assert.deepEqual(written, []);
    });

    test('quick fixes round trip: migrate the function, or suppress with # noqa', { skip }, async () => {
        // The server first publishes what it reads from the text, then again with the codemod's plan of it
        // (on its worker thread): "Migrate" is offered for a diagnostic carrying the plan's decision.
        const planned = (diagnostic: Diagnostic) =>
            diagnostic.source === 'doeff-migrate' && typeof diagnostic.data === 'object' && diagnostic.data !== null && 'migrate' in diagnostic.data;
        const diagnostics = await session.waitForDiagnostics(uri, (found) => found.some(planned));
        const target = diagnostics.find(planned)!;
        const actions = (await session.connection.sendRequest(CodeActionRequest.type, {
            textDocument: { uri },
            range: target.range,
            context: { diagnostics: [target], only: [CodeActionKind.QuickFix] },
        })) as CodeAction[] | null;
        const quickFixes = (actions ?? []).filter((action) => 'title' in action && action.kind?.startsWith(CodeActionKind.QuickFix));
        assert.ok(quickFixes.length > 0, `quick fixes for ${target.code}: ${JSON.stringify(actions)}`);
        const changedTexts = await Promise.all(
            quickFixes.map(async (action) => applyTextEdits(INJECTED_SOURCE, editsFor((await session.resolved(action)).edit, uri))),
        );
        assert.ok(
            changedTexts.some((text) => text !== INJECTED_SOURCE),
            `no quick fix changed the text: ${JSON.stringify(quickFixes.map((action) => action.title))}`,
        );
        // "Migrate this function" runs the codemod on the function under the cursor.
        const migrated = changedTexts.find((text) => !text.includes('@injected'));
        assert.ok(migrated !== undefined, `a quick fix that migrates the function: ${JSON.stringify(quickFixes.map((action) => action.title))}`);
        assert.match(migrated, /@do\n(?:.*\n)*def train\(steps: int\):\n\s+logger = yield Ask\("logger"\)/);
        // The language server contract has a "suppress with # noqa" action for every rule.
        const line = target.range.start.line;
        assert.ok(
            changedTexts.some((text) => text.split('\n')[line].includes(`# noqa: ${target.code}`)),
            `a # noqa action on line ${line + 1}: ${JSON.stringify(changedTexts)}`,
        );
    });

    test('source.fixAll.doeff-migrate applies the safe fixes of a file', { skip }, async () => {
        const fixable = path.join(folder, 'pipeline.py');
        const fixableUri = pathToFileURL(fixable).toString();
        fs.writeFileSync(fixable, YIELD_FROM_SOURCE);
        await session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri: fixableUri, languageId: 'python', version: 1, text: YIELD_FROM_SOURCE },
        });
        const diagnostics = await session.waitForDiagnostics(fixableUri, (found) => found.some((diagnostic) => diagnostic.code === 'DM504'));
        const lines = YIELD_FROM_SOURCE.split('\n');
        // What VS Code sends for editor.codeActionsOnSave: {"source.fixAll.doeff-migrate": "explicit"}.
        const actions = (await session.connection.sendRequest(CodeActionRequest.type, {
            textDocument: { uri: fixableUri },
            range: { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: 0 } },
            context: { diagnostics, only: [FIX_ALL_KIND], triggerKind: 2 },
        })) as CodeAction[] | null;
        const fixAll = (actions ?? []).find((action) => action.kind === FIX_ALL_KIND);
        assert.ok(fixAll !== undefined, `a ${FIX_ALL_KIND} action: ${JSON.stringify(actions)}`);
        const fixed = applyTextEdits(YIELD_FROM_SOURCE, editsFor((await session.resolved(fixAll)).edit, fixableUri));
        assert.equal(fixed, YIELD_FROM_SOURCE.replace('yield from step()', 'yield step()'));
    });

    test('hover on a diagnostic shows the rule documentation', { skip }, async () => {
        const diagnostics = await session.waitForDiagnostics(uri, (found) => found.length > 0);
        const target = diagnostics.find((diagnostic) => diagnostic.source === 'doeff-migrate')!;
        const hover = await session.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: target.range.start });
        assert.ok(hover !== null, 'a hover');
        assert.ok(JSON.stringify(hover.contents).includes(String(target.code)), JSON.stringify(hover.contents));
    });

    test('ignoring the reported codes through didChangeConfiguration clears them without a restart', { skip }, async () => {
        const diagnostics = await session.waitForDiagnostics(uri, (found) => found.length > 0);
        const codes = [...new Set(diagnostics.map((diagnostic) => String(diagnostic.code)))];
        session.settings = { ...DEFAULT_SETTINGS, ignore: codes };
        await session.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings(session.settings) });
        await session.waitForDiagnostics(uri, (found) => found.every((diagnostic) => !codes.includes(String(diagnostic.code))));
        session.settings = DEFAULT_SETTINGS;
        await session.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings(session.settings) });
        const back = await session.waitForDiagnostics(uri, (found) => found.length > 0);
        assert.deepEqual([...new Set(back.map((diagnostic) => String(diagnostic.code)))].sort(), codes.sort());
    });
});

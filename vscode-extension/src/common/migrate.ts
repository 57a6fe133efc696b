// The codemod commands: "Migrate This File", "Migrate Workspace (Preview)", "Show Migration
// Status" and "Verify Entry Points". Each runs the doeff-migrate CLI in the server's interpreter, shows the result as a diff
// and changes files only after the user accepts it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventEmitter, Position, Range, TextDocumentContentProvider, Uri, WorkspaceEdit, workspace } from 'vscode';
import {
    checkRun,
    CodemodRun,
    ExitCode,
    FileDiff,
    lacksStatusCommand,
    migrateDiffArgs,
    parseMigrationDiff,
    planMigration,
    runCodemod,
    statusArgs,
    summarizeDiffs,
} from './codemod';
import { CODEMOD_ENTRY, PREVIEW_SCHEME } from './constants';
import { describeError, Logger } from './log';
import { Interpreter, probeMessage, probeModule } from './python';
import {
    applyEdit,
    executeCommand,
    getActiveTextEditor,
    getOpenTextDocuments,
    getWorkspaceFolders,
    showDocument,
    showErrorMessage,
    showInformationMessage,
    showQuickPick,
    showWarningMessage,
    withProgress,
} from './vscodeapi';
import { discoverArgs, parseDiscovered, verifyArgs, verifySummary } from './verify';

/** Read-only documents holding a migrated file or the status table, served from memory. */
export class PreviewDocuments implements TextDocumentContentProvider {
    private readonly contents = new Map<string, string>();
    private readonly changed = new EventEmitter<Uri>();
    readonly onDidChange = this.changed.event;

    set(uri: Uri, text: string): void {
        this.contents.set(uri.toString(), text);
        this.changed.fire(uri);
    }

    provideTextDocumentContent(uri: Uri): string {
        return this.contents.get(uri.toString()) ?? '';
    }

    dispose(): void {
        this.changed.dispose();
    }
}

export interface MigrateContext {
    log: Logger;
    previews: PreviewDocuments;
    interpreterFor(resource: Uri | undefined): Promise<Interpreter>;
    showLogs(): void;
}

export async function migrateFile(context: MigrateContext, target?: Uri): Promise<void> {
    const uri = target instanceof Uri ? target : getActiveTextEditor()?.document.uri;
    if (uri === undefined || uri.scheme !== 'file') {
        void showWarningMessage('doeff-migrate: open a Python file that is saved on disk to migrate it.');
        return;
    }
    const file = uri.fsPath;
    const name = path.basename(file);
    await reportFailure(context, async () => {
        const document = await workspace.openTextDocument(uri);
        if (document.isDirty) {
            const save = 'Save and Migrate';
            const choice = await showWarningMessage(`${name} has unsaved changes; doeff-migrate migrates the file as saved.`, save);
            if (choice !== save || !(await document.save())) {
                return;
            }
        }
        const cwd = workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(file);
        const interpreter = await ready(context, uri);
        if (interpreter === undefined) {
            return;
        }
        const run = await withProgress(`doeff-migrate: migrating ${name}…`, () =>
            runCodemod(interpreter, migrateDiffArgs([file]), cwd),
        );
        if (checkRun(run).exitCode === ExitCode.someFilesFailed) {
            throw new Error(`could not migrate ${name}: ${run.stderr.trim().split('\n').slice(-3).join(' ')}`);
        }
        const diffs = parseMigrationDiff(run.stdout, cwd).filter((diff) => samePath(diff.file, file));
        const plan = planMigration(diffs, (candidate) => (samePath(candidate, file) ? document.getText() : undefined));
        const edit = plan.edits[0];
        if (edit === undefined) {
            const why = plan.conflicts[0]?.reason;
            void showInformationMessage(why ? `doeff-migrate: ${name}: ${why}.` : `doeff-migrate: nothing to migrate in ${name}.`);
            return;
        }
        const preview = uri.with({ scheme: PREVIEW_SCHEME, query: 'migrated' });
        context.previews.set(preview, edit.after);
        await executeCommand('vscode.diff', uri, preview, `${name} ↔ migrated (doeff-migrate)`, { preview: true });
        const apply = 'Apply';
        const choice = await showInformationMessage(`doeff-migrate: apply the migration of ${name} (${summarizeDiffs(diffs)})?`, apply, 'Discard');
        if (choice !== apply) {
            return;
        }
        if (document.getText() !== edit.before) {
            void showWarningMessage(`doeff-migrate: ${name} changed since the preview; nothing was applied. Run the command again.`);
            return;
        }
        const workspaceEdit = new WorkspaceEdit();
        workspaceEdit.replace(uri, wholeText(edit.before), edit.after);
        if (await applyEdit(workspaceEdit)) {
            await document.save();
            context.log.info(`Migrated ${file} (${summarizeDiffs(diffs)})`);
        }
    });
}

export async function migrateWorkspace(context: MigrateContext): Promise<void> {
    const folders = getWorkspaceFolders();
    if (folders.length === 0) {
        void showWarningMessage('doeff-migrate: open a folder to migrate it.');
        return;
    }
    await reportFailure(context, async () => {
        // The CLI reads files from disk: unsaved editors would be overwritten by a stale migration.
        const unsaved = getOpenTextDocuments().filter((document) => document.isDirty && document.uri.scheme === 'file');
        if (unsaved.length > 0) {
            const save = 'Save All and Continue';
            const choice = await showWarningMessage(`doeff-migrate migrates files as saved; ${unsaved.length} file(s) have unsaved changes.`, save);
            if (choice !== save || !(await workspace.saveAll(false))) {
                return;
            }
        }
        const interpreter = await ready(context, folders[0].uri);
        if (interpreter === undefined) {
            return;
        }
        const diffs: FileDiff[] = [];
        await withProgress('doeff-migrate: computing the migration of the workspace…', async () => {
            for (const folder of folders) {
                const run = await runCodemod(interpreter, migrateDiffArgs(['.']), folder.uri.fsPath);
                diffs.push(...parseMigrationDiff(withFailuresReported(context, run), folder.uri.fsPath));
            }
        });
        const plan = planMigration(diffs, readFileOrUndefined);
        for (const conflict of plan.conflicts) {
            context.log.warn(`Not migrating ${conflict.file}: ${conflict.reason}`);
        }
        if (plan.edits.length === 0) {
            void showInformationMessage('doeff-migrate: nothing to migrate in the workspace.');
            return;
        }
        // needsConfirmation opens VS Code's Refactor Preview: every file's diff is shown, files can be
        // unchecked, and nothing changes until the user presses Apply.
        const workspaceEdit = new WorkspaceEdit();
        for (const edit of plan.edits) {
            const fileDiff = diffs.find((diff) => samePath(diff.file, edit.file));
            workspaceEdit.replace(Uri.file(edit.file), wholeText(edit.before), edit.after, {
                needsConfirmation: true,
                label: `Migrate ${workspace.asRelativePath(edit.file)}`,
                description: fileDiff === undefined ? undefined : summarizeDiffs([fileDiff]),
            });
        }
        context.log.info(`Migration preview: ${summarizeDiffs(diffs)}`);
        if (await applyEdit(workspaceEdit)) {
            context.log.info(`Applied the migration of ${plan.edits.length} file(s)`);
        }
    });
}

export async function showStatus(context: MigrateContext): Promise<void> {
    const folders = getWorkspaceFolders();
    if (folders.length === 0) {
        void showWarningMessage('doeff-migrate: open a folder to see its migration status.');
        return;
    }
    await reportFailure(context, async () => {
        const interpreter = await ready(context, folders[0].uri);
        if (interpreter === undefined) {
            return;
        }
        const sections: string[] = [];
        await withProgress('doeff-migrate: reading the migration status…', async () => {
            for (const folder of folders) {
                const run = await runCodemod(interpreter, statusArgs('.'), folder.uri.fsPath);
                if (lacksStatusCommand(run)) {
                    throw new Error(`the doeff-migrate installed for ${interpreter.command.join(' ')} has no \`status\` command; upgrade it`);
                }
                checkRun(run);
                sections.push(folders.length > 1 ? `${folder.name}\n\n${run.stdout.trimEnd()}\n` : run.stdout);
            }
        });
        const uri = Uri.from({ scheme: PREVIEW_SCHEME, path: '/doeff-migrate status.txt' });
        context.previews.set(uri, sections.join('\n'));
        await showDocument(uri, 'plaintext');
    });
}

/**
 * Runs `doeff-migrate verify` in the first workspace folder on `targets`, or on the entry points the
 * user picks from `verify --discover`; shows the table and a message with the verdict.
 */
export async function verifyEntryPoints(context: MigrateContext, targets?: string[]): Promise<void> {
    const folders = getWorkspaceFolders();
    if (folders.length === 0) {
        void showWarningMessage('doeff-migrate: open a folder to verify its entry points.');
        return;
    }
    const cwd = folders[0].uri.fsPath;
    await reportFailure(context, async () => {
        const interpreter = await ready(context, folders[0].uri);
        if (interpreter === undefined) {
            return;
        }
        let chosen = targets?.filter((target) => typeof target === 'string' && target !== '') ?? [];
        if (chosen.length === 0) {
            const found = parseDiscovered(await runCodemod(interpreter, discoverArgs(), cwd));
            if (found.length === 0) {
                void showWarningMessage('doeff-migrate: no module-level entry points found in this folder.');
                return;
            }
            chosen = (await showQuickPick(found, 'Entry points to verify (pick those without external side effects)')) ?? [];
            if (chosen.length === 0) {
                return;
            }
        }
        const run = await withProgress('doeff-migrate: running the entry points before and after…', () => runCodemod(interpreter, verifyArgs(chosen), cwd));
        const uri = Uri.from({ scheme: PREVIEW_SCHEME, path: '/doeff-migrate verify.txt' });
        context.previews.set(uri, [run.stdout.trimEnd(), run.stderr.trimEnd()].filter((part) => part !== '').join('\n\n') + '\n');
        await showDocument(uri, 'plaintext');
        const summary = verifySummary(run, chosen);
        const show = { info: showInformationMessage, warning: showWarningMessage, error: showErrorMessage }[summary.level];
        void show(summary.message);
    });
}

/** The interpreter, once it is known to have the codemod; otherwise says why, and undefined. */
async function ready(context: MigrateContext, resource: Uri): Promise<Interpreter | undefined> {
    const interpreter = await context.interpreterFor(resource);
    const problem = probeMessage(interpreter, await probeModule(interpreter, CODEMOD_ENTRY.split(':')[0]));
    if (problem !== undefined) {
        context.log.error(problem);
        void showErrorMessage(problem);
        return undefined;
    }
    return interpreter;
}

/** stdout of a run that may have failed on some files: those are reported, the rest is used. */
function withFailuresReported(context: MigrateContext, run: CodemodRun): string {
    checkRun(run);
    if (run.exitCode === ExitCode.someFilesFailed) {
        context.log.warn(`doeff-migrate could not process some files:\n${run.stderr.trim()}`);
        void showWarningMessage('doeff-migrate could not process some files; they are left out. See the logs.');
    }
    return run.stdout;
}

async function reportFailure(context: MigrateContext, action: () => Promise<void>): Promise<void> {
    try {
        await action();
    } catch (error) {
        context.log.error('doeff-migrate command failed', error);
        const logs = 'Show Logs';
        if ((await showErrorMessage(`doeff-migrate: ${describeError(error)}`, logs)) === logs) {
            context.showLogs();
        }
    }
}

function wholeText(text: string): Range {
    const lines = text.split('\n');
    return new Range(new Position(0, 0), new Position(lines.length - 1, lines[lines.length - 1].length));
}

function readFileOrUndefined(file: string): string | undefined {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch {
        return undefined;
    }
}

function samePath(a: string, b: string): boolean {
    return path.resolve(a) === path.resolve(b);
}

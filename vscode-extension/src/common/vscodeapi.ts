// The one seam to VS Code: everything else that needs the editor gets it through these functions,
// so the logic modules (settings, python, codemod, log) load in plain Node for the tests.
import {
    commands,
    ConfigurationChangeEvent,
    Disposable,
    env,
    Event,
    extensions,
    languages,
    OutputChannel,
    ProgressLocation,
    TextDocument,
    TextDocumentContentProvider,
    TextEditor,
    Uri,
    window,
    workspace,
    WorkspaceConfiguration,
    WorkspaceEdit,
    WorkspaceFolder,
} from 'vscode';
import type { PythonExtension } from '@vscode/python-extension';

export function createOutputChannel(name: string): OutputChannel {
    return window.createOutputChannel(name);
}

export function getConfiguration(section: string, scope?: Uri | WorkspaceFolder): WorkspaceConfiguration {
    return workspace.getConfiguration(section, scope);
}

export function onDidChangeConfiguration(listener: (event: ConfigurationChangeEvent) => unknown): Disposable {
    return workspace.onDidChangeConfiguration(listener);
}

export function registerCommand(command: string, callback: (...args: any[]) => unknown): Disposable {
    return commands.registerCommand(command, callback);
}

export function executeCommand<T>(command: string, ...rest: unknown[]): Thenable<T> {
    return commands.executeCommand<T>(command, ...rest);
}

export function getWorkspaceFolders(): readonly WorkspaceFolder[] {
    return workspace.workspaceFolders ?? [];
}

export function registerContentProvider(scheme: string, provider: TextDocumentContentProvider): Disposable {
    return workspace.registerTextDocumentContentProvider(scheme, provider);
}

export function applyEdit(edit: WorkspaceEdit): Thenable<boolean> {
    return workspace.applyEdit(edit);
}

export function copyToClipboard(text: string): Thenable<void> {
    return env.clipboard.writeText(text);
}

export function sendToNewTerminal(name: string, text: string): void {
    const terminal = window.createTerminal(name);
    terminal.show();
    terminal.sendText(text, false);
}

const PYTHON_EXTENSION_ID = 'ms-python.python';

/**
 * The Python extension's API, or undefined when it is not installed. It is an optional helper, so
 * its absence is not an error and is not logged above debug level.
 */
export async function getPythonExtension(): Promise<PythonExtension | undefined> {
    const extension = extensions.getExtension<PythonExtension>(PYTHON_EXTENSION_ID);
    if (extension === undefined) {
        return undefined;
    }
    return extension.isActive ? extension.exports : extension.activate();
}

/** The executable of the interpreter the Python extension has selected for `resource`. */
export async function getSelectedPythonInterpreter(resource?: Uri): Promise<string | undefined> {
    const api = await getPythonExtension();
    if (api === undefined) {
        return undefined;
    }
    const environmentPath = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(environmentPath);
    return resolved?.executable.uri?.fsPath;
}

export async function onDidChangePythonInterpreter(listener: () => unknown): Promise<Disposable | undefined> {
    const api = await getPythonExtension();
    const event: Event<unknown> | undefined = api?.environments.onDidChangeActiveEnvironmentPath;
    return event?.(listener);
}

export function showErrorMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return window.showErrorMessage(message, ...items);
}

export function showWarningMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return window.showWarningMessage(message, ...items);
}

export function showInformationMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return window.showInformationMessage(message, ...items);
}

export function showQuickPick(items: string[], title: string): Thenable<string[] | undefined> {
    return window.showQuickPick(items, { canPickMany: true, title, ignoreFocusOut: true });
}

export function getActiveTextEditor(): TextEditor | undefined {
    return window.activeTextEditor;
}

export function getOpenTextDocuments(): readonly TextDocument[] {
    return workspace.textDocuments;
}

export async function showDocument(uri: Uri, languageId?: string): Promise<void> {
    let document = await workspace.openTextDocument(uri);
    if (languageId !== undefined && document.languageId !== languageId) {
        document = await languages.setTextDocumentLanguage(document, languageId);
    }
    await window.showTextDocument(document, { preview: true });
}

export function withProgress<T>(title: string, task: () => Thenable<T>): Thenable<T> {
    return window.withProgress({ location: ProgressLocation.Notification, title, cancellable: false }, task);
}

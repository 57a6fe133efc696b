// Which Python runs the language server and the codemod, and whether doeff-migrate is installed in it.
import { execFile } from 'node:child_process';
import { DEFAULT_INTERPRETER, PIP_PACKAGE, SERVER_MODULE } from './constants';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
    /** Executable and leading arguments, e.g. ["/proj/.venv/bin/python"] or ["conda", "run", "-n", "x", "python"]. */
    command: string[];
    source: InterpreterSource;
}

/**
 * An explicit `doeff-migrate.interpreter` setting wins (as in the Python tools template and ruff's
 * extension: a user who wrote a path means it), then the interpreter selected in the Python
 * extension, then `python3` from PATH.
 */
export function chooseInterpreter(setting: readonly string[], pythonExtensionPath: string | undefined): Interpreter {
    if (setting.length > 0) {
        return { command: [...setting], source: 'setting' };
    }
    if (pythonExtensionPath !== undefined && pythonExtensionPath.trim() !== '') {
        return { command: [pythonExtensionPath], source: 'python-extension' };
    }
    return { command: [DEFAULT_INTERPRETER], source: 'default' };
}

const SOURCE_TEXT: Record<InterpreterSource, string> = {
    setting: 'from the doeff-migrate.interpreter setting',
    'python-extension': 'selected in the Python extension',
    default: 'the default, found on PATH',
};

export function describeInterpreter(interpreter: Interpreter): string {
    return `${interpreter.command.join(' ')} (${SOURCE_TEXT[interpreter.source]})`;
}

/** A process to spawn without a shell: `<interpreter> -m <module> <args>`. */
export interface ProcessCommand {
    command: string;
    args: string[];
}

export function moduleCommand(interpreter: Interpreter, module: string, args: readonly string[] = []): ProcessCommand {
    const [command, ...leading] = interpreter.command;
    return { command, args: [...leading, '-m', module, ...args] };
}

export function serverCommand(interpreter: Interpreter): ProcessCommand {
    return moduleCommand(interpreter, SERVER_MODULE);
}

/** The command to show a user whose interpreter lacks doeff-migrate, ready to paste into a terminal. */
export function installCommand(interpreter: Interpreter): string {
    return [...interpreter.command, '-m', 'pip', 'install', PIP_PACKAGE].map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
    return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export type ProbeResult =
    | { kind: 'ok' }
    | { kind: 'missing' }
    /** The interpreter itself could not be run (not found, not executable, crashed, timed out). */
    | { kind: 'not-runnable'; detail: string };

const MODULE_MISSING_EXIT = 3;

/**
 * Asks the interpreter whether it can import `module`, without importing it (find_spec), so that the
 * user gets one clear message instead of a server that dies on start-up and is restarted five times.
 */
export function probeModule(interpreter: Interpreter, module: string = SERVER_MODULE, timeoutMs = 15000): Promise<ProbeResult> {
    const script = [
        'import importlib.util, sys',
        'try:',
        `    found = importlib.util.find_spec(${JSON.stringify(module)}) is not None`,
        'except ImportError:',
        '    found = False',
        `sys.exit(0 if found else ${MODULE_MISSING_EXIT})`,
    ].join('\n');
    const [command, ...leading] = interpreter.command;
    return new Promise((resolve) => {
        execFile(command, [...leading, '-c', script], { timeout: timeoutMs, windowsHide: true }, (error, _stdout, stderr) => {
            if (error === null) {
                resolve({ kind: 'ok' });
            } else if (typeof error.code === 'number' && error.code === MODULE_MISSING_EXIT) {
                resolve({ kind: 'missing' });
            } else if (error.code === 'ENOENT') {
                resolve({ kind: 'not-runnable', detail: `${command} was not found` });
            } else if (error.killed) {
                resolve({ kind: 'not-runnable', detail: `${command} did not answer within ${timeoutMs / 1000} s` });
            } else {
                const lastLine = String(stderr).trim().split('\n').pop();
                resolve({ kind: 'not-runnable', detail: lastLine || error.message });
            }
        });
    });
}

/** The one message a user sees when the server cannot start, with what to do about it. */
export function probeMessage(interpreter: Interpreter, result: ProbeResult): string | undefined {
    switch (result.kind) {
        case 'ok':
            return undefined;
        case 'missing':
            return (
                `doeff-migrate is not installed for the Python interpreter ${describeInterpreter(interpreter)}. ` +
                `Install it with: ${installCommand(interpreter)}`
            );
        case 'not-runnable':
            return (
                `doeff-migrate could not run the Python interpreter ${describeInterpreter(interpreter)}: ${result.detail}. ` +
                'Select an interpreter in the Python extension or set doeff-migrate.interpreter.'
            );
    }
}

/** Remembers which problems were already shown, so each is said once per session and not on every restart. */
export class ShownOnce {
    private readonly shown = new Set<string>();

    /** True the first time it is called with `key`. */
    first(key: string): boolean {
        if (this.shown.has(key)) {
            return false;
        }
        this.shown.add(key);
        return true;
    }

    /** Forgets everything, e.g. when the user restarts the server after fixing the problem. */
    clear(): void {
        this.shown.clear();
    }
}

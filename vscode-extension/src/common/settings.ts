// The extension's settings: read from the `doeff-migrate` configuration section, checked, and turned
// into what the language server reads (`initializationOptions.settings` and
// `workspace/didChangeConfiguration`, keys `enable`, `select`, `ignore`, `logLevel`).
import { isLogLevel, LogLevel } from './log';

export interface ExtensionSettings {
    enable: boolean;
    /** Rule codes or prefixes (`DM1`, `DM301`), upper-cased, without duplicates. */
    select: string[];
    ignore: string[];
    /** Interpreter command and leading arguments; empty means "ask the Python extension". */
    interpreter: string[];
    logLevel: LogLevel;
}

/**
 * The settings object the server receives. `select`/`ignore` are sent only when set: a list the
 * client sends replaces the project's `[tool.doeff-migrate]` one, and an empty setting means "use
 * the project's".
 */
export interface ServerSettings {
    enable: boolean;
    select?: string[];
    ignore?: string[];
    logLevel: LogLevel;
}

export const DEFAULT_SETTINGS: ExtensionSettings = {
    enable: true,
    select: [],
    ignore: [],
    interpreter: [],
    logLevel: 'warn',
};

/** `WorkspaceConfiguration.get` bound to the extension's section; a plain function so tests need no VS Code. */
export type ConfigGetter = (key: string) => unknown;

/** Values substituted in the interpreter setting, as in the Python extension's own settings. */
export interface PathVariables {
    workspaceFolder?: string;
    userHome?: string;
}

export interface ReadResult {
    settings: ExtensionSettings;
    /** One line per ignored value, for the log: a mistyped setting should not fail silently. */
    problems: string[];
}

const RULE_CODE = /^DM\d{1,3}$/;

export function readSettings(get: ConfigGetter, vars: PathVariables = {}): ReadResult {
    const problems: string[] = [];
    const enable = get('enable');
    const logLevel = get('logLevel');
    if (enable !== undefined && typeof enable !== 'boolean') {
        problems.push(`doeff-migrate.enable must be true or false, got ${JSON.stringify(enable)}`);
    }
    if (logLevel !== undefined && !isLogLevel(logLevel)) {
        problems.push(`doeff-migrate.logLevel ${JSON.stringify(logLevel)} is not one of error, warn, info, debug, trace`);
    }
    return {
        settings: {
            enable: typeof enable === 'boolean' ? enable : DEFAULT_SETTINGS.enable,
            select: ruleCodes('select', get('select'), problems),
            ignore: ruleCodes('ignore', get('ignore'), problems),
            interpreter: interpreterCommand(get('interpreter'), vars, problems),
            logLevel: isLogLevel(logLevel) ? logLevel : DEFAULT_SETTINGS.logLevel,
        },
        problems,
    };
}

function ruleCodes(key: string, value: unknown, problems: string[]): string[] {
    if (value === undefined || value === null) {
        return [];
    }
    const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
    if (items === undefined) {
        problems.push(`doeff-migrate.${key} must be a list of rule codes, got ${JSON.stringify(value)}`);
        return [];
    }
    const codes: string[] = [];
    for (const item of items) {
        const code = typeof item === 'string' ? item.trim().toUpperCase() : '';
        if (!RULE_CODE.test(code)) {
            problems.push(`doeff-migrate.${key}: ${JSON.stringify(item)} is not a rule code or prefix such as DM1 or DM301`);
        } else if (!codes.includes(code)) {
            codes.push(code);
        }
    }
    return codes;
}

function interpreterCommand(value: unknown, vars: PathVariables, problems: string[]): string[] {
    if (value === undefined || value === null || value === '') {
        return [];
    }
    const parts = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
    if (parts === undefined || !parts.every((part) => typeof part === 'string')) {
        problems.push(`doeff-migrate.interpreter must be a list of strings, got ${JSON.stringify(value)}`);
        return [];
    }
    return parts.filter((part) => part.trim() !== '').map((part) => substitute(part, vars));
}

function substitute(part: string, vars: PathVariables): string {
    let result = part;
    if (vars.workspaceFolder !== undefined) {
        result = result.split('${workspaceFolder}').join(vars.workspaceFolder);
    }
    if (vars.userHome !== undefined) {
        result = result.split('${userHome}').join(vars.userHome);
        if (result === '~' || result.startsWith('~/')) {
            result = vars.userHome + result.slice(1);
        }
    }
    return result;
}

export function serverSettings(settings: ExtensionSettings): ServerSettings {
    const result: ServerSettings = { enable: settings.enable, logLevel: settings.logLevel };
    if (settings.select.length > 0) {
        result.select = [...settings.select];
    }
    if (settings.ignore.length > 0) {
        result.ignore = [...settings.ignore];
    }
    return result;
}

/** `initializationOptions` of the `initialize` request. */
export function initializationOptions(settings: ExtensionSettings): { settings: ServerSettings } {
    return { settings: serverSettings(settings) };
}

/** What to do with the running server after the settings changed. */
export type SettingsReaction =
    | { kind: 'none' }
    | { kind: 'start' }
    | { kind: 'stop' }
    | { kind: 'restart' }
    /** Settings the server re-reads through workspace/didChangeConfiguration, re-checking open files. */
    | { kind: 'notify'; settings: ServerSettings };

export function reactToChange(before: ExtensionSettings, after: ExtensionSettings): SettingsReaction {
    if (before.enable !== after.enable) {
        return after.enable ? { kind: 'start' } : { kind: 'stop' };
    }
    if (!after.enable) {
        return { kind: 'none' };
    }
    if (!sameList(before.interpreter, after.interpreter)) {
        return { kind: 'restart' };
    }
    const changed =
        !sameList(before.select, after.select) ||
        !sameList(before.ignore, after.ignore) ||
        before.logLevel !== after.logLevel;
    return changed ? { kind: 'notify', settings: serverSettings(after) } : { kind: 'none' };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
    return a.length === b.length && a.every((item, index) => item === b[index]);
}

// The extension's log: one output channel shared with the language server's stderr and log messages,
// filtered by the `doeff-migrate.logLevel` setting (default `warn`: quiet unless something is wrong). A plain channel (not a LogOutputChannel) is used so that this
// setting alone decides what is written, instead of being combined with VS Code's own log level.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the logger writes to: the output channel in VS Code, an array in tests. */
export interface LineSink {
    appendLine(line: string): void;
}

export function isLogLevel(value: unknown): value is LogLevel {
    return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export class Logger {
    private threshold: number;

    constructor(
        private readonly sink: LineSink,
        level: LogLevel = 'info',
        private readonly now: () => Date = () => new Date(),
    ) {
        this.threshold = LOG_LEVELS.indexOf(level);
    }

    get level(): LogLevel {
        return LOG_LEVELS[this.threshold];
    }

    setLevel(level: LogLevel): void {
        this.threshold = LOG_LEVELS.indexOf(level);
    }

    enabled(level: LogLevel): boolean {
        return LOG_LEVELS.indexOf(level) <= this.threshold;
    }

    error(message: string, error?: unknown): void {
        this.write('error', error === undefined ? message : `${message}: ${describeError(error)}`);
    }
    warn(message: string): void {
        this.write('warn', message);
    }
    info(message: string): void {
        this.write('info', message);
    }
    debug(message: string): void {
        this.write('debug', message);
    }
    trace(message: string): void {
        this.write('trace', message);
    }
    at(level: LogLevel, message: string): void {
        this.write(level, message);
    }

    private write(level: LogLevel, message: string): void {
        if (!this.enabled(level)) {
            return;
        }
        this.sink.appendLine(`${this.now().toISOString()} [${level}] ${message}`);
    }
}

/**
 * The level of a server's window/logMessage (LSP MessageType: 1 Error, 2 Warning, 3 Info, 4 Log,
 * 5 Debug), so the server's messages obey the same `doeff-migrate.logLevel` as the extension's.
 */
export function levelOfServerMessage(type: number): LogLevel {
    return (['error', 'warn', 'info', 'debug', 'debug'] as const)[type - 1] ?? 'info';
}

export function describeError(error: unknown): string {
    if (error instanceof Error) {
        return error.message;
    }
    return String(error);
}

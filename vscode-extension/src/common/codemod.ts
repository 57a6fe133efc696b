// Running the doeff-migrate codemod for the editor commands, and turning its `--diff` output into
// per-file results that can be previewed and applied. Nothing here touches VS Code, so it is tested
// directly (test/codemod.test.ts), including against the real CLI.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyPatch, parsePatch, StructuredPatch } from 'diff';
import { CODEMOD_ENTRY } from './constants';
import { Interpreter, ProcessCommand } from './python';

/**
 * `<interpreter> -c <launcher> ARGS`: calls the function behind the `doeff-migrate` console script
 * (pyproject's `[project.scripts]`), so the codemod runs in exactly the interpreter that runs the
 * language server, even when that environment's bin directory is not on PATH.
 */
export function codemodCommand(interpreter: Interpreter, args: readonly string[]): ProcessCommand {
    const [module, func] = CODEMOD_ENTRY.split(':');
    const launcher = [
        'import sys',
        "sys.argv[0] = 'doeff-migrate'",
        `from ${module} import ${func}`,
        `sys.exit(${func}())`,
    ].join('; ');
    const [command, ...leading] = interpreter.command;
    return { command, args: [...leading, '-c', launcher, ...args] };
}

/** Arguments of a dry run that prints what migrating `paths` would change and writes nothing. */
export function migrateDiffArgs(paths: readonly string[]): string[] {
    return [...paths, '--diff'];
}

export function statusArgs(target: string): string[] {
    return ['status', target];
}

/**
 * True when the installed doeff-migrate predates the `status` command: its CLI then takes "status"
 * for a path to migrate and says that path does not exist.
 */
export function lacksStatusCommand(run: CodemodRun): boolean {
    return run.exitCode === ExitCode.usage && /path does not exist: status\b/.test(run.stderr);
}

export interface CodemodRun {
    exitCode: number;
    stdout: string;
    stderr: string;
}

/** Exit codes of the CLI. */
export const ExitCode = { ok: 0, pendingChanges: 1, usage: 2, someFilesFailed: 3 } as const;

export function runCodemod(
    interpreter: Interpreter,
    args: readonly string[],
    cwd: string,
    timeoutMs = 10 * 60 * 1000,
): Promise<CodemodRun> {
    const { command, args: argv } = codemodCommand(interpreter, args);
    // Plain text: no colours or progress bars in output that is parsed or shown in an editor.
    const env = { ...process.env, NO_COLOR: '1', TERM: 'dumb', COLUMNS: '120', PYTHONIOENCODING: 'utf-8' };
    return new Promise((resolve, reject) => {
        execFile(command, argv, { cwd, env, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
            if (error !== null && typeof error.code !== 'number') {
                reject(new Error(`could not run ${command}: ${error.killed ? 'timed out' : error.message}`));
                return;
            }
            resolve({ exitCode: error === null ? 0 : Number(error.code), stdout: String(stdout), stderr: String(stderr) });
        });
    });
}

/**
 * Throws with the CLI's own message on a usage error or crash. Exit 3 (some files failed) is not an
 * error here: the other files' changes are still offered, and the caller shows stderr as a warning.
 */
export function checkRun(run: CodemodRun): CodemodRun {
    // Python exits with 1 on an uncaught exception too; that is a crash, not "changes pending".
    const crashed = run.stderr.includes('Traceback (most recent call last)') && run.exitCode === ExitCode.pendingChanges;
    const expected = [ExitCode.ok, ExitCode.pendingChanges, ExitCode.someFilesFailed] as number[];
    if (expected.includes(run.exitCode) && !crashed) {
        return run;
    }
    const message = lastLines(run.stderr || run.stdout, 5) || `exit code ${run.exitCode}`;
    throw new Error(`doeff-migrate failed (exit code ${run.exitCode}): ${message}`);
}

function lastLines(text: string, count: number): string {
    return text.trim().split('\n').slice(-count).join('\n');
}

/** One file the codemod would change: where it is and its hunks. */
export interface FileDiff {
    file: string;
    patch: StructuredPatch;
}

const HUNK_HEADER = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/**
 * Keeps only the unified-diff sections of the CLI's output, so that a summary line or a warning
 * printed on stdout does not break the patch parser.
 */
export function extractUnifiedDiff(output: string): string {
    const lines = output.split('\n');
    const kept: string[] = [];
    let i = 0;
    while (i < lines.length) {
        if (lines[i].startsWith('--- ') && i + 1 < lines.length && lines[i + 1].startsWith('+++ ')) {
            kept.push(lines[i], lines[i + 1]);
            i += 2;
            let match: RegExpExecArray | null;
            while (i < lines.length && (match = HUNK_HEADER.exec(lines[i])) !== null) {
                kept.push(lines[i]);
                i += 1;
                let oldLeft = match[1] === undefined ? 1 : Number(match[1]);
                let newLeft = match[2] === undefined ? 1 : Number(match[2]);
                while (i < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i].startsWith('\\'))) {
                    const line = lines[i];
                    const marker = line === '' ? ' ' : line[0];
                    if (marker === ' ') {
                        oldLeft -= 1;
                        newLeft -= 1;
                    } else if (marker === '-') {
                        oldLeft -= 1;
                    } else if (marker === '+') {
                        newLeft -= 1;
                    } else if (marker !== '\\') {
                        break;
                    }
                    kept.push(line);
                    i += 1;
                }
            }
        } else {
            i += 1;
        }
    }
    return kept.join('\n') + (kept.length > 0 ? '\n' : '');
}

/**
 * Parses the CLI's `--diff` output into one entry per changed file, with absolute paths. Paths are
 * taken relative to `cwd`; git-style `a/` and `b/` prefixes are dropped when the unprefixed file
 * is the one that exists.
 */
export function parseMigrationDiff(output: string, cwd: string, exists: (file: string) => boolean = fs.existsSync): FileDiff[] {
    const text = extractUnifiedDiff(output);
    if (text === '') {
        return [];
    }
    return parsePatch(text)
        .filter((patch) => patch.hunks.length > 0)
        .map((patch) => ({ file: resolveDiffPath(patch.oldFileName ?? patch.newFileName ?? '', cwd, exists), patch }));
}

function resolveDiffPath(name: string, cwd: string, exists: (file: string) => boolean): string {
    const cleaned = name.split('\t')[0].trim();
    const direct = path.resolve(cwd, cleaned);
    if (!exists(direct) && /^[ab]\//.test(cleaned)) {
        const stripped = path.resolve(cwd, cleaned.slice(2));
        if (exists(stripped)) {
            return stripped;
        }
    }
    return direct;
}

/** A file's text before and after the migration, ready to preview and apply. */
export interface PlannedEdit {
    file: string;
    before: string;
    after: string;
}

export interface MigrationPlan {
    edits: PlannedEdit[];
    /** Files whose diff no longer applies (changed since the codemod read them), with the reason. */
    conflicts: { file: string; reason: string }[];
}

/** Applies each file's hunks to its current text; `read` returns undefined for a file that is gone. */
export function planMigration(diffs: readonly FileDiff[], read: (file: string) => string | undefined): MigrationPlan {
    const plan: MigrationPlan = { edits: [], conflicts: [] };
    for (const { file, patch } of diffs) {
        const before = read(file);
        if (before === undefined) {
            plan.conflicts.push({ file, reason: 'the file no longer exists' });
            continue;
        }
        const after = applyPatch(before, patch);
        if (after === false) {
            plan.conflicts.push({ file, reason: 'the file changed after doeff-migrate read it; run the command again' });
        } else if (after !== before) {
            plan.edits.push({ file, before, after });
        }
    }
    return plan;
}

/** A short line for the preview and the confirmation message, e.g. "3 files, +40 -25 lines". */
export function summarizeDiffs(diffs: readonly FileDiff[]): string {
    let added = 0;
    let removed = 0;
    for (const { patch } of diffs) {
        for (const hunk of patch.hunks) {
            for (const line of hunk.lines) {
                if (line.startsWith('+')) {
                    added += 1;
                } else if (line.startsWith('-')) {
                    removed += 1;
                }
            }
        }
    }
    const files = diffs.length === 1 ? '1 file' : `${diffs.length} files`;
    return `${files}, +${added} -${removed} lines`;
}

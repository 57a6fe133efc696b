// "Verify Entry Points": the arguments of `doeff-migrate verify` and what its output means. Nothing
// here touches VS Code, so it is tested directly (test/verify.test.ts), including against the real CLI.
import { CodemodRun } from './codemod';

/** Exit codes of `doeff-migrate verify` (codemod/verify.py). */
export const VerifyExit = { equal: 0, different: 1, usage: 2, sideFailed: 3 } as const;

/** Lists the module-level entry points of the folder as JSON; runs nothing. */
export function discoverArgs(): string[] {
    return ['verify', '--discover', '--json', '--project', '.'];
}

/** Runs each entry point under pinjected (at the base commit) and on the runtime, and compares. */
export function verifyArgs(targets: readonly string[]): string[] {
    return ['verify', ...targets, '--project', '.'];
}

/** The entry points `--discover` printed; throws with the CLI's message when it failed. */
export function parseDiscovered(run: CodemodRun): string[] {
    if (run.exitCode !== 0) {
        throw new Error(`doeff-migrate verify --discover failed (exit code ${run.exitCode}): ${lastLines(run.stderr || run.stdout)}`);
    }
    const parsed: unknown = JSON.parse(run.stdout);
    const found = (parsed as { entry_points?: unknown }).entry_points;
    if (!Array.isArray(found) || !found.every((item) => typeof item === 'string')) {
        throw new Error('doeff-migrate verify --discover printed no list of entry points');
    }
    return found;
}

export interface VerifySummary {
    level: 'info' | 'warning' | 'error';
    message: string;
}

/** The message shown after a run, from its exit code (the table itself goes to a preview document). */
export function verifySummary(run: CodemodRun, targets: readonly string[]): VerifySummary {
    const count = targets.length === 1 ? targets[0] : `${targets.length} entry points`;
    switch (run.exitCode) {
        case VerifyExit.equal:
            return { level: 'info', message: `doeff-migrate verify: ${count} behave${targets.length === 1 ? 's' : ''} the same after migration.` };
        case VerifyExit.different:
            return { level: 'warning', message: 'doeff-migrate verify: an entry point behaves differently after migration; see the table.' };
        case VerifyExit.sideFailed:
            return { level: 'error', message: 'doeff-migrate verify: an entry point failed to run on one side; see the table.' };
        default:
            return { level: 'error', message: `doeff-migrate verify failed (exit code ${run.exitCode}): ${lastLines(run.stderr || run.stdout)}` };
    }
}

function lastLines(text: string, count = 5): string {
    return text.trim().split('\n').slice(-count).join('\n');
}

// Shared by the tests: where the real Python with doeff-migrate is, and temporary folders.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Interpreter } from '../src/common/python';

/** vscode-extension/, whether the tests run from out/test or from test/. */
export const EXTENSION_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../..' : '..');
export const REPO_ROOT = path.resolve(EXTENSION_ROOT, '..');

/**
 * The interpreter with doeff-migrate installed: $DOEFF_MIGRATE_PYTHON (set by scripts/test.sh), else
 * the repository's .venv. Undefined when neither exists, and the tests that need it say so and skip.
 */
export function projectPython(): Interpreter | undefined {
    const fromEnv = process.env.DOEFF_MIGRATE_PYTHON;
    if (fromEnv !== undefined && fromEnv !== '') {
        return { command: [fromEnv], source: 'setting' };
    }
    const venv = path.join(REPO_ROOT, '.venv', 'bin', 'python');
    return fs.existsSync(venv) ? { command: [venv], source: 'setting' } : undefined;
}

export const NO_PYTHON_REASON = 'no interpreter with doeff-migrate: set DOEFF_MIGRATE_PYTHON or create .venv (scripts/bootstrap.sh)';

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `doeff-migrate-${prefix}-`));
}

/** A small pinjected module with an `@injected` function that every phase-`di` rule and fix applies to. */
export const INJECTED_SOURCE = [
    'from pinjected import injected',
    '',
    '',
    '@injected',
    'def train(logger, /, steps: int):',
    '    logger.info("training")',
    '    return steps * 2',
    '',
].join('\n');

/** `yield from` on a program inside a `@do` function (DM504): a safe fix, so fix-all applies it. */
export const YIELD_FROM_SOURCE = [
    'from doeff_migrate.runtime import do',
    '',
    '',
    '@do',
    'def step():',
    '    return 1',
    '',
    '',
    '@do',
    'def pipeline():',
    '    value = yield from step()',
    '    return value',
    '',
].join('\n');

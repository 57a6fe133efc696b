import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
    checkRun,
    codemodCommand,
    extractUnifiedDiff,
    lacksStatusCommand,
    migrateDiffArgs,
    parseMigrationDiff,
    planMigration,
    runCodemod,
    statusArgs,
    summarizeDiffs,
} from '../src/common/codemod';
import { probeModule } from '../src/common/python';
import { INJECTED_SOURCE, projectPython, tempDir } from './support';

const BEFORE = ['import os', '', 'def f():', '    return os.getcwd()', ''].join('\n');
const AFTER = ['import os', '', 'def f():', '    # changed', '    return os.getcwd()', ''].join('\n');
// The shape Python's difflib.unified_diff prints, with text around it that the CLI may add.
const DIFF_OUTPUT = [
    'warning: skipping build/generated.py (excluded)',
    '--- a/pkg/mod.py',
    '+++ b/pkg/mod.py',
    '@@ -1,4 +1,5 @@',
    ' import os',
    ' ',
    ' def f():',
    '+    # changed',
    '     return os.getcwd()',
    '--- other.py',
    '+++ other.py',
    '@@ -1 +1 @@',
    '-x = 1',
    '+x = 2',
    '2 files would be changed, 0 failed',
    '',
].join('\n');

test('the codemod runs through the console script entry point in the given interpreter', () => {
    const { command, args } = codemodCommand({ command: ['/venv/bin/python', '-I'], source: 'setting' }, migrateDiffArgs(['src/a.py']));
    assert.equal(command, '/venv/bin/python');
    assert.deepEqual(args.slice(0, 2), ['-I', '-c']);
    assert.match(args[2], /from doeff_migrate\.codemod\.cli import main; sys\.exit\(main\(\)\)/);
    assert.deepEqual(args.slice(3), ['src/a.py', '--diff']);
    assert.deepEqual(statusArgs('.'), ['status', '.']);
});

test('only the unified diff is kept from the output', () => {
    const kept = extractUnifiedDiff(DIFF_OUTPUT);
    assert.ok(!kept.includes('warning:'));
    assert.ok(!kept.includes('would be changed'));
    assert.equal(kept.split('\n').filter((line) => line.startsWith('+++ ')).length, 2);
    assert.equal(extractUnifiedDiff('All done. Nothing to migrate.\n'), '');
});

test('paths are resolved against the folder the CLI ran in, dropping a/ and b/ when needed', () => {
    const existing = new Set(['/ws/pkg/mod.py', '/ws/other.py']);
    const diffs = parseMigrationDiff(DIFF_OUTPUT, '/ws', (file) => existing.has(file));
    assert.deepEqual(
        diffs.map((diff) => diff.file),
        ['/ws/pkg/mod.py', '/ws/other.py'],
    );
    const absolute = parseMigrationDiff('--- /abs/x.py\n+++ /abs/x.py\n@@ -1 +1 @@\n-a\n+b\n', '/ws', () => true);
    assert.equal(absolute[0].file, '/abs/x.py');
    assert.equal(summarizeDiffs(diffs), '2 files, +2 -1 lines');
});

test('the plan applies each diff to the current text and refuses files that changed since', () => {
    const diffs = parseMigrationDiff(DIFF_OUTPUT, '/ws', () => true);
    const texts: Record<string, string> = { '/ws/a/pkg/mod.py': BEFORE, '/ws/other.py': 'y = 0\n' };
    const plan = planMigration(diffs, (file) => texts[file]);
    assert.deepEqual(plan.edits, [{ file: '/ws/a/pkg/mod.py', before: BEFORE, after: AFTER }]);
    assert.deepEqual(plan.conflicts, [{ file: '/ws/other.py', reason: 'the file changed after doeff-migrate read it; run the command again' }]);
    const gone = planMigration(diffs.slice(0, 1), () => undefined);
    assert.deepEqual(gone, { edits: [], conflicts: [{ file: '/ws/a/pkg/mod.py', reason: 'the file no longer exists' }] });
});

test('CRLF files keep their line endings', () => {
    const crlfBefore = BEFORE.split('\n').join('\r\n');
    const diffs = parseMigrationDiff(DIFF_OUTPUT, '/ws', () => true).slice(0, 1);
    const plan = planMigration(diffs, () => crlfBefore);
    assert.equal(plan.edits[0]?.after, AFTER.split('\n').join('\r\n'));
});

test('an older CLI without `status` is recognised by its answer', () => {
    assert.ok(lacksStatusCommand({ exitCode: 2, stdout: '', stderr: 'error: path does not exist: status\n' }));
    assert.ok(!lacksStatusCommand({ exitCode: 2, stdout: '', stderr: 'error: path does not exist: src\n' }));
    assert.ok(!lacksStatusCommand({ exitCode: 0, stdout: 'phase  remaining', stderr: '' }));
});

test('exit codes: 0, 1 and 3 give the output; usage errors and crashes throw with the message', () => {
    for (const exitCode of [0, 1, 3]) {
        assert.equal(checkRun({ exitCode, stdout: 'out', stderr: '' }).stdout, 'out');
    }
    assert.throws(() => checkRun({ exitCode: 2, stdout: '', stderr: 'Usage: doeff-migrate\nError: No such option: --dif' }), /exit code 2\): Usage: doeff-migrate\nError: No such option: --dif/);
    assert.throws(
        () => checkRun({ exitCode: 1, stdout: '', stderr: 'Traceback (most recent call last):\n  File "x"\nModuleNotFoundError: No module named libcst' }),
        /ModuleNotFoundError: No module named libcst/,
    );
});

async function cliSkipReason(): Promise<string | false> {
    const python = projectPython();
    if (python === undefined) {
        return 'no interpreter with doeff-migrate: set DOEFF_MIGRATE_PYTHON or create .venv';
    }
    const probe = await probeModule(python, 'doeff_migrate.codemod.cli');
    return probe.kind === 'ok' ? false : 'doeff_migrate.codemod.cli is not installed in that interpreter yet';
}

test('with the real CLI, the previewed result is exactly what the CLI writes in place', async (t) => {
    const skip = await cliSkipReason();
    if (skip) {
        t.skip(skip);
        return;
    }
    const python = projectPython()!;
    const previewDir = tempDir('preview');
    const inPlaceDir = tempDir('inplace');
    const files = ['train.py', path.join('pkg', 'steps.py')];
    for (const dir of [previewDir, inPlaceDir]) {
        for (const file of files) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), INJECTED_SOURCE);
        }
    }
    // As "Migrate Workspace" runs it: the folder as `.`.
    const run = checkRun(await runCodemod(python, migrateDiffArgs(['.']), previewDir));
    const diffs = parseMigrationDiff(run.stdout, previewDir);
    assert.deepEqual(
        diffs.map((diff) => diff.file).sort(),
        files.map((file) => path.join(previewDir, file)).sort(),
        run.stdout + run.stderr,
    );
    for (const file of files) {
        assert.equal(fs.readFileSync(path.join(previewDir, file), 'utf8'), INJECTED_SOURCE, '--diff must not write');
    }
    const plan = planMigration(diffs, (file) => fs.readFileSync(file, 'utf8'));
    assert.equal(plan.conflicts.length, 0);
    assert.equal(plan.edits.length, files.length);

    // As "Migrate This File" runs it: one absolute path.
    const single = path.join(previewDir, 'train.py');
    const singleRun = checkRun(await runCodemod(python, migrateDiffArgs([single]), previewDir));
    assert.deepEqual(parseMigrationDiff(singleRun.stdout, previewDir).map((diff) => diff.file), [single]);

    const { command, args } = codemodCommand(python, ['.']);
    execFileSync(command, args, { cwd: inPlaceDir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'pipe' });
    for (const edit of plan.edits) {
        const written = fs.readFileSync(path.join(inPlaceDir, path.relative(previewDir, edit.file)), 'utf8');
        assert.equal(edit.after, written, edit.file);
        assert.notEqual(edit.after, INJECTED_SOURCE);
    }
});

test('with the real CLI, status prints a table for the folder', async (t) => {
    const skip = await cliSkipReason();
    if (skip) {
        t.skip(skip);
        return;
    }
    const dir = tempDir('status');
    fs.writeFileSync(path.join(dir, 'train.py'), INJECTED_SOURCE);
    const raw = await runCodemod(projectPython()!, statusArgs('.'), dir);
    if (lacksStatusCommand(raw)) {
        t.skip('the installed doeff-migrate has no `status` command yet');
        return;
    }
    const run = checkRun(raw);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /di/);
});

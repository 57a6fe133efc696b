// "Verify Entry Points": the CLI arguments, the parsing of --discover and the verdict message, then
// the real CLI on a copy of examples/pinjected_project committed to git and migrated in place.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { codemodCommand, runCodemod } from '../src/common/codemod';
import { probeModule } from '../src/common/python';
import { discoverArgs, parseDiscovered, verifyArgs, verifySummary } from '../src/common/verify';
import { NO_PYTHON_REASON, projectPython, REPO_ROOT, tempDir } from './support';

test('verify and discover run on the folder they are started in', () => {
    assert.deepEqual(verifyArgs(['pkg.mod.main', 'pkg.mod.fast']), ['verify', 'pkg.mod.main', 'pkg.mod.fast', '--project', '.']);
    assert.deepEqual(discoverArgs(), ['verify', '--discover', '--json', '--project', '.']);
});

test('--discover output is a list of entry points, and a failed run says why', () => {
    const run = { exitCode: 0, stdout: '{"entry_points": ["a.b.main", "a.b.fast"]}\n', stderr: '' };
    assert.deepEqual(parseDiscovered(run), ['a.b.main', 'a.b.fast']);
    assert.throws(() => parseDiscovered({ exitCode: 2, stdout: '', stderr: 'error: unknown key(s) in [tool.doeff-migrate]: verfy' }), /exit code 2.*verfy/s);
    assert.throws(() => parseDiscovered({ exitCode: 0, stdout: '{"entry_points": [1]}', stderr: '' }), /no list of entry points/);
});

test('each exit code of verify has its message', () => {
    const run = (exitCode: number, stderr = '') => ({ exitCode, stdout: '', stderr });
    assert.deepEqual(verifySummary(run(0), ['a.b.main']), { level: 'info', message: 'doeff-migrate verify: a.b.main behaves the same after migration.' });
    assert.equal(verifySummary(run(0), ['a.b.main', 'a.b.fast']).message, 'doeff-migrate verify: 2 entry points behave the same after migration.');
    assert.equal(verifySummary(run(1), ['a.b.main']).level, 'warning');
    assert.match(verifySummary(run(3), ['a.b.main']).message, /failed to run on one side/);
    const usage = verifySummary(run(2, "error: base 'nope' is not a commit"), ['a.b.main']);
    assert.equal(usage.level, 'error');
    assert.match(usage.message, /exit code 2.*not a commit/s);
});

test('with the real CLI, the bundled example is discovered and verifies equal', async (t) => {
    const python = projectPython();
    if (python === undefined) {
        t.skip(NO_PYTHON_REASON);
        return;
    }
    if ((await probeModule(python, 'doeff_migrate.codemod.verify')).kind !== 'ok') {
        t.skip('the installed doeff-migrate has no verify command yet');
        return;
    }
    const dir = path.join(tempDir('verify'), 'project');
    fs.cpSync(path.join(REPO_ROOT, 'examples', 'pinjected_project'), dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'original');
    const migrate = codemodCommand(python, ['.', '-q']);
    execFileSync(migrate.command, migrate.args, { cwd: dir, stdio: 'pipe' });

    const found = parseDiscovered(await runCodemod(python, discoverArgs(), dir));
    assert.ok(found.includes('mlpipe.experiment.main') && found.includes('mlpipe.experiment.fast'), found.join(', '));
    const targets = ['mlpipe.experiment.main', 'mlpipe.experiment.fast'];
    const run = await runCodemod(python, verifyArgs(targets), dir);
    assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /2 equal, 0 different, 0 failed/);
    assert.equal(verifySummary(run, targets).level, 'info');
});

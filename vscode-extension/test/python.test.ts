import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    chooseInterpreter,
    describeInterpreter,
    installCommand,
    Interpreter,
    moduleCommand,
    probeMessage,
    probeModule,
    serverCommand,
    ShownOnce,
} from '../src/common/python';
import { NO_PYTHON_REASON, projectPython } from './support';

test('the setting wins over the Python extension, which wins over python3', () => {
    assert.deepEqual(chooseInterpreter(['/venv/bin/python'], '/usr/bin/python3.12'), { command: ['/venv/bin/python'], source: 'setting' });
    assert.deepEqual(chooseInterpreter([], '/usr/bin/python3.12'), { command: ['/usr/bin/python3.12'], source: 'python-extension' });
    assert.deepEqual(chooseInterpreter([], undefined), { command: ['python3'], source: 'default' });
    assert.deepEqual(chooseInterpreter([], '  '), { command: ['python3'], source: 'default' });
});

test('the server runs as `<interpreter> -m doeff_migrate.lsp`, keeping leading interpreter arguments', () => {
    const conda: Interpreter = { command: ['conda', 'run', '-n', 'ml', 'python'], source: 'setting' };
    assert.deepEqual(serverCommand(conda), { command: 'conda', args: ['run', '-n', 'ml', 'python', '-m', 'doeff_migrate.lsp'] });
    assert.deepEqual(moduleCommand({ command: ['py'], source: 'default' }, 'x.y', ['--a']), { command: 'py', args: ['-m', 'x.y', '--a'] });
});

test('the install hint is a pip command for the same interpreter, quoted for a shell', () => {
    assert.equal(installCommand({ command: ['/opt/my envs/bin/python'], source: 'setting' }), "'/opt/my envs/bin/python' -m pip install doeff-migrate");
    assert.equal(installCommand({ command: ['python3'], source: 'default' }), 'python3 -m pip install doeff-migrate');
});

test('the message for a missing module names the interpreter, where it came from, and the pip command', () => {
    const interpreter: Interpreter = { command: ['/usr/bin/python3'], source: 'python-extension' };
    const message = probeMessage(interpreter, { kind: 'missing' });
    assert.equal(
        message,
        'doeff-migrate is not installed for the Python interpreter /usr/bin/python3 (selected in the Python extension). ' +
            'Install it with: /usr/bin/python3 -m pip install doeff-migrate',
    );
    assert.equal(probeMessage(interpreter, { kind: 'ok' }), undefined);
    assert.match(probeMessage(interpreter, { kind: 'not-runnable', detail: 'x was not found' }) ?? '', /could not run .*x was not found/);
    assert.equal(describeInterpreter({ command: ['python3'], source: 'default' }), 'python3 (the default, found on PATH)');
});

test('a problem is shown once until cleared', () => {
    const shown = new ShownOnce();
    assert.ok(shown.first('missing:/usr/bin/python3'));
    assert.ok(!shown.first('missing:/usr/bin/python3'));
    assert.ok(shown.first('missing:/other'));
    shown.clear();
    assert.ok(shown.first('missing:/usr/bin/python3'));
});

test('probing a real interpreter: installed, missing module, interpreter not found', { skip: projectPython() === undefined && NO_PYTHON_REASON }, async () => {
    const python = projectPython()!;
    assert.deepEqual(await probeModule(python, 'doeff_migrate.lsp'), { kind: 'ok' });
    assert.deepEqual(await probeModule(python, 'doeff_migrate.no_such_module'), { kind: 'missing' });
    assert.deepEqual(await probeModule(python, 'no_such_package_for_doeff_migrate.lsp'), { kind: 'missing' });
    const absent: Interpreter = { command: ['/nonexistent/bin/python'], source: 'setting' };
    assert.deepEqual(await probeModule(absent), { kind: 'not-runnable', detail: '/nonexistent/bin/python was not found' });
    // An interpreter command that runs but fails for another reason reports Python's last stderr line.
    const failing: Interpreter = { command: [python.command[0], '-c', 'raise SystemExit("broken interpreter")'], source: 'setting' };
    assert.deepEqual(await probeModule(failing), { kind: 'not-runnable', detail: 'broken interpreter' });
});

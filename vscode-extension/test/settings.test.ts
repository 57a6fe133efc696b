import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    DEFAULT_SETTINGS,
    ExtensionSettings,
    initializationOptions,
    reactToChange,
    readSettings,
    serverSettings,
} from '../src/common/settings';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

test('an empty configuration gives the defaults and no problems', () => {
    const { settings, problems } = readSettings(from({}));
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    assert.deepEqual(problems, []);
});

test('rule codes are trimmed, upper-cased and deduplicated; bad ones are reported, not sent', () => {
    const { settings, problems } = readSettings(from({ select: [' dm1', 'DM301', 'DM1', 'E501', 7], ignore: 'DM5,dm309' }));
    assert.deepEqual(settings.select, ['DM1', 'DM301']);
    assert.deepEqual(settings.ignore, ['DM5', 'DM309']);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /"E501" is not a rule code/);
    assert.match(problems[1], /7 is not a rule code/);
});

test('wrongly typed settings fall back to the defaults and say why', () => {
    const { settings, problems } = readSettings(from({ enable: 'yes', logLevel: 'loud', select: { DM1: true }, interpreter: [1] }));
    assert.equal(settings.enable, true);
    assert.equal(settings.logLevel, 'warn');
    assert.deepEqual(settings.select, []);
    assert.deepEqual(settings.interpreter, []);
    assert.equal(problems.length, 4);
});

test('the interpreter accepts a string or a list and expands ${workspaceFolder}, ${userHome} and ~', () => {
    const vars = { workspaceFolder: '/proj', userHome: '/home/me' };
    assert.deepEqual(readSettings(from({ interpreter: '${workspaceFolder}/.venv/bin/python' }), vars).settings.interpreter, [
        '/proj/.venv/bin/python',
    ]);
    assert.deepEqual(readSettings(from({ interpreter: ['~/miniconda/bin/conda', 'run', '-n', 'ml', 'python', ''] }), vars).settings.interpreter, [
        '/home/me/miniconda/bin/conda',
        'run',
        '-n',
        'ml',
        'python',
    ]);
    assert.deepEqual(readSettings(from({ interpreter: '${userHome}/py' }), vars).settings.interpreter, ['/home/me/py']);
});

test('the server gets enable and logLevel always, select/ignore only when set', () => {
    const settings: ExtensionSettings = { ...DEFAULT_SETTINGS, ignore: ['DM5'], logLevel: 'debug' };
    assert.deepEqual(serverSettings(settings), { enable: true, ignore: ['DM5'], logLevel: 'debug' });
    assert.deepEqual(initializationOptions(DEFAULT_SETTINGS), { settings: { enable: true, logLevel: 'warn' } });
});

test('changes are classified: enable starts/stops, interpreter restarts, codes and level are sent', () => {
    const on = DEFAULT_SETTINGS;
    const off = { ...on, enable: false };
    assert.deepEqual(reactToChange(on, off), { kind: 'stop' });
    assert.deepEqual(reactToChange(off, on), { kind: 'start' });
    assert.deepEqual(reactToChange(off, { ...off, select: ['DM1'] }), { kind: 'none' });
    assert.deepEqual(reactToChange(on, { ...on, interpreter: ['/usr/bin/python3'] }), { kind: 'restart' });
    assert.deepEqual(reactToChange(on, { ...on, ignore: ['DM3'] }), {
        kind: 'notify',
        settings: { enable: true, ignore: ['DM3'], logLevel: 'warn' },
    });
    assert.deepEqual(reactToChange(on, { ...on, logLevel: 'trace' }), { kind: 'notify', settings: { enable: true, logLevel: 'trace' } });
    assert.deepEqual(reactToChange(on, { ...on }), { kind: 'none' });
});

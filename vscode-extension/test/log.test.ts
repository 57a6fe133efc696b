import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLogLevel, levelOfServerMessage, Logger } from '../src/common/log';

const fixedClock = () => new Date('2026-01-02T03:04:05.000Z');

function capture(level: Parameters<Logger['setLevel']>[0]): { logger: Logger; lines: string[] } {
    const lines: string[] = [];
    return { logger: new Logger({ appendLine: (line) => lines.push(line) }, level, fixedClock), lines };
}

test('messages below the level are dropped, the others are written with time and level', () => {
    const { logger, lines } = capture('warn');
    logger.debug('starting');
    logger.info('started');
    logger.warn('slow interpreter');
    logger.error('crashed', new Error('boom'));
    assert.deepEqual(lines, [
        '2026-01-02T03:04:05.000Z [warn] slow interpreter',
        '2026-01-02T03:04:05.000Z [error] crashed: boom',
    ]);
});

test('setLevel takes effect at once', () => {
    const { logger, lines } = capture('error');
    logger.info('hidden');
    logger.setLevel('trace');
    logger.trace('shown');
    assert.equal(logger.level, 'trace');
    assert.deepEqual(lines, ['2026-01-02T03:04:05.000Z [trace] shown']);
});

test('isLogLevel accepts exactly the five levels', () => {
    for (const level of ['error', 'warn', 'info', 'debug', 'trace']) {
        assert.ok(isLogLevel(level), level);
    }
    for (const value of ['WARN', 'verbose', '', 3, undefined]) {
        assert.ok(!isLogLevel(value), String(value));
    }
});

test("the server's log messages map onto the same levels", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 99].map(levelOfServerMessage), ['error', 'warn', 'info', 'debug', 'debug', 'info']);
    const { logger, lines } = capture('warn');
    logger.at(levelOfServerMessage(3), '[server] indexed 12 files');
    logger.at(levelOfServerMessage(2), '[server] pyproject.toml: unknown key');
    assert.deepEqual(lines, ['2026-01-02T03:04:05.000Z [warn] [server] pyproject.toml: unknown key']);
});

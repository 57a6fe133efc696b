// package.json is what VS Code reads: every command the code registers, every setting it reads and
// the fix-all kind must be declared there, with the same defaults the code falls back to.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Commands, CONFIG_SECTION, FIX_ALL_KIND } from '../src/common/constants';
import { DEFAULT_SETTINGS } from '../src/common/settings';
import { EXTENSION_ROOT } from './support';

const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
const properties: Record<string, { default: unknown; enum?: string[] }> = manifest.contributes.configuration.properties;

test('every command is contributed with a title, and nothing else is', () => {
    const contributed = manifest.contributes.commands.map((command: { command: string }) => command.command).sort();
    assert.deepEqual(contributed, Object.values(Commands).sort());
    for (const command of manifest.contributes.commands) {
        assert.ok(command.title && command.category === 'doeff-migrate', command.command);
    }
});

test('every setting the code reads is declared, with the same default', () => {
    const declared = Object.keys(properties).sort();
    const read = [...Object.keys(DEFAULT_SETTINGS).map((key) => `${CONFIG_SECTION}.${key}`), `${CONFIG_SECTION}.trace.server`].sort();
    assert.deepEqual(declared, read);
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
        assert.deepEqual(properties[`${CONFIG_SECTION}.${key}`].default, value, key);
    }
    assert.deepEqual(properties[`${CONFIG_SECTION}.logLevel`].enum, ['error', 'warn', 'info', 'debug', 'trace']);
    assert.deepEqual(properties[`${CONFIG_SECTION}.trace.server`].enum, ['off', 'messages', 'verbose']);
});

test('source.fixAll.doeff-migrate is declared for editor.codeActionsOnSave', () => {
    const kinds = manifest.contributes.codeActions.flatMap((entry: { actions: { kind: string }[] }) => entry.actions.map((action) => action.kind));
    assert.ok(kinds.includes(FIX_ALL_KIND));
    assert.equal(FIX_ALL_KIND, 'source.fixAll.doeff-migrate');
});

test('the manifest points at the bundle and activates on Python', () => {
    assert.equal(manifest.main, './dist/extension.js');
    assert.ok(manifest.activationEvents.includes('onLanguage:python'));
    assert.equal(manifest.serverInfo.module, 'doeff_migrate.lsp');
    // vsce refuses a package whose @types/vscode is newer than the engine it declares.
    const engine = manifest.engines.vscode.replace(/^\^/, '');
    const types = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'node_modules/@types/vscode/package.json'), 'utf8')).version;
    assert.equal(types.split('.').slice(0, 2).join('.'), engine.split('.').slice(0, 2).join('.'));
});

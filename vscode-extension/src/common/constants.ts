// Ids are read from package.json so that the manifest is the one place they are defined
// (the template's setup.ts does the same); test/manifest.test.ts checks the two agree.
import { name, displayName, serverInfo } from '../../package.json';

export const EXTENSION_ID = name;
export const DISPLAY_NAME = displayName;
/** Configuration section and LanguageClient id; `<id>.trace.server` is read by vscode-languageclient. */
export const CONFIG_SECTION = name;
export const SERVER_MODULE = serverInfo.module;
/** `module:function` behind the `doeff-migrate` console script (pyproject `[project.scripts]`). */
export const CODEMOD_ENTRY = serverInfo.codemodEntry;
export const PIP_PACKAGE = serverInfo.pipPackage;
export const FIX_ALL_KIND = `source.fixAll.${name}`;
/** Used when neither the setting nor the Python extension names an interpreter. */
export const DEFAULT_INTERPRETER = 'python3';
/** Interpreter and configuration changes often come in bursts (e.g. several settings saved at once). */
export const SERVER_RESTART_DELAY_MS = 1000;
/** URI scheme of the read-only documents that show a codemod result or the status table. */
export const PREVIEW_SCHEME = `${name}-preview`;

export const Commands = {
    restart: `${name}.restart`,
    showLogs: `${name}.showLogs`,
    migrateFile: `${name}.migrateFile`,
    migrateWorkspace: `${name}.migrateWorkspace`,
    showStatus: `${name}.showStatus`,
    verifyEntryPoints: `${name}.verifyEntryPoints`,
} as const;

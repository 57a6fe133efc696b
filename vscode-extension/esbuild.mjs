// Bundles the extension and its runtime dependencies (vscode-languageclient, diff, the Python
// extension's API helper) into dist/extension.js, so the .vsix ships no node_modules.
// `--production` (used by `vsce package` through vscode:prepublish) minifies and drops source maps.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

await esbuild.build({
    entryPoints: ['src/extension.ts'],
    bundle: true,
    outfile: 'dist/extension.js',
    external: ['vscode'],
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
    logLevel: 'warning',
});

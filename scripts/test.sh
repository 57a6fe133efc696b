#!/usr/bin/env bash
# Runs the whole test suite: the extension's TypeScript tests (when its toolchain is installed),
# then pytest (unit, fidelity against real pinjected/doeff, Ray, WandB offline, LSP clients).
set -euo pipefail
cd "$(dirname "$0")/.."
PYBIN=.venv/bin/python
[ -x "$PYBIN" ] || PYBIN=python3
export DOEFF_MIGRATE_PYTHON="$PWD/$PYBIN"
if [ -f vscode-extension/package.json ] && [ -d vscode-extension/node_modules ]; then
  (cd vscode-extension && npm test --silent)
fi
set +e
"$PYBIN" -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
# pytest's exit code 5 means no test was collected: treat that as a failure, never as success.
exit $rc

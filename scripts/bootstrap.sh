#!/usr/bin/env bash
# Sets up everything on a fresh machine (a venv in .venv with all extras, the VS Code extension's npm
# toolchain, Debian's neovim for the second LSP client), then runs the main job on the bundled example.
# Pass --no-demo to only install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[all]'
if [ -f vscode-extension/package.json ] && command -v npm >/dev/null; then
  (cd vscode-extension && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
fi
if ! command -v nvim >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null) || echo "note: neovim could not be installed; its LSP client test will be skipped"
fi
if [ "${1:-}" != "--no-demo" ]; then
  bash scripts/demo.sh
fi

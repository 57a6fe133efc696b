#!/usr/bin/env bash
# The main job, end to end: copy a pinjected project to a temporary folder, commit it to a scratch git
# repository, migrate it in place with doeff-migrate, then prove the migration with
# `doeff-migrate verify`: each entry point runs under pinjected from the committed original and on the
# runtime (with pinjected unimportable) from the migrated working tree; results and printed lines are
# compared. Exits non-zero on any difference (1) or a run that fails (3).
#
#   bash scripts/demo.sh                                   # the bundled example
#   bash scripts/demo.sh path/to/project pkg.mod.var ...   # your own project and entry points
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")
SRC=${1:-examples/pinjected_project}
shift || true
if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=(mlpipe.experiment.main mlpipe.experiment.fast mlpipe.experiment.inputs)
fi
[ -d "$SRC" ] || { echo "demo: no such project folder: $SRC" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -R "$SRC" "$WORK/project"
cd "$WORK/project"
git init -q .
git add -A
git -c user.name=demo -c user.email=demo@localhost commit -qm "the original pinjected project"

echo "== doeff-migrate $WORK/project"
"$PY" -m doeff_migrate.codemod . 2>&1

echo
echo "== doeff-migrate verify ${TARGETS[*]}"
status=0
COLUMNS=${COLUMNS:-120} "$PY" -m doeff_migrate.codemod verify "${TARGETS[@]}" || status=$?
echo
if [ "$status" -eq 0 ]; then
  echo "demo: all ${#TARGETS[@]} entry points behave the same after migration"
else
  echo "demo: MISMATCH (see above; verify exited with $status)"
fi
exit $status

#!/usr/bin/env bash
# The main job, end to end: copy a pinjected project to a temporary folder, migrate the copy in place
# with doeff-migrate, run each entry point of the original with `python -m pinjected run` and of the
# migrated copy with `python -m doeff_migrate.runtime run ... --json`, print both and say whether
# they match (same printed lines in the same order, equal results). Exits non-zero on any mismatch.
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
cp -R "$SRC" "$WORK/original"
cp -R "$SRC" "$WORK/migrated"
export PYTHONHASHSEED=0

echo "== doeff-migrate $WORK/migrated"
"$PY" -m doeff_migrate.codemod "$WORK/migrated" 2>&1

status=0
for target in "${TARGETS[@]}"; do
  echo
  echo "== $target"
  (cd "$WORK/original" && "$PY" -m pinjected run "$target" >"$WORK/orig.out" 2>"$WORK/orig.err") || {
    echo "pinjected run failed:"; tail -20 "$WORK/orig.err"; status=1; continue; }
  (cd "$WORK/migrated" && "$PY" -m doeff_migrate.runtime run "$target" --json >"$WORK/mig.out" 2>"$WORK/mig.err") || {
    echo "migrated run failed:"; tail -20 "$WORK/mig.err"; status=1; continue; }
  "$PY" - "$WORK" <<'PYEOF' || status=1
import ast, json, re, sys
from pathlib import Path

work = Path(sys.argv[1])
orig_out = (work / "orig.out").read_text().splitlines()
found = re.search(r"<pinjected>\n(.*?)\n</pinjected>", (work / "orig.err").read_text(), re.DOTALL)
orig_text = found.group(1) if found else "<no result>"
mig_lines = (work / "mig.out").read_text().splitlines()
mig_out, mig_result = mig_lines[:-1], json.loads(mig_lines[-1])
try:  # pinjected prints the result with str(); literals read back, anything else compares as text
    orig_result = json.loads(json.dumps(ast.literal_eval(orig_text)))
except (ValueError, SyntaxError):
    orig_result = orig_text
print("  pinjected output:", *orig_out, sep="\n    ")
print("  pinjected result:", orig_text)
print("  migrated output: ", *mig_out, sep="\n    ")
print("  migrated result: ", json.dumps(mig_result))
same = orig_out == mig_out and orig_result == mig_result
print("  MATCH" if same else "  MISMATCH")
sys.exit(0 if same else 1)
PYEOF
done
echo
if [ "$status" -eq 0 ]; then echo "demo: all ${#TARGETS[@]} entry points behave the same after migration"; else echo "demo: MISMATCH (see above)"; fi
exit $status

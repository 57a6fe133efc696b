"""Runs a small pinjected project with real pinjected and, migrated, with the bundled runtime's runner.

``python -m pinjected run pkg.mod.var`` prints the program's own output on stdout and the result's
``repr`` between ``<pinjected>`` tags on stderr; ``python -m doeff_migrate.runtime run ... --json``
prints the program's output and then the JSON result as the last stdout line. Results are compared
after a JSON round trip (tuples and lists are the same there), output line by line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

from doeff_migrate.codemod.cli import main as doeff_migrate

PYTHON = sys.executable


@dataclass
class Run:
    stdout: list[str]
    result: object
    returncode: int
    stderr: str


def write_project(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    return env


# ``python -m pinjected run`` prints the result with ``str`` on stderr, which loses its type; this
# driver takes the same code path (``run_injected("get", ...)``) and prints the result as JSON.
_PINJECTED_DRIVER = (
    "import json, sys\n"
    "from pinjected.run_helpers.run_injected import run_injected\n"
    "result = run_injected('get', sys.argv[1], return_result=True, no_notification=True)\n"
    "print(json.dumps(result))\n"
)


def run_pinjected(root: Path, target: str) -> Run:
    proc = subprocess.run(
        [PYTHON, "-c", _PINJECTED_DRIVER, target], cwd=root, capture_output=True, text=True, env=_env(), timeout=120
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    return Run(lines[:-1] if proc.returncode == 0 else lines, result, proc.returncode, proc.stderr)


# Migrated code must run with pinjected uninstalled: the child process installs a meta-path finder
# that makes every ``pinjected`` import fail before the runner imports anything.
_WITHOUT_PINJECTED = (
    "import sys, runpy\n"
    "class _NoPinjected:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'pinjected' or name.startswith('pinjected.'):\n"
    "            raise ImportError(f'pinjected is not installed (strict fidelity run): {name}')\n"
    "        return None\n"
    "sys.meta_path.insert(0, _NoPinjected())\n"
    "sys.argv = ['doeff_migrate.runtime', *sys.argv[1:]]\n"
    "runpy.run_module('doeff_migrate.runtime', run_name='__main__', alter_sys=True)\n"
)

_PINJECTED_IMPORT = re.compile(r"^\s*(?:from\s+pinjected[\s.]|import\s+pinjected\b)", re.MULTILINE)


def pinjected_imports_left(root: Path) -> list[Path]:
    """The files of ``root`` that still import pinjected."""
    return [p for p in sorted(root.rglob("*.py")) if _PINJECTED_IMPORT.search(p.read_text(encoding="utf-8", errors="replace"))]


def run_migrated(root: Path, target: str, strict: bool = True) -> Run:
    command = [PYTHON, "-c", _WITHOUT_PINJECTED] if strict else [PYTHON, "-m", "doeff_migrate.runtime"]
    proc = subprocess.run(
        [*command, "run", target, "--json"],
        cwd=root, capture_output=True, text=True, env=_env(), timeout=120,
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    return Run(lines[:-1] if proc.returncode == 0 else lines, result, proc.returncode, proc.stderr)


def migrate_copy(original: Path, migrated: Path, extra_args: tuple[str, ...] = ()) -> None:
    shutil.copytree(original, migrated)
    code = doeff_migrate([str(migrated), "-q", *extra_args])
    assert code == 0, f"doeff-migrate exited with {code}"


def assert_same_behaviour(tmp_path: Path, files: dict[str, str], targets: list[str], migrate_args: tuple[str, ...] = ()) -> None:
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, files)
    migrate_copy(original, migrated, migrate_args)
    # DM106 and DM110 are notes on migrated code; any other flag means something was left unmigrated.
    leftover = [p for p in migrated.rglob("*.py") if re.search(r"doeff-migrate: DM(?!106|110)", p.read_text())]
    assert not leftover, f"unexpected flags in {leftover}"
    still_pinjected = pinjected_imports_left(migrated)
    assert not still_pinjected, f"pinjected still imported by {still_pinjected}"
    for target in targets:
        before = run_pinjected(original, target)
        assert before.returncode == 0, f"{target}: pinjected failed:\n{before.stderr[-3000:]}"
        after = run_migrated(migrated, target)
        assert after.returncode == 0, f"{target}: runtime failed:\n{after.stderr[-3000:]}\n" + "\n".join(
            f"--- {p.relative_to(migrated)}\n{p.read_text()}" for p in sorted(migrated.rglob("*.py"))
        )
        assert after.result == before.result, f"{target}: result {after.result!r} != pinjected's {before.result!r}"
        assert after.stdout == before.stdout, f"{target}: output {after.stdout!r} != pinjected's {before.stdout!r}"

"""Runs a small pinjected project with real pinjected and, migrated, with the bundled runtime's runner.

How each side runs and what counts as the same behaviour is ``doeff_migrate.codemod.behaviour``,
shared with ``doeff-migrate verify``: results are compared after a JSON round trip (tuples and lists
are the same there), output line by line; the migrated side runs with pinjected unimportable.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from textwrap import dedent

from doeff_migrate.codemod.behaviour import Run, Sandbox, child_env, pinjected_imports_left, run_original
from doeff_migrate.codemod.behaviour import run_migrated as _run_migrated
from doeff_migrate.codemod.cli import main as doeff_migrate

PYTHON = sys.executable


def write_project(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


def _env() -> dict[str, str]:
    return child_env(Sandbox())


def run_pinjected(root: Path, target: str) -> Run:
    return run_original(root, target, Sandbox(timeout=120))


def run_migrated(root: Path, target: str, strict: bool = True) -> Run:
    return _run_migrated(root, target, Sandbox(timeout=120), strict=strict)


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

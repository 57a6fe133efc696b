"""examples/mixed_project migrated one package at a time; the full example runs after every step.

Each state is run in a fresh interpreter (``python run_example.py``, which uses
``run_mixed_entry``), and its output must equal the original pinjected program's, as printed by
``python -m pinjected run reports.app.main``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from doeff_migrate.codemod.api import ProjectIndex, migrate_source
from doeff_migrate.codemod.status import collect, summarize

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mixed_project"
PACKAGES_IN_DEPENDENCY_ORDER = ("inventory", "pricing", "reports")
EXPECTED_OUTPUT = [
    "[inventory] loading catalog from builtin",
    "[pricing] loading discounts for 3 products",
    "[reports] apple 2.20; pear 1.49; plum 1.38",
    'result: {"skus_in_catalog": 3, "total": 5.07}',
]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    return env


def run_example(root: Path, state: str = "original") -> list[str]:
    proc = subprocess.run(
        [sys.executable, "run_example.py"], cwd=root, capture_output=True, text=True, timeout=120, env=_env()
    )
    assert proc.returncode == 0, f"example failed ({state}):\n{proc.stderr[-3000:]}"
    return proc.stdout.splitlines()


def migrate_package(root: Path, package: str) -> None:
    """What ``doeff-migrate <package>/`` should do: rewrite that package, knowing the whole project."""
    files = sorted(root.rglob("*.py"))
    index = ProjectIndex.build(files)
    for path in files:
        if path.relative_to(root).parts[0] != package:
            continue
        result = migrate_source(path.read_text(encoding="utf-8"), path=str(path), index=index)
        assert not result.flags, f"{path}: {result.flags}"
        if result.changed:
            path.write_text(result.code, encoding="utf-8")


def remaining_pinjected(root: Path) -> dict[str, int]:
    report = summarize(collect([str(root)]))
    return {name: bucket["pinjected"] for name, bucket in report["packages"].items()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "mixed_project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_launcher_prints_what_pinjected_run_prints(project: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "pinjected", "run", "reports.app.main"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = re.search(r"<pinjected>\s*(.*?)\s*</pinjected>", proc.stderr, re.S)
    assert result is not None, proc.stderr[-2000:]
    import ast

    pinjected_output = proc.stdout.splitlines() + ["result: " + json.dumps(ast.literal_eval(result.group(1)), sort_keys=True)]
    assert pinjected_output == EXPECTED_OUTPUT
    assert run_example(project) == EXPECTED_OUTPUT


def test_migrating_in_reverse_dependency_order_keeps_the_output_after_every_step(project: Path):
    before = remaining_pinjected(project)
    assert all(before[p] > 0 for p in PACKAGES_IN_DEPENDENCY_ORDER)
    for step, package in enumerate(reversed(PACKAGES_IN_DEPENDENCY_ORDER)):
        migrate_package(project, package)
        left = remaining_pinjected(project)
        assert left[package] == 0
        assert sum(left.values()) < sum(before.values())
        before = left
        state = f"after migrating {package} (step {step + 1})"
        assert run_example(project, state) == EXPECTED_OUTPUT, state
    assert sum(before.values()) == 0


def test_first_step_in_dependency_order_runs_pinjected_code_on_migrated_code(project: Path):
    migrate_package(project, "inventory")
    assert "@function_binding" in (project / "inventory" / "catalog.py").read_text()
    assert run_example(project, "after migrating inventory") == EXPECTED_OUTPUT


def test_migrating_in_dependency_order_keeps_the_output_after_every_step(project: Path):
    for package in PACKAGES_IN_DEPENDENCY_ORDER:
        migrate_package(project, package)
        state = f"after migrating {package}"
        assert run_example(project, state) == EXPECTED_OUTPUT, state


@pytest.mark.parametrize("order", ["dependency", "reverse"])
def test_the_cli_migrates_one_package_at_a_time_with_the_rest_still_pinjected(project: Path, order: str):
    packages = PACKAGES_IN_DEPENDENCY_ORDER if order == "dependency" else tuple(reversed(PACKAGES_IN_DEPENDENCY_ORDER))
    for package in packages:
        proc = subprocess.run(
            [sys.executable, "-m", "doeff_migrate.codemod.cli", f"{package}/", "--allow-dirty", "-q"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
        )
        assert proc.returncode == 0, proc.stderr
        state = f"after doeff-migrate {package}/ ({order} order)"
        assert run_example(project, state) == EXPECTED_OUTPUT, state


def test_the_real_pinjected_runner_resolves_migrated_code_through_migrated_design(project: Path):
    migrate_package(project, "inventory")
    init = project / "reports" / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("from pinjected import design", "from doeff_migrate.runtime import migrated_design\nfrom pinjected import design")
        .replace("__design__ = design(", "__design__ = migrated_design() + design(")
    )
    assert "migrated_design() + design(" in init.read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "pinjected", "run", "reports.app.main"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == EXPECTED_OUTPUT[:-1]
    assert "{'total': 5.07, 'skus_in_catalog': 3}" in proc.stderr
    report = summarize(collect([str(project)]))
    assert report["packages"]["reports"]["bridges_by_name"] == {"migrated_design": 1}

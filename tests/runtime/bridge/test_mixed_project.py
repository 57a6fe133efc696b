"""examples/mixed_project migrated one package at a time; the full example runs after every step.

The migration uses the command line only (``doeff-migrate <package>/``, no hand edits), in a
dependency order and in the opposite order. After every step the entry point runs, each time in a
fresh interpreter, with ``python -m pinjected run`` (while it is still pinjected), with the runtime's
runner and with ``run_example.py`` (``run_mixed_entry``); every output must equal the original
pinjected program's. The bridge block the codemod generates for pinjected code that still depends on
migrated providers must be gone at the end.
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
from doeff_migrate.codemod.bridges import BEGIN_MARKER
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
    """Rewrite one package through the codemod's API (no bridge block: for the hand-written bridge test)."""
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


def pinjected_run(root: Path, state: str) -> list[str]:
    """``python -m pinjected run reports.app.main``: its stdout, then ``result: <JSON>`` as run_example prints it."""
    proc = subprocess.run(
        [sys.executable, "-m", "pinjected", "run", "reports.app.main"],
        cwd=root, capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert proc.returncode == 0, f"pinjected run failed ({state}):\n{proc.stderr[-3000:]}"
    result = re.search(r"<pinjected>\s*(.*?)\s*</pinjected>", proc.stderr, re.S)
    assert result is not None, proc.stderr[-2000:]
    import ast

    return proc.stdout.splitlines() + ["result: " + json.dumps(ast.literal_eval(result.group(1)), sort_keys=True)]


def runner_run(root: Path, state: str) -> list[str]:
    """``python -m doeff_migrate.runtime run reports.app.main --json``, printed the same way."""
    proc = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", "reports.app.main", "--json"],
        cwd=root, capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert proc.returncode == 0, f"runner failed ({state}):\n{proc.stderr[-3000:]}"
    *printed, last = proc.stdout.splitlines()
    return printed + ["result: " + json.dumps(json.loads(last), sort_keys=True)]


def doeff_migrate(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The codemod's command line, as a user runs it in the project folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.codemod.cli", *args, "--allow-dirty", "-q"],
        cwd=root, capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def bridge_markers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.py") if BEGIN_MARKER in p.read_text(encoding="utf-8")]


def entry_point_is_pinjected(root: Path) -> bool:
    return "IProxy" in (root / "reports" / "app.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("order", ["dependency", "reverse"])
def test_the_cli_migrates_one_package_at_a_time_and_every_state_runs_with_no_hand_edits(project: Path, order: str):
    packages = PACKAGES_IN_DEPENDENCY_ORDER if order == "dependency" else tuple(reversed(PACKAGES_IN_DEPENDENCY_ORDER))
    left_before = remaining_pinjected(project)
    assert all(left_before[p] > 0 for p in packages)
    for step, package in enumerate(packages, 1):
        doeff_migrate(project, f"{package}/")
        state = f"after doeff-migrate {package}/ (step {step}, {order} order)"
        left = remaining_pinjected(project)
        assert left[package] == 0, state
        assert sum(left.values()) < sum(left_before.values()), state
        left_before = left
        if entry_point_is_pinjected(project):  # pinjected's own runner, on the entry point as written
            assert pinjected_run(project, state) == EXPECTED_OUTPUT, state
        assert runner_run(project, state) == EXPECTED_OUTPUT, state
        assert run_example(project, state) == EXPECTED_OUTPUT, state
        bridges = summarize(collect([str(project)]))["totals"]
        assert bridges["bridges"] == bridges["bridges_generated"], state  # every bridge is the codemod's
        if order == "dependency" and step < len(packages):
            # pinjected code left depends on migrated providers by name: the codemod bridged them.
            assert bridge_markers(project) == [project / "__pinjected__.py"], state
            assert bridges["bridges"] > 0, state
        else:
            # reverse order: migrated code asks pinjected (the runner's PinjectedEnv), nothing to write.
            assert bridge_markers(project) == [], state
    assert sum(left_before.values()) == 0
    assert bridge_markers(project) == []
    assert not (project / "__pinjected__.py").exists()
    report = summarize(collect([str(project)]))
    assert report["totals"]["bridges"] == 0 and report["totals"]["pinjected"] == 0


def test_first_step_in_dependency_order_bridges_exactly_what_pinjected_code_still_needs(project: Path):
    doeff_migrate(project, "inventory/")
    assert "@function_binding" in (project / "inventory" / "catalog.py").read_text()
    bridge = (project / "__pinjected__.py").read_text()
    assert "    catalog=as_instance(inventory.catalog.catalog),\n    price_of=as_injected(inventory.catalog.price_of),\n)\n" in bridge
    assert (project / "pricing" / "quotes.py").read_text() == (EXAMPLE / "pricing" / "quotes.py").read_text()
    assert (project / "reports" / "__init__.py").read_text() == (EXAMPLE / "reports" / "__init__.py").read_text()
    report = summarize(collect([str(project)]))
    assert report["packages"]["mixed_project"]["bridges_by_name"] == {"as_injected": 1, "as_instance": 1}
    assert report["packages"]["mixed_project"]["bridges_generated"] == 2


def test_the_real_pinjected_runner_resolves_migrated_code_through_migrated_design(project: Path):
    """The hand-written alternative to the generated block: ``migrated_design()`` in a package design."""
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

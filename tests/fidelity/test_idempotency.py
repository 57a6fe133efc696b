"""A second run of doeff-migrate changes nothing, on every project of the fidelity suite.

The projects are collected from the fidelity modules' project tables (a dict of file texts, alone or
first in a tuple), so a project added anywhere in the suite is covered here too.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate

from . import harness

_SKIPPED_MODULES = {"harness", "test_idempotency"}


def _files_of(value: object) -> dict[str, str] | None:
    if isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, dict) and value and all(isinstance(k, str) and k.endswith((".py", ".toml", ".cfg", ".txt")) for k in value) and any(
        k.endswith(".py") for k in value
    ):
        return value  # type: ignore[return-value]
    return None


def _projects() -> dict[str, dict[str, str]]:
    import tests.fidelity as package

    found: dict[str, dict[str, str]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _SKIPPED_MODULES or not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"tests.fidelity.{info.name}")
        for attr, value in vars(module).items():
            if not attr.isupper() or not isinstance(value, dict):
                continue
            files = _files_of(value)
            if files is not None:
                found[f"{info.name}.{attr}"] = files
                continue
            for name, entry in value.items():
                files = _files_of(entry)
                if files is not None:
                    found[f"{info.name}.{attr}.{name}"] = files
    return found


PROJECTS = _projects()


def test_every_fidelity_table_is_collected():
    assert len(PROJECTS) >= 150


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_second_run_is_a_no_op(tmp_path, name):
    # A project whose top folder is a package would otherwise belong to the folder above it, which holds
    # the other tests' projects: the marker keeps each project its own (codemod.index.project_root_for).
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    harness.write_project(root, PROJECTS[name])
    assert doeff_migrate([str(root), "-q"]) in (0, 3)
    assert doeff_migrate([str(root), "-q", "--check"]) == 0

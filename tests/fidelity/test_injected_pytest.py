"""``@injected_pytest`` tests keep their verdicts: pytest on the original (real pinjected) and on the
migrated copy (plain tests running programs with the module's env) passes and fails the same tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .harness import migrate_copy, write_project

FILES = {
    "app/__init__.py": """\
        from pinjected import design
        __design__ = design(factor=2)
    """,
    "app/ops.py": """\
        import asyncio
        from pinjected import injected

        @injected
        async def a_double(factor, /, x):
            await asyncio.sleep(0)
            return x * factor
    """,
    "app/test_ops.py": """\
        from pinjected import design
        from pinjected.test import injected_pytest
        from app import ops  # registers a_double

        overrides = design(factor=3)

        @injected_pytest
        async def test_double(a_double):
            assert await a_double(2) == 4

        @injected_pytest(overrides)
        async def test_override(a_double, factor):
            assert factor == 3
            assert await a_double(2) == 6

        @injected_pytest(design(factor=5))
        def test_inline(factor):
            assert factor == 5

        @injected_pytest
        def test_fails_on_purpose(factor):
            assert factor == 99
    """,
}


def _verdicts(root: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "app/test_ops.py"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    found = dict(
        (name, verdict) for verdict, name in re.findall(r"^(PASSED|FAILED) app/test_ops\.py::(\w+)", proc.stdout, re.MULTILINE)
    )
    assert found, proc.stdout + proc.stderr
    return found


def test_injected_pytest_verdicts_are_kept(tmp_path):
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, FILES)
    migrate_copy(original, migrated)
    text = (migrated / "app" / "test_ops.py").read_text()
    assert "injected_pytest" not in text and "doeff-migrate: DM" not in text
    expected = {"test_double": "PASSED", "test_override": "PASSED", "test_inline": "PASSED", "test_fails_on_purpose": "FAILED"}
    assert _verdicts(original) == expected
    assert _verdicts(migrated) == expected

"""``@injected_pytest`` tests keep their verdicts and output: pytest on the original project (real
pinjected) and on the migrated copy (plain tests running programs with the module's env) gives every
test id the same verdict (passed, failed, skipped, xfailed) and prints the same stdout, in order.

The migrated copy runs strict: the child process installs a meta-path finder making every
``pinjected`` import fail before pytest starts (the same idea as ``harness._WITHOUT_PINJECTED``, here
as a ``python -c`` prelude so that no ``conftest.py`` is added to the project), and no pinjected
import may be left in the migrated tree.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import migrate_copy, pinjected_imports_left, write_project

_PYTEST_WITHOUT_PINJECTED = (
    "import sys\n"
    "class _NoPinjected:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'pinjected' or name.startswith('pinjected.'):\n"
    "            raise ImportError(f'pinjected is not installed (strict fidelity run): {name}')\n"
    "        return None\n"
    "sys.meta_path.insert(0, _NoPinjected())\n"
    "import pytest\n"
    "sys.exit(pytest.main(sys.argv[1:]))\n"
)

_TEST_ID = re.compile(r"^(\S+::\w+) ?(.*)$")
_VERDICT = re.compile(r"(?:^| )(PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)\b")


def _verdicts(session: list[str]) -> dict[str, str]:
    """``-v -s`` prints the test id, then the test's output, then the verdict (maybe on the id's line)."""
    found: dict[str, str] = {}
    current = None
    for line in session:
        match = _TEST_ID.match(line)
        if match:
            current, line = match.group(1), match.group(2)
        verdict = _VERDICT.match(line) or (_VERDICT.search(line) if match else None)
        if current is not None and verdict and current not in found:
            found[current] = verdict.group(1)
    return found


def _pytest(root: Path, tests: list[str], strict: bool) -> tuple[dict[str, str], list[str]]:
    """Verdict per test id, and stdout of the session (test ids, the tests' prints, verdicts)."""
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    prefix = [sys.executable, "-c", _PYTEST_WITHOUT_PINJECTED] if strict else [sys.executable, "-m", "pytest"]
    proc = subprocess.run(
        [*prefix, "-p", "no:cacheprovider", "-v", "-s", "--tb=short", "-W", "ignore", *tests],
        cwd=root, capture_output=True, text=True, timeout=300, env=env,
    )
    lines = proc.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("collecting")), None)
    assert start is not None, proc.stdout + proc.stderr
    session = []
    for line in lines[start + 1 :]:
        if line.startswith("====="):
            break
        if line.strip():
            session.append(line.rstrip())
    verdicts = _verdicts(session)
    assert verdicts, proc.stdout + proc.stderr
    return verdicts, session


def assert_same_verdicts(
    tmp_path: Path, files: dict[str, str], tests: list[str], expected: dict[str, str], migrate_args: tuple[str, ...] = ()
) -> None:
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, files)
    migrate_copy(original, migrated, migrate_args)
    flagged = [p for p in migrated.rglob("*.py") if re.search(r"doeff-migrate: DM(?!106)", p.read_text())]
    assert not flagged, f"unexpected flags in {flagged}"
    assert not pinjected_imports_left(migrated), f"pinjected still imported by {pinjected_imports_left(migrated)}"
    before, before_out = _pytest(original, tests, strict=False)
    assert before == expected, f"pinjected's verdicts changed: {before}"
    after, after_out = _pytest(migrated, tests, strict=True)
    listing = "\n".join(f"--- {p.relative_to(migrated)}\n{p.read_text()}" for p in sorted(migrated.rglob("*.py")))
    assert after == before, f"verdicts {after} != pinjected's {before}\n{listing}"
    assert after_out == before_out, f"output {after_out} != pinjected's {before_out}\n{listing}"


BASIC = {
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

FIXTURES_AND_MARKS = {
    "app/__init__.py": "",
    "conftest.py": """\
        import pytest

        @pytest.fixture
        def numbers():
            return [1, 2, 3]
    """,
    "app/test_marks.py": """\
        import pytest
        from pinjected import design, instance
        from pinjected.test import injected_pytest

        @instance
        def greeting():
            print("greeting built")
            return "hi"

        @injected_pytest
        def test_one(greeting):
            print("one", greeting)

        @pytest.mark.skip(reason="not today")
        @injected_pytest
        def test_skipped(greeting):
            print("never")

        @pytest.mark.xfail(reason="known")
        @injected_pytest
        def test_expected_failure(greeting):
            assert greeting == "bye"

        @injected_pytest
        def test_fixture_names_are_keys_not_fixtures(numbers):
            print("numbers", numbers)

        @injected_pytest(design(numbers=[7]))
        def test_fixture_name_bound_by_the_design(numbers):
            print("numbers", numbers)

        def test_plain_pytest_with_a_fixture(numbers):
            print("plain", sum(numbers))
    """,
}

DESIGN_HIERARCHY = {
    "app/__init__.py": """\
        from pinjected import design
        __design__ = design(level="root", unit="m", scale=1)
    """,
    "app/sub/__init__.py": "",
    "app/sub/__pinjected__.py": """\
        from pinjected import design
        __design__ = design(level="pinjected", scale=10)
    """,
    "app/sub/test_levels.py": """\
        from pinjected import design, injected
        from pinjected.test import injected_pytest

        __design__ = design(level="module")

        @injected
        def measure(scale, unit, /, x):
            return f"{x * scale}{unit}"

        base = design(unit="cm")

        @injected_pytest
        def test_module_design_wins(level, measure):
            print(level, measure(2))

        @injected_pytest(override=base + design(scale=3))
        def test_override_keyword_and_sum(level, measure):
            print(level, measure(2))
            assert measure(2) == "6cm"

        @injected_pytest(base)
        def test_override_variable(measure):
            assert measure(1) == "10m"
    """,
}

ASYNC_WITH_CLASSES = {
    "app/__init__.py": "",
    "app/service.py": """\
        import asyncio
        from dataclasses import dataclass
        from typing import Callable
        from pinjected import injected, instance

        @instance
        def store():
            print("store built")
            return {}

        @injected
        async def a_save(store, /, key, value):
            await asyncio.sleep(0)
            store[key] = value
            return len(store)

        @injected
        async def a_explode(x):
            await asyncio.sleep(0)
            raise ValueError(f"bad {x}")

        @injected
        @dataclass
        class Repo:
            _a_save: Callable
            prefix: str

            async def put(self, key, value):
                return await self._a_save(self.prefix + key, value)
    """,
    "app/test_service.py": """\
        from pinjected.test import injected_pytest
        from app import service  # registers the providers

        @injected_pytest
        async def test_saves(a_save, store):
            assert await a_save("a", 1) == 1
            print("stored", sorted(store))

        @injected_pytest
        async def test_repo(new_Repo, store):
            repo = new_Repo("p/")
            await repo.put("x", 1)
            await repo.put("y", 2)
            print("repo", sorted(store))

        @injected_pytest
        async def test_failure_propagates(a_explode):
            await a_explode(3)

        @injected_pytest
        async def test_expected_exception(a_explode):
            try:
                await a_explode(4)
            except ValueError as err:
                print("caught", err)
    """,
}

EAGER_AND_PREFLIGHT = {
    "app/__init__.py": "",
    "app/test_graph.py": """\
        from pinjected import design, injected, instance
        from pinjected.test import injected_pytest

        @instance
        def connection():
            print("connection built")
            return "conn"

        @injected
        def query(connection, /, q):
            return f"{connection}:{q}"

        @injected
        def secure_query(api_key, /, q):
            return f"{api_key}:{q}"

        @injected_pytest
        def test_dependencies_built_before_the_body(query):
            print("body starts")
            print(query("x"))

        @injected_pytest
        def test_missing_key_fails_before_the_body(secure_query):
            print("never printed")

        @injected_pytest(design(api_key="k"))
        def test_override_binds_the_missing_key(secure_query):
            print(secure_query("y"))
    """,
}


@pytest.mark.parametrize(
    "files,tests,expected",
    [
        pytest.param(
            BASIC, ["app/test_ops.py"],
            {
                "app/test_ops.py::test_double": "PASSED", "app/test_ops.py::test_override": "PASSED",
                "app/test_ops.py::test_inline": "PASSED", "app/test_ops.py::test_fails_on_purpose": "FAILED",
            },
            id="basic-sync-async-overrides",
        ),
        pytest.param(
            FIXTURES_AND_MARKS, ["app/test_marks.py"],
            {
                "app/test_marks.py::test_one": "PASSED", "app/test_marks.py::test_skipped": "SKIPPED",
                "app/test_marks.py::test_expected_failure": "XFAIL",
                "app/test_marks.py::test_fixture_names_are_keys_not_fixtures": "FAILED",
                "app/test_marks.py::test_fixture_name_bound_by_the_design": "PASSED",
                "app/test_marks.py::test_plain_pytest_with_a_fixture": "PASSED",
            },
            id="fixtures-and-marks",
        ),
        pytest.param(
            DESIGN_HIERARCHY, ["app/sub/test_levels.py"],
            {
                "app/sub/test_levels.py::test_module_design_wins": "PASSED",
                "app/sub/test_levels.py::test_override_keyword_and_sum": "PASSED",
                "app/sub/test_levels.py::test_override_variable": "FAILED",
            },
            id="design-hierarchy",
        ),
        pytest.param(
            ASYNC_WITH_CLASSES, ["app/test_service.py"],
            {
                "app/test_service.py::test_saves": "PASSED", "app/test_service.py::test_repo": "PASSED",
                "app/test_service.py::test_failure_propagates": "FAILED",
                "app/test_service.py::test_expected_exception": "PASSED",
            },
            id="async-with-classes",
        ),
        pytest.param(
            EAGER_AND_PREFLIGHT, ["app/test_graph.py"],
            {
                "app/test_graph.py::test_dependencies_built_before_the_body": "PASSED",
                "app/test_graph.py::test_missing_key_fails_before_the_body": "FAILED",
                "app/test_graph.py::test_override_binds_the_missing_key": "PASSED",
            },
            id="eager-building-and-preflight",
        ),
    ],
)
def test_injected_pytest_verdicts_and_output_are_kept(tmp_path, files, tests, expected):
    assert_same_verdicts(tmp_path, files, tests, expected)


def test_injected_pytest_migrated_for_doeff_keeps_verdicts_and_output(tmp_path):
    pytest.importorskip("doeff")
    expected = {
        "app/test_ops.py::test_double": "PASSED", "app/test_ops.py::test_override": "PASSED",
        "app/test_ops.py::test_inline": "PASSED", "app/test_ops.py::test_fails_on_purpose": "FAILED",
    }
    assert_same_verdicts(tmp_path, BASIC, ["app/test_ops.py"], expected, ("--target", "doeff"))
    assert "from doeff import" in (tmp_path / "migrated" / "app" / "test_ops.py").read_text()

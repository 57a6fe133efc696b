"""``python -m doeff_migrate.runtime run``: env hierarchy, pre-flight, eager singletons, --json."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def write_tree(root: Path, files: dict) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def run_entry(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


PROJECT = {
    "app/__init__.py": """
        __design__ = {"who": "root", "level": "init", "shared": "from init"}
    """,
    "app/__pinjected__.py": """
        __design__ = {"level": "pinjected"}
    """,
    "app/sub/__init__.py": "",
    "app/sub/main.py": """
        from doeff_migrate.runtime import Ask, do, function_binding, instance_binding

        @instance_binding
        @do
        def database():
            print("build database")
            return "db:" + (yield Ask("who"))

        @function_binding
        @do
        def shout(text):
            return text.upper()

        @function_binding("shared")
        @do
        def shared_from_registry():
            return "registry"

        @do
        def main():
            print("main body")
            db = yield Ask("database")
            f = yield Ask("shout")
            return {"db": db, "level": (yield Ask("level")), "shared": (yield Ask("shared")),
                    "mode": (yield Ask("mode")), "shouted": (yield f("x"))}

        __design__ = {"mode": "module"}
        __doeff_overrides__ = {"main": {"mode": "override"}}
        __doeff_requires__ = {"main": ("database", "level", "shared", "mode", "shout")}
    """,
}


def test_env_layers_in_precedence_order_and_json_on_the_last_line(tmp_path):
    write_tree(tmp_path, PROJECT)
    proc = run_entry(tmp_path, "app.sub.main.main", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert json.loads(lines[-1]) == {
        "db": "db:root",
        "level": "pinjected",  # __pinjected__.py over the package __init__
        "shared": "from init",  # a design over the implicit registry binding
        "mode": "override",  # the entry point's with-design override over the module design
        "shouted": "X",
    }
    # Like pinjected, the dependencies are built before the entry point's body runs.
    assert lines[:2] == ["build database", "main body"]


def test_lazy_builds_dependencies_when_first_asked(tmp_path):
    write_tree(tmp_path, PROJECT)
    proc = run_entry(tmp_path, "app.sub.main.main", "--json", "--lazy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["main body", "build database"]


def test_preflight_names_every_missing_key_before_anything_runs(tmp_path):
    files = dict(PROJECT)
    files["app/sub/main.py"] = PROJECT["app/sub/main.py"].replace(
        '"shout")}', '"shout", "tokenizer", "datset")}'
    ).replace('__design__ = {"mode": "module"}', '__design__ = {"mode": "module", "dataset": 1}')
    write_tree(tmp_path, files)
    proc = run_entry(tmp_path, "app.sub.main.main")
    assert proc.returncode == 2
    assert "needs 2 key(s) that no design binds: 'tokenizer', 'datset'" in proc.stderr
    assert "build database" not in proc.stdout and "main body" not in proc.stdout


def test_unknown_module_and_attribute_are_usage_errors(tmp_path):
    write_tree(tmp_path, PROJECT)
    proc = run_entry(tmp_path, "app.nope.main")
    assert proc.returncode == 2 and "no module named 'app.nope'" in proc.stderr
    proc = run_entry(tmp_path, "app.sub.main.mian")
    assert proc.returncode == 2 and "has no attribute 'mian'; did you mean main?" in proc.stderr


def test_program_exception_exits_1_with_the_original_traceback(tmp_path):
    write_tree(
        tmp_path,
        {
            "boom.py": """
                from doeff_migrate.runtime import do
                @do
                def main():
                    raise ValueError("bad input data")
                    yield
            """
        },
    )
    proc = run_entry(tmp_path, "boom.main")
    assert proc.returncode == 1
    assert "ValueError: bad input data" in proc.stderr
    assert 'boom.py", line 5, in main' in proc.stderr


@pytest.mark.parametrize("value, kind", [("42", "int"), ("[1, 2]", "list")])
def test_a_plain_value_is_no_entry_point(tmp_path, value, kind):
    """pinjected refuses to run one too; the codemod wraps values in ``Pure`` (a program)."""
    write_tree(tmp_path, {"vals.py": f"main = {value}\n"})
    proc = run_entry(tmp_path, "vals.main", "--json")
    assert proc.returncode == 2, proc.stderr
    assert f"error: vals.main is a value of type {kind}, not an entry point" in proc.stderr
    assert proc.stdout == ""


def test_a_pure_value_is_an_entry_point(tmp_path):
    write_tree(tmp_path, {"vals.py": "from doeff_migrate.runtime import Pure\n\nmain = Pure([1, 2])\n"})
    proc = run_entry(tmp_path, "vals.main", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [1, 2]


def test_a_partly_migrated_codebase_runs_through_the_pinjected_bridge(tmp_path):
    # The package design is still pinjected; the module was migrated. The runner hands such entry
    # points to the bridge, so one pinjected resolver answers the keys of both.
    write_tree(
        tmp_path,
        {
            "app/__init__.py": """
                from pinjected import design, instance

                @instance
                def greeting():
                    print("building greeting")
                    return "hello"

                __design__ = design(name="world")
            """,
            "app/main.py": """
                from doeff_migrate.runtime import Ask, do

                @do
                def main():
                    return f"{(yield Ask('greeting'))}, {(yield Ask('name'))}"
            """,
        },
    )
    proc = run_entry(tmp_path, "app.main.main", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["building greeting", '"hello, world"']


def test_an_awaitable_final_value_is_awaited_like_pinjected_does(tmp_path):
    # pinjected's run_injected awaits the entry point's value when it is awaitable (semantics C17).
    write_tree(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            import asyncio
            from doeff_migrate.runtime import Program, do

            async def plain(x):
                await asyncio.sleep(0)
                return x + 1

            @do
            def sync_ret(x):
                return plain(x)

            main: Program = sync_ret(1)
        """,
    })
    proc = run_entry(tmp_path, "app.main.main", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == 2


def test_project_root_pinjected_module_is_the_lowest_design_layer(tmp_path):
    # pinjected reads a __pinjected__.py in the project root (the folder holding the top package) first.
    write_tree(tmp_path, {
        "__pinjected__.py": '__design__ = {"base": "root-level", "over": "root"}\n',
        "app/__init__.py": "",
        "app/__pinjected__.py": '__design__ = {"over": "package"}\n',
        "app/main.py": """
            from doeff_migrate.runtime import Ask, do

            @do
            def main():
                return [(yield Ask("base")), (yield Ask("over"))]

            __doeff_requires__ = {"main": ("base", "over")}
        """,
    })
    proc = run_entry(tmp_path, "app.main.main", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == ["root-level", "package"]
    # Run from another folder with the project on PYTHONPATH: the root file is found next to the package.
    other = tmp_path / "elsewhere"
    other.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", "app.main.main", "--json"],
        cwd=other, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == ["root-level", "package"]

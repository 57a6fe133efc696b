"""``doeff-migrate status`` (codemod/status/) on small trees written to tmp_path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.status import collect, file_status, status_command, summarize

PINJECTED_MODULE = """\
from pinjected import design, injected, instance

@instance
def settings():
    return {}

@injected
def train(settings, /, x):
    return x

__design__ = design(rate=1)
"""

MIGRATED_MODULE = """\
import wandb
from doeff_migrate.runtime import Ask, do, function_binding, handler
from doeff_migrate.runtime import as_injected as bridge
import doeff_migrate.runtime as rt

@function_binding
@do
def train(x):
    settings = yield Ask("settings")
    # doeff-migrate: DM106: dependency `verbose` had a default; pinjected ignored it
    wandb.log({"x": x})
    print(x)
    print(x)
    note = "# doeff-migrate: DM999 inside a string is not a flag"
    return x

@handler
def handle_upload(effect, k):
    # doeff-migrate: stub
    raise NotImplementedError("write the handler for Upload")

legacy_train = bridge(train)
env = rt.PinjectedEnv(None)
"""

DONE_MODULE = """\
from doeff_migrate.runtime import Ask, do

@do
def clean(x):
    factor = yield Ask("factor")
    return x * factor
"""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_tree(
        tmp_path / "src",
        {
            "shop/__init__.py": "",
            "shop/core/__init__.py": "",
            "shop/core/models.py": PINJECTED_MODULE,
            "shop/billing/__init__.py": "",
            "shop/billing/pay.py": MIGRATED_MODULE,
            "shop/billing/clean.py": DONE_MODULE,
        },
    )
    return tmp_path / "src"


def test_counts_each_kind_of_remaining_work_per_package(tree: Path):
    report = summarize(collect([str(tree)]))
    core = report["packages"]["shop.core"]
    assert core["pinjected"] == 3
    assert core["pinjected_by_rule"] == {"design": 1, "injected-function": 1, "instance-function": 1}
    billing = report["packages"]["shop.billing"]
    assert billing["side_effects_by_category"] == {"metrics-call": 1}
    assert billing["kept_by_category"] == {"print-call": 2}  # kept by the codemod on purpose: not work left
    assert billing["kept"] == 2
    assert billing["flags_by_code"] == {"DM106": 1}  # the string is not a comment
    assert billing["stubs"] == 1
    assert billing["bridges_by_name"] == {"PinjectedEnv": 1, "as_injected": 1}
    assert billing["pinjected"] == 0
    assert billing["total"] == 1 + 1 + 1 + 2
    assert (billing["files"], billing["files_done"]) == (3, 2)  # __init__.py and clean.py are done
    assert report["totals"]["total"] == core["total"] + billing["total"] + report["packages"]["shop"]["total"]


def test_phases_add_up_to_the_total(tree: Path):
    report = summarize(collect([str(tree)]))
    for bucket in [report["totals"], *report["packages"].values()]:
        assert sum(bucket["phases"].values()) == bucket["total"]
    billing = report["packages"]["shop.billing"]["phases"]
    assert billing == {"di": 3, "compute": 0, "io": 2, "recording": 0}


def test_flag_comments_counted_once_even_though_the_language_server_reports_them_too():
    status = file_status("x = 1  # doeff-migrate: DM106: something a human decides\n", "m.py", "pkg")
    assert dict(status.flags) == {"DM106": 1}
    assert status.total == 1


def test_a_migrated_module_without_leftovers_counts_nothing():
    status = file_status(textwrap.dedent(DONE_MODULE), "m.py", "pkg")
    assert status.total == 0


def test_bridges_are_found_through_aliases_and_module_attributes_only():
    source = textwrap.dedent(
        """\
        import doeff_migrate.runtime
        from doeff_migrate.runtime.bridge import migrated_design as md, as_instance

        def as_injected(x):  # a local function of the same name is not the bridge
            return x

        a = md()
        b = as_instance(f)
        c = doeff_migrate.runtime.pinjected_env(d)
        e = as_injected(1)
        """
    )
    status = file_status(source, "m.py", "pkg")
    assert dict(status.bridges) == {"migrated_design": 1, "as_instance": 1, "pinjected_env": 1}


def test_bridges_in_a_generated_block_are_counted_and_told_apart(tmp_path: Path):
    from rich.console import Console

    from doeff_migrate.codemod.bridges import Bridge, BridgePlan, updated_text
    from doeff_migrate.codemod.status import render

    generated = updated_text(
        "from doeff_migrate.runtime import migrated_design\n\nhand = migrated_design()\n",
        BridgePlan(bridges=[Bridge("k", "pkg.m", "k", "injected", False), Bridge("v", "pkg.m", "v", "instance", False)]),
    )
    write_tree(tmp_path, {"__pinjected__.py": generated})
    status = file_status(generated, "__pinjected__.py", "root")
    assert dict(status.bridges) == {"as_injected": 1, "as_instance": 1, "migrated_design": 1}
    assert status.generated_bridges == 2  # the hand-written migrated_design() is not the codemod's
    report = summarize(collect([str(tmp_path)]))
    assert report["totals"]["bridges"] == 3 and report["totals"]["bridges_generated"] == 2
    assert report["files"][0]["bridges_generated"] == 2
    console = Console(record=True, width=200)
    render(report, console)
    assert "(2 generated)" in console.export_text()


def test_unparsable_files_are_counted_and_named_and_nothing_is_written(tmp_path: Path):
    write_tree(tmp_path, {"pkg/bad.py": "def broken(:\n", "pkg/good.py": DONE_MODULE})
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    report = summarize(collect([str(tmp_path)]))
    bad = next(f for f in report["files"] if f["path"].endswith("bad.py"))
    assert bad["unparsable"].startswith("SyntaxError") and "line 1" in bad["unparsable"]
    assert report["totals"]["unparsable"] == 1 and report["totals"]["total"] == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == before


def test_the_code_is_never_executed(tmp_path: Path):
    marker = tmp_path / "executed"
    write_tree(tmp_path, {"pkg/evil.py": f"open({str(marker)!r}, 'w').write('ran')\nfrom pinjected import injected\n"})
    summarize(collect([str(tmp_path)]))
    assert not marker.exists()


def test_json_output_and_fail_over_ratchet(tree: Path, capsys: pytest.CaptureFixture):
    assert status_command([str(tree)], as_json=True, fail_over=None) == 0
    report = json.loads(capsys.readouterr().out)
    total = report["totals"]["total"]
    assert total == 8 and report["over_limit"] is False
    assert report["totals"]["kept"] == 2
    assert status_command([str(tree)], as_json=True, fail_over=total) == 0
    assert json.loads(capsys.readouterr().out)["over_limit"] is False
    assert status_command([str(tree)], as_json=True, fail_over=total - 1) == 1
    assert json.loads(capsys.readouterr().out)["over_limit"] is True


def test_rich_table_names_packages_phases_and_the_verdict(tree: Path, capsys: pytest.CaptureFixture):
    assert status_command([str(tree)], as_json=False, fail_over=5) == 1
    out = capsys.readouterr().out
    for expected in ("shop.core", "shop.billing", "phase", "metrics-call", "DM106", "as_injected", "over the limit"):
        assert expected in out


def test_usage_errors_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert status_command([str(tmp_path / "missing")], as_json=False, fail_over=None) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert status_command([str(tmp_path)], as_json=False, fail_over=-1) == 2
    assert "--fail-over must be 0 or more" in capsys.readouterr().err
    assert status_command([], as_json=False, fail_over=None) == 2


def test_an_empty_tree_reports_zero(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert status_command([str(tmp_path)], as_json=False, fail_over=0) == 0
    assert "no Python files found" in capsys.readouterr().out


def test_pyproject_settings_exclude_paths_and_ignore_codes(tree: Path, capsys: pytest.CaptureFixture):
    (tree / "pyproject.toml").write_text(
        '[tool.doeff-migrate]\nexclude = ["shop/core/"]\nignore = ["DM309"]\n'
        'per-file-ignores = { "shop/billing/pay.py" = ["DM106"] }\n'
    )
    report = summarize(collect([str(tree)]))
    assert "shop.core" not in report["packages"]
    billing = report["packages"]["shop.billing"]
    assert billing["side_effects_by_category"] == {"metrics-call": 1}
    assert billing["kept_by_category"] == {}  # DM309 ignored: not even a hint
    assert billing["flags_by_code"] == {}
    assert billing["total"] == 1 + 1 + 2  # metrics call, stub, bridges


def test_invalid_configuration_exits_2_naming_the_file(tree: Path, capsys: pytest.CaptureFixture):
    (tree / "pyproject.toml").write_text('[tool.doeff-migrate]\nignore = "DM309"\n')
    assert status_command([str(tree)], as_json=True, fail_over=None) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml" in err and "ignore" in err


def test_noqa_suppresses_a_finding(tmp_path: Path):
    source = textwrap.dedent(
        """\
        from doeff_migrate.runtime import do

        @do
        def f(x):
            print(x)  # noqa: DM309
            print(x)
            return x
        """
    )
    assert dict(file_status(source, "m.py", "pkg").kept) == {"print-call": 1}


def test_module_entry_point_parses_the_same_options(tree: Path, capsys: pytest.CaptureFixture):
    from doeff_migrate.codemod.status import main

    assert main([str(tree), "--json", "--fail-over", "7"]) == 1
    assert json.loads(capsys.readouterr().out)["totals"]["total"] == 8
    assert main([str(tree), "--fail-over", "8"]) == 0
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_status_is_a_subcommand_of_the_cli_with_a_ratchet_exit_code(tmp_path, capsys):
    from doeff_migrate.codemod.cli import main

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("from pinjected import injected\n\n@injected\ndef f(dep, /, x):\n    return dep(x)\n")
    assert main(["status", str(tmp_path), "--fail-over", "0"]) == 1
    assert main(["status", str(tmp_path), "--fail-over", "100"]) == 0
    assert main(["status", str(tmp_path / "missing")]) == 2
    capsys.readouterr()
    assert main(["status", str(tmp_path), "--json"]) == 0
    assert '"injected-function"' in capsys.readouterr().out


# -- the migrated share (codemod/decorated.py), shared with benchmarks/bench_pypi.py ---------------

SHARE_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/svc.py": """\
        import functools

        import pinjected as pj
        from pinjected import injected, instance

        @instance
        def config():
            return {"rate": 2}

        @injected
        def scale(config, /, x):
            return x * config["rate"]

        @pj.injected
        def report(scale, /, x):
            return scale(x) + 1

        @functools.lru_cache()  # above the pinjected decorator: left as pinjected (DM112)
        @injected
        def cached(config, /):
            return config
        """,
}


def _share_of(root: Path, capsys: pytest.CaptureFixture) -> dict:
    assert status_command([str(root)], as_json=True, fail_over=None) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    return {k: totals[k] for k in ("decorated_left", "decorated_migrated", "share_migrated")}


def test_status_shows_the_migrated_share_before_and_after_migration(tmp_path: Path, capsys: pytest.CaptureFixture):
    from doeff_migrate.codemod.cli import main

    write_tree(tmp_path, SHARE_PROJECT)
    assert _share_of(tmp_path, capsys) == {"decorated_left": 4, "decorated_migrated": 0, "share_migrated": 0.0}
    main([str(tmp_path), "-q"])
    capsys.readouterr()
    migrated = (tmp_path / "pkg/svc.py").read_text()
    registrations = [line for line in migrated.splitlines() if line in ("@function_binding", "@instance_binding")]
    assert len(registrations) == 3 and "# doeff-migrate: DM112" in migrated
    assert _share_of(tmp_path, capsys) == {"decorated_left": 1, "decorated_migrated": 3, "share_migrated": 0.75}
    assert main(["status", str(tmp_path), "--fail-under-share", "75"]) == 0
    assert "migrated share: 75% (within the limit of 75%)" in capsys.readouterr().out
    assert main(["status", str(tmp_path), "--fail-under-share", "80"]) == 1
    assert "migrated share: 75% (under the limit of 80%)" in capsys.readouterr().out
    assert status_command([str(tmp_path)], as_json=False, fail_over=None, fail_under_share=101) == 2
    assert "--fail-under-share must be a percentage" in capsys.readouterr().err


def test_a_tree_without_decorated_definitions_has_no_share_and_is_never_under(tmp_path: Path, capsys: pytest.CaptureFixture):
    write_tree(tmp_path, {"pkg/clean.py": DONE_MODULE})
    assert status_command([str(tmp_path)], as_json=True, fail_over=None, fail_under_share=100) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["share_migrated"] is None and report["under_share"] is False


def _bench_pypi():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_pypi.py"
    spec = importlib.util.spec_from_file_location("bench_pypi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_pypi_and_status_give_the_same_numbers_on_the_same_tree(tmp_path: Path, capsys: pytest.CaptureFixture):
    import subprocess

    bench = _bench_pypi()
    root = tmp_path / "project"
    write_tree(root, SHARE_PROJECT)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "original"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True)
    result = bench.measure_tree(root)
    assert (result["decorated_before"], result["share_before"]) == (4, 0.0)
    assert (result["decorated_after"], result["migrated"], result["share_migrated"]) == (1, 3, 0.75)
    assert result["lost"] == []
    totals = _share_of(root, capsys)
    assert (totals["decorated_left"], totals["decorated_migrated"], totals["share_migrated"]) == (
        result["decorated_after"], result["migrated"], result["share_migrated"],
    )


def test_decorated_definitions_are_recognised_through_aliases_and_runtime_imports():
    import ast

    from doeff_migrate.codemod.decorated import decorated_in_module

    source = textwrap.dedent(
        """\
        from pinjected import *
        from pinjected import instance as inst
        from doeff_migrate.runtime import function_binding as _dm_function_binding, instance_binding
        import doeff_migrate.runtime as rt

        @injected
        def star(dep, /): ...

        @inst
        async def aliased(): ...

        @injected(protocol=None)
        def called(dep, /): ...

        @injected
        class Service: ...

        def outer():
            @injected_instance
            def nested(): ...

        @_dm_function_binding
        def migrated(): ...

        @instance_binding
        def migrated_instance(): ...

        @rt.class_binding(awaited=("a_fetch",))
        class MigratedService: ...

        def function_binding(f):  # the module's own function of that name is not the registration
            return f

        @function_binding
        def not_migrated(): ...

        if True:
            @injected
            def conditional(dep, /): ...
        """
    )
    count = decorated_in_module(ast.parse(source), "m.py")
    assert count.left == ("m.py:star", "m.py:aliased", "m.py:called", "m.py:Service", "m.py:outer.nested", "m.py:conditional")
    assert count.migrated == ("m.py:migrated", "m.py:migrated_instance", "m.py:MigratedService")
    assert count.share == 3 / 9


def test_the_report_is_readable_at_80_columns(tree: Path):
    from rich.console import Console

    from doeff_migrate.codemod.status import render

    report = summarize(collect([str(tree)]))
    narrow = Console(record=True, width=80)
    render(report, narrow)
    text = narrow.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    for expected in (
        "shop.billing\n  files done 2/3, left 5, kept (hints) 2, migrated 100% (1/1)",
        "  pinjected 0, side effects 1, flags 1, stubs 1, bridges 2, unparsable 0",
        "  phases: di 3, compute 0, io 2, recording 0",
        "shop.core\n  files done 1/2, left 3, kept (hints) 0, migrated 0% (0/2)",
        "total\n  files done 4/6, left 8, kept (hints) 2, migrated 33% (1/3)",
        "side effects by category: metrics-call 1",
        "kept (hints): print-call 2",
    ):
        assert expected in text
    wide = Console(record=True, width=160)
    render(report, wide)
    text = wide.export_text()
    assert "…" not in text
    assert "│ total        │        4/6 │         3 │            1 │     1 │     1 │       2 │          0 │     8 │            2 │  33% (1/3) │" in text


def test_every_form_the_codemod_writes_counts_as_migrated_under_the_same_name():
    import ast

    from doeff_migrate.codemod.api import ProjectIndex, migrate_source
    from doeff_migrate.codemod.decorated import decorated_in_module

    source = textwrap.dedent(
        """\
        from contextlib import contextmanager

        from pinjected import injected, instance

        @instance
        def client():
            return {}

        @injected
        def fetch(client, /, key):
            return client.get(key)

        @injected
        @contextmanager
        def session(client, /, name):
            yield name

        @injected
        class Service:
            def __init__(self, client, /, name):
                self.client = client
        """
    )
    migrated = migrate_source(source, path="m.py", index=ProjectIndex.from_sources({"m.py": source})).code
    assert "@pass_dependencies" in migrated and "@class_binding" in migrated  # the forms under test
    before, after = decorated_in_module(ast.parse(source), "m.py"), decorated_in_module(ast.parse(migrated), "m.py")
    assert before.left == ("m.py:client", "m.py:fetch", "m.py:session", "m.py:Service") and before.share == 0
    assert after.migrated == before.left and after.left == () and after.share == 1


STAR_IMPORT_MODULE = """\
from pinjected import *

@instance
def settings():
    return {}

@injected
def train(settings, /, x):
    return x

run: IProxy = train(1)
__design__ = instances(rate=1)
"""


def test_star_imported_constructs_are_counted_like_named_imports():
    """``from pinjected import *`` binds the same names as listing them (the codemod's import table)."""
    status = file_status(STAR_IMPORT_MODULE, "m.py", "pkg")
    assert dict(status.pinjected) == {"design": 1, "iproxy-entry-point": 1, "injected-function": 1, "instance-function": 1}
    assert status.phase_counts["di"] == 4
    assert (len(status.decorated.left), len(status.decorated.migrated)) == (2, 0)


def test_a_noqa_for_another_linter_does_not_hide_remaining_work():
    source = PINJECTED_MODULE.replace("@injected\n", "@injected  # noqa: E501\n")
    assert dict(file_status(source, "m.py", "pkg").pinjected) == {"design": 1, "injected-function": 1, "instance-function": 1}
    silenced = PINJECTED_MODULE.replace("@injected\n", "@injected  # noqa: DM150\n")
    assert dict(file_status(silenced, "m.py", "pkg").pinjected) == {"design": 1, "instance-function": 1}


def test_status_through_a_pipe_prints_the_plain_layout(tree: Path):
    """Not on a terminal (CI logs, ``| tee``), rich assumes 80 columns: the report is the plain layout, every
    column readable, nothing collapsed to an ellipsis."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TERM")}
    done = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.codemod.status", str(tree)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout and "\x1b[" not in done.stdout
    assert "shop.billing\n  files done 2/3, left 5, kept (hints) 2, migrated 100% (1/1)\n" in done.stdout
    assert "total\n  files done 4/6, left 8, kept (hints) 2, migrated 33% (1/3)\n" in done.stdout

"""The ``doeff-migrate`` command line (codemod/cli.py), run in-process through ``main(argv)``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from doeff_migrate.codemod.cli import main

PINJECTED = "from pinjected import injected\n\n@injected\ndef f(dep, /, x):\n    return dep + x\n"
MIGRATED = (
    "from doeff_migrate.runtime import Ask, do, function_binding\n\n"
    "@function_binding\n@do\ndef f(x):\n    dep = yield Ask(\"dep\")\n    return dep + x\n"
)
FLAGGED = "from pinjected import injected\n\n@injected\nasync def g(__resolver__, /):\n    return await __resolver__[\"x\"]\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text(PINJECTED)
    (tmp_path / "pkg" / "plain.py").write_text("x = 1\n")
    return tmp_path


def test_rewrites_in_place_reports_a_summary_and_a_second_run_changes_nothing(project, capsys):
    assert main([str(project)]) == 0
    assert (project / "pkg" / "a.py").read_text() == MIGRATED
    err = capsys.readouterr().err
    assert "3 file(s): 1 changed, 0 unchanged, 2 without pinjected, 0 failed, 0 flagged" in err
    assert main([str(project)]) == 0
    assert (project / "pkg" / "a.py").read_text() == MIGRATED


def test_check_writes_nothing_and_exits_1_when_something_would_change(project, capsys):
    assert main([str(project), "--check"]) == 1
    assert (project / "pkg" / "a.py").read_text() == PINJECTED
    assert "would change" in capsys.readouterr().out
    main([str(project), "-q"])
    assert main([str(project), "--check"]) == 0


def test_diff_prints_a_unified_diff_and_writes_nothing(project, capsys):
    assert main([str(project), "--diff"]) == 0
    out = capsys.readouterr().out
    assert "--- a/" in out and "+def f(x):" in out and "-def f(dep, /, x):" in out
    assert (project / "pkg" / "a.py").read_text() == PINJECTED


def test_report_lists_each_file_with_status_and_flags_by_code(project):
    (project / "pkg" / "b.py").write_text(FLAGGED)
    report = project / "report.json"
    assert main([str(project / "pkg"), "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert by_name["a.py"]["status"] == "changed"
    assert by_name["plain.py"]["status"] == "skipped"
    assert by_name["b.py"]["status"] == "changed"  # the flag comment is a change
    assert by_name["b.py"]["flags_by_code"] == {"DM111": 1}
    assert by_name["b.py"]["flags"][0]["line"] == 3
    assert data["summary"]["flagged"] == 1 and data["summary"]["flags"] == 1


def test_parallel_jobs_give_the_same_result(project, tmp_path):
    for i in range(6):
        (project / "pkg" / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    assert main([str(project), "-j", "2", "-q"]) == 0
    for i in range(6):
        assert (project / "pkg" / f"m{i}.py").read_text() == MIGRATED.replace("def f", f"def f{i}")


def test_phase_selects_transforms_and_unknown_phase_is_a_usage_error(project, capsys):
    assert main([str(project), "--phase", "compute"]) == 0
    assert (project / "pkg" / "a.py").read_text() == PINJECTED
    assert main([str(project), "--phase", "nope"]) == 2
    assert "unknown phase nope" in capsys.readouterr().err


def test_target_doeff_imports_from_doeff(project):
    assert main([str(project), "--target", "doeff", "-q"]) == 0
    text = (project / "pkg" / "a.py").read_text()
    assert "from doeff import Ask, do\n" in text
    assert main([str(project), "--target", "nope"]) == 2


def test_ignore_and_select_options(project):
    (project / "pkg" / "b.py").write_text(FLAGGED)
    assert main([str(project / "pkg" / "b.py"), "--ignore", "DM111", "-q"]) == 0
    assert (project / "pkg" / "b.py").read_text() == FLAGGED
    assert main([str(project / "pkg" / "b.py"), "--select", "DM111", "-q"]) == 0
    assert "# doeff-migrate: DM111:" in (project / "pkg" / "b.py").read_text()


def test_pyproject_configuration_excludes_and_ignores(project):
    (project / "pkg" / "b.py").write_text(FLAGGED)
    (project / "pyproject.toml").write_text(
        '[tool.doeff-migrate]\nexclude = ["pkg/a.py"]\nper-file-ignores = {"pkg/b.py" = ["DM111"]}\n'
    )
    assert main([str(project), "-q"]) == 0
    assert (project / "pkg" / "a.py").read_text() == PINJECTED
    assert (project / "pkg" / "b.py").read_text() == FLAGGED


def test_bad_configuration_is_a_usage_error(project, capsys):
    (project / "pyproject.toml").write_text("[tool.doeff-migrate]\nselcet = ['DM1']\n")
    assert main([str(project)]) == 2
    assert "unknown key(s) in [tool.doeff-migrate]: selcet" in capsys.readouterr().err
    (project / "pyproject.toml").write_text("[tool.doeff-migrate\n")
    assert main([str(project)]) == 2
    assert (project / "pkg" / "a.py").read_text() == PINJECTED


def test_gitignored_files_are_not_touched(project):
    (project / ".gitignore").write_text("pkg/a.py\n")
    assert main([str(project), "-q"]) == 0
    assert (project / "pkg" / "a.py").read_text() == PINJECTED


def test_files_that_never_mention_pinjected_are_not_parsed(project, capsys):
    (project / "pkg" / "broken.py").write_text("def broken(:\n")
    assert main([str(project), "-q"]) == 0
    assert "0 failed" in capsys.readouterr().err


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def test_refuses_files_with_uncommitted_changes_unless_allowed(project, capsys):
    _git(project, "init", "-q")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    (project / "pkg" / "a.py").write_text(PINJECTED + "\n# local edit\n")
    assert main([str(project)]) == 2
    err = capsys.readouterr().err
    assert "refusing to write files with uncommitted changes" in err and "a.py" in err
    assert (project / "pkg" / "a.py").read_text() == PINJECTED + "\n# local edit\n"
    assert main([str(project), "--allow-dirty", "-q"]) == 0
    assert (project / "pkg" / "a.py").read_text().startswith("from doeff_migrate.runtime import")


def test_clean_git_checkout_is_migrated(project):
    _git(project, "init", "-q")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    assert main([str(project), "-q"]) == 0
    assert (project / "pkg" / "a.py").read_text() == MIGRATED


def test_rules_lists_the_catalog_and_doc_shows_one_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "DM101" in out and "DM116" in out
    assert main(["rules", "--doc", "DM105"]) == 0
    doc = capsys.readouterr().out
    assert "## DM105 `eager-or-loop-bound-instance`" in doc and "### Why is this bad?" in doc
    assert main(["rules", "--doc", "DM999"]) == 2


def test_console_script_is_installed_and_runs(project):
    script = Path(__import__("sys").executable).parent / "doeff-migrate"
    proc = subprocess.run([str(script), str(project), "--check"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "would change" in proc.stdout


def test_rules_markdown_documents_every_rule(capsys):
    from doeff_migrate.codemod.rules import all_rules

    assert main(["rules", "--markdown"]) == 0
    out = capsys.readouterr().out
    for rule in all_rules():
        assert f"## {rule.code} `{rule.name}`" in out


def test_docs_rules_md_is_the_generated_catalog(capsys):
    # docs/rules.md is generated (`doeff-migrate rules --markdown > docs/rules.md`): a rule added or
    # reworded without regenerating it fails here instead of leaving the docs stale.
    assert main(["rules", "--markdown"]) == 0
    out = capsys.readouterr().out
    docs = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    assert docs.read_text() == out, "docs/rules.md is stale: run `doeff-migrate rules --markdown > docs/rules.md`"


def test_progress_bar_is_shown_on_a_terminal_only(project, monkeypatch):
    import io

    from rich.console import Console

    from doeff_migrate.codemod import cli

    shown: list[int] = []

    class CountingProgress(cli.Progress):
        def add_task(self, description, total=None, **kwargs):
            shown.append(total)
            return super().add_task(description, total=total, **kwargs)

    monkeypatch.setattr(cli, "Progress", CountingProgress)
    for i in range(60):
        (project / "pkg" / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    assert main([str(project), "--check", "-q"]) == 1
    assert shown == []  # pytest's stderr is not a terminal
    monkeypatch.setattr(cli, "err", Console(file=io.StringIO(), force_terminal=True, soft_wrap=True, markup=False))
    assert main([str(project), "--check"]) == 1
    assert shown == [61]


def test_migrating_one_file_indexes_the_whole_project_it_belongs_to(tmp_path):
    """`doeff-migrate app/main.py` must know that `fetch` (in app/lib.py) is an injected function."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    lib = "from pinjected import injected\n\n@injected\ndef fetch(prefix, /, url):\n    return prefix + url\n"
    (tmp_path / "app" / "lib.py").write_text(lib)
    (tmp_path / "app" / "main.py").write_text(
        "from pinjected import IProxy, design, injected\nfrom app import lib\n\n"
        "@injected\ndef page(fetch, /, url):\n    return fetch(url)\n\n"
        'main: IProxy = page("x")\n__design__ = design(prefix="P-")\n'
    )
    assert main([str(tmp_path / "app" / "main.py"), "--allow-dirty", "-q"]) == 0
    migrated = (tmp_path / "app" / "main.py").read_text()
    assert "return (yield fetch(url))" in migrated or "yield fetch(url)" in migrated, migrated
    assert (tmp_path / "app" / "lib.py").read_text() == lib  # indexed, not written


def test_a_second_run_reads_the_env_dicts_of_the_first_as_designs(tmp_path):
    """After run 1, `design(fetch=lambda ...)` is `{"fetch": lambda ...}`; run 2 must still know that
    `fetch` is bound both to an injected function and to a plain value: calls go through `call_dependency`."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "lib.py").write_text('from pinjected import injected\n\n@injected\ndef fetch(url):\n    return "real:" + url\n')
    (app / "testing.py").write_text(
        'from pinjected import design\n\n__design__ = design(fetch=lambda u: "fake:" + u, prefix="P-")\n'
    )
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    assert '"fetch": lambda u' in (app / "testing.py").read_text()
    page = "from pinjected import injected\n\n@injected\ndef page(fetch, /, url):\n    return fetch(url)\n"
    (app / "page.py").write_text(page)
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    text = (app / "page.py").read_text()
    assert "# doeff-migrate:" not in text, text
    assert 'fetch = yield Ask("fetch")\n    return (yield call_dependency(fetch, url))' in text, text


def test_a_design_value_re_exported_through_a_plain_module_is_resolved(tmp_path):
    """`DEFAULT_FETCH` re-exported by `app/consts.py` (no "pinjected" in it) is `lib.fetch`."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "lib.py").write_text("from pinjected import injected\n\n@injected\ndef fetch(prefix, /, url):\n    return prefix + url\n")
    (app / "consts.py").write_text("from app.lib import fetch as DEFAULT_FETCH\n")
    (app / "main.py").write_text(
        "from pinjected import IProxy, design, injected\nfrom app.consts import DEFAULT_FETCH\n\n"
        "@injected\ndef page(fetcher, /, url):\n    return fetcher(url)\n\n"
        'main: IProxy = page("x")\n__design__ = design(fetcher=DEFAULT_FETCH, prefix="P-")\n'
    )
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    text = (app / "main.py").read_text()
    assert "return (yield fetcher(url))" in text, text


def test_a_second_run_still_knows_that_a_migrated_provider_was_async(tmp_path):
    """After `slow` is migrated, new code calling it without `await` still binds it as a coroutine
    function (the call makes a coroutine, as under pinjected)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "lib.py").write_text(
        "import asyncio\nfrom pinjected import injected\n\n"
        "@injected\nasync def slow(x):\n    await asyncio.sleep(0)\n    return x\n"
    )
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    assert "yield Await(" in (app / "lib.py").read_text()
    run = (
        "import asyncio\nfrom pinjected import injected\n\n"
        "@injected\nasync def run(slow, /, x):\n    return await asyncio.wait_for(slow(x), 5)\n"
    )
    (app / "run.py").write_text(run)
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    text = (app / "run.py").read_text()
    assert 'slow = yield AskAsyncFunction("slow")\n    async def body(slow, /, x):\n        return await asyncio.wait_for(slow(x), 5)' in text, text


def test_a_second_run_does_not_repeat_a_flag_on_the_first_statement_of_a_file(tmp_path):
    """LibCST parses the comments above a file's first statement into ``Module.header``: a flag written
    there by the first run must still be seen by the second (state.flag writes each flag once)."""
    module = tmp_path / "m.py"
    module.write_text("from pinjected import AsyncResolver, design; resolver = AsyncResolver(design(x=1))\n")
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    first = module.read_text()
    assert first.startswith("# doeff-migrate: DM109: ")
    assert main([str(tmp_path), "--allow-dirty", "-q"]) == 0
    assert module.read_text() == first
    assert first.count("DM109") == 1

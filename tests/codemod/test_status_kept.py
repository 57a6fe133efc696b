"""``status`` counts the side effects ``doeff-migrate`` keeps on purpose as kept (the editor's hints), not as
work left; a side effect the CLI migrates or flags still counts. The classification is the editor's
(``analysis.plan``): the tests compare status with the findings as the editor states them (``decided``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from doeff_migrate.codemod.analysis import check
from doeff_migrate.codemod.analysis.plan import decided, plan_file
from doeff_migrate.codemod.status import (
    collect,
    file_status,
    render,
    status_command,
    summarize,
)

from .test_status import write_tree

ONLY_KEPT = textwrap.dedent(
    """\
    import os
    import random
    import subprocess
    import time

    from doeff_migrate.runtime import do


    def stamp():
        return time.time()


    @do
    def report(x):
        print(x)
        seed = random.random()
        home = os.environ.get("HOME")
        subprocess.run(["true"])
        started = time.monotonic()
        return x, seed, home, started, stamp()
    """
)
"""Every side effect here is one the codemod keeps as it is (the migrated program runs it as before)."""

KEPT_CATEGORIES = {
    "print-call": 1,
    "random-call": 1,
    "environ-access": 1,
    "subprocess-call": 1,
    "clock-call": 1,
    "side-effect-via-helper": 1,
}

FLAGGED = textwrap.dedent(
    """\
    from doeff_migrate.runtime import do


    @do
    def load(path):
        print(path)
        f = open(path)
        return f.read()
    """
)
"""An ``open(...)`` the io phase cannot move (it flags DM303), beside a kept ``print``."""


def editor_view(source: str, path: str) -> tuple[int, int]:
    """(side effects the editor says the CLI keeps by design, other side effects) in ``source``."""
    findings = decided(check(source, path), plan_file(source, path), source.splitlines())
    side_effects = [f for f in findings if f.code.startswith(("DM2", "DM3"))]
    kept = [f for f in side_effects if "keeps it by design" in f.message]
    return len(kept), len(side_effects) - len(kept)


@pytest.mark.parametrize("source", [ONLY_KEPT, FLAGGED], ids=["only-kept", "flagged"])
def test_status_counts_as_kept_exactly_what_the_editor_calls_a_hint(source: str):
    kept, work = editor_view(source, "pkg/mod.py")
    status = file_status(source, "pkg/mod.py", "pkg")
    assert sum(status.kept.values()) == kept > 0
    assert sum(status.side_effects.values()) == work


def test_a_file_with_only_kept_side_effects_is_done(tmp_path: Path, capsys: pytest.CaptureFixture):
    status = file_status(ONLY_KEPT, "pkg/mod.py", "pkg")
    assert dict(status.kept) == KEPT_CATEGORIES
    assert status.total == 0 and dict(status.side_effects) == {} and sum(status.phase_counts.values()) == 0

    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": ONLY_KEPT})
    report = summarize(collect([str(tmp_path)]))
    assert (report["totals"]["files_done"], report["totals"]["files"]) == (2, 2)
    assert report["totals"]["total"] == 0
    assert report["totals"]["kept"] == 6 and report["totals"]["kept_by_category"] == KEPT_CATEGORIES
    mod = next(f for f in report["files"] if f["path"].endswith("mod.py"))
    assert (mod["total"], mod["kept"], mod["side_effects"]) == (0, 6, 0)

    assert status_command([str(tmp_path)], as_json=True, fail_over=0) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["over_limit"] is False and printed["totals"]["kept"] == 6
    assert status_command([str(tmp_path)], as_json=False, fail_over=0) == 0
    assert "within the limit" in capsys.readouterr().out


def test_a_side_effect_the_cli_flags_still_counts_before_and_after_migration(tmp_path: Path, capsys: pytest.CaptureFixture):
    from doeff_migrate.codemod.cli import main

    plan = plan_file(FLAGGED, "pkg/mod.py")
    assert [f.code for f in plan.flags] == ["DM303"]  # the CLI's decision: left as it is, flagged
    status = file_status(FLAGGED, "pkg/mod.py", "pkg")
    assert dict(status.side_effects) == {"file-io": 1} and dict(status.kept) == {"print-call": 1}
    assert status.total == 1

    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": FLAGGED})
    assert status_command([str(tmp_path)], as_json=True, fail_over=0) == 1
    assert json.loads(capsys.readouterr().out)["over_limit"] is True

    main([str(tmp_path), "-q"])
    capsys.readouterr()
    migrated = (tmp_path / "pkg" / "mod.py").read_text()
    assert "# doeff-migrate: DM303" in migrated
    after = summarize(collect([str(tmp_path)]))["totals"]
    assert after["flags_by_code"] == {"DM303": 1} and after["kept_by_category"] == {"print-call": 1}
    assert status_command([str(tmp_path)], as_json=True, fail_over=0) == 1
    capsys.readouterr()


@pytest.mark.parametrize("width", [80, 200])
def test_the_report_shows_kept_side_effects_apart_from_the_total(tmp_path: Path, width: int):
    from rich.console import Console

    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": ONLY_KEPT, "pkg/io.py": FLAGGED})
    console = Console(record=True, width=width)
    render(summarize(collect([str(tmp_path)])), console)
    text = console.export_text()
    assert "…" not in text
    if width == 80:  # the plain layout
        assert "total\n  files done 2/3, left 1, kept (hints) 7, migrated -" in text
        assert "kept (hints): " in text and "print-call 2" in text
    else:
        header = next(line for line in text.splitlines() if "files done" in line)
        assert "kept (hints)" in header
        total_row = next(line for line in text.splitlines() if line.startswith("│ total"))
        assert [cell.strip() for cell in total_row.strip("│").split("│")][-3:] == ["1", "7", "-"]

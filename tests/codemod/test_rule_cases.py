"""Every rule's own ``valid``/``invalid`` cases, run through every surface that reports the rule.

* :data:`~doeff_migrate.codemod.rules.CODEMOD` rules: the codemod (with the project's index, as the CLI runs it)
  flags an invalid case at its line and a valid one not at all; ``doeff-migrate --diff`` shows the flag comment it
  would write, ``doeff-migrate`` writes it, ``status`` counts it, and the language server reports the comment.
* :data:`~doeff_migrate.codemod.rules.EDITOR` rules: the language server's analysis reports an invalid case at
  its line and a valid one not at all.

The language server is reached through :func:`editor_findings`, the one adapter to its analysis function.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.api import ProjectIndex, migrate_source
from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.rules import CODEMOD, EDITOR, Invalid, Rule, Valid, all_rules

RULES = all_rules()


def cases(surface: str, kind: str, partial: bool = False) -> list:
    """``(rule, case)`` pairs of the rules ``surface`` reports, ``kind`` being ``"valid"`` or ``"invalid"``;
    ``partial``: the cases of a partly migrated project (a run given only some files), else the others."""
    return [
        pytest.param(rule, case, id=f"{rule.code}-{n}")
        for rule in RULES if surface in rule.reported_by
        for n, case in enumerate(getattr(rule, kind))
        if case.surface in ("", surface) and bool(case.migrated) == partial
    ]


def write_project(root: Path, case: Valid) -> Path:
    """The case's project under ``root`` (a ``pyproject.toml`` marks its root); returns the case's file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(case.pyproject)
    for rel, source in ((case.path, case.source), *case.files):
        file = root / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(source)
    return root / case.path


def editor_findings(source: str, path: str, project_root: Path | None = None) -> list[tuple[str, int]]:
    """``(code, 1-based line)`` of what the language server reports on ``source`` (the file at ``path``).

    ``project_root``: the project the file belongs to, for rules that need its index or configuration.
    """
    from doeff_migrate.lsp.analysis import analyze, check
    from doeff_migrate.lsp.config import load_pyproject_config
    from doeff_migrate.lsp.project import ProjectIndex as EditorIndex

    config = project = None
    if project_root is not None:
        config = load_pyproject_config(project_root / "pyproject.toml")
        project = EditorIndex([project_root])
        project.scan(lambda p, s: analyze(s, p).facts)
    return [(f.code, f.range.start_line + 1) for f in check(source, path, config, project)]


def codemod_flags(case: Valid) -> tuple[list[tuple[str, int]], str]:
    """``(code, line)`` of the codemod's flags on the case (with its project's index) and the migrated text."""
    sources = {case.path: case.source, **dict(case.files)}
    result = migrate_source(case.source, path=case.path, index=ProjectIndex.from_sources(sources))
    return [(f.code, f.line) for f in result.flags], result.code


def needs_project(case: Valid) -> bool:
    return bool(case.files or case.pyproject)


def test_every_rule_carries_valid_and_invalid_cases():
    missing = [r.code for r in RULES if not (r.valid and r.invalid)]
    assert missing == []


def test_every_rule_is_reported_by_a_known_surface():
    assert all(r.reported_by and set(r.reported_by) <= {CODEMOD, EDITOR} for r in RULES)
    assert all(c.surface in ("", *r.reported_by) for r in RULES for c in (*r.valid, *r.invalid))


def test_fixable_is_derived_from_the_fix():
    assert all(r.fixable == (r.fix in ("migrate", "edit")) for r in RULES)
    assert all(r.fix in ("", "migrate", "edit") for r in RULES)


# -- the codemod ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "invalid"))
def test_codemod_flags_the_invalid_case_at_its_line(rule: Rule, case: Invalid):
    flags, migrated = codemod_flags(case)
    assert (rule.code, case.line) in flags, flags
    # The editor shows the comment the codemod wrote.
    assert rule.code in {code for code, _ in editor_findings(migrated, case.path)}


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "valid"))
def test_codemod_does_not_flag_the_valid_case(rule: Rule, case: Valid):
    flags, _ = codemod_flags(case)
    assert rule.code not in {code for code, _ in flags}


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "invalid"))
def test_cli_diff_write_and_status_show_the_flag(rule: Rule, case: Invalid, tmp_path: Path, capsys):
    root = tmp_path / "project"
    write_project(root, case)
    doeff_migrate([str(root), "--diff"])
    diff = capsys.readouterr().out
    assert any(line.startswith("+") and f"# doeff-migrate: {rule.code}" in line for line in diff.splitlines()), diff
    assert doeff_migrate([str(root), "-q"]) in (0, 3)
    capsys.readouterr()
    assert doeff_migrate(["status", str(root), "--json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["flags_by_code"].get(rule.code, 0) >= 1


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "valid"))
def test_cli_writes_no_flag_for_the_valid_case(rule: Rule, case: Valid, tmp_path: Path, capsys):
    root = tmp_path / "project"
    write_project(root, case)
    assert doeff_migrate([str(root), "-q"]) in (0, 3)
    capsys.readouterr()
    assert doeff_migrate(["status", str(root), "--json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert rule.code not in report["totals"]["flags_by_code"]


def flag_lines(before: str, after: str, code: str) -> list[int]:
    """Lines of ``before`` that ``after`` has a ``code`` flag comment above (0: a comment in written code)."""
    old = before.splitlines()
    found, taken, pending = [], 0, False
    for line in after.splitlines():
        if f"# doeff-migrate: {code}" in line:
            pending = True
            continue
        if taken < len(old) and line == old[taken]:
            taken += 1
            if pending:
                found.append(taken)
        elif pending:
            found.append(0)
        pending = False
    return found


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "invalid", partial=True))
def test_a_partial_run_writes_the_flag_into_the_file_it_leaves(rule: Rule, case: Invalid, tmp_path: Path, capsys):
    root = tmp_path / "project"
    file = write_project(root, case)
    assert doeff_migrate([*(str(root / rel) for rel in case.migrated), "-q", "--allow-dirty"]) in (0, 3)
    assert case.line in flag_lines(case.source, file.read_text(), rule.code)
    capsys.readouterr()
    assert doeff_migrate(["status", str(root), "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["totals"]["flags_by_code"].get(rule.code, 0) >= 1


@pytest.mark.parametrize(("rule", "case"), cases(CODEMOD, "valid", partial=True))
def test_a_partial_run_writes_no_flag_for_the_valid_case(rule: Rule, case: Valid, tmp_path: Path):
    root = tmp_path / "project"
    file = write_project(root, case)
    assert doeff_migrate([*(str(root / rel) for rel in case.migrated), "-q", "--allow-dirty"]) in (0, 3)
    assert f"# doeff-migrate: {rule.code}" not in file.read_text()


# -- the language server ---------------------------------------------------------------------------------------


def _editor(case: Valid, tmp_path: Path) -> list[tuple[str, int]]:
    if not needs_project(case):
        return editor_findings(case.source, case.path)
    file = write_project(tmp_path / "project", case)
    return editor_findings(case.source, str(file), tmp_path / "project")


@pytest.mark.parametrize(("rule", "case"), cases(EDITOR, "invalid"))
def test_editor_reports_the_invalid_case_at_its_line(rule: Rule, case: Invalid, tmp_path: Path):
    findings = _editor(case, tmp_path)
    assert (rule.code, case.line) in findings, findings


@pytest.mark.parametrize(("rule", "case"), cases(EDITOR, "valid"))
def test_editor_does_not_report_the_valid_case(rule: Rule, case: Valid, tmp_path: Path):
    assert rule.code not in {code for code, _ in _editor(case, tmp_path)}


def test_a_case_source_is_dedented_and_its_first_newline_dropped():
    case = Invalid(textwrap.indent("\nimport os\n\nx = 1\n", "    "), line=3)
    assert case.source == "import os\n\nx = 1\n"

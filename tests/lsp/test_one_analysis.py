"""The language server and the codemod read a module's pinjected imports the same way.

Differential: on every fidelity project (as written, and with its ``from pinjected import a, b`` lines
turned into ``from pinjected import *``), the functions the server reports as unmigrated pinjected
constructs (DM150/DM151/DM155) and the IProxy entry points it reports (DM154) are exactly those whose
definition the codemod's ``di`` phase rewrites or flags. Then the import forms one by one, ``# noqa``
read as the codemod reads it, and the real server process on a star-import file.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.api import MigrationError, ProjectIndex as CodemodIndex, migrate_source
from doeff_migrate.codemod.pinjected_names import STAR_EXPORTS
from doeff_migrate.codemod.comments import noqa_suppresses
from doeff_migrate.lsp.analysis import check
from doeff_migrate.lsp.project import ProjectIndex
from tests.fidelity.test_idempotency import PROJECTS

from .lsp_client import codes, diagnostics_for, lsp_session, open_document

_DECORATED_CODES = {"DM150", "DM151", "DM155"}
_FROM_PINJECTED = re.compile(r"^from pinjected import ([\w, ]+)$", re.MULTILINE)


def star_imported(source: str) -> str:
    """``from pinjected import a, b`` -> ``from pinjected import *`` when ``*`` binds all of them."""

    def replace(match: re.Match[str]) -> str:
        names = [name.strip() for name in match.group(1).split(",")]
        return "from pinjected import *" if all(name in STAR_EXPORTS for name in names) else match.group(0)

    return _FROM_PINJECTED.sub(replace, source)


def _decorated(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            found.setdefault(node.name, node)
    return found


def _annotated(tree: ast.Module) -> dict[str, ast.stmt]:
    return {s.target.id: s for s in tree.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}


def server_names(source: str, path: str) -> tuple[set[str], set[str]]:
    """(decorated functions, IProxy entry points) the server reports as not migrated."""
    tree = ast.parse(source)
    by_decorator_line = {
        dec.lineno - 1: node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for dec in node.decorator_list
    }
    findings = check(source, path)
    functions = {by_decorator_line[f.range.start_line] for f in findings if f.code in _DECORATED_CODES}
    entries = {_annotated_name(tree, f.range.start_line) for f in findings if f.code == "DM154"}
    return functions, entries


def _annotated_name(tree: ast.Module, line: int) -> str:
    return next(name for name, stmt in _annotated(tree).items() if stmt.lineno - 1 == line)


def codemod_names(source: str, path: str, index: CodemodIndex) -> tuple[set[str], set[str]]:
    """(decorated functions, annotated variables other than designs) whose definition the ``di`` phase rewrites or flags."""
    result = migrate_source(source, path=path, phases=("di",), index=index)
    before, after = ast.parse(source), ast.parse(result.code)
    flagged = {flag.line for flag in result.flags}
    after_functions = {n.name: n for n in ast.walk(after) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    functions = set()
    for name, node in _decorated(before).items():
        new = after_functions.get(name)
        first = min(dec.lineno for dec in node.decorator_list)
        rewritten = new is None or [ast.dump(d) for d in node.decorator_list] != [ast.dump(d) for d in new.decorator_list]
        if rewritten or any(first <= line <= node.lineno for line in flagged):
            functions.add(name)
    after_statements = {
        target.id: stmt
        for stmt in after.body
        if isinstance(stmt, (ast.Assign, ast.AnnAssign))
        for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
        if isinstance(target, ast.Name)
    }
    entries = set()
    for name, stmt in _annotated(before).items():
        if "Design" in ast.unparse(stmt.annotation):  # designs (``__design__: DesignSpec``) are DM152 calls
            continue
        new = after_statements.get(name)
        if new is None or ast.dump(new) != ast.dump(stmt) or stmt.lineno in flagged:
            entries.add(name)
    return functions, entries


def _mismatches(transform) -> tuple[list[str], int]:
    """Files where the server and the codemod disagree, and how many names the server reported in all."""
    mismatches, reported = [], 0
    for project, files in sorted(PROJECTS.items()):
        files = {path: transform(textwrap.dedent(text)) for path, text in files.items() if path.endswith(".py")}
        index = CodemodIndex.from_sources(files)
        for path, source in files.items():
            try:
                server = server_names(source, path)
                codemod = codemod_names(source, path, index)
            except MigrationError:
                continue
            reported += len(server[0]) + len(server[1])
            if server != codemod:
                mismatches.append(f"{project}/{path}: server {server}, codemod {codemod}")
    return mismatches, reported


def test_server_reports_exactly_what_the_codemod_migrates_on_the_fidelity_projects():
    mismatches, reported = _mismatches(lambda source: source)
    assert mismatches == []
    assert reported > 300  # the comparison covers the suite's decorated functions, not an empty set


def test_server_reports_exactly_what_the_codemod_migrates_with_star_imports():
    starred = sum("from pinjected import *" in star_imported(textwrap.dedent(t)) for f in PROJECTS.values() for t in f.values())
    assert starred > 200
    mismatches, reported = _mismatches(star_imported)
    assert mismatches == []
    assert reported > 300


def _rewritten_in_diff(diff: str) -> tuple[set[str], set[str]]:
    """(functions whose decorator lines the diff removes, variables whose annotated line it removes)."""
    functions, entries, decorator_removed = set(), set(), False
    for line in diff.splitlines():
        if line.startswith("-@"):
            decorator_removed = True
        elif (match := re.match(r"^[-+ ](?:async )?def (\w+)\(", line)) and decorator_removed:
            functions.add(match.group(1))
            decorator_removed = False
        elif match := re.match(r"^-(\w+): ", line):
            entries.add(match.group(1))
    return functions, entries


def test_server_names_what_the_cli_diff_rewrites_in_a_star_import_project(tmp_path: Path, capsys):
    from doeff_migrate.codemod.cli import main as doeff_migrate

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "mod.py").write_text(STAR_MODULE)
    assert doeff_migrate([str(tmp_path), "--diff"]) == 0
    rewritten = _rewritten_in_diff(capsys.readouterr().out)
    assert rewritten == ({"learning_rate", "train"}, {"run"})
    assert server_names(STAR_MODULE, str(tmp_path / "app" / "mod.py")) == rewritten


# -- import forms -------------------------------------------------------------------------------------------

STAR_MODULE = textwrap.dedent(
    """\
    from pinjected import *

    @instance
    def learning_rate():
        return 0.1

    @injected
    def train(learning_rate, /, steps):
        return learning_rate * steps

    run: IProxy = train(3)
    base = instances(batch=2)
    overrides = design(epochs=1)
    """
)


def test_star_import_constructs_are_reported():
    findings = check(STAR_MODULE, "/proj/mod.py")
    assert [(f.code, f.range.start_line) for f in findings] == [
        ("DM151", 2), ("DM150", 6), ("DM154", 10), ("DM152", 11), ("DM152", 12)
    ]


@pytest.mark.parametrize(
    "imports, decorator",
    [
        ("import pinjected as pj", "@pj.injected"),
        ("import pinjected", "@pinjected.injected"),
        ("from pinjected import injected as inj", "@inj"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pinjected import injected", "@injected"),
    ],
)
def test_import_forms_the_codemod_reads_are_read_alike(imports, decorator):
    source = f"{imports}\n\n{decorator}\ndef fetch(client, /, url):\n    return client.get(url)\n"
    assert codes(check(source, "/proj/mod.py")) == ["DM150"]
    assert migrate_source(source, path="/proj/mod.py", phases=("di",)).changed


def test_a_name_imported_inside_a_function_is_not_pinjected_for_the_module():
    """The codemod reads module-level imports only: a function-local import binds nothing at module level."""
    source = "def setup():\n    from pinjected import injected\n\n@injected\ndef fetch(client, /):\n    return client\n"
    assert check(source, "/proj/mod.py") == []
    assert not migrate_source(source, path="/proj/mod.py", phases=("di",)).changed


def test_keys_bound_by_star_imported_instances_are_not_unbound_asks():
    source = textwrap.dedent(
        """\
        from pinjected import *
        from doeff_migrate.runtime import do, Ask

        base = instances(learning_rate=0.1)

        @do
        def train():
            lr = yield Ask("learning_rate")
            steps = yield Ask("steps")
            return lr * steps
        """
    )
    findings = [f for f in check(source, "/proj/mod.py", project=ProjectIndex()) if f.code == "DM505"]
    assert len(findings) == 1 and '"steps"' in findings[0].message


# -- noqa ---------------------------------------------------------------------------------------------------

NOQA_MODULE = "from pinjected import injected\n\n@injected{comment}\ndef fetch(client, /, url):\n    return client.get(url)\n"


@pytest.mark.parametrize(
    "comment, reported",
    [
        ("  # noqa: E501", ["DM150"]),
        ("  # noqa: E501, F401", ["DM150"]),
        ("  # noqa: DM150", []),
        ("  # noqa: E501, DM150", []),
        ("  # noqa: E501  # noqa: DM150", []),
        ("  # noqa", []),
        ("  # noqa: DM151", ["DM150"]),
    ],
)
def test_noqa_is_read_as_the_codemod_reads_it(comment, reported):
    source = NOQA_MODULE.format(comment=comment)
    assert codes(check(source, "/proj/mod.py")) == reported
    # The CLI's reading of the same comment (``FileState.flag`` honours it through this parser).
    assert noqa_suppresses(comment, "DM150") == (reported == [])


# -- the real server ----------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_server_reports_star_imported_constructs(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", STAR_MODULE)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
    assert [(d.code, d.range.start.line) for d in diagnostics] == [
        ("DM151", 2), ("DM150", 6), ("DM154", 10), ("DM152", 11), ("DM152", 12)
    ]
    assert "`train`" in diagnostics[1].message

""""Migrate" per construct is what ``doeff-migrate`` writes: on every function, instance and
``@injected_pytest`` test of the fixture projects the CLI migrates.

Per construct (``migration.migrate_in_editor`` with the construct's lines), then the CLI on the result, must
give what the CLI gives on the original file: the construct's edit (its ``@do`` program, the plain test
running it, its ``__doeff_requires__`` entry) is the CLI's own, and nothing else of the file changed. The
fidelity tests run the CLI's output (``tests/fidelity``), so the per-construct edit inherits their proof.
Then the real server: the action on a test's diagnostic resolves to that edit.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from lsprotocol import types

from doeff_migrate.codemod.analysis import check
from doeff_migrate.codemod.analysis.migration import migrate_in_editor, same_statements_as_cli
from doeff_migrate.codemod.analysis.plan import decided, plan_file
from doeff_migrate.codemod.config import Settings
from doeff_migrate.codemod.index import ProjectIndex
from tests.fidelity.test_idempotency import PROJECTS

from .lsp_client import apply_text_edits, decided_diagnostics, lsp_session, open_document
from .test_one_analysis import star_imported

FUNCTION_CODES = ("DM150", "DM151", "DM155")

KNOWN_GAPS = {
    # The CLI's whole-file run also rewrites, inside these functions, what other transforms own: pinjected
    # utilities imported in the body, the arguments of decorators kept above the function (``injected("k")``,
    # ``memory_cache`` as a proxy), an IO call the io phase converts where the line diff groups it with the
    # function's head. A run on the function's lines alone differs from the CLI's, so the server's "Migrate"
    # there resolves to no edit and says to use "Migrate this file" (the CLI's file).
    "test_pinjected_utilities.PROJECTS.task_group_in_async_injected",
    "test_target_doeff.IO_PROJECT",
    "test_wrapping_decorators.PROJECTS.caching_decorators_rebinding_the_key",
    "test_wrapping_decorators.PROJECTS.decorator_arguments_are_proxies_and_dependents_in_another_module",
    "test_wrapping_decorators.PROJECTS.decorator_built_from_an_injected_decorator_factory",
}


def _normalised(text: str) -> tuple[str, dict]:
    """The text without its ``__doeff_requires__`` table, and the table (the CLI appends one entry per
    migrated construct: migrated one at a time, the entries come in another order)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["__doeff_requires__"]:
            return "".join(lines[: stmt.lineno - 1] + lines[stmt.end_lineno :]).rstrip() + "\n", ast.literal_eval(stmt.value)
    return text.rstrip() + "\n", {}


def _constructs(files: dict[str, str]):
    """(path, source, plan, index, finding) of each function-like construct the CLI's plan migrates."""
    index = ProjectIndex.from_sources(files)
    for path, source in files.items():
        plan = plan_file(source, path, index=index, settings=Settings())
        if plan.error is not None or plan.new_text is None:
            continue
        for finding in decided(check(source, path), plan, source.splitlines()):
            if finding.code in FUNCTION_CODES and "doeff-migrate migrates it" in finding.message:
                yield path, source, plan, index, finding


def _fixture_projects(transform) -> dict[str, dict[str, str]]:
    return {
        name: {p: transform(textwrap.dedent(t)) for p, t in files.items() if p.endswith(".py")}
        for name, files in sorted(PROJECTS.items())
    }


@pytest.mark.parametrize("form", ["as written", "star imports"])
def test_every_function_and_test_the_cli_migrates_has_its_migrate(form: str):
    transform = star_imported if form == "star imports" else (lambda text: text)
    uncovered, covered = [], {code: 0 for code in FUNCTION_CODES}
    for name, files in _fixture_projects(transform).items():
        for path, source, plan, index, finding in _constructs(files):
            migration = migrate_in_editor(
                source, path, index=index, settings=Settings(), plan=plan, lines=finding.migrate_lines, project_files=list(files)
            )
            if migration is None:
                if name not in KNOWN_GAPS:
                    uncovered.append(f"{name}/{path}:{finding.range.start_line + 1}: {finding.code}")
                continue
            covered[finding.code] += 1
    assert uncovered == []
    assert covered["DM155"] >= 19 and covered["DM151"] >= 90 and covered["DM150"] >= 300, covered


def test_a_test_migrated_alone_then_the_file_is_the_clis_file():
    """Each ``@injected_pytest`` test of the fixtures: its Migrate, then ``doeff-migrate`` on the result,
    equals ``doeff-migrate`` on the original file (the requires table compared by entries)."""
    checked = 0
    for name, files in _fixture_projects(lambda text: text).items():
        for path, source, plan, index, finding in _constructs(files):
            if finding.code != "DM155":
                continue
            migration = migrate_in_editor(
                source, path, index=index, settings=Settings(), plan=plan, lines=finding.migrate_lines, project_files=list(files)
            )
            assert migration is not None, (name, path, finding.range.start_line)
            assert same_statements_as_cli(source, migration.text, plan.new_text)
            test_name = finding.message.split("`")[3]
            program = f"_{test_name}"
            requires = _normalised(migration.text)[1]
            assert program in requires or program not in _normalised(plan.new_text)[1]
            after = ProjectIndex.from_sources({**files, path: migration.text})
            then_whole = plan_file(migration.text, path, index=after, settings=Settings())
            assert _normalised(then_whole.new_text or migration.text) == _normalised(plan.new_text), (name, path, test_name)
            checked += 1
    assert checked >= 19


BASIC = {
    "app/__init__.py": "from pinjected import design\n__design__ = design(factor=2)\n",
    "app/ops.py": textwrap.dedent(
        """\
        from pinjected import injected

        @injected
        def double(factor, /, x):
            return x * factor
        """
    ),
    "app/test_ops.py": textwrap.dedent(
        """\
        from pinjected import design
        from pinjected.test import injected_pytest
        from app import ops

        @injected_pytest
        def test_double(double):
            assert double(2) == 4

        @injected_pytest(design(factor=5))
        def test_inline(factor):
            assert factor == 5
        """
    ),
}


def test_a_tests_migrate_writes_its_program_its_test_and_its_requires_entry():
    index = ProjectIndex.from_sources(BASIC)
    path, source = "app/test_ops.py", BASIC["app/test_ops.py"]
    plan = plan_file(source, path, index=index, settings=Settings())
    migration = migrate_in_editor(source, path, index=index, settings=Settings(), plan=plan, lines=(9, 11), project_files=list(BASIC))
    assert migration is not None
    text = migration.text
    assert '@do\ndef _test_inline():\n    factor = yield Ask("factor")\n    assert factor == 5\n' in text
    assert 'def test_inline():\n    run_injected_test(_test_inline(), __name__, {"factor": 5})\n' in text
    assert _normalised(text)[1] == {"_test_inline": ("factor",)}
    assert "@injected_pytest\ndef test_double(double):" in text  # the other test is left as the user asked
    assert "from pinjected.test import injected_pytest" in text
    assert same_statements_as_cli(source, text, plan.new_text)


def test_a_rewrite_the_cli_does_not_make_is_not_the_clis():
    source = BASIC["app/test_ops.py"]
    plan = plan_file(source, "app/test_ops.py", index=ProjectIndex.from_sources(BASIC), settings=Settings())
    altered = plan.new_text.replace("assert factor == 5", "assert factor == 6")
    assert not same_statements_as_cli(source, altered, plan.new_text)
    wrong_entry = plan.new_text.replace('"_test_inline": ("factor",)', '"_test_inline": ("factor", "x")')
    assert wrong_entry != plan.new_text
    assert not same_statements_as_cli(source, wrong_entry, plan.new_text)
    assert not same_statements_as_cli(source, source, plan.new_text)  # no rewrite at all


@pytest.mark.asyncio
async def test_the_server_offers_the_clis_migrate_on_a_test(tmp_path: Path):
    paths = {}
    for name, text in BASIC.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths[str(path)] = text
    test_file = tmp_path / "app" / "test_ops.py"
    source = BASIC["app/test_ops.py"]
    index = ProjectIndex.build([Path(p) for p in paths])
    plan = plan_file(source, str(test_file), index=index, settings=Settings())
    expected = migrate_in_editor(source, str(test_file), index=index, settings=Settings(), plan=plan, lines=(9, 11), project_files=list(paths))
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, test_file, source)
        diagnostics = await decided_diagnostics(lsp, uri, version=1)
        (test_inline,) = [d for d in diagnostics if d.code == "DM155" and d.range.start.line == 8]
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), range=test_inline.range,
                context=types.CodeActionContext(diagnostics=[test_inline], only=[types.CodeActionKind.QuickFix]),
            )
        )
        migrate = next(a for a in actions if a.title == "DM155: Migrate `test_inline` (phase di)")
        done = await lsp.code_action_resolve_async(migrate)
    assert done.edit is not None
    (edit,) = [c for c in done.edit.document_changes if isinstance(c, types.TextDocumentEdit) and c.text_document.uri == uri]
    assert expected is not None and apply_text_edits(source, edit.edits) == expected.text

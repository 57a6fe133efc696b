"""One ``ast`` parse per text: the engine's parse and the transforms reuse what the index read, and give what
parsing again gives."""

from __future__ import annotations

import ast
from textwrap import dedent

import pytest

from doeff_migrate.codemod import engine
from doeff_migrate.codemod.errors import MigrationError
from doeff_migrate.codemod.index import ProjectIndex
from doeff_migrate.codemod.parsing import parse_guarded

SOURCE = dedent(
    '''
    """Service."""
    from pinjected import IProxy, Injected, injected, instance


    @instance
    def client(api_key):
        return {"key": api_key}


    @injected
    def fetch(client, /, x: int) -> int:
        return client["key"] + x


    def check(value) -> bool:
        return isinstance(value, Injected)


    run: IProxy = fetch(1)
    '''
)


def _project(tmp_path, keep_trees: bool) -> tuple[ProjectIndex, str]:
    package = tmp_path / ("kept" if keep_trees else "plain") / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    path = package / "service.py"
    path.write_text(SOURCE)
    return ProjectIndex.build([package.parent], keep_trees=keep_trees), str(path)


def test_the_index_knows_which_texts_it_parsed(tmp_path):
    index, path = _project(tmp_path, keep_trees=False)
    assert index.parsed_as_indexed(path, SOURCE)
    assert not index.parsed_as_indexed(path, SOURCE + "x = 1\n")
    assert not index.parsed_as_indexed(str(tmp_path / "elsewhere.py"), SOURCE)


def test_a_parse_told_python_read_the_text_gives_the_same_tree():
    assert parse_guarded(SOURCE, python_parsed=True).code == parse_guarded(SOURCE).code == SOURCE
    with pytest.raises(MigrationError, match="syntax error"):
        parse_guarded("def (:\n")


def test_kept_trees_are_the_trees_of_the_indexed_text_and_within_the_budget(tmp_path, monkeypatch):
    index, path = _project(tmp_path, keep_trees=True)
    module = index.facts_for(path).module
    kept = index.ast_tree(module, SOURCE)
    assert kept is not None and ast.dump(kept) == ast.dump(ast.parse(SOURCE))
    assert index.ast_tree(module, SOURCE + "\n") is None  # another text: not its tree
    plain, plain_path = _project(tmp_path, keep_trees=False)
    assert plain.ast_tree(plain.facts_for(plain_path).module, SOURCE) is None
    monkeypatch.setattr(ProjectIndex, "KEPT_BUILD_TREES", len(SOURCE) - 1)
    small, small_path = _project(tmp_path / "small", keep_trees=True)
    assert small.ast_tree(small.facts_for(small_path).module, SOURCE) is None  # over the budget: not kept


def test_migrating_with_the_index_s_parse_and_tree_gives_the_code_of_parsing_again(tmp_path):
    kept, kept_path = _project(tmp_path, keep_trees=True)
    plain, plain_path = _project(tmp_path, keep_trees=False)
    reused = engine.migrate_text(SOURCE, path=kept_path, index=kept)
    fresh = engine.migrate_text(SOURCE, path=plain_path, index=plain)
    assert reused.code == fresh.code
    assert reused.flags == fresh.flags
    assert "@do" in reused.code

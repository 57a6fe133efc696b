"""The di phase's migrate/refuse decisions (``codemod/provider_decisions.py``), and their reuse by the di pass."""

from __future__ import annotations

from textwrap import dedent

import pytest

from doeff_migrate.codemod.api import ProjectIndex
from doeff_migrate.codemod.decisions import module_decisions
from doeff_migrate.codemod.engine import migrate_text
from doeff_migrate.codemod.rules.di import INSTANCE_STAR_PARAMS

SOURCE = dedent(
    '''
    from pinjected import injected, instance


    @injected
    def fetch(client, /, x):
        return client(x)


    @injected
    def numbers(limit, /):
        yield from range(limit)


    @instance
    def pool(*args):
        return list(args)


    def outer():
        @injected
        def inner(dep, /):
            return dep

        return inner
    '''
)


def _decided(source: str, path: str = "pkg/mod.py"):
    index = ProjectIndex.from_sources({path: source})
    return index, module_decisions(source, path, index)


def test_decisions_give_form_and_blockers_per_function_and_the_names_left_pinjected():
    _, decided = _decided(SOURCE)
    by_name = {d.node.name.value: d for d in decided.by_node.values()}
    assert set(by_name) == {"fetch", "numbers", "pool"}  # the nested one is refused before any decision
    assert (by_name["fetch"].problems, by_name["fetch"].form) == ([], "body")
    assert [dep.key for dep in by_name["fetch"].deps] == ["client"]
    assert (by_name["numbers"].problems, by_name["numbers"].form) == ([], "pass")  # a generator keeps its body
    assert [code for code, _ in by_name["pool"].problems] == [INSTANCE_STAR_PARAMS.code]
    assert decided.unmigrated == {"pool", "inner"}


def test_the_di_pass_reuses_the_decisions_taken_over_the_tree_it_rewrites():
    # Nobody asked about the module before its di pass: the index decides the whole module at its first
    # provider, over the tree the engine migrates, and the pass takes every decision from there (``use``, which
    # asks about ``base`` of the same module, would otherwise have the module decided half-way through the pass).
    source = dedent(
        '''
        from pinjected import injected


        @injected
        def base(x):
            return x


        @injected
        def use(base, /, y):
            return base(y)


        @injected
        def last(use, /, z):
            return use(z)
        '''
    )
    path = "pkg/chain.py"
    index = ProjectIndex.from_sources({path: source})
    result = migrate_text(source, path=path, index=index)
    decided = index.module_decisions("pkg.chain")
    assert decided is not None
    left = {d.node.name.value for d in decided.by_node.values()}
    assert left == set()  # each function's decision was taken, none decided a second time
    # The same text migrated with the reuse turned off: every function decided afresh by the di pass.
    uncached = ProjectIndex.from_sources({path: source})
    uncached.module_decisions = lambda module: None
    fresh = migrate_text(source, path=path, index=uncached)
    assert result.code == fresh.code
    assert "yield use(z)" in result.code and "@do" in result.code


_USES_HELPER = dedent(
    '''
    from pinjected import injected


    @injected
    def use(helper, /, x):
        return helper(x)


    @injected
    def base(x):
        return x
    '''
)
_HELPER = dedent(
    '''
    from pinjected import injected


    @injected
    def helper(x):
        return x + 1
    '''
)
# ``helper`` asks for ``base``, a provider of the module whose decision asked about ``helper``.
_HELPER_USING_BASE = dedent(
    '''
    from pinjected import injected


    @injected
    def helper(base, /, x):
        return base(x) + 1
    '''
)


@pytest.mark.parametrize(("b", "b_kept"), [(_HELPER, True), (_HELPER_USING_BASE, False)], ids=["independent", "reads-partial"])
def test_a_module_decided_inside_another_ones_decision_keeps_its_decisions_unless_it_read_a_partial_answer(b, b_kept):
    # Deciding ``a`` asks about ``b``'s provider: ``b`` is decided meanwhile. Its decisions are kept for the di
    # pass unless they read ``a``'s answer, still partial then (the di pass of ``b`` sees the final one).
    from doeff_migrate.codemod.decisions import ProviderAnalysis

    a = _USES_HELPER
    index = ProjectIndex.from_sources({"pkg/a.py": a, "pkg/b.py": b})
    index.analysis = ProviderAnalysis
    assert index.unmigrated_providers("pkg.a") == set()
    for path, source, module, kept in (("pkg/b.py", b, "pkg.b", b_kept), ("pkg/a.py", a, "pkg.a", True)):
        tree = index.take_tree(path, source)
        assert tree is not None and tree.code == source
        index.remember_tree(module, source, tree)
        assert (index.module_decisions(module) is not None) is kept
        assert index.take_tree(path, source) is None  # a kept parse is handed out once


@pytest.mark.parametrize("b", [_HELPER, _HELPER_USING_BASE], ids=["independent", "reads-partial"])
def test_migrating_with_decisions_kept_from_nested_questions_gives_the_code_of_fresh_decisions(b):
    sources = {"pkg/a.py": _USES_HELPER, "pkg/b.py": b}

    def migrated(reuse: bool) -> list[str]:
        index = ProjectIndex.from_sources(sources)
        if not reuse:
            index.module_decisions = lambda module: None
        # ``a`` first: its decision decides ``b`` inside it.
        return [migrate_text(sources[path], path=path, index=index).code for path in ("pkg/a.py", "pkg/b.py")]

    reused, fresh = migrated(True), migrated(False)
    assert reused == fresh
    assert "@do" in reused[0] and "@do" in reused[1]

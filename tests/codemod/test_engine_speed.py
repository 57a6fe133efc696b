"""The engine's shortcuts give what the full passes give.

* Aliased import requests go through LibCST's ``AddImportsVisitor`` over the head of the module only
  (``imports._add_with_libcst``): the result equals the visitor's over the whole module.
* A family whose pass the file's index facts show has nothing to do is not run (``Transform.needed``):
  the result equals a run with that family forced on.
* The io pass walks function bodies only in files that can hold IO of their own.
"""

from __future__ import annotations

from textwrap import dedent

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from doeff_migrate.codemod import engine
from doeff_migrate.codemod.imports import _add_with_libcst
from doeff_migrate.codemod.index import ProjectIndex
from doeff_migrate.codemod.transforms import all_transforms

from .tools import check_transformed

MODULES = [
    "",
    '"""Doc."""\n',
    '"""Doc."""\nimport os\nfrom pinjected import injected\n\n\ndef f():\n    from x import y\n    return y\n',
    "import os\nfrom app.effects import Ask\n# a comment\nx = 1\nimport sys\n",
    "x = 1\nimport os\n",
    "__strict__ = True\nfrom app.effects import Ask\nclass C:\n    pass\n",
    "from __future__ import annotations\nimport os; x = 1\nfrom app.effects import Ask\ny = 2\n",
    "# header comment\n\nfrom app.effects import Ask as A, Tell\n\n# leading comment\ndef g():\n    return A\n",
    "def main():\n    pass\n\n\nif __name__ == '__main__':\n    main()\n",
]

REQUESTS = [
    [("app.effects", "Ask", "_dm_Ask")],
    [("app.effects", "Ask", "_dm_Ask"), ("app.effects", "Tell", None), ("other", "thing", None)],
    [("__future__", "annotations", None), ("app.effects", "Ask", "A")],
    [("app", None, "application"), ("os", None, None)],
]


def _requests(context: CodemodContext, requests) -> None:
    for module, obj, alias in requests:
        AddImportsVisitor.add_needed_import(context, module, obj, alias)


@pytest.mark.parametrize("source", MODULES)
@pytest.mark.parametrize("requests", REQUESTS)
def test_head_only_import_edits_equal_libcsts_over_the_whole_module(source, requests):
    module = cst.parse_module(source)
    whole, head = CodemodContext(full_module_name="pkg.mod"), CodemodContext(full_module_name="pkg.mod")
    _requests(whole, requests)
    _requests(head, requests)
    expected = AddImportsVisitor(whole).transform_module(module).code
    assert _add_with_libcst(module, head).code == expected


def test_aliased_import_request_end_to_end():
    # ``Ask`` is taken by the module itself: the runtime's is imported under an alias (LibCST's visitor).
    check_transformed(
        """
        from pinjected import injected

        Ask = "mine"


        @injected
        def greet(logger, /, name: str) -> str:
            return name
        """,
        """
        from doeff_migrate.runtime import Ask as _dm_Ask, do, function_binding

        Ask = "mine"


        @function_binding
        @do
        def greet(name: str) -> str:
            logger = yield _dm_Ask("logger")
            return name
        """,
    )


def _migrate_forcing(source: str, path: str, forced: bool) -> engine.MigrationResult:
    """``source`` migrated with the ``needed`` checks of every family obeyed, or ignored (every pass runs)."""
    index = ProjectIndex.from_sources({path: source})
    saved = {t.name: t.needed for t in all_transforms()}
    try:
        if forced:
            for t in all_transforms():
                object.__setattr__(t, "needed", None)
        return engine.migrate_text(source, path=path, index=index)
    finally:
        for t in all_transforms():
            object.__setattr__(t, "needed", saved[t.name])


SKIP_CASES = [
    # no class injection: the classes pass is skipped
    """
    from pinjected import injected, instance

    class Plain:
        pass

    @instance
    def settings(region) -> Plain:
        return Plain()

    @injected
    def fetch(settings, /, key: str) -> str:
        return key
    """,
    # ``@injected`` on a class: the pass runs
    """
    from pinjected import injected

    @injected
    class Service:
        def __init__(self, _client):
            self._client = _client
    """,
    # ``injected(C)`` at module level: the pass runs
    """
    from pinjected import IProxy, injected

    class Service:
        def __init__(self, _client):
            self._client = _client

    service: IProxy = injected(Service)
    """,
    # ``injected(f)`` of a plain function called right away
    """
    import pinjected as pj

    def load(path):
        return path

    loaded = pj.injected(load)("x.txt")
    """,
    # no function body names pinjected's API: the plain-programs pass is skipped
    """
    from pinjected import Injected, injected

    def helper(x):
        return x + 1

    @injected
    def f(dep, /, x):
        return helper(x)

    both = Injected.mzip(Injected.by_name("a"), Injected.by_name("b"))
    """,
    # a plain function building an Injected value: the pass runs and translates it
    """
    from pinjected import Injected

    def both(a, b):
        return Injected.mzip(Injected.by_name(a), Injected.by_name(b))
    """,
]


@pytest.mark.parametrize("source", SKIP_CASES)
def test_a_skipped_pass_changes_nothing(source):
    source = dedent(source)
    obeyed = _migrate_forcing(source, "pkg_mod.py", forced=False)
    forced = _migrate_forcing(source, "pkg_mod.py", forced=True)
    assert obeyed.code == forced.code
    assert obeyed.flags == forced.flags


def test_class_injection_fact():
    index = ProjectIndex.from_sources({
        "plain.py": "from pinjected import injected\n\nclass C:\n    pass\n\n@injected\ndef f(x, /):\n    return x\n",
        "decorated.py": "from pinjected import injected\n\ndef outer():\n    @injected\n    class C:\n        pass\n    return C\n",
        "called.py": "import pinjected\n\nclass C:\n    pass\n\nc = pinjected.injected(C)\n",
    })
    assert [index.modules[m].class_injection for m in ("plain", "decorated", "called")] == [False, True, True]


IO_CASES = [
    # imports a sibling module only: bodies are not walked, entry points are still wired
    ("from pinjected import injected\nfrom pkg.helpers import work\n\n\n@injected\ndef run_it(logger, /):\n    return open('x').read()\n", True),
    ("from pinjected import injected\nfrom pkg.helpers import work\n\n\n@injected\ndef run_it(logger, /):\n    return work()\n", False),
    ("from pinjected import injected\nfrom pkg.helpers import work\n\n\n@injected\ndef run_it(my_cache, /):\n    return my_cache\\\n        .get('k')\n", True),
]


@pytest.mark.parametrize(("source", "walks"), IO_CASES)
def test_io_bodies_are_walked_only_where_io_can_be(source, walks):
    from doeff_migrate.codemod.state import FileState
    from doeff_migrate.codemod.transforms.io_effects import IoTransformer

    state = FileState(path="pkg/mod.py", module="pkg.mod", index=ProjectIndex.from_sources({"pkg/mod.py": source}),
                      facts=None, names=None, context=CodemodContext(), source=source)
    transformer = IoTransformer(state)
    transformer.visit_Module(cst.parse_module(source))
    assert transformer.bodies is walks


def test_fast_walk_meets_the_nodes_a_visitor_meets():
    from doeff_migrate.codemod.cst_walk import nodes

    module = cst.parse_module(dedent(
        """
        import os
        from pinjected.di.expr_util import Expr

        @deco(arg=lambda x: x if x else -x)
        async def f(a: int = 1, *args, b, **kw) -> Expr:
            async with open(a) as h, g() as (i, j):
                [k async for k in h if k]
            return {m: n for m, n in kw.items()} | {**kw}

        class C(Expr, metaclass=M):
            x: int = 0
            def g(self):
                global os
                try:
                    pass
                except (A, B) as e:
                    raise e from None
                del self.x[1:2, ...]
        """
    ))
    seen: list[int] = []
    skipped: list[int] = []

    class _All(cst.CSTVisitor):
        def on_visit(self, node):
            seen.append(id(node))
            if isinstance(node, cst.ImportFrom):
                skipped.append(id(node))
                return False
            return True

    module.visit(_All())
    assert sorted(id(n) for n in nodes(module, skip=(cst.ImportFrom,))) == sorted(seen)
    assert skipped


def test_functions_mentioning_pinjected_fact():
    source = "from pinjected import Injected\n\ndef clean(x):\n    return x\n\ndef builds(k):\n    return Injected.by_name(k)\n"
    index = ProjectIndex.from_sources({"m.py": source, "cr.py": source.replace("\n", "\r")})
    assert index.modules["m"].mentioning_functions == frozenset({"builds"})
    assert index.modules["m"].clean_definitions[0] == frozenset({"clean"})
    # A lone carriage return ends a line for ``ast``, not for the text search: nothing is known there.
    assert index.modules["cr"].mentioning_functions is None


def test_fast_walk_follows_only_the_named_fields():
    from doeff_migrate.codemod.cst_walk import nodes

    expr = cst.parse_expression("a.b(c, lambda d: e)")
    names = {n.value for n in nodes(expr, skip=(cst.Lambda,), only={cst.Attribute: ("value",)}) if isinstance(n, cst.Name)}
    assert names == {"a", "c"}  # not the attribute's name, nor what is inside the lambda

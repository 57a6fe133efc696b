"""Passes that visit only the statements they can change give what full passes give.

``codemod/scoped_pass.py`` skips a top-level statement that shows none of the words its transformer names
(``MigrationTransformer.statement_words``). Each case here is one where a careless scope would skip a
statement that matters: a provider named through an alias, a decorator imported under another name, a
``with design()`` block, IO inside a class method, a statement that matters because of an earlier one. Each
is migrated with the scoped passes and with every pass forced over the whole module
(``engine.SCOPED_PASSES = False``, LibCST's own ``Module.visit``), and the two must agree exactly; each case
also names what the migration must have written, so that agreeing on an unchanged file proves nothing.
"""

from __future__ import annotations

import ast
from textwrap import dedent

import libcst as cst
import pytest

from doeff_migrate.codemod import engine
from doeff_migrate.codemod.cst_walk import names_in
from doeff_migrate.codemod.index import ProjectIndex
from doeff_migrate.codemod.scoped_pass import StatementWords, visit_pass

PROVIDERS = """
from pinjected import injected, instance

@instance
def settings():
    return {"region": "eu"}

@injected
def greet(settings, /, name: str) -> str:
    return settings["region"] + name
"""

CASES = {
    "provider through an alias": (
        """
        from pinjected import IProxy
        from pkg.providers import greet as hello, settings as conf
        import pkg.providers as prov

        def helper(x):
            return x + 1

        say: IProxy = hello("amy")
        region = conf
        again = prov.greet("bob")
        """,
        ["region = conf()", 'say: Program = hello("amy")'],
    ),
    "relevant because of an earlier statement": (
        """
        from pinjected import IProxy
        from pkg.providers import greet

        say: IProxy = greet("amy")
        note = "plain"
        louder = say + "!"
        """,
        ["def louder():", '(yield say) + "!"'],
    ),
    "entry point inside a with design block": (
        """
        from pinjected import IProxy, design
        from pkg.providers import greet

        with design(prefix="hi "):
            hello: IProxy = greet("amy")

        later = hello + "!"
        """,
        ["__doeff_overrides__", "def later():"],
    ),
    "decorators imported under other names": (
        """
        import json

        from pinjected import injected as provide
        from doeff_migrate.runtime import do as effectful


        @effectful
        def load(path):
            with open(path) as f:
                return json.load(f)


        @provide
        def fetch(logger, /, key):
            return key
        """,
        ["yield ReadJson(path)", "@function_binding"],
    ),
    "io inside a class method": (
        """
        import json

        from pinjected import injected
        from doeff_migrate.runtime import do


        class Store:
            @do
            def load(self, path):
                with open(path) as f:
                    data = json.load(f)
                return data


        @injected
        def fetch(logger, /, key):
            return key
        """,
        ["data = yield ReadJson(path)"],
    ),
    "with design inside a plain function": (
        """
        from pinjected import design, injected

        def build():
            with design(x=1):
                return injected("x")

        def plain(y):
            return y
        """,
        ["doeff-migrate: DM135"],
    ),
    "class injection through a module alias": (
        """
        import pinjected as pj

        class Service:
            def __init__(self, client):
                self.client = client

        def unrelated():
            return 1

        service = pj.injected(Service)
        """,
        ["class_constructor(Service)"],
    ),
    "ray under another name in a @do function": (
        """
        import ray as r

        from pinjected import injected
        from doeff_migrate.runtime import do as D


        @r.remote
        def square(x):
            return x * x


        @D
        def total(n):
            ref = square.remote(n)
            return r.get(ref)


        @injected
        def fetch(logger, /, key):
            return key
        """,
        ["yield Spawn(", "yield Wait(ref)"],
    ),
    "run under another name in a script": (
        """
        from pinjected import injected
        from doeff_migrate.runtime import do, run as go


        @do
        def main_program():
            return 1


        @injected
        def fetch(logger, /, key):
            return key


        if __name__ == "__main__":
            go(main_program())
        """,
        ["recording_handlers"],
    ),
}


def _migrate(files: dict[str, str], path: str, scoped: bool, target: str) -> engine.MigrationResult:
    saved = engine.SCOPED_PASSES
    engine.SCOPED_PASSES = scoped
    try:
        return engine.migrate_text(files[path], path=path, index=ProjectIndex.from_sources(files), target=target)
    finally:
        engine.SCOPED_PASSES = saved


@pytest.mark.parametrize("target", ["runtime", "doeff"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_scoped_passes_equal_full_passes(case, target):
    source, written = CASES[case]
    files = {"pkg/__init__.py": "", "pkg/providers.py": dedent(PROVIDERS), "pkg/app.py": dedent(source)}
    scoped = _migrate(files, "pkg/app.py", scoped=True, target=target)
    full = _migrate(files, "pkg/app.py", scoped=False, target=target)
    assert scoped.code == full.code
    assert scoped.flags == full.flags
    assert scoped.effects == full.effects
    assert scoped.changed
    if target == "runtime":
        for fragment in written:
            assert fragment in scoped.code, f"{fragment!r} not in:\n{scoped.code}"


# -- the statement words ---------------------------------------------------------------------------

def _words(source: str) -> tuple[cst.Module, StatementWords]:
    module = cst.parse_module(source)
    return module, StatementWords(module, source, ast.parse(source))


def test_a_statement_shows_its_lines_and_the_comments_around_it():
    module, words = _words("import os\n# about greet\nx = greet(1); y = 2\n\nclass C:\n    pass\n    # inside C\nz = 3\n")
    imports, assign, cls, last = module.body
    assert words.words_of(imports) == {"import", "os", "about", "greet"}  # the comment between counts on both sides
    assert {"about", "greet", "x", "y"} <= words.words_of(assign)
    assert {"class", "C", "pass", "inside"} <= words.words_of(cls)
    assert {"inside", "z"} <= words.words_of(last)  # a comment at the boundary counts on both sides
    assert "greet" not in words.words_of(cls)


@pytest.mark.parametrize("source", [
    "x = 1\ry = greet(2)\n",  # a lone carriage return: ``ast`` counts lines differently
    "if True: a = 1; b = greet(2)\n",
])
def test_a_statement_of_unknown_lines_shows_its_names(source):
    module, words = _words(source)
    assert "greet" in words.words_of(module.body[-1])


def test_a_statement_a_pass_built_shows_its_names_not_the_ones_it_replaced():
    module, words = _words("x = greet(1)\n")
    built = cst.parse_statement("x = hello(1)\n")
    assert words.words_of(built) == {"x", "hello"}
    assert words.showing({"greet"})(module.body[0]) and not words.showing({"greet"})(built)


SOURCES = [
    "@dec(a, b=c)\nasync def f(x: int = y, *args, k: T = v, **kw) -> R:\n    return [i async for i in g(x) if i]\n",
    "class C(Base, metaclass=M):\n    attr: Dict[str, int] = {k: v for k, v in items}\n",
    "with open(p) as f, lock:\n    data = f'{x!r:>{width}}' + b'raw'\n",
    "try:\n    import a.b as c\nexcept* E as e:\n    raise X from e\nelse:\n    del d[0]\nfinally:\n    global g\n",
    "match point:\n    case Point(x=0, y=yy) | [first, *rest] if guard:\n        lam = lambda q, /, *, r: q @ r\n",
    "for i in range(n):\n    x += i if cond else not other\nelse:\n    assert ok, msg\n",
]


@pytest.mark.parametrize("source", SOURCES)
def test_statement_words_are_the_names_a_visitor_finds(source):
    """A statement's words skip layout fields: no ``Name`` may hide below one."""

    class AllNames(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: set[str] = set()

        def visit_Name(self, node: cst.Name) -> None:
            self.found.add(node.value)

    for stmt in cst.parse_module(source).body:
        visitor = AllNames()
        stmt.visit(visitor)
        assert visitor.found and names_in(stmt) == visitor.found


# -- the pass itself -------------------------------------------------------------------------------

class _Renamer(cst.CSTTransformer):
    """Renames ``old`` to ``new``, removes ``drop = ...`` statements and doubles ``twice = ...`` ones."""

    statement_words = staticmethod(lambda: {"old", "drop", "twice"})

    def leave_Name(self, original_node, updated_node):
        return updated_node.with_changes(value="new") if updated_node.value == "old" else updated_node

    def leave_SimpleStatementLine(self, original_node, updated_node):
        small = updated_node.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.targets[0].target, cst.Name):
            if small.targets[0].target.value == "drop":
                return cst.RemovalSentinel.REMOVE
            if small.targets[0].target.value == "twice":
                return cst.FlattenSentinel([updated_node, updated_node])
        return updated_node


def test_the_scoped_pass_equals_libcsts_visit_and_keeps_untouched_statements():
    source = "a = old\ndrop = 1\nif x:\n    drop = 2\ntwice = 3\nb = plain\ndef f():\n    return old\n"
    module, words = _words(source)
    expected = module.visit(_Renamer()).code
    scoped = visit_pass(module, _Renamer(), words)
    assert scoped.code == expected
    # ``b = plain`` shows none of the words: kept unvisited; visited statements nothing replaced stay too.
    assert sum(stmt is module.body[4] for stmt in scoped.body) == 1
    unscoped = visit_pass(module, cst.CSTTransformer(), None)
    assert all(after is before for after, before in zip(unscoped.body, module.body))


# -- the source text of untouched statements ---------------------------------------------------------

TEXT_SOURCES = [
    "import os\n# lead\n\nx = (\n    1\n)  # trailing\ny = 2; z = 3;\n",
    "def f():\n    return 1\n    # indented after the block\n\n# at the margin\ng = 1\n",
    "class C:\n    x = 1\ny = 2\n\n\n@dec\n\n@other(\n    a,\n)\ndef h():\n    pass\n# the end\n",
    "if a:\n    b = 1\nelse:\n    c = 2\n\n    # footer?\nd = 3\n",
    "x = '''\n# not a comment\n'''\ny = 1 + \\\n    2\nz = 1\r\nw = 2\r\n",
    "try:\n    pass\nexcept E:\n    pass\n# c\nfor i in x: pass\nwhile y:\n    pass\n",
    "\"\"\"Doc.\"\"\"\n\nfrom a import (\n    b,\n    c,\n)\n\n\n\nv = 1\n\n\n# footer\n\n",
    "def f():\n    pass\n\n\nx = 1\ndef g():\n    pass\n    # in\n\ny = 1\n",
    "def f():\n    pass\n\n    # in\n\n# out\nx = 1\ndef g():\n    pass\n  # half\nz = 1\n",
    "def f():\n    pass\n# out\n    # in-after-out\nx = 1\nclass A:\n    def g(self):\n        pass\n\n\n    # about h\n\nx=1\n",
    "x = 1\ndef f():\n    pass\n\n# c\n\n",
    "x = 1\ndef f():\n    pass\n    \n\ny = 2\nif a:\n    b\n\t\nz = 3\n",
    "x = 1\r\ndef f():\r\n    pass\r\n\r\n\r\n# c\r\ny = 2\r\n",
]


@pytest.mark.parametrize("source", TEXT_SOURCES)
def test_a_statement_text_is_its_generated_code(source):
    module, words = _words(source)
    for stmt in module.body:
        known = words.texts.get(id(stmt))
        if known is not None:
            assert known[1] == module.code_for_node(stmt)
    assert engine._StatementCode(words.texts).code(module) == source


def test_texts_are_known_between_simple_statements_and_not_after_a_block_with_lines_after_it():
    module, words = _words("import os\n\n# lead\nx = 1\ndef f():\n    pass\n\ny = 2\n")
    first, x, f, y = module.body
    assert words.texts[id(x)][1] == "\n# lead\nx = 1\n"
    assert id(first) not in words.texts  # the first statement shares the module header
    assert id(f) in words.texts and id(y) in words.texts  # an empty line after a block is the next statement's
    module, words = _words("x = 1\ndef f():\n    pass\n    # in\ny = 2\n")
    assert id(module.body[1]) not in words.texts and id(module.body[2]) not in words.texts  # an indented comment
    module, words = _words("x = 1\ndef f():\n    pass\ny = 2\n")
    assert words.texts[id(module.body[1])][1] == "def f():\n    pass\n"

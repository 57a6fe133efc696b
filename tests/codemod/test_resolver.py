"""``__resolver__`` dependencies and ``Injected``-annotated parameters (runtime/resolver.py).

pinjected answers ``__resolver__`` itself; the migrated function asks for the resolver bound to its
run (``AskResolver``). An ``Injected`` argument of an injected function's call is handed over
unevaluated, as pinjected does, as the Program expression it became. Fidelity:
tests/fidelity/test_resolver.py.
"""

from __future__ import annotations

from .test_flags import flagged
from .tools import check_transformed


def test_resolver_dependency_and_an_injected_argument_handed_over_unevaluated():
    check_transformed(
        """\
        from pinjected import *


        @injected
        async def stored(__resolver__: AsyncResolver, /, tgt: Injected, name: str):
            assert isinstance(tgt, (Injected, IProxy))
            return {name: await __resolver__[tgt]}


        @injected
        def blocking(__resolver__, /, key):
            return __resolver__.to_blocking()[key]


        main: IProxy = stored(tgt=Injected.pure("hello"), name="a")
        by_key: IProxy = stored(tgt=Injected.by_name("k"), name=injected("n"))
        """,
        """\
        from doeff_migrate.runtime import Ask, AskResolver, Await, by_name, do, function_binding, pure_value
        from doeff_migrate.runtime.pinjected_types import IProxy, Injected


        @function_binding
        @do
        def stored(tgt: Injected, name: str):
            __resolver__ = yield AskResolver("__resolver__")
            assert isinstance(tgt, (Injected, IProxy))
            return {name: (yield Await(__resolver__[tgt]))}


        @function_binding
        @do
        def blocking(key):
            __resolver__ = yield AskResolver("__resolver__")
            return __resolver__.to_blocking()[key]


        @do
        def main():
            return (yield stored(tgt=pure_value("hello"), name="a"))

        @do
        def by_key():
            return (yield stored(tgt=by_name("k"), name=(yield Ask("n"))))

        __doeff_requires__ = {"by_key": ("n",)}
        """,
    )


def test_design_and_task_group_stay_flagged_dm111():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def f(__design__, /, x):
            return __design__
        """,
        "DM111",
    )

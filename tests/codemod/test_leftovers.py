"""Pinjected names left in plain code after the rewrite (codemod/transforms/leftovers.py, codemod/imports.py)."""

from __future__ import annotations

from doeff_migrate.runtime import Pure, do
from doeff_migrate.runtime.expressions import expr
from doeff_migrate.runtime.pinjected_types import Injected, IProxy

from .tools import check_noop, check_transformed


def test_injected_used_as_a_type_in_plain_code_comes_from_the_runtime():
    check_transformed(
        """\
        from pinjected import Injected, injected

        def is_lazy(x) -> bool:
            return isinstance(x, Injected)

        @injected
        def f(k, /, x):
            return is_lazy(x), k
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding
        from doeff_migrate.runtime.pinjected_types import Injected

        def is_lazy(x) -> bool:
            return isinstance(x, Injected)

        @function_binding
        @do
        def f(x):
            k = yield Ask("k")
            return is_lazy(x), k
        """,
    )


def test_injected_used_as_api_keeps_the_pinjected_import():
    # ``Injected.pure(x).proxy`` in a plain helper is pinjected's API with no runtime counterpart, not a type
    # test: it stays (and is flagged).
    result = check_transformed(
        """\
        from pinjected import Injected

        def lazy(x):
            return Injected.pure(x).proxy
        """,
        """\
        from pinjected import Injected

        # doeff-migrate: DM135: plain function builds pinjected objects (`Injected.pure(...)`) that now mix with @do programs: port it by hand
        def lazy(x):
            return Injected.pure(x).proxy
        """,
    )
    assert [f.code for f in result.flags] == ["DM135"]


def test_type_only_imports_that_nothing_uses_any_more_are_removed_with_their_block():
    check_transformed(
        """\
        from typing import TYPE_CHECKING
        from pinjected import design

        if TYPE_CHECKING:
            from pinjected import Design

        __design__: Design = design(lr=0.1)
        """,
        """\
        from typing import TYPE_CHECKING

        __design__ = {"lr": 0.1}
        """,
    )


def test_type_only_import_still_used_in_an_annotation_stays():
    check_noop(
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from pinjected import Design

        def describe(d: "Design") -> str:
            return "design"
        """,
    )


def test_the_runtime_types_answer_for_programs_and_not_for_values():
    @do
    def program():
        return 1

    for value in (program(), Pure(1), expr(Pure(2)).real):
        assert isinstance(value, Injected) and isinstance(value, IProxy)
    for value in (1, "Ada", None, [Pure(1)]):
        assert not isinstance(value, Injected) and not isinstance(value, IProxy)
    assert IProxy[int] is IProxy


def test_star_import_goes_once_nothing_of_it_is_used_and_injected_annotated_entry_points_are_programs():
    # pinjected runs a module variable annotated ``Injected`` as it runs an ``IProxy`` one; after migration
    # its value is a program, and nothing of ``from pinjected import *`` is left in use.
    check_transformed(
        """\
        from pinjected import *


        @injected
        def greet(prefix, /, name):
            return prefix + name


        main: Injected = greet("amy")
        __design__ = design(prefix="hi ")
        """,
        """\
        from doeff_migrate.runtime import Ask, Program, do, function_binding


        @function_binding
        @do
        def greet(name):
            prefix = yield Ask("prefix")
            return prefix + name


        main: Program = greet("amy")
        __design__ = {"prefix": "hi "}

        __doeff_requires__ = {"main": ("prefix",)}
        """,
    )

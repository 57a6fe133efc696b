"""pinjected utilities used directly come from the runtime's counterparts (codemod/transforms/pinjected_utilities.py)."""

from __future__ import annotations

from .tools import check_noop, check_transformed


def test_task_group_imported_inside_a_function_comes_from_the_runtime():
    # pinjected_openai/whisper.py imports it in the body of an async function.
    check_transformed(
        """\
        async def transcribe(chunks):
            from pinjected.compatibility.task_group import TaskGroup
            async with TaskGroup() as tg:
                tasks = [tg.create_task(c) for c in chunks]
            return [t.result() for t in tasks]
        """,
        """\
        async def transcribe(chunks):
            from doeff_migrate.runtime.compat import TaskGroup
            async with TaskGroup() as tg:
                tasks = [tg.create_task(c) for c in chunks]
            return [t.result() for t in tasks]
        """,
    )


def test_task_group_and_exception_group_at_module_level_keep_their_aliases_and_comments():
    check_transformed(
        """\
        import asyncio
        # tasks of one batch
        from pinjected.compatibility.task_group import TaskGroup as Group, CompatibleExceptionGroup

        async def run_all(coros):
            try:
                async with Group() as tg:
                    for c in coros:
                        tg.create_task(c)
            except CompatibleExceptionGroup as group:
                return [str(e) for e in group.exceptions]
        """,
        """\
        import asyncio
        # tasks of one batch
        from doeff_migrate.runtime.compat import TaskGroup as Group, CompatibleExceptionGroup

        async def run_all(coros):
            try:
                async with Group() as tg:
                    for c in coros:
                        tg.create_task(c)
            except CompatibleExceptionGroup as group:
                return [str(e) for e in group.exceptions]
        """,
    )


def test_check_picklable_moves_and_names_without_counterpart_keep_pinjected():
    check_transformed(
        """\
        from pinjected.di.util import check_picklable, get_code_location

        def cache_key(key):
            check_picklable(key)
            return key, get_code_location
        """,
        """\
        from pinjected.di.util import get_code_location
        from doeff_migrate.runtime.compat import check_picklable

        def cache_key(key):
            check_picklable(key)
            return key, get_code_location
        """,
    )


def test_expr_used_only_as_a_type_is_the_runtime_expression():
    # injected_utils/picklability_checker.py: expressions are not dug into.
    check_transformed(
        """\
        from pinjected.di.expr_util import Expr

        def is_expression(tgt) -> bool:
            return isinstance(tgt, Expr)
        """,
        """\
        from doeff_migrate.runtime.expressions import Expr

        def is_expression(tgt) -> bool:
            return isinstance(tgt, Expr)
        """,
    )


def test_expr_used_as_pinjected_api_keeps_pinjected():
    check_noop(
        """\
        from pinjected.di.expr_util import Expr

        class Node(Expr):
            pass
        """
    )
    check_noop(
        """\
        from pinjected.di.expr_util import Expr, Object

        def wrap(x):
            return Expr._wrap_if_non_expr(x, x) if isinstance(x, Object) else x
        """
    )


def test_expr_keeps_pinjected_where_the_module_stays_pinjected_code():
    # Flagged statements keep pinjected's values, which only pinjected's ``Expr`` recognises.
    result = check_transformed(
        """\
        from pinjected import Injected
        from pinjected.di.expr_util import Expr
        from pinjected.compatibility.task_group import TaskGroup

        def is_expression(tgt) -> bool:
            return isinstance(tgt, Expr)

        dynamic = Injected.dynamic("k")
        """,
        """\
        from pinjected import Injected
        from pinjected.di.expr_util import Expr
        from doeff_migrate.runtime.compat import TaskGroup

        def is_expression(tgt) -> bool:
            return isinstance(tgt, Expr)

        # doeff-migrate: DM111: depends on `__design__`/`__task_group__` or `Injected.dynamic`: no env key answers it
        dynamic = Injected.dynamic("k")
        """,
    )
    assert [f.code for f in result.flags] == ["DM111"]


def test_a_plain_function_building_injected_values_with_a_task_group_is_translated_whole():
    # The task group has a counterpart, so it does not keep the function pinjected code (DM135).
    result = check_transformed(
        """\
        from pinjected import Injected
        from pinjected.compatibility.task_group import TaskGroup

        def gathered(keys):
            async def run_all(coros):
                async with TaskGroup() as tg:
                    return [tg.create_task(c) for c in coros]
            return Injected.pure(run_all), [Injected.by_name(k) for k in keys]
        """,
        """\
        from doeff_migrate.runtime.compat import TaskGroup
        from doeff_migrate.runtime import by_name, pure_value

        def gathered(keys):
            async def run_all(coros):
                async with TaskGroup() as tg:
                    return [tg.create_task(c) for c in coros]
            return pure_value(run_all), [by_name(k) for k in keys]
        """,
    )
    assert result.flags == []


def test_other_pinjected_modules_and_star_imports_are_left_alone():
    check_noop(
        """\
        from pinjected.compatibility import task_group
        from pinjected.di.util import *

        def group():
            return task_group.TaskGroup(), check_picklable
        """
    )


def test_doeff_target_keeps_pinjected_utilities():
    # doeff has no counterparts of these utilities; only the bundled runtime does.
    check_noop(
        """\
        from pinjected.compatibility.task_group import TaskGroup

        async def f():
            async with TaskGroup():
                pass
        """,
        target="doeff",
    )

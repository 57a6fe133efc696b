"""Injected functions used as values: lowered to ``bound_dependency(f)`` in a Program expression
(transforms/program_expressions.py), flagged DM108 where that is not pinjected's meaning."""

from __future__ import annotations

from .tools import check_transformed

BEFORE = """\
from pinjected import IProxy, Injected, injected

@injected
def greet(prefix, /, name: str, punct: str = "!"):
    return f"{prefix} {name}{punct}"

@injected
async def a_greet(prefix, /, name: str):
    return name
"""

AFTER = """\
{pinjected}from doeff_migrate.runtime import {imports}

@function_binding
@do
def greet(name: str, punct: str = "!"):
    prefix = yield Ask("prefix")
    return f"{{prefix}} {{name}}{{punct}}"

@function_binding
@do
def a_greet(name: str):
    prefix = yield Ask("prefix")
    return name
"""

PASSED = "# doeff-migrate: DM108: an injected function is passed as a value here: pinjected resolves it to a callable, a program is not one\n"


def check(before: str, after: str, imports: str, pinjected: str = "") -> None:
    check_transformed(BEFORE + "\n" + before, AFTER.format(imports=imports, pinjected=pinjected) + "\n" + after)


def test_partial_of_a_sync_injected_function_binds_its_dependencies():
    check(
        'shout = Injected.partial(greet, punct="!!!")\nmain: IProxy = shout("amy")\n',
        'shout = partial_of(bound_dependency(greet), punct="!!!")\nmain: Program = expr(shout)("amy")\n\n'
        '__doeff_requires__ = {"shout": ("prefix",)}\n',
        "Ask, Program, bound_dependency, do, expr, function_binding, partial_of",
    )


def test_sync_injected_function_as_argument_of_an_injected_call():
    check(
        "main: IProxy = greet(greet)\n",
        'main: Program = expr(greet)(bound_dependency(greet))\n\n__doeff_requires__ = {"main": ("prefix",)}\n',
        "Ask, Program, bound_dependency, do, expr, function_binding",
    )


def test_partial_of_an_async_injected_function_awaits_its_calls():
    # pinjected awaits a proxy call whose callee is an async injected function (__is_async_function__).
    check(
        'a_shout = Injected.partial(a_greet)\nmain: IProxy = a_shout("amy")\n',
        'a_shout = partial_of(async_function_value(a_greet))\nmain: Program = expr(a_shout)("amy")\n\n'
        '__doeff_requires__ = {"a_shout": ("prefix",)}\n',
        "Ask, Program, async_function_value, do, expr, function_binding, partial_of",
    )


def test_pure_of_an_injected_function_stays_flagged():
    # Injected.pure keeps the IProxy object itself, which has no runtime counterpart; the flagged
    # statement stays pinjected code, so its `IProxy` stays pinjected's.
    check(
        "direct: IProxy = Injected.pure(greet)\n",
        PASSED + "direct: IProxy = Injected.pure(greet)\n",
        "Ask, do, function_binding",
        pinjected="from pinjected import IProxy, Injected\n",
    )


def test_injected_function_handed_to_a_plain_decorator_of_this_module():
    # ``cached(store)`` is called at import with the counterpart of pinjected's Injected of the function:
    # the decorator uses none of pinjected's API (or a translated use, plain_programs.py), so it builds
    # the same value over the counterpart. A decorator left pinjected keeps the statement flagged.
    check(
        'def cached(store):\n    return lambda fn: fn\n\n'
        'cached_shout = cached({})(Injected.partial(greet, punct="!"))\n',
        'def cached(store):\n    return lambda fn: fn\n\n'
        'cached_shout = cached({})(partial_of(bound_dependency(greet), punct="!"))\n',
        "Ask, bound_dependency, do, function_binding, partial_of",
    )


def test_injected_function_handed_to_a_plain_function_over_a_proxy():
    # pinjected hands ``wrap`` the proxy objects; the counterparts are an expression and the function's
    # IProxy (``injected_proxy``).
    check(
        'def wrap(cache, fn):\n    return fn\n\n'
        'wrapped = wrap(greet("x"), a_greet)\n',
        'def wrap(cache, fn):\n    return fn\n\n'
        'wrapped = wrap(expr(greet("x")), injected_proxy(a_greet))\n',
        "Ask, do, expr, function_binding, injected_proxy",
    )


def test_injected_function_handed_to_a_plain_decorator_left_pinjected_stays_flagged():
    check(
        'def cached(store):\n    return Injected.bind(lambda fn: fn).add_dynamic_dependencies("k")\n\n'
        'cached_shout = cached({})(Injected.partial(greet, punct="!"))\n',
        "# doeff-migrate: DM135: plain function builds pinjected objects (`Injected.bind(...)`) that now mix with @do programs: port it by hand\n"
        'def cached(store):\n    return Injected.bind(lambda fn: fn).add_dynamic_dependencies("k")\n\n'
        + PASSED + 'cached_shout = cached({})(Injected.partial(greet, punct="!"))\n',
        "Ask, do, function_binding",
        pinjected="from pinjected import Injected\n",
    )


def test_injected_function_inside_a_container_stays_flagged():
    # pinjected keeps the proxy object itself in the dict, which has no runtime counterpart.
    check(
        'table: IProxy = {"g": greet}\n',
        PASSED + 'table: IProxy = {"g": greet}\n',
        "Ask, do, function_binding",
        pinjected="from pinjected import IProxy\n",
    )


def test_plain_decorator_result_applied_to_a_proxy():
    # pinjected calls ``cached(...)``'s result at import with the proxy object, not with its value: so
    # does the migrated code, with the expression standing for it.
    check(
        'def cached(store):\n    return lambda fn: fn\n\n'
        'a_ask = Injected.partial(a_greet, name="x")\n'
        'a_cached_ask = cached({})(a_ask)\n',
        'def cached(store):\n    return lambda fn: fn\n\n'
        'a_ask = partial_of(async_function_value(a_greet), name="x")\n'
        'a_cached_ask = cached({})(expr(a_ask))\n\n'
        '__doeff_requires__ = {"a_ask": ("prefix",)}\n',
        "Ask, async_function_value, do, expr, function_binding, partial_of",
    )

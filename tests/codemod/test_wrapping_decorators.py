"""Decorators written for ``@injected`` functions, stacked above them (runtime/decoration.py).

The migrated function keeps the decorators above it, over ``injected_proxy`` (the counterpart of the
IProxy pinjected hands them); decorator arguments that are IProxies become Program expressions; the
decorators' own pinjected code (``Injected.bind``, ``update_if_registered``, the async mark,
``injected(key)``, an injected decorator factory called in plain code) is translated by plain_programs;
dependents ask the rebound key as a callable. Fidelity: tests/fidelity/test_wrapping_decorators.py.
"""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .test_flags import flagged
from .tools import check_transformed


def test_caching_decorator_above_injected_and_its_dependents():
    check_transformed(
        """\
        from pinjected import Injected, injected, instance
        from pinjected.decoration import update_if_registered
        from pinjected.di.util import get_code_location
        from returns.maybe import Some


        def cached(cache):
            def impl(func):
                res = Injected.bind(lambda cache, func: func, cache=cache, func=func)
                res.__is_async_function__ = True
                return update_if_registered(func, res, Some(get_code_location(None)))
            return impl


        @instance
        def store():
            return {}


        @cached(store)
        @injected
        async def a_fetch(prefix, /, x):
            return prefix + x


        @injected
        async def a_use(a_fetch, /, x):
            return await a_fetch(x)
        """,
        """\
        from returns.maybe import Some
        from doeff_migrate.runtime import Ask, AskAsyncFunction, Await, bind, do, expr, function_binding, injected_proxy, instance_binding, pass_dependencies, update_if_registered as _dm_update_if_registered


        def cached(cache):
            def impl(func):
                res = bind(lambda cache, func: func, cache=cache, func=func)
                res.__is_async_function__ = True
                return _dm_update_if_registered(func, res)
            return impl


        @instance_binding
        @do
        def store():
            return {}


        @cached(expr(store()))
        @injected_proxy
        @function_binding
        @pass_dependencies(prefix=Ask)
        async def a_fetch(prefix, /, x):
            return prefix + x


        @function_binding
        @do
        def a_use(x):
            a_fetch = yield AskAsyncFunction("a_fetch")
            async def body(a_fetch, /, x):
                return await a_fetch(x)
            return (yield Await(body(a_fetch, x)))
        """,
    )


def test_decorator_factory_of_another_package_with_proxy_arguments():
    # ``async_cached`` is injected-utils' (migrated with it); its argument is an IProxy built at import.
    # Whether ``sqlite_dict`` is an injected function (an IProxy call) or a plain one (called with the
    # proxy object) is not visible from here: ``call_at_import`` decides when the module is imported.
    check_transformed(
        """\
        from pinjected import injected
        from injected_utils import async_cached, sqlite_dict


        @async_cached(sqlite_dict(injected("cache_root") / "x.sqlite"))
        @injected
        async def a_examples(a_llm, /, schema):
            return await a_llm(schema)
        """,
        """\
        from injected_utils import async_cached, sqlite_dict
        from doeff_migrate.runtime import Ask, by_name, call_at_import, function_binding, injected_proxy, pass_dependencies


        @async_cached(call_at_import(sqlite_dict, by_name("cache_root") / "x.sqlite"))
        @injected_proxy
        @function_binding
        @pass_dependencies(a_llm=Ask)
        async def a_examples(a_llm, /, schema):
            return await a_llm(schema)
        """,
    )


def test_injected_factory_called_in_plain_code_proxy_types_and_keys_held_in_variables():
    check_transformed(
        """\
        from pinjected import Injected, injected
        from pinjected.decoration import update_if_registered
        from pinjected.di.injected import PartialInjectedFunction


        @injected
        def _batched(name, /, cache):
            def get_impl(func):
                return func
            return get_impl


        def batched(cache):
            def impl(f: PartialInjectedFunction):
                res = _batched(cache=cache)(f)
                return update_if_registered(Injected.ensure_injected(f), res, binding_key="k")
            return impl


        def pick(key):
            return injected(key)
        """,
        """\
        from doeff_migrate.runtime import Ask, do, ensure_injected, expr, function_binding, injected_of, update_if_registered as _dm_update_if_registered
        from doeff_migrate.runtime.pinjected_types import IProxy as PartialInjectedFunction


        @function_binding
        @do
        def _batched(cache):
            name = yield Ask("name")
            def get_impl(func):
                return func
            return get_impl


        def batched(cache):
            def impl(f: PartialInjectedFunction):
                res = expr(_batched)(cache=cache)(f)
                return _dm_update_if_registered(ensure_injected(f), res, binding_key="k")
            return impl


        def pick(key):
            return injected_of(key)
        """,
    )


def test_decorator_of_this_module_left_pinjected_keeps_the_function_pinjected():
    source = dedent(
        """\
        from pinjected import Injected, injected


        def traced(func):
            return Injected.bind(lambda f: f, f=func).add_dynamic_dependencies("k")


        @traced
        @injected
        def f(dep, /, x):
            return dep + x
        """
    )
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}))
    assert sorted(f.code for f in result.flags) == ["DM112", "DM135"]
    assert "decorator `traced` stays pinjected (DM135), so it cannot take the migrated function" in [f.message for f in result.flags]
    assert "@injected\ndef f(dep, /, x):" in result.code


def test_decorator_above_instance_stays_flagged():
    flagged(
        """\
        from pinjected import instance
        from app.caching import cached


        @cached(1)  # <-
        @instance
        def store():
            return {}
        """,
        "DM112",
        message="decorator above `@instance`: pinjected hands it the instance's IProxy, which has no counterpart",
    )

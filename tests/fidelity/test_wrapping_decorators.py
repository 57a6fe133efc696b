"""Decorators written for ``@injected`` functions, stacked above them, behave as under real pinjected.

The shapes of injected-utils (PyPI) in small projects: caching decorators that build an ``Injected``
over the function's IProxy and rebind its key with ``pinjected.decoration.update_if_registered``
(``async_cached``, ``sync_cached``), a decorator made from an ``@injected`` decorator factory
(``async_injected_decorator``, ``async_batch_cached``), and decorator arguments that are IProxies
(``async_cached(sqlite_dict(injected("root") / "x"))`` in pinjected-openai). The migrated function
keeps its decorators over ``injected_proxy`` (runtime/decoration.py); each project runs with pinjected
0.2.252 and, migrated, with pinjected unimportable (harness.assert_same_behaviour).
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

CACHING = """\
import inspect
from pinjected import Injected, injected, instance
from pinjected.decoration import update_if_registered
from pinjected.di.metadata.bind_metadata import BindMetadata
from pinjected.di.util import get_code_location
from returns.maybe import Some


def ensure(i):
    if isinstance(i, str):
        return injected(i)
    return Injected.ensure_injected(i)


def async_cached(cache, *keys):
    key = Injected.mzip(*[ensure(k) for k in keys])
    parent_frame = inspect.currentframe().f_back

    def provide(cache, async_func, key):
        async def interface(*args):
            k = (key, args)
            if k in cache:
                print("hit", args)
                return cache[k]
            print("miss", args)
            cache[k] = await async_func(*args)
            return cache[k]
        return interface

    def impl(async_func):
        res = Injected.bind(provide, cache=ensure(cache), async_func=async_func, key=key)
        res.__is_async_function__ = True
        return update_if_registered(async_func, res, Some(BindMetadata(code_location=Some(get_code_location(parent_frame)))))
    return impl


def sync_cached(cache):
    def provide(cache, func):
        def interface(*args):
            if args not in cache:
                print("compute", args)
                cache[args] = func(*args)
            return cache[args]
        return interface

    def impl(func):
        res = Injected.bind(provide, cache=ensure(cache), func=ensure(func))
        return update_if_registered(func, res)
    return impl


@instance
def memory_cache():
    return {}
"""

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "caching_decorators_rebinding_the_key": ({**INIT, "app/caching.py": CACHING, "app/main.py": """
from pinjected import IProxy, design, injected
from app.caching import async_cached, sync_cached, memory_cache


@async_cached(injected("store"), "version")
@injected
async def a_fetch(prefix, /, x: int):
    print("fetch", x)
    return f"{prefix}{x}"


@sync_cached(memory_cache)
@injected
def square(scale, /, x):
    return x * x * scale


@injected
async def a_report(a_fetch, square, /, xs):
    out = []
    for x in xs:
        out.append(await a_fetch(x))
        out.append(square(x))
    return out


main: IProxy = a_report([1, 2, 1])
direct: IProxy = a_fetch(3)
__design__ = design(prefix="p", scale=2, version="v1", store=dict())
"""}, ["app.main.main", "app.main.direct"]),
    "decorator_arguments_are_proxies_and_dependents_in_another_module": ({
        **INIT, "app/caching.py": CACHING,
        "app/stores.py": """
from pinjected import injected


@injected
def named_store(stores, /, path):
    print("store for", path)
    return stores.setdefault(str(path), {})
""",
        "app/llm.py": """
from pinjected import injected
from app.caching import async_cached
from app.stores import named_store


@async_cached(named_store(injected("root") / "examples.sqlite"))
@injected
async def a_examples(a_llm, /, schema: str):
    return await a_llm(f"examples of {schema}")


@injected
async def a_llm(model, /, prompt):
    print("llm", model, prompt)
    return prompt.upper()
""",
        "app/main.py": """
from pathlib import Path
from pinjected import IProxy, design, injected
import app.llm  # pinjected binds a_examples once its module is imported


@injected
async def a_describe(a_examples, /, schemas):
    return [await a_examples(s) for s in schemas]


main: IProxy = a_describe(["a", "b", "a"])
__design__ = design(model="m1", stores=dict(), root=Path("/cache"))
""",
    }, ["app.main.main"]),
    "decorator_built_from_an_injected_decorator_factory": ({**INIT, "app/main.py": """
from pinjected import IProxy, Injected, design, injected
from pinjected.decoration import update_if_registered
from pinjected.di.injected import PartialInjectedFunction


def async_injected_decorator(decorator: PartialInjectedFunction):
    def decorator_impl(*args, **kwargs):
        deco_proxy = decorator(*args, **kwargs)

        def impl(func):
            proxy = deco_proxy(func)
            proxy.__is_async_function__ = True
            updated = Injected.ensure_injected(proxy)
            updated.__is_async_function__ = True
            return update_if_registered(func=func, updated=updated)
        return impl
    return decorator_impl


@async_injected_decorator
@injected
def counted(counter_name, /, cache: dict):
    def impl(a_func):
        async def wrapper(*args):
            print(counter_name, args)
            if args not in cache:
                cache[args] = await a_func(*args)
            return cache[args]
        return wrapper
    return impl


@injected
async def a_store():
    return {}


@counted(cache=a_store())
@injected
async def a_add(offset, /, a: int, b: int) -> int:
    print("add", a, b)
    return a + b + offset


@injected
async def a_sum_twice(a_add, /):
    return [await a_add(1, 2), await a_add(1, 2), await a_add(2, 3)]


main: IProxy = a_sum_twice()
direct: IProxy = a_add(0, 1)
__design__ = design(offset=10, counter_name="calls")
"""}, ["app.main.main", "app.main.direct"]),
    "batched_decorator_from_an_injected_factory_call": ({**INIT, "app/main.py": """
from pinjected import IProxy, Injected, design, injected
from pinjected.decoration import update_if_registered


@injected
def _batched(logger_name, /, cache: dict):
    def get_impl(func):
        async def impl(*items):
            missing = [i for i in items if i not in cache]
            print(logger_name, "missing", missing)
            if missing:
                for item, value in zip(missing, await func(*missing)):
                    cache[item] = value
            return [cache[i] for i in items]
        return impl
    return get_impl


def batched(cache):
    def impl(f):
        res = _batched(cache=cache)(f)
        res.__is_async_function__ = True
        return update_if_registered(Injected.ensure_injected(f), Injected.ensure_injected(res))
    return impl


@batched(cache=dict())
@injected
async def double_all(factor, /, *items):
    print("computing", items)
    return [i * factor for i in items]


@injected
async def a_run(double_all, /):
    first = await double_all(1, 2)
    return first + await double_all(2, 3)


main: IProxy = a_run()
direct: IProxy = double_all(4, 5)
__design__ = design(factor=2, logger_name="batch")
"""}, ["app.main.main", "app.main.direct"]),
    "decorator_applied_by_hand_to_a_partial_and_to_a_function": ({**INIT, "app/main.py": CACHING + """
from pinjected import IProxy, design


@injected
async def a_ask(prefix, /, text, model):
    print("ask", model, text)
    return f"{prefix}:{model}:{text}"


@injected
async def a_user(a_ask, /):
    return await a_ask("direct", model="m0")


a_cached_m1: IProxy = async_cached(injected("store"))(Injected.partial(a_ask, model="m1"))
main: IProxy = a_cached_m1("hi")
user: IProxy = a_user()
__design__ = design(prefix="p", store=dict())
"""}, ["app.main.main", "app.main.user"]),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_wrapping_decorator_behaves_as_under_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)

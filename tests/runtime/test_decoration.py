"""runtime/decoration.py and runtime/resolver.py: the counterparts decorators written for pinjected use."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import Ask, do, function_binding, pass_dependencies, run
from doeff_migrate.runtime.decoration import call_at_import, injected_of, injected_proxy, update_if_registered
from doeff_migrate.runtime.expressions import Expr, bind
from doeff_migrate.runtime.registry import _REGISTRY, registered_env
from doeff_migrate.runtime.resolver import AskResolver


@dataclass
class Greeter:
    _prefix: str
    name: str

    def hi(self):
        return f"{self._prefix} {self.name}"


@function_binding("decoration_test_a_hi")
@pass_dependencies(prefix=Ask)
async def a_hi(prefix, /, x):
    return prefix + x


ENV = {"prefix": "yo", "k": 5}


def test_injected_of_a_key_a_class_and_an_injected_function():
    assert run(injected_of("k"), env=ENV) == 5
    assert run(injected_of(Greeter)("amy").hi(), env=ENV) == "yo amy"
    assert run(injected_of(a_hi)("!"), env=ENV) == "yo!"  # the proxy of an async function awaits its calls
    with pytest.raises(TypeError, match="only a key, a class or a migrated injected function"):
        injected_of(3)


def test_async_mark_is_the_only_attribute_an_expression_takes():
    value = Expr(("leaf", 1))
    value.__is_async_function__ = True
    assert value.__is_async_function__ is True
    with pytest.raises(AttributeError, match="cannot set 'label'"):
        value.label = "x"
    assert value.eval() is value  # pinjected's Injected.eval() / DelegatedVar.eval() convert, here the same


def test_update_if_registered_rebinds_the_key_to_the_decorator_value():
    def provide(func):
        async def wrapped(x):
            return "cached " + await func(x)

        return wrapped

    proxy = injected_proxy(a_hi)
    updated = bind(provide, func=proxy)
    updated.__is_async_function__ = True
    returned = update_if_registered(proxy, updated, meta=object(), binding_key="decoration_test_a_hi")
    assert returned is updated
    assert _REGISTRY["decoration_test_a_hi"][1] == "instance"
    env = {**registered_env(), **ENV}
    assert run(returned("?"), env=env) == "cached yo?"

    @do
    def asks():
        fn = yield Ask("decoration_test_a_hi")
        return fn

    assert callable(run(asks(), env=env))


def test_call_at_import_decides_by_the_callee():
    assert call_at_import(len, [1, 2]) == 2  # a plain callable runs now, with what it is given
    assert isinstance(call_at_import(a_hi, "x"), Expr)  # an injected function's call is its IProxy


def test_resolver_resolves_keys_and_programs_on_the_run():
    @do
    def body():
        resolver = yield AskResolver("__resolver__")
        return resolver.to_blocking()["k"], resolver.to_blocking()[injected_of("prefix")]

    assert run(body(), env=ENV) == (5, "yo")
    with pytest.raises(TypeError, match="expected a key or an Injected/IProxy"):
        run(_resolve_plain(), env=ENV)


@do
def _resolve_plain():
    resolver = yield AskResolver("__resolver__")
    return resolver.to_blocking()[3]

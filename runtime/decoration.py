"""Decorators written for pinjected's ``@injected`` functions, on migrated functions.

Library code decorates injected functions with decorators of its own, above ``@injected``
(injected-utils' ``async_cached``, ``sync_cached``, ``async_batch_cached``). On pinjected 0.2.252 such a
decorator receives the function's IProxy (``PartialInjectedFunction``), builds an ``Injected`` over
it (``Injected.bind(provide_cached, func=func)``) and usually rebinds the function's key to that value
with ``pinjected.decoration.update_if_registered``, returning its proxy in place of the function.

The migrated function keeps its decorators, with :func:`injected_proxy` between them and the
migrated function::

    @async_cached(by_name("store"))          # the decorator, migrated itself (plain_programs)
    @injected_proxy                          # what pinjected hands a decorator above @injected
    @function_binding
    @pass_dependencies(prefix=Ask)
    async def a_fetch(prefix, /, x): ...

- :func:`injected_proxy` is the function's IProxy: a Program expression whose value is the function
  with its dependencies bound (``bound_dependency``), whose calls build expressions lazily and are
  awaited when the function is async, as pinjected's ``PartialInjectedFunction`` is;
- :func:`update_if_registered` is pinjected's: it binds the function's key to the value the
  decorator built (a program, evaluated once per run like pinjected's ``BindInjected``) and returns
  that value as an expression. pinjected's ``meta`` (IDE code locations) is accepted and ignored.

A dependency bound through such a decorator is asked as a callable (``AskFunction`` /
``AskAsyncFunction``): its value is whatever the decorator's provider returns, not a ``@do`` function.
"""

from __future__ import annotations

import inspect
from typing import Any

from .expressions import Expr, _is_program
from .registry import _REGISTRY, is_do_function, register_provider

__all__ = ["InjectedFunctionProxy", "call_at_import", "injected_of", "injected_proxy", "update_if_registered"]


class InjectedFunctionProxy(Expr):
    """The IProxy of a migrated injected function (pinjected's ``PartialInjectedFunction``)."""

    __slots__ = ("__doeff_function__",)

    def __init__(self, function: Any) -> None:
        from .dependencies import bound_dependency

        super().__init__(("leaf", bound_dependency(function)))
        object.__setattr__(self, "__doeff_function__", function)
        # pinjected marks the proxy of an ``async def`` (partially_injected.py): its calls are awaited.
        object.__setattr__(self, "__doeff_awaits__", _is_async(function))

    def __repr__(self) -> str:
        return f"injected_proxy({getattr(self.__doeff_function__, '__name__', self.__doeff_function__)!r})"


def _is_async(function: Any) -> bool:
    dependent = getattr(function, "__doeff_dependencies__", None)
    target = dependent[1] if dependent is not None else function
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(inspect.unwrap(target))


def injected_proxy(function: Any) -> InjectedFunctionProxy:
    """The migrated injected ``function`` as the decorators above ``@injected`` receive it."""
    if not is_do_function(function):
        raise TypeError(f"@injected_proxy goes above a migrated injected function (@function_binding): got {function!r}")
    return InjectedFunctionProxy(function)


def update_if_registered(func: Any, updated: Any, meta: Any = None, binding_key: str | None = None) -> Any:
    """``pinjected.decoration.update_if_registered``: bind the key of the injected function ``func`` to
    ``updated`` (a program: an ``Injected`` built by the decorator) and return ``updated`` as an
    expression (pinjected returns ``updated.proxy``). For anything that is not an injected function,
    pinjected binds nothing and returns the proxy of ``updated``; so does this."""
    del meta  # pinjected's binding metadata (code locations for its IDE tools)
    value = updated if isinstance(updated, Expr) else Expr(("leaf", updated))
    function = func.__doeff_function__ if isinstance(func, InjectedFunctionProxy) else func
    if is_do_function(function):
        key = binding_key or function.__name__
        module = getattr(function, "__module__", "")
        registered = _REGISTRY.get(key)
        if registered is not None:
            module = registered[0]
        program = value
        register_provider(key, module, lambda: program)
    elif not _is_program(updated):
        raise TypeError(f"update_if_registered: not an injected value: {updated!r}")
    return value


def injected_of(target: Any) -> Expr:
    """``pinjected.injected(x)`` of a value known only at run time: a key (``str``) is the value bound to
    it, a migrated injected function its IProxy (:func:`injected_proxy`), a class its constructor with
    the dependencies injected (``class_constructor``, as ``injected(C)``). Anything else has no
    counterpart decided at run time: an error rather than a guess."""
    from .classes import class_constructor
    from .expressions import by_name, expr

    if isinstance(target, str):
        return by_name(target)
    if is_do_function(target):
        return injected_proxy(target)
    if isinstance(target, type):
        return expr(class_constructor(target))
    raise TypeError(f"injected({target!r}): only a key, a class or a migrated injected function has a counterpart at run time")


def call_at_import(function: Any, *args: Any, **kwargs: Any) -> Any:
    """A call pinjected makes when the module is imported, of a function of another package given
    IProxy arguments (``async_cached(sqlite_dict(injected("root") / "x"))``): the codemod cannot see
    which kind of function it is, so this decides when it runs. A migrated injected function's call is
    its IProxy (an expression of the call, evaluated when run, its arguments resolved); any other
    callable is called now with the proxy objects, as pinjected does."""
    if is_do_function(function):
        from .expressions import expr

        return expr(function)(*args, **kwargs)
    return function(*args, **kwargs)

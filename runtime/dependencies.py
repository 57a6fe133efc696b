"""Dependencies as pinjected handed them over: plain callables bound to the running program.

pinjected passes an injected-function dependency to a body as a plain callable (its dependencies
already resolved); the body may call it anywhere: in a comprehension, a lambda, a closure it returns,
a callback, ``functools.partial``. A migrated body asks for such a dependency with one of:

``f = yield AskFunction("f")``
    A plain callable. Calling it runs the dependency's program to completion on the same run
    (``run_reentrant``): its ``Ask``s see the same env and singletons, its effects reach the same
    handlers (recording and replay see them), and other tasks progress while it blocks.
``a_f = yield AskAsyncFunction("a_f")``
    The same for an async dependency: a callable whose call returns a coroutine that runs the
    program on the run (``arun_reentrant``), for bodies kept as a coroutine run through ``Await``.

Whatever the key is bound to decides the callable, so keys bound to an injected function in one
design and to a plain value in another keep working (pinjected-semantics.md §4.4 item 7):

* a migrated ``@do`` function: the re-entrant callable above;
* a function built by :func:`pass_dependencies` (generators, context managers, functions under other
  decorators): its dependencies are asked now, as pinjected resolved them, and the original function
  is returned with them bound, exactly pinjected's partially applied function;
* any other function (a lambda or plain function in a design): itself, except that a
  :class:`Program` it returns is run on the run; a callable object (a bridged pinjected function, a
  model with ``__call__``) likewise, keeping its attributes and class;
* anything else (a plain value): itself.

``yield call_dependency(f, *args)`` is the statement-level form for a key whose binding may be a
plain value or a program-returning function: it yields the program, or returns the plain result.

A sync dependency called inside an async body kept as a coroutine blocks the event loop until its
program has run, as the pinjected call did; such a program cannot itself ``Await`` (it would wait
for the loop it blocks), so that ``Await`` raises ``ReentrantAwaitError`` naming the dependency. In
pinjected every dependency is resolved before a body runs, so a sync dependency's program has nothing
left to await; the runner does the same by building the entry point's instances first. Under
``--lazy`` an async ``@instance`` may still be unbuilt when the call needs it: the error says to run
without ``--lazy`` (building it on another event loop would not be faithful: async instances share
the runtime's loop, e.g. a client session bound to it).

A callable handed over is bound to its run: called after that run ended, it raises
``ReentrantCallError`` naming the dependency rather than run on the finished run's handlers (see
``classes.py`` for why objects holding dependencies follow the same rule).

What a handler sees: a re-entrant call's effects are performed from the caller's step, so the
handlers installed around the caller answer them, in the order the body makes the calls. A
re-entrant call may not be made outside a run (``ReentrantCallError``, raised by the interpreter):
keep the callable inside the run that asked for it, not in a value that outlives it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .effects import Ask, Await
from .program import DoFunction, Program, do
from .registry import is_do_function

__all__ = ["AskFunction", "AskAsyncFunction", "pass_dependencies", "call_dependency", "bound_dependency"]


def _is_program(value: Any) -> bool:
    return isinstance(value, Program) or getattr(value, "_kind", None) == 0  # programs and effects


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


def _bound_do_function(fn: Any, asynchronous: bool, bound_to: Any) -> Callable[..., Any]:
    from .interpreter import arun_reentrant, run_reentrant

    name = _name(fn)
    if asynchronous:
        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await arun_reentrant(fn(*args, **kwargs), name, bound_to)

        return call_async

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        # Also from a coroutine the run awaits (an async body kept as a coroutine): run_reentrant
        # hands the program to the run and blocks the event loop until it has run.
        return run_reentrant(fn(*args, **kwargs), name, bound_to)

    return call


def _bound_plain(fn: Any, asynchronous: bool, bound_to: Any) -> Callable[..., Any]:
    from .interpreter import arun_reentrant, run_reentrant

    name = _name(fn)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if _is_program(result):
            runner = arun_reentrant if asynchronous else run_reentrant
            return runner(result, name, bound_to)
        return result

    return call


def _is_function(value: Any) -> bool:
    return inspect.isroutine(value) or isinstance(value, functools.partial)


class _BoundCallableObject:
    """A callable object that is not a function (a bridged pinjected function, a model with
    ``__call__``): its calls go through ``call`` (a program result runs on the run); everything else
    (attributes, methods, ``isinstance``) is the object's own."""

    __slots__ = ("_target", "_call")

    def __init__(self, target: Any, call: Callable[..., Any]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_call", call)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the object's class
        return type(self._target)

    def __repr__(self) -> str:
        return repr(self._target)


@do
def bound_dependency(value: Any, asynchronous: bool = False):
    """The callable a body receives for a dependency bound to ``value`` (see the module docstring)."""
    from .interpreter import current_run

    dependent = getattr(value, "__doeff_dependencies__", None)
    if dependent is not None:
        asks, impl = dependent
        resolved = []
        for key, ask in asks.items():
            resolved.append((yield ask(key)))
        return functools.partial(impl, *resolved)
    if is_do_function(value):
        return _bound_do_function(value, asynchronous, current_run())
    if _is_function(value):
        return _bound_plain(value, asynchronous, current_run())
    if callable(value) and not isinstance(value, type):
        return _BoundCallableObject(value, _bound_plain(value, asynchronous, current_run()))
    return value


@do
def AskFunction(key: str):  # noqa: N802 - reads like the effect it stands for
    """``f = yield AskFunction("f")``: the dependency ``f`` as a plain callable bound to this run."""
    value = yield Ask(key)
    return (yield bound_dependency(value))


@do
def AskAsyncFunction(key: str):  # noqa: N802 - reads like the effect it stands for
    """``a_f = yield AskAsyncFunction("a_f")``: the async dependency ``a_f`` as a coroutine function
    whose calls run its program on this run."""
    value = yield Ask(key)
    return (yield bound_dependency(value, asynchronous=True))


@do
def call_dependency(fn: Any, *args: Any, **kwargs: Any):
    """``yield call_dependency(f, x)``: call a dependency whose binding may be a program-returning
    function or a plain callable; a program is run, a plain result returned as it is."""
    result = fn(*args, **kwargs)
    if _is_program(result):
        return (yield result)
    return result


def _returns_coroutine(impl: Callable[..., Any]) -> bool:
    """Whether calling ``impl`` gives a coroutine: an ``async def``, or a wrapper around one."""
    return inspect.iscoroutinefunction(impl) or inspect.iscoroutinefunction(inspect.unwrap(impl))


def pass_dependencies(**asks: Callable[[str], Any]) -> Callable[[Callable[..., Any]], DoFunction]:
    """``@pass_dependencies(logger=Ask, step=AskFunction)`` above a function written as for pinjected.

    The result is a ``@do`` function: its program asks each key with the given ask (in parameter order)
    and calls the decorated function with the values as leading positional arguments, then the call's
    own arguments bound to the signature with its defaults filled in: pinjected's calling convention, which decorators stacked under ``@injected`` /
    ``@instance`` (``functools.wraps`` loggers, retries, type checks) rely on. The function is called
    as it is: a generator function gives its generator, an ``@asynccontextmanager`` its context
    manager, an ``async def`` its coroutine, which the program awaits (``Await``) as pinjected did.
    """
    from .resolver import AskResolver

    for key, ask in asks.items():
        if ask not in (Ask, AskFunction, AskAsyncFunction, AskResolver):
            raise TypeError(f"pass_dependencies({key}=...): expected Ask, AskFunction, AskAsyncFunction or AskResolver, got {ask!r}")

    def decorate(impl: Callable[..., Any]) -> DoFunction:
        awaited = _returns_coroutine(impl)
        try:
            signature: inspect.Signature | None = inspect.signature(impl)  # the original's, through wraps
        except (TypeError, ValueError):
            signature = None

        def program(*args: Any, **kwargs: Any):
            resolved = []
            for key, ask in asks.items():
                resolved.append((yield ask(key)))
            if signature is None:
                result = impl(*resolved, *args, **kwargs)
            else:
                # pinjected binds the call to the signature with the defaults filled in: a wrapper
                # sees every positional parameter positionally and keyword-only ones as keywords.
                bound = signature.bind(*resolved, *args, **kwargs)
                bound.apply_defaults()
                result = impl(*bound.args, **bound.kwargs)
            if awaited:
                result = yield Await(result)
            return result

        functools.update_wrapper(program, impl)
        del program.__wrapped__  # the @do function is the program, not the decorated original
        fn = DoFunction(program)
        fn.__doeff_dependencies__ = (dict(asks), impl)
        return fn

    return decorate

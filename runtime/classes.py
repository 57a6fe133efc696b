"""Class injection: pinjected's ``injected(C)`` / ``@injected class C`` / key ``new_C`` on the runtime.

pinjected-semantics.md C4 and §4.4 item 3. ``injected(C)`` applies the ``@injected`` dependency rule
to the constructor's signature: a positional-only parameter is a dependency (key = its name), and so is
a parameter named ``_x`` (key ``x``; ``__x`` keeps its full name); for a dataclass these are the
fields. Resolving it gives a constructor taking only the other parameters, and pinjected binds it
under ``new_<ClassName>`` once ``injected(C)`` was evaluated. Migrated code keeps the class as it was
and writes::

    @class_binding(awaited=("a_fetch",))      # was: @injected on the class
    @dataclass
    class Client:
        _a_fetch: Callable
        name: str

    __design__ = {"new_Builder": class_constructor(Builder)}   # was: new_Builder=injected(Builder)

The constructor is an env entry built once per run (a program): it asks for the dependencies and
returns a plain callable building instances with them. Methods keep calling ``self._dep(...)``:
a dependency that is a migrated injected function (a ``@do`` function, which returns a program) is
handed over as a plain callable bound to the run that built the constructor, as pinjected handed over
the function with its own dependencies bound. Calling it runs the dependency's program to completion
under the handlers the constructor was built under (the same env objects, so the same singletons;
the same recording handlers) on a nested interpreter loop; dependencies listed in ``awaited`` were
``async`` functions, and become coroutine functions whose call runs the program on a worker thread.

What a handler sees: every handler of the chain the constructor was built under gets the effects of
the dependency's program (the same handler objects; a generator handler gets a continuation of the
nested loop). What a bound call may not do: its loop is its own, so tasks it spawns are its own and
tasks of the calling run do not progress while a *sync* bound call blocks; and a sync bound call made
from a coroutine running on the runtime's event loop (an ``async`` method under ``Await``) may not
``Await`` (that loop is the one it blocks): it raises :class:`ReentrantAwaitError` instead of hanging.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
from typing import Any, Callable, Iterable

from .effects import Ask, Await
from .handlers import NativeHandler, _Preactivated
from .interpreter import _drive as _interpreter_loop
from .interpreter import background_loop
from .program import DoFunction, Program, WithHandler, do
from .registry import is_do_function, register_provider
from .run import run


def dependency_key(param_name: str) -> str:
    """``_x`` -> ``x``; ``__x`` and plain names stay (the ``@injected`` rule, semantics trap 4)."""
    if param_name.startswith("_") and not param_name.startswith("__"):
        return param_name[1:]
    return param_name


def class_dependencies(cls: Any) -> list[tuple[str, str]]:
    """(parameter name, key) of the constructor's (or function's) dependencies, in signature order."""
    found = []
    for p in inspect.signature(cls).parameters.values():
        if p.kind is p.POSITIONAL_ONLY or (p.name.startswith("_") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)):
            found.append((p.name, dependency_key(p.name)))
    return found


def _handler_chain() -> list:
    """The handlers of the running program's current segment, innermost first ([] outside a run)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _interpreter_loop.__code__:
        frame = frame.f_back
    if frame is None:
        return []
    chain = []
    seg = frame.f_locals.get("seg")
    while seg is not None:
        if seg.handler is not None:
            chain.append(seg.handler)
        seg = seg.parent
    return chain


def _under(chain: list, program: Any) -> Any:
    for active in chain:  # innermost first, so it ends up innermost again
        program = WithHandler(_Preactivated(active), program)
    return program


class ReentrantAwaitError(RuntimeError):
    """A dependency called as a plain function from a coroutine the runtime is awaiting needs to
    ``Await`` itself: the event loop that would run it is the one blocked in the call."""


class _RefuseAwait(NativeHandler):
    """Innermost for a plain call made on the runtime's event loop: an ``Await`` there would wait for
    the loop it blocks (a hang); it fails with a clear error instead."""

    types = (Await,)
    name = "refuse_await_on_the_loop"

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def handle(self, effect: Any, segment: Any) -> Any:
        close = getattr(effect.coroutine, "close", None)
        if close is not None:
            close()  # never run: no "never awaited" warning on top of the error
        raise ReentrantAwaitError(
            f"{getattr(self.fn, '__name__', self.fn)!r} was called without await from a coroutine running on the "
            "runtime's event loop, and its program awaits (e.g. an async instance built on first use): make that "
            "dependency async in the class, or build what it awaits before the coroutine runs"
        )


def _on_the_await_loop() -> bool:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return loop is background_loop()


def bind_to_run(fn: Any, chain: list, *, awaited: bool = False) -> Any:
    """``fn`` as pinjected handed it to a constructor: a ``@do`` function becomes a plain callable
    (a coroutine function when ``awaited``) running its program under ``chain``; anything else stays."""
    if not is_do_function(fn):
        return fn

    def call(*args: Any, **kwargs: Any) -> Any:
        program = fn(*args, **kwargs)
        if _on_the_await_loop():
            program = WithHandler(_RefuseAwait(fn), program)
        return run(_under(chain, program))

    if awaited:

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            # On a worker thread: the caller's event loop (the runtime's own, under ``Await``) stays
            # free for the coroutines the dependency's program awaits.
            return await asyncio.to_thread(call, *args, **kwargs)

        functools.update_wrapper(call_async, fn.func if isinstance(fn, DoFunction) else fn)
        return call_async
    functools.update_wrapper(call, fn.func if isinstance(fn, DoFunction) else fn)
    return call


class BoundConstructor:
    """``new_C``: ``C`` with its dependencies given; called with the other constructor arguments."""

    def __init__(self, cls: Any, deps: dict[str, Any]) -> None:
        self.cls = cls
        self.deps = deps  # parameter name -> value
        params = [p for p in inspect.signature(cls).parameters.values() if p.name not in deps]
        self.signature = inspect.Signature(params)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = self.signature.bind(*args, **kwargs).arguments
        positional: list = []
        keyword: dict = {}
        by_position = True
        for p in inspect.signature(self.cls).parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                if by_position:
                    positional.extend(given.get(p.name, ()))
                continue
            if p.kind is p.VAR_KEYWORD:
                keyword.update(given.get(p.name, {}))
                continue
            if p.name in self.deps:
                value, present = self.deps[p.name], True
            else:
                present = p.name in given
                value = given.get(p.name)
            if not present:
                by_position = False  # its default applies: what follows goes by keyword
                continue
            if p.kind is p.POSITIONAL_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and by_position):
                positional.append(value)
            else:
                keyword[p.name] = value
        return self.cls(*positional, **keyword)

    def __repr__(self) -> str:
        return f"new_{getattr(self.cls, '__name__', self.cls)}{self.signature}"


def class_constructor(cls: type, awaited: Iterable[str] = ()) -> Any:
    """The program building ``new_<cls>`` (``injected(cls)``); registers the key, as pinjected does
    once ``injected(cls)`` is evaluated. ``awaited``: dependency keys bound to ``async`` functions."""
    awaited = tuple(awaited)
    register_provider(f"new_{cls.__name__}", cls.__module__, lambda: _construct(cls, awaited))
    return _construct(cls, awaited)


@do
def _construct(cls: type, awaited: tuple):
    deps: dict[str, Any] = {}
    for name, key in class_dependencies(cls):
        deps[name] = yield Ask(key)
    chain = _handler_chain()
    deps = {name: bind_to_run(value, chain, awaited=dependency_key(name) in awaited) for name, value in deps.items()}
    return BoundConstructor(cls, deps)


def injected_function(fn: Callable[..., Any], awaited: Iterable[str] = ()) -> Any:
    """``injected(f)`` of a plain callable or a class, called: ``f`` as an ``@injected`` function.

    Its dependencies follow the ``@injected`` rule (bound to the run as a constructor's are); a call
    is a program, as the IProxy call was: its program arguments are run first, left to right
    (pinjected resolves IProxy arguments), and an awaitable result is awaited (pinjected auto-awaits
    async calls in an IProxy expression).
    """
    deps = class_dependencies(fn)
    awaited = tuple(awaited)

    @do
    def call(*args: Any, **kwargs: Any):
        given = {}
        for name, key in deps:
            given[name] = yield Ask(key)
        chain = _handler_chain()
        given = {name: bind_to_run(v, chain, awaited=dependency_key(name) in awaited) for name, v in given.items()}
        values = []
        for arg in args:
            values.append((yield arg) if isinstance(arg, Program) else arg)
        named = {}
        for name, arg in kwargs.items():
            named[name] = (yield arg) if isinstance(arg, Program) else arg
        result = BoundConstructor(fn, given)(*values, **named)
        if inspect.isawaitable(result):
            result = yield Await(result)
        return result

    call.__name__ = getattr(fn, "__name__", "injected_function")
    return call


def class_binding(cls: Any = None, *, awaited: Iterable[str] = ()) -> Any:
    """``@injected`` on a class: binds ``new_<cls>``; the class itself stays as it is."""
    if cls is None:
        return lambda c: class_binding(c, awaited=awaited)
    if not isinstance(cls, type):
        raise TypeError(f"@class_binding goes on a class, got {cls!r}")
    class_constructor(cls, awaited)
    return cls


__all__ = ["ReentrantAwaitError", "class_binding", "class_constructor", "injected_function", "class_dependencies", "bind_to_run", "BoundConstructor"]

"""Class injection: pinjected's ``injected(C)`` / ``@injected class C`` / key ``new_C`` on the runtime.

``injected(C)`` applies the ``@injected`` dependency rule
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
returns a plain callable building instances with them. Methods keep calling ``self._dep(...)``: each
dependency is handed over as ``AskFunction`` hands it to a function body (``dependencies.py``), as
pinjected handed over the function with its own dependencies bound. A migrated injected function (a
``@do`` function) becomes a plain callable whose call runs its program to completion on the run
(``interpreter.run_reentrant``): the same env and singletons, the handlers around the caller, and
the other tasks of the run progress while it blocks. Dependencies listed in ``awaited`` were
``async`` functions, and become coroutine functions whose call runs the program on the run
(``arun_reentrant``). A sync dependency called from a coroutine on the runtime's event loop (an
``async`` method under ``Await``) blocks that loop, so its program may not ``Await`` through it:
``ReentrantAwaitError`` instead of a hang.

After the run: a pinjected object keeps working once resolved, since its dependencies are plain
functions with nothing left to resolve. A migrated dependency's calls are effects that need a run
(its env, singletons, recording and scheduler), and migrated code has no "after resolution": every
object lives inside the program that asked for it (direct resolver calls such as ``provide`` stay
flagged). So a method calling a dependency after the run that built the object ended raises
``ReentrantCallError`` naming the dependency, instead of running on stale handlers (whose recording
has been written, whose tasks are cancelled).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

from .dependencies import bound_dependency
from .effects import Ask, Await
from .errors import ReentrantAwaitError
from .program import Program, do
from .registry import register_provider


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


@do
def _ask_dependencies(deps: list, awaited: tuple):
    """parameter name -> the dependency as the body receives it (``AskFunction``/``AskAsyncFunction``)."""
    given: dict[str, Any] = {}
    for name, key in deps:
        given[name] = yield bound_dependency((yield Ask(key)), key in awaited)
    return given


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
    return BoundConstructor(cls, (yield _ask_dependencies(class_dependencies(cls), awaited)))


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
        given = yield _ask_dependencies(deps, awaited)
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


__all__ = ["ReentrantAwaitError", "class_binding", "class_constructor", "injected_function", "class_dependencies", "BoundConstructor"]

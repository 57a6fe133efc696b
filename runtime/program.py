"""Program nodes: what a ``@do`` body may yield besides effects.

A program is lazy and immutable: calling a ``@do`` function builds a :class:`Call` node and runs
nothing; the interpreter (``interpreter.py``) runs it, as often as it is asked to. Every node carries
a small integer ``_kind`` so the interpreter dispatches on one attribute read instead of a chain of
``isinstance`` checks. The control nodes (``Resume``, ``Transfer``, ...) are only meaningful inside
a handler body.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Generator, Generic, TypeVar

T = TypeVar("T")

# Node kinds, read by the interpreter's dispatch. Effects are kind 0 (see effects.py).
K_EFFECT = 0
K_CALL = 1
K_CALL_PLAIN = 2
K_PURE = 3
K_WITH_HANDLER = 4
K_RESUME = 5
K_TRANSFER = 6
K_RESUME_THROW = 7
K_TRANSFER_THROW = 8
K_PASS = 9
K_BOUNDARY = 10  # the bottom frame of a re-entrant call (stack.Boundary)
K_RETURNED = 11  # a runner's program returned (stack.Returned)
K_REDIRECT = 12  # go on answering an effect from a native handler's PASS or AtSite (interpreter.Redirect)
K_GO_ON = 13  # go on from where a generator handler's first step, run by a native handler, went (interpreter.GoOn)
K_OTHER = -1  # what the interpreter takes anything without a ``_kind`` for

EffectGenerator = Generator[Any, Any, T]


class Program(Generic[T]):
    """Base of everything that can be run or yielded: program nodes and effects."""

    __slots__ = ()
    _kind = -1

    def __iter__(self):
        # ``value = yield from program`` (doeff's typed form) is the same as ``value = yield program``.
        return (yield self)


def _make_call(function: "DoFunction", args: tuple, kwargs: dict) -> "Call":
    return function(*args, **kwargs)


class Call(functools.partial, Program):
    """A call of a ``@do`` function with its arguments; running it runs the function's body.

    A ``functools.partial`` of the undecorated function: building one (on every call of a ``@do``
    function) and starting it are C-level operations, which keeps nested calls cheap.
    """

    _kind = K_CALL

    @property
    def function(self) -> "DoFunction":
        return self.func.__doeff_do__

    @property
    def kwargs(self) -> dict:
        return self.keywords

    def __repr__(self) -> str:
        return f"<program {self.func.__qualname__}(...)>"

    def __reduce__(self):
        fn = self.func
        if "<locals>" in fn.__qualname__ or fn.__module__ == "__main__":
            # Not importable by name: let (cloud)pickle carry the function by value.
            return functools.partial.__reduce__(self)
        return (_make_call, (_lookup(fn.__module__, fn.__qualname__), self.args, self.keywords))


class PlainCall(Call):
    """A call of a ``@do`` function written without ``yield``: its return value is the program's."""

    _kind = K_CALL_PLAIN


class Pure(Program[T]):
    """A program that returns ``value`` without doing anything."""

    __slots__ = ("value",)
    _kind = K_PURE

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Pure({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Pure and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Pure", id(self.value)))


class WithHandler(Program[T]):
    """Runs ``program`` with ``handler`` installed (innermost). Built by calling an installer."""

    __slots__ = ("handler", "program")
    _kind = K_WITH_HANDLER

    def __init__(self, handler: Any, program: Program[T]) -> None:
        self.handler = handler
        self.program = program

    def __repr__(self) -> str:
        return f"WithHandler({getattr(self.handler, 'name', self.handler)!r}, {self.program!r})"


class Resume:
    """``Resume(k, value)``: answer the effect; the handler gets back the handled block's final value."""

    __slots__ = ("k", "value")
    _kind = K_RESUME

    def __init__(self, k: Any, value: Any) -> None:
        self.k = k
        self.value = value


class Transfer:
    """``Transfer(k, value)``: answer the effect in tail position; the handler does not regain control."""

    __slots__ = ("k", "value")
    _kind = K_TRANSFER

    def __init__(self, k: Any, value: Any) -> None:
        self.k = k
        self.value = value


class ResumeThrow:
    """``ResumeThrow(k, exception)``: raise at the program's ``yield``; the handler gets the block's result."""

    __slots__ = ("k", "value")
    _kind = K_RESUME_THROW

    def __init__(self, k: Any, exception: BaseException) -> None:
        self.k = k
        self.value = exception


class TransferThrow:
    """``TransferThrow(k, exception)``: raise at the program's ``yield``, in tail position."""

    __slots__ = ("k", "value")
    _kind = K_TRANSFER_THROW

    def __init__(self, k: Any, exception: BaseException) -> None:
        self.k = k
        self.value = exception


class Pass:
    """Forward ``effect`` to the next outer handler. Terminal: the handler does not regain control."""

    __slots__ = ("effect", "k")
    _kind = K_PASS

    def __init__(self, effect: Any, k: Any) -> None:
        self.effect = effect
        self.k = k


def _lookup(module: str, qualname: str) -> Any:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class DoFunction(functools.partial):
    """What ``@do`` returns: calling it builds a lazy :class:`Call` program (a C-level partial)."""

    def __new__(cls, fn: Callable[..., Any]) -> "DoFunction":
        call_type = Call if inspect.isgeneratorfunction(fn) else PlainCall
        self = super().__new__(cls, call_type, fn)
        functools.update_wrapper(self, fn)
        fn.__doeff_do__ = self
        return self

    @property
    def _fn(self) -> Callable[..., Any]:
        return self.args[0]

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<do function {self.__module__}.{self.__qualname__}>"

    def __reduce__(self):
        fn = self.args[0]
        if "<locals>" in fn.__qualname__ or fn.__module__ == "__main__":
            return (DoFunction, (fn,))
        # Pickled by reference: the module attribute is this wrapper, not the generator function.
        return (_lookup, (self.__module__, self.__qualname__))


def do(fn: Callable[..., Any] | None = None, *, non_tail: bool = False) -> Any:
    """Turn a generator function (or a plain function) into a function returning a lazy program.

    ``yield effect`` and ``yield program`` both evaluate to the answer. ``async def`` is refused:
    inside a program, await a coroutine with ``yield Await(coro)``.
    """
    if fn is None:
        return lambda f: do(f, non_tail=non_tail)
    if isinstance(fn, DoFunction):
        return fn
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(
            f"@do cannot decorate async function {fn.__qualname__!r}: programs are generators. "
            "Write it as a plain `def` and await coroutines with `value = yield Await(coro)`."
        )
    if not callable(fn):
        raise TypeError(f"@do expects a function, got {fn!r}")
    return DoFunction(fn)

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

EffectGenerator = Generator[Any, Any, T]


class Program(Generic[T]):
    """Base of everything that can be run or yielded: program nodes and effects."""

    __slots__ = ()
    _kind = -1

    def __iter__(self):
        # ``value = yield from program`` (doeff's typed form) is the same as ``value = yield program``.
        return (yield self)


class Call(Program[T]):
    """A call of a ``@do`` function with its arguments; running it runs the function's body."""

    __slots__ = ("_kind", "function", "args", "kwargs")

    def __init__(self, function: "DoFunction", args: tuple, kwargs: dict) -> None:
        self._kind = function._call_kind
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"<program {self.function.__qualname__}(...)>"

    def __reduce__(self):
        return (Call, (self.function, self.args, self.kwargs))


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
    """Answer the effect with ``value``; the handler gets back the handled block's final value."""

    __slots__ = ("k", "value")
    _kind = K_RESUME

    def __init__(self, k: Any, value: Any) -> None:
        self.k = k
        self.value = value


class Transfer:
    """Answer the effect with ``value`` in tail position: the handler does not regain control."""

    __slots__ = ("k", "value")
    _kind = K_TRANSFER

    def __init__(self, k: Any, value: Any) -> None:
        self.k = k
        self.value = value


class ResumeThrow:
    """Raise ``exception`` at the program's ``yield``; the handler gets the block's result back."""

    __slots__ = ("k", "value")
    _kind = K_RESUME_THROW

    def __init__(self, k: Any, exception: BaseException) -> None:
        self.k = k
        self.value = exception


class TransferThrow:
    """Raise ``exception`` at the program's ``yield``, in tail position."""

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


class DoFunction:
    """What ``@do`` returns: calling it builds a lazy :class:`Call` program."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self.__wrapped__ = fn
        self._fn = fn
        self._call_kind = K_CALL if inspect.isgeneratorfunction(fn) else K_CALL_PLAIN

    def __call__(self, *args: Any, **kwargs: Any) -> Call:
        return Call(self, args, kwargs)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<do function {self.__module__}.{self.__qualname__}>"

    def __reduce__(self):
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

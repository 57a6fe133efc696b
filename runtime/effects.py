"""Effects: values a program yields for a handler to answer.

User effects subclass :class:`EffectBase` (doeff's convention is a frozen dataclass:
``@dataclass(frozen=True) class LoadCheckpoint(EffectBase[Model]): path: str``). The standard effects
below keep doeff 0.8.0's names and fields; they are plain slotted classes because programs build one
per ``yield`` and construction is on the hot path.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .program import K_EFFECT, Program  # noqa: F401 - Program is named in annotations

T = TypeVar("T")

__all__ = [
    "EffectBase",
    "Effect",
    "Ask",
    "Local",
    "Get",
    "Put",
    "Tell",
    "WriterTellEffect",
    "Try",
    "Spawn",
    "Wait",
    "Gather",
    "Race",
    "Await",
    "RunInThread",
    "CreateExternalPromise",
    "CacheGet",
    "CachePut",
    "Listen",
]


class EffectBase(Generic[T]):
    """Base class of all effects. ``EffectBase[T]``: ``T`` is the answer's type (static typing only).

    As in doeff, an effect is not a :class:`Program`, but it is accepted wherever a program is
    (``run(reader(env)(Ask("x")))``) and yielding either binds the answer.
    """

    __slots__ = ()
    _kind = K_EFFECT

    def __iter__(self):
        # ``value = yield from effect`` is the same as ``value = yield effect``.
        return (yield self)


Effect = EffectBase


class _Simple(EffectBase[Any]):
    """Slotted effect with value equality, a ``repr`` and pickling over its fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(repr(getattr(self, f)) for f in self._fields)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields
        )

    def __hash__(self) -> int:
        try:
            return hash((type(self).__name__, *(getattr(self, f) for f in self._fields)))
        except TypeError:
            return hash((type(self).__name__, id(self)))

    def __reduce__(self):
        return (type(self), tuple(getattr(self, f) for f in self._fields))


class Ask(_Simple):
    """Ask the environment for the value bound to ``key``."""

    __slots__ = ("key",)
    _fields = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


class Local(_Simple):
    """Run ``program`` with the keys of ``env`` overridden; other keys come from the outer env."""

    __slots__ = ("env", "program")
    _fields = ("env", "program")

    def __init__(self, env: dict, program: Program[Any]) -> None:
        self.env = env
        self.program = program


class Get(_Simple):
    """Read ``key`` from the state (``None`` when it was never put)."""

    __slots__ = ("key",)
    _fields = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


class Put(_Simple):
    """Store ``value`` under ``key`` in the state."""

    __slots__ = ("key", "value")
    _fields = ("key", "value")

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value


class WriterTellEffect(_Simple):
    """Append ``msg`` to the writer log (built by ``Tell(msg)``, as in doeff)."""

    __slots__ = ("msg",)
    _fields = ("msg",)

    def __init__(self, msg: Any) -> None:
        self.msg = msg


Tell = WriterTellEffect


class Listen(_Simple):
    """Run ``program`` and answer ``(value, [effects of the given types it performed])``."""

    __slots__ = ("program", "types")
    _fields = ("program", "types")

    def __init__(self, program: Program[Any], types: tuple | None = None) -> None:
        self.program = program
        self.types = types if types is not None else (WriterTellEffect,)


class Try(_Simple):
    """Run ``program``; answer ``Ok(value)`` or ``Err(exception)`` instead of raising."""

    __slots__ = ("program",)
    _fields = ("program",)

    def __init__(self, program: Program[Any]) -> None:
        self.program = program


PRIORITY_NORMAL = 10


class Spawn(_Simple):
    """Start ``program`` as a concurrent task; answer its :class:`~doeff_migrate.runtime.Task`.

    ``options`` are passed to the handler that runs the task (e.g. ``num_gpus`` for Ray).
    """

    __slots__ = ("program", "priority", "daemon", "options")
    _fields = ("program", "priority", "daemon", "options")

    def __init__(
        self,
        program: Program[Any],
        priority: int = PRIORITY_NORMAL,
        daemon: bool = False,
        options: dict | None = None,
        **more_options: Any,
    ) -> None:
        self.program = program
        self.priority = priority
        self.daemon = daemon
        self.options = {**(options or {}), **more_options}


class Wait(_Simple):
    """Wait for a task or future; answer its value (or raise its exception)."""

    __slots__ = ("task",)
    _fields = ("task",)

    def __init__(self, task: Any, priority: int | None = None) -> None:
        self.task = task


class Gather(_Simple):
    """Wait for all tasks; answer the list of their values in order."""

    __slots__ = ("tasks",)
    _fields = ("tasks",)

    def __init__(self, *tasks: Any) -> None:
        self.tasks = tasks

    def __reduce__(self):
        return (Gather, self.tasks)


class Race(_Simple):
    """Wait for the first task to finish; answer its value."""

    __slots__ = ("tasks",)
    _fields = ("tasks",)

    def __init__(self, *tasks: Any, priority: int | None = None) -> None:
        self.tasks = tasks

    def __reduce__(self):
        return (Race, self.tasks)


class Await(_Simple):
    """Run a coroutine (on the runtime's background event loop); answer its result."""

    __slots__ = ("coroutine",)
    _fields = ("coroutine",)

    def __init__(self, coroutine: Any, deadline: Any = None, source_alive: Any = None) -> None:
        self.coroutine = coroutine


class RunInThread(_Simple):
    """Call ``fn(*args, **kwargs)`` on the runtime's thread pool (blocking work); answer its result."""

    __slots__ = ("fn", "args", "kwargs")
    _fields = ("fn", "args", "kwargs")

    def __init__(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def __reduce__(self):
        return (_run_in_thread, (self.fn, self.args, self.kwargs))


def _run_in_thread(fn: Any, args: tuple, kwargs: dict) -> RunInThread:
    return RunInThread(fn, *args, **kwargs)


class CreateExternalPromise(_Simple):
    """Answer an :class:`ExternalPromise` that any thread may complete; wait on ``promise.future``."""

    __slots__ = ()
    _fields = ()


class CacheGet(_Simple):
    """Read ``key`` from the cache; a miss raises ``KeyError`` at the yield."""

    __slots__ = ("key",)
    _fields = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


class CachePut(_Simple):
    """Store ``value`` under ``key`` in the cache."""

    __slots__ = ("key", "value", "ttl")
    _fields = ("key", "value", "ttl")

    def __init__(self, key: Any, value: Any, ttl: float | None = None, **_metadata: Any) -> None:
        self.key = key
        self.value = value
        self.ttl = ttl

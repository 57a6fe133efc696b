"""Seeing what a program does: effect tracing, effect logging, and an event bus (seed 001).

Installed like any handler, each sees the effects of the chosen types on their way to the handlers
outside it, and the answers (or exceptions) on the way back, without changing them::

    bus = EventBus()
    bus.subscribe(EffectFinished, lambda ev: print(ev.effect, ev.duration))
    run(deploy(), handlers=[EventBusHandler(bus, types=(SystemCall,)), SystemCallHandler()])

This replaces hand-written ``SystemCallStart``/``SystemCallEnd`` calls at every call site, and
``LoggingHandler(types=..., exclude=...)`` replaces "silent" copies of functions.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable, Iterable

from . import effects as E
from .errors import location_of
from .handlers import Installer, NativeHandler
from .interpreter import current_task
from .program import Pass, Transfer
from .recording import RecordedTypes, _short_repr


@dataclasses.dataclass(frozen=True)
class TraceEvent:
    """One traced effect: what, in which task, where, when, how long, and how it ended."""

    effect: Any
    task: tuple
    at: str
    started: float
    duration: float
    answer: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _type_filter(types: Iterable[type] | None, exclude: Iterable[type]) -> Any:
    """The effects seen by default: those a recording would hold (world-touching), minus ``exclude``."""
    if types is None:
        return RecordedTypes(exclude=tuple(exclude))
    only = tuple(types)
    for t in only:
        if not (isinstance(t, type) and issubclass(t, E.EffectBase)):
            raise TypeError(f"expected effect classes, got {t!r}")
    return RecordedTypes(only=only, exclude=tuple(exclude))


class _AroundHandler(Installer):
    """Sees an effect before and after the outer handlers answer it; subclasses implement the hooks."""

    native = False

    def __init__(self, types: Iterable[type] | None, exclude: Iterable[type], name: str) -> None:
        self.types = _type_filter(types, exclude)
        self.name = name

    def before(self, effect: Any, task: tuple, at: str) -> None:
        pass

    def after(self, event: TraceEvent) -> None:
        pass

    def fn(self, effect: Any, k: Any):
        if isinstance(effect, E.Spawn):
            # Spawn passes from the perform site, so the child task keeps every handler.
            return (yield Pass(effect, k))
        frames = k.top.frames
        at = location_of(frames[-1]) if frames else ""
        task = current_task().path
        self.before(effect, task, at)
        started = time.time()
        t0 = time.perf_counter()
        try:
            value = yield effect
        except Exception as err:
            self.after(TraceEvent(effect, task, at, started, time.perf_counter() - t0, None, err))
            raise
        self.after(TraceEvent(effect, task, at, started, time.perf_counter() - t0, value, None))
        return (yield Transfer(k, value))


class TracingHandler(_AroundHandler):
    """Keeps a :class:`TraceEvent` per effect in ``.events`` (and calls ``sink(event)`` if given).

    ``types``: the effect classes to trace (default: the world-touching ones, as recorded);
    ``exclude``: effect classes to leave out.
    """

    def __init__(
        self,
        sink: Callable[[TraceEvent], None] | None = None,
        *,
        types: Iterable[type] | None = None,
        exclude: Iterable[type] = (),
    ) -> None:
        super().__init__(types, exclude, "TracingHandler")
        self.sink = sink
        self.events: list = []

    def after(self, event: TraceEvent) -> None:
        self.events.append(event)
        if self.sink is not None:
            self.sink(event)


class LoggingHandler(_AroundHandler):
    """Logs each effect with its answer (or error) and duration on a ``logging`` logger.

    ``LoggingHandler(logger=None, level=logging.INFO, types=None, exclude=(), log_answers=True)``;
    errors are logged at WARNING. Leave a type out with ``exclude`` instead of writing a "silent"
    variant of the code that performs it.
    """

    def __init__(
        self,
        logger: logging.Logger | str | None = None,
        *,
        level: int = logging.INFO,
        types: Iterable[type] | None = None,
        exclude: Iterable[type] = (),
        log_answers: bool = True,
    ) -> None:
        super().__init__(types, exclude, "LoggingHandler")
        if logger is None or isinstance(logger, str):
            logger = logging.getLogger(logger or "doeff_migrate.runtime.effects")
        self.logger = logger
        self.level = level
        self.log_answers = log_answers

    def after(self, event: TraceEvent) -> None:
        ms = event.duration * 1000
        where = f" at {event.at}" if event.at else ""
        if event.error is not None:
            self.logger.warning("%s%s raised %s: %s (%.1f ms)", _short_repr(event.effect), where, type(event.error).__name__, event.error, ms)
        elif self.log_answers:
            self.logger.log(self.level, "%s%s -> %s (%.1f ms)", _short_repr(event.effect), where, _short_repr(event.answer), ms)
        else:
            self.logger.log(self.level, "%s%s (%.1f ms)", _short_repr(event.effect), where, ms)


# --- event bus ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Publish(E.EffectBase[None]):
    """Publish ``event`` to the subscribers of its type on the installed event bus."""

    event: Any


@dataclasses.dataclass(frozen=True)
class EffectStarted:
    """Published before the outer handlers answer an effect."""

    effect: Any
    task: tuple
    at: str


@dataclasses.dataclass(frozen=True)
class EffectFinished:
    """Published after an effect was answered."""

    effect: Any
    task: tuple
    at: str
    answer: Any
    duration: float


@dataclasses.dataclass(frozen=True)
class EffectFailed:
    """Published after an effect's handler raised."""

    effect: Any
    task: tuple
    at: str
    error: BaseException
    duration: float


class EventBus:
    """Subscribers by event type: ``subscribe(EventType, callback)``, ``publish(event)``.

    ``publish`` calls, in subscription order, every callback subscribed to the event's class or one
    of its base classes (``object`` receives everything). A callback's exception propagates to the
    publisher: a broken subscriber is a bug to see, not to hide.
    """

    def __init__(self) -> None:
        self._subscribers: list = []

    def subscribe(self, event_type: type, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Subscribe; returns a function that unsubscribes."""
        entry = (event_type, callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Any) -> None:
        for event_type, callback in list(self._subscribers):
            if isinstance(event, event_type):
                callback(event)


class _PublishAnswer(NativeHandler):
    types = (Publish,)

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.name = "EventBusHandler.publish"

    def handle(self, effect: Any, segment: Any) -> Any:
        self.bus.publish(effect.event)
        return None


class EventBusHandler(_AroundHandler):
    """Answers :class:`Publish` and announces effects of ``types`` on ``bus`` automatically.

    For each effect of ``types`` it publishes :class:`EffectStarted`, then :class:`EffectFinished`
    or :class:`EffectFailed`, so subscribers see every call without code at the call sites.
    ``types=()`` announces nothing and only answers ``Publish``.
    """

    def __init__(self, bus: EventBus, *, types: Iterable[type] = (), exclude: Iterable[type] = ()) -> None:
        types = tuple(types)
        super().__init__(types, exclude, "EventBusHandler")
        self.bus = bus
        self._announce = bool(types)
        self._publish = _PublishAnswer(bus)

    def __call__(self, program: Any = None) -> Any:
        inner = super().__call__(program) if self._announce else program
        return self._publish(inner)

    def before(self, effect: Any, task: tuple, at: str) -> None:
        self.bus.publish(EffectStarted(effect, task, at))

    def after(self, event: TraceEvent) -> None:
        if event.error is not None:
            self.bus.publish(EffectFailed(event.effect, event.task, event.at, event.error, event.duration))
        else:
            self.bus.publish(EffectFinished(event.effect, event.task, event.at, event.answer, event.duration))


__all__ = [
    "TracingHandler",
    "LoggingHandler",
    "TraceEvent",
    "EventBus",
    "EventBusHandler",
    "Publish",
    "EffectStarted",
    "EffectFinished",
    "EffectFailed",
]

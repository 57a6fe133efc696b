"""Errors the runtime raises, each naming what went wrong, where, and what to do."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from .stack import program_frame

# What to install for each standard effect when nothing answers it.
_HINTS = {
    "Ask": "install an env: run(program, env={...}) or design_env({...})(program) / reader(env={...})(program)",
    "Local": "install design_env(...), lazy_ask(...) or local_handler around the program",
    "Get": "install state(): state()(program)",
    "Put": "install state(): state()(program)",
    "WriterTellEffect": "install writer inside state: state()(writer(program))",
    "Listen": "install listen_handler around the program",
    "Try": "install try_handler: try_handler(program)",
    "LogMetrics": "install a metrics handler: MetricsLogger() (console/JSONL) or WandbHandler(...)",
    "LogConfig": "install a metrics handler: MetricsLogger() (console/JSONL) or WandbHandler(...)",
    "LogSummary": "install a metrics handler: MetricsLogger() (console/JSONL) or WandbHandler(...)",
    "CacheGet": "install a cache handler: memory_cache()(program) or DiskCacheHandler(path)",
    "CachePut": "install a cache handler: memory_cache()(program) or DiskCacheHandler(path)",
}


def location_of(gen: Any) -> str:
    """``file:line in function`` of a suspended generator (a program frame, or the runner of one), or
    '' if unknown."""
    gen = program_frame(gen)
    frame = getattr(gen, "gi_frame", None)
    code = getattr(gen, "gi_code", None)
    if frame is None or code is None:
        return ""
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


class UnhandledEffect(RuntimeError):
    """No installed handler answers the effect."""

    def __init__(self, effect: Any, location: str = "") -> None:
        self.effect = effect
        self.location = location
        name = type(effect).__name__
        hint = _HINTS.get(name, f"install a @handler for {name} (def h(effect: {name}, k): ...)")
        where = f" performed at {location}" if location else ""
        super().__init__(f"no handler for {effect!r}{where}; {hint}")


class MissingEnvKeyError(KeyError):
    """``Ask(key)`` found no binding for ``key`` in the env."""

    def __init__(self, key: Any, env_keys: Iterable[Any] = (), location: str = "") -> None:
        self.key = key
        self.env_keys = tuple(env_keys)
        self.location = location
        super().__init__(key)

    def __str__(self) -> str:
        names = [k for k in self.env_keys if isinstance(k, str)]
        close = difflib.get_close_matches(str(self.key), names, n=3) if names else []
        shown = ", ".join(repr(k) for k in sorted(map(str, self.env_keys))[:20])
        more = " ..." if len(self.env_keys) > 20 else ""
        msg = f"no binding for key {self.key!r} in the env"
        if self.location:
            msg += f" (asked at {self.location})"
        msg += f"; available keys: [{shown}{more}]" if self.env_keys else "; the env is empty"
        if close:
            msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
        return msg


class SchedulerDeadlockError(RuntimeError):
    """Every task is waiting and nothing outside the runtime can wake one."""


class TaskCancelledError(Exception):
    """The task waited for was cancelled."""


class ReentrantCallError(RuntimeError):
    """A re-entrant call (a dependency callable) was made where no program of a run can take it:
    outside any running program, on another thread, or in a way that would unwind the plain Python
    frame that made the call."""


class ReentrantAwaitError(ReentrantCallError):
    """A dependency called as a plain function from a coroutine running on the runtime's event loop
    (an async body under ``Await``) needs to ``Await`` itself: the loop that would run that coroutine
    is the one blocked in the call, so it fails instead of hanging."""

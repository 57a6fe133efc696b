"""Counterparts of the pinjected utilities plain code uses directly, so migrated code needs no pinjected.

- ``TaskGroup`` / ``CompatibleExceptionGroup``: as ``pinjected/compatibility/task_group.py`` defines them
  on 0.2.252: ``asyncio.TaskGroup`` and the builtin ``ExceptionGroup`` from Python 3.11 on; before 3.11 a
  task group that gathers its tasks on exit and wraps the first error in an ``ExceptionGroup`` of its own.
- ``check_picklable``: ``pinjected.di.util.check_picklable``: the value must survive a cloudpickle
  round trip, else the values of the (nested) dict that fail to pickle are logged and a ``RuntimeError``
  is raised from an ``ErrorWithTrace`` holding the first error and its traceback.

pinjected is MIT-licensed; the fallback task group and the picklability check follow its code. pinjected
logs through loguru on stderr; the runtime logs the same messages on the ``logging`` logger of this module.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import traceback
from pprint import pformat
from typing import Any, Callable

logger = logging.getLogger("doeff_migrate.runtime.compat")

try:
    from asyncio import TaskGroup
except ImportError:  # Python 3.10
    if "SpawnProcess" not in multiprocessing.current_process().name:
        logger.warning("Using compatibility.task_group.TaskGroup since TaskGroup from python 3.11 is not available.")

    class ExceptionGroup(Exception):  # noqa: A001 (the name pinjected gives it; Python 3.10 has none)
        def __init__(self, exceptions):
            self.exceptions = exceptions

    class TaskGroup:  # type: ignore[no-redef]
        def __init__(self):
            self.tasks = []

        def create_task(self, coro):
            task = asyncio.create_task(coro)
            self.tasks.append(task)
            return task

        async def __aenter__(self):
            return self

        async def __aexit__(self, exc_type, exc, tb):
            try:
                await asyncio.gather(*self.tasks, return_exceptions=False)
            except Exception as e:
                raise ExceptionGroup([e]) from e


CompatibleExceptionGroup = ExceptionGroup


class ErrorWithTrace(BaseException):
    """An error with its formatted traceback; picklable (pinjected.di.util.ErrorWithTrace)."""

    def __init__(self, src: BaseException, trace: str):
        super().__init__()
        self.src = src
        self.trace = trace

    def __reduce__(self):
        return (ErrorWithTrace, (self.src, self.trace))

    def __str__(self):
        return f"{self.src}\n {self.trace}"


class _Failed:
    """A call that raised: what pinjected's ``my_safe`` returns as ``Failure(ErrorWithTrace(...))``."""

    __slots__ = ("error",)

    def __init__(self, error: ErrorWithTrace) -> None:
        self.error = error

    def __repr__(self) -> str:  # what ``pformat`` shows of pinjected's ``Failure``
        return f"<Failure: {self.error}>"


class _Succeeded:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<Success: {self.value}>"


def _attempt(function: Callable[[Any], Any], value: Any) -> _Succeeded | _Failed:
    try:
        return _Succeeded(function(value))
    except Exception as e:
        return _Failed(ErrorWithTrace(e, "\n".join(traceback.format_exception(e))))


def _map_leaves(function: Callable[[Any], Any], tree: dict) -> dict:
    return {k: _map_leaves(function, v) if isinstance(v, dict) else function(v) for k, v in tree.items()}


def _failed_leaves(tree: dict) -> dict:
    res = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            res[k] = _failed_leaves(v)
        elif isinstance(v[0], _Failed):
            res[k] = v
    return res


def check_picklable(tgt: dict):
    """Raise ``RuntimeError`` unless ``tgt`` survives ``cloudpickle.dumps`` then ``cloudpickle.loads``."""
    import cloudpickle  # pinjected depends on it; migrated code that checks picklability needs it too

    res = _attempt(cloudpickle.dumps, tgt)
    if isinstance(res, _Succeeded):
        res = _attempt(cloudpickle.loads, res.value)
    if isinstance(res, _Failed):
        failures = _failed_leaves(_map_leaves(lambda v: (_attempt(cloudpickle.dumps, v), v), tgt))
        logger.error(f"Failed to pickle target: {pformat(failures)}")
        logger.error(
            "if the error message contains EncodedFile pickling error, "
            "check whether the logging module is included in the target object or not."
        )
        raise RuntimeError("this object is not picklable. check the error messages above.") from res.error


__all__ = ["TaskGroup", "CompatibleExceptionGroup", "ErrorWithTrace", "check_picklable"]

"""Running the per-file migration in worker processes without letting one file or one signal hurt the run.

* A worker that dies (a native crash in a parser, the OOM killer) breaks a ``ProcessPoolExecutor``
  for every file still queued. The files whose result did not come back are then migrated again one
  per process: the file that kills its process is that file's failure, named with the signal, and
  the others are still migrated.
* A worker whose parent dies (``kill -9`` of the CLI) exits too: it watches its parent's pid, since
  a pool's workers are otherwise reparented to init and wait for work forever.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

Result = TypeVar("Result")

PARENT_POLL_SECONDS = 0.5


def exit_with_parent(parent: int) -> None:
    """Start a daemon thread ending this process as soon as ``parent`` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="doeff-migrate-parent-watch", daemon=True).start()


def _init(parent: int, initializer: Callable[..., None], initargs: tuple) -> None:
    exit_with_parent(parent)
    initializer(*initargs)


def run_in_workers(
    function: Callable[[str], Result],
    items: list[str],
    jobs: int,
    *,
    initializer: Callable[..., None],
    initargs: tuple,
    crashed: Callable[[str, str], Result],
) -> Iterator[Result]:
    """``function(item)`` for each item, in order, on ``jobs`` forked workers.

    ``crashed(item, reason)`` is the result of an item whose worker died while migrating it.
    """
    context = multiprocessing.get_context("fork")
    chunksize = max(1, len(items) // (jobs * 8))
    done = 0
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_init, initargs=(os.getpid(), initializer, initargs)
        ) as pool:
            for result in pool.map(function, items, chunksize=chunksize):
                done += 1
                yield result
        return
    except BrokenProcessPool:
        pass
    for item in items[done:]:
        yield _alone(function, item, context, initializer, initargs, crashed)


def _alone(function, item: str, context: Any, initializer, initargs, crashed) -> Any:
    """``function(item)`` in a process of its own; ``crashed(...)`` when that process dies."""
    try:
        with ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_init, initargs=(os.getpid(), initializer, initargs)
        ) as pool:
            future = pool.submit(function, item)
            try:
                return future.result()
            except BrokenProcessPool:
                pass
            processes = list((pool._processes or {}).values())  # the dead worker tells how it died
    except BrokenProcessPool:
        processes = []
    codes = [p.exitcode for p in processes if p.exitcode is not None]
    return crashed(item, _describe(codes[0] if codes else None))


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the process migrating it was killed by {name}"
    if exitcode is not None:
        return f"the process migrating it exited with code {exitcode}"
    return "the process migrating it died"

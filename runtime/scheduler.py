"""The built-in scheduler: tasks (``Spawn``), futures and the effects that wait on them.

It sits below the root of every run and answers the scheduling effects no installed handler took,
through ``SCHEDULING``, a dict from effect type to the function answering it. Tasks switch only
where one blocks (``Wait``, ``Gather``, ``Race``, ``Await``, ``RunInThread``, external promises),
so tasks that never block run one after another in spawn order.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import queue
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from . import effects as E
from .errors import ReentrantAwaitError, SchedulerDeadlockError, TaskCancelledError
from .stack import Segment, clone_chain, unwind


class Future:
    """A value that becomes available later; ``Wait`` on it parks the waiting task."""

    __slots__ = ("done", "value", "error", "waiters", "__weakref__")

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters: list = []


class Task(Future):
    """A spawned program. ``Wait(task)`` answers its value or raises its exception.

    ``path`` names the task by where it was spawned, independent of scheduling: the main program is
    ``()``, its third spawn is ``(2,)``, that task's first spawn ``(2, 0)``. Recordings key effects by
    it, so a run replays the same whatever the number of workers.

    ``blocks_loop``: the :class:`LoopBlock` of a plain dependency call, made from a coroutine on the
    runtime's event loop, that waits for this task (None for other tasks): while it lasts, that loop
    cannot run what the task awaits.
    """

    __slots__ = ("number", "cancelled", "path", "spawned", "blocks_loop")

    def __init__(self, number: int, path: tuple = ()) -> None:
        super().__init__()
        self.number = number
        self.cancelled = False
        self.path = path
        self.spawned = 0
        self.blocks_loop: "LoopBlock | None" = None

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<Task {self.number} {state}>"


MAIN_TASK = Task(0, ())
"""Stands for the main program of every run: its path is ``()``."""


class ExternalPromise:
    """Completed from any thread with ``complete(value)`` or ``fail(exc)``; wait on ``.future``.

    ``scheduler``: the run's scheduler, for a handler that has it watch the promise
    (``Scheduler.watch``)."""

    __slots__ = ("future", "_inbox", "scheduler")

    def __init__(self, future: Future, inbox: "queue.SimpleQueue", scheduler: "Scheduler | None" = None) -> None:
        self.future = future
        self._inbox = inbox
        self.scheduler = scheduler

    def complete(self, value: Any) -> None:
        self._inbox.put((self.future, value, None))

    def fail(self, error: BaseException) -> None:
        self._inbox.put((self.future, None, error))


_loop_lock = threading.Lock()
_background_loop: asyncio.AbstractEventLoop | None = None
_thread_pool: ThreadPoolExecutor | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The process-wide event loop (on a daemon thread) that runs ``Await``ed coroutines."""
    global _background_loop
    with _loop_lock:
        if _background_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="doeff-migrate-await", daemon=True).start()
            _background_loop = loop
        return _background_loop


def thread_pool() -> ThreadPoolExecutor:
    global _thread_pool
    with _loop_lock:
        if _thread_pool is None:
            _thread_pool = ThreadPoolExecutor(thread_name_prefix="doeff-migrate")
        return _thread_pool


def complete_future(fut: Future, value: Any, error: BaseException | None) -> None:
    """Complete ``fut`` and wake the tasks waiting on it (no-op when already complete)."""
    if fut.done:
        return
    fut.done = True
    fut.value = value
    fut.error = error
    waiters = fut.waiters
    fut.waiters = []
    for w in waiters:
        w(fut)


def task_body(program: Any):
    return (yield program)


class RunFinished(Exception):
    """Carries the main program's (value, error) out of the loop once the leftover tasks are done."""


AWAIT_SITE: "contextvars.ContextVar[tuple]" = contextvars.ContextVar("doeff_migrate_await_site")
"""(scheduler, task, segment) of the ``Await`` whose coroutine runs in this asyncio context."""


class LoopBlock:
    """A plain call of the dependency ``name`` blocking the runtime's event loop until it returns."""

    __slots__ = ("name", "active")

    def __init__(self, name: str) -> None:
        self.name = name
        self.active = True


class SpawnRequest:
    """Put into a scheduler's inbox from another thread: start ``program`` as a task of the run,
    under the handlers of ``seg``, and call ``settle(task)`` when it ends. ``blocks_loop``: the
    :class:`LoopBlock` of the call waiting for the task on the runtime's event loop, if it does."""

    __slots__ = ("program", "parent", "seg", "settle", "blocks_loop")

    def __init__(self, program: Any, parent: Any, seg: Segment, settle: Callable[[Task], None], blocks_loop: "LoopBlock | None" = None) -> None:
        self.program = program
        self.parent = parent
        self.seg = seg
        self.settle = settle
        self.blocks_loop = blocks_loop

    def start(self, sched: "Scheduler") -> None:
        child = sched.new_task(self.parent)
        if self.blocks_loop is not None:
            child.blocks_loop = self.blocks_loop
        child.waiters.append(self.settle)
        top = clone_chain(self.seg)
        top.frames.append(task_body(self.program))
        sched.ready.append((child, top, None, None))


WATCH_INTERVAL_S = 0.1
"""How often a run that waits for outside work checks its watches (``Scheduler.watch``)."""


class Scheduler:
    """Run queue and wake-ups of one ``run``; created on the first scheduling effect."""

    def __init__(self) -> None:
        self.ready: collections.deque = collections.deque()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.pending_external = 0
        self.count = 0
        self.main_spawned = 0
        self.unretrieved: dict = {}  # failed tasks nobody has waited for yet -> their exception
        self.parked: dict = {}  # task -> the segment it last parked at (for the end-of-run unwinding)
        self.in_flight: set = set()  # concurrent futures of Await/RunInThread work, cancelled at the end
        self.finishing: "tuple | None" = None  # the main program's (value, error) once it has ended
        self.watches: dict = {}  # watch type -> its instance (see watch())

    def new_task(self, spawner: Any) -> Task:
        """A task spawned by ``spawner``, named by its path (see ``Task``)."""
        self.count += 1
        if spawner is MAIN_TASK:
            child = Task(self.count, (self.main_spawned,))
            self.main_spawned += 1
        else:
            child = Task(self.count, spawner.path + (spawner.spawned,))
            spawner.spawned += 1
            child.blocks_loop = spawner.blocks_loop  # what the blocked call waits for may wait on it
        return child

    def cancel_leftovers(self, value: Any, error: "BaseException | None") -> bool:
        """When the main program ends, cancel the tasks it leaves behind, as doeff does:
        ``TaskCancelledError`` is thrown into each, and they keep running (their ``except``/``finally``
        blocks may still perform effects) until the ready queue is empty; ``run`` then returns the
        main program's outcome (kept here). False when no task is left."""
        if self.finishing is not None:
            return False
        for cf in list(self.in_flight):  # cancelling runs the done callback, which discards
            cf.cancel()
        left: dict = {}
        for task, seg, _value, _error in self.ready:
            if task is not MAIN_TASK and not task.done:
                left.setdefault(task, seg)
        for task, seg in self.parked.items():
            if task is not MAIN_TASK and not task.done:
                left.setdefault(task, seg)
        if not left:
            return False
        self.finishing = (value, error)
        self.ready.clear()
        for task in sorted(left, key=lambda t: t.number):
            task.cancelled = True
            self.parked.pop(task, None)  # a later wake-up of its old park is stale
            cancel = TaskCancelledError(f"task {task.path} was still running when the main program ended")
            self.ready.append((task, left[task], None, cancel))
        return True

    def finish(self) -> None:
        """The ready queue ran dry after the main program ended: close what still waits and stop."""
        for task, seg in list(self.parked.items()):
            if task is not MAIN_TASK and not task.done:
                task.done = True
                unwind(seg, None)
        self.warn_leftovers()
        raise RunFinished(self.finishing)

    def task_ended(self, task: Task, value: Any, error: "BaseException | None") -> None:
        if error is not None and not task.waiters and not isinstance(error, TaskCancelledError):
            self.unretrieved[task] = error
        complete_future(task, value, error)

    def retrieved(self, futs: Any) -> None:
        if self.unretrieved:
            for f in futs:
                self.unretrieved.pop(f, None)

    def warn_leftovers(self) -> None:
        """At the end of a run, as asyncio does: say which task failures nobody looked at."""
        for t, err in self.unretrieved.items():
            warnings.warn(f"Task exception was never retrieved: task {t.path} raised {err!r}", RuntimeWarning, stacklevel=2)
        self.unretrieved.clear()

    def park_on(self, fut: Future, task: Any, seg: Segment) -> None:
        self.parked[task] = seg
        ready = self.ready
        parked = self.parked

        def wake(f: Future) -> None:
            if parked.get(task) is seg:  # not a task cancelled since it parked here
                ready.append((task, seg, f.value, f.error))

        fut.waiters.append(wake)

    def park_gather(self, futs: tuple, task: Any, seg: Segment) -> None:
        self.parked[task] = seg
        remaining = [sum(1 for f in futs if not f.done)]
        ready = self.ready
        parked = self.parked
        fired = [False]

        def wake(f: Future) -> None:
            if fired[0] or parked.get(task) is not seg:
                return
            if f.error is not None:
                fired[0] = True
                ready.append((task, seg, None, f.error))
                return
            remaining[0] -= 1
            if remaining[0] == 0:
                fired[0] = True
                ready.append((task, seg, [g.value for g in futs], None))

        for f in futs:
            if not f.done:
                f.waiters.append(wake)

    def park_race(self, futs: tuple, task: Any, seg: Segment) -> None:
        self.parked[task] = seg
        ready = self.ready
        parked = self.parked
        fired = [False]

        def wake(f: Future) -> None:
            if not fired[0] and parked.get(task) is seg:
                fired[0] = True
                ready.append((task, seg, f.value, f.error))

        for f in futs:
            f.waiters.append(wake)

    def external(self) -> Future:
        self.pending_external += 1
        return Future()

    def deliver_when_done(self, fut: Future, cf: Any) -> None:
        """Complete ``fut`` from the inbox when the concurrent future ``cf`` (Await, RunInThread) ends."""
        in_flight = self.in_flight
        inbox = self.inbox
        in_flight.add(cf)

        def done(c: Any) -> None:
            in_flight.discard(c)
            try:
                inbox.put((fut, c.result(), None))
            except BaseException as err:  # noqa: BLE001 - delivered to the awaiting program
                inbox.put((fut, None, err))

        cf.add_done_callback(done)

    def watch(self, kind: Callable[[], Any]) -> Any:
        """This run's watch of type ``kind`` (created on first use): an object with ``pending`` (how
        many of this run's external futures it watches) and ``check(sched)``, which completes the
        watched futures that can no longer complete normally (``complete_future``, one less
        ``pending_external`` each) and returns how many. While this run waits for outside work, its
        watches are checked every ``WATCH_INTERVAL_S``, on the run's thread: for Ray, a task whose
        result ``ray.shutdown()`` has lost would otherwise be waited for forever."""
        found = self.watches.get(kind)
        if found is None:
            found = self.watches[kind] = kind()
        return found

    def _receive(self) -> Any:
        """The next inbox item, or None once a watch has completed futures itself."""
        while True:
            watching = [w for w in self.watches.values() if w.pending]
            if not watching:
                return self.inbox.get()
            try:
                return self.inbox.get(timeout=WATCH_INTERVAL_S)
            except queue.Empty:
                pass
            if sum(w.check(self) for w in watching):
                return None

    def next_ready(self) -> tuple:
        while True:
            if self.ready:
                return self.ready.popleft()
            if self.finishing is not None:
                self.finish()
            if self.pending_external <= 0:
                raise SchedulerDeadlockError(
                    "every task is waiting and nothing outside the runtime can wake one "
                    "(a Wait on a task that waits on it, or on a future nobody completes)"
                )
            item = self._receive() if self.watches else self.inbox.get()
            if item is None:  # a watch completed futures itself
                continue
            if type(item) is not tuple:
                item.start(self)  # a program handed over from another thread (SpawnRequest)
                continue
            fut, value, error = item
            if not fut.done:  # completed twice (a watch gave up on it first, or its promise was completed again)
                self.pending_external -= 1
                complete_future(fut, value, error)


# --- the scheduling effects: each answers ``(value, exc)`` now, or ``None`` when the task parked ----


def _as_future(x: Any) -> Future:
    if isinstance(x, Future):
        return x
    if isinstance(x, ExternalPromise):
        return x.future
    raise TypeError(f"Wait/Gather/Race expect tasks (answers of Spawn) or futures, got {x!r}; Spawn each program first")


def _spawn(sched: Scheduler, y: Any, task: Any, seg: Segment) -> None:
    child = sched.new_task(task)
    top = clone_chain(seg)
    top.frames.append(task_body(y.program))
    # As in doeff: the child, then the spawner, join the back of the FIFO ready queue and the
    # head runs next. From a lone main program the child thus runs at once until it blocks or
    # ends (for spawn-all-then-gather code also asyncio's and pinjected's order); spawns inside
    # tasks take turns with the tasks already waiting to run.
    sched.ready.append((child, top, None, None))
    sched.ready.append((task, seg, child, None))
    return None


def _wait(sched: Scheduler, y: Any, task: Any, seg: Segment) -> "tuple | None":
    try:
        fut = _as_future(y.task)
    except TypeError as err:
        return (None, err)
    if fut.done:
        sched.retrieved((fut,))
        return (fut.value, fut.error)
    sched.park_on(fut, task, seg)
    return None


def _gather(sched: Scheduler, y: Any, task: Any, seg: Segment) -> "tuple | None":
    try:
        futs = tuple(_as_future(t) for t in y.tasks)
    except TypeError as err:
        return (None, err)
    sched.retrieved(futs)
    for f in futs:
        if f.done and f.error is not None:
            return (None, f.error)
    if all(f.done for f in futs):
        return ([f.value for f in futs], None)
    sched.park_gather(futs, task, seg)
    return None


def _race(sched: Scheduler, y: Any, task: Any, seg: Segment) -> "tuple | None":
    try:
        futs = tuple(_as_future(t) for t in y.tasks)
    except TypeError as err:
        return (None, err)
    if not futs:
        return (None, ValueError("Race needs at least one task"))
    sched.retrieved(futs)
    for f in futs:
        if f.done:
            return (f.value, f.error)
    sched.park_race(futs, task, seg)
    return None


def _create_external_promise(sched: Scheduler, y: Any, task: Any, seg: Segment) -> tuple:
    return (ExternalPromise(sched.external(), sched.inbox, sched), None)


def _await(sched: Scheduler, y: Any, task: Any, seg: Segment) -> "tuple | None":
    coro = y.coroutine
    if not asyncio.iscoroutine(coro) and not isinstance(coro, asyncio.Future) and not hasattr(coro, "__await__"):
        return (None, TypeError(f"Await expects a coroutine or awaitable, got {coro!r}"))
    block = task.blocks_loop
    if block is not None and block.active:
        return (None, _await_on_blocked_loop(block.name, coro))
    site = (sched, task, seg)

    async def awaited():
        AWAIT_SITE.set(site)  # for arun_reentrant in the coroutine (this task's own context)
        return await coro

    fut = sched.external()
    sched.deliver_when_done(fut, asyncio.run_coroutine_threadsafe(awaited(), background_loop()))
    sched.park_on(fut, task, seg)
    return None


def _await_on_blocked_loop(name: str, coro: Any) -> ReentrantAwaitError:
    close = getattr(coro, "close", None)
    if close is not None:
        close()  # never run: no "never awaited" warning on top of the error
    return ReentrantAwaitError(
        f"{name!r} was called without await from a coroutine running on the runtime's event loop, and its "
        f"program awaits {coro!r}, which needs that loop: the call blocks it (a hang). Usually this is an async "
        "@instance built on first use: run without --lazy (the runner builds the entry point's instances "
        "before any body runs, as pinjected resolves them first), ask for that instance before the coroutine "
        f"runs, or make {name!r} async and await it"
    )


def _run_in_thread(sched: Scheduler, y: Any, task: Any, seg: Segment) -> None:
    fut = sched.external()
    sched.deliver_when_done(fut, thread_pool().submit(y.fn, *y.args, **y.kwargs))
    sched.park_on(fut, task, seg)
    return None


SCHEDULING: dict = {
    E.Spawn: _spawn,
    E.Wait: _wait,
    E.Gather: _gather,
    E.Race: _race,
    E.Await: _await,
    E.RunInThread: _run_in_thread,
    E.CreateExternalPromise: _create_external_promise,
}
"""Scheduling effect type -> ``(scheduler, effect, task, segment) -> (value, exc) | None``."""

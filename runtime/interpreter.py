"""The interpreter: one loop that runs programs and dispatches their effects to handlers.

Stack model (like OCaml 5 fibers): a task's stack is a chain of *segments*. Installing a handler
starts a new segment whose ``parent`` is the installer's segment; the program frames (suspended
generators) of a segment sit in its ``frames`` list. Nested ``@do`` calls push frames on a list, so
depth costs no Python stack.

An effect yielded at the top is matched against the handlers of the segments from the top down.

* A *native* handler (a plain object with ``handle(effect, segment)``; the standard handlers) answers
  in place: no continuation is captured, the answer is sent straight back. This is the hot path.
* A *generator* handler (``@handler def h(effect, k)``) gets a continuation ``k`` = the segments from
  the perform site down to its own. Its body runs as a frame pushed on the segment *below* its own,
  so the effects it performs reach only outer handlers, and when the handled block finishes, its
  value flows into that frame: ``yield Resume(k, v)`` evaluates to the block's result, and a body
  that returns without resuming aborts the block with its return value. Capture and resume are O(1).

Tasks (``Spawn``) are further chains that share the spawner's handler objects; the built-in
scheduler below the root switches tasks only where one blocks (``Wait``, ``Gather``, ``Race``,
``Await``, ``RunInThread``, external promises), so tasks that never block run one after another in
spawn order.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import effects as E
from .errors import ReentrantCallError, SchedulerDeadlockError, TaskCancelledError, UnhandledEffect, location_of
from .program import (
    K_BOUNDARY,
    K_CALL,
    K_CALL_PLAIN,
    K_EFFECT,
    K_PASS,
    K_PURE,
    K_RESUME,
    K_TRANSFER,
    K_TRANSFER_THROW,
    K_WITH_HANDLER,
    DoFunction,
    Resume,
    ResumeThrow,
    Transfer,
    TransferThrow,
)


class _PassSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "PASS"


PASS = _PassSentinel()
"""Returned by a native handler's ``handle`` to let the next outer handler answer."""


class AtSite:
    """Returned by a native handler: run ``generator`` at the perform site; its return value answers.

    Used for effects that carry a program (``Try``, lazy singletons): the program runs under the
    same handlers as the code that performed the effect. ``AtSite.outside(body)`` instead runs
    ``body(k)`` like a ``@handler`` body: outside the handler, with the continuation ``k``.
    """

    __slots__ = ("generator", "body")

    def __init__(self, generator: Any, body: Any = None) -> None:
        self.generator = generator
        self.body = body

    @classmethod
    def outside(cls, body: Any) -> "AtSite":
        return cls(None, body)


class Segment:
    __slots__ = ("frames", "parent", "handler", "types", "handle")

    def __init__(self, parent: "Segment | None", handler: Any = None) -> None:
        self.frames: list = []
        self.parent = parent
        self.handler = handler
        if handler is None:
            self.types = self.handle = None
        else:
            self.types = handler.types
            # Bound once here rather than on every effect: natives answer through it.
            if getattr(handler, "answered_inline", False):
                self.handle = _STATE_HANDLE
            else:
                self.handle = handler.handle if handler.native else None


_Get = E.Get
_Put = E.Put


def _STATE_HANDLE(effect: Any, segment: "Segment") -> Any:  # noqa: N802 - a marker, compared by identity
    """Marks a ``state()`` segment, whose exact ``Get``/``Put`` the loop answers itself."""
    return segment.handler.handle(effect, segment)


class Continuation:
    """The one-shot continuation ``k`` a generator handler receives."""

    __slots__ = ("top", "hseg", "used")

    def __init__(self, top: Segment, hseg: Segment) -> None:
        self.top = top
        self.hseg = hseg
        self.used = False

    def __repr__(self) -> str:
        return f"<continuation {'used' if self.used else 'live'}>"


_new_continuation = object.__new__
_AWAIT_SITE: "contextvars.ContextVar[tuple]" = contextvars.ContextVar("doeff_migrate_await_site")
"""(scheduler, task, segment) of the ``Await`` whose coroutine runs in this asyncio context."""


def _unwind(top: Segment, stop: "Segment | None") -> None:
    """Close the frames from segment ``top`` down to (not including) ``stop`` so their ``finally``
    blocks run now, in doeff's order: segment by segment from ``top`` outward, and within a segment
    from its outermost frame in (doeff drops the abandoned continuation's frame lists in order)."""
    s = top
    while s is not None and s is not stop:
        _close_frames(s.frames, 0)
        s = s.parent


def _close_frames(frames: list, start: int) -> None:
    """Close ``frames[start:]`` outermost first and remove them. As in doeff, what a frame yields
    while closing is dropped: it gets ``GeneratorExit`` again there (its remaining cleanup code does
    not run)."""
    doomed = frames[start:]
    del frames[start:]
    for gen in doomed:
        for _ in range(1000):  # a frame that keeps yielding in its cleanup is given up on
            try:
                gen.throw(GeneratorExit)
            except BaseException:  # noqa: BLE001 - GeneratorExit, StopIteration or its own error: it is done
                break


def _abandon(k: Continuation) -> "Segment | None":
    """Unwind the block a handler aborted (returned without answering) before its value goes on.

    None when done. When the block contains the plain Python frame of a re-entrant call (the
    handler sits outside it), that frame cannot be unwound from here: only the re-entrant call's own
    frames are closed, and its boundary segment is returned, for the caller to raise
    ``ReentrantCallError`` into."""
    k.used = True
    s = k.top
    stop = k.hseg.parent
    while s is not None and s is not stop:
        if s.frames and type(s.frames[0]) is _Boundary:
            _unwind(k.top, s)
            _close_frames(s.frames, 1)
            return s
        s = s.parent
    _unwind(k.top, stop)
    return None


def _aborted_across(name: str) -> ReentrantCallError:
    return ReentrantCallError(
        f"handler {name} aborted (returned without resuming) a block that contains a re-entrant call's "
        "plain Python caller; the abort cannot unwind that Python frame. Resume or Transfer the "
        "continuation instead, or perform the effect from a program rather than a dependency callable"
    )


def handlers_between(k: Continuation) -> list:
    """The handler objects installed between the perform site of ``k`` and its handler (inner first)."""
    out = []
    s = k.top
    while s is not None and s is not k.hseg:
        if s.handler is not None:
            out.append(s.handler)
        s = s.parent
    return out


# --- futures and tasks -------------------------------------------------------------------------


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
    """

    __slots__ = ("number", "cancelled", "path", "spawned")

    def __init__(self, number: int, path: tuple = ()) -> None:
        super().__init__()
        self.number = number
        self.cancelled = False
        self.path = path
        self.spawned = 0

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<Task {self.number} {state}>"


class ExternalPromise:
    """Completed from any thread with ``complete(value)`` or ``fail(exc)``; wait on ``.future``."""

    __slots__ = ("future", "_inbox")

    def __init__(self, future: Future, inbox: "queue.SimpleQueue") -> None:
        self.future = future
        self._inbox = inbox

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


def _task_body(program: Any):
    return (yield program)


class _RunFinished(Exception):
    """Carries the main program's (value, error) out of the loop once the leftover tasks are done."""


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
                _unwind(seg, None)
        self.warn_leftovers()
        raise _RunFinished(self.finishing)

    def retrieved(self, futs: Any) -> None:
        if self.unretrieved:
            for f in futs:
                self.unretrieved.pop(f, None)

    def warn_leftovers(self) -> None:
        """At the end of a run, as asyncio does: say which task failures nobody looked at."""
        import warnings

        for t, err in self.unretrieved.items():
            warnings.warn(f"Task exception was never retrieved: task {t.path} raised {err!r}", RuntimeWarning, stacklevel=2)
        self.unretrieved.clear()

    complete = staticmethod(complete_future)

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
        fired = [False]

        parked = self.parked

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
        fired = [False]

        parked = self.parked

        def wake(f: Future) -> None:
            if not fired[0] and parked.get(task) is seg:
                fired[0] = True
                ready.append((task, seg, f.value, f.error))

        for f in futs:
            f.waiters.append(wake)

    def new_task(self, spawner: Any) -> Task:
        """A task spawned by ``spawner``, named by its path (see ``Task``)."""
        self.count += 1
        if spawner is MAIN_TASK:
            child = Task(self.count, (self.main_spawned,))
            self.main_spawned += 1
        else:
            child = Task(self.count, spawner.path + (spawner.spawned,))
            spawner.spawned += 1
        return child

    def external(self) -> Future:
        self.pending_external += 1
        return Future()

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
            item = self.inbox.get()
            if type(item) is not tuple:
                item.start(self)  # a program handed over by a coroutine (arun_reentrant)
                continue
            fut, value, error = item
            self.pending_external -= 1
            self.complete(fut, value, error)


def _as_future(x: Any) -> Future:
    if isinstance(x, Future):
        return x
    if isinstance(x, ExternalPromise):
        return x.future
    raise TypeError(f"Wait/Gather/Race expect tasks (answers of Spawn) or futures, got {x!r}; Spawn each program first")


def _clone_chain(seg: Segment) -> Segment:
    """A fresh chain of empty segments with the same handler objects as ``seg``'s chain."""
    handlers = []
    s = seg
    while s is not None:
        if s.handler is not None:
            handlers.append(s.handler)
        s = s.parent
    top = Segment(None)
    for h in reversed(handlers):
        top = Segment(top, h)
    return top


def _at(gen: Any) -> str:
    where = location_of(gen)
    return f" (at {where})" if where else ""


def _bad_yield(y: Any, gen: Any) -> TypeError:
    where = location_of(gen)
    where = f" at {where}" if where else ""
    if isinstance(y, DoFunction) or (callable(y) and not isinstance(y, type)):
        name = getattr(y, "__qualname__", repr(y))
        return TypeError(f"yielded the function {name} itself{where}; call it first: `yield {name}(...)`")
    if hasattr(y, "__await__"):
        return TypeError(f"yielded an awaitable {y!r}{where}; use `yield Await(coroutine)`")
    return TypeError(f"a program may only yield effects or programs; got {y!r}{where}")


class _Run:
    """What the loops of one run share: the segment whose frame runs now (published before every
    step, so a re-entrant call and ``perform_site_location`` find it), the handler bodies whose
    continuation is not consumed yet (body -> continuation), and the scheduler (None until the
    first scheduling effect)."""

    __slots__ = ("seg", "hb", "sched")

    def __init__(self, seg: "Segment") -> None:
        self.seg = seg
        self.hb: dict = {}
        self.sched: "Scheduler | None" = None


class _Current(threading.local):
    task: Any = None  # the running task (MAIN_TASK for a run's main program); None outside runs
    run: "_Run | None" = None  # the run whose program step is executing on this thread


_current = _Current()
MAIN_TASK = Task(0, ())
"""Stands for the main program of every run: its path is ``()``."""


def current_task() -> "Task":
    """The task running now (``MAIN_TASK``, path ``()``, for a run's main program)."""
    t = _current.task
    if t is None:
        raise RuntimeError("current_task() is only meaningful while a program runs")
    return t


def drive(program: Any) -> Any:
    """Run ``program`` to completion on a fresh interpreter; return its value or raise."""
    kind = program._kind
    current = _current
    outer_task = current.task
    outer_run = current.run
    current.task = MAIN_TASK  # also when nested in another run: this run has a main program of its own
    try:
        if kind == K_CALL:
            gen = program()
            root = Segment(None)
            run = current.run = _Run(root)
            try:
                y = gen.send(None)
            except StopIteration as stop:
                return stop.value  # a program that performs nothing costs no interpreter set-up
            root.frames.append(gen)
            return _drive(run, root, y, MAIN_TASK, None)
        root = Segment(None)
        run = current.run = _Run(root)
        return _drive(run, root, program, MAIN_TASK, None)
    except _RunFinished as finished:
        outcome = finished.args[0]  # raised below, outside this handler, so its own context stays
    except BaseException as err:
        raise err.with_traceback(_program_frames_only(err.__traceback__))
    finally:
        current.task = outer_task
        current.run = outer_run
    value, error = outcome
    if error is not None:
        raise error.with_traceback(_program_frames_only(error.__traceback__))
    return value


class _Boundary:
    """The bottom frame of a re-entrant call's chain: it takes the nested program's outcome the way
    a generator frame would (``send``/``throw``) and hands itself to the dispatch, which ends the
    loop that owns it (or, reached by a deeper loop, keeps the outcome until that loop returns)."""

    __slots__ = ("done", "value", "error")
    _kind = K_BOUNDARY

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: "BaseException | None" = None

    def send(self, value: Any) -> "_Boundary":
        self.done = True
        self.value = value
        return self

    def throw(self, error: BaseException) -> "_Boundary":
        if type(error) is GeneratorExit:
            raise error  # closed while unwinding: nothing of its own to clean up
        self.done = True
        self.error = error
        return self


class _BoundaryReached(Exception):
    """A nested loop found its re-entrant call finished (by a deeper loop) when switching tasks."""


def run_reentrant(program: Any) -> Any:
    """Run ``program`` to completion on the run whose program step is executing now; return its
    value or raise its exception into the caller.

    For plain Python code running inside a program step (a dependency callable called in a
    comprehension, a callback, ...): the program gets its own chain of frames whose parent is the
    calling frame's segment, so every effect it performs is answered by the handlers around the
    caller, exactly as if the caller had yielded it: ``Ask`` sees the same env and lazily built
    singletons, ``Tell``/recording/user handlers see the effects, ``Try``/``Local`` behave the same.
    It runs as the caller's task. When it blocks (``Wait``, ``Gather``, ``Await``, ``RunInThread``,
    ...) a nested scheduling loop on the same scheduler runs the other ready tasks meanwhile.

    What a re-entrant call may not do:

    * be made outside a running program, or from another thread (``RunInThread`` work, a thread of
      its own): ``ReentrantCallError``;
    * let a handler installed *outside* the call abort the handled block (return without resuming):
      that block contains the caller's Python frame, which the interpreter cannot unwind. The nested
      program's frames are closed and ``ReentrantCallError`` is raised into the caller. ``Resume``,
      ``Transfer`` and their ``Throw`` forms are fine (a non-tail ``Resume`` gets back the value of
      its whole block, as usual);
    * wait on work that only the caller's own task, further down the Python stack, can produce (a
      re-entrant call made while another, older one of a different task is still blocked): the
      nested loop reports ``SchedulerDeadlockError`` rather than hang.
    """
    current = _current
    run = current.run
    if run is None:
        raise ReentrantCallError(
            f"a dependency callable ran {program!r} outside any running program: call it while the program "
            "that asked for it runs (inside its steps, on the run's thread), not after run() returned"
        )
    caller_seg = run.seg
    task = current.task
    boundary = _Boundary()
    seg = Segment(caller_seg)
    seg.frames.append(boundary)
    try:
        _drive(run, seg, program, task, boundary)
    except _BoundaryReached:
        pass
    finally:
        run.seg = caller_seg
        current.task = task
    if boundary.error is not None:
        raise boundary.error
    return boundary.value


async def arun_reentrant(program: Any) -> Any:
    """Awaited from a coroutine the runtime runs through ``Await``: run ``program`` on the run that
    awaited the coroutine and return its value (or raise its exception).

    The coroutine runs on the runtime's background event loop thread, while the run's thread waits
    for outside completions. The program is handed over thread-safely: it becomes a task of that run,
    spawned under the handlers of the ``Await``, and the run's scheduler runs it; its outcome comes
    back to the awaiting coroutine through its event loop. Outside such a coroutine (no run awaited
    it, or ``Await`` was answered by a handler of one's own): ``ReentrantCallError``.
    """
    site = _AWAIT_SITE.get(None)
    if site is None:
        raise ReentrantCallError(
            f"an async dependency callable ran {program!r} outside a coroutine awaited by a running program: "
            "await it inside a coroutine the program runs with `yield Await(...)`"
        )
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def settle(task: Future) -> None:
        def set_outcome() -> None:
            if answer.cancelled():
                return
            if task.error is not None:
                answer.set_exception(task.error)
            else:
                answer.set_result(task.value)

        loop.call_soon_threadsafe(set_outcome)

    sched, task, seg = site
    sched.inbox.put(_SpawnRequest(program, task, seg, settle))
    return await answer


class _SpawnRequest:
    """Put into a scheduler's inbox from another thread: start ``program`` as a task of the run,
    under the handlers of ``seg``, and call ``settle(task)`` when it ends."""

    __slots__ = ("program", "parent", "seg", "settle")

    def __init__(self, program: Any, parent: Any, seg: "Segment", settle: Any) -> None:
        self.program = program
        self.parent = parent
        self.seg = seg
        self.settle = settle

    def start(self, sched: "Scheduler") -> None:
        child = sched.new_task(self.parent)
        child.waiters.append(self.settle)
        top = _clone_chain(self.seg)
        top.frames.append(_task_body(self.program))
        sched.ready.append((child, top, None, None))


_RUNTIME_DIR = __file__.rpartition("/")[0] + "/"


def _program_frames_only(tb: Any) -> Any:
    """The traceback without the interpreter's own frames, so it reads as the program's call chain."""
    import types

    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_RUNTIME_DIR):
            kept.append(tb)
        tb = tb.tb_next
    out = None
    for t in reversed(kept):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def perform_site_location() -> str:
    """``file:line in function`` of the program frame whose effect is being answered, for a native
    handler's ``handle()`` to name in its messages ('' when not called from inside a run)."""
    run = _current.run
    if run is None:
        return ""
    frames = run.seg.frames
    if not frames:
        return ""
    return location_of(frames[-1])


def _next_ready(sched: "Scheduler", boundary: "_Boundary | None") -> tuple:
    """The next task to run; a nested loop whose re-entrant call was finished by a deeper loop
    returns to its caller instead."""
    if boundary is not None and boundary.done:
        raise _BoundaryReached
    nxt = sched.next_ready()
    _current.task = nxt[0]
    return nxt


def _drive(run: _Run, seg: Segment, y: Any, task: Any, boundary: "_Boundary | None") -> Any:
    """The loop. ``seg`` holds the started frames (possibly none) and ``y`` is the first thing to
    dispatch. ``boundary`` is None for a run's main loop, or the bottom frame of the re-entrant call
    this nested loop runs (the loop returns when it is reached)."""
    frames = seg.frames
    gen = frames[-1] if frames else None
    value: Any = None
    exc: BaseException | None = None
    hb = run.hb
    while True:
        search = seg
        while True:  # dispatch ``y``; ``continue`` re-dispatches a replaced ``y``
            try:
                kind = y._kind
            except AttributeError:
                kind = -1
            if kind == K_CALL:
                # Start the sub-program right here: most calls either return at once or yield
                # their first effect, which is then dispatched without another trip round the loop.
                try:
                    g = y()
                    y = g.send(None)
                except StopIteration as stop:
                    value = stop.value
                    break
                except BaseException as err:
                    exc = err
                    break
                frames.append(g)
                gen = g
                search = seg
                continue
            if kind == K_EFFECT:
                s = search
                while s is not None:
                    t = s.types
                    if t is not None and isinstance(y, t):
                        handle = s.handle
                        if handle is _STATE_HANDLE:
                            # state() is answered in the loop itself, as doeff's VM answers it natively.
                            if y.__class__ is _Get:
                                value = s.handler.store.get(y.key)
                                break
                            if y.__class__ is _Put:
                                s.handler.store[y.key] = y.value
                                value = None
                                break
                        if handle is not None:
                            try:
                                r = handle(y, s)
                            except BaseException as err:
                                exc = err
                                break
                            if r is PASS:
                                s = s.parent
                                continue
                            if type(r) is AtSite:
                                make_body = r.body
                                if make_body is None:
                                    seg.frames.append(r.generator)
                                    value = None
                                    break
                                k = _new_continuation(Continuation)
                                k.top = seg
                                k.hseg = s
                                k.used = False
                                body = make_body(k)
                                outer = s.parent
                                outer.frames.append(body)
                                hb[body] = k
                                seg = outer
                                value = None
                                break
                            value = r
                            break
                        k = _new_continuation(Continuation)
                        k.top = seg
                        k.hseg = s
                        k.used = False
                        h = s.handler
                        outer = run.seg = s.parent  # a plain-function handler's code runs outside it
                        try:
                            body = h.fn(y, k)
                        except BaseException as err:
                            # As in doeff: a handler raising before it answers raises at the perform site.
                            k.used = True
                            exc = err
                            break
                        if body.__class__ is _GENERATOR:
                            outer.frames.append(body)
                            hb[body] = k
                            seg = outer
                            value = None
                            break
                        if isinstance(body, (Resume, Transfer, ResumeThrow, TransferThrow)):
                            exc = TypeError(
                                f"handler {h.name} returned {type(body).__name__}(...) without yielding it; "
                                f"write `return (yield {type(body).__name__}(k, value))`"
                            )
                            break
                        # A plain function handler: its return value ends the handled block.
                        crossed = _abandon(k)
                        if crossed is None:
                            seg = outer
                            value = body
                        else:
                            seg = crossed
                            exc = _aborted_across(h.name)
                        break
                    s = s.parent
                else:
                    # No installed handler: the built-in scheduler, or UnhandledEffect at the yield.
                    ty = type(y)
                    if ty in _SCHEDULER_EFFECTS:
                        sched = run.sched
                        if sched is None:
                            sched = run.sched = Scheduler()
                        outcome = _schedule(sched, y, task, seg)
                        if outcome is None:
                            task, seg, value, exc = _next_ready(sched, boundary)
                        else:
                            value, exc = outcome
                    else:
                        exc = UnhandledEffect(y, location_of(seg.frames[-1]) if seg.frames else "")
                break
            if K_RESUME <= kind <= K_TRANSFER_THROW:
                k = y.k
                if type(k) is not Continuation:
                    exc = TypeError(f"{type(y).__name__} needs the handler's continuation k, got {k!r}")
                    break
                if k.used:
                    # Fatal, as in doeff: the run stops here; no program or handler can catch it.
                    raise RuntimeError(
                        f"{type(y).__name__}: continuation already consumed (one-shot violation); "
                        f"a handler may resume its continuation once{_at(gen)}"
                    )
                k.used = True
                if hb:
                    hb.pop(gen, None)  # k is consumed: a later raise in the body is the body's own
                if kind == K_TRANSFER or kind == K_TRANSFER_THROW:
                    frames.pop()
                else:
                    h = k.hseg.handler
                    if gen.gi_code is h.tail_code and gen.gi_frame.f_lasti in h.tail_offsets:
                        frames.pop()  # a Resume in tail position (see handlers._tail_resume_sites)
                seg = k.top
                if kind == K_RESUME or kind == K_TRANSFER:
                    value = y.value
                else:
                    value = None
                    exc = y.value
                break
            if kind == K_CALL_PLAIN:
                try:
                    value = y()
                except BaseException as err:
                    exc = err
                break
            if kind == K_PURE:
                value = y.value
                break
            if kind == K_WITH_HANDLER:
                try:
                    active = y.handler.activate()
                except BaseException as err:
                    exc = err
                    break
                seg = run.seg = Segment(seg, active)
                frames = seg.frames
                search = seg
                y = y.program
                continue
            if kind == K_PASS:
                k = y.k
                if type(k) is not Continuation or k.used:
                    raise RuntimeError(f"Pass: continuation already consumed (one-shot violation){_at(gen)}")
                k.used = True
                top = frames.pop()
                if hb:
                    hb.pop(top, None)
                seg = run.seg = k.top
                search = k.hseg.parent
                y = y.effect
                continue
            if kind == K_BOUNDARY:
                # A re-entrant call's program has ended (``y`` holds its outcome).
                if y is boundary:
                    return None
                # Another loop's call, finished while this deeper loop runs: it is picked up once
                # this loop returns; meanwhile run the other tasks.
                task, seg, value, exc = _next_ready(run.sched, boundary)
                break
            # Not an effect or a program: raise at the yield, naming where.
            exc = _bad_yield(y, gen)
            break

        # Send the answer into the top frame (unwinding finished frames) until one yields.
        while True:
            frames = seg.frames
            if not frames:
                parent = seg.parent
                if parent is not None:
                    seg = parent
                    continue
                # A task's chain is empty: the task is finished.
                sched = run.sched
                if task is MAIN_TASK:
                    if sched is not None:
                        if sched.cancel_leftovers(value, exc):
                            task, seg, value, exc = _next_ready(sched, boundary)
                            continue
                        sched.warn_leftovers()
                    if exc is not None:
                        raise exc
                    return value
                if exc is not None and not task.waiters and not isinstance(exc, TaskCancelledError):
                    sched.unretrieved[task] = exc  # type: ignore[union-attr]
                sched.complete(task, value, exc)  # type: ignore[union-attr]
                task, seg, value, exc = _next_ready(sched, boundary)  # type: ignore[arg-type]
                continue
            gen = frames[-1]
            run.seg = seg
            try:
                if exc is None:
                    y = gen.send(value)
                else:
                    e = exc
                    exc = None
                    y = gen.throw(e)
            except StopIteration as stop:
                frames.pop()
                value = stop.value
                if hb and gen in hb:
                    # A handler body returned without answering: it aborts the handled block.
                    k = hb.pop(gen)
                    crossed = _abandon(k)
                    if crossed is not None:
                        seg = crossed
                        value = None
                        exc = _aborted_across(k.hseg.handler.name)
                continue
            except BaseException as err:
                frames.pop()
                value = None
                if hb and gen in hb:
                    k = hb.pop(gen)
                    if not k.used:
                        # A handler that raises before answering raises at the perform site.
                        k.used = True
                        seg = k.top
                exc = err
                continue
            break


def _g():
    yield


_GENERATOR = type(_g())


_SCHEDULER_EFFECTS = frozenset({E.Spawn, E.Wait, E.Gather, E.Race, E.Await, E.RunInThread, E.CreateExternalPromise})


def _schedule(sched: Scheduler, y: Any, task: Any, seg: Segment):
    """Answer a scheduling effect: ``(value, exc)`` now, or ``None`` when the task was parked."""
    ty = type(y)
    if ty is E.Spawn:
        child = sched.new_task(task)
        top = _clone_chain(seg)
        top.frames.append(_task_body(y.program))
        # As in doeff: the child, then the spawner, join the back of the FIFO ready queue and the
        # head runs next. From a lone main program the child thus runs at once until it blocks or
        # ends (for spawn-all-then-gather code also asyncio's and pinjected's order); spawns inside
        # tasks take turns with the tasks already waiting to run.
        sched.ready.append((child, top, None, None))
        sched.ready.append((task, seg, child, None))
        return None
    if ty is E.Wait:
        try:
            fut = _as_future(y.task)
        except TypeError as err:
            return (None, err)
        if fut.done:
            sched.retrieved((fut,))
            return (fut.value, fut.error)
        sched.park_on(fut, task, seg)
        return None
    if ty is E.Gather:
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
    if ty is E.Race:
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
    if ty is E.CreateExternalPromise:
        return (ExternalPromise(sched.external(), sched.inbox), None)
    in_flight = sched.in_flight
    if ty is E.Await:
        coro = y.coroutine
        if not asyncio.iscoroutine(coro) and not isinstance(coro, asyncio.Future) and not hasattr(coro, "__await__"):
            return (None, TypeError(f"Await expects a coroutine or awaitable, got {coro!r}"))
        fut = sched.external()
        inbox = sched.inbox

        site = (sched, task, seg)

        async def _wrap():
            _AWAIT_SITE.set(site)  # for arun_reentrant in the coroutine (this task's own context)
            return await coro

        cf = asyncio.run_coroutine_threadsafe(_wrap(), background_loop())
        sched.in_flight.add(cf)

        def done(c: Any) -> None:
            in_flight.discard(c)
            try:
                inbox.put((fut, c.result(), None))
            except BaseException as err:  # noqa: BLE001 - delivered to the awaiting program
                inbox.put((fut, None, err))

        cf.add_done_callback(done)
        sched.park_on(fut, task, seg)
        return None
    if ty is E.RunInThread:
        fut = sched.external()
        inbox = sched.inbox
        cf = thread_pool().submit(y.fn, *y.args, **y.kwargs)
        sched.in_flight.add(cf)

        def done_thread(c: Any) -> None:
            in_flight.discard(c)
            try:
                inbox.put((fut, c.result(), None))
            except BaseException as err:  # noqa: BLE001
                inbox.put((fut, None, err))

        cf.add_done_callback(done_thread)
        sched.park_on(fut, task, seg)
        return None
    raise AssertionError(ty)  # pragma: no cover


__all__ = [
    "PASS",
    "AtSite",
    "Continuation",
    "Future",
    "Task",
    "ExternalPromise",
    "TaskCancelledError",
    "drive",
    "current_task",
    "perform_site_location",
    "MAIN_TASK",
    "complete_future",
    "handlers_between",
]

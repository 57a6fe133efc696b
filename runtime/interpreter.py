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
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import effects as E
from .errors import SchedulerDeadlockError, TaskCancelledError, UnhandledEffect, location_of
from .program import (
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


def _unwind(top: Segment, stop: "Segment | None") -> None:
    """Close the frames from segment ``top`` down to (not including) ``stop``, innermost first, so
    their ``finally`` blocks run now. As in doeff, what a frame yields while unwinding is dropped: the
    frame gets ``GeneratorExit`` again at that point (its remaining cleanup code does not run)."""
    s = top
    while s is not None and s is not stop:
        frames = s.frames
        while frames:
            gen = frames.pop()
            for _ in range(1000):  # a frame that keeps yielding in its cleanup is given up on
                try:
                    gen.throw(GeneratorExit)
                except BaseException:  # noqa: BLE001 - GeneratorExit, StopIteration or its own error: it is done
                    break
        s = s.parent


def _abandon(k: Continuation) -> None:
    """Unwind the block a handler aborted (returned without answering) before its value goes on."""
    k.used = True
    _unwind(k.top, k.hseg.parent)


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
            fut, value, error = self.inbox.get()
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


class _Current(threading.local):
    task: Any = None  # the running task (MAIN_TASK for a run's main program); None outside runs


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
    if kind == K_CALL_PLAIN:
        # A @do function without yields performs nothing: its value is the program's.
        return program()
    current = _current
    outer_task = current.task
    current.task = MAIN_TASK  # also when nested in another run: this run has a main program of its own
    try:
        if kind == K_CALL:
            gen = program()
            try:
                y = gen.send(None)
            except StopIteration as stop:
                return stop.value  # a program that performs nothing costs no interpreter set-up
            return _drive(gen, y)
        return _drive(None, program)
    except _RunFinished as finished:
        outcome = finished.args[0]  # raised below, outside this handler, so its own context stays
    except BaseException as err:
        raise err.with_traceback(_program_frames_only(err.__traceback__))
    finally:
        current.task = outer_task
    value, error = outcome
    if error is not None:
        raise error.with_traceback(_program_frames_only(error.__traceback__))
    return value


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


_new_segment = object.__new__


def perform_site_location() -> str:
    """``file:line in function`` of the program frame whose effect is being answered, for a native
    handler's ``handle()`` to name in its messages ('' when not called from inside a run)."""
    import sys

    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _drive.__code__:
        frame = frame.f_back
    if frame is None:
        return ""
    seg = frame.f_locals.get("seg")
    if seg is None or not seg.frames:
        return ""
    return location_of(seg.frames[-1])


def _drive(gen: Any, y: Any) -> Any:
    """The loop. ``gen`` is the started main generator (or None) and ``y`` the first thing to dispatch."""
    root = _new_segment(Segment)
    root.parent = root.handler = root.types = root.handle = None
    root.frames = frames = [] if gen is None else [gen]
    seg = root
    value: Any = None
    exc: BaseException | None = None
    hb: dict = {}  # generator-handler bodies whose continuation is not consumed yet -> continuation
    sched: Scheduler | None = None
    task: Any = MAIN_TASK  # the running task
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
                        body = h.fn(y, k)
                        if body.__class__ is _GENERATOR:
                            outer = s.parent
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
                        _abandon(k)
                        seg = s.parent
                        value = body
                        break
                    s = s.parent
                else:
                    # No installed handler: the built-in scheduler, or UnhandledEffect at the yield.
                    ty = type(y)
                    if ty in _SCHEDULER_EFFECTS:
                        if sched is None:
                            sched = Scheduler()
                        outcome = _schedule(sched, y, task, seg)
                        if outcome is None:
                            task, seg, value, exc = sched.next_ready()
                            _current.task = task
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
                if kind == K_TRANSFER or kind == K_TRANSFER_THROW or gen.gi_code is k.hseg.handler.tail_code:
                    # Transfer, or a Resume in tail position (see handlers._tail_resume_code).
                    frames.pop()
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
                seg = Segment(seg, active)
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
                seg = k.top
                search = k.hseg.parent
                y = y.effect
                continue
            lower = getattr(type(y), "__doeff_lower__", None)
            if lower is not None:
                # A program defined by another one (expressions.Expr): run that one in its place.
                y = lower(y)
                continue
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
                if task is MAIN_TASK:
                    if sched is not None:
                        if sched.cancel_leftovers(value, exc):
                            task, seg, value, exc = sched.next_ready()
                            _current.task = task
                            continue
                        sched.warn_leftovers()
                    if exc is not None:
                        raise exc
                    return value
                if exc is not None and not task.waiters and not isinstance(exc, TaskCancelledError):
                    sched.unretrieved[task] = exc  # type: ignore[union-attr]
                sched.complete(task, value, exc)  # type: ignore[union-attr]
                task, seg, value, exc = sched.next_ready()  # type: ignore[union-attr]
                _current.task = task
                continue
            gen = frames[-1]
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
                    _abandon(hb.pop(gen))
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
        sched.count += 1
        if task is MAIN_TASK:
            child = Task(sched.count, (sched.main_spawned,))
            sched.main_spawned += 1
        else:
            child = Task(sched.count, task.path + (task.spawned,))
            task.spawned += 1
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

        async def _wrap():
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

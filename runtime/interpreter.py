"""The interpreter: a small trampoline that runs programs and dispatches their effects to handlers.

The stack a task runs on is a chain of segments (``stack.py``); an effect yielded at the top is
matched against the handlers of the segments from the top down.

* A *native* handler (a plain object with ``handle(effect, segment)``; the standard handlers) answers
  in place: no continuation is captured, the answer is sent straight back. This is the hot path.
* A *generator* handler (``@handler def h(effect, k)``) gets a continuation ``k`` = the segments from
  the perform site down to its own. Its body runs as a frame pushed on the segment *below* its own,
  so the effects it performs reach only outer handlers, and when the handled block finishes, its
  value flows into that frame: ``yield Resume(k, v)`` evaluates to the block's result, and a body
  that returns without resuming aborts the block with its return value. Capture and resume are O(1).

Effects no handler takes reach the bottom segment of the chain and go to the built-in scheduler
(``scheduler.py``), or raise ``UnhandledEffect`` at the yield.

``_drive`` is the loop, each turn two steps: *dispatch* answers what the top frame yielded (into
``value`` or ``exc``) and picks the segment to send into; *send* sends the answer into that
segment's top frame, which yields the next thing, while frames that finish unwind (``_unwind``).
Only the hot paths are written out in the loop: native answers, ``state()``'s ``Get``/``Put``, and
starting or finishing a sub-program. A generator handler is entered by ``_to_generator_handler``,
which also runs the body's first step, so a body answering at once in tail position costs one call;
the rest (``Resume`` from later steps, ``Pass``, ``WithHandler``, ...) is ``_control``.

A sub-program runs in a *runner* (``stack.new_runner``): CPython hands a generator's return value to
``yield from`` without raising ``StopIteration``, and catching that exception costs more than a
generator step, so sub-program calls return through a runner's ``Returned`` marker instead. The cost
is one more generator hop for every step of a sub-program (an effect performed inside one).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from . import effects as E
from .errors import ReentrantCallError, UnhandledEffect, location_of
from .program import (
    K_BOUNDARY,
    K_CALL,
    K_CALL_PLAIN,
    K_EFFECT,
    K_GO_ON,
    K_OTHER,
    K_PASS,
    K_PURE,
    K_REDIRECT,
    K_RESUME,
    K_RETURNED,
    K_TRANSFER,
    K_TRANSFER_THROW,
    K_WITH_HANDLER,
    DoFunction,
    Resume,
    ResumeThrow,
    Transfer,
    TransferThrow,
)
from .scheduler import (  # noqa: F401 - re-exported: handlers, recording and bridge import them from here
    AWAIT_SITE as _AWAIT_SITE,
    MAIN_TASK,
    SCHEDULING,
    ExternalPromise,
    Future,
    LoopBlock,
    RunFinished,
    Scheduler,
    SpawnRequest as _SpawnRequest,
    Task,
    TaskCancelledError,
    background_loop,
    complete_future,
    thread_pool,
)
from .stack import (  # noqa: F401 - handlers_between: re-exported
    BOTTOM_TYPES,
    Boundary,
    Continuation,
    Returned,
    Segment,
    abandon,
    handlers_between,
    new_runner,
    runner_pool,
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


AS_GENERATOR = AtSite(None)
"""Returned by the ``handle`` of a native handler that also has a generator body ``fn(effect, k)``
(the recorder): answer this effect with that body, as a ``@handler`` would. An ``AtSite``, so the
loop hands it on with no check of its own."""


class Redirect:
    """Yielded by a handler body running on the segment below ``holder``'s: answer ``effect`` as the
    native handler of ``holder`` left it when it answered ``answer`` (``PASS`` or ``AtSite``), as if the
    body had performed ``effect`` and that handler had answered so. For a handler that has already
    called an outer native handler itself (the recorder) and must not call it a second time."""

    __slots__ = ("effect", "holder", "answer")
    _kind = K_REDIRECT

    def __init__(self, effect: Any, holder: Segment, answer: Any) -> None:
        self.effect = effect
        self.holder = holder
        self.answer = answer


class GoOn:
    """Pushed at the perform site (in an ``AtSite``) by a native handler that ran a generator
    handler's first step itself (``first_step_of``) when that step did not answer there: the loop's
    send into it takes it off the stack, and ``_control`` takes the loop to where the body went."""

    __slots__ = ("frames", "seg", "value", "exc", "next")
    _kind = K_GO_ON

    def send(self, _value: Any) -> "GoOn":
        self.frames.pop()
        return self

    def throw(self, error: BaseException) -> Any:
        raise error  # closed with an aborted block before the loop reached it


def first_step_of(effect: Any, site_seg: Segment, holder: Segment) -> tuple:
    """For a native handler answering ``effect`` (performed from the top frame of ``site_seg``) by
    way of the generator handler of ``holder`` further out (the recorder, observing that handler's
    answer): run that handler's body up to its first step, as the loop does. ``(None, value, exc)``
    when the body answered the perform site at once (a tail ``Resume``/``Transfer``, or a raise);
    else ``(answer, None, None)``: the native handler returns ``answer``, which takes the loop to
    where the body went (its next step, or past the block it aborted)."""
    run = _current.run
    program = site_seg.frames[-1]
    seg, task, value, exc, step = _to_generator_handler(run, effect, site_seg, holder, run.task, None)
    run.seg = site_seg
    if seg is site_seg and step is None and site_seg.frames and site_seg.frames[-1] is program:
        return None, value, exc
    go_on = GoOn()
    go_on.frames, go_on.seg, go_on.value, go_on.exc, go_on.next = site_seg.frames, seg, value, exc, step
    return AtSite(go_on), None, None


class _Run(Segment):
    """A run: the root segment of its main program's chain, which also holds what the loops of the
    run share: the segment whose frame runs now (published before every step, so a re-entrant call
    and ``perform_site_location`` find it), the task running now, and the scheduler (None until the
    first scheduling effect). One object, since ``run()`` builds one every time."""

    __slots__ = ("seg", "task", "sched")
    __init__ = object.__init__  # filled in by drive(): no Python __init__ call
    # A root has no parent and no handler, ever: class attributes instead of four stores per run().
    parent = handler = handle = state_store = None
    types = BOTTOM_TYPES


class _Current(threading.local):
    run: "_Run | None" = None  # the run whose program step is executing on this thread

    def __init__(self) -> None:
        self.runners = runner_pool()  # this thread's idle runners (stack.new_runner)


_current = _Current()


def current_task() -> "Task":
    """The task running now (``MAIN_TASK``, path ``()``, for a run's main program)."""
    run = _current.run
    if run is None:
        raise RuntimeError("current_task() is only meaningful while a program runs")
    return run.task


def perform_site_location() -> str:
    """``file:line in function`` of the program frame whose effect is being answered, for a native
    handler's ``handle()`` to name in its messages ('' when not called from inside a run)."""
    run = _current.run
    if run is None:
        return ""
    frames = run.seg.frames
    return location_of(frames[-1]) if frames else ""


def drive(program: Any) -> Any:
    """Run ``program`` to completion on a fresh interpreter; return its value or raise."""
    state = _current.__dict__  # this thread's attributes: one thread-local lookup, then dict operations
    outer_run = state.get("run")  # a run nested in another's step has a main program of its own
    run = state["run"] = _Run()
    run.frames = []
    run.seg = run
    run.task = MAIN_TASK
    run.sched = None
    try:
        if program._kind == K_CALL:  # first step here: a program that performs nothing costs no loop set-up
            runners = state["runners"]
            runner = runners.pop() if runners else new_runner()
            yielded = runner.send(program())
            if type(yielded) is Returned:
                runners.append(runner)
                value, yielded.value = yielded.value, None
                return value
            run.frames.append(runner)
            return _drive(run, run, yielded, MAIN_TASK, None)
        return _drive(run, run, program, MAIN_TASK, None)
    except RunFinished as finished:
        outcome = finished.args[0]  # raised below, outside this handler, so its own context stays
    except BaseException as err:
        raise err.with_traceback(_program_frames_only(err.__traceback__))
    finally:
        state["run"] = outer_run
        run.seg = None  # it points back into the run's own chain: no cycle is left for the GC
    value, error = outcome
    if error is not None:
        raise error.with_traceback(_program_frames_only(error.__traceback__))
    return value


# --- re-entrant calls ------------------------------------------------------------------------------


class _BoundaryReached(Exception):
    """A nested loop found its re-entrant call finished (by a deeper loop) when switching tasks."""


def current_run() -> "_Run | None":
    """The run whose program step is executing on this thread (None outside one): what a
    dependency callable is bound to, to check with ``run_reentrant(..., bound_to=)`` that it lives."""
    return _current.run


def _program_name(program: Any) -> str:
    return getattr(getattr(program, "func", None), "__qualname__", None) or repr(program)


def _check_bound_run(bound_to: "_Run | None", name: str) -> None:
    if bound_to is not None and bound_to.seg is None:  # drive() clears it when the run ends
        raise ReentrantCallError(
            f"{name!r} was called outside any running program: the run that handed it over has ended. "
            "A dependency's calls run on its run (its env, singletons and handlers); call it while that run "
            "runs, e.g. keep the code using the object inside the migrated program"
        )


def run_reentrant(program: Any, name: "str | None" = None, bound_to: "_Run | None" = None) -> Any:
    """Run ``program`` to completion on the run whose program step is executing now; return its
    value or raise its exception into the caller.

    For plain Python code running inside a program step (a dependency callable called in a
    comprehension, a callback, ...): the program gets its own chain of frames whose parent is the
    calling frame's segment, so every effect it performs is answered by the handlers around the
    caller, exactly as if the caller had yielded it: ``Ask`` sees the same env and lazily built
    singletons, ``Tell``/recording/user handlers see the effects, ``Try``/``Local`` behave the same.
    It runs as the caller's task. When it blocks (``Wait``, ``Gather``, ``Await``, ``RunInThread``,
    ...) a nested scheduling loop on the same scheduler runs the other ready tasks meanwhile.

    Called from a coroutine that a run awaits (``Await``, on the runtime's event loop thread), the
    program becomes a task of that run, under the handlers of the ``Await``, and this thread waits
    for it: the event loop is blocked meanwhile, so such a program cannot itself ``Await`` through
    the run's scheduler (``arun_reentrant`` can; see below for what it gets instead of a hang).

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
      nested loop reports ``SchedulerDeadlockError`` rather than hang;
    * ``Await`` (through the run's scheduler) when called from a coroutine on the runtime's event
      loop: that loop is the one blocked in the call, so ``ReentrantAwaitError`` naming ``name``
      is raised into the program instead of a hang;
    * run on a run that has ended: ``bound_to`` (a ``current_run()`` taken when the callable was
      handed over) names the run the call belongs to; once it has ended the call raises
      ``ReentrantCallError`` rather than run on another run's handlers or on stale ones.
    """
    name = name if name is not None else _program_name(program)
    _check_bound_run(bound_to, name)
    current = _current
    run = current.run
    if run is None:
        site = _AWAIT_SITE.get(None)
        if site is not None:
            return _run_from_awaited_coroutine(site, program, name)
        raise ReentrantCallError(
            f"a dependency callable ran {name!r} outside any running program: call it while the program "
            "that asked for it runs (inside its steps, on the run's thread), not after run() returned"
        )
    caller_seg = run.seg
    task = run.task
    boundary = Boundary()
    seg = Segment(caller_seg)
    seg.frames.append(boundary)
    run.seg = seg  # the call's first effect is performed from it, before any send publishes it
    try:
        _drive(run, seg, program, task, boundary)
    except _BoundaryReached:
        pass
    finally:
        run.seg = caller_seg
        run.task = task
    if boundary.error is not None:
        raise boundary.error
    return boundary.value


def _on_the_await_loop() -> bool:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return loop is background_loop()


def _run_from_awaited_coroutine(site: tuple, program: Any, name: str) -> Any:
    finished = threading.Event()
    ended: list = []
    # From the event loop's own thread (not a thread the coroutine handed work to), this wait blocks
    # the loop: the task is marked so an Await in it fails instead of waiting for that loop forever.
    block = LoopBlock(name) if _on_the_await_loop() else None

    def settle(task: Task) -> None:
        if block is not None:
            block.active = False  # tasks it spawned and left running may await again
        ended.append(task)
        finished.set()

    sched, task, seg = site
    sched.inbox.put(_SpawnRequest(program, task, seg, settle, block))
    finished.wait()
    if ended[0].error is not None:
        raise ended[0].error
    return ended[0].value


async def arun_reentrant(program: Any, name: "str | None" = None, bound_to: "_Run | None" = None) -> Any:
    """Awaited from a coroutine the runtime runs through ``Await``: run ``program`` on the run that
    awaited the coroutine and return its value (or raise its exception).

    The coroutine runs on the runtime's background event loop thread, while the run's thread waits
    for outside completions. The program is handed over thread-safely: it becomes a task of that run,
    spawned under the handlers of the ``Await``, and the run's scheduler runs it; its outcome comes
    back to the awaiting coroutine through its event loop. Outside such a coroutine (no run awaited
    it, or ``Await`` was answered by a handler of one's own): ``ReentrantCallError``, except on the
    run's own thread inside a program step (a coroutine driven by ``asyncio.run`` in a plain method),
    where the program runs re-entrantly as ``run_reentrant`` runs it. ``name``/``bound_to``: as for
    ``run_reentrant``.
    """
    label = name if name is not None else _program_name(program)
    _check_bound_run(bound_to, label)
    site = _AWAIT_SITE.get(None)
    if site is None:
        if _current.run is not None:
            return run_reentrant(program, name, bound_to)
        raise ReentrantCallError(
            f"an async dependency callable ran {label!r} outside a coroutine awaited by a running program: "
            "await it inside a coroutine the program runs with `yield Await(...)`"
        )
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def settle(task: Task) -> None:
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


def _aborted_across(name: str) -> ReentrantCallError:
    return ReentrantCallError(
        f"handler {name} aborted (returned without resuming) a block that contains a re-entrant call's "
        "plain Python caller; the abort cannot unwind that Python frame. Resume or Transfer the "
        "continuation instead, or perform the effect from a program rather than a dependency callable"
    )


# --- the loop --------------------------------------------------------------------------------------


def _drive(run: _Run, seg: Segment, yielded: Any, task: Any, boundary: "Boundary | None") -> Any:
    """The loop (see the module docstring). ``boundary``: see ``run_reentrant``."""
    value, exc, runners = None, None, _current.runners
    while True:
        try:  # dispatch: answer ``yielded`` with ``value`` or ``exc`` and pick the segment to send into
            kind = yielded._kind
        except AttributeError:
            kind = K_OTHER
        if kind == K_EFFECT:
            holder = seg  # the innermost segment whose handler takes it (the bottom one takes all)
            while not isinstance(yielded, holder.types):
                holder = holder.parent
            handle = holder.handle
            if handle is None:  # a generator handler, or the bottom segment
                seg, task, value, exc, yielded = _to_generator_handler(run, yielded, seg, holder, task, boundary)
                if yielded is not None:
                    continue
            else:
                try:
                    value = handle(yielded, holder)
                    if value is PASS or type(value) is AtSite:
                        seg, task, value, exc = _native_redirect(run, yielded, seg, holder, value, task, boundary)
                except BaseException as err:
                    exc = err
        elif kind == K_CALL:  # a sub-program runs in a runner (stack.new_runner) pushed for it
            runner = runners.pop() if runners else new_runner()
            try:
                yielded = runner.send(yielded())
                seg.frames.append(runner)
                continue  # to dispatch what it yielded (``Returned`` when it returned at once)
            except BaseException as err:
                exc = err
        elif kind == K_RETURNED:  # the program of the runner on top of ``seg`` returned
            value, yielded.value = yielded.value, None
            runners.append(seg.frames.pop())
        elif K_RESUME <= kind <= K_TRANSFER_THROW:  # from a handler body past its first step
            seg, value, exc = _resume(yielded, kind, seg)
        else:
            seg, task, value, exc, yielded = _control(run, kind, yielded, seg, task, boundary)
            if yielded is not None:
                continue
        while True:  # send: the answer goes into the top frame; finished frames and segments unwind
            if seg.frames:
                frame, run.seg = seg.frames[-1], seg  # published for re-entrant calls and perform_site_location
                try:
                    yielded = frame.send(value) if exc is None else frame.throw(exc)
                    store, exc = seg.state_store, None  # state()'s own Get/Put of a str key: answered here, as doeff's VM does
                    while store is not None and ((cls := type(yielded)) is _Get or cls is _Put) and type(yielded.key) is str:
                        if cls is _Put:
                            store[yielded.key] = yielded.value
                        yielded = frame.send(None if cls is _Put else store.get(yielded.key))
                    break
                except StopIteration as stop:
                    value, exc = stop.value, None
                except BaseException as err:
                    value, exc = None, err
            seg, task, value, exc = _unwind(run, seg, task, value, exc, boundary)
            if seg is None:  # the main program ended, or this loop's re-entrant call
                return _outcome(value, exc)


# --- the steps the loop hands off ------------------------------------------------------------------

_Get = E.Get
_Put = E.Put


def _to_generator_handler(
    run: _Run, yielded: Any, seg: Segment, holder: Segment, task: Any, boundary: Any
) -> tuple:
    """``yielded`` goes to the generator handler of ``holder`` (to the scheduler from a bottom segment). Its
    body gets a continuation ``k`` and runs on the segment below the handler's, right above ``k``.
    Its first step runs here: a body that answers at once in tail position
    (``return (yield Resume(k, v))``, a ``Transfer``) never needs its frame kept. Returns
    ``(seg, task, value, exc, next)``: ``next`` is what the body yielded, for the loop to dispatch;
    None when the loop sends ``value``/``exc`` into ``seg``."""
    if holder.handler is None:
        return (*_unhandled(run, yielded, task, seg, boundary), None)
    continuation = Continuation()
    continuation.top = seg
    continuation.hseg = holder
    continuation.used = False
    outer = run.seg = holder.parent  # a plain-function handler's own code runs outside it
    handler = holder.handler
    try:
        body = handler.fn(yielded, continuation)
        if type(body) is not _GENERATOR:
            seg, value, exc = _plain_handler_returned(continuation, body)
            return seg, task, value, exc, None
        step = body.send(None)
    except StopIteration as stop:  # a body that ends without yielding: it aborts the block
        seg, value, exc = _body_returned(continuation, outer, stop.value)
        return seg, task, value, exc, None
    except BaseException as err:  # as in doeff: raised before answering, it raises at the yield
        continuation.used = True
        return seg, task, None, err, None
    answer_type = type(step)
    if (answer_type is Resume or answer_type is Transfer) and step.k is continuation and (
        answer_type is Transfer
        or (body.gi_code is handler.tail_code and (handler.tail_only or _at_tail_resume(body, handler)))
    ):
        continuation.used = True
        return continuation.top, task, step.value, None, None
    outer.frames.append(continuation)
    outer.frames.append(body)
    if step is None:  # not an effect or a program: raised at the body's yield, as the loop would
        return outer, task, None, _bad_yield(step, body), None
    return outer, task, None, None, step


def _native_redirect(
    run: _Run, yielded: Any, seg: Segment, holder: Segment, answer: Any, task: Any, boundary: Any
) -> tuple:
    """A native handler of ``holder`` answered ``y`` with ``PASS`` (the next outer handler answers)
    or ``AtSite`` (a program runs for the answer), or ``AS_GENERATOR``. ``(seg, task, value, exc)`` to go on with."""
    while answer is PASS:
        holder = holder.parent
        while not isinstance(yielded, holder.types):
            holder = holder.parent
        handle = holder.handle
        if handle is None:
            return _generator_handler_first_step(run, yielded, seg, holder, task, boundary)
        try:
            answer = handle(yielded, holder)
        except BaseException as err:
            return seg, task, None, err
    if answer is AS_GENERATOR:
        return _generator_handler_first_step(run, yielded, seg, holder, task, boundary)
    if type(answer) is AtSite:
        return _at_site(run, answer, holder, seg), task, None, None
    return seg, task, answer, None


def _generator_handler_first_step(
    run: _Run, yielded: Any, seg: Segment, holder: Segment, task: Any, boundary: Any
) -> tuple:
    """``_to_generator_handler`` for a step that hands the loop only ``(seg, task, value, exc)``: a
    body that answers at once in tail position costs no loop round (a recorded effect answered by
    a ``@handler`` world handler takes this path); what a body yields first is handed to the loop by
    a ``_Yielded`` frame on top of it."""
    seg, task, value, exc, step = _to_generator_handler(run, yielded, seg, holder, task, boundary)
    if step is not None:
        seg.frames.append(_Yielded(seg.frames, step))
    return seg, task, value, exc


class _Yielded:
    """Stands on top of a generator that has already yielded ``step``, for a step function that can
    only ask the loop to send into a segment: the loop's send gets ``step`` back as if that
    generator had just yielded it, and this frame leaves the stack. Later sends and throws into it
    (the loop's inner state loop keeps its frame) go to the generator."""

    __slots__ = ("frames", "step", "gen")

    def __init__(self, frames: list, step: Any) -> None:
        self.frames = frames
        self.step = step
        self.gen = frames[-1]

    def send(self, value: Any) -> Any:
        frames = self.frames
        if frames is None:
            return self.gen.send(value)
        self.frames = None
        frames.pop()
        step, self.step = self.step, None
        return step

    def throw(self, error: BaseException) -> Any:
        frames = self.frames
        if frames is not None:
            self.frames = None
            if not frames or frames[-1] is not self:
                raise error  # closed with an abandoned block (stack.close_frames), as is the generator
            frames.pop()  # thrown into before its step was taken: the generator gets it instead
        return self.gen.throw(error)


def _resume(yielded: Any, kind: int, seg: Segment) -> tuple:
    """``Resume``/``Transfer`` (or a ``Throw`` form) yielded by the top frame of ``seg`` (a handler
    body, usually): ``(seg, value, exc)``.
    A handler body that will not run again (it transferred, passed its ``k`` on, or resumed in tail
    position) leaves the stack now, so its frame is not kept waiting for the block's end."""
    continuation = yielded.k
    frame = seg.frames[-1] if seg.frames else None
    if type(continuation) is not Continuation:
        name = type(yielded).__name__
        return seg, None, TypeError(f"{name} needs the handler's continuation k, got {continuation!r}")
    if continuation.used:  # fatal, as in doeff: the run stops here; no program or handler can catch it
        raise RuntimeError(
            f"{type(yielded).__name__}: continuation already consumed (one-shot violation); "
            f"a handler may resume its continuation once{_at(frame)}"
        )
    continuation.used = True
    handler = continuation.hseg.handler
    frames = seg.frames
    if kind == K_TRANSFER or kind == K_TRANSFER_THROW or (
        getattr(frame, "gi_code", None) is handler.tail_code and (handler.tail_only or _at_tail_resume(frame, handler))
    ):
        if len(frames) > 1 and frames[-2] is continuation:  # the body yielded it itself: the usual case
            del frames[-2:]
        else:
            _drop_body(frames, continuation)
    if kind == K_RESUME or kind == K_TRANSFER:
        return continuation.top, yielded.value, None
    return continuation.top, None, yielded.value


def _at_tail_resume(body: Any, handler: Any) -> bool:
    """Whether the handler body ``body`` (running ``handler.tail_code``) is suspended at one of the
    handler's tail resumes (``handlers._tail_resume_sites``)."""
    return body.gi_frame.f_lasti in handler.tail_offsets


def _unwind(run: _Run, seg: Segment, task: Any, value: Any, exc: Any, boundary: Any) -> tuple:
    """The top frame of ``seg`` just returned ``value`` or raised ``exc`` (or ``seg`` has no frame
    left): ``(seg, task, value, exc)`` to send into next; ``seg`` is None when the loop ends: the
    main program ended and no task is left, or (``_LOOP_ENDED``) this loop's re-entrant call ended.
    A handler body that ends without having used its ``k`` aborts the handled block (returned) or
    raises at the perform site (raised)."""
    frames = seg.frames
    if seg is _LOOP_ENDED:
        return None, task, None, None
    if frames:
        frames.pop()
        if frames and type(frames[-1]) is Continuation:  # a handler body ended
            continuation = frames.pop()
            if continuation.used:
                return seg, task, value, exc
            if exc is None:
                seg, value, exc = _body_returned(continuation, seg, value)
                return seg, task, value, exc
            continuation.used = True
            return continuation.top, task, None, exc
        return seg, task, value, exc
    if seg.parent is not None:
        return seg.parent, task, value, exc
    following = _task_ended(run, task, value, exc, boundary)
    if following is None:
        return None, task, value, exc
    task, seg, value, exc = following
    return seg, task, value, exc


_LOOP_ENDED = Segment(None)
"""Where ``_control`` sends a nested loop whose re-entrant call has ended: ``_unwind`` ends the loop."""


def _outcome(value: Any, exc: "BaseException | None") -> Any:
    if exc is not None:
        raise exc
    return value


def _plain_handler_returned(k: Continuation, result: Any) -> tuple:
    """The ``@handler`` of ``k`` is a plain function (no ``yield``) and returned ``result``:
    ``(segment to send into, value, exc)``."""
    if isinstance(result, (Resume, Transfer, ResumeThrow, TransferThrow)):
        name = type(result).__name__
        return k.top, None, TypeError(
            f"handler {k.hseg.handler.name} returned {name}(...) without yielding it; "
            f"write `return (yield {name}(k, value))`"
        )
    return _body_returned(k, k.hseg.parent, result)  # its return value ends the handled block


def _body_returned(k: Continuation, seg: Segment, value: Any) -> tuple:
    """A handler body returned ``value`` without using ``k``: that aborts the block of ``k``.
    ``(segment, value, exc)`` to go on with."""
    crossed = abandon(k)
    if crossed is None:
        return seg, value, None
    return crossed, None, _aborted_across(k.hseg.handler.name)


def _at_site(run: _Run, r: AtSite, s: Segment, seg: Segment) -> Segment:
    """Run what a native handler of ``s`` returned as ``AtSite``; the segment to send into."""
    if r.body is None:
        seg.frames.append(r.generator)
        return seg
    k = Continuation()
    k.top = seg
    k.hseg = s
    k.used = False
    outer = s.parent
    outer.frames.append(k)
    outer.frames.append(r.body(k))
    return outer


def _control(run: _Run, kind: int, yielded: Any, seg: Segment, task: Any, boundary: Any) -> tuple:
    """Everything yielded that is not an effect, a sub-program call or a ``Resume``/``Transfer``:
    ``(seg, task, value, exc, next)``; ``next`` is None when answered, else the next thing for the
    loop to dispatch from ``seg``."""
    if kind == K_BOUNDARY and yielded is boundary:  # this loop's re-entrant call ended (the boundary holds its outcome)
        return _LOOP_ENDED, task, None, None, None
    frame = seg.frames[-1] if seg.frames else None  # the frame that yielded ``yielded``, usually
    if kind == K_PURE:
        return seg, task, yielded.value, None, None
    if kind == K_CALL_PLAIN:
        try:
            return seg, task, yielded(), None, None
        except BaseException as err:
            return seg, task, None, err, None
    if kind == K_WITH_HANDLER:
        try:
            active = yielded.handler.activate()
        except BaseException as err:
            return seg, task, None, err, None
        seg = run.seg = Segment(seg, active)
        return seg, task, None, None, yielded.program
    if kind == K_PASS:
        continuation = yielded.k
        if type(continuation) is not Continuation or continuation.used:
            raise RuntimeError(f"Pass: continuation already consumed (one-shot violation){_at(frame)}")
        continuation.used = True
        _drop_body(seg.frames, continuation)
        run.seg = continuation.top
        return (*_native_redirect(run, yielded.effect, continuation.top, continuation.hseg, PASS, task, boundary), None)
    if kind == K_REDIRECT:
        return (*_native_redirect(run, yielded.effect, seg, yielded.holder, yielded.answer, task, boundary), None)
    if kind == K_GO_ON:
        run.seg = yielded.seg
        return yielded.seg, task, yielded.value, yielded.exc, yielded.next
    if kind == K_BOUNDARY:
        # Another loop's re-entrant call, ended while this deeper loop runs: it is picked up once
        # this loop returns; meanwhile run the other tasks.
        task, seg, value, exc = _next_ready(run, boundary)
        return seg, task, value, exc, None
    lower = getattr(type(yielded), "__doeff_lower__", None)
    if lower is not None:
        # A program defined by another one (expressions.Expr): run that one in its place.
        return seg, task, None, None, lower(yielded)
    return seg, task, None, _bad_yield(yielded, frame), None  # not an effect or a program: raise at the yield


def _drop_body(frames: list, k: Continuation) -> None:
    """A handler body passed ``k`` on or answered in tail position: it will not run again, so it
    leaves ``frames`` with its ``k`` (and the sub-programs it was in, when one of them yielded)."""
    for i in range(len(frames) - 1, -1, -1):
        if frames[i] is k:
            del frames[i:]
            return
    frames.pop()  # yielded from a segment the body installed: only that frame ends here


def _unhandled(run: _Run, y: Any, task: Any, seg: Segment, boundary: "Boundary | None") -> tuple:
    """No installed handler takes ``y``: the built-in scheduler, or ``UnhandledEffect`` at the yield.
    ``(seg, task, value, exc)``: another task's when this one parked."""
    schedule = SCHEDULING.get(type(y))
    if schedule is None:
        return seg, task, None, UnhandledEffect(y, location_of(seg.frames[-1]) if seg.frames else "")
    sched = run.sched
    if sched is None:
        sched = run.sched = Scheduler()
    outcome = schedule(sched, y, task, seg)
    if outcome is None:
        task, seg, value, exc = _next_ready(run, boundary)
        return seg, task, value, exc
    return seg, task, outcome[0], outcome[1]


def _task_ended(run: _Run, task: Any, value: Any, exc: Any, boundary: "Boundary | None") -> "tuple | None":
    """A task's chain ran empty: ``(task, seg, value, exc)`` of the task to run next, or None when the
    main program ended and no task is left (tasks it leaves behind are cancelled and run first)."""
    sched = run.sched
    if task is MAIN_TASK:
        if sched is None:
            return None
        if not sched.cancel_leftovers(value, exc):
            sched.warn_leftovers()
            return None
    else:
        sched.task_ended(task, value, exc)  # type: ignore[union-attr]
    return _next_ready(run, boundary)


def _next_ready(run: _Run, boundary: "Boundary | None") -> tuple:
    """The next task to run: ``(task, seg, value, exc)``. A nested loop whose re-entrant call was
    ended by a deeper loop returns to its caller instead."""
    if boundary is not None and boundary.done:
        raise _BoundaryReached
    nxt = run.sched.next_ready()  # type: ignore[union-attr]
    run.task = nxt[0]
    return nxt


def _g():
    yield


_GENERATOR = type(_g())


# --- messages and tracebacks ----------------------------------------------------------------------


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


__all__ = [
    "PASS",
    "AtSite",
    "Continuation",
    "Future",
    "Task",
    "ExternalPromise",
    "TaskCancelledError",
    "drive",
    "run_reentrant",
    "arun_reentrant",
    "current_run",
    "current_task",
    "perform_site_location",
    "MAIN_TASK",
    "complete_future",
    "handlers_between",
]

"""The stack a task runs on: a chain of segments holding suspended program frames.

Stack model (like OCaml 5 fibers): a task's stack is a chain of *segments*. Installing a handler
starts a new segment whose ``parent`` is the installer's segment; the program frames (suspended
generators) of a segment sit in its ``frames`` list, innermost last. A generator handler's
continuation ``k`` is the segments from the perform site down to the handler's own.

A sub-program runs inside a *runner* (see ``new_runner``), which sits in ``frames`` in its place.
"""

from __future__ import annotations

import collections
from typing import Any

from .effects import Get, Put
from .program import K_BOUNDARY, K_RETURNED


BOTTOM_TYPES = object
"""The ``types`` of the bottom segment of a chain (a run's root, a task's first segment): it takes
every effect, so the handler search always ends there; having no handler, it hands what reaches it
to the scheduler (or raises ``UnhandledEffect``)."""

_A_GET = Get(None)
_A_PUT = Put(None, None)


class Segment:
    """``state_store``: the dict of the native ``state()`` handler that is the nearest handler taking
    an exact ``Get`` and ``Put`` from this segment (None when another handler, or none, comes first);
    the loop answers those effects from it without a handler search. A segment's parent and
    handler never change, so it is worked out once, here."""

    __slots__ = ("frames", "parent", "handler", "types", "handle", "state_store")

    def __init__(self, parent: "Segment | None", handler: Any = None) -> None:
        self.frames: list = []
        self.parent = parent
        self.handler = handler
        if handler is None:
            self.types = ()  # takes no effect: the handler search passes it by
            self.handle = None
            self.state_store = None if parent is None else parent.state_store
        else:
            types = self.types = handler.types
            # Bound once here rather than on every effect: natives answer through it.
            self.handle = handler.handle if handler.native else None
            if getattr(handler, "answered_inline", False):
                self.state_store = handler.store
            elif isinstance(_A_GET, types) or isinstance(_A_PUT, types):
                self.state_store = None
            else:
                self.state_store = None if parent is None else parent.state_store


class Returned:
    """What a runner yields when its program has returned: the return value, which the loop takes
    and clears (a pooled runner keeps nothing of the program alive)."""

    __slots__ = ("value",)
    _kind = K_RETURNED


def _runner(returned: Returned):
    program = yield
    while True:
        returned.value = yield from program
        program = yield returned


RUNNER_CODE = _runner.__code__


def new_runner() -> Any:
    """A runner: a generator that runs the program generators sent into it, one after another,
    through ``yield from``, and yields its ``Returned`` when one returns.

    Sending into a runner reaches its program (``throw`` and ``close`` too), and what the program
    yields comes out of it. What a runner adds is how a program's return reaches the loop: CPython's
    ``yield from`` takes a generator's return value without raising ``StopIteration``, where a
    ``send`` from Python code raises it, and catching that exception costs more than a generator
    step. The loop keeps idle runners in a per-thread pool (``runner_pool``)."""
    runner = _runner(Returned())
    runner.send(None)
    return runner


def runner_pool() -> collections.deque:
    """A pool of idle runners for one thread. Bounded (a runner is some 400 bytes): a recursion deeper
    than that creates the runners past the bound on every run."""
    return collections.deque(maxlen=RUNNER_POOL_SIZE)


RUNNER_POOL_SIZE = 2048


def program_frame(frame: Any) -> Any:
    """The program generator behind an entry of ``frames``: a runner's program, else the entry."""
    if getattr(frame, "gi_code", None) is RUNNER_CODE:
        return frame.gi_yieldfrom
    return frame


class Continuation:
    """The one-shot continuation ``k`` a generator handler receives: the segments from ``top`` (the
    perform site's) down to ``hseg`` (the handler's), and whether it was used. Built as
    ``Continuation()`` then filled in, which skips a Python ``__init__`` call on every handled effect."""

    __slots__ = ("top", "hseg", "used")

    def __repr__(self) -> str:
        return f"<continuation {'used' if self.used else 'live'}>"


class Boundary:
    """The bottom frame of a re-entrant call's chain (see ``interpreter.run_reentrant``): it takes the
    nested program's outcome the way a generator frame would (``send``/``throw``) and hands itself
    to the dispatch, which ends the loop that owns it (or, reached by a deeper loop, keeps the
    outcome until that loop returns)."""

    __slots__ = ("done", "value", "error")
    _kind = K_BOUNDARY

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: "BaseException | None" = None

    def send(self, value: Any) -> "Boundary":
        self.done = True
        self.value = value
        return self

    def throw(self, error: BaseException) -> "Boundary":
        if type(error) is GeneratorExit:
            raise error  # closed while unwinding: nothing of its own to clean up
        self.done = True
        self.error = error
        return self


def unwind(top: Segment, stop: "Segment | None") -> None:
    """Close the frames from segment ``top`` down to (not including) ``stop`` so their ``finally``
    blocks run now, in doeff's order: segment by segment from ``top`` outward, and within a segment
    from its outermost frame in (doeff drops the abandoned continuation's frame lists in order)."""
    s = top
    while s is not None and s is not stop:
        close_frames(s.frames, 0)
        s = s.parent


def close_frames(frames: list, start: int) -> None:
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


def abandon(k: Continuation) -> "Segment | None":
    """Unwind the block a handler aborted (returned without answering) before its value goes on.

    None when done. When the block contains the plain Python frame of a re-entrant call (the
    handler sits outside it), that frame cannot be unwound from here: only the re-entrant call's own
    frames are closed, and its boundary segment is returned, for the caller to raise into."""
    k.used = True
    s = k.top
    stop = k.hseg.parent
    while s is not None and s is not stop:
        if s.frames and type(s.frames[0]) is Boundary:
            unwind(k.top, s)
            close_frames(s.frames, 1)
            return s
        s = s.parent
    unwind(k.top, stop)
    return None


def handlers_between(k: Continuation) -> list:
    """The handler objects installed between the perform site of ``k`` and its handler (inner first)."""
    out = []
    s = k.top
    while s is not None and s is not k.hseg:
        if s.handler is not None:
            out.append(s.handler)
        s = s.parent
    return out


def handlers_answering(k: Continuation) -> list:
    """The handlers inside ``k``'s own that were in the middle of answering an effect when ``k``'s
    effect was performed, so that this effect is part of their answer: a handler body performed it,
    or code that body runs, or a handler that body's own effect reached, and so on.

    A generator handler's body sits in a frame list right above its unused continuation, and the
    segments from that continuation's perform site to its handler hold whoever performed the effect
    the body answers; those are searched in turn. A used continuation is passed over: its handler
    answered already, and what runs above it is the resumed block, which would run without it."""
    out = []
    pending = [k]
    while pending:
        c = pending.pop()
        s, stop = c.top, c.hseg
        while s is not None:
            for f in s.frames:
                if type(f) is Continuation and not f.used:
                    out.append(f.hseg.handler)
                    pending.append(f)
            if s is stop:
                break
            s = s.parent
    return out


def clone_chain(seg: Segment) -> Segment:
    """A fresh chain of empty segments with the same handler objects as ``seg``'s chain."""
    handlers = []
    s = seg
    while s is not None:
        if s.handler is not None:
            handlers.append(s.handler)
        s = s.parent
    top = Segment(None)
    top.types = BOTTOM_TYPES
    for h in reversed(handlers):
        top = Segment(top, h)
    return top

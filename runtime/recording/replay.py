"""Replaying a recording: the handler that answers recorded effects without running their handlers."""

from __future__ import annotations

import inspect
import json
import os
from collections import deque
from pathlib import Path
from typing import Any

from .. import effects as E
from ..handlers import Installer, _check_program, _Preactivated
from ..interpreter import PASS, Future, complete_future, current_task, perform_site_location
from ..program import Program, WithHandler, do
from .encoding import _effect_name, _fields_match, decode_value, describe_fields
from .errors import RecordingMismatchError, RecordingVersionError, ReplayDivergenceError
from .fingerprint import program_fingerprint
from .read import RecordedEffect, Recording, load_recording
from .record import _short_repr
from .selection import RecordedTypes


class ReplayHandler(Installer):
    """Answers the recorded effects from a recording, running none of their handlers.

    ``strict=True`` (default): effects must come in the recorded order per task, with the recorded
    fields; the first difference stops the run with :class:`ReplayDivergenceError` naming the
    effect, where the program performed it, and what the recording has there. ``strict=False``:
    an effect is answered from the recording when the same task recorded an identical effect (same
    type and fields, each record used once, in order); any other effect passes to the handlers
    outside, so new metrics or a different hyperparameter run for real on top of replayed data.
    ``check_version=True`` refuses to start when the recording was made by a different version of
    the program (its source changed); ``program_name``/``version`` name the program replayed now when
    the default (the entry function, a hash of its module) is not the right identity. Blobs are verified against their sha256 before unpickling;
    pickled blobs are trusted input (see the module docstring).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        strict: bool = True,
        check_version: bool = False,
        program_name: str | None = None,
        version: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.strict = strict
        self.check_version = check_version
        self.program_name = program_name
        self.version = version
        self.name = f"ReplayHandler({str(self.path)!r})"
        self._recording: Recording | None = None

    @property
    def recording(self) -> Recording:
        if self._recording is None:
            self._recording = load_recording(self.path)
        return self._recording

    def check_program_name(self) -> None:
        """:class:`RecordingMismatchError` when ``program_name`` was given and the recording was made
        for another entry point: its answers belong to a different program."""
        recorded = self.recording.header.get("program")
        if self.program_name and recorded and recorded != self.program_name:
            raise RecordingMismatchError(
                f"{self.path} was recorded for {recorded}, not {self.program_name}: replay it with "
                f"`run {recorded} --replay {self.path}`, or record {self.program_name} first"
            )

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, "ReplayHandler")
        return _replay_session(self, program)

    def open_session(self, program: Any) -> "_ReplaySession":
        return _ReplaySession(self, self.recording, program)


class _ReplaySession:
    def __init__(self, owner: ReplayHandler, recording: Recording, program: Any) -> None:
        owner.check_program_name()
        self.owner = owner
        self.name = owner.name
        self.recording = recording
        self.strict = owner.strict
        self.types = RecordedTypes.from_header(recording.header.get("recorded"))
        self.counters: dict = {}
        self.used = 0
        name, version = program_fingerprint(program)
        name, version = owner.program_name or name, owner.version or version
        self.program_name = name
        self.version = version
        rec_version = recording.header.get("version") or ""
        self.version_note = ""
        if rec_version and version and rec_version != version:
            self.version_note = (
                f" The recording was made by {recording.header.get('program')} version {rec_version}; the program "
                f"replayed now is {name} version {version} (its source changed since)."
            )
            if owner.check_version:
                raise RecordingVersionError(
                    f"{recording.path} was recorded by a different version of the program.{self.version_note} "
                    "Re-record it (run --record PATH --overwrite), or replay without check_version to try anyway"
                )
        if self.strict:
            # Per task, the records by sequence number (None where a seq is absent).
            self.by_task: dict = {}
            for r in recording.records:
                slots = self.by_task.setdefault(r.task, [])
                if r.seq >= len(slots):
                    slots.extend([None] * (r.seq + 1 - len(slots)))
                slots[r.seq] = r
            self.per_task = {task: sum(1 for r in slots if r is not None) for task, slots in self.by_task.items()}
        else:
            self.queues: dict = {}
            for r in recording.sorted_records():
                key = (r.task, r.effect, json.dumps(r.fields, sort_keys=True))
                self.queues.setdefault(key, deque()).append(r)

    # Native handler protocol: answers in place (no continuation), which keeps replay cheap.
    native = True

    def answer(self, rec: RecordedEffect, effect: Any) -> Any:
        self.used += 1
        if type(effect) is E.Await or isinstance(effect, E.Await):
            _close_unawaited(effect.coroutine)
        if isinstance(effect, E.Spawn):
            fut = Future()
            if rec.error is not None:
                complete_future(fut, None, self.recording.decode_error(rec))
            else:
                complete_future(fut, self.recording.decode_answer(rec), None)
            return fut
        if rec.error is not None:
            raise self.recording.decode_error(rec)
        answer = rec.answer
        t = type(answer)
        if t is int or t is str or t is float or t is bool or answer is None:
            return answer
        return decode_value(answer, self.recording.blobs)

    def handle(self, effect: Any, segment: Any) -> Any:
        path = current_task().path
        if self.strict:
            counters = self.counters
            seq = counters.get(path, 0)
            slots = self.by_task.get(path)
            rec = slots[seq] if slots is not None and seq < len(slots) else None
            name = _effect_name(type(effect))
            if rec is None:
                if isinstance(effect, E.Spawn):
                    return PASS  # a local Spawn: the built-in scheduler runs it (its effects replay)
                counters[path] = seq + 1
                raise self._missing(effect, path, seq)
            if rec.effect != name:
                if isinstance(effect, E.Spawn):
                    return PASS
                counters[path] = seq + 1
                raise self._diverged(effect, rec)
            counters[path] = seq + 1
            if not _fields_match(effect, rec.fields):
                raise self._diverged(effect, rec)
            return self.answer(rec, effect)
        key = (path, _effect_name(type(effect)), json.dumps(describe_fields(effect), sort_keys=True))
        queue = self.queues.get(key)
        if queue:
            return self.answer(queue.popleft(), effect)
        return PASS

    def check_all_used(self) -> None:
        """Strict replay: the program ended; recorded effects it never performed are a divergence too
        (it now does less than the recorded run did, e.g. a step was removed)."""
        if not self.strict:
            return
        left = [
            rec for task, slots in self.by_task.items() for rec in slots[self.counters.get(task, 0):]
            if rec is not None
        ]
        if not left:
            return
        left.sort(key=lambda r: (r.task, r.seq))
        first = left[0]
        task = "main" if not first.task else f"task {list(first.task)}"
        shown = "; ".join(f"{r.render()} (line {r.line})" for r in left[:3]) + ("; ..." if len(left) > 3 else "")
        msg = (
            f"replay of {self.recording.path} ended with {len(left)} recorded effect(s) the program never performed, "
            f"from effect #{first.seq} of {task} (recorded at {first.at or '?'}): {shown}."
        )
        raise ReplayDivergenceError(msg + self._advice(), effect=None, location="", recorded=first)

    def _advice(self) -> str:
        return (
            f"{self.version_note} Re-record the run (RecordingHandler(path, overwrite=True) or run --record PATH "
            "--overwrite), or replay with strict=False to let effects the recording lacks run for real."
        )

    def _diverged(self, effect: Any, rec: RecordedEffect) -> ReplayDivergenceError:
        if isinstance(effect, E.Await):
            _close_unawaited(effect.coroutine)
        where = _perform_site()
        task = "main" if not rec.task else f"task {list(rec.task)}"
        msg = (
            f"replay diverged from {self.recording.path} at effect #{rec.seq} of {task}: the program performed "
            f"{_short_repr(effect)} at {where or '?'}, but the recording has {rec.render()} there "
            f"(recorded at {rec.at or '?'}, line {rec.line}, which {rec.outcome()})."
        )
        return ReplayDivergenceError(msg + self._advice(), effect=effect, location=where, recorded=rec)

    def _missing(self, effect: Any, path: tuple, seq: int) -> ReplayDivergenceError:
        if isinstance(effect, E.Await):
            _close_unawaited(effect.coroutine)
        where = _perform_site()
        task = "main" if not path else f"task {list(path)}"
        have = self.per_task.get(path, 0)
        if self.recording.finished:
            why = f"the recorded run performed only {have} recorded effect(s) in {task}"
        else:
            why = (
                f"the recording ends after {have} recorded effect(s) of {task}: the recorded run did not finish "
                f"(no end marker{'; its last line was cut off' if self.recording.torn_last_line else ''}), "
                "it was interrupted"
            )
        msg = (
            f"replay diverged from {self.recording.path}: the program performed {_short_repr(effect)} at "
            f"{where or '?'} as effect #{seq} of {task}, which was never recorded; {why}."
        )
        return ReplayDivergenceError(msg + self._advice(), effect=effect, location=where, recorded=None)


def _perform_site() -> str:
    """``file:line in function`` of the program frame whose effect a native handler is answering."""
    return perform_site_location()


def _close_unawaited(coro: Any) -> None:
    close = getattr(coro, "close", None)
    if close is not None and inspect.iscoroutine(coro):
        close()


@do
def _replay_session(owner: ReplayHandler, program: Program):
    session = owner.open_session(program)
    value = yield WithHandler(_Preactivated(session), program)
    session.check_all_used()
    return value

"""Writing a recording: the handler that records what the handlers outside it answer."""

from __future__ import annotations

import datetime
import json
import os
import threading
from functools import partial
from pathlib import Path
from typing import Any, Iterable

from .. import effects as E
from ..handlers import Installer, _check_program
from ..interpreter import AS_GENERATOR, PASS, AtSite, Future, Redirect, _current, current_task, first_step_of
from ..program import Pass, Program, Transfer, WithHandler, do
from ..stack import RUNNER_CODE, handlers_answering
from .blobs import BlobStore
from .encoding import (
    _ADDRESS, _ESC, _NO_SITE, _ONE_FIELD_PARTS, _SITE_JSON, _SITE_PARTS, FORMAT_VERSION, _effect_name_json, _effect_parts, _encode_json,
    _fields_json, _json_text, _NotStorable, _one_field_parts, _site, _site_parts, describe_fields, encode_value, type_name,
)
from .errors import RecordingError, RecordingExistsError
from .fingerprint import program_fingerprint
from .selection import RecordedTypes, _outer_spawn_handler, _SessionHandler

_os_write = os.write  # each line in one unbuffered system call (see _RecordingSession._write)


class RecordingHandler(Installer):
    """Records every world-touching effect the handlers outside it answer, as JSON Lines.

    ``RecordingHandler(path)`` refuses to replace an existing file (``RecordingExistsError``)
    unless ``overwrite=True``. ``exclude=[T, ...]`` leaves effect types out; ``record=[T, ...]``
    records exactly those types instead of the default set (everything but
    :data:`UNRECORDED_EFFECTS`). ``program_name``/``version`` label the header (defaults: the
    entry function and a hash of its module's source). An answer that is neither JSON nor
    picklable stops the run with a ``RecordingError`` naming the effect; what was recorded before
    stays on disk. See the module docstring for the format. Answers that are not JSON are pickled
    into ``<path>.blobs/``: whoever replays the recording trusts whoever made it.

    Nested recordings (a wired stack run inside another one) each hold what their own replay will
    be asked: an effect performed while a recording inside this one answers an effect it records
    (its re-perform, or what the handlers between the two do to answer it) is left out of this one,
    since replaying the inner recording answers that effect without those handlers running.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        overwrite: bool = False,
        record: Iterable[Any] | None = None,
        exclude: Iterable[Any] = (),
        program_name: str | None = None,
        version: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.types = RecordedTypes(record, exclude)
        self.program_name = program_name
        self.version = version
        self.name = f"RecordingHandler({str(self.path)!r})"

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, "RecordingHandler")
        return _recording_session(self, program)

    def open_session(self, program: Any) -> "_RecordingSession":
        name, version = program_fingerprint(program)
        return _RecordingSession(self, self.program_name or name, self.version or version)


class _RecordingSession:
    def __init__(self, owner: RecordingHandler, program_name: str, version: str) -> None:
        path = owner.path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.file = open(path, "wb" if owner.overwrite else "xb", buffering=0)  # noqa: SIM115 - closed in close()
        except FileExistsError:
            raise RecordingExistsError(
                f"refusing to overwrite the existing recording {path}: pass overwrite=True "
                "(--overwrite on the command line) or choose another path"
            ) from None
        self.fd = self.file.fileno()  # lines go out through os.write: one system call, no io layers
        self.path = path
        self.blobs = BlobStore(str(path) + ".blobs")
        self.types = owner.types
        self._tasks: dict = {}  # task path -> [next sequence number, '{"task":<path>,"seq":']
        self.count = 0
        self.closed = False
        header = {
            "doeff_recording": FORMAT_VERSION,
            "program": program_name,
            "version": version,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "recorded": owner.types.header(),
        }
        self._write(header)
        with _OPEN_LOCK:
            _OPEN_SESSIONS[0] += 1

    def _write(self, obj: dict) -> None:
        # One unbuffered write per line: a killed run leaves every finished line on disk.
        _os_write(self.fd, ("".join(_encode_json(obj, 0)) + "\n").encode())

    def record(
        self, path: tuple, seq: int, effect: Any, at: str, value: Any, error: BaseException | None, fields: str | None = None,
    ) -> None:
        """``fields``: the effect's fields as JSON text, read before it was performed (an awaited
        coroutine no longer holds its arguments afterwards); read now when not given."""
        if self.closed:
            return
        if error is None:
            try:
                answer = _json_text(value, self.blobs)
            except _NotStorable as err:
                raise RecordingError(
                    f"cannot record the answer of {_short_repr(effect)} performed at {at or '?'}: {err}. "
                    f"Return picklable data from its handler, or leave the effect out of the recording: "
                    f"RecordingHandler(path, exclude=[{type(effect).__qualname__}]), on the command line "
                    f"--record-exclude {_excluded_name(type(effect))}"
                ) from None
            # Built as text from cached parts: this line is written once per recorded effect.
            task = (self._tasks.get(path) or self._task(path))[1]
            at_json = _SITE_JSON.get(at)
            if at_json is None:
                at_json = _SITE_JSON[at] = _ESC(at)
            line = '%s%d,"effect":%s,"fields":%s,"at":%s,"answer":%s}\n' % (
                task, seq, _effect_name_json(type(effect)), fields or _fields_json(effect), at_json, answer,
            )
            _os_write(self.fd, line.encode())
        else:
            rec = {"task": path, "seq": seq, "effect": type_name(type(effect)), "fields": json.loads(fields) if fields else describe_fields(effect), "at": at}
            rec["error"] = _encode_error(error, self.blobs)
            self._write(rec)
        self.count += 1

    def close(self, status: str) -> None:
        if self.closed:
            return
        self.closed = True
        with _OPEN_LOCK:
            _OPEN_SESSIONS[0] -= 1
        try:
            self._write({"end": status, "records": self.count})
        finally:
            self.file.close()

    def observe(self, effect: Any, holder: Any) -> Any:
        """The recorder as a native handler (``holder``: its segment): ask the next outer handler
        taking ``effect`` in place, record its answer, answer the program with it. No handler body
        runs, so a recorded effect costs one native call and one line more than an unrecorded one.

        The common case (a native handler outside answering with a value or raising) is done here.
        A generator handler outside (a ``@handler``) runs its first step from here
        (``first_step_of``): an answer given at once is recorded here, a later one by an
        ``_AnswerObserver`` at the perform site. The rest goes to the generator
        body, ``body``: no handler outside, a Spawn or an Await, another
        recording open (whose effects this one may have to leave out), and a native answer that is
        ``PASS`` or ``AtSite``, which the body takes on from where the native handler left it
        (``Redirect``), so that handler is not asked twice."""
        te = type(effect)
        slow = _SLOW_PATH.get(te)
        if slow is None:
            slow = _SLOW_PATH[te] = issubclass(te, (E.Spawn, E.Await))
        outer = answering = holder.parent
        while not isinstance(effect, answering.types):
            answering = answering.parent
        handle = answering.handle
        if slow or _OPEN_SESSIONS[0] > 1:
            return AS_GENERATOR
        run = _current.run
        site_seg = run.seg  # the perform site's segment (published before the step that performed it)
        if handle is None:
            if answering.handler is None or not site_seg.frames or not OBSERVE_GENERATOR_HANDLERS:
                return AS_GENERATOR  # the scheduler or UnhandledEffect: the body asks for it
            # A generator handler: its body's first step runs here. Answered at once, the answer is
            # recorded here; else a frame pushed at the perform site records it on its way in.
            program = site_seg.frames[-1]
            go_on, value, exc = first_step_of(effect, site_seg, answering)
            if go_on is None:
                if exc is None:
                    self._answered(run.task.path, site_seg, effect, value)
                    return value
                if isinstance(exc, Exception):
                    self._failed(run.task.path, site_seg, effect, exc)
                raise exc
            if site_seg.frames and site_seg.frames[-1] is program:  # the body goes on: the answer comes later
                observer = _new_observer(_AnswerObserver)  # no __init__ call
                observer.session, observer.path, observer.effect, observer.site_seg = self, run.task.path, effect, site_seg
                site_seg.frames.append(observer)
            else:  # the block was aborted: its number is left unused, as by the generator body
                self._take_seq(run.task.path)
            return go_on
        run.seg = outer  # what the outer handler runs (a re-entrant call) is performed outside this recorder, as from a body
        try:
            value = handle(effect, answering)
        except Exception as err:
            run.seg = site_seg
            self._failed(run.task.path, site_seg, effect, err)
            raise
        run.seg = site_seg
        if value is PASS or type(value) is AtSite:
            return AtSite.outside(partial(self.body, effect, first=Redirect(effect, answering, value)))
        self._answered(run.task.path, site_seg, effect, value)
        return value

    def _answered(self, path: tuple, site_seg: Any, effect: Any, value: Any, seq: int | None = None) -> None:
        """Record ``effect``, performed by task ``path`` from the top frame of ``site_seg``, as
        answered with ``value``; ``seq``: its sequence number, when taken already (``_take_seq``).
        This runs once per recorded effect, so the usual case (an int or str answer) is written out
        inline: the line is assembled from text cached per task, effect type and perform site."""
        task = self._tasks.get(path)
        if task is None:
            task = self._task(path)
        if seq is None:
            seq = task[0]
            task[0] = seq + 1
        frames = site_seg.frames
        if frames:
            gen = frames[-1]
            if gen.gi_code is RUNNER_CODE:  # a sub-program: the program its runner runs performed it
                gen = gen.gi_yieldfrom
            frame = gen.gi_frame
            site = _SITE_PARTS.get((id(frame.f_code), frame.f_lasti)) if frame is not None else None
            if site is None or site[2] is not frame.f_code:
                site = _site_parts(gen)
        else:
            site = _NO_SITE
        t = type(value)
        if (t is not int and t is not str) or self.closed:
            self.record(path, seq, effect, site[0], value, None)
            return
        answer = value if t is int else _ESC(value)  # an int formats as its JSON text
        te = type(effect)
        one = _ONE_FIELD_PARTS.get(te)
        if one is None:
            one = _one_field_parts(te, effect)
        if one and type(field := one[1](effect)) is int:  # the usual small user effect
            line = f"{task[1]}{seq}{one[0]}{field}}}{site[1]}{answer}}}\n"
        else:
            line = f"{task[1]}{seq}{_effect_parts(te)}{_fields_json(effect)}{site[1]}{answer}}}\n"
        _os_write(self.fd, line.encode())
        self.count += 1

    def _task(self, path: tuple) -> list:
        """``[next sequence number, the line's text up to it]`` of the task at ``path``."""
        task = self._tasks[path] = [0, '{"task":' + "".join(_encode_json(list(path), 0)) + ',"seq":']
        return task

    def _take_seq(self, path: tuple) -> int:
        """The next sequence number of the task at ``path``."""
        task = self._tasks.get(path) or self._task(path)
        seq = task[0]
        task[0] = seq + 1
        return seq

    def _failed(self, path: tuple, site_seg: Any, effect: Any, error: BaseException, seq: int | None = None) -> None:
        """Record ``effect``, performed by task ``path`` from the top frame of ``site_seg``, as raising ``error``."""
        at = _site(site_seg.frames[-1]) if site_seg.frames else ""
        self.record(path, self._take_seq(path) if seq is None else seq, effect, at, None, error)

    def body(self, effect: Any, k: Any, first: Any = None):
        """The recording handler as a generator body: perform the effect outward (or go on with
        ``first``, a ``Redirect``), record the answer, answer the program."""
        if _OPEN_SESSIONS[0] > 1 and _answering_for_a_recording(k):
            return (yield Pass(effect, k))
        if _SLOW_PATH[type(effect)]:
            return (yield from self._body_spawn_or_await(effect, k))
        path = _current.run.task.path
        seq = self._take_seq(path)  # taken now: an effect the handler outside aborts leaves its number unused
        try:
            value = yield (effect if first is None else first)
        except Exception as err:
            self._failed(path, k.top, effect, err, seq)
            raise
        self._answered(path, k.top, effect, value, seq)
        return (yield Transfer(k, value))

    def _body_spawn_or_await(self, effect: Any, k: Any):
        is_spawn = isinstance(effect, E.Spawn)
        if is_spawn:
            if not _outer_spawn_handler(k):
                # The built-in scheduler: pass the Spawn on from the perform site so the child task
                # keeps this recorder (its own effects are recorded under its task path).
                return (yield Pass(effect, k))
        path = current_task().path
        seq = self._take_seq(path)
        frames = k.top.frames
        at = _site(frames[-1]) if frames else ""
        # An awaited coroutine is described by its arguments, which only a coroutine not yet run still has.
        fields = _fields_json(effect) if isinstance(effect, E.Await) else None
        try:
            value = yield effect
        except Exception as err:
            self.record(path, seq, effect, at, None, err, fields)
            raise
        if is_spawn:
            self._record_remote(path, seq, effect, at, value)
        else:
            self.record(path, seq, effect, at, value, None, fields)
        return (yield Transfer(k, value))

    def _record_remote(self, path: tuple, seq: int, effect: Any, at: str, handle: Any) -> None:
        fut = handle.future if hasattr(handle, "future") and isinstance(getattr(handle, "future"), Future) else handle
        if not isinstance(fut, Future):
            self.record(path, seq, effect, at, handle, None)
            return

        def on_done(f: Future) -> None:
            self.record(path, seq, effect, at, f.value, f.error)

        if fut.done:
            on_done(fut)
        else:
            fut.waiters.append(on_done)


class _AnswerObserver:
    """Pushed on the perform site's frames while a generator handler outside the recorder answers a
    recorded effect after its first step (``observe`` records an answer given at once itself):
    whatever delivers the answer into the program (the handler's ``Resume`` or ``Transfer``, tail or
    not, its ``Throw`` forms, a raise, a ``Pass`` it hands on) sends or throws it into this frame first. The frame leaves the stack, records the answer and
    hands it to the program frame below it, whose next yield the loop gets as if from this frame
    (later sends into this object go straight to that frame). An aborted block closes it: nothing
    is recorded, and its sequence number is left unused. To the loop it is one more frame, so the
    loop pays nothing for it. It records what the generator body (``_RecordingSession.body``) does:
    the sequence number is taken when the answer comes, since until then no other effect of the
    task reaches the recorder (the handler's own effects are performed outside it)."""

    __slots__ = ("session", "path", "effect", "site_seg", "program")

    def send(self, value: Any) -> Any:
        site_seg = self.site_seg
        if site_seg is not None:
            self.site_seg = None
            frames = site_seg.frames
            frames.pop()
            program = self.program = frames[-1]
            try:
                self.session._answered(self.path, site_seg, self.effect, value)
            except Exception as err:  # the answer cannot be recorded: raised at the yield, as from the body
                return program.throw(err)
            return program.send(value)
        return self.program.send(value)

    def throw(self, error: BaseException) -> Any:
        site_seg = self.site_seg
        if site_seg is None:
            return self.program.throw(error)
        self.site_seg = None
        frames = site_seg.frames
        if not frames or frames[-1] is not self:
            self.session._take_seq(self.path)  # closed with the aborted block (stack.close_frames)
            raise error
        frames.pop()
        program = self.program = frames[-1]
        if isinstance(error, Exception):
            try:
                self.session._failed(self.path, site_seg, self.effect, error)
            except Exception as err:
                error = err
        return program.throw(error)

    # Read by perform-site lookups (errors.location_of, a recorder's _answered) while it is on top.
    @property
    def gi_code(self) -> Any:
        return self._program().gi_code

    @property
    def gi_frame(self) -> Any:
        return self._program().gi_frame

    @property
    def gi_yieldfrom(self) -> Any:
        return self._program().gi_yieldfrom

    def _program(self) -> Any:
        site_seg = self.site_seg
        return self.program if site_seg is None else site_seg.frames[site_seg.frames.index(self) - 1]


_new_observer = object.__new__


OBSERVE_GENERATOR_HANDLERS = True
"""Whether a generator world handler's answers are taken by an ``_AnswerObserver`` (else by the
recorder's generator body, which records the same lines; the tests compare the two)."""

_SLOW_PATH: dict = {}  # effect type -> whether it is a Spawn or an Await (recorded by _body_spawn_or_await)

# Recording sessions open in this process: only when another one is open can an effect reach a
# recorder while a recording inside it answers one, so a lone recording skips that search.
_OPEN_SESSIONS = [0]
_OPEN_LOCK = threading.Lock()


def _answering_for_a_recording(k: Any) -> bool:
    """Whether the effect of ``k`` is performed while a recording inside this one answers an effect
    it records. Replaying that recording answers its effect without running what answered it, so
    this one must leave the effect out: it would wait for it in vain (a strict replay ends with a
    leftover, or diverges when the next effect comes first)."""
    for h in handlers_answering(k):
        if type(h) is _SessionHandler:
            return True
    return False


def _excluded_name(t: type) -> str:
    """How ``--record-exclude`` names ``t``: runtime effects by their short name."""
    return t.__qualname__ if t.__module__.startswith("doeff_migrate.runtime") else type_name(t)


def _short_repr(effect: Any) -> str:
    r = _ADDRESS.sub("", repr(effect))
    return r if len(r) <= 200 else r[:197] + "..."


def _encode_error(error: BaseException, blobs: BlobStore) -> dict:
    out = {"type": type_name(type(error)), "message": str(error)}
    try:
        out["value"] = encode_value(error, blobs)
    except _NotStorable:
        pass
    return out


@do
def _recording_session(owner: RecordingHandler, program: Program):
    session = owner.open_session(program)
    handler_obj = _SessionHandler(owner.name, owner.types, session.observe, session.body)
    try:
        value = yield WithHandler(handler_obj, program)
    except BaseException:
        session.close("error")
        raise
    session.close("ok")
    return value

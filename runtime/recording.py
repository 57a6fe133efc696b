"""Record the effects a program's world-touching handlers answer; replay them with no side effects.

``RecordingHandler(path)`` sits underneath the handlers that touch the world (listed first in
``run(program, handlers=[...])``) and writes one JSON line per effect they answer::

    run(train(), handlers=[RecordingHandler("runs/exp.jsonl"), GPUHandler(), WandbHandler(...)])
    run(evaluate(), handlers=[ReplayHandler("runs/exp.jsonl")])          # no GPU, no API calls

File format (JSON Lines, version 1), one object per line, each written and flushed on its own so
a killed run leaves a readable prefix:

* header: ``{"doeff_recording": 1, "program": "pkg.mod.train", "version": "sha256:...",
  "created": "...", "recorded": {"only": null, "exclude": [...]}}``
* record: ``{"task": [0, 2], "seq": 5, "effect": "pkg.mod.LoadData", "fields": {...},
  "at": "file:line in fn", "answer": ...}`` (or ``"error": {"type": ..., "message": ..., "value": ...}``)
* end marker: ``{"end": "ok" | "error", "records": N}``

``task`` is the task path (the main program is ``[]``, its third ``Spawn`` is ``[2]``) and ``seq``
counts the recorded effects of that task, so the key names an effect independently of how tasks
were scheduled: a run with 4 workers replays the same as with 1.

Values that are not plain JSON (arrays, models, tuples of those, ...) are pickled into a
content-addressed blob store beside the file (``<path>.blobs/<sha256[:2]>/<sha256>``); the line holds
``{"$blob": sha256, "$type": ..., "$bytes": n, "$summary": ...}``. Tuples are ``{"$tuple": [...]}``.
Replay verifies each blob's sha256 before unpickling it. **A recording with pickled blobs is
trusted input**: unpickling runs code, so only replay recordings you (or people you trust) made;
the hash check catches damage, not a malicious author.

Which effects are recorded: every effect *except* those in :data:`UNRECORDED_EFFECTS` (env, state,
writer, ``Try``/``Listen`` wrappers and scheduling bookkeeping such as ``Wait``/``Gather``) — so user
IO effects, ``Await``, ``RunInThread``, cache and metrics effects are. ``Spawn`` answered by the
built-in scheduler is not recorded (the spawned task's own effects are, under its task path); a
``Spawn`` answered by another handler (``RayHandler``: remote work) is recorded with the task's
final value, so replay needs no Ray. Choose differently with ``RecordingHandler(path,
exclude=[T])`` or ``record=[T1, T2]``; the choice is stored in the header and replay follows it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import inspect
import json
import math
import operator
import os
import pickle
import re
import tempfile
from collections import deque
from pathlib import Path
from typing import Any, Iterable

from . import effects as E
from .errors import location_of
from .handlers import Installer, _check_program, _Preactivated
from .interpreter import PASS, Future, complete_future, current_task, perform_site_location
from .program import Call, Pass, Program, Pure, Transfer, WithHandler, do

FORMAT_VERSION = 1

UNRECORDED_EFFECTS: tuple = (
    E.Ask,
    E.Local,
    E.Get,
    E.Put,
    E.Tell,
    E.Listen,
    E.Try,
    E.Wait,
    E.Gather,
    E.Race,
    E.CreateExternalPromise,
)
"""Effect types a recording leaves out by default: they do not touch the world (env, state, writer),
only wrap programs whose own effects are recorded (``Try``, ``Local``, ``Listen``), or are scheduling
bookkeeping whose outcome follows from the recorded effects (``Wait``, ``Gather``, ``Race``)."""


# --- errors -------------------------------------------------------------------------------------


class RecordingError(Exception):
    """A recording cannot be written (existing file, an answer that cannot be stored)."""


class RecordingExistsError(RecordingError, FileExistsError):
    """The recording path exists and ``overwrite=True`` was not given; the file is left untouched."""


class RecordingFormatError(Exception):
    """The file is not a readable recording (foreign, corrupt, or from an unknown format version)."""


class BlobIntegrityError(RecordingFormatError):
    """A blob is missing or its content no longer matches its sha256; it is not unpickled."""


class ReplayDivergenceError(Exception):
    """The replayed program performed an effect the recording does not have at that point."""

    def __init__(self, message: str, *, effect: Any = None, location: str = "", recorded: Any = None) -> None:
        super().__init__(message)
        self.effect = effect
        self.location = location
        self.recorded = recorded


class RecordingVersionError(ReplayDivergenceError):
    """``ReplayHandler(check_version=True)``: the recording was made by another version of the program."""


class ReplayedError(Exception):
    """Stands in for a recorded exception that could not be pickled: same type name and message."""


# --- naming and fingerprints --------------------------------------------------------------------

_NAME_CACHE: dict = {}


def _effect_name(t: type) -> str:
    name = _NAME_CACHE.get(t)
    return name if name is not None else type_name(t)


def type_name(t: type) -> str:
    """``module.QualName`` of a class (the name recordings store for effect types)."""
    name = _NAME_CACHE.get(t)
    if name is None:
        name = _NAME_CACHE[t] = f"{t.__module__}.{t.__qualname__}"
    return name


def program_fingerprint(program: Any) -> tuple[str, str]:
    """``(name, version)`` of a program: the entry function and a hash of its module's source.

    Stored in a recording's header so a replay can tell that the program changed since.
    """
    target = program
    if isinstance(target, Call):
        target = target.func
    name = getattr(target, "__qualname__", type(target).__qualname__)
    module = getattr(target, "__module__", None) or ""
    version = ""
    try:
        source_file = inspect.getsourcefile(target) if callable(target) else None
    except TypeError:
        source_file = None
    if source_file and os.path.exists(source_file):
        version = "sha256:" + hashlib.sha256(Path(source_file).read_bytes()).hexdigest()[:16]
    return (f"{module}.{name}" if module else name), version


# --- blobs --------------------------------------------------------------------------------------


class BlobStore:
    """Content-addressed pickles in a directory: ``put`` returns the sha256, ``get`` verifies it.

    Writes go to a temp file in the same directory and are moved into place with ``os.replace``,
    so concurrent writers of the same content never leave a partial blob.
    """

    def __init__(self, directory: str | os.PathLike, *, remedy: str = "re-record the run") -> None:
        self.directory = Path(directory)
        self.remedy = remedy

    def path_of(self, digest: str) -> Path:
        return self.directory / digest[:2] / digest

    def put_bytes(self, data: bytes, *, verify_existing: bool = False) -> str:
        """Store ``data``; an existing blob is kept, or rewritten when ``verify_existing`` finds it damaged."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if not target.exists() or (verify_existing and not _matches(target, digest)):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        return digest

    def put(self, value: Any, *, verify_existing: bool = False) -> tuple[str, int]:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return self.put_bytes(data, verify_existing=verify_existing), len(data)

    def get_bytes(self, digest: str) -> bytes:
        target = self.path_of(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise BlobIntegrityError(
                f"blob {digest} is missing from {self.directory}: copy the recording together with its "
                f"'{self.directory.name}' directory, or {self.remedy}"
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise BlobIntegrityError(
                f"blob {target} does not match its sha256 (expected {digest}, file has {actual}): it was "
                f"modified or corrupted, so it is not unpickled; {self.remedy}"
            )
        return data

    def get(self, digest: str) -> Any:
        return pickle.loads(self.get_bytes(digest))


def _matches(path: Path, digest: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == digest
    except OSError:
        return False


# --- value encoding -----------------------------------------------------------------------------

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _not_json(o: Any) -> Any:
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


try:  # The C encoder, made once: json.dumps builds a new encoder object per call.
    _encode_json = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
except (AttributeError, TypeError):  # pragma: no cover - pure-Python json
    _py_encoder = json.JSONEncoder(separators=(",", ":"))
    _encode_json = lambda obj, _level: [_py_encoder.encode(obj)]  # noqa: E731


class _NotStorable(Exception):
    pass


def _summary(value: Any) -> str:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__} shape={tuple(shape)} dtype={dtype}"
    if hasattr(value, "__len__"):
        try:
            return f"{type(value).__name__} len={len(value)}"
        except Exception:  # noqa: BLE001 - a summary is best effort
            pass
    return _ADDRESS.sub("", repr(value))[:80]


def _float(v: float) -> Any:
    if math.isfinite(v):
        return v
    return {"$float": repr(v)}


def encode_value(value: Any, blobs: BlobStore) -> Any:
    """A JSON-able form of ``value`` that :func:`decode_value` turns back into an equal value."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return _float(value)
    if t is list:
        return [encode_value(v, blobs) for v in value]
    if t is tuple:
        return {"$tuple": [encode_value(v, blobs) for v in value]}
    if t is dict and all(type(k) is str and not k.startswith("$") for k in value):
        return {k: encode_value(v, blobs) for k, v in value.items()}
    try:
        digest, size = blobs.put(value)
    except Exception as err:  # noqa: BLE001 - pickling raises many types
        raise _NotStorable(f"{type(value).__module__}.{type(value).__qualname__} is neither JSON nor picklable ({type(err).__name__}: {err})") from err
    return {"$blob": digest, "$type": type_name(t), "$bytes": size, "$summary": _summary(value)}


def decode_value(data: Any, blobs: BlobStore) -> Any:
    t = type(data)
    if t is list:
        return [decode_value(v, blobs) for v in data]
    if t is dict:
        if "$blob" in data:
            return blobs.get(data["$blob"])
        if "$tuple" in data:
            return tuple(decode_value(v, blobs) for v in data["$tuple"])
        if "$float" in data:
            return float(data["$float"])
        return {k: decode_value(v, blobs) for k, v in data.items()}
    return data


def describe(value: Any) -> Any:
    """A JSON-able description of an effect field, equal for equal values across runs.

    Plain JSON stays as it is; other values become their type plus a digest of their pickle
    (arrays, objects), or a name (functions, coroutines, programs), never a memory address.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return _float(value)
    if t is list:
        return [describe(v) for v in value]
    if t is tuple:
        return {"$tuple": [describe(v) for v in value]}
    if t is dict and all(type(k) is str and not k.startswith("$") for k in value):
        return {k: describe(v) for k, v in value.items()}
    if t is dict:
        return {"$dict": [[describe(k), describe(v)] for k, v in value.items()]}
    if t is set or t is frozenset:
        # Sorted by their JSON text: a set's iteration order (and pickle) changes between processes.
        return {"$set": sorted((describe(v) for v in value), key=lambda d: json.dumps(d, sort_keys=True))}
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, Call):
        fn = value.func
        return {"$program": f"{fn.__module__}.{fn.__qualname__}", "args": describe(list(value.args)), "kwargs": describe(dict(value.keywords))}
    if isinstance(value, Pure):
        return {"$program": "Pure", "value": describe(value.value)}
    if inspect.iscoroutine(value):
        return {"$coroutine": value.__qualname__}
    if inspect.isfunction(value) or inspect.isbuiltin(value) or isinstance(value, type):
        return {"$function": f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"}
    if isinstance(value, E.EffectBase):
        return {"$effect": type_name(t), "fields": describe(effect_fields(value))}
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception:  # noqa: BLE001 - not picklable: fall back to a repr without addresses
        return {"$type": type_name(t), "$repr": _ADDRESS.sub("", repr(value))[:200]}
    return {"$type": type_name(t), "$sha256": hashlib.sha256(data).hexdigest()[:32]}


_FIELDS_CACHE: dict = {}


def effect_fields(effect: Any) -> dict:
    """The fields of an effect by name (dataclass fields, ``_fields`` of standard effects, or vars)."""
    t = type(effect)
    names = _FIELDS_CACHE.get(t)
    if names is None:
        if dataclasses.is_dataclass(t):
            names = tuple(f.name for f in dataclasses.fields(t))
        elif getattr(t, "_fields", None) is not None and isinstance(t._fields, tuple):
            names = t._fields
        else:
            names = ()
        _FIELDS_CACHE[t] = names
    if names:
        return {n: getattr(effect, n) for n in names}
    return dict(getattr(effect, "__dict__", {}))


_ESC = json.encoder.encode_basestring_ascii
_SITES: dict = {}
_SITE_JSON: dict = {}


def _site(gen: Any) -> str:
    """``location_of(gen)``, cached per (code, line): the same few sites perform most effects."""
    frame = getattr(gen, "gi_frame", None)
    if frame is None:
        return location_of(gen)
    key = (frame.f_code, frame.f_lineno)
    at = _SITES.get(key)
    if at is None:
        at = _SITES[key] = location_of(gen)
    return at
_EFFECT_NAME_JSON: dict = {}


def _effect_name_json(t: type) -> str:
    text = _EFFECT_NAME_JSON.get(t)
    if text is None:
        text = _EFFECT_NAME_JSON[t] = _ESC(type_name(t))
    return text


def _json_text(value: Any, blobs: BlobStore) -> str:
    """JSON text of ``encode_value(value)``, with the common scalars written directly."""
    t = type(value)
    if t is int:
        return str(value)
    if t is str:
        return _ESC(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is float and math.isfinite(value):
        return repr(value)
    return "".join(_encode_json(encode_value(value, blobs), 0))


_FIELD_TEMPLATES: dict = {}


def _value_json(value: Any) -> str:
    """JSON text of ``describe(value)``, with the common scalars written directly."""
    t = type(value)
    if t is int:
        return str(value)
    if t is str:
        return _ESC(value)
    if value is None:
        return "null"
    return "".join(_encode_json(describe(value), 0))


def _fields_json(effect: Any) -> str:
    """JSON text of ``describe_fields(effect)``: a per-type template filled with the field values."""
    t = type(effect)
    entry = _FIELD_TEMPLATES.get(t)
    if entry is None:
        effect_fields(effect)  # fills the per-type field names
        names = _FIELDS_CACHE[t]
        if names:
            template = "{" + ",".join(_ESC(n).replace("%", "%%") + ":%s" for n in names) + "}"
            entry = _FIELD_TEMPLATES[t] = (template, operator.attrgetter(*names), len(names) == 1)
        else:
            entry = _FIELD_TEMPLATES[t] = (None, None, False)
    template, getter, single = entry
    if template is None:  # fields known only per instance
        return "{" + ",".join(_ESC(n) + ":" + _value_json(v) for n, v in effect_fields(effect).items()) + "}"
    if single:
        return template % _value_json(getter(effect))
    return template % tuple(map(_value_json, getter(effect)))


def _fields_match(effect: Any, recorded: dict) -> bool:
    """``describe_fields(effect) == recorded``, without building the description for plain fields."""
    names = _FIELDS_CACHE.get(type(effect))
    if not names:
        return describe_fields(effect) == recorded
    if len(recorded) != len(names):
        return False
    for name in names:
        value = getattr(effect, name)
        try:
            r = recorded[name]
        except KeyError:
            return False
        t = type(value)
        if t is str or t is int or value is None:
            if type(r) is not t or r != value:
                return False
        elif describe(value) != r:
            return False
    return True


def describe_fields(effect: Any) -> dict:
    out = {}
    for name, value in effect_fields(effect).items():
        t = type(value)
        if t is str or t is int or t is bool or value is None:
            out[name] = value
        else:
            out[name] = describe(value)
    return out


# --- which effects ------------------------------------------------------------------------------


class RecordedTypes:
    """Decides, by effect type, what a recording holds; usable as a handler's type filter.

    ``only``: record exactly these types (and subclasses); ``exclude``: never these. Both are also
    accepted as qualified names, which is how a replay rebuilds the recorder's choice from the
    header. ``Spawn`` is always seen (answered remotely it is recorded; locally it passes).
    """

    def __init__(self, only: Iterable[Any] | None = None, exclude: Iterable[Any] = ()) -> None:
        self.only_names = None if only is None else frozenset(_as_name(t) for t in only)
        self.exclude_names = frozenset(_as_name(t) for t in exclude)
        self._cache: dict = {}

    def header(self) -> dict:
        return {
            "only": None if self.only_names is None else sorted(self.only_names),
            "exclude": sorted(self.exclude_names),
        }

    @classmethod
    def from_header(cls, data: Any) -> "RecordedTypes":
        data = data or {}
        return cls(only=data.get("only"), exclude=data.get("exclude") or ())

    def records(self, t: type) -> bool:
        decision = self._cache.get(t)
        if decision is None:
            decision = self._cache[t] = self._decide(t)
        return decision

    def _decide(self, t: type) -> bool:
        if not isinstance(t, type) or not issubclass(t, E.EffectBase):
            return False
        if issubclass(t, E.Spawn):
            return True
        mro_names = {type_name(c) for c in t.__mro__}
        if mro_names & self.exclude_names:
            return False
        if self.only_names is not None:
            return bool(mro_names & self.only_names)
        return not issubclass(t, UNRECORDED_EFFECTS)

    def __instancecheck__(self, obj: Any) -> bool:
        decision = self._cache.get(type(obj))
        if decision is None:
            decision = self.records(type(obj))
        return decision


def _as_name(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, type):
        return type_name(t)
    raise TypeError(f"expected an effect class or its qualified name, got {t!r}")


def _outer_spawn_handler(k: Any) -> bool:
    """Whether a handler outside this one explicitly handles ``Spawn`` (remote work, e.g. Ray)."""
    s = k.hseg.parent
    while s is not None:
        t = s.types
        if t is not None:
            if t is E.Spawn or (isinstance(t, tuple) and any(x is E.Spawn for x in t)):
                return True
        s = s.parent
    return False


class _SessionHandler(Installer):
    """The per-run generator handler a recording session installs."""

    native = False

    def __init__(self, name: str, types: Any, fn: Any) -> None:
        self.name = name
        self.types = types
        self.fn = fn


# --- recording ----------------------------------------------------------------------------------


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
        self.path = path
        self.blobs = BlobStore(str(path) + ".blobs")
        self.types = owner.types
        self.counters: dict = {}
        self._task_json: dict = {}
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

    def _write(self, obj: dict) -> None:
        # One unbuffered write per line: a killed run leaves every finished line on disk.
        self.file.write(("".join(_encode_json(obj, 0)) + "\n").encode())

    def record(self, path: tuple, seq: int, effect: Any, at: str, value: Any, error: BaseException | None) -> None:
        if self.closed:
            return
        if error is None:
            try:
                answer = _json_text(value, self.blobs)
            except _NotStorable as err:
                raise RecordingError(
                    f"cannot record the answer of {_short_repr(effect)} performed at {at or '?'}: {err}. "
                    f"Return picklable data from its handler, or leave the effect out of the recording: "
                    f"RecordingHandler(path, exclude=[{type(effect).__qualname__}])"
                ) from None
            # Built as text from cached parts: this line is written once per recorded effect.
            task = self._task_json.get(path)
            if task is None:
                task = self._task_json[path] = "".join(_encode_json(list(path), 0))
            at_json = _SITE_JSON.get(at)
            if at_json is None:
                at_json = _SITE_JSON[at] = _ESC(at)
            line = '{"task":%s,"seq":%d,"effect":%s,"fields":%s,"at":%s,"answer":%s}\n' % (
                task, seq, _effect_name_json(type(effect)), _fields_json(effect), at_json, answer,
            )
            self.file.write(line.encode())
        else:
            rec = {"task": path, "seq": seq, "effect": type_name(type(effect)), "fields": describe_fields(effect), "at": at}
            rec["error"] = _encode_error(error, self.blobs)
            self._write(rec)
        self.count += 1

    def close(self, status: str) -> None:
        if self.closed:
            return
        self._write({"end": status, "records": self.count})
        self.closed = True
        self.file.close()

    def body(self, effect: Any, k: Any):
        """The recording handler: re-perform outward, record the answer, answer the program."""
        is_spawn = isinstance(effect, E.Spawn)
        if is_spawn:
            if not _outer_spawn_handler(k):
                # The built-in scheduler: pass the Spawn on from the perform site so the child task
                # keeps this recorder (its own effects are recorded under its task path).
                return (yield Pass(effect, k))
        path = current_task().path
        counters = self.counters
        seq = counters.get(path, 0)
        counters[path] = seq + 1
        frames = k.top.frames
        at = _site(frames[-1]) if frames else ""
        try:
            value = yield effect
        except Exception as err:
            self.record(path, seq, effect, at, None, err)
            raise
        if is_spawn:
            self._record_remote(path, seq, effect, at, value)
        else:
            self.record(path, seq, effect, at, value, None)
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
    handler_obj = _SessionHandler(owner.name, owner.types, session.body)
    try:
        value = yield WithHandler(handler_obj, program)
    except BaseException:
        session.close("error")
        raise
    session.close("ok")
    return value


# --- reading ------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class RecordedEffect:
    """One record of a recording: the effect performed at ``(task, seq)`` and its outcome."""

    task: tuple
    seq: int
    effect: str
    fields: dict
    at: str
    answer: Any = None
    error: dict | None = None
    line: int = 0

    @property
    def key(self) -> tuple:
        return (self.task, self.seq)

    def render(self) -> str:
        short = self.effect.rpartition(".")[2]
        args = ", ".join(f"{k}={_render_field(v)}" for k, v in self.fields.items())
        return f"{short}({args})"

    def outcome(self) -> str:
        if self.error is not None:
            return f"raised {self.error.get('type', '?')}: {self.error.get('message', '')}"
        return f"answered {_render_field(self.answer)}"


def _render_field(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclasses.dataclass
class Recording:
    """A parsed recording file: header, records in file order, and whether the run finished."""

    path: Path
    header: dict
    records: list
    end: dict | None
    torn_last_line: bool = False
    blobs: BlobStore = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.blobs = BlobStore(str(self.path) + ".blobs")

    @property
    def finished(self) -> bool:
        return self.end is not None

    def sorted_records(self) -> list:
        return sorted(self.records, key=lambda r: (r.task, r.seq))

    def decode_answer(self, rec: RecordedEffect) -> Any:
        return decode_value(rec.answer, self.blobs)

    def decode_error(self, rec: RecordedEffect) -> BaseException:
        err = rec.error or {}
        if "value" in err:
            try:
                value = decode_value(err["value"], self.blobs)
            except BlobIntegrityError:
                raise
            except Exception:  # noqa: BLE001 - fall back to a stand-in with the same text
                value = None
            if isinstance(value, BaseException):
                return value
        return ReplayedError(f"{err.get('type', '?')}: {err.get('message', '')}")


def load_recording(path: str | os.PathLike) -> Recording:
    """Parse a recording; raises :class:`RecordingFormatError` saying what is wrong and what to do.

    A last line cut off mid-write (a killed run) is dropped and reported by ``torn_last_line``;
    the records before it are kept.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecordingFormatError(f"no recording at {path}: record one first (RecordingHandler(path) or run --record PATH)") from None
    except IsADirectoryError:
        raise RecordingFormatError(f"{path} is a directory, not a recording file") from None
    if not raw.strip():
        raise RecordingFormatError(f"{path} is empty: not a recording (even an interrupted run leaves its header line); re-record the run")
    lines = raw.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # No trailing newline: the writer was killed mid-line unless the line happens to be whole.
        try:
            json.loads(lines[-1])
        except ValueError:
            lines.pop()
            torn = True
    if not lines:
        raise RecordingFormatError(f"{path} holds only a cut-off header: the recorded run was killed at once; re-record it")
    header = _parse_header(path, lines[0])
    records: list = []
    end = None
    for number, line in enumerate(lines[1:], start=2):
        try:
            obj = json.loads(line)
        except ValueError as err:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
            detail = f"{err.msg} at column {err.colno}" if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
            raise RecordingFormatError(
                f"{path}:{number} is corrupt ({detail}): the file was edited or damaged "
                "after recording; restore it or re-record the run"
            ) from None
        if not isinstance(obj, dict):
            raise RecordingFormatError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}; the file is damaged")
        if "end" in obj:
            end = obj
            continue
        try:
            rec = RecordedEffect(
                task=tuple(obj["task"]),
                seq=int(obj["seq"]),
                effect=str(obj["effect"]),
                fields=obj.get("fields") or {},
                at=obj.get("at", ""),
                answer=obj.get("answer"),
                error=obj.get("error"),
                line=number,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise RecordingFormatError(
                f"{path}:{number} is not a recorded effect (missing or bad {err}); the file is damaged or was written by another tool"
            ) from None
        if "answer" not in obj and "error" not in obj:
            raise RecordingFormatError(f"{path}:{number} has neither an answer nor an error; the file is damaged")
        records.append(rec)
    return Recording(path, header, records, end, torn)


def _parse_header(path: Path, line: bytes) -> dict:
    preview = line[:80].decode("utf-8", "replace")
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or "doeff_recording" not in header:
        raise RecordingFormatError(
            f"{path} is not a doeff-migrate recording: its first line is {preview!r}, expected a header like "
            '{"doeff_recording": 1, ...}. Check the path (recordings are written by RecordingHandler / run --record)'
        )
    version = header["doeff_recording"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RecordingFormatError(
            f"{path} was written in recording format {version!r}; this doeff-migrate reads format "
            f"{FORMAT_VERSION}. Upgrade doeff-migrate to replay it"
        )
    return header


# --- replay -------------------------------------------------------------------------------------


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

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, "ReplayHandler")
        return _replay_session(self, program)

    def open_session(self, program: Any) -> "_ReplaySession":
        return _ReplaySession(self, self.recording, program)


class _ReplaySession:
    def __init__(self, owner: ReplayHandler, recording: Recording, program: Any) -> None:
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
    return (yield WithHandler(_Preactivated(session), program))


__all__ = [
    "RecordingHandler",
    "ReplayHandler",
    "Recording",
    "RecordedEffect",
    "RecordedTypes",
    "BlobStore",
    "UNRECORDED_EFFECTS",
    "RecordingError",
    "RecordingExistsError",
    "RecordingFormatError",
    "BlobIntegrityError",
    "ReplayDivergenceError",
    "RecordingVersionError",
    "ReplayedError",
    "load_recording",
    "program_fingerprint",
    "describe_fields",
    "effect_fields",
]

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

from .blobs import BlobStore
from .encoding import FORMAT_VERSION, decode_value, describe, describe_fields, effect_fields, encode_value, type_name
from .errors import (
    BlobIntegrityError,
    RecordingError,
    RecordingExistsError,
    RecordingFormatError,
    RecordingMismatchError,
    RecordingVersionError,
    ReplayDivergenceError,
    ReplayedError,
)
from .fingerprint import entry_version, program_fingerprint
from .read import RecordedEffect, Recording, load_recording
from .record import RecordingHandler, _short_repr
from .replay import ReplayHandler
from .selection import UNRECORDED_EFFECTS, RecordedTypes

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
    "RecordingMismatchError",
    "BlobIntegrityError",
    "ReplayDivergenceError",
    "RecordingVersionError",
    "ReplayedError",
    "load_recording",
    "program_fingerprint",
    "entry_version",
    "describe_fields",
    "effect_fields",
]

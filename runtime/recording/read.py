"""Reading a recording file back: header, records, end marker; damage is reported, never guessed around."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from .blobs import BlobStore
from .encoding import FORMAT_VERSION, decode_value
from .errors import BlobIntegrityError, RecordingFormatError, ReplayedError


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

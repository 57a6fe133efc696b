"""The ``--check`` cache: a run whose every input is unchanged replays the report of the last such run.

Like ruff's cache, it lives in the project (``.doeff-migrate-cache/``, with a ``.gitignore`` of its own) and is
keyed by content: the codemod's own source, the Python version, the run's options and settings, and the path
and content hash of every Python file of the project. The index makes a file's result depend on other files
(a dependency module whose provider stays pinjected flips the decision for its callers), so every file the
index can read is part of the key: any change anywhere in the project is a miss, never a stale answer. The
cache is never needed for correctness: ``--no-cache`` ignores it, a cache that cannot be read or written is
a miss, and a corrupt entry is ignored and replaced.

Only ``--check`` runs without ``--report`` and ``--diff`` use it, and only runs that ended with exit code 0
or 1 are stored (a failure may be a passing condition of the machine, e.g. an unreadable file).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CACHE_DIR = ".doeff-migrate-cache"
FORMAT = 1
"""Version of the entry layout below (an entry of another layout is a miss)."""
KEEP = 16
"""Entries kept per project (the oldest are dropped): one per state of the tree that was checked."""

_TOOL_FOLDERS = ("codemod", "runtime")
_TOOL_SUFFIXES = (".py", ".json", ".toml")


def tool_fingerprint() -> str:
    """The hash of the source of the codemod and of the runtime it writes code for (any edit is a new tool)."""
    package = Path(__file__).resolve().parent.parent  # the folder holding codemod/ and runtime/
    digest = hashlib.sha256(sys.version.encode())
    for folder in _TOOL_FOLDERS:
        for path in sorted((package / folder).rglob("*")):
            if path.suffix in _TOOL_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(package)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(options: dict, files: Iterable[str], extra_files: Iterable[Path] = ()) -> str:
    """The key of a run: its ``options`` (JSON-able), then each file's path and content hash, in order.

    ``extra_files``: files the run reads besides the Python files (configuration); a missing one counts as such.
    """
    digest = hashlib.sha256(tool_fingerprint().encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for path in [*files, *(str(p) for p in extra_files)]:
        digest.update(os.path.abspath(path).encode() + b"\0")
        try:
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()


@dataclass
class Replay:
    """What a run printed, in order (``stream``: ``"out"`` or ``"err"``), and its exit code."""

    exit_code: int
    events: list[tuple[str, str]] = field(default_factory=list)


class CheckCache:
    """Entries of one project's cache folder; every failure to read or write one is a miss."""

    def __init__(self, project_root: Path) -> None:
        self.folder = project_root / CACHE_DIR / "check"

    def get(self, key: str) -> Replay | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key:
                return None
            code = data["exit_code"]
            events = [(str(stream), str(text)) for stream, text in data["events"] if stream in ("out", "err")]
            if code not in (0, 1) or len(events) != len(data["events"]):
                return None
            return Replay(code, events)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, replay: Replay) -> None:
        data = {"format": FORMAT, "key": key, "exit_code": replay.exit_code, "events": replay.events}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by doeff-migrate: the --check cache is not part of the project\n*\n")
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            os.replace(temporary, self.folder / f"{key}.json")
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        entries = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)


class Recorder:
    """A console that also records what is printed through it (``print`` only, as plain text)."""

    def __init__(self, console, stream: str, events: list[tuple[str, str]]) -> None:
        self.console = console
        self.stream = stream
        self.events = events

    def print(self, *objects, **kwargs) -> None:
        sep, end = kwargs.get("sep", " "), kwargs.get("end", "\n")
        self.events.append((self.stream, sep.join(str(o) for o in objects) + end))
        self.console.print(*objects, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.console, name)

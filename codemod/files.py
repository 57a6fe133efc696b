"""Reading and writing source files without damaging them.

Reads keep the bytes exactly (CRLF stays CRLF, a UTF-8 BOM is remembered and written back). Writes
are atomic: the new text goes to a temporary file in the same folder, gets the old file's mode, and
replaces the original with ``os.replace``, so an interrupt leaves either the old or the new file,
never half of one. Before replacing, the file is read again; if someone changed it since it was
read, nothing is written.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"


class FileProblem(Exception):
    """A file that cannot be read or written safely; the message is shown to the user."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    raw: bytes
    text: str
    bom: bool

    def encode(self, text: str) -> bytes:
        return ((BOM if self.bom else "") + text).encode("utf-8")


def read_source(path: Path) -> SourceFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"not valid UTF-8 (byte {exc.start}): left unchanged") from None
    bom = text.startswith(BOM)
    return SourceFile(path, raw, text[1:] if bom else text, bom)


def write_atomic(source: SourceFile, new_text: str) -> None:
    """Replace ``source.path`` with ``new_text`` unless it changed on disk or is read-only."""
    target = source.path.resolve()
    # The write bits, not os.access: root may write anything, yet a read-only file says "keep out".
    if not os.access(target, os.W_OK) or not target.stat().st_mode & 0o222:
        raise FileProblem("file is read-only: not written")
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != source.raw:
        raise FileProblem("file changed on disk since it was read: not written")
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".doeff-migrate.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.encode(new_text))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def dirty_files(paths: list[Path]) -> list[Path]:
    """Files among ``paths`` with uncommitted changes (modified, staged or untracked) in their git repo.

    Outside a git checkout (or without git) nothing is dirty: the tool works the same there.
    """
    if not paths:
        return []
    by_repo: dict[Path, list[Path]] = {}
    for path in paths:
        folder = path.resolve().parent
        try:
            top = subprocess.run(
                ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
                capture_output=True, text=True, check=False,
            )
        except OSError:
            return []
        if top.returncode != 0:
            continue
        by_repo.setdefault(Path(top.stdout.strip()), []).append(path.resolve())
    dirty: list[Path] = []
    for repo, files in by_repo.items():
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "-z", "--untracked-files=all", "--", *map(str, files)],
            capture_output=True, text=True, check=False,
        )
        if status.returncode != 0:
            continue
        changed = {(repo / entry[3:]).resolve() for entry in status.stdout.split("\0") if len(entry) > 3}
        dirty += [f for f in files if f in changed]
    return dirty


def write_planned(path: Path, old: str | None, new: str) -> None:
    """Write a file the run planned from ``old`` (its text when read, None: it did not exist).

    An existing file is replaced atomically only if it is still ``old``; a new one is created through a
    temp file and never over a file that appeared meanwhile (someone else's stays).
    """
    if old is not None:
        source = read_source(path)
        if source.text != old:
            raise FileProblem(f"{path}: changed on disk since it was read: not written")
        write_atomic(source, new)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".doeff-migrate.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.chmod(tmp, 0o644)
        if path.exists():
            raise FileProblem(f"{path}: appeared on disk while migrating: not written")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

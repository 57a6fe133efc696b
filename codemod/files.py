"""Reading and writing source files without damaging them.

Reads keep the bytes exactly (CRLF stays CRLF, a UTF-8 BOM is remembered and written back). Writes
are atomic: the new text goes to a temporary file in the same folder, gets the old file's mode, and
replaces the original with ``os.replace``, so an interrupt leaves either the old or the new file,
never half of one. Before replacing, the file is read again; if someone changed it since it was
read, nothing is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Iterator
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


def check_writable(source: SourceFile) -> None:
    """:class:`FileProblem` when ``source`` could not be replaced now: read-only (the file, or the folder
    the temp file goes to), or changed on disk since it was read. Checked before a run plans what
    depends on the file being written (bridges, handler modules), and again by :func:`write_atomic`."""
    target = source.path.resolve()
    try:
        info = target.stat()
    except OSError as exc:
        raise FileProblem(f"cannot re-read before writing: {exc.strerror or exc}") from None
    # The write bits, not os.access: root may write anything, yet a read-only file says "keep out".
    if not os.access(target, os.W_OK) or not info.st_mode & 0o222:
        raise FileProblem("file is read-only: not written")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise FileProblem(f"folder {target.parent} is read-only: not written")
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != source.raw:
        raise FileProblem("file changed on disk since it was read: not written")


def write_atomic(source: SourceFile, new_text: str) -> None:
    """Replace ``source.path`` with ``new_text`` unless it changed on disk or is read-only."""
    check_writable(source)
    target = source.path.resolve()
    info = target.stat()
    fd, tmp = _temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.encode(new_text))
            handle.flush()
            os.fsync(handle.fileno())
        _keep_owner(tmp, info)
        os.chmod(tmp, info.st_mode & 0o7777)
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        raise FileProblem(f"cannot write: {exc.strerror or exc}: not written") from None
    except BaseException:
        _discard(tmp)
        raise


def _temp_beside(target: Path) -> tuple[int, str]:
    """A temporary file in ``target``'s folder (the rename must stay on one file system)."""
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".doeff-migrate.tmp", dir=target.parent)
    except OSError as exc:  # a read-only folder, a full disk
        raise FileProblem(f"cannot write in {target.parent}: {exc.strerror or exc}: not written") from None


def _keep_owner(tmp: str, info: os.stat_result) -> None:
    """The new file gets the old one's owner and group (run as root, the temp file is root's).

    Only root can give a file away; for anyone else the temp file is already theirs, so a failure
    to change the group alone (a group the user is not in) keeps the user's default group."""
    if (info.st_uid, info.st_gid) == (os.getuid(), os.getgid()):
        return
    try:
        os.chown(tmp, info.st_uid, info.st_gid)
    except PermissionError:
        pass


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


# The repository being migrated is untrusted input: ``git status`` would run its ``core.fsmonitor``
# command just from being asked (and a configured pager or hook on other commands). Command-line
# ``-c`` settings win over the repository's own configuration.
_SAFE_GIT = (
    "git", "--no-pager", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
    "-c", "core.untrackedCache=false", "-c", "core.pager=cat",
)


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


def dirty_files(paths: list[Path]) -> list[Path]:
    """Files among ``paths`` with uncommitted changes (modified, staged or untracked) in their git repo.

    Outside a git checkout (or without git) nothing is dirty: the tool works the same there.
    """
    if not paths:
        return []
    by_repo: dict[Path, list[Path]] = {}
    repo_of: dict[Path, Path | None] = {}  # folder -> its checkout's top (one ``git`` run per folder, not per file)
    for path in paths:
        folder = path.resolve().parent
        if folder not in repo_of:
            try:
                top = subprocess.run(
                    [*_SAFE_GIT, "-C", str(folder), "rev-parse", "--show-toplevel"],
                    capture_output=True, text=True, check=False, env=_git_env(),
                )
            except OSError:
                return []
            repo_of[folder] = Path(top.stdout.strip()) if top.returncode == 0 else None
        repo = repo_of[folder]
        if repo is not None:
            by_repo.setdefault(repo, []).append(path.resolve())
    dirty: list[Path] = []
    for repo, files in by_repo.items():
        status = subprocess.run(
            [*_SAFE_GIT, "-C", str(repo), "status", "--porcelain", "-z", "--untracked-files=all", "--", *map(str, files)],
            capture_output=True, text=True, check=False, env=_git_env(),
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
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.chmod(tmp, 0o644)
        if path.exists():
            raise FileProblem(f"{path}: appeared on disk while migrating: not written")
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise FileProblem(f"{path}: cannot write: {exc.strerror or exc}: not written") from None
    except BaseException:
        _discard(tmp)
        raise


class ProjectBusy(Exception):
    """Another run holds the project's lock; the message names the project."""


@contextlib.contextmanager
def project_lock(roots: list[Path]) -> Iterator[None]:
    """Hold an exclusive lock on each project root folder for a run that writes.

    Two runs on one project would each plan bridges from what they read, and the later writer would
    put back a bridge block planned from a stale tree. The lock is ``flock`` on the folder itself, so
    no file is left behind, and the kernel drops it when the process ends, even by SIGKILL; a second
    run refuses at once instead of waiting on a run that may never end.
    """
    held: list[int] = []
    try:
        for root in sorted(set(roots)):
            try:
                fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                continue  # a folder we cannot open is one we cannot write in either: its files fail alone
            held.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ProjectBusy(f"another doeff-migrate run is writing {root}: try again when it has finished") from None
        yield
    finally:
        for fd in held:
            os.close(fd)

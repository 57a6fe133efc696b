"""Content-addressed pickles beside a recording, verified against their sha256 before unpickling."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from .errors import BlobIntegrityError


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

"""``DiskCacheHandler``: ``CacheGet``/``CachePut`` answered from a directory that survives runs.

Layout under the cache directory::

    keys/<sha256(key)[:2]>/<sha256(key)>.json   {"object": <sha256 of the pickle>, "expires": t|null, "key": repr}
    objects/<sha[:2]>/<sha>                     the pickled value (content-addressed: equal values share it)

Every file is written to a temp file in its directory and moved into place with ``os.replace``, so
concurrent writers (threads or processes) never expose a partial file: a reader sees the old entry
or the new one. An entry whose object is missing or fails its sha256 check is a miss (logged), not
an error: recomputing is the right recovery for a cache. Values are pickled, so the cache
directory is trusted input, like a recording's blobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

from . import effects as E
from .handlers import NativeHandler
from .recording import BlobIntegrityError, BlobStore

logger = logging.getLogger("doeff_migrate.runtime.disk_cache")


def key_digest(key: Any) -> str:
    """sha256 of a cache key: of the string itself for ``str`` keys, else of its pickle."""
    if isinstance(key, str):
        data = b"s:" + key.encode()
    else:
        try:
            data = b"p:" + pickle.dumps(key, protocol=4)
        except Exception as err:  # noqa: BLE001
            raise TypeError(f"cache key {key!r} cannot be pickled, so it cannot name a disk cache entry: {err}") from None
    return hashlib.sha256(data).hexdigest()


class DiskCacheHandler(NativeHandler):
    """Answers ``CacheGet``/``CachePut`` from ``directory`` (created when missing).

    ``CacheGet(key)`` answers the stored value or raises ``KeyError(key)`` at the ``yield`` on a
    miss (like ``memory_cache``); ``CachePut(key, value, ttl=seconds)`` stores it, expiring after
    ``ttl`` when given. Safe under concurrent writers; see the module docstring.
    """

    types = (E.CacheGet, E.CachePut)

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.objects = BlobStore(self.directory / "objects", remedy="the entry is recomputed on the next put")
        self.name = f"DiskCacheHandler({str(self.directory)!r})"

    def _key_path(self, key: Any) -> Path:
        digest = key_digest(key)
        return self.directory / "keys" / digest[:2] / f"{digest}.json"

    def handle(self, effect: Any, segment: Any) -> Any:
        if isinstance(effect, E.CacheGet):
            return self.get(effect.key)
        self.put(effect.key, effect.value, effect.ttl)
        return None

    def get(self, key: Any) -> Any:
        path = self._key_path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyError(key) from None
        except (ValueError, OSError) as err:
            logger.warning("disk cache entry %s is unreadable (%s); treating it as a miss", path, err)
            raise KeyError(key) from None
        expires = entry.get("expires")
        if expires is not None and time.time() >= expires:
            raise KeyError(key)
        try:
            return self.objects.get(entry["object"])
        except BlobIntegrityError as err:
            logger.warning("disk cache entry for %r is damaged (%s); treating it as a miss", key, err)
            raise KeyError(key) from None

    def put(self, key: Any, value: Any, ttl: float | None = None) -> None:
        try:
            digest, _size = self.objects.put(value, verify_existing=True)
        except Exception as err:  # noqa: BLE001 - pickling raises many types
            raise TypeError(f"cannot store {type(value).__qualname__} under cache key {key!r}: it cannot be pickled ({err})") from None
        entry = {"object": digest, "expires": (time.time() + ttl) if ttl is not None else None, "key": repr(key)[:200]}
        path = self._key_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


__all__ = ["DiskCacheHandler", "key_digest"]

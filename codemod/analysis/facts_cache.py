"""Project facts kept on disk across language-server starts, keyed by each file's content.

The server's project scan (``ProjectFacts.scan``) analyses every relevant file of the workspace for its facts
(about 1 ms a file). A file's facts depend only on its path, its text and the analysis' code (the scan runs
the analysis with the default configuration), so they are stored per path with the text's SHA-256, under the
hash of the tool's source (``codemod.cache.tool_fingerprint``: any edit of the codemod is a new tool). The next
start reads a file, hashes it, and takes the stored facts when the hash matches.

It lives beside the CLI's ``--check`` cache (``.doeff-migrate-cache/``, which carries its own ``.gitignore``).
The cache is never needed for correctness: a file that cannot be read, parsed or understood, an entry of
another layout or tool, or a folder that cannot be written is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from doeff_migrate.codemod.cache import CACHE_DIR, tool_fingerprint

from .facts import FileFacts, HandlerInfo

__all__ = ["FactsCache", "FORMAT", "facts_to_json", "facts_from_json"]

FORMAT = 1
"""Version of the file's layout below (another layout is a miss)."""

ReadFacts = Callable[[str, str], "FileFacts | None"]


def facts_to_json(facts: FileFacts | None) -> dict | None:
    if facts is None:
        return None
    return {
        "bound_keys": sorted(facts.bound_keys),
        "do_functions": sorted(facts.do_functions),
        "effect_classes": sorted(facts.effect_classes),
        "handlers": [[h.name, list(h.effects), h.path, h.line, h.is_stub] for h in facts.handler_list],
    }


def facts_from_json(data: dict | None) -> FileFacts | None:
    """The facts :func:`facts_to_json` wrote; raises ``TypeError``/``ValueError``/``KeyError`` on anything else."""
    if data is None:
        return None
    facts = FileFacts(
        bound_keys=set(_strings(data["bound_keys"])),
        do_functions=set(_strings(data["do_functions"])),
        effect_classes=set(_strings(data["effect_classes"])),
    )
    for name, effects, path, line, is_stub in data["handlers"]:
        if not (isinstance(name, str) and isinstance(path, str) and type(line) is int and type(is_stub) is bool):
            raise TypeError("handler entry")
        facts.add_handler(name, tuple(_strings(effects)), path, line, is_stub)
    return facts


def _strings(items) -> list[str]:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise TypeError("expected a list of strings")
    return items


class FactsCache:
    """The stored facts of one workspace (``root``); thread-safe."""

    def __init__(self, root: Path, fingerprint: Callable[[], str] = tool_fingerprint) -> None:
        self.file = Path(root) / CACHE_DIR / "lsp-facts.json"
        self._fingerprint = fingerprint
        self._tool: str | None = None
        self._stored: dict[str, tuple[str, dict | None]] | None = None
        self._seen: dict[str, tuple[str, dict | None]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _load(self) -> dict[str, tuple[str, dict | None]]:
        if self._stored is not None:
            return self._stored
        self._tool = self._fingerprint()
        self._stored = {}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if data.get("format") == FORMAT and data.get("tool") == self._tool and isinstance(data.get("files"), dict):
                for path, entry in data["files"].items():
                    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
                        self._stored[path] = (entry[0], entry[1])
        except (OSError, ValueError, AttributeError):
            pass  # no cache, or not one this tool wrote: every file is a miss
        return self._stored

    def reader(self, read_facts: ReadFacts) -> ReadFacts:
        """``read_facts`` answering from the stored facts of a file whose text is unchanged."""

        def read(path: str, source: str) -> FileFacts | None:
            digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
            with self._lock:
                stored = self._load().get(path)
            if stored is not None and stored[0] == digest:
                try:
                    facts = facts_from_json(stored[1])
                except (TypeError, ValueError, KeyError):
                    pass  # a damaged entry: analysed again below
                else:
                    with self._lock:
                        self.hits += 1
                        self._seen[path] = stored
                    return facts
            facts = read_facts(path, source)
            with self._lock:
                self.misses += 1
                self._seen[path] = (digest, facts_to_json(facts))
            return facts

        return read

    def save(self) -> None:
        """Effect: writes the facts of the files read since the start (those of files gone are dropped);
        a folder that cannot be written leaves the cache as it was."""
        with self._lock:
            if not self.misses and self._stored is not None and self._seen.keys() == self._stored.keys():
                return  # nothing new to write
            data = {"format": FORMAT, "tool": self._tool or self._fingerprint(), "files": {p: list(e) for p, e in self._seen.items()}}
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.file.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by doeff-migrate: its caches are not part of the project\n*\n")
            handle, temporary = tempfile.mkstemp(dir=self.file.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            os.replace(temporary, self.file)
        except OSError:
            return

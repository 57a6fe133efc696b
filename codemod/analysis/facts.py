"""Project facts: per-file facts that diagnostics of *other* files depend on.

Which env keys the project binds (for DM505), which effect classes it declares and which handlers (and
handler stubs) take them (DM602/DM603), and which functions are ``@do`` (DM501 across imports). Facts come
from the same parse as the diagnostics (``analysis.analyze``); the other files of the project are read once
from disk by :meth:`ProjectFacts.scan`, walked as ``doeff-migrate`` walks them (``codemod/discovery.py``)
and named as its index names modules (``index.module_name_for``), with a text pre-filter so files that
cannot contribute are not parsed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from doeff_migrate.codemod.discovery import iter_python_files
from doeff_migrate.codemod.index import module_name_for

__all__ = ["HandlerInfo", "FileFacts", "ProjectFacts"]

_RELEVANT_TEXT = ("Ask", "design", "handler", "binding", "EffectBase", "Effect", "injected", "instance", "env", "@do", "Local")


@dataclass(frozen=True)
class HandlerInfo:
    name: str
    effects: tuple[str, ...]
    path: str
    line: int
    is_stub: bool


@dataclass
class FileFacts:
    bound_keys: set[str] = field(default_factory=set)
    do_functions: set[str] = field(default_factory=set)
    effect_classes: set[str] = field(default_factory=set)
    handlers: dict[str, list[HandlerInfo]] = field(default_factory=dict)
    """Effect class name -> handlers taking it."""
    handler_list: list[HandlerInfo] = field(default_factory=list)

    def add_handler(self, name: str, effects: tuple[str, ...], path: str, line: int, is_stub: bool) -> None:
        info = HandlerInfo(name, effects, path, line, is_stub)
        self.handler_list.append(info)
        for effect in effects:
            self.handlers.setdefault(effect, []).append(info)

    def handler_info(self, name: str) -> HandlerInfo | None:
        return next((h for h in self.handler_list if h.name == name), None)


class ProjectFacts:
    """Facts of every Python file of the workspace; thread-safe (the scan runs in a worker thread)."""

    def __init__(self, roots: Iterable[Path] = ()) -> None:
        self.roots = [Path(r) for r in roots]
        self._files: dict[str, FileFacts] = {}
        self._modules: dict[str, str] = {}  # dotted module -> path
        self._lock = threading.Lock()
        self._keys: set[str] | None = None
        self._effects: set[str] | None = None
        self._handlers: dict[str, list[HandlerInfo]] | None = None
        self.generation = 0
        """Bumped whenever the facts change (a file's analysis that read them is then out of date)."""
        self.ready = False
        """True once :meth:`scan` has finished: before that, cross-file rules would guess (and stay off)."""

    # -- updates ----------------------------------------------------------------------------------------
    def update(self, path: str, facts: FileFacts | None) -> bool:
        """Store ``path``'s facts; returns True when they changed (other files may need a re-check)."""
        with self._lock:
            old = self._files.get(path)
            if facts is None:
                return False  # keep the last facts of a file that does not parse right now
            if old == facts:
                return False
            self._files[path] = facts
            self._modules[module_name_for(path)] = path
            self._keys = self._effects = self._handlers = None
            self.generation += 1
            return True

    def remove(self, path: str) -> bool:
        """Forget a deleted file; returns True when it was indexed."""
        with self._lock:
            if self._files.pop(path, None) is None:
                return False
            self._keys = self._effects = self._handlers = None
            self.generation += 1
            return True

    def scan(self, read_facts) -> int:
        """Index every ``.py`` file under the roots that is not indexed yet; returns the number parsed.

        ``read_facts(path, source) -> FileFacts | None`` is the analysis' fact collector.
        """
        parsed = 0
        for file in iter_python_files(self.roots):
            path = str(file)
            with self._lock:
                if path in self._files:
                    continue
            try:
                source = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if not any(marker in source for marker in _RELEVANT_TEXT):
                continue
            facts = read_facts(path, source)
            parsed += 1
            if facts is not None:
                with self._lock:
                    if path in self._files:  # opened in the editor meanwhile: the editor wins
                        continue
                self.update(path, facts)
        self.ready = True
        return parsed

    # -- queries ------------------------------------------------------------------------------------------
    def binds(self, key: str) -> bool:
        with self._lock:
            if self._keys is None:
                self._keys = set().union(*(f.bound_keys for f in self._files.values())) if self._files else set()
            return key in self._keys

    def declares_effect(self, name: str) -> bool:
        with self._lock:
            if self._effects is None:
                self._effects = set().union(*(f.effect_classes for f in self._files.values())) if self._files else set()
            return name in self._effects

    def handlers_for(self, effect: str) -> list[HandlerInfo]:
        with self._lock:
            if self._handlers is None:
                merged: dict[str, list[HandlerInfo]] = {}
                for facts in self._files.values():
                    for name, handlers in facts.handlers.items():
                        merged.setdefault(name, []).extend(handlers)
                self._handlers = merged
            return list(self._handlers.get(effect, ()))

    def is_do_function(self, module: str, name: str) -> bool:
        with self._lock:
            path = self._modules.get(module.lstrip("."))
            facts = self._files.get(path) if path else None
            return facts is not None and name in facts.do_functions

    def __len__(self) -> int:
        return len(self._files)

"""Which files the index reads: the words that make a file pinjected-related, and the plain modules read lazily."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..rules.bridges import MIGRATED_FUNCTION_USED_AS_OBJECT
from .facts import ModuleFacts

# A file with none of these is a plain module (indexed only for the names it re-exports).
INDEXED_WORDS = (b"pinjected", b"_binding", b"__design__", b"doeff_migrate", b"__doeff_", MIGRATED_FUNCTION_USED_AS_OBJECT.code.encode())
_RELATIVE_IMPORT = re.compile(rb"\bfrom[ \t]+\.")
_IMPORT_LINE = re.compile(rb"(?:^|;)[ \t]*(?:from|import)\b(?:[^\n]|\\\n)*", re.M)
_WORD = re.compile(rb"\w+")


class ModuleTable(dict):
    """Module name -> facts; a plain module ``build`` left unparsed (``pending``) is indexed the first
    time it is looked up (``get``, ``in``, ``[]``). Iterating sees the indexed modules only: a pending
    module has no providers, binds no keys and borrows no pinjected name (``ProjectIndex.build``)."""

    def __init__(self, index) -> None:  # the ProjectIndex the table belongs to
        super().__init__()
        self.index = index
        self.pending: dict[str, list[tuple[str, bytes]]] = {}

    def _fetch(self, name: object) -> bool:
        candidates = self.pending.pop(name, None) if isinstance(name, str) else None
        if candidates is None:
            return False
        self.index._load_plain(name, candidates)  # type: ignore[arg-type]
        return dict.__contains__(self, name)

    def get(self, name, default=None):  # type: ignore[override]
        if dict.__contains__(self, name) or self._fetch(name):
            return dict.__getitem__(self, name)
        return default

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or self._fetch(name)

    def __missing__(self, name: str) -> ModuleFacts:
        if self._fetch(name):
            return dict.__getitem__(self, name)
        raise KeyError(name)


def eager_plain_modules(indexed: Iterable[str], plain: dict[str, list[tuple[str, bytes]]]) -> set[str]:
    """The plain modules (name -> candidate ``(path, data)``) that may borrow pinjected's API from an indexed
    module (``ProjectIndex.link_reexports``): they name one in an import, or import relatively, or import
    such a module in turn. The others are parsed the first time a name is resolved through them."""
    eager: set[str] = set()
    words = {part.encode() for module in indexed for part in module.split(".")}
    # The words of each candidate's import statements (``None``: it imports relatively).
    imported = {
        name: [None if _RELATIVE_IMPORT.search(data) else set(_WORD.findall(b"\n".join(_IMPORT_LINE.findall(data)))) for _, data in candidates]
        for name, candidates in plain.items()
    }
    while True:
        found = {
            name for name, seen in imported.items()
            if name not in eager and any(tokens is None or not tokens.isdisjoint(words) for tokens in seen)
        }
        if not found:
            return eager
        eager |= found
        words |= {part.encode() for name in found for part in name.split(".")}

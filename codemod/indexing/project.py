"""``ProjectIndex``: the facts of every pinjected module of a project, built from files or sources."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .. import pinjected_names as pn
from .collector import Collector
from .decision_cache import DecisionCache
from .facts import ModuleFacts, ProviderDef, ValueSpec, module_from_plain_path, module_name_for
from .key_queries import KeyQueries
from .prefilter import INDEXED_WORDS, ModuleTable, eager_plain_modules
from .requires import EntryRequirements

class ProjectIndex(KeyQueries, DecisionCache, EntryRequirements):
    """Facts about every pinjected module of a project, keyed by dotted module name."""

    def __init__(self) -> None:
        self.modules: ModuleTable = ModuleTable(self)
        self.pending_paths: dict[str, str] = {}
        """Absolute path -> module name of the plain modules not parsed yet (``build``)."""
        self.by_path: dict[str, ModuleFacts] = {}
        self._by_key: tuple[dict[str, list[ProviderDef]], dict[str, list[ValueSpec]]] | None = None
        self.sources: dict[str, tuple[str, str]] = {}
        """Module -> (path, source) as indexed (to decide which of its providers stay pinjected)."""
        self._unmigrated: dict[str, set[str]] = {}
        self._cyclic: set[tuple[str, str]] | None = None
        self._tree: tuple[str, str, object] | None = None
        """(module, source, LibCST tree) of the file being migrated (``remember_tree``)."""
        self._keep_trees = False
        self.analysis = None
        """What decides which providers of a module stay pinjected (``decisions.ProviderAnalysis``: it takes the
        ``di`` decisions of ``provider_decisions.py``, which this module must not depend on)."""
        self._ast_trees: dict[str, tuple[str, ast.Module]] = {}
        """Module -> (source, ``ast`` tree) of the sources added after the index was built (the run's
        rewrites), for :meth:`ast_tree` (the bridge planning reads them again), and of those the build read
        within :attr:`_tree_budget` (the engine's transforms read the file's tree again)."""
        self._tree_budget = 0
        """Characters of source whose ``ast`` trees the build may still keep (a tree takes about 50 bytes a
        character: the budget bounds the memory, since a file's tree is dropped only when it is migrated)."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_tree"] = None  # a parse of one file, not a fact about the project
        state["_ast_trees"] = {}
        state.pop("_decided", None)  # decisions over that parse (decision_cache.module_decisions)
        state.pop("_parses", None)  # parses kept for the engine (decision_cache.take_tree)
        return state

    def ast_tree(self, module: str, source: str) -> ast.Module | None:
        """The ``ast`` tree of ``source`` if it is what was last indexed for ``module`` after the build."""
        kept = self._ast_trees.get(module)
        return kept[1] if kept is not None and kept[0] == source else None

    def remember_tree(self, module: str, source: str, tree: object) -> None:
        """The engine's parse of ``module`` (the file being migrated, whose providers' fate the
        transforms ask first): reused by :meth:`unmigrated_providers` while ``source`` is what was indexed."""
        self._tree = (module, source, tree)

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> ProjectIndex:
        """Index ``{path: source}``; paths that do not exist on disk are named from their own parts."""
        index = cls()
        for path, source in sources.items():
            index.add_source(path, source)
        index.link_reexports()
        index._keep_trees = True
        return index

    KEPT_BUILD_TREES = 2_000_000
    """Characters of source whose build-time ``ast`` trees ``build(keep_trees=True)`` keeps (about 100 MB)."""

    @classmethod
    def build(cls, paths: Iterable[str | os.PathLike[str]], keep_trees: bool = False) -> ProjectIndex:
        """Index every ``.py`` file under ``paths`` that mentions pinjected (unreadable files skipped).

        ``keep_trees``: keep the ``ast`` trees read (within :attr:`KEPT_BUILD_TREES`) for :meth:`ast_tree`, for
        a process that migrates the files itself (an index sent to worker processes goes without them)."""
        from ..discovery import iter_python_files

        index = cls()
        index._tree_budget = cls.KEPT_BUILD_TREES if keep_trees else 0
        # Modules that only re-export (``from app.lib import fetch as DEFAULT``) are indexed too, after
        # the pinjected ones, so that names resolve through them; they never replace a pinjected module.
        importing: list[tuple[Path, bytes]] = []
        for file in iter_python_files([Path(p) for p in paths]):
            try:
                data = file.read_bytes()
            except OSError:
                continue
            if not any(w in data for w in INDEXED_WORDS):
                if b"import" in data:
                    importing.append((file, data))
                continue
            try:
                index.add_source(str(file), data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        # Parsing every plain module of a large project was most of the index's time, serially, before
        # any file is migrated: a plain module is parsed now only when it may borrow pinjected's API
        # from an indexed module (``link_reexports``: it names one, or imports relatively), otherwise
        # the first time a name is resolved through it (``ModuleTable``).
        plain: dict[str, list[tuple[str, bytes]]] = {}
        for file, data in importing:
            name = module_name_for(file)
            if name not in index.modules:
                plain.setdefault(name, []).append((str(file), data))
        eager = eager_plain_modules(index.modules, plain)
        for name, candidates in plain.items():
            if name in eager:
                index._load_plain(name, candidates)
            else:
                index.modules.pending[name] = candidates
                for path, _ in candidates:
                    index.pending_paths[os.path.abspath(path)] = name
        index.link_reexports()
        index._keep_trees = True
        index._tree_budget = 0
        return index

    def _load_plain(self, name: str, candidates: list[tuple[str, bytes]]) -> None:
        """Index the first of ``candidates`` (files of module ``name`` without pinjected) that parses.

        Such a module has no providers and binds no keys, so no cached answer changes (``add_source``
        forgets them all)."""
        caches = (self._by_key, self._unmigrated, self._cyclic)
        for path, data in candidates:
            if dict.__contains__(self.modules, name):
                break
            try:
                self.add_source(path, data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        self._by_key, self._unmigrated, self._cyclic = caches

    def read_facts(self, path: str, source: str, tree: ast.Module | None = None) -> ModuleFacts | None:
        """The facts of ``source`` as the file at ``path``, without indexing them (``add_source(facts=)``)."""
        if tree is None:
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
        module = module_name_for(path) if os.path.exists(path) else module_from_plain_path(path)
        facts = ModuleFacts(module=module, path=str(path), names=pn.from_ast(tree))
        try:
            Collector(facts, tree, Path(path).name == "__init__.py", source).run()
        except RecursionError:  # nested too deeply to walk: the file is not indexed (it fails alone)
            return None
        return facts

    def add_source(self, path: str, source: str, facts: ModuleFacts | None = None) -> ModuleFacts | None:
        """Index ``source`` as the file at ``path``; ``facts``: :meth:`read_facts` of it, computed already
        (e.g. by the worker process that migrated it)."""
        tree = None
        if facts is None:
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            facts = self.read_facts(path, source, tree)
            if facts is None:
                return None
        module = facts.module
        if tree is not None and (self._keep_trees or len(source) <= self._tree_budget):
            if not self._keep_trees:
                self._tree_budget -= len(source)
            self._ast_trees[module] = (source, tree)
        else:
            self._ast_trees.pop(module, None)
        self.modules[module] = facts
        self.by_path[os.path.abspath(path)] = facts
        self.sources[module] = (str(path), source)
        self._by_key = None
        self._unmigrated = {}
        self._cyclic = None
        return facts

    def link_reexports(self) -> None:
        """Modules that get pinjected's API from a project module (``from app.di import injected``,
        ``app/di.py`` importing it from pinjected) are re-read with those names, so their providers are
        known; they stay pinjected (the transforms only see direct imports) and are flagged (DM128)."""
        for module, facts in list(self.modules.items()):
            borrowed = {}
            for local, (origin, name) in facts.imports.items():
                # A plain module still pending mentions no pinjected name, so it lends none: not parsed for this.
                source = dict.get(self.modules, origin)
                if source is not None and origin != module and name in source.names.names and local not in facts.names.names:
                    borrowed[local] = source.names.names[name]
            if not borrowed:
                continue
            path, text = self.sources[module]
            tree = ast.parse(text)
            names = pn.from_ast(tree)
            names.names.update(borrowed)
            for local in borrowed:
                names.origins[local] = facts.imports[local][0]
            relinked = ModuleFacts(module=module, path=facts.path, names=names, reexported_api=True)
            Collector(relinked, tree, Path(path).name == "__init__.py", text).run()
            self.modules[module] = relinked
            self.by_path[os.path.abspath(path)] = relinked
        self._by_key = None
        self._unmigrated = {}
        self._cyclic = None

    # -- queries ------------------------------------------------------------------------------
    def parsed_as_indexed(self, path: str, source: str) -> bool:
        """Whether the index's facts of the file at ``path`` are its module's and were read from ``source`` itself
        (so Python's parser accepted that text, and the facts describe it)."""
        facts = self.by_path.get(os.path.abspath(path))
        return (
            facts is not None and dict.get(self.modules, facts.module) is facts
            and self.sources.get(facts.module, ("", None))[1] == source
        )

    def facts_for(self, path: str) -> ModuleFacts | None:
        key = os.path.abspath(path)
        found = self.by_path.get(key)
        if found is None and key in self.pending_paths:
            self.modules.get(self.pending_paths[key])
            found = self.by_path.get(key)
        return found

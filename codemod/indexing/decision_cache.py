"""Which providers stay pinjected, per module, cached on the index."""

from __future__ import annotations

from .facts import ProviderDef


class DecisionCache:
    """Part of :class:`project.ProjectIndex`: the cached migrate/refuse answers per module."""

    def cyclic_providers(self) -> set[tuple[str, str]]:
        """``(module, name)`` of providers on a dependency cycle (``def fact(fact, /, n)``): pinjected
        fails to resolve them ("cycle detected"), a migrated ``@do`` would recurse and succeed (DM129).

        Only edges parsing is sure of: a key with one provider that no design rebinds."""
        if self._cyclic is None:
            graph: dict[str, tuple[str, ...]] = {}
            for key, providers in self._tables()[0].items():
                if len(providers) == 1 and not self.is_rebound(key):
                    graph[key] = providers[0].deps
            on_cycle: set[str] = set()
            for start in graph:
                stack, seen = [start], set()
                while stack:
                    key = stack.pop()
                    for dep in graph.get(key, ()):
                        if dep == start:
                            on_cycle.add(start)
                        elif dep not in seen:
                            seen.add(dep)
                            stack.append(dep)
            self._cyclic = {(self.providers_for_key(k)[0].module, self.providers_for_key(k)[0].name) for k in on_cycle}
        return self._cyclic

    def unmigrated_providers(self, module: str) -> set[str]:
        """Names of the providers of ``module`` the codemod leaves as pinjected (flagged), cached.

        While a module is being decided its own providers count as migrated (breaks import cycles).
        """
        deciding = self.__dict__.setdefault("_deciding", [])
        if module in self._unmigrated:
            if deciding and module != deciding[-1] and module in deciding:
                # A partial answer (``module`` is still being decided further out): the decisions of the
                # module now being decided may differ from those the di pass will take with the final one.
                self.__dict__.setdefault("_partial_readers", set()).add(deciding[-1])
        else:
            self._unmigrated[module] = self._surely_unmigrated(module)
            if module in self.sources:
                analysis = self.analysis
                if analysis is None:
                    raise RuntimeError("ProjectIndex.analysis is not set: decisions.ProviderAnalysis answers this (the engine sets it)")
                path, source = self.sources[module]
                remembered = self._tree
                # Decisions that read the partial answer of a module being decided further out are not those
                # the di pass takes (it sees the final one): only the others are kept for reuse. Every other
                # answer they read is final: cached, it is what the di pass reads too.
                partial_readers = self.__dict__.setdefault("_partial_readers", set())
                partial_readers.discard(module)
                deciding.append(module)
                fresh = not (remembered is not None and remembered[0] == module and remembered[1] == source and "pinjected" in source)
                tree = analysis.tree(source) if fresh else remembered[2]
                try:
                    decided = self._decide_to_fixpoint(module, path, source, tree)
                finally:
                    deciding.pop()
                if module in partial_readers:
                    partial_readers.discard(module)
                    decided = None
                # The di pass over this tree reuses them (``module_decisions``).
                if not fresh:
                    if decided is not None:
                        self._decided = (module, decided)
                elif tree is not None:
                    self._keep_parse(module, source, tree, decided)
        return self._unmigrated[module]

    def _decide_to_fixpoint(self, module: str, path: str, source: str, tree: object):
        """Decide ``module`` until no new provider is found unmigrated; the last round's decisions (taken with
        the final answer), or ``None`` (no tree, or no fixpoint within the bound)."""
        analysis = self.analysis
        decided = None
        for _ in range(10):  # to a fixpoint: a provider depending on one flagged in this pass
            decided = analysis.decide(source, path, self, tree) if tree is not None else None
            found = decided.unmigrated if decided is not None else set()
            if found <= self._unmigrated[module]:
                break
            self._unmigrated[module] = self._unmigrated[module] | found
            decided = None  # taken with a set of unmigrated providers that is not the final one
        return decided

    _KEPT_PARSES = 32
    """Parses of modules decided before the engine migrates them, kept for it (``take_tree``); a bound,
    since a worker decides modules that other workers migrate."""

    def _keep_parse(self, module: str, source: str, tree: object, decided: object) -> None:
        kept = self.__dict__.setdefault("_parses", {})
        kept.pop(module, None)
        kept[module] = (source, tree, decided)
        while len(kept) > self._KEPT_PARSES:
            del kept[next(iter(kept))]

    def take_tree(self, path: str, source: str):
        """The parse of ``source`` (the file at ``path``) the decisions were taken over, for the engine to
        migrate (no second parse; the ``di`` pass then reuses the decisions), or ``None``."""
        facts = self.facts_for(path)
        kept = self.__dict__.get("_parses")
        entry = kept.pop(facts.module, None) if kept and facts is not None else None
        if entry is None or entry[0] != source:
            return None
        if entry[2] is not None:
            self._decided = (facts.module, entry[2])
        return entry[1]

    def module_decisions(self, module: str):
        """The decisions (``provider_decisions.ModuleDecisions``) taken over the tree the engine is migrating
        (``remember_tree``) for ``module``, or ``None``."""
        decided = getattr(self, "_decided", None)
        remembered = self._tree
        if decided is None or decided[0] != module or remembered is None or remembered[0] != module:
            return None
        return decided[1]

    def decisions_of_migrated_module(self, module: str):
        """:meth:`module_decisions`, taken now for a module nobody has asked about yet: one of its providers
        asks about the module's others sooner or later during its di pass, which decides the whole module
        then, so deciding it first takes each provider's decision once instead of twice."""
        if module not in self._unmigrated and module in self.sources:
            self.unmigrated_providers(module)
        return self.module_decisions(module)

    def _surely_unmigrated(self, module: str) -> set[str]:
        """Providers pinjected itself cannot resolve or that the transforms cannot see: they stay pinjected."""
        facts = self.modules.get(module)
        found = {name for mod, name in self.cyclic_providers() if mod == module}
        if facts is not None and facts.reexported_api:
            found |= set(facts.providers)
        return found

    def is_unmigrated(self, provider: ProviderDef | None) -> bool:
        """A provider that stays pinjected: nothing migrated may ask for it, call it or bind it."""
        return provider is not None and provider.name in self.unmigrated_providers(provider.module)

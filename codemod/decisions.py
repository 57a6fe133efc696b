"""Which providers of a module the ``di`` phase leaves as pinjected: its own decisions, taken over the whole module.

A call site may only ``yield`` a provider that migrates, so transforms ask the index about providers of other
modules (``ProjectIndex.is_unmigrated``). The index caches the answers per module and reaches the analysis through
:class:`ProviderAnalysis` (``ProjectIndex.analysis``, set by the engine): the index itself depends on no transform.
The decisions themselves are :mod:`.provider_decisions` (no transform is involved); the ``di`` pass reuses
those taken over the tree it rewrites.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext

from . import pinjected_names as pn
from .errors import MigrationError
from .index import ProjectIndex
from .parsing import flags_to_first_statement, parse_guarded
from .provider_decisions import ModuleDecisions, decide_providers
from .state import FileState

__all__ = ["ProviderAnalysis", "analysis_tree", "module_decisions", "unmigrated_providers"]


def analysis_tree(source: str) -> cst.Module | None:
    """``source`` parsed for :func:`unmigrated_providers` (``None``: nothing to analyse)."""
    if "pinjected" not in source:
        return None
    try:
        return flags_to_first_statement(parse_guarded(source))
    except MigrationError:
        return None


def module_decisions(source: str, path: str, index: ProjectIndex, module: cst.Module | None = None) -> ModuleDecisions | None:
    """The ``di`` decisions over ``source`` (``None``: nothing to decide).

    ``module``: ``source`` already parsed (:func:`analysis_tree`; the tree the engine is migrating):
    parsing is the most expensive part of this question.
    """
    if module is None:
        module = analysis_tree(source)
    if module is None:
        return None
    facts = index.facts_for(path)
    if facts is None:
        return None
    state = FileState(
        path=path, module=facts.module, index=index, facts=facts, names=pn.from_cst(module),
        context=CodemodContext(filename=path, full_module_name=facts.module),
    )
    try:
        return decide_providers(module, state)
    except RecursionError:
        return None


def unmigrated_providers(source: str, path: str, index: ProjectIndex, module: cst.Module | None = None) -> set[str]:
    """Decorated functions of ``source`` that the ``di`` phase leaves as pinjected (flagged)."""
    decided = module_decisions(source, path, index, module)
    return set(decided.unmigrated) if decided is not None else set()


class ProviderAnalysis:
    """What ``ProjectIndex.unmigrated_providers`` calls (a class, so that an index sent to worker processes
    carries it by reference)."""

    tree = staticmethod(analysis_tree)
    decide = staticmethod(module_decisions)
    unmigrated = staticmethod(unmigrated_providers)

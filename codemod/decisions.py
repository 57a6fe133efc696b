"""Which providers of a module the ``di`` phase leaves as pinjected: its own decisions, taken over the whole module.

A call site may only ``yield`` a provider that migrates, so transforms ask the index about providers of other
modules (``ProjectIndex.is_unmigrated``). The index caches the answers per module and reaches the analysis through
:class:`ProviderAnalysis` (``ProjectIndex.analysis``, set by the engine): the index itself depends on no transform.
The analysis runs ``InjectedFunctions`` in analysis mode (decisions only, nothing rewritten) over the module.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext

from . import pinjected_names as pn
from .errors import MigrationError
from .index import ProjectIndex
from .parsing import flags_to_first_statement, parse_guarded
from .state import FileState
from .transforms.injected_functions import InjectedFunctions

__all__ = ["ProviderAnalysis", "analysis_tree", "unmigrated_providers"]


def analysis_tree(source: str) -> cst.Module | None:
    """``source`` parsed for :func:`unmigrated_providers` (``None``: nothing to analyse)."""
    if "pinjected" not in source:
        return None
    try:
        return flags_to_first_statement(parse_guarded(source))
    except MigrationError:
        return None


def unmigrated_providers(source: str, path: str, index: ProjectIndex, module: cst.Module | None = None) -> set[str]:
    """Decorated functions of ``source`` that the ``di`` phase leaves as pinjected (flagged).

    ``module``: ``source`` already parsed (:func:`analysis_tree`; the tree the engine is migrating):
    parsing is the most expensive part of this question.
    """
    if module is None:
        module = analysis_tree(source)
    if module is None:
        return set()
    facts = index.facts_for(path)
    if facts is None:
        return set()
    state = FileState(
        path=path, module=facts.module, index=index, facts=facts, names=pn.from_cst(module),
        context=CodemodContext(filename=path, full_module_name=facts.module),
    )
    # Only the decisions are wanted: the bodies of the providers that migrate are not rewritten.
    analysis = InjectedFunctions(state)
    analysis.analysis_only = True
    try:
        module.visit(analysis)
    except RecursionError:
        return set()
    return set(state.unmigrated)


class ProviderAnalysis:
    """What ``ProjectIndex.unmigrated_providers`` calls (a class, so that an index sent to worker processes
    carries it by reference)."""

    tree = staticmethod(analysis_tree)
    unmigrated = staticmethod(unmigrated_providers)

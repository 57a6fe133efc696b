"""The project-wide index of pinjected symbols: a first pass over every file that mentions pinjected.

A call site inside one module can only be rewritten correctly with facts from the others: whether a
dependency key names an ``@injected`` function (its calls become ``yield f(...)``) or a plain value
(calls stay calls), whether any design anywhere rebinds that key (then the body must ``Ask`` for it
instead of calling the function directly), and which keys an entry point can reach (the runner's
pre-flight list). The index reads sources with the stdlib ``ast`` parser and never imports or runs
them (pinjected-semantics.md §1, C26: the implicit registry is keyed by function name).

The parts live in the ``indexing`` package, one module each: the facts (``facts``), the per-file collector
(``collector``, ``provider_facts``, ``design_facts``), the prefilter, ``ProjectIndex`` (``project``) with its
key queries, decision cache and ``requires``. This module is their public face.
"""

from __future__ import annotations

from .discovery import project_root_for
from .indexing.ast_helpers import constructed_class
from .indexing.facts import (
    BRIDGE_DECORATORS, ModuleFacts, ProviderDef, ValueSpec, module_name_for, top_function_nodes, top_functions,
)
from .indexing.project import ProjectIndex
from .indexing.provider_facts import class_dependency_params, dependency_params
from .indexing.word_lines import clean_definitions

__all__ = [
    "ProviderDef", "ValueSpec", "ModuleFacts", "ProjectIndex", "module_name_for", "project_root_for", "top_functions", "top_function_nodes",
    "BRIDGE_DECORATORS", "clean_definitions", "constructed_class", "class_dependency_params", "dependency_params",
]

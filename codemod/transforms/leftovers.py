"""Flags pinjected machinery no transform translates: runner/IDE/test hooks, class injection, dynamic keys.

pinjected-semantics.md §4.4 items 3, 9 and C15: ``AsyncResolver``, ``test_tree()``, ``_to_pytest``,
``register_fixtures_from_design``, the deprecated ``providers/instances/classes/destructors/injecteds``
builders (DM109), ``injected(SomeClass)`` (DM103) and ``Injected.dynamic`` (DM111) are left as they
are with a flag on the statement that uses them. A plain (undecorated) function whose body still builds
IProxy objects (``injected("k")``, ``Injected.*``) after ``plain_programs.py`` (which translates the
functions whose every pinjected use has a runtime counterpart) is flagged DM135: it would hand
pinjected objects to migrated programs.
"""

from __future__ import annotations

import ast
import bisect

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..imports import without_names
from ..index import clean_definitions
from ..indexing.word_lines import LONE_CR, word_lines
from ..comments import FLAG_COMMENT
from .. import cst_walk
from . import MigrationTransformer, Transform, register
from .base import pinjected_words
from .pinjected_utilities import name_uses, retarget_utilities
from .pinjected_uses import PROXY_TYPE_NAMES, TYPE_ALIASES
from ..rules.di import CLASS_INJECTION, DEPENDENCY_DEFAULT, RESOLVER_SPECIAL, RUNNER_SPECIFIC, UNAWAITED_ASYNC_DEPENDENCY
from ..rules.di_calls import PINJECTED_API_IN_PLAIN_FUNCTION


class Leftovers(MigrationTransformer):
    def __init__(self, state) -> None:
        super().__init__(state)
        self.inside_pinjected_def = 0
        self.walk_all = False
        self.scan_functions = True
        self.clean = _Clean()

    def visit_Module(self, node: cst.Module) -> bool:
        # Statements are only searched when the index saw runner machinery; function bodies always are
        # (DM135), which is cheap: only definitions are walked, not every statement of the module.
        self.walk_all = self.state.facts.leftover_calls
        source = self.state.source
        self.scan_functions = not source or any(word in source for word in ("injected(", "Injected.", "IProxy(", "design("))
        self.clean = _Clean() if self.walk_all or not self.scan_functions else _clean_definitions(self.state)
        return self.walk_all or self.scan_functions

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return self.walk_all

    def statement_words(self) -> set[str]:
        # Every flag is on a use of pinjected's API (``state.canonical``: a local pinjected name or a module
        # alias) or on ``<design>.to_graph`` / ``.to_resolver``; ``leave_Module`` sees the whole module itself.
        return {*pinjected_words(self.state), "to_graph", "to_resolver"}

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        module = retarget_utilities(self.state, updated_node, pinjected_values_remain=_still_pinjected(self.state))
        return without_unused_star(self.state, retarget_type_names(self.state, module))

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return node.name.value not in self.clean.classes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if any(self.state.canonical(d) is not None for d in node.decorators):
            self.inside_pinjected_def += 1
        # A body that never names pinjected's API has nothing to flag, in itself or in what it nests.
        return node.name.value not in self.clean.functions

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if any(self.state.canonical(d) is not None for d in original_node.decorators):
            self.inside_pinjected_def -= 1
        elif (
            self.scan_functions and not self.inside_pinjected_def and not is_generated_program(original_node)
            and original_node.name.value not in self.clean.functions
        ):
            used = self.pinjected_api_in(original_node.body)
            if used is not None:
                return self.state.flag(
                    updated_node, PINJECTED_API_IN_PLAIN_FUNCTION.code,
                    f"plain function builds pinjected objects (`{used}`) that now mix with @do programs: port it by hand",
                )
        return updated_node

    def pinjected_api_in(self, body: cst.CSTNode) -> str | None:
        """The first IProxy the body builds: ``injected(...)``, ``Injected.x(...)``, ``IProxy(...)``."""
        state = self.state
        if not state.names.names and not state.names.modules:
            return None
        found: list[str] = []

        class _Finder(cst.CSTVisitor):
            def visit_With(self, node: cst.With) -> None:
                # ``with design(...):`` in a function: pinjected scopes the IProxies built under it to the
                # block's design; the migrated calls inside it would run with the module's env instead.
                for item in node.items:
                    if isinstance(item.item, cst.Call) and state.canonical(item.item.func) == pn.DESIGN:
                        found.append(f"with {pn.dotted_cst(item.item.func) or 'design'}(...)")

            def visit_Call(self, call: cst.Call) -> None:
                canonical = state.canonical(call.func)
                dotted = pn.dotted_cst(call.func) or ""
                head, _, attr = dotted.rpartition(".")
                # ``design(...)`` in a helper is a Design value, flagged where it is used (DM115).
                # ``injected(Class)`` / ``Injected.dynamic`` carry their own flags (DM103 / DM111).
                if canonical == pn.INJECTED and call.args and not isinstance(call.args[0].value, cst.SimpleString):
                    return
                if canonical in (pn.INJECTED, pn.IPROXY):
                    found.append(f"{dotted}(...)")
                elif head and attr != "dynamic" and state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS:
                    found.append(f"{dotted}(...)")

        body.visit(_Finder())
        return found[0] if found else None

    def codes_in(self, node: cst.CSTNode) -> list[str]:
        found: list[str] = []
        state = self.state

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                canonical = state.canonical(call.func)
                dotted = pn.dotted_cst(call.func) or ""
                head, _, attr = dotted.rpartition(".")
                if canonical in pn.RUNNER_SPECIFIC or attr in ("to_graph", "to_resolver") and head in state.facts.design_vars:
                    found.append(RUNNER_SPECIFIC.code)
                elif canonical == pn.INJECTED and call.args and not isinstance(call.args[0].value, cst.SimpleString):
                    found.append(CLASS_INJECTION.code)
                elif state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS and attr == "dynamic":
                    found.append(RESOLVER_SPECIAL.code)

        node.visit(_Finder())
        return list(dict.fromkeys(found))

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if self.inside_pinjected_def or not self.walk_all:
            return updated_node
        for code in self.codes_in(updated_node):
            updated_node = self.state.flag(updated_node, code)
        return updated_node


PINJECTED_TYPES_MODULE = "doeff_migrate.runtime.pinjected_types"


def retarget_type_names(state, module: cst.Module) -> cst.Module:
    """``Injected`` / ``IProxy`` left in plain code only as types (``isinstance(x, Injected)``,
    annotations) are imported from the runtime's counterparts instead of pinjected: after migration
    an unresolved pinjected value is a runtime program, and these names test for exactly that.
    A name still used as pinjected's API (``Injected.pure``, ``IProxy(...)``) keeps its import."""
    if state.target != "runtime" or _still_pinjected(state):
        return module
    types = {
        local: pn.IPROXY if canonical in PROXY_TYPE_NAMES else canonical
        for local, canonical in state.names.names.items()
        if canonical in (pn.INJECTED_CLASS, pn.IPROXY) or canonical in PROXY_TYPE_NAMES or canonical in TYPE_ALIASES
    }
    if not types or not _used_as_types(state.ast_tree(), types, state.source):
        return module
    as_api, names = name_uses(module, types)
    as_type = names & set(types)
    moved = {local for local in as_type - as_api if pn.is_pinjected_module(state.names.origins.get(local, ""))}
    if not moved:
        return module
    # ``from pinjected import *`` goes too once the moved names were the only ones of it still used.
    star_unused = not (set(pn.STAR_EXPORTS) - moved) & names
    body = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.ImportFrom):
            small = stmt.body[0]
            if star_unused and isinstance(small.names, cst.ImportStar) and small.module is not None and pn.dotted_cst(small.module) == "pinjected":
                continue
            if small.module is not None and pn.is_pinjected_module(pn.dotted_cst(small.module) or "") and not isinstance(small.names, cst.ImportStar):
                stmt = without_names(stmt, lambda a: (a.evaluated_alias or a.evaluated_name) in moved)
                if stmt is None:
                    continue
        body.append(stmt)
    for local in sorted(moved):
        canonical = types[local]
        AddImportsVisitor.add_needed_import(state.context, PINJECTED_TYPES_MODULE, canonical, None if local == canonical else local)
        state.names.names.pop(local, None)
        state.names.origins.pop(local, None)
    return module.with_changes(body=body)


def without_unused_star(state, module: cst.Module) -> cst.Module:
    """``module`` without ``from pinjected import *`` once none of the names it binds is used any more
    (the migrated code imports the runtime's under aliases): a module left with it is still pinjected
    code to the bridges (DM161) and to a run where pinjected is not installed."""
    if state.target != "runtime" or not state.names.star or _still_pinjected(state):
        return module
    names = {n.value for n in cst_walk.nodes(module, skip=(cst.Import, cst.ImportFrom)) if type(n) is cst.Name}
    if names & set(pn.STAR_EXPORTS):
        return module
    body = [
        stmt for stmt in module.body
        if not (
            isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.ImportFrom)
            and isinstance(stmt.body[0].names, cst.ImportStar) and stmt.body[0].module is not None
            and pn.dotted_cst(stmt.body[0].module) == "pinjected"
        )
    ]
    return module.with_changes(body=body)


def _used_as_types(tree, names, source: str = "") -> bool:
    """Whether the source uses one of ``names`` other than as pinjected's API (``Injected.pure``,
    ``IProxy(...)``) or as the annotation of a module-level entry point (rewritten to ``Program``):
    a cheap ``ast`` test that spares most modules the walk over the rewritten tree. Only the top-level
    statements with one of ``names`` on one of their lines (``source``: the text ``tree`` was parsed from)
    are walked: a name is a node on a line that shows it."""
    if tree is None:
        return True
    statements = tree.body
    if source and not LONE_CR.search(source):
        lines = word_lines(source, names)
        statements = [stmt for stmt in statements if _shows_any(stmt, lines)]
    skipped: set[int] = set()
    for node in statements:
        if isinstance(node, ast.AnnAssign):
            skipped.update(id(n) for n in ast.walk(node.annotation))
    nodes = [n for stmt in statements for n in ast.walk(stmt)]
    for node in nodes:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            skipped.add(id(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            skipped.add(id(node.func))
    return any(isinstance(node, ast.Name) and node.id in names and id(node) not in skipped for node in nodes)


def _shows_any(stmt: ast.stmt, lines: list[int]) -> bool:
    """Whether one of the sorted line numbers ``lines`` falls within ``stmt`` (its decorators included)."""
    first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
    at = bisect.bisect_left(lines, first)
    return at < len(lines) and lines[at] <= (stmt.end_lineno or stmt.lineno)


# Notes on migrated code (the function migrated; the comment only informs).
_NOTES = (DEPENDENCY_DEFAULT.code, UNAWAITED_ASYNC_DEPENDENCY.code)


def _still_pinjected(state) -> bool:
    """Whether statements of this module are left as pinjected code (flagged now or by an earlier run):
    their ``Injected`` / ``IProxy`` are pinjected's own and keep pinjected's import."""
    if any(flag.code not in _NOTES for flag in state.flags):
        return True
    return any(code not in _NOTES for code in FLAG_COMMENT.findall(state.source or ""))


class _Clean:
    """Names of the module's functions / classes whose every definition in the source never mentions
    a local pinjected name (or module alias) inside its body: nothing in them can build an IProxy."""

    def __init__(self, functions: frozenset[str] = frozenset(), classes: frozenset[str] = frozenset()) -> None:
        self.functions = functions
        self.classes = classes


def _clean_definitions(state) -> _Clean:
    """A text-and-``ast`` pre-check before walking each function body with LibCST (the Finder of
    ``pinjected_api_in``, the costliest part of this transform on large plain modules).

    Definitions are matched by name, so a function an earlier transform generated (a name the source
    does not define) is always walked. The index computed it already when it read this very text.
    """
    facts = state.facts
    if facts.clean_definitions is not None and state.index.sources.get(state.module, ("", None))[1] == state.source:
        return _Clean(*facts.clean_definitions)
    tree = state.ast_tree()
    if tree is None:
        return _Clean()
    return _Clean(*clean_definitions(state.source, tree, state.names))


def clean_functions(state) -> frozenset[str]:
    """Names of the module's functions whose every definition's body never names pinjected's API."""
    return _clean_definitions(state).functions


def is_generated_program(node: cst.FunctionDef) -> bool:
    """A ``@do`` function the codemod generated (a migrated provider or a lifted entry point)."""
    return any(pn.dotted_cst(d.decorator) in ("do", "_dm_do") for d in node.decorators)


transform = register(
    Transform(
        __name__,
        phase="di",
        order=40,
        transformer=Leftovers,
        description="flag pinjected runner/IDE hooks, class injection and dynamic keys that stay as they are",
    )
)

"""Imports of pinjected utilities that plain code uses directly are retargeted to the runtime's counterparts.

``from pinjected.compatibility.task_group import TaskGroup`` (anywhere: module level or inside a function)
becomes ``from doeff_migrate.runtime.compat import TaskGroup``: the counterpart behaves as pinjected 0.2.252's
(``runtime/compat.py``), so the migrated code no longer needs pinjected installed. Names of these modules
without a counterpart keep their pinjected import (the statement is split).

``pinjected.di.expr_util.Expr`` is the class of pinjected's expression graph (the lazy node an IProxy
wraps). After migration that graph is the runtime's ``Expr``, so a module using ``Expr`` only as a type
(``isinstance(x, Expr)``, annotations) imports the runtime's instead. The distinction lost is the one
between an IProxy and its node: pinjected's ``isinstance(proxy, Expr)`` is false, the runtime's is true
(injected_utils' picklability checker tests ``isinstance(x, DelegatedVar) or isinstance(x, Expr)``, the
same either way). A module still using ``Expr`` as pinjected's API (subclassing it, ``Expr.x``, calling
it), or whose statements stay pinjected code, keeps pinjected's.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..cst_walk import nodes
from ..imports import without_names

COMPAT_MODULE = "doeff_migrate.runtime.compat"
EXPRESSIONS_MODULE = "doeff_migrate.runtime.expressions"

# pinjected module -> {name: runtime module defining the counterpart under the same name}.
COUNTERPARTS: dict[str, dict[str, str]] = {
    "pinjected.compatibility.task_group": {"TaskGroup": COMPAT_MODULE, "CompatibleExceptionGroup": COMPAT_MODULE},
    "pinjected.di.util": {"check_picklable": COMPAT_MODULE},
    "pinjected.di.expr_util": {"Expr": EXPRESSIONS_MODULE},
}
# Counterparts that stand for pinjected's values only where the name is used as a type (see the docstring).
TYPE_ONLY = frozenset({("pinjected.di.expr_util", "Expr")})


def has_runtime_counterpart(state, local: str) -> bool:
    """Whether the local name ``local`` is imported from pinjected as a utility the runtime has whatever the
    use (so it does not keep a function pinjected code); a :data:`TYPE_ONLY` name depends on its uses."""
    module, name = state.names.origins.get(local, ""), state.names.names.get(local) or ""
    return name in COUNTERPARTS.get(module, {}) and (module, name) not in TYPE_ONLY


def retarget_utilities(state, module: cst.Module, pinjected_values_remain: bool) -> cst.Module:
    """``module`` with the imports of :data:`COUNTERPARTS` names taken from the runtime.

    ``pinjected_values_remain``: statements of the module stay pinjected code, so type tests
    (:data:`TYPE_ONLY`) must keep seeing pinjected's classes."""
    source = state.source
    if state.target != "runtime" or (source is not None and not any(m in source for m in COUNTERPARTS)):
        return module
    type_locals = _imported_type_only_names(module)
    kept_as_api = set(type_locals) if pinjected_values_remain else name_uses(module, type_locals)[0]
    return module.visit(_RetargetImports(frozenset(kept_as_api)))


def _counterpart(module: str, alias: cst.ImportAlias) -> str | None:
    name = pn.dotted_cst(alias.name) or ""
    return COUNTERPARTS.get(module, {}).get(name)


def _local(alias: cst.ImportAlias) -> str:
    return alias.evaluated_alias or alias.evaluated_name


def _imports_in(module: cst.Module):
    found: list[tuple[str, cst.ImportAlias]] = []
    for node in nodes(module, skip=(cst.ImportFrom,)):
        if isinstance(node, cst.ImportFrom):
            name = pn.dotted_cst(node.module) if node.module is not None and not node.relative else None
            if name in COUNTERPARTS and not isinstance(node.names, cst.ImportStar):
                found.extend((name, alias) for alias in node.names)
    return found


def _imported_type_only_names(module: cst.Module) -> dict[str, str]:
    """Local name -> pinjected name, for the :data:`TYPE_ONLY` names the module imports."""
    return {
        _local(alias): pn.dotted_cst(alias.name) or ""
        for mod, alias in _imports_in(module)
        if (mod, pn.dotted_cst(alias.name)) in TYPE_ONLY
    }


def name_uses(module: cst.Module, names) -> tuple[set[str], set[str]]:
    """``(api, seen)``: those of ``names`` used as pinjected's API (``Name.attr``, ``Name(...)``,
    ``class C(Name)``), and every identifier of ``module`` outside its import statements."""
    api: set[str] = set()
    seen: set[str] = set()
    for node in nodes(module, skip=(cst.Import, cst.ImportFrom)):
        if isinstance(node, cst.Name):
            seen.add(node.value)
        elif isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value in names:
                api.add(node.value.value)
        elif isinstance(node, cst.Call):
            if isinstance(node.func, cst.Name) and node.func.value in names:
                api.add(node.func.value)
        elif isinstance(node, cst.ClassDef):
            for base in node.bases:
                if isinstance(base.value, cst.Name) and base.value.value in names:
                    api.add(base.value.value)
    return api, seen


class _RetargetImports(cst.CSTTransformer):
    """Rewrites each one-import statement of a :data:`COUNTERPARTS` module, wherever it stands."""

    def __init__(self, kept: frozenset[str]) -> None:
        super().__init__()
        self.kept = kept

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if len(updated_node.body) != 1 or not isinstance(updated_node.body[0], cst.ImportFrom):
            return updated_node
        small = updated_node.body[0]
        if small.module is None or small.relative or isinstance(small.names, cst.ImportStar):
            return updated_node
        module = pn.dotted_cst(small.module) or ""
        moving = [a for a in small.names if _counterpart(module, a) is not None and _local(a) not in self.kept]
        if not moving:
            return updated_node
        moved: dict[str, list[cst.ImportAlias]] = {}
        for alias in moving:
            moved.setdefault(_counterpart(module, alias), []).append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        rest = without_names(updated_node, lambda a: any(a is m for m in moving))
        statements = [] if rest is None else [rest]
        for index, (target, aliases) in enumerate(moved.items()):
            statement = cst.SimpleStatementLine(
                body=[cst.ImportFrom(module=cst.parse_expression(target), names=aliases)],
                trailing_whitespace=updated_node.trailing_whitespace,
            )
            if rest is None and index == 0:  # the comments above the import stay above its replacement
                statement = statement.with_changes(leading_lines=updated_node.leading_lines)
            statements.append(statement)
        return cst.FlattenSentinel(statements)

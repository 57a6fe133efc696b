"""Syntactic facts the design rewrites read: what a statement assigns, which names a module binds (and how
often), and the design flags an earlier run left."""

from __future__ import annotations

import re
from collections import Counter

import libcst as cst

from .. import pinjected_names as pn

# The flags this transform writes on design statements (other transforms' flags there, e.g. the bridges'
# DM161, say nothing about whether the design itself can be translated).
_EARLIER_FLAG = re.compile(r"# doeff-migrate: DM(115|117|118|119|120|121|122): ")


def earlier_flag(stmt: cst.CSTNode, lines=None) -> bool:
    """A design flag of an earlier run above ``stmt``."""
    return any(
        line.comment is not None and _EARLIER_FLAG.match(line.comment.value)
        for line in (getattr(stmt, "leading_lines", ()) if lines is None else lines)
    )


def assigns(stmt: cst.CSTNode, name: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], (cst.Assign, cst.AnnAssign, cst.AugAssign))
        and target_name(stmt.body[0]) == name
    )


class Bindings(cst.CSTVisitor):
    """Module-level name bindings (statements nested in module-level compound statements included)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.stable: set[str] = set()
        """Names bound by ``def``/``class``/``import`` (their objects are not mutated by plain code)."""

    def _target(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.append(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._target(element.value)
        elif isinstance(node, cst.StarredElement):
            self._target(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.append(node.name.value)
        self.stable.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.append(node.name.value)
        self.stable.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Import(self, node: cst.Import) -> None:
        self._imported(node.names)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            self._imported(node.names)

    def _imported(self, aliases) -> None:
        for alias in aliases:
            local = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            self.stable.add(local)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.append((pn.dotted_cst(node.name) or "").split(".")[0])


def module_bindings(module: cst.Module) -> tuple[Counter[str], set[str]]:
    collector = Bindings()
    module.visit(collector)
    return Counter(collector.names), collector.stable



def target_name(stmt) -> str | None:
    if isinstance(stmt, cst.Assign):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
            return stmt.targets[0].target.value
        return None
    target = getattr(stmt, "target", None)
    return target.value if isinstance(target, cst.Name) else None

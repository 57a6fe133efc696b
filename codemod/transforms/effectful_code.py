"""The file's import table and effectful-code detection, shared by the compute, io and recording transforms.

Names are resolved through the module's own imports (``import ray as r``, ``from ray import get``); a name
bound several ways at module level resolves to nothing, and a local of a function shadows an import.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import cst_walk
from .. import pinjected_names as pn
from ..state import FileState

DO_DECORATORS = {"doeff_migrate.runtime.do", "doeff_migrate.runtime.program.do", "doeff.do"}
RUNTIME_MODULE_PREFIXES = ("doeff_migrate.runtime", "doeff")


class ImportTable:
    """Local name -> qualified name, from the module's own (top-level, ``if``/``try``) imports."""

    def __init__(self, module: cst.Module, state: FileState | None = None) -> None:
        self.names: dict[str, str] = {}
        self.ambiguous: dict[str, list[str]] = {}
        """Names bound to different things at module level (``try: import cupy as np`` / ``except: import numpy
        as np``, ``np = Store()``): which one a call reaches is not known, so ``qualify`` resolves none of them.
        Name -> the modules it may be."""
        self._other: set[str] = set()
        self._collect(module.body)
        for name in self._other & set(self.names):
            self.ambiguous.setdefault(name, [self.names[name]])
        if state is not None:
            # Imports an earlier transform of this run asked for (written only when all transforms are done):
            # the di phase's new ``@do`` must count as the runtime's ``do`` here already.
            for item in state.context.scratch.get(AddImportsVisitor.CONTEXT_KEY, ()):
                obj = getattr(item, "obj_name", None)
                if obj and not getattr(item, "relative", 0):
                    self.names.setdefault(getattr(item, "alias", None) or obj, f"{item.module_name}.{obj}")

    def _collect(self, body) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._import(small)
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            self._other |= target_names(t.target)
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        self._other |= target_names(small.target)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                self._other.add(stmt.name.value)
            elif isinstance(stmt, (cst.If, cst.Try)):
                blocks = [stmt.body]
                if isinstance(stmt, cst.Try):
                    blocks += [h.body for h in stmt.handlers]
                    blocks += [b.body for b in (stmt.orelse, stmt.finalbody) if b is not None]
                elif stmt.orelse is not None:
                    blocks.append(stmt.orelse.body)
                for block in blocks:
                    if isinstance(block, cst.IndentedBlock):
                        self._collect(block.body)
                    elif isinstance(block, (cst.If, cst.Else)):
                        self._collect([block])

    def _bind(self, name: str, qualified: str) -> None:
        previous = self.names.get(name)
        if previous is not None and previous != qualified:
            self.ambiguous.setdefault(name, [previous]).append(qualified)
        self.names[name] = qualified

    def _import(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = alias.evaluated_name
                if alias.asname is not None:
                    self._bind(alias.evaluated_alias, full)
                else:  # ``import a.b`` binds ``a``
                    head = full.split(".")[0]
                    self._bind(head, head)
        elif isinstance(small, cst.ImportFrom):  # a module, dots, or both: the syntax allows no other form
            if isinstance(small.names, cst.ImportStar):
                return
            if small.relative or small.module is None:
                for alias in small.names:  # a relative import binds a name too: another object than the library's
                    self._other.add(alias.evaluated_alias or alias.evaluated_name)
                return
            module = pn.dotted_cst(small.module) or ""
            for alias in small.names:
                self._bind(alias.evaluated_alias or alias.evaluated_name, f"{module}.{alias.evaluated_name}")

    def qualify(self, node: cst.CSTNode, shadowed: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        """``np.load`` -> ``numpy.load``; ``None`` for names this file does not import (or that are shadowed)."""
        dotted = pn.dotted_cst(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in shadowed or head in self.ambiguous:
            return None
        base = self.names.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def heads_of(self, qualified: Iterable[str]) -> set[str]:
        """The local names a node must start with for :meth:`qualify` to give one of ``qualified``."""
        targets = set(qualified)
        return {name for name, base in self.names.items() if any(t == base or t.startswith(base + ".") for t in targets)}

    def builtin(self, node: cst.CSTNode, shadowed: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        """The name of a builtin (``open``) that nothing in the file rebinds."""
        if isinstance(node, cst.Name) and node.value not in self.names and node.value not in shadowed:
            return node.value
        return None


def module_bound_names(module: cst.Module) -> set[str]:
    """Names a module binds at top level other than by import (defs, classes, assignments)."""
    bound: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            bound.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            bound |= assigned_names(stmt)
    return bound


def assigned_names(line: cst.SimpleStatementLine) -> set[str]:
    """The names the assignments of ``line`` bind (``=``, annotated and augmented)."""
    names: set[str] = set()
    for small in line.body:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                names |= target_names(target.target)
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            names |= target_names(small.target)
    return names


def target_names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for el in node.elements:
            out |= target_names(el.value)
        return out
    if isinstance(node, cst.StarredElement):
        return target_names(node.value)
    return set()


def effectful_words(imports: ImportTable) -> set[str]:
    """Words every effectful function's source shows: the local names its ``@do`` decorator can start with."""
    return imports.heads_of(DO_DECORATORS)


def is_effectful(node: cst.FunctionDef, imports: ImportTable) -> bool:
    """A ``@do`` function of the bundled runtime or of doeff (resolved through imports).

    Not an ``async def``: ``@do`` refuses those, and a ``yield`` written into one would not compile."""
    if node.asynchronous is not None:
        return False
    for deco in node.decorators:
        expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if imports.qualify(expr) in DO_DECORATORS:
            return True
    return False


def is_doeff_code(node: cst.FunctionDef, imports: ImportTable, state: FileState) -> bool:
    """Effectful code that runs on doeff (``--target doeff``, or doeff's own ``@do``), not on the bundled runtime.

    What the compute/io/recording phases write (``ray_task``, ``call_in_thread``, the generated handlers,
    ``recording_handlers()``) are bundled-runtime programs and handlers that doeff cannot run, so such code is
    left as it is."""
    if state.target == "doeff":
        return True
    for deco in node.decorators:
        expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if imports.qualify(expr) == "doeff.do":
            return True
    return False


def local_names(func: cst.FunctionDef) -> set[str]:
    """Parameters and names assigned anywhere in ``func``'s own scope (they shadow module imports)."""
    names = {p.name.value for p in all_params(func.params)}

    class _Assigned(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            names.update(target_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            names.update(target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            names.update(target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            names.update(target_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            names.update(target_names(node.name))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            names.update(target_names(node.target))

        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                names.add((alias.evaluated_alias or alias.evaluated_name).split(".")[0])

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    names.add(alias.evaluated_alias or alias.evaluated_name)

    func.body.visit(_Assigned())
    return names


def all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def yielded(expr: cst.BaseExpression) -> cst.Yield:
    """``(yield expr)``: parenthesised so it is valid in any expression position."""
    return cst.Yield(value=expr, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def bare_yields(stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """Drop the parentheses of a generated ``(yield ...)`` that is a whole statement or assigned value."""
    small = stmt.body[0]
    value = getattr(small, "value", None)
    if isinstance(value, cst.Yield) and len(value.lpar) == 1 and isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign)):
        return stmt.with_changes(body=[small.with_changes(value=value.with_changes(lpar=[], rpar=[]))])
    return stmt


class NameUses(cst.CSTVisitor):
    """Counts ``Name`` nodes by value (all scopes)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] = self.counts.get(node.value, 0) + 1


def name_counts(node: cst.CSTNode) -> dict[str, int]:
    return cst_walk.name_counts(node)

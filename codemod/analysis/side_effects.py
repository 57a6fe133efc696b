"""DM2xx/DM3xx: side effects in ``@do`` functions (``rules/side_effects/``): catalogued calls through
import aliases, and calls of plain helpers of the same module that perform one (DM311, at the call site)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doeff_migrate.codemod import pathlib_calls
from doeff_migrate.codemod.rules import side_effects as side_effect_rules

from .findings import CONVERT_TITLE
from .module import FunctionInfo, ModuleReader
from ..rules.side_effects import DIRECT_FILE_IO, SIDE_EFFECT_VIA_HELPER

if TYPE_CHECKING:
    from doeff_migrate.codemod.side_effects import SideEffect

__all__ = ["SideEffectChecks"]


@dataclass
class HelperEffect:
    via: str  # the qualified side effect, e.g. "wandb.log"
    category: str
    chain: tuple[str, ...] = field(default=())

class SideEffectChecks(ModuleReader):
    # -- DM2xx/DM3xx: side effects ---------------------------------------------------------------------------
    def _side_effect_of(self, node: ast.AST) -> tuple[str, SideEffect] | None:
        """(spelled qualified name, entry) when ``node`` is a catalogued side effect."""
        if isinstance(node, ast.Call):
            func = node.func
            qualified = self.qualify(func)
            if qualified is not None:
                entry = self.catalogue.lookup(qualified)
                if entry is not None and not entry.access:
                    return qualified, entry
            if self.uses_ray and isinstance(func, ast.Attribute) and func.attr == "remote":
                entry = self.catalogue.lookup("ray.remote")
                if entry is not None:
                    return ast.unparse(func), entry
        elif isinstance(node, (ast.Attribute, ast.Name)) and isinstance(getattr(node, "ctx", None), ast.Load):
            qualified = self.qualify(node)
            if qualified is not None:
                entry = self.catalogue.lookup(qualified)
                if entry is not None and entry.access:
                    return qualified, entry
        return None

    def _walk_body(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
        """Nodes of ``fn``'s body in source order, not descending into nested functions, lambdas or classes."""
        nodes = self._body_nodes.get(id(fn))
        if nodes is None:
            nodes = self._body_nodes[id(fn)] = [node for node, _ in self._bodies[id(fn)]]
        return nodes

    def _helper_side_effects(self) -> dict[str, HelperEffect]:
        """Plain module-level functions that perform a catalogued side effect, directly or via other helpers."""
        direct: dict[str, HelperEffect] = {}
        calls: dict[str, set[str]] = {}
        for name, info in self.functions.items():
            if info.kind != "plain":
                continue
            calls[name] = set()
            for node in self._walk_body(info.node):
                hit = self._side_effect_of(node)
                if hit is not None and name not in direct:
                    direct[name] = HelperEffect(hit[0], hit[1].category)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
                    calls[name].add(node.func.id)
        changed = True
        while changed:  # fixpoint over the same-file call graph
            changed = False
            for name, callees in calls.items():
                if name in direct:
                    continue
                for callee in sorted(callees):
                    if callee in direct and callee != name:
                        via = direct[callee]
                        direct[name] = HelperEffect(via.via, via.category, (callee, *via.chain))
                        changed = True
                        break
        return direct

    # -- pathlib IO (``codemod/pathlib_calls.py``: the codemod's pathlib_io transform reads calls alike) -------
    def _path_parameters(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        args = fn.args
        return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                if a.annotation is not None and self.qualify(a.annotation) in pathlib_calls.PATH_TYPES}

    def _is_path(self, node: ast.expr, names: set[str]) -> bool:
        if isinstance(node, ast.Name):
            return node.id in names
        if isinstance(node, ast.Call):
            if self.qualify(node.func) in pathlib_calls.PATH_TYPES:
                return True
            func = node.func
            return isinstance(func, ast.Attribute) and func.attr in pathlib_calls.PATH_FACTORIES and self.qualify(func.value) in pathlib_calls.PATH_TYPES
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._is_path(node.left, names)
        return False

    def _is_pathlib_io(self, call: ast.Call, names: set[str]) -> bool:
        func = call.func
        return isinstance(func, ast.Attribute) and func.attr in pathlib_calls.IO_METHODS and self._is_path(func.value, names)

    def _check_do_function(self, info: FunctionInfo, helpers: dict[str, HelperEffect]) -> None:
        """Every rule on one ``@do`` function's body, in one walk: side effects here, the effect-code rules
        through :meth:`EffectCodeChecks._check_effect_code_node`."""
        fn = info.node
        self._check_async_do(fn)
        await_ref: list = []  # the file's spelling of ``Await``, computed on the first ``await``
        paths = self._path_parameters(fn)
        for node in self._walk_body(fn):
            if isinstance(node, ast.Assign) and self._is_path(node.value, paths):
                paths.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Call) and self._is_pathlib_io(node, paths):
                self.add(
                    DIRECT_FILE_IO.code,
                    f"`{ast.unparse(node.func)}` is a direct side effect (file: pathlib) in `@do` function `{fn.name}`",
                    node,
                )
                continue
            hit = self._side_effect_of(node)
            if hit is not None:
                spelled, entry = hit
                rule = side_effect_rules.CATEGORY_RULES[entry.category]
                convertible = rule.fixable
                self.add(
                    rule.code,
                    f"`{spelled}` is a direct side effect ({entry.category}) in `@do` function `{fn.name}`; "
                    f"it becomes {entry.becomes} (phase `{rule.phase}`)",
                    node,
                    migrate_lines=self.statement_span(fn, node) if convertible else None,
                    migrate_title=CONVERT_TITLE if convertible else None,
                    migrate_phase=rule.phase if convertible else None,
                )
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
                via = helpers[node.func.id]
                path = " -> ".join((node.func.id, *via.chain, via.via))
                self.add(
                    SIDE_EFFECT_VIA_HELPER.code,
                    f"`{node.func.id}(...)` performs a side effect ({via.category}: {path}) called from `@do` "
                    f"function `{fn.name}`; make the helper effectful or move the call into a handler",
                    node,
                )
            else:
                self._check_effect_code_node(info, node, await_ref)
        self._check_discarded_programs(fn, in_generator=True)

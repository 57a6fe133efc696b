"""The per-file fact collector: walks one module's ``ast`` (never runs it) and fills its :class:`ModuleFacts`."""

from __future__ import annotations

import ast
import bisect

from .. import pinjected_names as pn
from .ast_helpers import asked_key, is_literal, walk_breadth_first
from .design_facts import MIGRATED_BUILDERS, DesignReader
from .facts import ModuleFacts, ValueSpec, top_functions
from .provider_facts import ProviderReader
from .word_lines import LONE_CR, definitions, word_lines

RUNNER_ATTRIBUTES = ("to_graph", "to_resolver", "dynamic")
"""Attributes of pinjected objects whose use is runner machinery (``d.to_graph()``, ``Injected.dynamic``)."""


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if target:
        parts.append(target)
    return ".".join(p for p in parts if p)


class Collector(ProviderReader, DesignReader):
    """Walks one module's ``ast`` and fills a :class:`ModuleFacts`."""

    def __init__(self, facts: ModuleFacts, tree: ast.Module, is_package: bool, source: str | None = None) -> None:
        self.facts = facts
        self.tree = tree
        self.source = source
        self.is_package = is_package
        self.names = facts.names
        self.layers: dict[str, dict[str, ValueSpec] | None] = {}
        """``"meta"`` / ``"own"``: the readable designs of ``__meta_design__`` / ``__design__`` (``None``: unreadable)."""

    def canonical(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call):
            node = node.func
        return self.names.canonical_of_dotted(pn.dotted_ast(node))

    def run(self) -> None:
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = resolve_relative(self.facts.module, self.is_package, node.level, node.module)
                for alias in node.names:
                    if alias.name != "*":
                        self.facts.imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:  # ``import app.helpers as h``: ``h.fetch`` is ``app.helpers.fetch``
                        package, _, leaf = alias.name.rpartition(".")
                        self.facts.imports[alias.asname] = (package, leaf)
        # An already migrated module (a second run, a partly migrated project): its env dicts are
        # designs, and ``_ask_k()`` helpers generated for ``injected("k")`` are aliases of ``k``.
        self.migrated = any(m == "doeff_migrate" or m.startswith("doeff_migrate.") for m, _ in self.facts.imports.values())
        self.ask_helpers = {
            node.name: key
            for node in self.tree.body
            if isinstance(node, ast.FunctionDef) and len(node.body) == 1 and isinstance(node.body[0], ast.Return)
            and node.body[0].value is not None
            and (key := asked_key(ast.Assign(targets=[], value=node.body[0].value))) is not None
        }
        self._toplevel(self.tree.body, overrides={})
        self.constructed_classes()
        self.facts.top_functions = top_functions(self.tree, self.facts.imports)
        if self.source is not None:
            self.facts.clean_definitions, self.facts.mentioning_functions = definitions(self.source, self.tree, self.names)
        top_level = {id(n) for n in self.tree.body}
        for node in walk_breadth_first(self.searched_statements()):
            if isinstance(node, ast.Call):
                canonical = self.canonical(node.func)
                if canonical == pn.INJECTED:
                    self.facts.class_injection = True
                if canonical == pn.DESIGN:
                    for kw in node.keywords:
                        if kw.arg is not None:
                            self.facts.bound_keys.setdefault(kw.arg, []).append(self.value_spec(kw.value))
                dotted = pn.dotted_ast(node.func) or ""
                head, _, attr = dotted.rpartition(".")
                if (
                    canonical in pn.RUNNER_SPECIFIC
                    or attr in RUNNER_ATTRIBUTES
                    or (canonical == pn.INJECTED and node.args and not isinstance(node.args[0], ast.Constant))
                ):
                    self.facts.leftover_calls = True
                    # (``@injected_pytest(d)`` is migrated itself, with ``d`` as an env dict.)
                    # (``providers``/``instances``/``classes`` become runtime design values, as designs do.)
                    if (canonical in pn.RUNNER_SPECIFIC and canonical not in MIGRATED_BUILDERS) or attr in ("to_graph", "to_resolver"):
                        # Designs handed to pinjected machinery that stays must stay Designs.
                        parts = [*node.args, *(kw.value for kw in node.keywords)]
                        if attr in ("to_graph", "to_resolver"):
                            parts.append(node.func.value)  # type: ignore[attr-defined]
                        for part in parts:
                            self.facts.runner_args |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.ClassDef) and any(
                self.canonical(d.func if isinstance(d, ast.Call) else d) == pn.INJECTED for d in node.decorator_list
            ):
                self.facts.class_injection = True
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and id(node) not in top_level:
                if any(self.canonical(d) is not None for d in node.decorator_list):
                    self.facts.nested_decorated = True

    def searched_statements(self) -> list[ast.stmt]:
        """Top-level statements that can hold a call or a definition the walk of :meth:`run` looks for:
        each names a pinjected name (or module alias) or one of the runner attributes on one of its lines.

        Walking every node of a module with ``ast.walk`` was most of the index's time; the others are skipped
        (a breadth-first walk of the rest meets the same nodes in the same order)."""
        body = self.tree.body
        if self.source is None or LONE_CR.search(self.source):
            return body
        lines = word_lines(self.source, {*self.names.names, *(m.split(".")[0] for m in self.names.modules), *RUNNER_ATTRIBUTES})
        searched = []
        for node in body:
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
            at = bisect.bisect_left(lines, first)
            if at < len(lines) and lines[at] <= (node.end_lineno or node.lineno):
                searched.append(node)
        return searched

    def _toplevel(self, body: list[ast.stmt], overrides: dict[str, ValueSpec], opaque: bool = False) -> None:
        """Module-level statements, including those nested in module-level ``if``/``try``/loops/``with``:
        they run at import time like any other (a provider defined under ``if`` is still registered)."""
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.provider(node)
            elif isinstance(node, ast.ClassDef):
                self.injected_class(node)
            elif isinstance(node, ast.With):
                inner, inner_opaque = dict(overrides), opaque
                for item in node.items:  # ``with a, b:`` is ``with a: with b:`` (b wins)
                    bound = self.design_of(item.context_expr)
                    if bound is None and self.may_be_design(item.context_expr):
                        inner_opaque = True
                    elif bound is not None:
                        inner.update(bound)
                        if isinstance(item.optional_vars, ast.Name):  # ``as d``: ``Design.__enter__`` returns itself
                            self.facts.design_vars[item.optional_vars.id] = bound
                self._toplevel(node.body, inner, inner_opaque)
            elif isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While)):
                self._toplevel(node.body, overrides, opaque)
                self._toplevel(node.orelse, overrides, opaque)
            elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                for part in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                    self._toplevel(part, overrides, opaque)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                self.assignment(node, overrides, opaque)
            elif (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and pn.dotted_ast(node.value.func) == "__doeff_overrides__.setdefault"
                and len(node.value.args) == 2 and isinstance(node.value.args[0], ast.Constant)
                and isinstance(node.value.args[0].value, str)
            ):  # a dissolved ``with design(...)`` block under a module-level ``if``/``try`` (a second run)
                var = node.value.args[0].value
                bound = self.design_of(node.value.args[1], env=True)
                if bound is None:
                    self.facts.opaque_overrides.add(var)
                elif var not in self.facts.overrides:
                    self.facts.overrides[var] = bound
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and isinstance(node.op, (ast.Add, ast.BitOr)):
                name = node.target.id
                if name in self.facts.design_vars:  # ``d += design(...)``: a new design bound to ``d``
                    before = self.layers.get("own") if name == "__design__" else self.facts.design_vars[name]
                    added = self.design_of(node.value, env=name == "__design__")
                    merged = None if before is None or added is None else {**before, **added}
                    if name == "__design__":
                        self.layers["own"] = merged
                        merged = self.merged_layers()
                    self.facts.design_vars[name] = merged

    def merged_layers(self) -> dict[str, ValueSpec] | None:
        """The module's ``__design__``: ``__meta_design__`` overrides first, ``__design__`` on top."""
        parts = [self.layers[k] for k in ("meta", "own") if k in self.layers]
        if any(part is None for part in parts):
            return None
        merged: dict[str, ValueSpec] = {}
        for part in parts:
            merged.update(part)  # type: ignore[arg-type]
        return merged

    def may_be_design(self, node: ast.expr) -> bool:
        """A ``with`` item that may be a design the index cannot read: a pinjected call, an imported name."""
        dotted = pn.dotted_ast(node.func if isinstance(node, ast.Call) else node) or ""
        if self.names.canonical_of_dotted(dotted) is not None or self.canonical(node) is not None:
            return True
        if isinstance(node, ast.BinOp):
            return self.may_be_design(node.left) or self.may_be_design(node.right)
        return dotted.split(".")[0] in self.facts.imports or isinstance(node, ast.Call)

    def assignment(self, node: ast.Assign | ast.AnnAssign, overrides: dict[str, ValueSpec], opaque: bool = False) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name) or node.value is None:
            return
        name = targets[0].id
        # ``""``: a literal (``PREFIX = "first-"``), certainly not an injected function.
        self.facts.variables[name] = pn.dotted_ast(node.value) or ("" if is_literal(node.value) else None)
        if name.startswith("__doeff_with_"):  # a ``with design(...)`` layer snapshotted where the block was
            self.facts.design_vars[name] = self.design_of(node.value, env=True)
            return
        if isinstance(node.value, ast.Dict) and name.startswith("__") and name != "__design__":
            if name == "__doeff_overrides__":  # dissolved ``with design(...)`` blocks
                for var, layers in zip(node.value.keys, node.value.values):
                    bound = self.design_of(layers, env=True)
                    if isinstance(var, ast.Constant) and isinstance(var.value, str) and bound is not None:
                        self.facts.overrides[var.value] = {**self.facts.overrides.get(var.value, {}), **bound}
            return  # ``__doeff_requires__`` and other generated tables are not designs
        design = self.design_of(node.value, env=name == "__design__")
        if design is not None or name in ("__design__", "__meta_design__") or self.builds_design(node.value):
            # 0.2.252 merges the design under ``__meta_design__``'s ``overrides=`` into the module's design
            # (C23), and the module's own ``__design__`` goes on top of it whatever the statement order.
            if name not in ("__design__", "__meta_design__"):
                self.facts.design_vars[name] = design
                return
            if name == "__meta_design__":
                self.layers["meta"] = self.meta_design(node.value) if design is not None else None
            else:
                self.layers["own"] = design
            self.facts.design_vars["__design__"] = self.merged_layers()
            return
        is_entry = isinstance(node, ast.AnnAssign) and self.is_iproxy_annotation(node.annotation)
        leaves = self.leaves(node.value)
        if is_entry or (leaves and any(leaf.kind in ("ref", "alias") for leaf in leaves) and self.is_program_expr(node.value)):
            self.facts.entry_points[name] = leaves
            if not self.is_plain_program(node.value):
                self.facts.lifted_entry_points.add(name)
            if overrides:
                self.facts.overrides[name] = dict(overrides)
            if opaque:
                self.facts.opaque_overrides.add(name)

    def is_plain_program(self, node: ast.expr) -> bool:
        """``f(1, "x")`` of one provider with plain arguments, or an ``@instance`` object: a program after
        migration (``main: Program = f(1, "x")``) that a design can bind as it is."""
        func = node.func if isinstance(node, ast.Call) else node
        dotted = pn.dotted_ast(func)
        if dotted is None or not (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
            return False
        if isinstance(node, ast.Call):
            return not any(self.leaves(a) for a in [*node.args, *(kw.value for kw in node.keywords)])
        return dotted in self.facts.providers and self.facts.providers[dotted].kind == "instance"

    def is_iproxy_annotation(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Subscript):
            node = node.value
        return self.names.canonical_of_dotted(pn.dotted_ast(node)) == pn.IPROXY

    def is_program_expr(self, node: ast.expr) -> bool:
        """Contains a call of a local injected function or a pinjected combinator (an IProxy even unannotated)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Lambda):
                continue
            if isinstance(sub, ast.Call):
                dotted = pn.dotted_ast(sub.func) or ""
                if dotted in self.facts.providers or self.canonical(sub.func) == pn.INJECTED:
                    return True
                if self.names.canonical_of_dotted(dotted.rpartition(".")[0]) == pn.INJECTED_CLASS:
                    return True
        return False

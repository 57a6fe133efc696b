"""The project-wide index of pinjected symbols: a first pass over every file that mentions pinjected.

A call site inside one module can only be rewritten correctly with facts from the others: whether a
dependency key names an ``@injected`` function (its calls become ``yield f(...)``) or a plain value
(calls stay calls), whether any design anywhere rebinds that key (then the body must ``Ask`` for it
instead of calling the function directly), and which keys an entry point can reach (the runner's
pre-flight list). The index reads sources with the stdlib ``ast`` parser and never imports or runs
them (pinjected-semantics.md §1, C26: the implicit registry is keyed by function name).
"""

from __future__ import annotations

import ast
import bisect
import os
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import pinjected_names as pn
from .discovery import project_root_for
from .rules.bridges import MIGRATED_FUNCTION_USED_AS_OBJECT

__all__ = [
    "ProviderDef", "ValueSpec", "ModuleFacts", "ProjectIndex", "module_name_for", "project_root_for", "top_functions", "top_function_nodes",
]


@dataclass(frozen=True)
class ProviderDef:
    """One ``@injected`` / ``@instance`` function, registered by pinjected under ``key``."""

    key: str
    name: str
    kind: str  # "injected" | "instance"
    module: str
    deps: tuple[str, ...]
    is_async: bool
    lineno: int
    migrated: bool = False  # already a @do binding (a second run, a partly migrated project)
    wrapped: bool = False  # decorated above the pinjected decorator: its key is bound to what they build
    unevaluated: tuple[tuple[int, str], ...] = ()
    """(position among the call's positional parameters or -1, name) of the runtime parameters annotated
    ``Injected``/``IProxy``: pinjected hands them the argument unevaluated, even an IProxy."""


@dataclass(frozen=True)
class ValueSpec:
    """What a design binds a key to, as far as parsing can tell.

    kind: ``"ref"`` (a name that may be an injected function / instance; ``ref`` is the dotted name as
    written in ``module``), ``"alias"`` (``injected("k")`` / ``Injected.by_name("k")``; ``ref`` = key),
    ``"value"`` (literal, lambda, any other plain object: bound as a value, trap 1) or ``"unknown"``;
    ``"opaque"``: a value computed by a call, a conditional or a subscript (``pick_impl()``): maybe an
    injected function, so callers of the key are flagged (DM107), but no dependencies are known;
    ``"call"``: ``inst()`` in an already migrated env dict (an ``@instance``'s program if ``ref`` is an
    instance provider, otherwise a value parsing cannot know).
    """

    kind: str
    module: str = ""
    ref: str = ""
    inside: tuple[tuple[str, int, str], ...] = ()
    """For a leaf of an entry point: the calls whose arguments hold it, ``(callee as written, positional index or
    -1, keyword or "")``. pinjected does not resolve a leaf handed to a parameter annotated ``Injected``."""


@dataclass
class ModuleFacts:
    module: str
    path: str
    names: pn.PinjectedNames
    providers: dict[str, ProviderDef] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Local name -> (module, name) for ``from m import name [as local]`` (relative imports resolved)."""
    design_vars: dict[str, dict[str, ValueSpec] | None] = field(default_factory=dict)
    """Module-level variables holding a statically known design (``None``: a design we cannot read)."""
    overrides: dict[str, dict[str, ValueSpec]] = field(default_factory=dict)
    """Entry point variable -> bindings of the ``with design(...)`` blocks around it."""
    entry_points: dict[str, list[ValueSpec]] = field(default_factory=dict)
    """Module-level ``x: IProxy[...] = expr`` -> the pinjected leaves of ``expr`` in evaluation order."""
    bound_keys: dict[str, list[ValueSpec]] = field(default_factory=dict)
    """Every key bound by any design call in the file (module level, tests, functions)."""
    variables: dict[str, str | None] = field(default_factory=dict)
    """Module-level variables that are not designs: the dotted name they alias, or ``None`` (unknown value)."""
    runner_args: set[str] = field(default_factory=set)
    """Names passed to pinjected machinery the codemod leaves as is (``AsyncResolver(d)``)."""
    nested_decorated: bool = False
    """A pinjected-decorated function or class inside a function or class body (DM113)."""
    leftover_calls: bool = False
    """Calls of runner machinery, ``injected(Class)`` or ``Injected.dynamic`` (flagged by ``leftovers``)."""
    lifted_entry_points: set[str] = field(default_factory=set)
    """Entry points that are not a plain call of one provider (``greet("amy") + "!"``): after migration
    a ``@do`` function or left as pinjected, never a program a design could bind as it is."""
    opaque_overrides: set[str] = field(default_factory=set)
    """Entry points inside a ``with`` block whose design the index cannot read (imported, computed)."""
    clean_definitions: tuple[frozenset[str], frozenset[str]] | None = None
    """Names of the functions / classes whose every definition never mentions a local pinjected name
    inside its body (:func:`clean_definitions`; ``transforms/leftovers.py`` skips them)."""
    top_functions: list[tuple[str, str | None, int]] | None = None
    """``(name, kind of its bridge decorator, line)`` of the module-level functions (:func:`top_functions`)."""
    reexported_api: bool = False
    """The module gets pinjected's API through a project module re-exporting it (``from app.di import
    injected``): the transforms cannot see it, so its providers stay pinjected (DM128)."""

    @property
    def design(self) -> dict[str, ValueSpec] | None:
        return self.design_vars.get("__design__", {})


def module_name_for(path: str | os.PathLike[str]) -> str:
    """Dotted module name from the package folders around ``path`` (folders with ``__init__.py``)."""
    p = Path(path).resolve()
    parts = [] if p.stem == "__init__" else [p.stem]
    folder = p.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    return ".".join(parts) or p.stem


BRIDGE_DECORATORS = {"function_binding": "injected", "instance_binding": "instance"}
"""The runtime's registering decorators -> the pinjected decorator whose provider they bind."""


def top_function_nodes(body: list[ast.stmt]) -> Iterable[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.With):  # providers defined inside a module-level ``with design()``
            yield from top_function_nodes(node.body)


def _migrated_decorator(node: ast.FunctionDef | ast.AsyncFunctionDef, imports: Mapping[str, tuple[str, str]]) -> str | None:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute):
            name = target.attr
        elif isinstance(target, ast.Name):
            name = imports.get(target.id, ("", target.id))[1]
        else:
            continue
        if name in BRIDGE_DECORATORS:
            return BRIDGE_DECORATORS[name]
    return None


def top_functions(tree: ast.Module, imports: Mapping[str, tuple[str, str]]) -> list[tuple[str, str | None, int]]:
    """``(name, bridge kind or None, line)`` of the module-level functions (``ModuleFacts.top_functions``: the
    bridge planning, ``bridges.needed_bridges``, reads them without parsing the module again)."""
    return [(node.name, _migrated_decorator(node, imports), node.lineno) for node in top_function_nodes(tree.body)]


# Calls whose result is never an injected function: a design value built by them is a plain value.
_PLAIN_VALUE_CALLS = frozenset(
    "dict list tuple set frozenset int float str bool bytes complex range object len sorted min max sum "
    "Path pathlib.Path os.getenv os.environ.get".split()
)


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    if target:
        parts.append(target)
    return ".".join(p for p in parts if p)


class _Collector:
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
                    base = _resolve_relative(self.facts.module, self.is_package, node.level, node.module)
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
            and (key := _asked_key(ast.Assign(targets=[], value=node.body[0].value))) is not None
        }
        self._toplevel(self.tree.body, overrides={})
        self.constructed_classes()
        self.facts.top_functions = top_functions(self.tree, self.facts.imports)
        if self.source is not None:
            self.facts.clean_definitions = clean_definitions(self.source, self.tree, self.names)
        top_level = {id(n) for n in self.tree.body}
        for node in _walk(self.searched_statements()):
            if isinstance(node, ast.Call):
                canonical = self.canonical(node.func)
                if canonical == pn.DESIGN:
                    for kw in node.keywords:
                        if kw.arg is not None:
                            self.facts.bound_keys.setdefault(kw.arg, []).append(self.value_spec(kw.value))
                dotted = pn.dotted_ast(node.func) or ""
                head, _, attr = dotted.rpartition(".")
                if (
                    canonical in pn.RUNNER_SPECIFIC
                    or attr in _RUNNER_ATTRIBUTES
                    or (canonical == pn.INJECTED and node.args and not isinstance(node.args[0], ast.Constant))
                ):
                    self.facts.leftover_calls = True
                    # (``@injected_pytest(d)`` is migrated itself, with ``d`` as an env dict.)
                    # (``providers``/``instances``/``classes`` become runtime design values, as designs do.)
                    if (canonical in pn.RUNNER_SPECIFIC and canonical not in _MIGRATED_BUILDERS) or attr in ("to_graph", "to_resolver"):
                        # Designs handed to pinjected machinery that stays must stay Designs.
                        parts = [*node.args, *(kw.value for kw in node.keywords)]
                        if attr in ("to_graph", "to_resolver"):
                            parts.append(node.func.value)  # type: ignore[attr-defined]
                        for part in parts:
                            self.facts.runner_args |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and id(node) not in top_level:
                if any(self.canonical(d) is not None for d in node.decorator_list):
                    self.facts.nested_decorated = True

    def searched_statements(self) -> list[ast.stmt]:
        """Top-level statements that can hold a call or a definition the walk of :meth:`run` looks for:
        each names a pinjected name (or module alias) or one of the runner attributes on one of its lines.

        Walking every node of a module with ``ast.walk`` was most of the index's time; the others are skipped
        (a breadth-first walk of the rest meets the same nodes in the same order)."""
        body = self.tree.body
        if self.source is None:
            return body
        lines = _word_lines(self.source, {*self.names.names, *(m.split(".")[0] for m in self.names.modules), *_RUNNER_ATTRIBUTES})
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

    def provider(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        migrated = self.migrated_kind(node)
        if migrated is not None:
            # Already migrated (a second run, or a partly migrated project): still a provider, with
            # the keys it asks for at the top of its body as dependencies.
            deps = _passed_keys(node)
            for stmt in node.body if not deps else ():
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    continue
                key = _asked_key(stmt)
                if key is None:
                    break
                deps.append(key)
            self.facts.providers[node.name] = ProviderDef(
                key=node.name, name=node.name, kind=migrated, module=self.facts.module,
                deps=tuple(deps), is_async=_was_async(node), lineno=node.lineno, migrated=True,
                wrapped=any((pn.dotted_ast(d) or "").rpartition(".")[2] == "injected_proxy" for d in node.decorator_list),
            )
            return
        for position, deco in enumerate(node.decorator_list):
            canonical = self.canonical(deco)
            if canonical == pn.INJECTED:
                kind = "injected"
            elif canonical in pn.INSTANCE_DECORATORS:
                kind = "instance"
            elif canonical == "injected_pytest":
                # ``instance(test)`` resolved per test; indexed under its migrated program's name
                # (``_test_x``) so that its dependency closure is known (``__doeff_requires__``).
                deps = tuple(key for _, key in dependency_params(node.args, "instance"))
                name = f"_{node.name}"
                self.facts.providers[name] = ProviderDef(
                    key=name, name=name, kind="instance", module=self.facts.module, deps=deps,
                    is_async=isinstance(node, ast.AsyncFunctionDef), lineno=node.lineno,
                )
                override = [*deco.args, *(kw.value for kw in deco.keywords)] if isinstance(deco, ast.Call) else []
                if override:  # the test's design on top of the module's, as a ``with design()`` block's
                    bound = self.design_of(override[0])
                    if bound is None:
                        self.facts.opaque_overrides.add(name)
                    else:
                        self.facts.overrides[name] = bound
                return
            else:
                continue
            deps = tuple(key for _, key in dependency_params(node.args, kind))
            self.facts.providers[node.name] = ProviderDef(
                key=node.name,
                name=node.name,
                kind=kind,
                module=self.facts.module,
                deps=deps,
                is_async=isinstance(node, ast.AsyncFunctionDef),
                lineno=node.lineno,
                wrapped=position > 0,
                unevaluated=self.unevaluated_params(node.args) if kind == "injected" else (),
            )
            return

    def unevaluated_params(self, args: ast.arguments) -> tuple[tuple[int, str], ...]:
        """pinjected keeps an argument unevaluated when the annotation *is* ``Injected`` (``==``, in
        ``Injected._get_args_keeper`` on 0.2.252): not ``Injected[T]``, not ``IProxy``, not the string
        a ``from __future__ import annotations`` module leaves."""
        if any(
            isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
            for n in self.tree.body
        ):
            return ()
        positional = [a for a in args.args if not a.arg.startswith("_")]
        found = []
        for arg in [*positional, *(a for a in args.kwonlyargs if not a.arg.startswith("_"))]:
            if arg.annotation is not None and self.canonical(arg.annotation) == pn.INJECTED_CLASS:
                found.append((positional.index(arg) if arg in positional else -1, arg.arg))
        return tuple(found)

    def injected_class(self, node: ast.ClassDef) -> None:
        """``@injected`` on a class (``@class_binding`` once migrated): pinjected binds ``new_<C>`` to its
        constructor, whose dependencies come from the constructor's signature (semantics C4)."""
        for deco in node.decorator_list:
            func = deco.func if isinstance(deco, ast.Call) else deco
            if self.canonical(func) == pn.INJECTED or pn.dotted_ast(func) == "class_binding":
                self.class_provider(node)
                return

    def constructed_classes(self) -> None:
        """``injected(C)`` / ``class_constructor(C)`` evaluated at import time binds ``new_C`` too."""
        if self.source is not None and "injected(" not in self.source and "class_constructor(" not in self.source:
            return
        classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        if not classes:
            return
        pending = [n for n in self.tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in _walk(pending):
            name = constructed_class(node, self.canonical)
            if name in classes and f"new_{name}" not in self.facts.providers:
                self.class_provider(classes[name])

    def class_provider(self, node: ast.ClassDef) -> None:
        key = f"new_{node.name}"
        self.facts.providers[key] = ProviderDef(
            key=key, name=key, kind="instance", module=self.facts.module,
            deps=tuple(k for _, k in class_dependency_params(node)), is_async=False, lineno=node.lineno,
        )

    def migrated_kind(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            name = (pn.dotted_ast(target) or "").rpartition(".")[2]
            origin = self.facts.imports.get(name, ("", ""))[0]
            if origin.startswith("doeff_migrate.runtime") or origin == "doeff_migrate":
                if name == "function_binding":
                    return "injected"
                if name == "instance_binding":
                    return "instance"
        return None

    def assignment(self, node: ast.Assign | ast.AnnAssign, overrides: dict[str, ValueSpec], opaque: bool = False) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name) or node.value is None:
            return
        name = targets[0].id
        # ``""``: a literal (``PREFIX = "first-"``), certainly not an injected function.
        self.facts.variables[name] = pn.dotted_ast(node.value) or ("" if _is_literal(node.value) else None)
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

    def builds_design(self, node: ast.expr) -> bool:
        """A design the codemod cannot read but pinjected builds (``design(**kw) + make()``): a design
        variable whose bindings are unknown (``None``), migrated as a runtime design value."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
            return self.builds_design(node.left) or self.builds_design(node.right)
        builders = (pn.DESIGN, "providers", "instances", "classes")
        if isinstance(node, ast.Call):
            # (a runtime design of an earlier run counts too: ``_dm_design(**kw)``)
            runtime = self.facts.imports.get(pn.dotted_ast(node.func) or "", ("", ""))
            return self.canonical(node.func) in builders or (runtime[0] == _RUNTIME_DESIGNS and runtime[1] in builders)
        return isinstance(node, ast.Name) and self.names.names.get(node.id) == "EmptyDesign"

    def meta_design(self, node: ast.expr) -> dict[str, ValueSpec] | None:
        if isinstance(node, ast.Call) and self.canonical(node.func) == pn.DESIGN:
            merged: dict[str, ValueSpec] = {}
            for kw in node.keywords:
                if kw.arg == "overrides":
                    inner = self.design_of(kw.value)
                    if inner is None:
                        return None
                    merged.update(inner)
            return merged
        return None

    def design_of(self, node: ast.expr, env: bool = False) -> dict[str, ValueSpec] | None:
        """Statically read a design expression: ``design(...)``, ``a + b``, names of design variables,
        and env dicts (``{"k": v}``) in ``__design__`` (``env``) or anywhere in a migrated module."""
        if isinstance(node, ast.Call) and self.canonical(node.func) == pn.DESIGN:
            if node.args or any(kw.arg is None for kw in node.keywords):
                return None
            return {kw.arg: self.value_spec(kw.value) for kw in node.keywords if kw.arg}
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
            left, right = self.design_of(node.left, env), self.design_of(node.right, env)
            if left is None or right is None:
                return None
            return {**left, **right}
        if isinstance(node, ast.Name) and node.id in self.facts.design_vars:
            return self.facts.design_vars[node.id]
        if (
            isinstance(node, ast.Dict)
            and (self.migrated or env)
            and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys)
        ):
            # An env dict the codemod produced: index it like the design it was, so a second run
            # sees the same bindings the first did.
            design = {k.value: self.env_value_spec(v) for k, v in zip(node.keys, node.values)}  # type: ignore[union-attr]
            for key, spec in design.items():
                self.facts.bound_keys.setdefault(key, []).append(spec)
            return design
        return None

    def env_value_spec(self, node: ast.expr) -> ValueSpec:
        """A value of an already migrated env dict (see ``DesignTranslator.value``)."""
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            dotted = pn.dotted_ast(node.func)
            if dotted in self.ask_helpers:
                return ValueSpec("alias", self.facts.module, self.ask_helpers[dotted])
            if dotted and (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
                return ValueSpec("call", self.facts.module, dotted)
        if isinstance(node, ast.Call) and (pn.dotted_ast(node.func) or "").rpartition(".")[2] == "Ask":
            key = _asked_key(ast.Assign(targets=[], value=ast.Yield(value=node)))
            if key is not None:
                return ValueSpec("alias", self.facts.module, key)
        return self.value_spec(node)

    def value_spec(self, node: ast.expr) -> ValueSpec:
        dotted = pn.dotted_ast(node)
        if dotted is not None:
            if dotted.endswith(".proxy"):  # ``fn.proxy`` is ``fn`` as an IProxy (C13)
                dotted = dotted[: -len(".proxy")]
            return ValueSpec("ref", self.facts.module, dotted)
        if isinstance(node, ast.Call):
            canonical = self.canonical(node.func)
            dotted_func = pn.dotted_ast(node.func) or ""
            # (``injected(f)("x")`` is a call of ``injected(f)``, not ``injected("x")``.)
            is_by_name = (canonical == pn.INJECTED and not isinstance(node.func, ast.Call)) or (
                self.names.canonical_of_dotted(dotted_func.rpartition(".")[0]) == pn.INJECTED_CLASS
                and dotted_func.endswith(".by_name")
            )
            if is_by_name and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                return ValueSpec("alias", self.facts.module, node.args[0].value)
            constructed = constructed_class(node, self.canonical)
            if constructed is not None and constructed[:1].isupper():  # a class, by its name
                return ValueSpec("ref", self.facts.module, f"new_{constructed}")
            if isinstance(node.func, ast.Call) and constructed_class(node.func, self.canonical, called=True) is not None:
                return ValueSpec("value")  # ``injected(C)("x")``: an instance built by the constructor
            if self.names.canonical_of_dotted(dotted_func.rpartition(".")[0]) == pn.INJECTED_CLASS:
                if dotted_func.endswith(".pure"):
                    return ValueSpec("value")
                return ValueSpec("unknown")
            if dotted_func in self.facts.providers or dotted_func in self.facts.imports:
                return ValueSpec("unknown")
            if dotted_func not in _PLAIN_VALUE_CALLS:
                return ValueSpec("opaque")  # ``pick_impl()`` may return an injected function
        elif isinstance(node, (ast.IfExp, ast.Subscript, ast.BoolOp, ast.NamedExpr)):
            return ValueSpec("opaque")
        return ValueSpec("value")

    def leaves(self, node: ast.expr) -> list[ValueSpec]:
        """Pinjected leaves of an IProxy expression, in source order, each with the calls whose arguments
        hold it (``ValueSpec.inside``)."""
        found: list[ValueSpec] = []
        inside: dict[int, tuple[tuple[str, int, str], ...]] = {}
        for sub in ast.walk(node):
            where = inside.get(id(sub), ())
            if isinstance(sub, ast.Call):
                spec = self.value_spec(sub)
                if spec.kind == "alias":
                    found.append(ValueSpec(spec.kind, spec.module, spec.ref, where))
                found += [ValueSpec(leaf.kind, leaf.module, leaf.ref, where) for leaf in self.bind_leaves(sub)]
                callee = pn.dotted_ast(sub.func)
                if callee and (callee in self.facts.providers or callee.split(".")[0] in self.facts.imports):
                    arguments = [(arg, i, "") for i, arg in enumerate(sub.args)] + [(kw.value, -1, kw.arg or "") for kw in sub.keywords]
                    for arg, index, keyword in arguments:
                        for part in ast.walk(arg):
                            inside[id(part)] = (*where, (callee, index, keyword))
            dotted = pn.dotted_ast(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
            if dotted and (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
                found.append(ValueSpec("ref", self.facts.module, dotted, where))
        return found


    def bind_leaves(self, call: ast.Call) -> list[ValueSpec]:
        """``Injected.bind(lambda a, b: ..., b="k")`` asks for ``a`` and ``k`` (C7; defaults ignored)."""
        dotted = pn.dotted_ast(call.func) or ""
        head, _, attr = dotted.rpartition(".")
        if attr != "bind" or self.names.canonical_of_dotted(head) != pn.INJECTED_CLASS or not call.args:
            return []
        func = call.args[0]
        if not isinstance(func, ast.Lambda):
            return []
        mapping = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        found = []
        for arg in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
            source = mapping.get(arg.arg)
            if source is None:
                found.append(ValueSpec("alias", self.facts.module, arg.arg))
            elif isinstance(source, ast.Constant) and isinstance(source.value, str):
                found.append(ValueSpec("alias", self.facts.module, source.value))
        return found


def _word_lines(source: str, words: Iterable[str]) -> list[int]:
    """Sorted 1-based numbers of the lines of ``source`` where one of ``words`` occurs as a word."""
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")
    line_starts = [0, *(m.end() for m in _NEWLINE.finditer(source))]
    return sorted({bisect.bisect_right(line_starts, m.start()) for m in pattern.finditer(source)})


def clean_definitions(source: str, tree: ast.Module, names: pn.PinjectedNames) -> tuple[frozenset[str], frozenset[str]]:
    """``(functions, classes)``: names whose every definition in ``source`` never mentions a local pinjected
    name (or module alias) inside its body (a function) or anywhere (a class): nothing in them can build
    an IProxy. Matched by name, so a name defined twice is clean only if both definitions are."""
    words = set(names.names) | {m.split(".")[0] for m in names.modules}
    if not words:
        return frozenset(), frozenset()
    lines = _word_lines(source, words)

    def mentions(first: int, last: int) -> bool:
        at = bisect.bisect_left(lines, first)
        return at < len(lines) and lines[at] <= last

    functions: dict[str, bool] = {}
    classes: dict[str, bool] = {}

    def visit(body: list) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                clean = not mentions(node.body[0].lineno, node.end_lineno or node.lineno)
                functions[node.name] = functions.get(node.name, True) and clean
            elif isinstance(node, ast.ClassDef):
                clean = not mentions(node.lineno, node.end_lineno or node.lineno)
                classes[node.name] = classes.get(node.name, True) and clean
            for part in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(node, part, None)
                if isinstance(block, list) and block:
                    visit(block)

    visit(tree.body)
    return (
        frozenset(name for name, clean in functions.items() if clean),
        frozenset(name for name, clean in classes.items() if clean),
    )


_RUNNER_ATTRIBUTES = ("to_graph", "to_resolver", "dynamic")
_NEWLINE = re.compile("\n")


def _walk(nodes: list[ast.stmt]):
    """``ast.walk`` (breadth-first) from several roots."""
    todo = deque(nodes)
    while todo:
        node = todo.popleft()
        todo.extend(ast.iter_child_nodes(node))
        yield node


def _is_literal(node: ast.expr) -> bool:
    """A constant, an f-string, or a tuple/list/set/dict of those."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) and _is_literal(v) for k, v in zip(node.keys, node.values))
    return False


def _was_async(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether an already migrated provider was an ``async def`` (its calls had to be awaited).

    The ``@do`` form keeps no ``async``: its body ``yield``-ing ``Await``/``Spawn``/``Gather`` (only
    generated for awaits) or the ``a_`` naming convention of async providers tells.
    """
    if isinstance(node, ast.AsyncFunctionDef) or node.name.startswith("a_"):
        return True
    for sub in ast.walk(node):
        if isinstance(sub, ast.Yield) and isinstance(sub.value, ast.Call):
            if (pn.dotted_ast(sub.value.func) or "").rpartition(".")[2] in ("Await", "Spawn", "Gather"):
                return True
    return False


def _passed_keys(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The keys of ``@pass_dependencies(key=Ask, ...)`` (a migrated function kept as written)."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and (pn.dotted_ast(deco.func) or "").rpartition(".")[2] == "pass_dependencies":
            keys = []
            for kw in deco.keywords:
                if kw.arg is not None:
                    keys.append(kw.arg)
                elif isinstance(kw.value, ast.Dict):
                    keys += [k.value for k in kw.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            return keys
    return []


def _asked_key(stmt: ast.stmt) -> str | None:
    """``x = yield Ask("key")`` (or ``AskFunction`` / ``AskAsyncFunction``) -> ``"key"``."""
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Yield):
        call = stmt.value.value
        if (
            isinstance(call, ast.Call)
            and (pn.dotted_ast(call.func) or "").rpartition(".")[2] in ("Ask", "AskFunction", "AskAsyncFunction")
            and len(call.args) == 1
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            return call.args[0].value
    return None


def constructed_class(node: ast.AST, canonical, called: bool = False) -> str | None:
    """``C`` of ``injected(C)`` (a class, not a key string) or of its migrated ``class_constructor(C)``
    (``injected_function(C)`` when ``called``: the constructor called right away)."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name)):
        return None
    migrated = "injected_function" if called else "class_constructor"
    if canonical(node.func) == pn.INJECTED or pn.dotted_ast(node.func) == migrated:
        return node.args[0].id
    return None


def class_dependency_params(node: ast.ClassDef) -> list[tuple[str, str]]:
    """(parameter name, key) of ``injected(C)``'s dependencies: the ``@injected`` rule applied to
    ``__init__`` (``self`` aside) or, for a ``@dataclass`` without one, to its annotated fields."""
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            args = stmt.args
            trimmed = ast.arguments(
                posonlyargs=args.posonlyargs[1:], args=args.args if args.posonlyargs else args.args[1:],
                vararg=None, kwonlyargs=args.kwonlyargs, kw_defaults=[], kwarg=None, defaults=[],
            )
            return dependency_params(trimmed, "injected")
    if not any((pn.dotted_ast(d.func if isinstance(d, ast.Call) else d) or "").rpartition(".")[2] == "dataclass" for d in node.decorator_list):
        return []  # an inherited or generated ``__init__``: its parameters are not visible here
    return [
        (stmt.target.id, pn.dependency_key(stmt.target.id))
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id.startswith("_")
        and "ClassVar" not in ast.dump(stmt.annotation)
    ]


def dependency_params(args: ast.arguments, kind: str) -> list[tuple[str, str]]:
    """(parameter name, key) of the dependencies of an ``@injected`` / ``@instance`` function, in order."""
    found: list[tuple[str, str]] = []
    if kind == "instance":
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            found.append((arg.arg, arg.arg))
        return found
    for arg in args.posonlyargs:
        found.append((arg.arg, pn.dependency_key(arg.arg)))
    for arg in [*args.args, *args.kwonlyargs]:
        if arg.arg.startswith("_"):
            found.append((arg.arg, pn.dependency_key(arg.arg)))
    return found


# A file with none of these is a plain module (indexed only for the names it re-exports).
_INDEXED_WORDS = (b"pinjected", b"_binding", b"__design__", b"doeff_migrate", b"__doeff_", MIGRATED_FUNCTION_USED_AS_OBJECT.code.encode())
_RELATIVE_IMPORT = re.compile(rb"\bfrom[ \t]+\.")
_IMPORT_LINE = re.compile(rb"(?:^|;)[ \t]*(?:from|import)\b(?:[^\n]|\\\n)*", re.M)
_WORD = re.compile(rb"\w+")


class _ModuleTable(dict):
    """Module name -> facts; a plain module ``build`` left unparsed (``pending``) is indexed the first
    time it is looked up (``get``, ``in``, ``[]``). Iterating sees the indexed modules only: a pending
    module has no providers, binds no keys and borrows no pinjected name (``ProjectIndex.build``)."""

    def __init__(self, index: ProjectIndex) -> None:
        super().__init__()
        self.index = index
        self.pending: dict[str, list[tuple[str, bytes]]] = {}

    def _fetch(self, name: object) -> bool:
        candidates = self.pending.pop(name, None) if isinstance(name, str) else None
        if candidates is None:
            return False
        self.index._load_plain(name, candidates)  # type: ignore[arg-type]
        return dict.__contains__(self, name)

    def get(self, name, default=None):  # type: ignore[override]
        if dict.__contains__(self, name) or self._fetch(name):
            return dict.__getitem__(self, name)
        return default

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or self._fetch(name)

    def __missing__(self, name: str) -> ModuleFacts:
        if self._fetch(name):
            return dict.__getitem__(self, name)
        raise KeyError(name)


class ProjectIndex:
    """Facts about every pinjected module of a project, keyed by dotted module name."""

    def __init__(self) -> None:
        self.modules: _ModuleTable = _ModuleTable(self)
        self.pending_paths: dict[str, str] = {}
        """Absolute path -> module name of the plain modules not parsed yet (``build``)."""
        self.by_path: dict[str, ModuleFacts] = {}
        self._by_key: tuple[dict[str, list[ProviderDef]], dict[str, list[ValueSpec]]] | None = None
        self.sources: dict[str, tuple[str, str]] = {}
        """Module -> (path, source) as indexed (to decide which of its providers stay pinjected)."""
        self._unmigrated: dict[str, set[str]] = {}
        self._cyclic: set[tuple[str, str]] | None = None
        self._tree: tuple[str, str, object] | None = None
        self._keep_trees = False
        self.analysis = None
        """What decides which providers of a module stay pinjected (``decisions.ProviderAnalysis``: it runs the
        ``di`` transform's analysis, which this module must not depend on)."""
        self._ast_trees: dict[str, tuple[str, ast.Module]] = {}
        """Module -> (source, ``ast`` tree) of the sources added after the index was built (the run's
        rewrites), for :meth:`ast_tree` (the bridge planning reads them again)."""
        """(module, source, LibCST tree) of the file being migrated (``remember_tree``)."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_tree"] = None  # a parse of one file, not a fact about the project
        state["_ast_trees"] = {}
        return state

    def ast_tree(self, module: str, source: str) -> ast.Module | None:
        """The ``ast`` tree of ``source`` if it is what was last indexed for ``module`` after the build."""
        kept = self._ast_trees.get(module)
        return kept[1] if kept is not None and kept[0] == source else None

    def remember_tree(self, module: str, source: str, tree: object) -> None:
        """The engine's parse of ``module`` (the file being migrated, whose providers' fate the
        transforms ask first): reused by :meth:`unmigrated_providers` while ``source`` is what was indexed."""
        self._tree = (module, source, tree)

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> ProjectIndex:
        """Index ``{path: source}``; paths that do not exist on disk are named from their own parts."""
        index = cls()
        for path, source in sources.items():
            index.add_source(path, source)
        index.link_reexports()
        index._keep_trees = True
        return index

    @classmethod
    def build(cls, paths: Iterable[str | os.PathLike[str]]) -> ProjectIndex:
        """Index every ``.py`` file under ``paths`` that mentions pinjected (unreadable files skipped)."""
        from .discovery import iter_python_files

        index = cls()
        # Modules that only re-export (``from app.lib import fetch as DEFAULT``) are indexed too, after
        # the pinjected ones, so that names resolve through them; they never replace a pinjected module.
        importing: list[tuple[Path, bytes]] = []
        for file in iter_python_files([Path(p) for p in paths]):
            try:
                data = file.read_bytes()
            except OSError:
                continue
            if not any(w in data for w in _INDEXED_WORDS):
                if b"import" in data:
                    importing.append((file, data))
                continue
            try:
                index.add_source(str(file), data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        # Parsing every plain module of a large project was most of the index's time, serially, before
        # any file is migrated: a plain module is parsed now only when it may borrow pinjected's API
        # from an indexed module (``link_reexports``: it names one, or imports relatively), otherwise
        # the first time a name is resolved through it (``_ModuleTable``).
        plain: dict[str, list[tuple[str, bytes]]] = {}
        for file, data in importing:
            name = module_name_for(file)
            if name not in index.modules:
                plain.setdefault(name, []).append((str(file), data))
        eager: set[str] = set()
        words = {part.encode() for module in index.modules for part in module.split(".")}
        # The words of each candidate's import statements (``None``: it imports relatively).
        imported = {
            name: [None if _RELATIVE_IMPORT.search(data) else set(_WORD.findall(b"\n".join(_IMPORT_LINE.findall(data)))) for _, data in candidates]
            for name, candidates in plain.items()
        }
        while True:
            found = {
                name for name, seen in imported.items()
                if name not in eager and any(tokens is None or not tokens.isdisjoint(words) for tokens in seen)
            }
            if not found:
                break
            eager |= found
            words |= {part.encode() for name in found for part in name.split(".")}
        for name, candidates in plain.items():
            if name in eager:
                index._load_plain(name, candidates)
            else:
                index.modules.pending[name] = candidates
                for path, _ in candidates:
                    index.pending_paths[os.path.abspath(path)] = name
        index.link_reexports()
        index._keep_trees = True
        return index

    def _load_plain(self, name: str, candidates: list[tuple[str, bytes]]) -> None:
        """Index the first of ``candidates`` (files of module ``name`` without pinjected) that parses.

        Such a module has no providers and binds no keys, so no cached answer changes (``add_source``
        forgets them all)."""
        caches = (self._by_key, self._unmigrated, self._cyclic)
        for path, data in candidates:
            if dict.__contains__(self.modules, name):
                break
            try:
                self.add_source(path, data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        self._by_key, self._unmigrated, self._cyclic = caches

    def read_facts(self, path: str, source: str, tree: ast.Module | None = None) -> ModuleFacts | None:
        """The facts of ``source`` as the file at ``path``, without indexing them (``add_source(facts=)``)."""
        if tree is None:
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
        module = module_name_for(path) if os.path.exists(path) else _module_from_plain_path(path)
        facts = ModuleFacts(module=module, path=str(path), names=pn.from_ast(tree))
        try:
            _Collector(facts, tree, Path(path).name == "__init__.py", source).run()
        except RecursionError:  # nested too deeply to walk: the file is not indexed (it fails alone)
            return None
        return facts

    def add_source(self, path: str, source: str, facts: ModuleFacts | None = None) -> ModuleFacts | None:
        """Index ``source`` as the file at ``path``; ``facts``: :meth:`read_facts` of it, computed already
        (e.g. by the worker process that migrated it)."""
        tree = None
        if facts is None:
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            facts = self.read_facts(path, source, tree)
            if facts is None:
                return None
        module = facts.module
        if self._keep_trees and tree is not None:
            self._ast_trees[module] = (source, tree)
        else:
            self._ast_trees.pop(module, None)
        self.modules[module] = facts
        self.by_path[os.path.abspath(path)] = facts
        self.sources[module] = (str(path), source)
        self._by_key = None
        self._unmigrated = {}
        self._cyclic = None
        return facts

    def link_reexports(self) -> None:
        """Modules that get pinjected's API from a project module (``from app.di import injected``,
        ``app/di.py`` importing it from pinjected) are re-read with those names, so their providers are
        known; they stay pinjected (the transforms only see direct imports) and are flagged (DM128)."""
        for module, facts in list(self.modules.items()):
            borrowed = {}
            for local, (origin, name) in facts.imports.items():
                # A plain module still pending mentions no pinjected name, so it lends none: not parsed for this.
                source = dict.get(self.modules, origin)
                if source is not None and origin != module and name in source.names.names and local not in facts.names.names:
                    borrowed[local] = source.names.names[name]
            if not borrowed:
                continue
            path, text = self.sources[module]
            tree = ast.parse(text)
            names = pn.from_ast(tree)
            names.names.update(borrowed)
            for local in borrowed:
                names.origins[local] = facts.imports[local][0]
            relinked = ModuleFacts(module=module, path=facts.path, names=names, reexported_api=True)
            _Collector(relinked, tree, Path(path).name == "__init__.py", text).run()
            self.modules[module] = relinked
            self.by_path[os.path.abspath(path)] = relinked
        self._by_key = None
        self._unmigrated = {}
        self._cyclic = None

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

    # -- queries ------------------------------------------------------------------------------
    def facts_for(self, path: str) -> ModuleFacts | None:
        key = os.path.abspath(path)
        found = self.by_path.get(key)
        if found is None and key in self.pending_paths:
            self.modules.get(self.pending_paths[key])
            found = self.by_path.get(key)
        return found

    def _tables(self) -> tuple[dict[str, list[ProviderDef]], dict[str, list[ValueSpec]]]:
        if self._by_key is None:
            providers: dict[str, list[ProviderDef]] = {}
            bindings: dict[str, list[ValueSpec]] = {}
            for facts in self.modules.values():
                for key, provider in facts.providers.items():
                    providers.setdefault(key, []).append(provider)
                for key, specs in facts.bound_keys.items():
                    bindings.setdefault(key, []).extend(specs)
            self._by_key = (providers, bindings)
        return self._by_key

    def providers_for_key(self, key: str) -> list[ProviderDef]:
        return self._tables()[0].get(key, [])

    def bindings_for_key(self, key: str) -> list[ValueSpec]:
        return self._tables()[1].get(key, [])

    def resolve_ref(self, spec: ValueSpec, _depth: int = 0) -> ProviderDef | None:
        """The provider a ``ref`` names (a local definition or one imported from an indexed module)."""
        if spec.kind != "ref" or _depth > 10:
            return None
        facts = self.modules.get(spec.module)
        if facts is None:
            return None
        head, _, attr = spec.ref.partition(".")
        if not attr:
            if head in facts.providers:
                return facts.providers[head]
            aliased = facts.variables.get(head)
            if aliased:  # ``impl = fetch_v2`` at module level
                return self.resolve_ref(ValueSpec("ref", spec.module, aliased), _depth + 1)
            if head in facts.imports:
                mod, name = facts.imports[head]
                return self.resolve_ref(ValueSpec("ref", mod, name), _depth + 1)
            return None
        # ``module.func`` through ``import pkg.module`` / ``from pkg import module``.
        target_module = facts.imports.get(head)
        candidates = [f"{target_module[0]}.{target_module[1]}"] if target_module else []
        candidates.append(spec.ref.rpartition(".")[0])
        for candidate in candidates:
            rest = spec.ref.split(".", 1)[1] if target_module else spec.ref.rpartition(".")[2]
            if candidate in self.modules and "." not in rest:
                return self.resolve_ref(ValueSpec("ref", candidate, rest), _depth + 1)
        return None

    def unmigrated_providers(self, module: str) -> set[str]:
        """Names of the providers of ``module`` the codemod leaves as pinjected (flagged), cached.

        While a module is being decided its own providers count as migrated (breaks import cycles).
        """
        if module not in self._unmigrated:
            self._unmigrated[module] = self._surely_unmigrated(module)
            if module in self.sources:
                analysis = self.analysis
                if analysis is None:
                    raise RuntimeError("ProjectIndex.analysis is not set: decisions.ProviderAnalysis answers this (the engine sets it)")
                path, source = self.sources[module]
                remembered = self._tree
                if remembered is not None and remembered[0] == module and remembered[1] == source and "pinjected" in source:
                    tree = remembered[2]
                else:
                    tree = analysis.tree(source)
                for _ in range(10):  # to a fixpoint: a provider depending on one flagged in this pass
                    found = analysis.unmigrated(source, path, self, tree) if tree is not None else set()
                    if found <= self._unmigrated[module]:
                        break
                    self._unmigrated[module] = self._unmigrated[module] | found
        return self._unmigrated[module]

    def _surely_unmigrated(self, module: str) -> set[str]:
        """Providers pinjected itself cannot resolve or that the transforms cannot see: they stay pinjected."""
        facts = self.modules.get(module)
        found = {name for mod, name in self.cyclic_providers() if mod == module}
        if facts is not None and facts.reexported_api:
            found |= set(facts.providers)
        return found

    def assume_unmigrated(self, module: str, source: str) -> set[str] | None:
        """Start migrating ``module`` (whose ``source`` is what was indexed) assuming that only its surely
        unmigrated providers stay pinjected; returns them, or ``None`` when its answer is known already
        (or ``source`` is not what the index read).

        :meth:`unmigrated_providers` would first run the transforms' analysis over the whole module; the
        migration runs the same analysis itself. If it leaves no other provider pinjected, the assumption
        was the fixpoint (what the analysis would have found); otherwise :meth:`forget_assumption`, and
        the module is migrated again."""
        if module in self._unmigrated or self.sources.get(module, ("", None))[1] != source or "pinjected" not in source:
            return None
        assumed = self._surely_unmigrated(module)
        self._unmigrated[module] = set(assumed)
        return assumed

    def forget_assumption(self) -> None:
        """Answers given while an assumption of :meth:`assume_unmigrated` held may be wrong: forget all."""
        self._unmigrated = {}

    def is_unmigrated(self, provider: ProviderDef | None) -> bool:
        """A provider that stays pinjected: nothing migrated may ask for it, call it or bind it."""
        return provider is not None and provider.name in self.unmigrated_providers(provider.module)

    def instance_of_call(self, spec: ValueSpec) -> ProviderDef | None:
        """The ``@instance`` provider whose program a ``"call"`` spec (``inst()``) is, if it is one."""
        target = self.resolve_ref(ValueSpec("ref", spec.module, spec.ref))
        return target if target is not None and target.kind == "instance" else None

    def attribute_of_provider(self, spec: ValueSpec) -> bool:
        parts = spec.ref.split(".")
        return any(self.resolve_ref(ValueSpec("ref", spec.module, ".".join(parts[:i]))) is not None for i in range(1, len(parts)))

    def is_opaque_variable(self, spec: ValueSpec) -> bool:
        """A module-level variable assigned something other than a plain name (``impl = pick()``)."""
        facts = self.modules.get(spec.module)
        if facts is None or "." in spec.ref:
            return False
        return spec.ref in facts.variables and facts.variables[spec.ref] is None

    def key_kind(self, key: str) -> str:
        """How a dependency ``key`` behaves at call sites across the whole project.

        ``"function"``: every value it can have is an injected function (calls become ``yield``);
        ``"value"``: never an injected function (calls stay calls, awaits become ``Await``);
        ``"mixed"``: both occur (a design binds a plain callable over an injected function, or the
        reverse) or the name is defined twice: not mechanically translatable (DM107).
        """
        kinds: set[str] = set()
        providers = self.providers_for_key(key)
        if len(providers) > 1:
            return "mixed"
        for provider in providers:
            kinds.add("function" if provider.kind == "injected" else "value")
        for spec in self.bindings_for_key(key):
            if spec.kind == "call":
                kinds.add("value" if self.instance_of_call(spec) is not None else "mixed")
                continue
            target = self.resolve_ref(spec)
            if target is not None:
                kinds.add("function" if target.kind == "injected" else "value")
            elif spec.kind == "ref" and "." in spec.ref and self.attribute_of_provider(spec):
                kinds.add("mixed")  # ``settings.db_url``: an attribute of a provider's value, maybe a function
            elif spec.kind == "ref" and self.is_opaque_variable(spec):
                kinds.add("mixed")  # a variable whose value parsing cannot know: maybe a function
            elif spec.kind == "alias":
                kinds.add(self.key_kind(spec.ref) if spec.ref != key else "mixed")
            elif spec.kind in ("unknown", "opaque"):
                kinds.add("mixed")
            else:
                kinds.add("value")
        if not kinds:
            return "value"
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def is_rebound(self, key: str) -> bool:
        return bool(self.bindings_for_key(key))

    def env_for(self, module: str) -> dict[str, ValueSpec] | None:
        """The merged ``__design__`` of the package hierarchy root to leaf (runner precedence)."""
        parts = module.split(".")
        env: dict[str, ValueSpec] = {}
        # A ``__pinjected__.py`` at the project root (outside any package) is read first (C22).
        chain: list[str] = ["__pinjected__"] if module != "__pinjected__" else []
        for i in range(1, len(parts)):
            package = ".".join(parts[:i])
            chain += [package, f"{package}.__pinjected__"]
        chain.append(module)
        for name in chain:
            facts = self.modules.get(name)
            if facts is None:
                continue
            design = facts.design
            if design is None:
                return None
            env.update(design)
        return env

    def requires(self, module: str, entry: str) -> tuple[str, ...] | None:
        """Keys an entry point can ``Ask`` for, transitively, dependencies first (post-order).

        ``None`` when the answer is not statically known (a design we cannot read, an ``unknown``
        binding on the path): the runner then falls back to lazy resolution.
        """
        facts = self.modules.get(module)
        if facts is None or entry in facts.opaque_overrides:
            return None
        env = self.env_for(module)
        if env is None:
            return None
        env = {**env, **facts.overrides.get(entry, {})}
        if entry in facts.entry_points:
            leaves = facts.entry_points[entry]
        elif entry in facts.providers:
            leaves = [ValueSpec("ref", module, entry)]
        else:
            return None
        order: list[str] = []
        seen: set[str] = set()
        state = {"ok": True}
        depth: dict[str, int] = {}

        def deps_of(key: str) -> tuple[str, ...]:
            if key in env:
                spec = env[key]
                if spec.kind == "alias":
                    return (spec.ref,)
                if spec.kind == "ref":
                    target = self.resolve_ref(spec)
                    return target.deps if target is not None else ()
                if spec.kind == "call":
                    target = self.instance_of_call(spec)
                    if target is not None:
                        return target.deps
                    state["ok"] = False
                if spec.kind == "unknown":
                    state["ok"] = False
                return ()
            providers = self.providers_for_key(key)
            return providers[0].deps if len(providers) == 1 else ()

        def visit_key(key: str, stack: tuple[str, ...]) -> None:
            depth[key] = min(depth.get(key, len(stack) + 1), len(stack) + 1)
            if key in seen or key in stack:
                return
            for dep in deps_of(key):
                visit_key(dep, (*stack, key))
            seen.add(key)
            order.append(key)

        for leaf in leaves:
            if any(self.hands_over_unevaluated(module, call) for call in leaf.inside):
                continue  # pinjected hands it to the callee unevaluated: nothing is built for it
            if leaf.kind == "alias":
                visit_key(leaf.ref, ())
                continue
            target = self.resolve_ref(leaf)
            if target is not None:
                for dep in target.deps:
                    visit_key(dep, ())
        if not state["ok"]:
            return None
        # pinjected resolves the dependencies of a provider concurrently: a provider's body runs
        # after as many event-loop hops as it is deep (from the entry point) plus its own height
        # (its longest chain of dependencies). Ordering by that, then by parameter order, puts the
        # runner's eager build in the order the instance bodies run under pinjected.
        heights: dict[str, int] = {}

        def height(key: str, stack: tuple[str, ...] = ()) -> int:
            if key in heights:
                return heights[key]
            deps = [d for d in deps_of(key) if d not in stack]
            value = 0 if not deps else 1 + max(height(d, (*stack, key)) for d in deps)
            heights[key] = value
            return value

        position = {k: i for i, k in enumerate(order)}
        # Ties: shallower bodies first. pinjected starts every dependency-free instance of a level in
        # the same event-loop hop, before any instance that waits for one of them.
        ranked = sorted(order, key=lambda k: (depth[k] + height(k), height(k), position[k]))
        return tuple(k for k in ranked if k not in pn.RESOLVER_SPECIAL_KEYS)

    def hands_over_unevaluated(self, module: str, call: tuple[str, int, str]) -> bool:
        """Whether the argument ``call`` names (``ValueSpec.inside``) goes to a parameter annotated ``Injected``."""
        callee, index, keyword = call
        target = self.resolve_ref(ValueSpec("ref", module, callee))
        if target is None:
            return False
        return any((keyword == "" and index >= 0 and position == index) or (keyword and keyword == name) for position, name in target.unevaluated)

    def provider_height(self, provider: ProviderDef, module: str) -> int:
        """Longest dependency chain below ``provider`` (0: no dependencies), seen from ``module``."""
        env = self.env_for(module) or {}

        def height(deps: tuple[str, ...], stack: tuple[str, ...]) -> int:
            best = -1
            for dep in deps:
                if dep in stack:
                    continue
                spec = env.get(dep)
                target = None
                if spec is not None and spec.kind == "ref":
                    target = self.resolve_ref(spec)
                elif spec is not None and spec.kind == "call":
                    target = self.instance_of_call(spec)
                elif spec is None:
                    found = self.providers_for_key(dep)
                    target = found[0] if len(found) == 1 else None
                best = max(best, height(target.deps, (*stack, dep)) if target is not None else 0)
            return best + 1

        return height(provider.deps, ())


_RUNTIME_DESIGNS = "doeff_migrate.runtime.designs"
_MIGRATED_BUILDERS = {"injected_pytest", "providers", "instances", "classes"}
"""Runner-specific calls whose arguments are migrated with them (designs stay designs, not pinjected Designs)."""


def _module_from_plain_path(path: str) -> str:
    """Module name of a path that is not on disk (editor buffers, tests): relative parts are packages."""
    p = Path(path)
    parts = list(p.parts[:-1]) if not p.is_absolute() else [p.parent.name] if p.stem == "__init__" else []
    if p.stem != "__init__":
        parts.append(p.stem)
    return ".".join(x for x in parts if x not in ("", ".", "..")) or p.stem

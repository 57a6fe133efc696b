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
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import pinjected_names as pn

__all__ = ["ProviderDef", "ValueSpec", "ModuleFacts", "ProjectIndex", "module_name_for"]


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


def project_root_for(path: str | os.PathLike[str]) -> Path:
    """The project a file or folder belongs to: the nearest folder above it holding ``pyproject.toml``,
    ``setup.py`` or ``.git``; else the parent of its top-most package (its own folder for a plain module).

    A dependency's kind is a whole-project fact, so migrating a subset of a project must index all of it.
    """
    p = Path(path).resolve()
    start = p if p.is_dir() else p.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ("pyproject.toml", "setup.py", ".git")):
            return folder
    folder = start
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder


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

    def __init__(self, facts: ModuleFacts, tree: ast.Module, is_package: bool) -> None:
        self.facts = facts
        self.tree = tree
        self.is_package = is_package
        self.names = facts.names

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
        top_level = {id(n) for n in self.tree.body}
        for node in ast.walk(self.tree):
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
                    or attr in ("to_graph", "to_resolver", "dynamic")
                    or (canonical == pn.INJECTED and node.args and not isinstance(node.args[0], ast.Constant))
                ):
                    self.facts.leftover_calls = True
                    # (``@injected_pytest(d)`` is migrated itself, with ``d`` as an env dict.)
                    if (canonical in pn.RUNNER_SPECIFIC and canonical != "injected_pytest") or attr in ("to_graph", "to_resolver"):
                        # Designs handed to pinjected machinery that stays must stay Designs.
                        parts = [*node.args, *(kw.value for kw in node.keywords)]
                        if attr in ("to_graph", "to_resolver"):
                            parts.append(node.func.value)  # type: ignore[attr-defined]
                        for part in parts:
                            self.facts.runner_args |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and id(node) not in top_level:
                if any(self.canonical(d) is not None for d in node.decorator_list):
                    self.facts.nested_decorated = True

    def _toplevel(self, body: list[ast.stmt], overrides: dict[str, ValueSpec]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.provider(node)
            elif isinstance(node, ast.With) and len(node.items) == 1:
                bound = self.design_of(node.items[0].context_expr)
                if bound is not None and node.items[0].optional_vars is None:
                    self._toplevel(node.body, {**overrides, **bound})
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                self.assignment(node, overrides)

    def provider(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        migrated = self.migrated_kind(node)
        if migrated is not None:
            # Already migrated (a second run, or a partly migrated project): still a provider, with
            # the keys it asks for at the top of its body as dependencies.
            deps = []
            for stmt in node.body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    continue
                key = _asked_key(stmt)
                if key is None:
                    break
                deps.append(key)
            self.facts.providers[node.name] = ProviderDef(
                key=node.name, name=node.name, kind=migrated, module=self.facts.module,
                deps=tuple(deps), is_async=_was_async(node), lineno=node.lineno,
            )
            return
        for deco in node.decorator_list:
            canonical = self.canonical(deco)
            if canonical == pn.INJECTED:
                kind = "injected"
            elif canonical in pn.INSTANCE_DECORATORS:
                kind = "instance"
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
            )
            return

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

    def assignment(self, node: ast.Assign | ast.AnnAssign, overrides: dict[str, ValueSpec]) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name) or node.value is None:
            return
        name = targets[0].id
        self.facts.variables[name] = pn.dotted_ast(node.value)
        if isinstance(node.value, ast.Dict) and name.startswith("__") and name != "__design__":
            if name == "__doeff_overrides__":  # dissolved ``with design(...)`` blocks
                for var, layers in zip(node.value.keys, node.value.values):
                    bound = self.design_of(layers, env=True)
                    if isinstance(var, ast.Constant) and isinstance(var.value, str) and bound is not None:
                        self.facts.overrides[var.value] = {**self.facts.overrides.get(var.value, {}), **bound}
            return  # ``__doeff_requires__`` and other generated tables are not designs
        design = self.design_of(node.value, env=name == "__design__")
        if design is not None or name in ("__design__", "__meta_design__"):
            if name == "__meta_design__" and design is not None:
                # 0.2.252 merges the design under ``overrides=`` into the module's design (C23).
                name = "__design__"
                design = self.meta_design(node.value)
            self.facts.design_vars[name] = design
            return
        is_entry = isinstance(node, ast.AnnAssign) and self.is_iproxy_annotation(node.annotation)
        leaves = self.leaves(node.value)
        if is_entry or (leaves and any(leaf.kind in ("ref", "alias") for leaf in leaves) and self.is_program_expr(node.value)):
            self.facts.entry_points[name] = leaves
            if overrides:
                self.facts.overrides[name] = dict(overrides)

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
            return ValueSpec("ref", self.facts.module, dotted)
        if isinstance(node, ast.Call):
            canonical = self.canonical(node.func)
            dotted_func = pn.dotted_ast(node.func) or ""
            is_by_name = canonical == pn.INJECTED or (
                self.names.canonical_of_dotted(dotted_func.rpartition(".")[0]) == pn.INJECTED_CLASS
                and dotted_func.endswith(".by_name")
            )
            if is_by_name and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                return ValueSpec("alias", self.facts.module, node.args[0].value)
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
        """Pinjected leaves of an IProxy expression, in source order."""
        found: list[ValueSpec] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                spec = self.value_spec(sub)
                if spec.kind == "alias":
                    found.append(spec)
                found += self.bind_leaves(sub)
            dotted = pn.dotted_ast(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
            if dotted and (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
                found.append(ValueSpec("ref", self.facts.module, dotted))
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


def _asked_key(stmt: ast.stmt) -> str | None:
    """``x = yield Ask("key")`` -> ``"key"``."""
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Yield):
        call = stmt.value.value
        if (
            isinstance(call, ast.Call)
            and (pn.dotted_ast(call.func) or "").rpartition(".")[2] == "Ask"
            and len(call.args) == 1
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            return call.args[0].value
    return None


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


class ProjectIndex:
    """Facts about every pinjected module of a project, keyed by dotted module name."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleFacts] = {}
        self.by_path: dict[str, ModuleFacts] = {}
        self._by_key: tuple[dict[str, list[ProviderDef]], dict[str, list[ValueSpec]]] | None = None
        self.sources: dict[str, tuple[str, str]] = {}
        """Module -> (path, source) as indexed (to decide which of its providers stay pinjected)."""
        self._unmigrated: dict[str, set[str]] = {}

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> ProjectIndex:
        """Index ``{path: source}``; paths that do not exist on disk are named from their own parts."""
        index = cls()
        for path, source in sources.items():
            index.add_source(path, source)
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
            if not any(w in data for w in (b"pinjected", b"_binding", b"__design__", b"doeff_migrate")):
                if b"import" in data:
                    importing.append((file, data))
                continue
            try:
                index.add_source(str(file), data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        for file, data in importing:
            name = module_name_for(file)
            if name in index.modules:
                continue
            try:
                index.add_source(str(file), data.decode("utf-8-sig"))
            except UnicodeDecodeError:
                continue
        return index

    def add_source(self, path: str, source: str) -> ModuleFacts | None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
        module = module_name_for(path) if os.path.exists(path) else _module_from_plain_path(path)
        facts = ModuleFacts(module=module, path=str(path), names=pn.from_ast(tree))
        _Collector(facts, tree, Path(path).name == "__init__.py").run()
        self.modules[module] = facts
        self.by_path[os.path.abspath(path)] = facts
        self.sources[module] = (str(path), source)
        self._by_key = None
        self._unmigrated = {}
        return facts

    # -- queries ------------------------------------------------------------------------------
    def facts_for(self, path: str) -> ModuleFacts | None:
        return self.by_path.get(os.path.abspath(path))

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
            self._unmigrated[module] = set()
            if module in self.sources:
                from .engine import unmigrated_providers

                path, source = self.sources[module]
                for _ in range(10):  # to a fixpoint: a provider depending on one flagged in this pass
                    found = unmigrated_providers(source, path, self)
                    if found <= self._unmigrated[module]:
                        break
                    self._unmigrated[module] = self._unmigrated[module] | found
        return self._unmigrated[module]

    def is_unmigrated(self, provider: ProviderDef | None) -> bool:
        """A provider that stays pinjected: nothing migrated may ask for it, call it or bind it."""
        return provider is not None and provider.name in self.unmigrated_providers(provider.module)

    def instance_of_call(self, spec: ValueSpec) -> ProviderDef | None:
        """The ``@instance`` provider whose program a ``"call"`` spec (``inst()``) is, if it is one."""
        target = self.resolve_ref(ValueSpec("ref", spec.module, spec.ref))
        return target if target is not None and target.kind == "instance" else None

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
        chain: list[str] = []
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
        if facts is None:
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
        ranked = sorted(order, key=lambda k: (depth[k] + height(k), position[k]))
        return tuple(k for k in ranked if k not in pn.RESOLVER_SPECIAL_KEYS)

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


def _module_from_plain_path(path: str) -> str:
    """Module name of a path that is not on disk (editor buffers, tests): relative parts are packages."""
    p = Path(path)
    parts = list(p.parts[:-1]) if not p.is_absolute() else [p.parent.name] if p.stem == "__init__" else []
    if p.stem != "__init__":
        parts.append(p.stem)
    return ".".join(x for x in parts if x not in ("", ".", "..")) or p.stem

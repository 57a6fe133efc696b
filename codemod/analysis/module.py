"""The module reader under every rule family: one walk of a module's ``ast`` for its imports, functions,
calls and per-function bodies, and the facts other files' diagnostics depend on (``facts.FileFacts``).

pinjected's names are read by the codemod's import table (``codemod/pinjected_names.py``), so star imports
and aliases resolve as in ``doeff-migrate``; other imports go through :meth:`ModuleReader.qualify`, where a
name the module binds several ways (``try: import cupy as np / except ImportError: import numpy as np``) is
ambiguous, as the codemod's import table reads it (``codemod/imports.py``).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass

from doeff_migrate.codemod import pinjected_names

from .facts import FileFacts, ProjectFacts
from .findings import Finding, Range
from .settings import Config

__all__ = ["ModuleReader", "FunctionInfo", "EFFECT_LIBS", "PINJECTED_DESIGN_CALLS"]

_BUILTINS = frozenset(dir(builtins))
PINJECTED_DESIGN_CALLS = {"design", "providers", "instances", "classes", "destructors", "injecteds"}
EFFECT_LIBS = ("doeff", "doeff_migrate")
_STMT_TYPES = frozenset(t for t in vars(ast).values() if isinstance(t, type) and issubclass(t, ast.stmt))



@dataclass
class FunctionInfo:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    kind: str  # "do", "handler", "plain", "pinjected"
    do_ref: str | None = None  # how the file spells the `do` decorator (e.g. "do", "doeff.do")


class ModuleReader:
    """One module's parse read once: import table, functions by kind, per-function bodies, facts for the
    project. The rule families (``remaining``, ``side_effects``, ``effect_code``, ``stubs``, ``flags``) are
    mixins over it; :class:`doeff_migrate.codemod.analysis.Checker` combines them."""

    def __init__(self, tree: ast.Module, lines: list[str], path: str, config: Config, project: ProjectFacts | None):
        self.tree = tree
        self.lines = lines
        self.path = path
        self.config = config
        self.catalogue = config.catalogue
        self.project = project
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}
        self.ambiguous: set[str] = set()
        """Names imported as different things (``try: import cupy as np / except ImportError: import numpy as
        np``) or also bound by the module itself: which one a call reaches is not known, so :meth:`qualify`
        resolves none of them (the codemod's ``ImportTable`` reads them alike and flags IO through them)."""
        self.pinjected = pinjected_names.from_ast(tree)
        """pinjected's names in this module, read as the codemod reads them (star imports, aliases,
        ``import pinjected as pj``, ``if TYPE_CHECKING:`` imports)."""
        self.local_names: set[str] = set()
        self.functions: dict[str, FunctionInfo] = {}
        self.facts = FileFacts()
        self.uses_ray = False
        self._do_names: set[str] | None = None
        self._bodies: dict[int, list[tuple[ast.AST, ast.stmt]]] = {}
        self._body_nodes: dict[int, list[ast.AST]] = {}
        self._last_import_line: int | None = None

    # -- module facts -----------------------------------------------------------------------------------
    def _collect_module(self) -> None:
        # One walk of the whole tree; later passes iterate these lists instead of walking again.
        self.all_functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.all_calls: list[ast.Call] = []
        self.all_defs_and_assigns: list[ast.AST] = []
        imports = self.collect(self.tree, self.all_functions, self.all_calls, self.all_defs_and_assigns)
        self._read_module(imports)

    def collect(self, root: ast.AST, functions: list, calls: list, defs: list) -> list[ast.Import | ast.ImportFrom]:
        """Walk ``root`` once: its functions, calls, definitions and assignments into the lists, each function's
        body nodes into ``_bodies``; returns its imports."""
        # The traversal records, per function, the nodes of its body in source order (not descending into
        # nested functions, lambdas or classes) with each node's innermost statement: see ``_walk_body``.
        # Written as one flat loop over ``_fields`` because it is most of the analysis' time.
        bodies = self._bodies
        imports: list[ast.Import | ast.ImportFrom] = []
        function_def, async_function_def, call = ast.FunctionDef, ast.AsyncFunctionDef, ast.Call
        def_types = {ast.ClassDef, ast.Assign, ast.AnnAssign}
        import_types = {ast.Import, ast.ImportFrom}
        opaque_types = {ast.Lambda, ast.ClassDef}
        AST = ast.AST
        stack: list[tuple[ast.AST, list | None, ast.stmt | None]] = [(root, None, None)]
        pop, push = stack.pop, stack.append
        while stack:
            node, owner, stmt = pop()
            kind = type(node)
            if kind in _STMT_TYPES:
                stmt = node  # type: ignore[assignment]
            if owner is not None:
                owner.append((node, stmt))
            if kind is function_def or kind is async_function_def:
                body: list[tuple[ast.AST, ast.stmt]] = []
                bodies[id(node)] = body
                functions.append(node)  # type: ignore[arg-type]
                defs.append(node)
                for child in reversed(node.body):  # type: ignore[attr-defined]
                    push((child, body, None))
                for child in node.decorator_list:  # type: ignore[attr-defined]
                    push((child, None, None))
                push((node.args, None, None))  # type: ignore[attr-defined]
                continue
            if kind is call:
                calls.append(node)  # type: ignore[arg-type]
            elif kind in def_types:
                defs.append(node)
            elif kind in import_types:
                imports.append(node)  # type: ignore[arg-type]
            child_owner = None if kind in opaque_types else owner
            for name in node._fields:
                if name == "ctx":
                    continue
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in reversed(value):
                        if isinstance(item, AST):
                            push((item, child_owner, stmt))
                elif isinstance(value, AST):
                    push((value, child_owner, stmt))
        return imports

    def _read_module(self, imports: list[ast.Import | ast.ImportFrom]) -> None:
        """The import table, the names the module binds, its functions by kind and its facts."""
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._bind(alias.asname, alias.name)
                    else:
                        head = alias.name.split(".")[0]
                        self._bind(head, head)
            else:
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name != "*":
                        self._bind(alias.asname or alias.name, f"{module}.{alias.name}" if module else alias.name)
        self.uses_ray = any(q == "ray" or q.startswith("ray.") for q in self.aliases.values())
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.local_names.add(stmt.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.local_names.add(target.id)
        self.ambiguous |= self.local_names & set(self.aliases)
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                info = self._classify(stmt)
                self.functions[stmt.name] = info
                if info.kind == "do":
                    self.facts.do_functions.add(stmt.name)
            elif isinstance(stmt, ast.ClassDef) and self._is_effect_class(stmt):
                self.facts.effect_classes.add(stmt.name)
        self._collect_bindings()

    def _bind(self, name: str, qualified: str) -> None:
        previous = self.aliases.get(name)
        if previous is not None and previous != qualified:
            self.ambiguous.add(name)
        self.aliases[name] = qualified

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified dotted name of ``node`` through import aliases, or None (see module docstring)."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = node.id
        if head in self.ambiguous:
            return None
        if head in self.aliases:
            base = self.aliases[head]
        elif head in _BUILTINS and head not in self.local_names:
            base = head
        else:
            return None
        return ".".join([base, *reversed(parts)])

    def _lib_name(self, node: ast.expr, roots: tuple[str, ...]) -> str | None:
        """Last segment of ``node``'s qualified name when it comes from one of ``roots`` (e.g. pinjected)."""
        if isinstance(node, ast.Call):
            node = node.func
        qualified = self.qualify(node)
        if qualified is None:
            return None
        root = qualified.split(".")[0]
        if root in roots:
            return qualified.rsplit(".", 1)[-1]
        return None

    def _pinjected_name(self, node: ast.expr) -> str | None:
        """pinjected's canonical name for ``node`` (or the function of a call), as the codemod resolves it."""
        if isinstance(node, ast.Call):
            node = node.func
        return self.pinjected.canonical_of_dotted(pinjected_names.dotted_ast(node))

    def _decorator_names(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[tuple[ast.expr, str | None, str | None]]:
        """(decorator, effect-library name, pinjected name) for each decorator."""
        out = []
        for dec in fn.decorator_list:
            out.append((dec, self._lib_name(dec, EFFECT_LIBS), self._pinjected_name(dec)))
        return out

    def _classify(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionInfo:
        kind = "plain"
        do_ref = None
        for dec, effect_name, pinjected_name in self._decorator_names(fn):
            target = dec.func if isinstance(dec, ast.Call) else dec
            if effect_name == "do":
                kind = "do"
                do_ref = ast.unparse(target)
            elif effect_name == "handler" and kind != "do":
                kind = "handler"
            elif pinjected_name is not None and kind == "plain":
                kind = "pinjected"
        return FunctionInfo(fn, kind, do_ref)

    def _is_effect_class(self, cls: ast.ClassDef) -> bool:
        for base in cls.bases:
            target = base.value if isinstance(base, ast.Subscript) else base
            name = self._lib_name(target, EFFECT_LIBS)
            if name in ("EffectBase", "Effect"):
                return True
            if isinstance(target, ast.Name) and target.id in self.facts.effect_classes:
                return True
        return False

    # -- ranges and findings ------------------------------------------------------------------------------
    def col(self, line: int, byte_col: int) -> int:
        """ast's UTF-8 byte column -> code-point column."""
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

    def range_of(self, node: ast.AST) -> Range:
        start = node.lineno - 1
        end = (node.end_lineno or node.lineno) - 1
        return Range(start, self.col(start, node.col_offset), end, self.col(end, node.end_col_offset or node.col_offset))

    def segment(self, node: ast.AST) -> str | None:
        """Source text of ``node`` (like ``ast.get_source_segment`` without re-splitting the file)."""
        rng = self.range_of(node)
        if rng.end_line >= len(self.lines):
            return None
        if rng.start_line == rng.end_line:
            return self.lines[rng.start_line][rng.start_col : rng.end_col]
        chunk = [self.lines[rng.start_line][rng.start_col :], *self.lines[rng.start_line + 1 : rng.end_line]]
        return "\n".join([*chunk, self.lines[rng.end_line][: rng.end_col]])

    def add(self, code: str, message: str, node_or_range: ast.AST | Range, **extra) -> None:
        rng = node_or_range if isinstance(node_or_range, Range) else self.range_of(node_or_range)
        self.findings.append(Finding(code, message, rng, **extra))

    def decorator_range(self, dec: ast.expr) -> Range:
        rng = self.range_of(dec)
        # Include the "@" so the range covers what the user sees as the decorator.
        return Range(rng.start_line, max(rng.start_col - 1, 0), rng.end_line, rng.end_col)

    def def_name_range(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Range:
        line = fn.lineno - 1
        text = self.lines[line] if line < len(self.lines) else ""
        index = text.find(fn.name, self.col(line, fn.col_offset))
        if index < 0:
            return self.range_of(fn)
        return Range(line, index, line, index + len(fn.name))

    @staticmethod
    def span(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
        first = min([d.lineno for d in fn.decorator_list] + [fn.lineno])
        return (first, fn.end_lineno or fn.lineno)

    def statement_span(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.AST) -> tuple[int, int]:
        """1-based lines of the innermost statement of ``fn`` that contains ``node``."""
        stmt = next((s for n, s in self._bodies[id(fn)] if n is node), None)
        if stmt is None or isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            # A compound statement (the node is in its header): migrate the header line(s) only.
            return (node.lineno, node.end_lineno or node.lineno)
        return (stmt.lineno, stmt.end_lineno or stmt.lineno)

    # -- facts for the project index -----------------------------------------------------------------------------
    def _collect_bindings(self, nodes: list[ast.AST] | None = None) -> None:
        """Bound keys and handlers of the module (or of ``nodes``) into ``facts``."""
        facts = self.facts
        for node in [*self.all_defs_and_assigns, *self.all_calls] if nodes is None else nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for dec, effect_name, pinjected_name in self._decorator_names(node):
                    if effect_name in ("function_binding", "instance_binding") or pinjected_name in ("injected", "instance", "injected_instance"):
                        key = node.name if not isinstance(node, ast.ClassDef) else f"new_{node.name}"
                        if isinstance(dec, ast.Call) and dec.args and isinstance(dec.args[0], ast.Constant) and isinstance(dec.args[0].value, str):
                            key = dec.args[0].value
                        facts.bound_keys.add(key)
                    if effect_name == "handler" and not isinstance(node, ast.ClassDef):
                        self._record_handler(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if node.value is not None and any(_looks_like_env_name(n) for n in names):
                    facts.bound_keys.update(_dict_keys(node.value))
            elif isinstance(node, ast.Call):
                name = self._pinjected_name(node.func)
                if name in PINJECTED_DESIGN_CALLS:
                    facts.bound_keys.update(k.arg for k in node.keywords if k.arg)
                elif name == "injected" and node.args and isinstance(node.args[0], ast.Name):
                    facts.bound_keys.add(f"new_{node.args[0].id}")
                if self._lib_name(node.func, EFFECT_LIBS) == "Local" and node.args:
                    facts.bound_keys.update(_dict_keys(node.args[0]))
                for kw in node.keywords:
                    if kw.arg == "env":
                        facts.bound_keys.update(_dict_keys(kw.value))

def _looks_like_env_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("__design__", "__meta_design__") or "design" in lowered or lowered.endswith("env")


def _dict_keys(node: ast.AST) -> Iterable[str]:
    """String keys of dict literals / ``dict(...)`` calls in ``node`` (through ``|``, ``+`` and calls)."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Dict):
            for key in inner.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.value
        elif isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in ("dict", "design"):
            for kw in inner.keywords:
                if kw.arg:
                    yield kw.arg



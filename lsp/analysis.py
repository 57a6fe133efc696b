"""What the language server reports, as plain data: ``check(source, path, config) -> list[Finding]``.

No protocol types here (ruff's ``lint::check``, Fixit's ``fixit_bytes``): the server converts Findings to
LSP diagnostics, and unit tests call :func:`check` directly. The source is parsed with :mod:`ast` and never
executed. Lines are 0-based and columns count code points; the server converts them to the client's
position encoding.

Families (codes and docs in ``doeff_migrate.codemod.rules``):

* DM15x remaining pinjected constructs (``rules/remaining.py``), with pinjected's names read by the codemod's
  import table (``codemod/pinjected_names.py``) so star imports and aliases resolve as in ``doeff-migrate``,
* DM2xx/DM3xx direct side effects in ``@do`` functions, through import aliases, and through plain helpers
  of the same file (reported at the call site) (``rules/side_effects.py``),
* DM5xx effect-code mistakes (``rules/effect_code.py``),
* DM6xx handler stubs (``rules/stubs.py``),
* ``# doeff-migrate: DM###: ...`` flag comments the codemod left in the file.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doeff_migrate.codemod import pinjected_names
from doeff_migrate.codemod.rules import side_effects as side_effect_rules
from doeff_migrate.codemod.state import noqa_suppresses
from doeff_migrate.codemod.rules.stubs import STUB_MARKER

from .config import Config
from .project import FileFacts, ProjectIndex

if TYPE_CHECKING:
    from doeff_migrate.codemod.side_effects import SideEffect

__all__ = ["Range", "Edit", "Fix", "Finding", "Analysis", "analyze", "check", "SEVERITY"]


@dataclass(frozen=True)
class Range:
    """0-based lines, code-point columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class Edit:
    range: Range
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    safe: bool = True
    """Safe in ruff's sense: applied by ``source.fixAll``."""


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    range: Range
    fix: Fix | None = None
    migrate_lines: tuple[int, int] | None = None
    """1-based inclusive line span the codemod quick fix should migrate (``only_range``)."""
    migrate_title: str | None = None
    migrate_phase: str | None = None
    """Codemod phase the quick fix runs (``di``, ``compute``, ``io``)."""


@dataclass
class Analysis:
    findings: list[Finding]
    facts: FileFacts | None
    """None when the source did not parse."""
    syntax_error: Finding | None = None


SEVERITY: dict[str, str] = {"DM0": "error", "DM1": "information", "DM502": "error", "DM503": "error"}
# DM502/DM503 are errors: `await` in a plain `def` does not compile, `@do async def` raises at import.
"""Code prefix -> severity; the most specific prefix wins, the default is ``warning``."""

_FLAG_COMMENT = re.compile(r"#\s*doeff-migrate:\s*(?P<code>DM\d{3})\s*:?\s*(?P<text>.*)$")
_BUILTINS = frozenset(dir(builtins))
CONVERT_TITLE = "Convert this call to an effect (doeff-migrate)"
_PINJECTED_DESIGN_CALLS = {"design", "providers", "instances", "classes", "destructors", "injecteds"}
_INJECTED_DECORATORS = {"injected": "DM150", "instance": "DM151", "injected_instance": "DM151", "injected_pytest": "DM155"}
_EFFECT_LIBS = ("doeff", "doeff_migrate")
_STMT_TYPES = frozenset(t for t in vars(ast).values() if isinstance(t, type) and issubclass(t, ast.stmt))


def check(source: str, path: str, config: Config | None = None, project: ProjectIndex | None = None) -> list[Finding]:
    """Findings for one file's text, filtered by ``config`` (select/ignore) and ``# noqa`` comments."""
    return analyze(source, path, config, project).findings


def analyze(source: str, path: str, config: Config | None = None, project: ProjectIndex | None = None) -> Analysis:
    """:func:`check` plus the file's facts for the project index (bound keys, effects, handlers)."""
    config = config or Config()
    if not config.enable:
        return Analysis([], None)
    lines = source.splitlines()
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        finding = _syntax_finding(exc, source)
        return Analysis([finding] if config.is_selected(finding.code) else [], None, syntax_error=finding)
    except (RecursionError, MemoryError):
        return _too_nested(source, config)
    checker = _Checker(tree, lines, path, config, project)
    try:
        findings = checker.run()
    except RecursionError:
        return _too_nested(source, config)
    noqa_lines = {number for number, line in enumerate(lines) if "noqa" in line.lower()}
    kept = [f for f in findings if config.is_selected(f.code) and not _suppressed(f, noqa_lines, lines)]
    kept.sort(key=lambda f: (f.range.start_line, f.range.start_col, f.code))
    return Analysis(kept, checker.facts)


def _suppressed(finding: Finding, noqa_lines: set[int], lines: list[str]) -> bool:
    """``# noqa`` on the finding's first or last line, or on comment lines right above it (as the CLI reads
    the comments of the statement, including its leading comment lines). The comment is read as the codemod
    reads it: a bare ``# noqa`` or one naming the finding's code; ``# noqa: E501`` keeps DM findings."""
    candidates = {finding.range.start_line, finding.range.end_line}
    above = finding.range.start_line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        candidates.add(above)
        above -= 1
    return any(line in noqa_lines and noqa_suppresses(lines[line], finding.code) for line in candidates)


def _too_nested(source: str, config: Config) -> Analysis:
    """Code nested so deeply that Python's parser (or the checker's walk) gives up: reported like a syntax error."""
    finding = _syntax_finding(Exception("nested too deeply to analyse"), source)
    return Analysis([finding] if config.is_selected(finding.code) else [], None, syntax_error=finding)


def _syntax_finding(exc: Exception, source: str) -> Finding:
    lines = source.splitlines() or [""]
    line = max((getattr(exc, "lineno", None) or 1) - 1, 0)
    line = min(line, len(lines) - 1)
    col = max((getattr(exc, "offset", None) or 1) - 1, 0)
    col = min(col, len(lines[line]))
    message = getattr(exc, "msg", None) or str(exc)
    return Finding(
        "DM001",
        f"Syntax error: {message} (other diagnostics are kept from the last version that parsed)",
        Range(line, col, line, max(len(lines[line]), col)),
    )


# ---------------------------------------------------------------------------------------------------------
# The checker: one pre-pass over module-level statements, then one walk per effectful function.
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Function:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    kind: str  # "do", "handler", "plain", "pinjected"
    do_ref: str | None = None  # how the file spells the `do` decorator (e.g. "do", "doeff.do")


@dataclass
class _HelperEffect:
    via: str  # the qualified side effect, e.g. "wandb.log"
    category: str
    chain: tuple[str, ...] = field(default=())


class _Checker:
    def __init__(self, tree: ast.Module, lines: list[str], path: str, config: Config, project: ProjectIndex | None):
        self.tree = tree
        self.lines = lines
        self.path = path
        self.config = config
        self.catalogue = config.catalogue
        self.project = project
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}
        self.pinjected = pinjected_names.from_ast(tree)
        """pinjected's names in this module, read as the codemod reads them (star imports, aliases,
        ``import pinjected as pj``, ``if TYPE_CHECKING:`` imports)."""
        self.local_names: set[str] = set()
        self.functions: dict[str, _Function] = {}
        self.facts = FileFacts()
        self.uses_ray = False
        self._do_names: set[str] | None = None
        self._bodies: dict[int, list[tuple[ast.AST, ast.stmt]]] = {}
        self._body_nodes: dict[int, list[ast.AST]] = {}
        self._last_import_line: int | None = None

    # -- entry ------------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        self._collect_module()
        helpers = self._helper_side_effects()
        for fn in self.all_functions:
            info = self._classify(fn)
            if info.kind == "do":
                self._check_effectful(info, helpers)
            elif info.kind == "handler":
                self._check_handler(fn)
            else:
                self._check_discarded_programs(fn, in_generator=False)
        self._check_module_level()
        self._flag_comments()
        return self.findings

    # -- module facts -----------------------------------------------------------------------------------
    def _collect_module(self) -> None:
        # One walk of the whole tree; later passes iterate these lists instead of walking again.
        self.all_functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.all_calls: list[ast.Call] = []
        self.all_defs_and_assigns: list[ast.AST] = []
        # The same traversal records, per function, the nodes of its body in source order (not descending
        # into nested functions, lambdas or classes) with each node's innermost statement: see ``_body``.
        # Written as one flat loop over ``_fields`` because it is most of the analysis' time.
        bodies = self._bodies
        calls, functions, defs = self.all_calls, self.all_functions, self.all_defs_and_assigns
        imports: list[ast.Import | ast.ImportFrom] = []
        function_def, async_function_def, call = ast.FunctionDef, ast.AsyncFunctionDef, ast.Call
        def_types = {ast.ClassDef, ast.Assign, ast.AnnAssign}
        import_types = {ast.Import, ast.ImportFrom}
        opaque_types = {ast.Lambda, ast.ClassDef}
        AST = ast.AST
        stack: list[tuple[ast.AST, list | None, ast.stmt | None]] = [(self.tree, None, None)]
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
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases[head] = head
            else:
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name
        self.uses_ray = any(q == "ray" or q.startswith("ray.") for q in self.aliases.values())
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.local_names.add(stmt.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.local_names.add(target.id)
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                info = self._classify(stmt)
                self.functions[stmt.name] = info
                if info.kind == "do":
                    self.facts.do_functions.add(stmt.name)
            elif isinstance(stmt, ast.ClassDef) and self._is_effect_class(stmt):
                self.facts.effect_classes.add(stmt.name)
        self._collect_bindings()

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified dotted name of ``node`` through import aliases, or None (see module docstring)."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = node.id
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
            out.append((dec, self._lib_name(dec, _EFFECT_LIBS), self._pinjected_name(dec)))
        return out

    def _classify(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> _Function:
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
        return _Function(fn, kind, do_ref)

    def _is_effect_class(self, cls: ast.ClassDef) -> bool:
        for base in cls.bases:
            target = base.value if isinstance(base, ast.Subscript) else base
            name = self._lib_name(target, _EFFECT_LIBS)
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

    # -- DM15x: remaining pinjected constructs ----------------------------------------------------------------
    def _check_module_level(self) -> None:
        if not self.pinjected.used:
            return
        for fn in self.all_functions:
            for dec, _, pinjected_name in self._decorator_names(fn):
                code = _INJECTED_DECORATORS.get(pinjected_name or "")
                if code is None:
                    continue
                what = {"DM150": "`@injected` function", "DM151": "`@instance` function", "DM155": "`@injected_pytest` test"}[code]
                self.add(
                    code,
                    f"{what} `{fn.name}` is not migrated yet; phase `di` migrates it (doeff-migrate --phase di)",
                    self.decorator_range(dec),
                    migrate_lines=self.span(fn),
                    migrate_title=f"Migrate `{fn.name}` (phase di)",
                    migrate_phase="di",
                )
        for stmt in self.tree.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                annotation = stmt.annotation.value if isinstance(stmt.annotation, ast.Subscript) else stmt.annotation
                if self._pinjected_name(annotation) == "IProxy":
                    self.add(
                        "DM154",
                        f"IProxy entry point `{stmt.target.id}` is not migrated yet; phase `di` migrates it "
                        "(doeff-migrate --phase di)",
                        stmt.target,
                        migrate_lines=(stmt.lineno, stmt.end_lineno or stmt.lineno),
                        migrate_title=f"Migrate entry point `{stmt.target.id}` (phase di)",
                        migrate_phase="di",
                    )
        flagged_calls: set[int] = set()
        for node in self.all_calls:
            if id(node) in flagged_calls:
                continue
            func = node.func
            name = self._pinjected_name(func)
            if name in _PINJECTED_DESIGN_CALLS:
                self.add(
                    "DM152",
                    f"pinjected `{name}(...)` is not migrated yet; phase `di` turns it into an env dict "
                    "(doeff-migrate --phase di)",
                    node,
                    migrate_lines=(node.lineno, node.end_lineno or node.lineno),
                    migrate_title="Migrate this design (phase di)",
                    migrate_phase="di",
                )
            elif isinstance(func, ast.Attribute) and self._pinjected_name(func.value) == "Injected":
                self._flag_combinator(node, f"Injected.{func.attr}", flagged_calls)
            elif name == "injected" and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                self._flag_combinator(node, "injected(\"...\")", flagged_calls)

    def _flag_combinator(self, node: ast.Call, spelled: str, flagged: set[int]) -> None:
        for inner in ast.walk(node):
            flagged.add(id(inner))
        self.add(
            "DM153",
            f"`{spelled}` is not migrated yet; phase `di` turns it into a program (doeff-migrate --phase di)",
            node,
            migrate_lines=(node.lineno, node.end_lineno or node.lineno),
            migrate_title=f"Migrate `{spelled}` (phase di)",
            migrate_phase="di",
        )

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

    def _helper_side_effects(self) -> dict[str, _HelperEffect]:
        """Plain module-level functions that perform a catalogued side effect, directly or via other helpers."""
        direct: dict[str, _HelperEffect] = {}
        calls: dict[str, set[str]] = {}
        for name, info in self.functions.items():
            if info.kind != "plain":
                continue
            calls[name] = set()
            for node in self._walk_body(info.node):
                hit = self._side_effect_of(node)
                if hit is not None and name not in direct:
                    direct[name] = _HelperEffect(hit[0], hit[1].category)
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
                        direct[name] = _HelperEffect(via.via, via.category, (callee, *via.chain))
                        changed = True
                        break
        return direct

    def _check_effectful(self, info: _Function, helpers: dict[str, _HelperEffect]) -> None:
        fn = info.node
        if isinstance(fn, ast.AsyncFunctionDef):
            self.add(
                "DM503",
                f"`@do` cannot decorate `async def {fn.name}`: doeff raises TypeError at import; make it a plain "
                "`def` and yield `Await(...)` for coroutines",
                self.def_name_range(fn),
            )
        await_ref: tuple[str, Edit | None] | None | bool = False  # computed on the first `await`
        for node in self._walk_body(fn):
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
                    "DM311",
                    f"`{node.func.id}(...)` performs a side effect ({via.category}: {path}) called from `@do` "
                    f"function `{fn.name}`; make the helper effectful or move the call into a handler",
                    node,
                )
            elif isinstance(node, ast.Await):
                fix = None
                if await_ref is False:
                    await_ref = self._await_ref(info)
                if await_ref:
                    spelled_name, import_edit = await_ref
                    inner = self.segment(node.value)
                    if inner is not None:
                        edits = [Edit(self.range_of(node), f"(yield {spelled_name}({inner}))")]
                        if import_edit is not None:
                            edits.append(import_edit)
                        fix = Fix("Replace `await` with `yield Await(...)`", tuple(edits))
                self.add(
                    "DM502",
                    f"`await` inside `@do` function `{fn.name}`: yield `Await(...)` instead",
                    node,
                    fix=fix,
                )
            elif isinstance(node, (ast.AsyncFor, ast.AsyncWith)):
                keyword = "async for" if isinstance(node, ast.AsyncFor) else "async with"
                line = node.lineno - 1
                start = self.col(line, node.col_offset)
                self.add(
                    "DM502",
                    f"`{keyword}` inside `@do` function `{fn.name}` cannot run in a generator; move it into a "
                    "coroutine and yield `Await(...)` of it",
                    Range(line, start, line, start + len(keyword)),
                )
            elif isinstance(node, ast.YieldFrom) and isinstance(node.value, ast.Call):
                start = self.range_of(node)
                value = self.range_of(node.value)
                self.add(
                    "DM504",
                    f"`yield from` on a program in `@do` function `{fn.name}`: yield the program instead",
                    node,
                    fix=Fix(
                        "Replace `yield from` with `yield`",
                        (Edit(Range(start.start_line, start.start_col, value.start_line, value.start_col), "yield "),),
                    ),
                )
            elif isinstance(node, ast.Call):
                self._check_ask(node)
            if isinstance(node, ast.Yield) and isinstance(node.value, ast.Call):
                self._check_yielded_effect(node.value)
        self._check_discarded_programs(fn, in_generator=True)

    def _await_ref(self, info: _Function) -> tuple[str, Edit | None] | None:
        """How to spell ``Await`` in this file, and the import edit needed (None: no safe spelling)."""
        for local, qualified in self.aliases.items():
            if qualified.split(".")[0] in _EFFECT_LIBS and qualified.endswith(".Await"):
                return local, None
        if info.do_ref is None:
            return None
        if "." in info.do_ref:  # ``@doeff.do`` -> ``doeff.Await``
            return info.do_ref.rsplit(".", 1)[0] + ".Await", None
        qualified = self.aliases.get(info.do_ref)
        if qualified is None or not qualified.endswith(".do"):
            return None
        module = qualified[: -len(".do")]
        last_import = self.last_import_line()
        return "Await", Edit(Range(last_import, 0, last_import, 0), f"from {module} import Await\n")

    def last_import_line(self) -> int:
        """0-based line right after the last top-level import (where new imports go)."""
        if self._last_import_line is None:
            self._last_import_line = max(
                (s.end_lineno or s.lineno for s in self.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))), default=0
            )
        return self._last_import_line

    # -- DM501: programs built and dropped --------------------------------------------------------------------
    def _do_function_names(self) -> set[str]:
        if self._do_names is not None:
            return self._do_names
        names = self._do_names = set(self.facts.do_functions)
        if self.project is not None:
            for local, qualified in self.aliases.items():
                module, _, name = qualified.rpartition(".")
                if module and self.project.is_do_function(module, name):
                    names.add(local)
        return names

    def _check_discarded_programs(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, in_generator: bool) -> None:
        do_names = self._do_function_names()
        if not do_names:
            return
        for node in self._walk_body(fn):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Name) and func.id in do_names:
                    self._flag_discarded(node.value, func.id, fn.name, in_generator)

    def _flag_discarded(self, call: ast.Call, name: str, where: str, in_generator: bool) -> None:
        rng = self.range_of(call)
        fix = None
        if in_generator:
            insert = Range(rng.start_line, rng.start_col, rng.start_line, rng.start_col)
            # Unsafe in ruff's sense: the program starts running, which is the intent but a change.
            fix = Fix(f"Yield the program: `yield {name}(...)`", (Edit(insert, "yield "),), safe=False)
        self.add(
            "DM501",
            f"`{name}(...)` builds a program that is never run in `{where}`: a `@do` function runs only when "
            "yielded",
            call,
            fix=fix,
        )

    # -- DM505 / DM602 / DM603: Ask keys and effects ------------------------------------------------------------
    def _check_ask(self, call: ast.Call) -> None:
        if self.project is None or self._lib_name(call.func, _EFFECT_LIBS) != "Ask":
            return
        if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
            return
        key = call.args[0].value
        if key.startswith("__") and key.endswith("__"):
            return
        if key in self.facts.bound_keys or self.project.binds(key):
            return
        self.add(
            "DM505",
            f"`Ask(\"{key}\")`: no env, design or binding in the project binds \"{key}\" (bind it in "
            "`__design__`, or `# noqa: DM505` if user configuration provides it)",
            call.args[0],
        )

    def _check_yielded_effect(self, call: ast.Call) -> None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name is None:
            return
        is_project_effect = name in self.facts.effect_classes or (self.project is not None and self.project.declares_effect(name))
        if not is_project_effect:
            return
        handlers = list(self.facts.handlers.get(name, ()))
        if self.project is not None:
            handlers += [h for h in self.project.handlers_for(name) if h.path != self.path]
        if handlers and all(h.is_stub for h in handlers):
            names = ", ".join(sorted({f"`{h.name}` ({h.path}:{h.line})" for h in handlers}))
            self.add(
                "DM602",
                f"`{name}` is handled only by the unimplemented stub {names}: running this fails with "
                "NotImplementedError until the stub is written",
                call,
            )
        elif not handlers:
            self.add(
                "DM603",
                f"no `@handler` in the project handles `{name}`: the program stops here with an unhandled effect",
                call,
                fix=self._stub_fix(name),
            )

    def _stub_fix(self, effect: str) -> Fix:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", effect).lower()
        last = len(self.lines)
        needs_blank = bool(self.lines) and self.lines[-1].strip() != ""
        handler_ref = next((local for local, q in self.aliases.items() if q.split(".")[0] in _EFFECT_LIBS and q.endswith(".handler")), None)
        edits = []
        if handler_ref is None:
            module = next((q.rsplit(".", 1)[0] for q in self.aliases.values() if q.split(".")[0] in _EFFECT_LIBS and q.count(".") >= 1), "doeff_migrate.runtime")
            last_import = self.last_import_line()
            edits.append(Edit(Range(last_import, 0, last_import, 0), f"from {module} import handler\n"))
            handler_ref = "handler"
        text = ("\n" if needs_blank else "") + (
            f"\n\n@{handler_ref}\ndef handle_{snake}(effect: {effect}, k):\n"
            f"    {STUB_MARKER}\n"
            f"    raise NotImplementedError(\"handler stub for {effect}: answer with `return (yield Resume(k, value))`\")\n"
        )
        end_col = len(self.lines[-1]) if self.lines else 0
        edits.append(Edit(Range(max(last - 1, 0), end_col, max(last - 1, 0), end_col), text))
        return Fix(f"Generate a handler stub for `{effect}`", tuple(edits), safe=False)

    # -- DM601: stubs ----------------------------------------------------------------------------------------
    def _check_handler(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        info = self.facts.handler_info(fn.name)
        if info is not None and info.is_stub:
            effects = ", ".join(f"`{e}`" for e in info.effects) or "its effects"
            self.add(
                "DM601",
                f"handler stub `{fn.name}` for {effects} is not implemented: programs yielding it fail with "
                f"NotImplementedError (write it, then delete the `{STUB_MARKER}` marker)",
                self.def_name_range(fn),
            )
        self._check_discarded_programs(fn, in_generator=True)

    # -- facts for the project index -----------------------------------------------------------------------------
    def _collect_bindings(self) -> None:
        facts = self.facts
        for node in [*self.all_defs_and_assigns, *self.all_calls]:
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
                if name in _PINJECTED_DESIGN_CALLS:
                    facts.bound_keys.update(k.arg for k in node.keywords if k.arg)
                elif name == "injected" and node.args and isinstance(node.args[0], ast.Name):
                    facts.bound_keys.add(f"new_{node.args[0].id}")
                if self._lib_name(node.func, _EFFECT_LIBS) == "Local" and node.args:
                    facts.bound_keys.update(_dict_keys(node.args[0]))
                for kw in node.keywords:
                    if kw.arg == "env":
                        facts.bound_keys.update(_dict_keys(kw.value))

    def _record_handler(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        effects: list[str] = []
        params = fn.args.posonlyargs + fn.args.args
        if params and params[0].annotation is not None:
            effects = [e for e in _annotation_names(params[0].annotation) if e not in _GENERIC_EFFECT_NAMES]
        if params and not effects:
            # An untyped (or ``EffectBase``-typed) handler dispatches in its body: ``isinstance(effect, X)``
            # or ``match effect: case X(...)`` name what it handles.
            effects = self._dispatched_effects(fn, params[0].arg)
        first, last = self.span(fn)
        marker = any(STUB_MARKER in self.lines[i] for i in range(max(first - 2, 0), min(last, len(self.lines))))
        raises = any(
            isinstance(n, ast.Raise) and n.exc is not None and _raised_name(n.exc) == "NotImplementedError"
            for n in self._walk_body(fn)
        )
        self.facts.add_handler(fn.name, tuple(effects), self.path, fn.lineno, is_stub=marker and raises)

    def _dispatched_effects(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> list[str]:
        found: list[str] = []
        for node in self._walk_body(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == param
            ):
                found += _annotation_names(node.args[1])
            elif isinstance(node, ast.Match) and isinstance(node.subject, ast.Name) and node.subject.id == param:
                for case in node.cases:
                    for pattern in ast.walk(case.pattern):
                        if isinstance(pattern, ast.MatchClass):
                            found += _annotation_names(pattern.cls)
        return [name for name in found if name not in _GENERIC_EFFECT_NAMES]

    # -- flag comments left by the codemod ---------------------------------------------------------------------
    def _flag_comments(self) -> None:
        from doeff_migrate.codemod.rules import all_rules

        known = {r.code for r in all_rules()}
        for number, line in enumerate(self.lines):
            if "doeff-migrate:" not in line:
                continue
            match = _FLAG_COMMENT.search(line)
            if match is None or match.group("code") not in known:
                continue
            start = match.start()
            self.add(match.group("code"), match.group("text").strip() or "flagged by doeff-migrate", Range(number, start, number, len(line)))


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


_GENERIC_EFFECT_NAMES = frozenset({"EffectBase", "Effect", "Any", "object"})


def _annotation_names(node: ast.expr) -> list[str]:
    """Class names in an annotation or an ``isinstance`` class argument (``A | B``, ``Union[A, B]``, ``(A, B)``)."""
    if isinstance(node, ast.Tuple):
        return [n for item in node.elts for n in _annotation_names(item)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotation_names(node.left) + _annotation_names(node.right)
    if isinstance(node, ast.Subscript):  # Union[A, B]
        inner = node.slice
        items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return [n for item in items for n in _annotation_names(item)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value.split(".")[-1]]
    return []


def _raised_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None

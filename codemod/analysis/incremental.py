"""One open document's analysis kept between edits: an edit inside the body of one top-level function
re-parses and re-checks that function only (``analyze`` of the whole text costs a full parse, ~20 ms on
a 2,000-line module; a function's parse and checks cost well under a millisecond to a few).

The splice is taken only when it cannot change anything outside the function: the edit lies inside the
function's body, the new text parses to one function of the same name, decorators and arguments, it imports
nothing (imports anywhere feed the module's import table), and it binds the same keys and handlers (the
module's facts). Anything else, a change of the configuration or of the project's facts included, runs
the whole analysis. ``tests/lsp/test_incremental.py`` compares the two on every line of real modules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from . import Analysis, Checker, analyze, selected
from .facts import FileFacts, ProjectFacts
from .findings import Finding, Range
from .settings import Config

__all__ = ["DocumentAnalysis"]


@dataclass
class _Snapshot:
    key: tuple
    lines: list[str]
    checker: Checker
    raw: list[Finding]
    facts: FileFacts
    spans: list[tuple[int, int]]
    """0-based first and last line of each top-level statement in the current text (decorators included)."""
    selection: dict = field(default_factory=dict)
    """``analysis.selected``'s verdicts by finding: a splice leaves the lines around the findings it keeps as
    they were (an edit of the lines between functions is a whole analysis)."""


class DocumentAnalysis:
    def __init__(self) -> None:
        self._last: _Snapshot | None = None
        self.spliced = 0
        """How many analyses were splices (for tests and benchmarks)."""

    def analyze(self, source: str, path: str, config: Config, project: ProjectFacts | None) -> Analysis:
        key = (path, config, id(project), project.generation if project is not None else None)
        snapshot = self._last
        if snapshot is not None and snapshot.key == key:
            try:
                result = self._splice(snapshot, source, config)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                result = None
            if result is not None:
                self.spliced += 1
                return result
        result = analyze(source, path, config, project)
        if result.checker is None or result.syntax_error is not None:
            self._last = None
            return result
        tree = result.checker.tree
        self._last = _Snapshot(key, source.splitlines(), result.checker, result.raw, result.facts, [_span(s) for s in tree.body])
        return result

    def _splice(self, snap: _Snapshot, source: str, config: Config) -> Analysis | None:
        old, new = snap.lines, source.splitlines()
        prefix = 0
        limit = min(len(old), len(new))
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        if prefix == len(old) == len(new):
            return Analysis(selected(snap.raw, new, config, snap.selection), snap.facts, checker=snap.checker, raw=snap.raw)
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        old_last = len(old) - suffix - 1  # last changed line of the old text (prefix - 1 for a pure insertion)
        delta = len(new) - len(old)
        index = _statement_at(snap.spans, prefix)
        if index is None:
            return None
        statement = snap.checker.tree.body[index]
        first, last = snap.spans[index]
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) or old_last > last:
            return None
        body_start = first + (statement.body[0].lineno - _first_line(statement))  # 0-based, current text
        if prefix < body_start or (old_last < prefix and prefix > last):
            return None
        text = "\n".join(new[first : last + delta + 1])
        parsed = ast.parse(text)
        if len(parsed.body) != 1:
            return None
        node = parsed.body[0]
        if (
            type(node) is not type(statement)
            or node.name != statement.name
            or ast.dump(node.args) != ast.dump(statement.args)
            or [ast.dump(d) for d in node.decorator_list] != [ast.dump(d) for d in statement.decorator_list]
        ):
            return None
        ast.increment_lineno(node, first - (_first_line(node) - 1))
        checker = snap.checker
        functions: list = []
        calls: list = []
        defs: list = []
        if checker.collect(node, functions, calls, defs):
            return None  # an import: the module's import table may change
        old_parts = _parts(checker, statement)
        if old_parts is None or _contribution(checker, [*old_parts[2], *old_parts[1]]) != _contribution(checker, [*defs, *calls]):
            return None
        if _changes_helpers(checker, statement, node):
            return None
        # Commit: the module reader now holds the new function; findings elsewhere move with the lines. Its
        # per-function caches are keyed by id(): the old functions' entries go (a new node may reuse an id).
        for fn in old_parts[0]:
            checker._bodies.pop(id(fn), None)
            checker._body_nodes.pop(id(fn), None)
        for fn in functions:
            checker._body_nodes.pop(id(fn), None)
        body = checker.tree.body
        body[index] = node
        checker.lines = new
        for name in ("all_functions", "all_calls", "all_defs_and_assigns"):
            kept = [n for n in getattr(checker, name) if not _inside(n, old_parts[3])]
            setattr(checker, name, kept + {"all_functions": functions, "all_calls": calls, "all_defs_and_assigns": defs}[name])
        if statement.name in checker.functions:
            checker.functions[statement.name] = checker._classify(node)
        checker._do_names = None
        checker._last_import_line = None
        new_last = last + delta
        raw = [_shifted(f, delta, last) for f in snap.raw if not first <= f.range.start_line <= last]
        checker.findings = []
        checker.check_functions(functions)
        checker._check_module_level(functions=functions, statements=[], calls=calls)
        checker._flag_comments(first, new_last)
        raw += checker.findings
        checker.findings = []
        snap.lines, snap.raw = new, raw
        snap.spans = [s if i < index else ((first, new_last) if i == index else (s[0] + delta, s[1] + delta)) for i, s in enumerate(snap.spans)]
        if index + 1 < len(snap.spans):
            # The next statement's findings read the comment lines above them, which may now end inside the
            # edited function (its last line turned into a comment): their verdicts are made again.
            below = snap.spans[index + 1][1]
            snap.selection = {k: v for k, v in snap.selection.items() if not new_last < v[0].range.start_line <= below}
        return Analysis(selected(raw, new, config, snap.selection), snap.facts, checker=checker, raw=raw)


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", [])
    return min([d.lineno for d in decorators] + [statement.lineno])


def _span(statement: ast.stmt) -> tuple[int, int]:
    return _first_line(statement) - 1, (statement.end_lineno or statement.lineno) - 1


def _statement_at(spans: list[tuple[int, int]], line: int) -> int | None:
    for index, (first, last) in enumerate(spans):
        if first <= line <= last:
            return index
        if first > line:
            return None
    return None


def _parts(checker: Checker, statement: ast.AST):
    """The functions, calls and definitions the module reader holds for ``statement``'s subtree, and its ids."""
    ids = {id(n) for n in ast.walk(statement)}
    return (
        [n for n in checker.all_functions if id(n) in ids],
        [n for n in checker.all_calls if id(n) in ids],
        [n for n in checker.all_defs_and_assigns if id(n) in ids],
        ids,
    )


def _inside(node: ast.AST, ids: set[int]) -> bool:
    return id(node) in ids


def _contribution(checker: Checker, nodes: list) -> tuple:
    """The keys and handlers ``nodes`` give the module's facts (line numbers aside)."""
    saved = checker.facts
    checker.facts = FileFacts()
    try:
        checker._collect_bindings(nodes)
        handlers = sorted((h.name, h.effects, h.is_stub) for h in checker.facts.handler_list)
        return (frozenset(checker.facts.bound_keys), tuple(handlers))
    finally:
        checker.facts = saved


def _changes_helpers(checker: Checker, old: ast.AST, new: ast.AST) -> bool:
    """A plain module function's side effects and same-module calls decide DM311 in other functions."""
    info = checker.functions.get(getattr(old, "name", ""))
    if info is None or info.kind != "plain":
        return False

    def summary(fn) -> tuple:
        hits, callees = set(), set()
        for node in ast.walk(fn):
            if isinstance(node, (ast.Call, ast.Attribute, ast.Name)):
                hit = checker._side_effect_of(node)
                if hit is not None:
                    hits.add(hit[0])
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in checker.functions:
                callees.add(node.func.id)
        return bool(hits), frozenset(callees)

    return summary(old) != summary(new)


def _shifted(finding: Finding, delta: int, last: int) -> Finding:
    """``finding`` with what lies below line ``last`` (its range, its lines, its fix's edits) moved by ``delta``."""
    if not delta:
        return finding

    def move(r: Range) -> Range:
        return Range(r.start_line + delta, r.start_col, r.end_line + delta, r.end_col) if r.start_line > last else r

    moved = replace(finding, range=move(finding.range))
    if finding.migrate_lines is not None and finding.migrate_lines[0] - 1 > last:
        moved = replace(moved, migrate_lines=(finding.migrate_lines[0] + delta, finding.migrate_lines[1] + delta))
    if finding.fix is not None:
        moved = replace(moved, fix=replace(finding.fix, edits=tuple(replace(e, range=move(e.range)) for e in finding.fix.edits)))
    return moved

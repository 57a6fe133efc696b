"""Runs one transform over a module visiting only the top-level statements it can change or flag.

A transform's pass is LibCST's ``module.visit(transformer)``: ``visit_Module``, every statement, ``leave_Module``.
Most statements of a file are nothing a given family reacts to, and a full LibCST traversal of each of them
per family is most of the codemod's time. Here the pass is the same ``visit_Module`` / ``leave_Module`` with
the body visited statement by statement, as LibCST's ``visit_body_iterable`` does (removals, flattening and
the dropping of emptied statements alike), except that a statement that shows none of the words the
transformer names (:meth:`MigrationTransformer.statement_words`, asked after ``visit_Module``) is kept as it
is, unvisited.

The words are identifiers, a necessary condition like a transform's pre-filter: a statement that could be
changed or flagged always has one of them as a ``Name`` node. A statement of the parsed source is judged by
its lines (a word in a comment or a string counts too); one an earlier pass built, by the ``Name`` nodes in
it (a plain walk, much cheaper than a visit). So that one pass's untouched statements are still known to
the next, a visited statement in which no ``on_leave`` replaced anything is kept as the very object it was
(its rebuilt copy is equal to it); the engine's code generation reuses the source text of such statements
(:attr:`StatementWords.texts`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable

import libcst as cst
from libcst._nodes.internal import visit_sequence

from .cst_walk import names_in
from .indexing.word_lines import LONE_CR

_NEWLINE = re.compile("\n")
_WORD = re.compile(r"\w+")

__all__ = ["StatementWords", "visit_pass"]


class StatementWords:
    """The words each top-level statement shows, by the statement's identity.

    A statement of the parsed source shows the words of its source lines, which run from the line after the
    previous statement's last line to the line before the next statement's first line (its decorators
    included): comments on either side count as its own, which can only make it visited more often. They are
    known when Python's parser splits the module the same way (``ast`` statements matched to LibCST's: one per
    small statement of a line, one per compound statement); otherwise, and for a statement a pass built, the
    identifiers of its ``Name`` nodes are its words (read once, kept while the statement is not replaced).

    ``texts`` holds the source text of the statements whose text LibCST's code generation would give back
    exactly, found from the same lines: a statement other than the first whose neighbours are separated
    from it by blank and comment lines only. After a simple statement they are the next one's
    (``leading_lines``); after a compound one, an indented comment and the lines above it are the block's
    ``footer``, so only empty lines and comments at the margin are allowed there.
    """

    def __init__(self, module: cst.Module, source: str, tree: ast.Module | None) -> None:
        self.words: dict[int, tuple[cst.CSTNode, set[str]]] = {}
        self.texts: dict[int, tuple[cst.CSTNode, str]] = {}
        if tree is None or LONE_CR.search(source):
            return
        groups: list[tuple[int, int]] = []
        at = 0
        statements = tree.body
        for stmt in module.body:
            count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
            group = statements[at:at + count]
            if len(group) != count:
                return
            at += count
            first = min([group[0].lineno, *(d.lineno for d in getattr(group[0], "decorator_list", ()))])
            groups.append((first, max(s.end_lineno or s.lineno for s in group)))
        if at != len(statements):
            return
        starts = [0, *(m.end() for m in _NEWLINE.finditer(source)), len(source)]
        for i, stmt in enumerate(module.body):
            low = groups[i - 1][1] + 1 if i else 1
            high = max(groups[i + 1][0] - 1 if i + 1 < len(groups) else len(starts) - 1, groups[i][1])
            self.words[id(stmt)] = (stmt, set(_WORD.findall(source, starts[low - 1], starts[min(high, len(starts) - 1)])))
        if not module.has_trailing_newline or not source.endswith("\n"):
            return
        lines = len(starts) - 2  # (the text ends with a newline: the last start is the text's end)
        simple = [isinstance(stmt, cst.SimpleStatementLine) for stmt in module.body]

        def separated(first: int, last: int, after_simple: bool) -> bool:
            """Lines ``first``..``last`` (1-based) are blank or comments only; after a compound statement, empty or
            comments at the margin only (an indented comment, and the lines before it, are the block's footer)."""
            texts = (source[starts[n - 1]:starts[n]] for n in range(first, last + 1))
            if after_simple:
                return all(not text.strip() or text.lstrip().startswith("#") for text in texts)
            return all(text in ("\n", "\r\n") or text.startswith("#") for text in texts)

        for i in range(1, len(groups)):
            end = groups[i][1]
            next_first = groups[i + 1][0] if i + 1 < len(groups) else lines + 1
            if separated(groups[i - 1][1] + 1, groups[i][0] - 1, simple[i - 1]) and separated(end + 1, next_first - 1, simple[i]):
                stmt = module.body[i]
                self.texts[id(stmt)] = (stmt, source[starts[groups[i - 1][1]]:starts[end]])

    def showing(self, words: Iterable[str]) -> Callable[[cst.CSTNode], bool]:
        """Whether a statement may show one of ``words``."""
        words = set(words)
        return lambda stmt: not words.isdisjoint(self.words_of(stmt))

    def words_of(self, stmt: cst.CSTNode) -> set[str]:
        known = self.words.get(id(stmt))
        if known is None or known[0] is not stmt:
            known = self.words[id(stmt)] = (stmt, names_in(stmt))
        return known[1]


def visit_pass(module: cst.Module, transformer: cst.CSTTransformer, shown: StatementWords | None) -> cst.Module:
    """``module.visit(transformer)``, with the body's statements the transformer has no words for left unvisited.

    ``shown`` ``None``: every statement is visited (still statement by statement, keeping unchanged ones)."""
    replaced = [0]
    leave = transformer.on_leave

    def counting_leave(original_node, updated_node):
        result = leave(original_node, updated_node)
        if result is not updated_node:
            replaced[0] += 1
        return result

    transformer.on_leave = counting_leave  # type: ignore[method-assign]
    try:
        if transformer.on_visit(module):
            words = getattr(transformer, "statement_words", lambda: None)()
            wanted = shown.showing(words) if shown is not None and words is not None else None
            updated = module.with_changes(
                header=visit_sequence(module, "header", module.header, transformer),
                body=tuple(_visit_body(module, transformer, wanted, replaced)),
                footer=visit_sequence(module, "footer", module.footer, transformer),
            )
        else:
            updated = module
        result = transformer.on_leave(module, updated)
    finally:
        del transformer.on_leave
    if isinstance(result, cst.RemovalSentinel):
        return module.with_changes(body=(), header=(), footer=())
    if not isinstance(result, cst.Module):
        raise cst.CSTValidationError(f"Expected a Module from leave_Module, but got {type(result).__name__}")
    return result


def _visit_body(module, transformer, wanted, replaced):
    """LibCST's ``visit_body_iterable`` over ``module.body``, skipping what ``wanted`` refuses."""
    transformer.on_visit_attribute(module, "body")
    for child in module.body:
        if wanted is not None and not wanted(child):
            yield child
            continue
        before = replaced[0]
        new_child = child.visit(transformer)
        if isinstance(new_child, cst.RemovalSentinel):
            continue
        if isinstance(new_child, cst.FlattenSentinel):
            for flattened in new_child:
                if not child._is_removable() and flattened._is_removable():
                    continue
                yield flattened
            continue
        if not child._is_removable() and new_child._is_removable():
            continue
        # Nothing in it was replaced: the rebuilt statement equals the original, which stays known by identity.
        yield child if replaced[0] == before else new_child
    transformer.on_leave_attribute(module, "body")

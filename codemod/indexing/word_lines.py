"""Where names occur in a source's text, by line: lets the collector skip statements that cannot matter."""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable

from .. import pinjected_names as pn

_NEWLINE = re.compile("\n")
LONE_CR = re.compile("\r(?!\n)")
"""A line end ``ast`` counts (a carriage return alone) that :func:`word_lines` does not: its line numbers differ there."""


def word_lines(source: str, words: Iterable[str]) -> list[int]:
    """Sorted 1-based numbers of the lines of ``source`` where one of ``words`` occurs as a word."""
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")
    line_starts = [0, *(m.end() for m in _NEWLINE.finditer(source))]
    return sorted({bisect.bisect_right(line_starts, m.start()) for m in pattern.finditer(source)})


def clean_definitions(source: str, tree: ast.Module, names: pn.PinjectedNames) -> tuple[frozenset[str], frozenset[str]]:
    """``(functions, classes)``: names whose every definition in ``source`` never mentions a local pinjected
    name (or module alias) inside its body (a function) or anywhere (a class): nothing in them can build
    an IProxy. Matched by name, so a name defined twice is clean only if both definitions are."""
    return definitions(source, tree, names)[0]


def definitions(
    source: str, tree: ast.Module, names: pn.PinjectedNames,
) -> tuple[tuple[frozenset[str], frozenset[str]], frozenset[str] | None]:
    """:func:`clean_definitions`, and the names of the functions some definition of which does mention one
    (``None``: not known, every function may)."""
    words = set(names.names) | {m.split(".")[0] for m in names.modules}
    if not words or LONE_CR.search(source):
        return (frozenset(), frozenset()), None
    lines = word_lines(source, words)

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
    clean = (
        frozenset(name for name, clean in functions.items() if clean),
        frozenset(name for name, clean in classes.items() if clean),
    )
    return clean, frozenset(name for name, clean in functions.items() if not clean)

"""Parsing a module for the codemod: Python's own parser first (clear errors, no crash on deep nesting), then LibCST."""

from __future__ import annotations

import ast

import libcst as cst

from .errors import MigrationError
from .comments import FLAG_PREFIX

__all__ = ["TOO_NESTED", "parse_guarded", "flags_to_first_statement"]

TOO_NESTED = "too deeply nested to parse (Python's own parser gives up on it): left unchanged"


def parse_guarded(source: str, path: str = "<string>", python_parsed: bool = False) -> cst.Module:
    """``source`` parsed by LibCST, or :class:`MigrationError` naming why not; never a crash.

    Python's own parser reads the text first: it words syntax errors the way users know them, and it
    refuses what is nested too deeply (``too many nested parentheses``, a ``RecursionError`` on a
    5,000-term chained expression) with an error, where LibCST's native parser overflows the C stack
    and kills the process (a segfault takes the whole run, or the worker pool, with it).
    ``python_parsed``: Python's parser accepted this very text already (the project index read it), so it
    is not asked again.
    """
    try:
        if not python_parsed:
            compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as py_exc:
        if "too many nested" in (py_exc.msg or ""):
            raise MigrationError(f"{TOO_NESTED} (line {py_exc.lineno}: {py_exc.msg})", py_exc.lineno) from None
        raise MigrationError(f"syntax error at line {py_exc.lineno}: {py_exc.msg}", py_exc.lineno) from None
    except (RecursionError, MemoryError):
        raise MigrationError(TOO_NESTED) from None
    except ValueError as exc:  # e.g. a NUL byte
        raise MigrationError(f"the file could not be parsed: {exc}") from None
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise MigrationError(f"syntax error at line {exc.editor_line}: {exc.message}", exc.editor_line) from None
    except cst.CSTValidationError as exc:
        # LibCST's tokenizer disagreeing with Python's (e.g. a character of a newer Unicode in a name).
        raise MigrationError(f"the file could not be parsed by LibCST: {exc}") from None
    except RecursionError:
        raise MigrationError(TOO_NESTED) from None


def flags_to_first_statement(module: cst.Module) -> cst.Module:
    """Flag comments right above the first statement belong to it, but LibCST parses them into
    ``Module.header``: moved to the statement's ``leading_lines`` (the same code), so that transforms
    see them there like on any other statement (``FileState.flag`` writes a flag once, earlier flags
    stay authoritative)."""
    if not module.body or not module.header:
        return module
    header = list(module.header)
    moved: list[cst.EmptyLine] = []
    while header and header[-1].comment is not None and header[-1].comment.value.startswith(FLAG_PREFIX):
        moved.insert(0, header.pop())
    if not moved:
        return module
    first = module.body[0]
    return module.with_changes(header=header, body=[first.with_changes(leading_lines=[*moved, *first.leading_lines]), *module.body[1:]])

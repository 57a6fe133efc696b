"""What ``doeff-migrate verify`` leaves behind, and which module-level entry points a file defines.

The record is ``<project root>/.doeff-migrate/verified.json`` (the folder carries a ``.gitignore``
of ``*``, so it never dirties the working tree): per entry point its last verdict, the commit the
working tree was at (and whether it had uncommitted changes), the base commit it was compared with
and when. ``doeff-migrate status`` and the language server read it; only ``verify`` writes it.

Entry points are found by parsing, never by importing: module-level ``x: IProxy[...] = ...`` and
the project index's other pinjected entry points, ``x: Program[...] = ...``, and the keys of a
migrated module's ``__doeff_requires__``.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path

RECORD_DIR = ".doeff-migrate"
RECORD_FILE = "verified.json"
_ENTRY_ANNOTATIONS = {"IProxy", "Program", "Injected"}


@dataclass(frozen=True)
class EntryPoint:
    name: str
    line: int  # 1-based


def record_path(root: Path) -> Path:
    return Path(root) / RECORD_DIR / RECORD_FILE


def find_record(start: Path) -> Path | None:
    """The nearest ``.doeff-migrate/verified.json`` in ``start`` or a folder above it."""
    folder = Path(start).resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in [folder, *folder.parents]:
        path = record_path(candidate)
        if path.is_file():
            return path
    return None


def read_record(path: Path) -> dict[str, dict]:
    """Entry point -> its last verdict entry; an unreadable record reads as empty."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("entry_points") if isinstance(data, dict) else None
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def write_record(root: Path, entries: dict[str, dict]) -> Path:
    """Merge ``entries`` into the record under ``root`` (atomically) and return its path."""
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by doeff-migrate verify\n*\n", encoding="utf-8")
    merged = {**read_record(path), **entries}
    temp = path.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps({"version": 1, "entry_points": dict(sorted(merged.items()))}, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def _annotation_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split("[")[0].rsplit(".", 1)[-1]
    return None


def entry_points_in_source(source: str, extra_names: frozenset[str] = frozenset()) -> list[EntryPoint]:
    """Module-level entry points of one file (``extra_names``: more the index found), by line."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: dict[str, int] = {}
    for stmt in _module_level(tree.body):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            if _annotation_name(stmt.annotation) in _ENTRY_ANNOTATIONS or stmt.target.id in extra_names:
                found.setdefault(stmt.target.id, stmt.lineno)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if "__doeff_requires__" in names and isinstance(stmt.value, ast.Dict):
                for key in stmt.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        found.setdefault(key.value, 0)
            for name in names:
                if name in extra_names:
                    found.setdefault(name, stmt.lineno)
    lines = _definition_lines(tree)
    return sorted((EntryPoint(n, line or lines.get(n, 1)) for n, line in found.items()), key=lambda e: (e.line, e.name))


def _module_level(body: list[ast.stmt]):
    """Statements run at import time, inside ``with``/``if``/``try`` blocks too (``with design(...):``)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.With, ast.If, ast.Try)):
            for part in (stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])):
                yield from _module_level(part)
            for handler in getattr(stmt, "handlers", []):
                yield from _module_level(handler.body)


def _definition_lines(tree: ast.Module) -> dict[str, int]:
    lines: dict[str, int] = {}
    for stmt in _module_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            lines.setdefault(stmt.name, (stmt.decorator_list[0].lineno if stmt.decorator_list else stmt.lineno))
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    lines.setdefault(t.id, stmt.lineno)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            lines.setdefault(stmt.target.id, stmt.lineno)
    return lines


def discover(root: Path, excludes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Dotted paths of the module-level entry points under ``root`` (parsed, never imported)."""
    from .discovery import iter_python_files
    from .index import ProjectIndex, module_name_for

    files = list(iter_python_files([Path(root)], list(excludes)))
    index = ProjectIndex.build([Path(root)])
    targets: list[str] = []
    for file in files:
        try:
            source = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        facts = index.facts_for(str(file))
        extra = frozenset(facts.entry_points) if facts is not None else frozenset()
        module = module_name_for(file)
        targets += [f"{module}.{e.name}" for e in entry_points_in_source(source, extra)]
    return sorted(dict.fromkeys(targets))


__all__ = ["EntryPoint", "entry_points_in_source", "discover", "find_record", "read_record", "write_record", "record_path"]

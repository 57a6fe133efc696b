"""LibCST's ``AddImportsVisitor`` edit for ``from M import name [as alias]`` requests, made directly.

The visitor reads the import block at the top of the module (after a docstring or ``__strict__`` flag),
merges what it lacks into the first ``from M import ...`` of that block for the same module, and adds
``from M import ...`` statements after the block, giving the statement after them a blank line. Run as a
codemod it first copies the tree and walks it twice with matchers, which was most of the import edits'
time on real packages; the edit here follows the same steps over the block alone and gives the same
code (``tests/codemod/test_import_adder.py`` compares the two). Requests it does not cover (``import M``,
``__future__``, relative ones) are left to the visitor: :func:`add_from_imports` returns ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_absolute_module_from_package_for_import

__all__ = ["add_from_imports"]


def add_from_imports(module: cst.Module, requests: Sequence, package: str | None) -> cst.Module | None:
    """``module`` with the import requests (LibCST's ``ImportItem``s, without repeats) added as LibCST's
    visitor adds them (``package``: the context's ``full_package_name``), or ``None`` when a request is not
    a plain ``from M import name [as alias]`` (or the visitor would fail on them)."""
    if any(item.obj_name is None or item.relative or item.module_name == "__future__" for item in requests):
        return None
    body = list(module.body)
    start = 1 if _docstring_or_strict_first(body) else 0
    top: list[int] = []  # indexes of the one-import statements of the block at the top
    for i in range(start, len(body)):
        if _one_import(body[i]) is None:
            break
        top.append(i)
    have_objects, have_aliases = _gathered(body, top, package)
    # What is still missing (the visitor's ``module_mapping`` and ``alias_mapping``, in its order).
    objects = {
        name: {item.obj_name for item in requests if item.module_name == name and item.alias is None}
        for name in sorted({item.module_name for item in requests if item.alias is None})
    }
    aliases = {
        name: [(item.obj_name, item.alias) for item in requests if item.module_name == name and item.alias is not None]
        for name in sorted({item.module_name for item in requests if item.alias is not None})
    }
    for name, pairs in have_aliases.items():
        for pair in pairs:
            if name in aliases and pair in aliases[name]:
                aliases[name].remove(pair)
                if not aliases[name]:
                    del aliases[name]
    for name, names in have_objects.items():
        if name not in objects:
            continue
        if "*" in names:
            del objects[name]
        else:
            objects[name] = objects[name] - names
            if not objects[name]:
                del objects[name]
    # Merged into the first ``from M import ...`` of the block for the same module.
    for i in top:
        small = body[i].body[0]
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            continue
        name = get_absolute_module_from_package_for_import(package, small)
        if name is None or (name not in objects and name not in aliases):
            continue
        merged = small.with_changes(
            names=[
                *(cst.ImportAlias(name=cst.Name(obj)) for obj in sorted(objects.pop(name, ()))),
                *(cst.ImportAlias(name=cst.Name(obj), asname=cst.AsName(name=cst.Name(alias))) for obj, alias in sorted(aliases.pop(name, ()))),
                *small.names,
            ]
        )
        body[i] = body[i].with_changes(body=[merged])
    if not objects and not aliases:
        return module.with_changes(body=body)
    by_module: dict[str, list] = defaultdict(list)
    for name, pairs in aliases.items():
        by_module[name].extend(pairs)
    for name, names in objects.items():
        by_module[name].extend((obj, None) for obj in names)
    try:
        ordered = {name: sorted(pairs) for name, pairs in by_module.items()}
    except TypeError:  # one name asked for with and without an alias: the visitor's own failure, left to it
        return None
    config = module.config_for_parsing
    added = [
        cst.parse_statement(
            f"from {name} import " + ", ".join(obj if alias is None else f"{obj} as {alias}" for obj, alias in pairs),
            config=config,
        )
        for name, pairs in ordered.items()
    ]
    end = top[-1] + 1 if top else start
    return module.with_changes(body=[*body[:end], *added, *_with_blank_line_above(body[end:])])


def _one_import(stmt: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    if type(stmt) is cst.SimpleStatementLine and len(stmt.body) == 1 and type(stmt.body[0]) in (cst.Import, cst.ImportFrom):
        return stmt.body[0]
    return None


def _docstring_or_strict_first(body: list[cst.BaseStatement]) -> bool:
    """The module starts with a docstring (a plain string literal) or ``__strict__ = ...``: imports go after it."""
    first = body[0] if body else None
    if type(first) is not cst.SimpleStatementLine or len(first.body) != 1:
        return False
    small = first.body[0]
    if type(small) is cst.Assign:
        return len(small.targets) == 1 and type(small.targets[0].target) is cst.Name and small.targets[0].target.value == "__strict__"
    return type(small) is cst.Expr and type(small.value) is cst.SimpleString


def _gathered(body: list[cst.BaseStatement], top: list[int], package: str | None) -> tuple[dict[str, set[str]], dict[str, list]]:
    """The names the block's ``from`` imports bind, per module: unaliased, and ``(name, alias)`` pairs."""
    objects: dict[str, set[str]] = {}
    aliases: dict[str, list] = {}
    for i in top:
        small = body[i].body[0]
        if not isinstance(small, cst.ImportFrom):
            continue
        name = get_absolute_module_from_package_for_import(package, small)
        if name is None:
            continue
        if isinstance(small.names, cst.ImportStar):
            objects[name] = {"*"}
            continue
        pairs = [(alias.evaluated_name, alias.evaluated_alias) for alias in small.names if alias.asname is not None]
        if pairs:
            aliases.setdefault(name, []).extend(pairs)
        plain = {alias.evaluated_name for alias in small.names if alias.asname is None}
        if plain:
            objects.setdefault(name, set())
            if "*" in objects[name]:
                objects[name] = {"*"}
                continue
            objects[name].update(plain)
    return objects, aliases


def _with_blank_line_above(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The statements after the added imports, the first with a blank line above it (unless it has one)."""
    if not statements:
        return statements
    first = statements[0]
    if not first.leading_lines:
        return [first.with_changes(leading_lines=(cst.EmptyLine(),)), *statements[1:]]
    if first.leading_lines[0].comment is None:
        return statements
    return [first.with_changes(leading_lines=(cst.EmptyLine(), *first.leading_lines)), *statements[1:]]

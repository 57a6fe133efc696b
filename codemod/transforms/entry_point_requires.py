"""``__doeff_requires__``: per migrated entry point and ``@instance``, the keys it can ``Ask`` for.

Transitive, dependencies first (``index.requires``); the runner reads it for its pre-flight check and eager
build. Written at the end of a file by ``EntryPoints.leave_Module`` (entry_points.py), merged into the one a
previous run wrote.
"""

from __future__ import annotations

import json

import libcst as cst


def with_requires_written(tree: cst.Module, state, entries: list[str]) -> cst.Module:
    """``tree`` with the ``__doeff_requires__`` entries of ``entries`` (names of this module) written or merged."""
    if not entries:
        return tree
    elements = []
    for entry in entries:
        keys = state.index.requires(state.module, entry)
        if not keys:  # unknown, or nothing to check: the runner resolves lazily
            continue
        items = [cst.Element(cst.SimpleString(json.dumps(k))) for k in keys]
        value = cst.Tuple(items) if len(items) != 1 else cst.Tuple(items, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        elements.append(cst.DictElement(cst.SimpleString(json.dumps(entry)), value))
    if not elements:
        return tree
    body = list(tree.body)
    for i, stmt in enumerate(body):
        existing = _requires_dict(stmt)
        if existing is not None:
            # A second run (a file left partly unmigrated) merges instead of appending again.
            new_by_key = {e.key.evaluated_value: e for e in elements}  # type: ignore[union-attr]
            merged_elements = []
            for e in existing.elements:
                key = e.key.evaluated_value if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString) else None
                merged_elements.append(new_by_key.pop(key, e) if key is not None else e)
            merged = existing.with_changes(elements=[*merged_elements, *new_by_key.values()])
            if merged.deep_equals(existing):
                return tree
            assign = stmt.body[0]  # type: ignore[union-attr]
            body[i] = stmt.with_changes(body=[assign.with_changes(value=merged)])  # type: ignore[union-attr]
            return tree.with_changes(body=body)
    requires = cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name("__doeff_requires__"))], cst.Dict(elements))],
        leading_lines=[cst.EmptyLine()],
    )
    return tree.with_changes(body=[*body, requires])


def _requires_dict(stmt: cst.CSTNode) -> cst.Dict | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if (
            len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == "__doeff_requires__"
            and isinstance(assign.value, cst.Dict)
        ):
            return assign.value
    return None

"""Fast reads of a LibCST subtree that need no visitor: the names in it.

A ``CSTVisitor`` calls four hooks per node and rebuilds nothing, yet costs about six times a plain walk over
the nodes' dataclass fields; collecting the ``Name`` nodes of function bodies that way was a tenth of a
migration. The walk reaches the same nodes a visitor does: every child is held in a field, alone or in a
sequence.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

__all__ = ["name_counts", "names_in"]

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


def name_counts(node: cst.CSTNode) -> dict[str, int]:
    """How often each identifier occurs as a ``Name`` node in ``node`` (``node`` itself included)."""
    counts: dict[str, int] = {}
    stack: list[cst.CSTNode] = [node]
    pop, push = stack.pop, stack.append
    name_type, node_type = cst.Name, cst.CSTNode
    while stack:
        current = pop()
        if type(current) is name_type:
            counts[current.value] = counts.get(current.value, 0) + 1
        for field in _fields(type(current)):
            value = getattr(current, field)
            if isinstance(value, node_type):
                push(value)
            elif type(value) in (list, tuple):
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
    return counts


def names_in(node: cst.CSTNode) -> set[str]:
    """The identifiers of the ``Name`` nodes in ``node``."""
    return set(name_counts(node))

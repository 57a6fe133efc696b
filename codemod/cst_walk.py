"""Fast reads of a LibCST subtree that need no visitor: the names in it.

A ``CSTVisitor`` calls four hooks per node and rebuilds nothing, yet costs about six times a plain walk over
the nodes' dataclass fields; collecting the ``Name`` nodes of function bodies that way was a tenth of a
migration. The walk reaches the same nodes a visitor does: every child is held in a field, alone or in a
sequence.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

__all__ = ["child_fields", "name_counts", "names_in", "names_outside", "nodes"]

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


# Fields that hold only layout (whitespace, brackets, commas, operators): no name, call or statement below them.
_LAYOUT_FIELDS = frozenset({
    "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "dot", "equal", "colon", "semicolon",
    "operator", "leading_lines", "lines_after_decorators", "header", "footer", "asynchronous", "trailing_whitespace",
})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a LibCST node class that a visitor descends into, in the order it does (source order,
    which is not always the fields' order: ``IfExp`` visits ``body`` before ``test``), less layout fields.

    The order is that of the field names in the class's ``_visit_and_replace_children``, which visits each
    child field by name (``visit_required(self, "body", self.body, visitor)``); ``tests/codemod/test_body_scan_walk.py``
    checks it against a visitor's order."""
    found = _CHILD_FIELDS.get(cls)
    if found is None:
        names = set(_fields(cls))
        method = getattr(cls, "_visit_and_replace_children", None)
        consts = method.__code__.co_consts if method is not None else ()
        found = _CHILD_FIELDS[cls] = tuple(
            dict.fromkeys(c for c in consts if type(c) is str and c in names and c not in _LAYOUT_FIELDS and not c.startswith("whitespace"))
        )
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
        for field in child_fields(type(current)):  # (no name is held below a layout field)
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


def names_outside(node: cst.CSTNode, field: str) -> set[str]:
    """The identifiers of the ``Name`` nodes in ``node`` but not in its field ``field`` (``node`` itself is no
    ``Name``): with the names of that field counted already, ``names_in(node)`` without walking it again."""
    found: set[str] = set()
    for name in child_fields(type(node)):
        if name == field:
            continue
        value = getattr(node, name)
        for item in value if type(value) in (list, tuple) else (value,):
            if isinstance(item, cst.CSTNode):
                found.update(name_counts(item))
    return found


def nodes(node: cst.CSTNode, skip: tuple[type, ...] = (), only: dict[type, tuple[str, ...]] | None = None) -> list[cst.CSTNode]:
    """Every node in ``node`` (itself included), without the subtrees below nodes of the types ``skip`` (which
    are included); below a node whose type is in ``only``, just the subtrees of the fields it names (a visitor
    returning ``False`` after visiting those itself). Not in a visitor's order: for readers that collect sets or
    ask whether any node matches."""
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [node]
    pop, push, keep = stack.pop, stack.append, found.append
    node_type = cst.CSTNode
    while stack:
        current = pop()
        keep(current)
        if skip and isinstance(current, skip):
            continue
        fields = only.get(type(current)) if only else None
        for field in fields if fields is not None else _fields(type(current)):
            value = getattr(current, field)
            if isinstance(value, node_type):
                push(value)
            elif type(value) in (list, tuple):
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
    return found

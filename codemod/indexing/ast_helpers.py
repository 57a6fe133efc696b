"""Small ``ast`` readings the collector's parts share: a breadth-first walk, literals, asked keys, ``injected(C)``."""

from __future__ import annotations

import ast
from collections import deque

from .. import pinjected_names as pn

def walk_breadth_first(nodes: list[ast.stmt]):
    """``ast.walk`` (breadth-first) from several roots."""
    todo = deque(nodes)
    while todo:
        node = todo.popleft()
        todo.extend(ast.iter_child_nodes(node))
        yield node


def is_literal(node: ast.expr) -> bool:
    """A constant, an f-string, or a tuple/list/set/dict of those."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and is_literal(k) and is_literal(v) for k, v in zip(node.keys, node.values))
    return False


def asked_key(stmt: ast.stmt) -> str | None:
    """``x = yield Ask("key")`` (or ``AskFunction`` / ``AskAsyncFunction``) -> ``"key"``."""
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Yield):
        call = stmt.value.value
        if (
            isinstance(call, ast.Call)
            and (pn.dotted_ast(call.func) or "").rpartition(".")[2] in ("Ask", "AskFunction", "AskAsyncFunction")
            and len(call.args) == 1
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            return call.args[0].value
    return None


def constructed_class(node: ast.AST, canonical, called: bool = False) -> str | None:
    """``C`` of ``injected(C)`` (a class, not a key string) or of its migrated ``class_constructor(C)``
    (``injected_function(C)`` when ``called``: the constructor called right away)."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name)):
        return None
    migrated = "injected_function" if called else "class_constructor"
    if canonical(node.func) == pn.INJECTED or pn.dotted_ast(node.func) == migrated:
        return node.args[0].id
    return None

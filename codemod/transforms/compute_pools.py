"""The thread pools of a ``@do`` function that can give way to the runtime's spawns, and why others stay.

Only ``with ThreadPoolExecutor() as ex:`` blocks qualify: a pool with constructor arguments (a worker limit, an
initializer: DM211), a block that branches, or tasks used after the block (whose end joins them: DM212) keep
the pool.
"""

from __future__ import annotations

import libcst as cst

from ..rules.phases import POOL_TASKS_USED_AFTER_BLOCK, THREAD_POOL_WITH_OPTIONS
from .compute_tasks import assign_counts
from .effectful_code import name_counts, target_names

def thread_pools(func: cst.FunctionDef, rewriter) -> tuple[dict[str, int], dict[int, tuple[str, str]]]:
    """``with ThreadPoolExecutor() as ex`` in ``func``'s own scope: ``ex`` -> id of the constructor call, and the
    pools left as they are: id of the constructor -> the flag saying why.

    Only pools bound once (by that ``with``) count; the ids let the constructor go unflagged. A pool is
    rewritten only when nothing the runtime's spawns lack is asked of it: no constructor arguments
    (``max_workers=1`` serialises, ``initializer`` sets up each worker: DM211), and no task waited after
    the ``with`` block (leaving the block waits for every task first: DM212).
    """
    found: dict[str, int] = {}
    refused: dict[int, tuple[str, str]] = {}
    binds = assign_counts(func)
    whole = name_counts(func.body)

    class _Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_With(self, node: cst.With) -> None:
            for item in node.items:
                call = item.item
                if not (
                    isinstance(call, cst.Call)
                    and rewriter.qualify(call.func) == "concurrent.futures.ThreadPoolExecutor"
                    and isinstance(item.asname, cst.AsName)
                    and isinstance(item.asname.name, cst.Name)
                    and binds.get(item.asname.name.value) == 2  # the ``as`` binding alone (counted twice)
                ):
                    continue
                pool = item.asname.name.value
                if call.args:
                    given = ", ".join(f"`{a.keyword.value}`" if a.keyword else "a positional argument" for a in call.args)
                    refused[id(call)] = (THREAD_POOL_WITH_OPTIONS.code, f"this pool is given {given}: the runtime's spawns have no worker limit "
                                                  "nor initializer, so the pool stays")
                    continue
                branches = _branching(node.body)
                if branches:
                    refused[id(call)] = (POOL_TASKS_USED_AFTER_BLOCK.code, f"the pool's block holds {branches}: a task it may not wait for is still "
                                                  "waited by the block's end, which a rewrite without the pool would not do")
                    continue
                inside = name_counts(node.body)  # once per block, not once per task name
                outlived = sorted(n for n in _pool_task_names(node.body, pool) if whole.get(n, 0) != inside.get(n, 0))
                if outlived:
                    refused[id(call)] = (POOL_TASKS_USED_AFTER_BLOCK.code, f"{', '.join(f'`{n}`' for n in outlived)} (tasks of this pool) "
                                                  "used after the `with` block, which waits for every task first: the pool stays")
                    continue
                found[pool] = id(call)

    func.body.visit(_Finder())
    return found, refused


def _branching(body: cst.BaseSuite) -> str | None:
    """``an `if``` (or loop, or `match`) in a pool's block, where a task may be left unwaited."""
    found: list[str] = []

    class _Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def on_visit(self, node: cst.CSTNode) -> bool:
            kind = {cst.If: "an `if`", cst.For: "a `for` loop", cst.While: "a `while` loop", cst.Match: "a `match`",
                    cst.IfExp: "a conditional expression"}.get(type(node))
            if kind is not None and not found:
                found.append(kind)
            return super().on_visit(node)

    body.visit(_Finder())
    return found[0] if found else None


def _pool_task_names(body: cst.CSTNode, pool: str) -> set[str]:
    """Names assigned ``pool.submit(...)`` or ``[pool.submit(...) for ...]`` in ``body``."""
    names: set[str] = set()

    def is_submit(node: cst.BaseExpression) -> bool:
        return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "submit"
                and isinstance(node.func.value, cst.Name) and node.func.value.value == pool)

    class _Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value
            if is_submit(value) or (isinstance(value, (cst.ListComp, cst.GeneratorExp)) and is_submit(value.elt)):
                for target in node.targets:
                    names.update(target_names(target.target))

    body.visit(_Finder())
    return names

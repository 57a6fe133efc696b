"""The eager build of an entry point whose dependencies the codemod could not list statically.

pinjected builds every ``@instance`` in an entry point's dependency graph before any function body runs
("eager building"). The codemod lists that closure in ``__doeff_requires__``
when it can read every design on the way; when a design is a runtime value (``design(**PROFILE)``, a
helper's design, ``providers(...)``), the runner computes the same closure here, from the env the run
actually has:

- a migrated ``@injected``/``@instance`` function asks its dependencies first, one
  ``name = yield Ask("key")`` per dependency at the top of its body (the codemod's form): those
  statements are read from the function's source, never run;
- a runtime design's entries name their keys themselves (``providers`` by their parameters, an
  ``injected("k")`` alias by ``k``).

The order is pinjected's, as the codemod computes it (``ProjectIndex.requires``): dependencies resolve
concurrently, so a body runs after as many event-loop hops as its depth from the entry point plus its
height; ties go to the shallower body, then to parameter order.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from typing import Any, Callable, Mapping, Sequence

from .program import Call, DoFunction

_ASK_NAMES = {"Ask", "_dm_Ask"}


@functools.lru_cache(maxsize=None)
def _asked_at_top(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Keys a migrated body asks for in its leading ``x = yield Ask("k")`` statements."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return ()
    func = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if func is None:
        return ()
    keys: list[str] = []
    for i, stmt in enumerate(func.body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # docstring
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        key = _asked_key(value)
        if key is None:
            break
        keys.append(key)
    return tuple(keys)


def _asked_key(node: ast.AST | None) -> str | None:
    if not isinstance(node, ast.Yield) or not isinstance(node.value, ast.Call):
        return None
    call = node.value
    name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(call.func, ast.Attribute) else None
    if name not in _ASK_NAMES or len(call.args) != 1 or not isinstance(call.args[0], ast.Constant):
        return None
    return call.args[0].value if isinstance(call.args[0].value, str) else None


def _function_of(value: Any) -> Callable[..., Any] | None:
    """The generator function behind a ``@do`` function or a call of one."""
    if isinstance(value, DoFunction):
        return value.args[0]
    if isinstance(value, Call):
        return value.func
    return None


def dependencies(value: Any) -> tuple[str, ...]:
    """The keys pinjected resolves before the provider bound as ``value`` runs."""
    from . import designs

    if isinstance(value, Call):
        if value.func is designs._asked.args[0] and value.args:
            return (value.args[0],)
        if value.func is designs._provided.args[0] and value.args:
            params = inspect.signature(value.args[0]).parameters.values()
            return tuple(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    fn = _function_of(value)
    return _asked_at_top(fn) if fn is not None else ()


def eager_order(entry: Any, env: Mapping[str, Any]) -> tuple[str, ...]:
    """The env keys to build before ``entry`` runs, in the order pinjected builds them."""
    order: list[str] = []
    seen: set[str] = set()
    depth: dict[str, int] = {}

    def visit(key: str, stack: tuple[str, ...]) -> None:
        depth[key] = min(depth.get(key, len(stack) + 1), len(stack) + 1)
        if key in seen or key in stack or key not in env:
            return
        for dep in dependencies(env[key]):
            visit(dep, (*stack, key))
        seen.add(key)
        order.append(key)

    for key in dependencies(entry):
        visit(key, ())
    heights: dict[str, int] = {}

    def height(key: str, stack: tuple[str, ...] = ()) -> int:
        if key not in heights:
            deps = [d for d in dependencies(env.get(key)) if d not in stack and d in env]
            heights[key] = 0 if not deps else 1 + max(height(d, (*stack, key)) for d in deps)
        return heights[key]

    position = {k: i for i, k in enumerate(order)}
    ranked = sorted(order, key=lambda k: (depth[k] + height(k), height(k), position[k]))
    return tuple(ranked)


def build_at_first_ask(keys: Sequence[str], program: Any) -> Any:
    """``program`` with ``keys`` built, in order, when it first asks for a dependency.

    pinjected evaluates an entry point's arguments alongside its dependencies: an ``@instance`` passed
    as an argument (``main = use(a)``) is built before the dependencies of ``use``. The migrated entry
    point builds its arguments before it calls ``use``, and ``use`` asks for its dependencies first; so
    building the closure at the first ``Ask`` keeps pinjected's order, and is still before any function
    body runs.
    """
    from .effects import Ask
    from .handlers import handler
    from .program import Pass, Resume

    pending = list(keys)

    def prebuild_then_answer(effect: Ask, k):  # type: ignore[valid-type]
        if not pending:
            return (yield Pass(effect, k))
        while pending:
            yield Ask(pending.pop(0))
        return (yield Resume(k, (yield effect)))

    return handler(prebuild_then_answer)(program)


@functools.lru_cache(maxsize=None)
def _only_evaluates(fn: Callable[..., Any]) -> bool:
    """Whether a ``@do`` entry function only evaluates an expression (assignments and a ``return``): the
    form of an entry point migrated from an IProxy expression, whose arguments pinjected evaluates
    alongside the dependencies."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    return func is not None and all(isinstance(s, (ast.Assign, ast.AnnAssign, ast.Return)) for s in func.body)


def builds_arguments_first(entry: Any) -> bool:
    """An entry point whose arguments may build ``@instance``s before its dependencies are asked for."""
    return isinstance(entry, DoFunction) and _only_evaluates(entry.args[0])

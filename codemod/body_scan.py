"""The scan of a pinjected provider's body: which dependencies it calls, awaits, gathers or uses as values.

What :mod:`..provider_decisions` decides a provider's form and blockers from, and what the ``di`` rewrite
of the body (``transforms/injected_functions.py``) follows. Parses nothing and rewrites nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from . import pinjected_names as pn
from .cst_walk import child_fields, names_in
from .transforms import dependency_forms as forms

__all__ = ["AsyncioNames", "BodyFacts", "BodyScanner", "Dependency", "module_level_rebinds"]

_LOOP_BOUND = {"create_task", "ensure_future", "Lock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Queue"}
# asyncio calls that need the *running* loop: pinjected runs bodies inside its loop, a @do body runs outside any.
_NEEDS_RUNNING_LOOP = {
    "create_task", "ensure_future", "get_running_loop", "get_event_loop", "current_task", "all_tasks",
    "TaskGroup", "timeout", "timeout_at", "shield",
}


@dataclass
class Dependency:
    param: cst.Param
    local: str
    key: str
    kind: str = "value"  # "function" | "value" | "mixed" (ProjectIndex.key_kind)
    direct: str | None = None  # module-level name to call instead of asking (same-module, never rebound)
    is_async: bool = False
    is_sync: bool = False  # some binding of the key is a plain ``def`` (its program returns what it returns)
    wrapped: bool = False  # a provider of the key is decorated above pinjected's decorator (decoration.py)
    binding: str = "static"
    """How the body gets it: ``"static"`` (calls become ``yield``), ``"callable"`` (``AskFunction`` /
    ``AskAsyncFunction``: a plain callable bound to the run, body unchanged), ``"call"`` (``Ask`` and
    ``yield call_dependency(dep, ...)`` at its statement-level calls)."""


@dataclass
class BodyFacts:
    """What the scan of one function body found."""

    has_yield: bool = False
    awaits_nested: bool = False
    async_with_for: bool = False
    loop_bound: bool = False
    value_uses: set[str] = field(default_factory=set)
    nested_uses: set[str] = field(default_factory=set)
    called: set[str] = field(default_factory=set)
    unawaited_calls: set[str] = field(default_factory=set)
    discarded_calls: set[str] = field(default_factory=set)
    """Dependencies called as an expression statement, the result dropped (a no-op for an async one)."""
    assigned: set[str] = field(default_factory=set)
    awaited_calls: set[str] = field(default_factory=set)
    gathered_calls: set[str] = field(default_factory=set)
    gather_with_options: set[str] = field(default_factory=set)
    """Dependencies called inside ``asyncio.gather(..., return_exceptions=True)`` (keywords / star args)."""
    event_loop_api: str | None = None
    stop_iteration: bool = False
    lowered: set[int] = field(default_factory=set)
    """``x = [dep(i) for i in xs]`` list comprehensions (node ids) whose calls become a loop of ``yield``s."""


class AsyncioNames:
    """Which callees of a module are ``asyncio.<attr>``: resolved through its top-level imports.

    A module's own ``gather`` (or one imported from elsewhere) is not ``asyncio.gather``.
    """

    def __init__(self, module: cst.Module | None = None) -> None:
        # ``asyncio`` itself unless the module binds the name to something else (it may be imported in a
        # function or under ``if``: calls of ``asyncio.x`` can only mean the module).
        self.modules: set[str] = {"asyncio"}
        self.names: dict[str, str] = {}  # local name -> asyncio attribute (``from asyncio import gather as g``)
        if module is None:
            return
        shadowed: set[str] = set()
        for stmt in module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        for alias in small.names:
                            if alias.evaluated_name == "asyncio":
                                self.modules.add(alias.evaluated_alias or "asyncio")
                            elif (alias.evaluated_alias or alias.evaluated_name).split(".")[0] == "asyncio":
                                shadowed.add("asyncio")  # ``import x as asyncio``
                    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                        from_asyncio = not small.relative and pn.dotted_cst(small.module) == "asyncio"
                        for alias in small.names:
                            local = alias.evaluated_alias or alias.evaluated_name
                            if from_asyncio:
                                self.names[local] = alias.evaluated_name
                            else:
                                self.names.pop(local, None)  # a later import of another ``gather``
                                if local == "asyncio":
                                    shadowed.add(local)
                    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
                        targets = small.targets if isinstance(small, cst.Assign) else [small]
                        for t in targets:
                            shadowed |= names_in(t.target)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                shadowed.add(stmt.name.value)
        for name in shadowed:
            self.names.pop(name, None)
            self.modules.discard(name)

    def attr_of(self, func: cst.BaseExpression) -> str | None:
        if isinstance(func, cst.Name):
            return self.names.get(func.value)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in self.modules:
            return func.attr.value
        return None

    def is_gather(self, call: cst.BaseExpression) -> bool:
        return isinstance(call, cst.Call) and self.attr_of(call.func) == "gather"

    def is_plain_gather(self, call: cst.BaseExpression) -> bool:
        """``asyncio.gather(a, b)`` without keywords or star arguments (the form Spawn + Gather translates)."""
        return self.is_gather(call) and not any(a.keyword or a.star for a in call.args)  # type: ignore[attr-defined]


def module_level_rebinds(module: cst.Module) -> set[str]:
    """Names bound more than once at module level (``step = logged(step)``, ``score: IProxy = score(5)``).

    A provider whose module name is rebound cannot be called directly by its dependents: pinjected's
    registry holds the undecorated provider, the module attribute is something else.
    """
    counts: dict[str, int] = {}

    def bind(names: set[str]) -> None:
        for n in names:
            counts[n] = counts.get(n, 0) + 1

    def walk(body) -> None:
        for stmt in body:
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                bind({stmt.name.value})
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            bind(names_in(t.target))
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and getattr(small, "value", None) is not None:
                        bind(names_in(small.target))
                    elif isinstance(small, cst.Del):
                        bind(names_in(small.target))
                    elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                        bind({(a.evaluated_alias or a.evaluated_name).split(".")[0] for a in small.names})
            else:
                if isinstance(stmt, cst.For):
                    bind(names_in(stmt.target))
                if isinstance(stmt, cst.With):
                    for item in stmt.items:
                        if item.asname is not None:
                            bind(names_in(item.asname.name))
                for part in ("body", "orelse", "finalbody"):
                    block = getattr(stmt, part, None)
                    inner = getattr(block, "body", None)
                    if isinstance(block, cst.Else) or isinstance(block, cst.Finally):
                        inner = block.body.body
                    elif isinstance(block, cst.If):
                        walk([block])
                        continue
                    if isinstance(inner, (list, tuple)):
                        walk(inner)
                for handler in getattr(stmt, "handlers", ()):
                    walk(handler.body.body)
    walk(module.body)
    return {n for n, c in counts.items() if c > 1}



class BodyScanner:
    """Scans the function's own scope; nested scopes are only searched for dependency names.

    A walk over the nodes' child fields in a visitor's order (``cst_walk.child_fields``), not a ``CSTVisitor``
    (several times slower): every provider's body is scanned to decide it. The order matters where the first
    match is kept (``event_loop_api``) and where a node marks what is below it (an ``await``'s call, a
    lowered comprehension)."""

    def __init__(
        self, deps: dict[str, Dependency], aio: AsyncioNames | None = None,
        counts: dict[str, int] | Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.deps = deps
        self.aio = aio or AsyncioNames()
        self.facts = BodyFacts()
        # Names of the whole function: list comprehensions may be lowered to loops (none without them). A
        # function giving them is called once, when a comprehension first needs them (most bodies have none).
        self.counts = counts
        self.nested = 0  # inside lambdas / comprehensions of this scope
        self.protected = 0  # inside the body of a ``try``
        self.callee_ids: set[int] = set()
        self.awaited_ids: set[int] = set()
        self.gathered_ids: set[int] = set()
        self.optioned_ids: set[int] = set()

    def scan(self, node: cst.CSTNode) -> BodyFacts:
        """Scan ``node`` (the function's body) and return what was found."""
        self._walk(node)
        return self.facts

    def _walk(self, node: cst.CSTNode) -> None:
        cls = type(node)
        hook = _HOOKS.get(cls)
        if hook is not None:
            descend = hook(self, node)
            if descend is False:
                return
            if descend is not None:  # a scope-opening node: walk its children, then close it
                self._children(node, cls)
                if id(node) not in self.facts.lowered:
                    self.nested -= 1
                return
        self._children(node, cls)

    def _children(self, node: cst.CSTNode, cls: type) -> None:
        walk, node_type = self._walk, cst.CSTNode
        for field in child_fields(cls):
            value = getattr(node, field)
            if type(value) in (list, tuple):
                for item in value:
                    walk(item)
            elif isinstance(value, node_type):
                walk(value)

    # Each hook runs before the node's children are walked; ``False``: they are not (walked by the hook,
    # or not at all); ``True``: a nested scope of this function, left after the children.
    def _nested_scope(self, node: cst.CSTNode) -> bool:
        self.facts.nested_uses |= names_in(node) & set(self.deps)
        return False

    def _enter(self, node: cst.CSTNode) -> bool:
        if id(node) not in self.facts.lowered:
            self.nested += 1
        return True

    def _assign(self, node: cst.Assign) -> None:
        # ``x = [dep(i) for i in xs]`` in the body's own scope becomes a loop of ``yield``s: its calls
        # count as direct calls (dependency_forms.lowerable says when a loop means the same).
        if (
            self.counts is not None and not self.nested and not self.protected
            and names_in(node.value) & set(self.deps) and forms.lowerable(node, self.known_counts())
        ):
            self.facts.lowered.add(id(node.value))

    def known_counts(self) -> dict[str, int] | None:
        """The function's name counts, computed now if given as a function; ``None``: not given."""
        if callable(self.counts):
            self.counts = self.counts()
        return self.counts

    def _yield(self, node: cst.Yield) -> None:
        self.facts.has_yield = True

    def _expr(self, node: cst.Expr) -> None:
        call = node.value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in self.deps:
            self.facts.discarded_calls.add(call.func.value)

    def _await(self, node: cst.Await) -> None:
        if self.nested:
            self.facts.awaits_nested = True
        self.awaited_ids.add(id(node.expression))
        if self.aio.is_plain_gather(node.expression):
            for arg in node.expression.args:  # type: ignore[attr-defined]
                self.awaited_ids.add(id(arg.value))
                self.gathered_ids.add(id(arg.value))
        elif self.aio.is_gather(node.expression):
            for arg in node.expression.args:  # type: ignore[attr-defined]
                self.optioned_ids.add(id(arg.value))

    def _try(self, node: cst.Try) -> bool:
        self.protected += 1
        self._walk(node.body)
        self.protected -= 1
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                self._walk(part)
        return False

    def _raise(self, node: cst.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        if isinstance(exc, cst.Name) and exc.value in ("StopIteration", "StopAsyncIteration"):
            self.facts.stop_iteration = True

    def _async_block(self, node: cst.With | cst.For | cst.CompFor) -> None:
        if node.asynchronous is not None:
            self.facts.async_with_for = True

    def _call(self, node: cst.Call) -> None:
        attr = self.aio.attr_of(node.func)
        if attr in _LOOP_BOUND:
            self.facts.loop_bound = True
        if attr in _NEEDS_RUNNING_LOOP and self.facts.event_loop_api is None:
            self.facts.event_loop_api = f"asyncio.{attr}"
        if (
            isinstance(node.func, cst.Name) and node.func.value == "next" and not self.protected
            and len(node.args) == 1 and not node.args[0].star and "next" not in self.deps
        ):
            self.facts.stop_iteration = True  # ``next(it)`` without a default outside any ``try``
        if isinstance(node.func, cst.Name) and node.func.value in self.deps:
            self.callee_ids.add(id(node.func))
            name = node.func.value
            if self.nested:
                self.facts.nested_uses.add(name)
            else:
                self.facts.called.add(name)
                if id(node) in self.optioned_ids:
                    self.facts.gather_with_options.add(name)
                if id(node) in self.gathered_ids:
                    self.facts.gathered_calls.add(name)
                elif id(node) in self.awaited_ids:
                    self.facts.awaited_calls.add(name)
                if id(node) not in self.awaited_ids:
                    self.facts.unawaited_calls.add(name)

    def _value_only(self, node: cst.Attribute | cst.Arg) -> bool:
        self._walk(node.value)
        return False

    def _assign_target(self, node: cst.AssignTarget) -> None:
        self.facts.assigned |= names_in(node.target)

    def _name(self, node: cst.Name) -> None:
        if node.value in self.deps and id(node) not in self.callee_ids:
            (self.facts.nested_uses if self.nested else self.facts.value_uses).add(node.value)


_HOOKS = {
    cst.FunctionDef: BodyScanner._nested_scope,
    cst.ClassDef: BodyScanner._nested_scope,
    **dict.fromkeys((cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp), BodyScanner._enter),
    cst.Assign: BodyScanner._assign,
    cst.Yield: BodyScanner._yield,
    cst.Expr: BodyScanner._expr,
    cst.Await: BodyScanner._await,
    cst.Try: BodyScanner._try,
    cst.Raise: BodyScanner._raise,
    **dict.fromkeys((cst.With, cst.For, cst.CompFor), BodyScanner._async_block),
    cst.Call: BodyScanner._call,
    cst.Attribute: BodyScanner._value_only,
    cst.Arg: BodyScanner._value_only,
    cst.AssignTarget: BodyScanner._assign_target,
    cst.Name: BodyScanner._name,
}

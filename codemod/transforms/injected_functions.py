"""``@injected`` / ``@instance`` functions -> ``@do`` functions that ``Ask`` for their dependencies.

pinjected-semantics.md §2 C1/C3 and §4.2: dependencies (before ``/``, ``_x`` -> key ``x``, ``__x`` ->
key ``__x``, every ``@instance`` parameter as written) become ``x = yield Ask("x")`` at the top of the
body in parameter order; runtime parameters, defaults, annotations and docstrings stay. In async
bodies ``await dep(...)`` of an injected dependency becomes ``yield dep(...)``, any other ``await``
becomes ``yield Await(...)``, and ``await asyncio.gather(...)`` becomes ``Spawn`` + ``Gather``. The
function gets ``@function_binding`` / ``@instance_binding`` above ``@do`` so the runner's env keeps
pinjected's implicit by-name bindings. That is the static form, used where the index proves it right;
the faithful forms of §4.4 (dependency_forms.py) cover the rest: a dependency used other than as a
direct call becomes a callable bound to the run (``AskFunction`` / ``AskAsyncFunction``), a key bound
to functions and plain values goes through ``call_dependency``, async bodies that need it stay a
coroutine run through ``Await``, and generators, context-manager providers and decorators stacked
under the pinjected one keep the function as written under ``@pass_dependencies``. What has no
counterpart is left untouched and flagged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..cst_walk import names_in
from ..state import FileState
from . import MigrationTransformer, Transform, register
from . import decorators_above
from . import dependency_forms as forms
from ..rules.di import CLASS_INJECTION, DEPENDENCY_DEFAULT, DEPENDS_ON_UNMIGRATED, EAGER_INSTANCE, INJECTED_GENERATOR, INSTANCE_STAR_PARAMS, NESTED_INJECTED, RESOLVER_SPECIAL, RUNNER_SPECIFIC, RUNTIME_ONLY_COUNTERPART, STACKED_DECORATOR, UNAWAITED_ASYNC_DEPENDENCY
from ..rules.di_calls import AWAITED_SYNC_DEPENDENCY, EVENT_LOOP_API, GATHER_WITH_OPTIONS, STOP_ITERATION_ESCAPES

_CONTEXT_MANAGER_DECORATORS = decorators_above.CONTEXT_MANAGER_DECORATORS
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



class _BodyScanner(cst.CSTVisitor):
    """Scans the function's own scope; nested scopes are only searched for dependency names."""

    def __init__(self, deps: dict[str, Dependency], aio: AsyncioNames | None = None, counts: dict[str, int] | None = None) -> None:
        super().__init__()
        self.deps = deps
        self.aio = aio or AsyncioNames()
        self.facts = BodyFacts()
        self.counts = counts  # names of the whole function: list comprehensions may be lowered to loops
        self.nested = 0  # inside lambdas / comprehensions of this scope
        self.protected = 0  # inside the body of a ``try``
        self.callee_ids: set[int] = set()
        self.awaited_ids: set[int] = set()
        self.gathered_ids: set[int] = set()
        self.optioned_ids: set[int] = set()

    def _nested_scope(self, node: cst.CSTNode) -> bool:
        self.facts.nested_uses |= names_in(node) & set(self.deps)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._nested_scope(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._nested_scope(node)

    def _enter(self, node: cst.CSTNode) -> None:
        if id(node) not in self.facts.lowered:
            self.nested += 1

    def _leave(self, node: cst.CSTNode) -> None:
        if id(node) not in self.facts.lowered:
            self.nested -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        # ``x = [dep(i) for i in xs]`` in the body's own scope becomes a loop of ``yield``s: its calls
        # count as direct calls (dependency_forms.lowerable says when a loop means the same).
        if (
            self.counts is not None and not self.nested and not self.protected
            and names_in(node.value) & set(self.deps) and forms.lowerable(node, self.counts)
        ):
            self.facts.lowered.add(id(node.value))

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter  # type: ignore[assignment]
    leave_Lambda = leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave  # type: ignore[assignment]

    def visit_Yield(self, node: cst.Yield) -> None:
        self.facts.has_yield = True

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in self.deps:
            self.facts.discarded_calls.add(call.func.value)

    def visit_Await(self, node: cst.Await) -> None:
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

    def visit_Try(self, node: cst.Try) -> bool:
        self.protected += 1
        node.body.visit(self)
        self.protected -= 1
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                part.visit(self)
        return False

    def visit_Raise(self, node: cst.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        if isinstance(exc, cst.Name) and exc.value in ("StopIteration", "StopAsyncIteration"):
            self.facts.stop_iteration = True

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self.facts.async_with_for = True

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self.facts.async_with_for = True

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self.facts.async_with_for = True

    def visit_Call(self, node: cst.Call) -> None:
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

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.facts.assigned |= names_in(node.target)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.deps and id(node) not in self.callee_ids:
            (self.facts.nested_uses if self.nested else self.facts.value_uses).add(node.value)


def _yield(expr: cst.BaseExpression) -> cst.Yield:
    return cst.Yield(value=expr, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _bare(expr: cst.BaseExpression) -> cst.BaseExpression:
    """Drop the parentheses of a generated ``(yield ...)`` where a statement allows it."""
    if isinstance(expr, cst.Yield) and len(expr.lpar) == 1:
        return expr.with_changes(lpar=[], rpar=[])
    return expr


class _BodyRewriter(cst.CSTTransformer):
    """Rewrites awaits and dependency calls in the function's own scope."""

    def __init__(self, state: FileState, deps: dict[str, Dependency], aio: AsyncioNames | None = None, lowered: set[int] = frozenset()) -> None:
        super().__init__()
        self.state = state
        self.aio = aio or AsyncioNames()
        self.lowered = lowered
        self.deps = {name: dep for name, dep in deps.items() if dep.kind == "function" and dep.binding == "static"}
        self.dynamic = {name for name, dep in deps.items() if dep.binding == "call"}
        self.handled_by_await: set[int] = set()

    def visit_Await(self, node: cst.Await) -> None:
        # The awaited call (and the calls gathered) are rewritten by ``leave_Await``, not ``leave_Call``.
        self.handled_by_await.add(id(node.expression))
        if self.aio.is_plain_gather(node.expression):
            self.handled_by_await.update(id(arg.value) for arg in node.expression.args)  # type: ignore[attr-defined]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def _dep_call(self, node: cst.BaseExpression) -> cst.Call | None:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in self.deps:
            direct = self.deps[node.func.value].direct
            return node.with_changes(func=cst.Name(direct)) if direct else node
        return None

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        expr = updated_node.expression
        call = self._dep_call(expr)
        if call is not None:
            assert isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name)
            dep = self.deps[expr.func.value]
            if dep.is_sync and not dep.is_async:
                # A sync injected function returning an awaitable: its program returns the awaitable.
                awaited = cst.Call(cst.Name(self.state.need("Await")), [cst.Arg(_yield(call))])
                return _yield(awaited).with_changes(lpar=updated_node.lpar or [cst.LeftParen()], rpar=updated_node.rpar or [cst.RightParen()])
            return _yield(call).with_changes(lpar=updated_node.lpar or [cst.LeftParen()], rpar=updated_node.rpar or [cst.RightParen()])
        if self.aio.is_plain_gather(expr) and isinstance(expr, cst.Call):
            spawn, gather, await_ = self.state.need("Spawn"), self.state.need("Gather"), None
            tasks = []
            for arg in expr.args:
                program = self._dep_call(arg.value)
                if program is None:
                    await_ = await_ or self.state.need("Await")
                    program = cst.Call(cst.Name(await_), [cst.Arg(arg.value)])
                tasks.append(cst.Arg(_yield(cst.Call(cst.Name(spawn), [cst.Arg(program)]))))
            return _yield(cst.Call(cst.Name(gather), tasks))
        return _yield(cst.Call(cst.Name(self.state.need("Await")), [cst.Arg(expr)]))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if id(original_node) in self.handled_by_await:
            return updated_node
        if isinstance(updated_node.func, cst.Name) and updated_node.func.value in self.dynamic:
            helper = cst.Name(self.state.need("call_dependency"))
            return _yield(cst.Call(helper, [cst.Arg(updated_node.func), *updated_node.args]))
        call = self._dep_call(updated_node)
        return updated_node if call is None else _yield(call)

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        return updated_node.with_changes(value=_bare(updated_node.value))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return updated_node.with_changes(value=_bare(updated_node.value))

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        return updated_node.with_changes(value=_bare(updated_node.value)) if updated_node.value else updated_node

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        first = original_node.body[0] if len(original_node.body) == 1 else None
        if isinstance(first, cst.Assign) and id(first.value) in self.lowered and names_in(first.value) & set(self.deps):
            return forms.lowered(updated_node)
        return updated_node


class InjectedFunctions(MigrationTransformer):
    analysis_only = False
    """Decide which functions stay pinjected (``state.unmigrated``) without rewriting the others."""

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.depth = 0
        self.aio = AsyncioNames()
        self.rebound: set[str] = set()
        self.plain_functions: dict[str, cst.FunctionDef] = {}  # undecorated module functions (decorators_above)

    def visit_Module(self, node: cst.Module) -> None:
        self.aio = AsyncioNames(node)
        self.rebound = module_level_rebinds(node)
        self.plain_functions = {n.name.value: n for n in node.body if isinstance(n, cst.FunctionDef) and not n.decorators}

    # Nesting: decorated functions inside functions or classes are flagged, not migrated. Bodies are
    # only walked when the index saw such a nested definition: a decorated function's own body is
    # rewritten by ``migrate``, so this keeps the pass over a module to its top-level statements.
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.depth += 1
        return self.state.facts.nested_decorated

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.depth -= 1
        if any(self.state.canonical(d) == pn.INJECTED for d in updated_node.decorators):
            # What is left here after classes.py: ``@injected("key")`` on a class, or ``--target doeff``.
            return self.state.flag(updated_node, CLASS_INJECTION.code, CLASS_LEFT_AS_IS)
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return self.state.facts.nested_decorated

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False  # decorated definitions are compound statements

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.depth -= 1
        found = self.pinjected_decorator(updated_node)
        if found is None:
            return updated_node
        index, kind = found
        if kind == "pytest":
            if self.analysis_only:
                return updated_node
            if self.depth > 0 or not self.state.in_range(original_node):
                return self.state.flag(updated_node, RUNNER_SPECIFIC.code) if self.depth > 0 else updated_node
            from .pytest_tests import migrate_test

            return migrate_test(self, updated_node, index)
        if self.depth > 0:
            self.state.unmigrated.add(updated_node.name.value)
            return self.state.flag(updated_node, NESTED_INJECTED.code)
        if not self.state.in_range(original_node):
            return updated_node
        return self.migrate(updated_node, index, kind)

    def pinjected_decorator(self, node: cst.FunctionDef) -> tuple[int, str] | None:
        for i, deco in enumerate(node.decorators):
            canonical = self.state.canonical(deco)
            if canonical == pn.INJECTED:
                return i, "injected"
            if canonical in pn.INSTANCE_DECORATORS:
                return i, "instance"
            if canonical == "injected_pytest":
                return i, "pytest"
        return None

    # -- analysis ---------------------------------------------------------------------------
    def dependencies(self, params: cst.Parameters, kind: str) -> list[Dependency]:
        deps: list[Dependency] = []
        if kind in ("instance", "pytest"):  # every parameter is a dependency, named as written
            for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
                deps.append(Dependency(p, p.name.value, p.name.value))
            return deps
        for p in params.posonly_params:
            deps.append(Dependency(p, p.name.value, pn.dependency_key(p.name.value)))
        for p in [*params.params, *params.kwonly_params]:
            if p.name.value.startswith("_"):
                deps.append(Dependency(p, p.name.value, pn.dependency_key(p.name.value)))
        return deps

    def classify(self, dep: Dependency) -> None:
        index = self.state.index
        dep.kind = index.key_kind(dep.key)
        if dep.kind == "value":
            return
        providers = index.providers_for_key(dep.key)
        targets = [*providers, *filter(None, (index.resolve_ref(s) for s in index.bindings_for_key(dep.key)))]
        dep.is_async = any(t.is_async for t in targets)
        dep.is_sync = any(not t.is_async for t in targets)
        dep.wrapped = any(getattr(t, "wrapped", False) for t in targets)
        if dep.kind == "function" and not dep.wrapped and (
            len(providers) == 1
            and providers[0].module == self.state.module
            and not index.is_rebound(dep.key)
            and providers[0].name not in self.rebound
        ):
            dep.direct = providers[0].name

    @staticmethod
    def used_dynamically(dep: Dependency, facts: BodyFacts) -> bool:
        """Whether a function dependency is used in a way no ``yield`` rewrite expresses, so the body gets
        it as a plain callable bound to the run (``AskFunction`` / ``AskAsyncFunction``).

        That is: used as a value, in a nested scope or reassigned; an async one called without ``await``
        (the call only makes a coroutine, as under pinjected); a key also bound to plain values (§4.4
        item 7) anywhere but in direct calls of a sync function, which ``call_dependency`` takes.
        """
        if dep.kind == "value":
            return False
        if dep.wrapped:
            return True  # bound to whatever the decorators above it build, not to a @do function
        if dep.local in facts.value_uses or dep.local in facts.nested_uses or dep.local in facts.assigned:
            return True
        if dep.kind == "mixed":
            return dep.is_async or bool({dep.local} & (facts.awaited_calls | facts.gathered_calls | facts.gather_with_options))
        return dep.is_async and dep.local in facts.unawaited_calls and dep.local not in facts.gather_with_options

    def blockers(self, node: cst.FunctionDef, index: int, kind: str, deps: list[Dependency]) -> tuple[list[tuple[str, str | None]], str]:
        """What keeps the function from migrating, and the form it migrates to.

        Forms: ``"pass"`` (the function kept as written under ``@pass_dependencies``: generators,
        context-manager providers, decorators stacked under the pinjected one), ``"coroutine"`` (an
        async body with ``async with`` / ``async for`` / ``await`` in a nested expression, run
        unchanged through ``Await``), ``"body"`` (the ``@do`` body with ``yield`` statements).
        """
        problems: list[tuple[str, str | None]] = []
        deco = node.decorators[index].decorator
        if isinstance(deco, cst.Call) and (
            any(a.keyword is None or a.keyword.value not in ("protocol", "callable") for a in deco.args)
        ):
            problems.append((STACKED_DECORATOR.code, None))
        others = [d for i, d in enumerate(node.decorators) if i != index]
        # Decorators under the pinjected one keep pinjected's calling convention through the pass
        # form; decorators above an ``@injected`` one get its IProxy's counterpart (decoration.py).
        above = decorators_above.blocker(self.state, node, index, kind, self.plain_functions)
        if above is not None:
            problems.append(above)
        passable = kind in ("injected", "instance") and (index == 0 or above is None)
        for other in others if not passable else ():
            dotted = pn.dotted_cst(other.decorator.func if isinstance(other.decorator, cst.Call) else other.decorator) or ""
            if dotted.rpartition(".")[2] in _CONTEXT_MANAGER_DECORATORS:
                problems.append((INJECTED_GENERATOR.code, None))
            else:
                problems.append((STACKED_DECORATOR.code, None))
        params = node.params
        if kind in ("instance", "pytest") and (isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None):
            problems.append((INSTANCE_STAR_PARAMS.code, None))
        if any(dep.key in pn.RESOLVER_SPECIAL_KEYS and dep.key != forms.RESOLVER_KEY for dep in deps):
            problems.append((RESOLVER_SPECIAL.code, None))
        # A runtime parameter annotated ``Injected`` gets its argument unevaluated in pinjected; the call
        # sites hand over its Program expression (entry_points.argument_of), which the body may resolve
        # with ``__resolver__[x]`` (runtime/resolver.py).
        by_local = {dep.local: dep for dep in deps}
        scanner = _BodyScanner(by_local, self.aio, forms.name_counts(node.body))
        node.body.visit(scanner)
        facts = scanner.facts
        dynamic = {dep.local for dep in deps if self.used_dynamically(dep, facts)}
        form = "body"
        if passable and (others or facts.has_yield):
            form = "pass"
        elif node.asynchronous is not None and (
            facts.async_with_for or facts.awaits_nested or dynamic
            or (facts.event_loop_api and not (kind == "instance" and facts.loop_bound))
        ):
            # The whole body runs on the event loop, as under pinjected: coroutines made by the bound
            # callables, what the body builds from them (``asyncio.gather(*coros)``) and asyncio calls
            # that need the running loop (``get_running_loop``, ``create_task``) share its loop.
            form = "coroutine"
        # An async body of the pass or coroutine form runs as a coroutine on the runtime's loop.
        in_loop = form != "body" and node.asynchronous is not None
        if facts.event_loop_api is not None and not in_loop and not (kind == "instance" and facts.loop_bound):  # DM105 says it
            problems.append((EVENT_LOOP_API.code, f"`{facts.event_loop_api}` needs the running event loop, which a @do body does not run in: move it behind an effect handler"))
        if facts.stop_iteration:
            problems.append((STOP_ITERATION_ESCAPES.code, None))
        if facts.has_yield and form != "pass":
            problems.append((INJECTED_GENERATOR.code, None))
        if kind == "instance" and facts.loop_bound:
            problems.append((EAGER_INSTANCE.code, None))
        for dep in deps:
            if dep.kind == "value":
                continue
            if form != "body" or dep.local in dynamic:
                dep.binding = "callable"
                if dep.is_sync and dep.is_async and dep.local in facts.awaited_calls:
                    # The coroutine function bound for it would give a sync binding's awaitable unawaited.
                    problems.append((AWAITED_SYNC_DEPENDENCY.code, f"awaited dependency `{dep.local}` is an async function for some bindings and a sync one for others"))
                continue
            if dep.kind == "mixed":
                dep.binding = "call"
                continue
            if dep.local in facts.gather_with_options:
                problems.append((GATHER_WITH_OPTIONS.code, None))
            if dep.local in facts.gathered_calls and dep.is_sync:
                problems.append((AWAITED_SYNC_DEPENDENCY.code, f"sync injected dependency `{dep.local}` is gathered: its program returns what the function returns (an awaitable?), not the awaited value"))
            elif dep.local in facts.awaited_calls and dep.is_sync and dep.is_async:
                problems.append((AWAITED_SYNC_DEPENDENCY.code, f"awaited dependency `{dep.local}` is an async function for some bindings and a sync one for others"))
            if dep.direct and dep.direct != dep.local and dep.direct in names_in(node.body):
                dep.direct = None
        index = self.state.index
        for dep in deps:
            targets = list(index.providers_for_key(dep.key))
            for spec in index.bindings_for_key(dep.key):
                targets.append(index.instance_of_call(spec) if spec.kind == "call" else index.resolve_ref(spec))
            left = next((t for t in targets if index.is_unmigrated(t)), None)
            if left is not None:
                problems.append((DEPENDS_ON_UNMIGRATED.code, f"dependency `{dep.local}` is provided by `{left.module}.{left.name}`, which is left as pinjected (flagged): migrate it first"))
        seen: set[str] = set()
        unique = []
        for code, message in problems:
            if code not in seen:
                seen.add(code)
                unique.append((code, message))
        return unique, form

    # -- rewrite ----------------------------------------------------------------------------
    def migrate(self, node: cst.FunctionDef, index: int, kind: str) -> cst.FunctionDef:
        earlier = _earlier_flags(node)
        if earlier:
            # A flag from an earlier run stays authoritative until a human removes it: facts it was
            # based on (e.g. that a dependency was async) may be gone from the migrated code.
            self.state.unmigrated.add(node.name.value)
            for code, message in earlier:
                node = self.state.flag(node, code, message)
            return node
        deps = self.dependencies(node.params, kind)
        for dep in deps:
            self.classify(dep)
        problems, form = self.blockers(node, index, kind, deps)
        if not problems and self.state.target != "runtime" and _runtime_only(form, deps, index):
            problems = [(RUNTIME_ONLY_COUNTERPART.code, None)]
        if problems:
            self.state.unmigrated.add(node.name.value)
            for code, message in problems:
                node = self.state.flag(node, code, message)
            return node
        if self.analysis_only:
            return node
        state = self.state
        old = node.decorators[index]
        registration = []
        if kind != "pytest":  # tests are not registered in the env
            binding = state.need("function_binding" if kind == "injected" else "instance_binding")
            registration = [cst.Decorator(cst.Name(binding), leading_lines=old.leading_lines)]
        for dep in deps:
            if dep.binding != "static":
                dep.direct = None
        if form == "pass":
            asks = [(dep.key, forms.ask_name(state, dep.is_async, dep.binding, dep.key)) for dep in deps]
            passing = forms.pass_decorator(state, asks).with_changes(leading_lines=[] if registration else old.leading_lines)
            wrapping = []
            if index > 0:  # decorators above pinjected's get the function's IProxy counterpart
                registration = [d.with_changes(leading_lines=[]) for d in registration]
                wrapping = [*node.decorators[:index], cst.Decorator(cst.Name(state.need("injected_proxy")))]
            result = node.with_changes(decorators=[*wrapping, *registration, passing, *node.decorators[index + 1 :]])
        else:
            result = self._as_do_function(node, index, deps, form, registration)
        for dep in deps:
            if dep.param.default is not None:
                result = state.flag(result, DEPENDENCY_DEFAULT.code, f"dependency `{dep.local}` had a default, which pinjected never used; the key `{dep.key}` is still required")
        scanner = _BodyScanner({dep.local: dep for dep in deps}, self.aio)
        node.body.visit(scanner)
        for dep in deps:
            if dep.kind != "value" and dep.is_async and dep.local in scanner.facts.discarded_calls and form != "pass":
                result = state.flag(result, UNAWAITED_ASYNC_DEPENDENCY.code, f"async injected dependency `{dep.local}` is called without `await`: the call does nothing, as under pinjected; fix it consciously")
        if kind == "instance":
            state.migrated_instances.append(node.name.value)
        return result

    def _as_do_function(self, node: cst.FunctionDef, index: int, deps: list[Dependency], form: str, registration: list) -> cst.FunctionDef:
        """The ``@do`` function of the body or coroutine form: asks at the top, then the body."""
        state = self.state
        old = node.decorators[index]
        new_decorators = [
            *node.decorators[:index],
            *registration,
            cst.Decorator(cst.Name(state.need("do")), leading_lines=[] if registration else old.leading_lines),
            *node.decorators[index + 1 :],
        ]
        statements = [
            cst.SimpleStatementLine([cst.Assign(
                [cst.AssignTarget(cst.Name(dep.local))],
                cst.Yield(cst.Call(
                    cst.Name(forms.ask_name(state, dep.is_async, dep.binding, dep.key)),
                    [cst.Arg(cst.SimpleString(json.dumps(dep.key)))],
                )),
            )])
            for dep in deps
            if not dep.direct
        ]
        if form == "coroutine":
            assert isinstance(node.body, cst.IndentedBlock)
            head = list(node.body.body)[: _docstring_count(node.body)]
            body = forms.coroutine_body(state, node, forms.free_name(names_in(node)), head, statements)
        else:
            by_local = {dep.local: dep for dep in deps}
            scanner = _BodyScanner(by_local, self.aio, forms.name_counts(node.body))
            node.body.visit(scanner)
            body = node.body.visit(_BodyRewriter(state, by_local, self.aio, scanner.facts.lowered))
            if statements:
                body = _insert_after_docstring(body, statements)  # type: ignore[arg-type]
        removed = {id(dep.param) for dep in deps}
        return node.with_changes(
            decorators=new_decorators,
            params=_without(node.params, removed),
            body=body,
            asynchronous=None,
        )

def _runtime_only(form: str, deps: list[Dependency], index: int) -> bool:
    """Whether the migrated function needs a counterpart of the bundled runtime (DM136 under
    ``--target doeff``): the pass form, a dependency bound as a callable or through
    ``call_dependency``, the resolver, or decorators above the pinjected one (``injected_proxy``)."""
    return (
        form == "pass" or index > 0
        or any(dep.binding in ("callable", "call") or dep.key == forms.RESOLVER_KEY for dep in deps)
    )


CLASS_LEFT_AS_IS = "`@injected` class left as it is: its constructor (`@class_binding`) exists in the bundled runtime only"

# Notes on migrated functions, not reasons they were left: a dead dependency default, an unawaited
# async dependency call kept as the no-op it was.
_NOTES = {DEPENDENCY_DEFAULT.code, UNAWAITED_ASYNC_DEPENDENCY.code}
_EARLIER_FLAG = re.compile(r"# doeff-migrate: (DM1\d\d): (.*)$")


def _earlier_flags(node: cst.FunctionDef) -> list[tuple[str, str]]:
    """``# doeff-migrate: DM1xx`` comments that block migration above the definition (``_NOTES`` do not)."""
    found = []
    for line in node.leading_lines:
        match = _EARLIER_FLAG.match(line.comment.value) if line.comment else None
        if match and match.group(1) not in _NOTES:
            found.append((match.group(1), match.group(2)))
    return found


def _docstring_count(body: cst.BaseSuite) -> int:
    """1 if the block starts with a docstring, else 0."""
    stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    if stmts and isinstance(stmts[0], cst.SimpleStatementLine) and len(stmts[0].body) == 1:
        first = stmts[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
            return 1
    return 0


def _insert_after_docstring(body: cst.IndentedBlock, statements: list[cst.BaseStatement]) -> cst.IndentedBlock:
    stmts = list(body.body)
    at = _docstring_count(body)
    if isinstance(body, cst.IndentedBlock):
        return body.with_changes(body=[*stmts[:at], *statements, *stmts[at:]])
    return body


def _without(params: cst.Parameters, removed: set[int]) -> cst.Parameters:
    posonly = [p for p in params.posonly_params if id(p) not in removed]
    regular = [p for p in params.params if id(p) not in removed]
    kwonly = [p for p in params.kwonly_params if id(p) not in removed]
    star_arg = params.star_arg
    if not kwonly and isinstance(star_arg, cst.ParamStar):
        # A bare ``*`` must be followed by a keyword-only parameter.
        star_arg = cst.MaybeSentinel.DEFAULT
    new = params.with_changes(
        posonly_params=posonly,
        posonly_ind=params.posonly_ind if posonly else cst.MaybeSentinel.DEFAULT,
        params=regular,
        kwonly_params=kwonly,
        star_arg=star_arg,
    )
    return _fix_trailing_comma(new)


def _fix_trailing_comma(params: cst.Parameters) -> cst.Parameters:
    """A comma left behind by a removed last parameter is dropped unless it ends a line."""
    order: list[tuple[str, int | None]] = []
    order += [("posonly_params", i) for i in range(len(params.posonly_params))]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        order.append(("posonly_ind", None))
    order += [("params", i) for i in range(len(params.params))]
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        order.append(("star_arg", None))
    order += [("kwonly_params", i) for i in range(len(params.kwonly_params))]
    if params.star_kwarg is not None:
        order.append(("star_kwarg", None))
    if not order:
        return params
    attr, i = order[-1]
    last = getattr(params, attr) if i is None else getattr(params, attr)[i]
    comma = getattr(last, "comma", cst.MaybeSentinel.DEFAULT)
    if isinstance(comma, cst.Comma) and "\n" not in cst.Module([]).code_for_node(comma):
        fixed = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if i is None:
            return params.with_changes(**{attr: fixed})
        items = list(getattr(params, attr))
        items[i] = fixed
        return params.with_changes(**{attr: items})
    return params


transform = register(
    Transform(
        __name__,
        phase="di",
        order=10,
        transformer=InjectedFunctions,
        description="@injected/@instance functions -> @do functions with `yield Ask(...)` dependencies",
    )
)

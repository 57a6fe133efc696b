"""The ``di`` phase's migrate/refuse decisions: which pinjected providers of a module migrate, in which form,
and what keeps the others pinjected (flagged).

Depends on the index, the parsed tree and the shared helpers only, never on a transform: the index asks
it which providers of a module stay pinjected (``decisions.py``), and ``transforms/injected_functions.py``
rewrites what it decided (reusing the decisions taken for the same tree: :class:`ModuleDecisions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from . import pinjected_names as pn
from .body_scan import AsyncioNames, BodyFacts, BodyScanner, Dependency, module_level_rebinds
from .cst_walk import names_in
from .rules.di import DEPENDENCY_DEFAULT, DEPENDS_ON_UNMIGRATED, EAGER_INSTANCE, INJECTED_GENERATOR, INSTANCE_STAR_PARAMS, RESOLVER_SPECIAL, RUNTIME_ONLY_COUNTERPART, STACKED_DECORATOR, UNAWAITED_ASYNC_DEPENDENCY
from .rules.di_calls import AWAITED_SYNC_DEPENDENCY, EVENT_LOOP_API, GATHER_WITH_OPTIONS, STOP_ITERATION_ESCAPES
from .state import FileState
from .transforms import decorators_above
from .transforms import dependency_forms as forms

__all__ = ["Decision", "ModuleDecisions", "ProviderDecider", "decide_providers", "earlier_flags", "refusal", "runtime_only"]

_CONTEXT_MANAGER_DECORATORS = decorators_above.CONTEXT_MANAGER_DECORATORS


@dataclass
class Decision:
    """One decorated function's decision: what keeps it pinjected (``problems``, empty when it migrates),
    the form it migrates to and its dependencies as classified (their ``binding`` chosen)."""

    node: cst.FunctionDef
    index: int  # of the pinjected decorator in ``node.decorators``
    deps: list[Dependency]
    problems: list[tuple[str, str | None]]
    form: str
    body: BodyFacts
    """The scan of ``node.body`` the decision was taken from (the rewrite follows the same scan)."""
    body_names: dict[str, int] | None = None
    """``cst_walk.name_counts(node.body)`` if the scan counted them (``None``: it needed no counts)."""


class ProviderDecider:
    """Decides the pinjected functions of one module (``read_module`` first: the module-level facts)."""

    def __init__(self, state: FileState) -> None:
        self.state = state
        self.aio = AsyncioNames()
        self.rebound: set[str] = set()
        self.plain_functions: dict[str, cst.FunctionDef] = {}  # undecorated module functions (decorators_above)

    def read_module(self, module: cst.Module) -> None:
        self.aio = AsyncioNames(module)
        self.rebound = module_level_rebinds(module)
        self.plain_functions = {n.name.value: n for n in module.body if isinstance(n, cst.FunctionDef) and not n.decorators}

    def same_module_facts(self, other: ProviderDecider) -> bool:
        """Whether ``other`` read a module with the same module-level facts (decisions taken by one hold for the other)."""
        return (
            self.state.facts is other.state.facts and self.state.index is other.state.index
            and self.state.names == other.state.names
            and self.aio.modules == other.aio.modules and self.aio.names == other.aio.names
            and self.rebound == other.rebound
            and self.plain_functions.keys() == other.plain_functions.keys()
            and all(node is other.plain_functions[name] for name, node in self.plain_functions.items())
        )

    def decide(self, node: cst.FunctionDef, index: int, kind: str) -> Decision:
        """The decision for ``node``, whose pinjected decorator is ``node.decorators[index]`` of ``kind``."""
        deps = self.dependencies(node.params, kind)
        for dep in deps:
            self.classify(dep)
        # The body's name counts (for lowering comprehensions) are counted only if a comprehension needs them.
        scanner = BodyScanner({dep.local: dep for dep in deps}, self.aio, lambda: forms.name_counts(node.body))
        body = scanner.scan(node.body)
        problems, form = self.blockers(node, index, kind, deps, body)
        return Decision(node, index, deps, problems, form, body, scanner.counts if isinstance(scanner.counts, dict) else None)

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

    def blockers(
        self, node: cst.FunctionDef, index: int, kind: str, deps: list[Dependency], facts: BodyFacts
    ) -> tuple[list[tuple[str, str | None]], str]:
        """What keeps the function from migrating, and the form it migrates to.

        Forms: ``"pass"`` (the function kept as written under ``@pass_dependencies``: generators,
        context-manager providers, decorators stacked under the pinjected one), ``"coroutine"`` (an
        async body with ``async with`` / ``async for`` / ``await`` in a nested expression, run
        unchanged through ``Await``), ``"body"`` (the ``@do`` body with ``yield`` statements).
        ``facts``: the scan of the body for ``deps``.
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


def runtime_only(form: str, deps: list[Dependency], index: int) -> bool:
    """Whether the migrated function needs a counterpart of the bundled runtime (DM136 under
    ``--target doeff``): the pass form, a dependency bound as a callable or through
    ``call_dependency``, the resolver, or decorators above the pinjected one (``injected_proxy``)."""
    return (
        form == "pass" or index > 0
        or any(dep.binding in ("callable", "call") or dep.key == forms.RESOLVER_KEY for dep in deps)
    )


def refusal(decision: Decision, target: str) -> list[tuple[str, str | None]]:
    """What keeps the decided function pinjected under ``target`` (empty: it migrates)."""
    if not decision.problems and target != "runtime" and runtime_only(decision.form, decision.deps, decision.index):
        return [(RUNTIME_ONLY_COUNTERPART.code, None)]
    return decision.problems


# Notes on migrated functions, not reasons they were left: a dead dependency default, an unawaited
# async dependency call kept as the no-op it was.
_NOTES = {DEPENDENCY_DEFAULT.code, UNAWAITED_ASYNC_DEPENDENCY.code}
_EARLIER_FLAG = re.compile(r"# doeff-migrate: (DM1\d\d): (.*)$")


def earlier_flags(node: cst.FunctionDef) -> list[tuple[str, str]]:
    """``# doeff-migrate: DM1xx`` comments that block migration above the definition (``_NOTES`` do not)."""
    found = []
    for line in node.leading_lines:
        match = _EARLIER_FLAG.match(line.comment.value) if line.comment else None
        if match and match.group(1) not in _NOTES:
            found.append((match.group(1), match.group(2)))
    return found


@dataclass
class ModuleDecisions:
    """The decisions for one parsed module, taken by ``decider`` in the order the ``di`` pass meets the
    functions: ``unmigrated`` are the names left pinjected (flagged), ``by_node`` the decided functions
    (``id`` of the node; the decision keeps the node alive)."""

    decider: ProviderDecider
    unmigrated: set[str]
    by_node: dict[int, Decision]

    def take(self, node: cst.FunctionDef, decider: ProviderDecider) -> Decision | None:
        """The decision for this very ``node`` when ``decider`` read the same module-level facts, at most once
        (the rewrite changes the decision's dependencies)."""
        decision = self.by_node.get(id(node))
        if decision is None or decision.node is not node or not decider.same_module_facts(self.decider):
            return None
        del self.by_node[id(node)]
        return decision


class _Walk(cst.CSTVisitor):
    """Meets the decorated functions as ``InjectedFunctions`` does: top-level statements, and the bodies of
    functions and classes only when the index saw a decorated definition nested in one."""

    def __init__(self, decider: ProviderDecider) -> None:
        super().__init__()
        self.decider = decider
        self.state = decider.state
        self.depth = 0
        self.unmigrated: set[str] = set()
        self.by_node: dict[int, Decision] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.depth += 1
        return self.state.facts.nested_decorated

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return self.state.facts.nested_decorated

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False  # decorated definitions are compound statements

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1
        found = self.decider.pinjected_decorator(original_node)
        if found is None or found[1] == "pytest":
            return  # tests provide nothing
        name = original_node.name.value
        if self.depth > 0 or earlier_flags(original_node):
            self.unmigrated.add(name)  # nested, or flagged by an earlier run (stays authoritative)
            return
        if not self.state.in_range(original_node):
            return
        decision = self.decider.decide(original_node, *found)
        self.by_node[id(original_node)] = decision
        if refusal(decision, self.state.target):
            self.unmigrated.add(name)


def decide_providers(module: cst.Module, state: FileState) -> ModuleDecisions:
    """The decisions for the pinjected functions of ``module`` (the file of ``state``)."""
    decider = ProviderDecider(state)
    decider.read_module(module)
    walk = _Walk(decider)
    module.visit(walk)
    return ModuleDecisions(decider, walk.unmigrated, walk.by_node)

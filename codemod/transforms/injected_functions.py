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

import libcst as cst

from .. import pinjected_names as pn
from ..body_scan import AsyncioNames, BodyFacts, Dependency
from ..cst_walk import names_in, names_outside
from ..provider_decisions import ProviderDecider, earlier_flags, refusal
from ..state import FileState
from . import MigrationTransformer, Transform, register
from . import dependency_forms as forms
from ..rules.di import CLASS_INJECTION, DEPENDENCY_DEFAULT, NESTED_INJECTED, RUNNER_SPECIFIC, UNAWAITED_ASYNC_DEPENDENCY

CLASS_LEFT_AS_IS = "`@injected` class left as it is: its constructor (`@class_binding`) exists in the bundled runtime only"


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
    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.depth = 0
        self.decider = ProviderDecider(state)

    @property
    def aio(self) -> AsyncioNames:
        return self.decider.aio

    def visit_Module(self, node: cst.Module) -> None:
        self.decider.read_module(node)

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
        found = self.decider.pinjected_decorator(updated_node)
        if found is None:
            return updated_node
        index, kind = found
        if kind == "pytest":
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

    # -- rewrite ----------------------------------------------------------------------------
    def migrate(self, node: cst.FunctionDef, index: int, kind: str) -> cst.FunctionDef:
        earlier = earlier_flags(node)
        if earlier:
            # A flag from an earlier run stays authoritative until a human removes it: facts it was
            # based on (e.g. that a dependency was async) may be gone from the migrated code.
            self.state.unmigrated.add(node.name.value)
            for code, message in earlier:
                node = self.state.flag(node, code, message)
            return node
        # The index decided this very tree's functions when asked which providers stay pinjected: the
        # decision taken there holds here (same node, same module-level facts, same index answers).
        decided = self.state.index.decisions_of_migrated_module(self.state.module)
        decision = decided.take(node, self.decider) if decided is not None else None
        if decision is None or decision.index != index:
            decision = self.decider.decide(node, index, kind)
        deps, form = decision.deps, decision.form
        problems = refusal(decision, self.state.target)
        if problems:
            self.state.unmigrated.add(node.name.value)
            for code, message in problems:
                node = self.state.flag(node, code, message)
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
            result = self._as_do_function(node, index, deps, form, registration, decision.body, decision.body_names)
        for dep in deps:
            if dep.param.default is not None:
                result = state.flag(result, DEPENDENCY_DEFAULT.code, f"dependency `{dep.local}` had a default, which pinjected never used; the key `{dep.key}` is still required")
        # The decision's scan of this body (whose ``discarded_calls`` do not depend on the name counts it had).
        facts = decision.body
        for dep in deps:
            if dep.kind != "value" and dep.is_async and dep.local in facts.discarded_calls and form != "pass":
                result = state.flag(result, UNAWAITED_ASYNC_DEPENDENCY.code, f"async injected dependency `{dep.local}` is called without `await`: the call does nothing, as under pinjected; fix it consciously")
        if kind == "instance":
            state.migrated_instances.append(node.name.value)
        return result

    def _as_do_function(
        self, node: cst.FunctionDef, index: int, deps: list[Dependency], form: str, registration: list,
        facts: BodyFacts, body_names: dict[str, int] | None,
    ) -> cst.FunctionDef:
        """The ``@do`` function of the body or coroutine form: asks at the top, then the body.

        ``facts`` / ``body_names``: the decision's scan of the body and its name counts (``None``: not counted)."""
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
            taken = names_in(node) if body_names is None else names_outside(node, "body") | body_names.keys()
            body = forms.coroutine_body(state, node, forms.free_name(taken), head, statements)
        else:
            by_local = {dep.local: dep for dep in deps}
            body = node.body.visit(_BodyRewriter(state, by_local, self.aio, facts.lowered))
            if statements:
                body = _insert_after_docstring(body, statements)  # type: ignore[arg-type]
        removed = {id(dep.param) for dep in deps}
        return node.with_changes(
            decorators=new_decorators,
            params=_without(node.params, removed),
            body=body,
            asynchronous=None,
        )

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

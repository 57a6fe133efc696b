"""The provider body scan walks the nodes' fields (``cst_walk.child_fields``) instead of running a
``CSTVisitor``: it must reach the nodes a visitor reaches, in the visitor's order, and find what the
visitor-based scan found. The reference here is that visitor-based scan, kept as it was."""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest

from doeff_migrate.codemod.body_scan import AsyncioNames, BodyFacts, BodyScanner, Dependency
from doeff_migrate.codemod.cst_walk import child_fields, name_counts, names_in, names_outside
from doeff_migrate.codemod.transforms import dependency_forms as forms
from doeff_migrate.codemod.body_scan import _LOOP_BOUND, _NEEDS_RUNNING_LOOP

ROOT = Path(__file__).resolve().parents[2]

TRICKY = dedent(
    '''
    import asyncio
    from asyncio import gather as g, create_task

    async def a(dep, other, /, x, *, k=1):
        """Doc."""
        loop = asyncio.get_running_loop() if x else asyncio.get_event_loop()
        t = create_task(dep(x)) if other(x) else asyncio.ensure_future(other(1))
        ys = [dep(i) for i in x if i]
        zs = {i: other(i) for i in range(3)}
        f = lambda v: dep(v)
        try:
            n = next(iter(x))
            await dep(x)
        except StopIteration as exc:
            raise StopIteration from exc
        finally:
            other(x)
        r, s = await asyncio.gather(dep(1), other(2))
        q = await g(dep(1), return_exceptions=True)
        async with dep(x) as cm:
            async for item in other(cm):
                print(item, key=dep)
        other.attr(dep).more[dep(2)]
        dep(3)
        w = (await dep(4)) + sum([await other(i) for i in x])
        print(f"{dep(5)!r:>{other(6)}}")
        if (m := dep(7)):
            del m
        match x:
            case [1, *rest] if dep(rest):
                pass
            case {"k": v}:
                other(v)
        def inner():
            return dep
        class C(other):
            y = dep
        raise StopAsyncIteration
        return next(x)

    def b(dep, /, y):
        acc = [dep(v) for v in y]
        total = 0
        for w in acc:
            total += dep(w)
        while dep(total):
            yield total
        with open(y) as fh, dep(fh) as g2:
            pass
        return (yield dep), not dep(1) if y else -dep(2), dep(3)[1:dep(4):2], {**dep(5)}, *dep(6),
    '''
)


class ReferenceScanner(cst.CSTVisitor):
    """The visitor-based scan the field walk replaced (the same hooks, as a ``CSTVisitor``)."""

    def __init__(self, deps, aio=None, counts=None) -> None:
        super().__init__()
        self.deps = deps
        self.aio = aio or AsyncioNames()
        self.facts = BodyFacts()
        self.counts = counts
        self.nested = 0
        self.protected = 0
        self.callee_ids: set[int] = set()
        self.awaited_ids: set[int] = set()
        self.gathered_ids: set[int] = set()
        self.optioned_ids: set[int] = set()

    def _nested_scope(self, node) -> bool:
        self.facts.nested_uses |= names_in(node) & set(self.deps)
        return False

    def visit_FunctionDef(self, node) -> bool:
        return self._nested_scope(node)

    def visit_ClassDef(self, node) -> bool:
        return self._nested_scope(node)

    def _enter(self, node) -> None:
        if id(node) not in self.facts.lowered:
            self.nested += 1

    def _leave(self, node) -> None:
        if id(node) not in self.facts.lowered:
            self.nested -= 1

    def visit_Assign(self, node) -> None:
        if (
            self.counts is not None and not self.nested and not self.protected
            and names_in(node.value) & set(self.deps) and forms.lowerable(node, self.counts)
        ):
            self.facts.lowered.add(id(node.value))

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter
    leave_Lambda = leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave

    def visit_Yield(self, node) -> None:
        self.facts.has_yield = True

    def visit_Expr(self, node) -> None:
        call = node.value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in self.deps:
            self.facts.discarded_calls.add(call.func.value)

    def visit_Await(self, node) -> None:
        if self.nested:
            self.facts.awaits_nested = True
        self.awaited_ids.add(id(node.expression))
        if self.aio.is_plain_gather(node.expression):
            for arg in node.expression.args:
                self.awaited_ids.add(id(arg.value))
                self.gathered_ids.add(id(arg.value))
        elif self.aio.is_gather(node.expression):
            for arg in node.expression.args:
                self.optioned_ids.add(id(arg.value))

    def visit_Try(self, node) -> bool:
        self.protected += 1
        node.body.visit(self)
        self.protected -= 1
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                part.visit(self)
        return False

    def visit_Raise(self, node) -> None:
        exc = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        if isinstance(exc, cst.Name) and exc.value in ("StopIteration", "StopAsyncIteration"):
            self.facts.stop_iteration = True

    def visit_With(self, node) -> None:
        if node.asynchronous is not None:
            self.facts.async_with_for = True

    visit_For = visit_CompFor = visit_With

    def visit_Call(self, node) -> None:
        attr = self.aio.attr_of(node.func)
        if attr in _LOOP_BOUND:
            self.facts.loop_bound = True
        if attr in _NEEDS_RUNNING_LOOP and self.facts.event_loop_api is None:
            self.facts.event_loop_api = f"asyncio.{attr}"
        if (
            isinstance(node.func, cst.Name) and node.func.value == "next" and not self.protected
            and len(node.args) == 1 and not node.args[0].star and "next" not in self.deps
        ):
            self.facts.stop_iteration = True
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

    def visit_Attribute(self, node) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node) -> bool:
        node.value.visit(self)
        return False

    def visit_AssignTarget(self, node) -> None:
        self.facts.assigned |= names_in(node.target)

    def visit_Name(self, node) -> None:
        if node.value in self.deps and id(node) not in self.callee_ids:
            (self.facts.nested_uses if self.nested else self.facts.value_uses).add(node.value)


def _sources() -> list[tuple[str, str]]:
    found = [("tricky", TRICKY)]
    for folder in ("examples", "codemod"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found.append((str(path.relative_to(ROOT)), path.read_text()))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import codemod_corpora
    finally:
        sys.path.pop(0)
    return found, codemod_corpora


def _functions(module: cst.Module) -> list[cst.FunctionDef]:
    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[cst.FunctionDef] = []

        def visit_FunctionDef(self, node) -> None:
            self.found.append(node)

    collect = Collect()
    module.visit(collect)
    return collect.found


@pytest.fixture(scope="module")
def modules(tmp_path_factory) -> list[cst.Module]:
    found, corpora = _sources()
    root = tmp_path_factory.mktemp("real")
    corpora.generate_real(root, 1500)
    found += [(str(p), p.read_text()) for p in sorted(root.rglob("*.py"))]
    return [cst.parse_module(text) for _, text in found]


def _visitor_order(node: cst.CSTNode) -> list[cst.CSTNode]:
    class Order(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[cst.CSTNode] = []

        def on_visit(self, node) -> bool:
            self.seen.append(node)
            return True

    order = Order()
    node.visit(order)
    return order.seen


def _field_order(node: cst.CSTNode) -> list[cst.CSTNode]:
    seen: list[cst.CSTNode] = []

    def walk(current: cst.CSTNode) -> None:
        seen.append(current)
        for field in child_fields(type(current)):
            value = getattr(current, field)
            for item in value if type(value) in (list, tuple) else (value,):
                if isinstance(item, cst.CSTNode):
                    walk(item)

    walk(node)
    return seen


def test_child_fields_reach_the_nodes_a_visitor_reaches_in_its_order(modules):
    for module in modules:
        by_fields = _field_order(module)
        reached = {id(n) for n in by_fields}
        by_visitor = _visitor_order(module)
        # Only layout (whitespace, brackets, commas, operators) is left out, never a name, a call or a statement.
        for node in by_visitor:
            if isinstance(node, (cst.Name, cst.Call, cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.BaseExpression)):
                assert id(node) in reached, type(node).__name__
        assert [id(n) for n in by_visitor if id(n) in reached] == [id(n) for n in by_fields]


def test_the_field_walk_scan_finds_what_the_visitor_scan_found(modules):
    compared = 0
    for module in modules:
        aio = AsyncioNames(module)
        for function in _functions(module):
            params = [*function.params.posonly_params, *function.params.params, *function.params.kwonly_params]
            counts = name_counts(function.body)
            # Every parameter and every called name as a dependency: the most the scan can find.
            locals_ = {p.name.value for p in params} | {name for name in counts if name in {"dep", "other", "next", "print"}}
            deps = {name: Dependency(params[0] if params else None, name, name) for name in sorted(locals_)}
            for with_counts in (counts, None):
                reference = ReferenceScanner(deps, aio, with_counts)
                function.body.visit(reference)
                assert BodyScanner(deps, aio, with_counts).scan(function.body) == reference.facts, function.name.value
            compared += 1
    assert compared > 500


def test_the_tricky_bodies_find_every_kind_of_fact():
    module = cst.parse_module(TRICKY)
    aio = AsyncioNames(module)
    a, b = (f for f in module.body if isinstance(f, cst.FunctionDef))
    deps = {name: Dependency(None, name, name) for name in ("dep", "other")}
    facts = BodyScanner(deps, aio, name_counts(a.body)).scan(a.body)
    assert facts.event_loop_api == "asyncio.get_running_loop"  # the first in source order (``IfExp.body`` before its test)
    assert facts.loop_bound and facts.stop_iteration and facts.async_with_for and facts.awaits_nested
    assert {"dep", "other"} <= facts.nested_uses and facts.gathered_calls == {"dep", "other"}
    assert "dep" in facts.gather_with_options and "dep" in facts.discarded_calls and "dep" in facts.value_uses
    b_facts = BodyScanner(deps, aio, name_counts(b.body)).scan(b.body)
    assert b_facts.has_yield and len(b_facts.lowered) == 1 and "dep" in b_facts.called


def test_names_outside_a_field_and_the_field_s_names_are_the_names_in_the_node(modules):
    for module in modules:
        for function in _functions(module):
            assert names_outside(function, "body") | name_counts(function.body).keys() == names_in(function)


def test_name_counts_skipping_layout_fields_count_what_a_visitor_counts(modules):
    class Count(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.counts: dict[str, int] = {}

        def visit_Name(self, node) -> None:
            self.counts[node.value] = self.counts.get(node.value, 0) + 1

    for module in modules:
        for node in [module, *_functions(module)]:
            count = Count()
            node.visit(count)
            assert name_counts(node) == count.counts

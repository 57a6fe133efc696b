"""Statements that become loops of spawns and waits: spawn comprehensions, ``ex.map`` and result comprehensions.

A loop, unlike a comprehension, binds its variable in the function, so a loop gets a fresh variable when the
comprehension's is used elsewhere too. Waits stay in list order, as the original code waited.
"""

from __future__ import annotations

import libcst as cst

from ..rules.phases import REMOTE_CALL_IN_EXPRESSION, UNTRACED_OBJECT_REF
from .compute_spawns import Refusal
from .compute_tasks import TASK_VAR, is_result_call
from .effectful_code import name_counts, target_names, yielded

_LOOP_VAR = "_doeff_migrate_item"
_INDEX_VAR = "_doeff_migrate_index"

class _Rename(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=self.new) if updated_node.value == self.old else updated_node


def _has_scope(node: cst.CSTNode) -> bool:
    """A lambda or comprehension inside ``node`` (a name there may be its own, not the renamed one)."""
    found = False

    class _Finder(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            nonlocal found
            found = found or isinstance(n, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp))
            return not found

    node.visit(_Finder())
    return found


class SpawnLoops:
    """The loop-building half of the compute body rewriter (mixed into it; it owns the state used here)."""

    def results_loop(self, stmt: cst.SimpleStatementLine, name: str, value: cst.BaseExpression):
        """``ys = [t.result() for t in ts]`` over a rewritten task list -> ``ys = []`` + ``for t in ts:
        ys.append((yield Wait(t)))``: waited in list order, as the comprehension did, so the error raised is
        the first failing task's *in the list* (``Gather`` would raise the first to fail in time)."""
        if not isinstance(value, cst.ListComp):
            return None
        tasks = self.gathered_results(value)
        if tasks is None:
            return None
        target = value.for_in.target.value  # type: ignore[attr-defined]
        if self.name_counts.get(target, 0) != name_counts(value).get(target, 0):
            target = TASK_VAR  # the comprehension's variable is used elsewhere: a loop would rebind it
        wait = yielded(cst.Call(cst.Name(self.need("Wait")), [cst.Arg(cst.Name(target))]))
        append = cst.SimpleStatementLine([cst.Expr(cst.Call(cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(wait)]))])
        init = stmt.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name(name))], cst.List([]))])
        return cst.FlattenSentinel([init, cst.For(target=cst.Name(target), iter=cst.Name(tasks), body=cst.IndentedBlock([append]))])

    def gathered_results(self, node: cst.ListComp) -> str | None:
        """``[f.result() for f in futures]`` over a rewritten task list -> its name."""
        comp = node.for_in
        if comp.ifs or comp.inner_for_in is not None or comp.asynchronous is not None:
            return None
        if not (isinstance(comp.target, cst.Name) and isinstance(comp.iter, cst.Name) and comp.iter.value in self.task_lists):
            return None
        elt = node.elt
        if is_result_call(elt) and isinstance(elt.func.value, cst.Name) and elt.func.value.value == comp.target.value:  # type: ignore[attr-defined]
            return comp.iter.value
        return None

    def comprehension_loop(self, stmt: cst.SimpleStatementLine, name: str, value: cst.BaseExpression):
        """``xs = [<spawn> for v in it]`` -> ``xs = []`` + ``for v in it: xs.append((yield Spawn(...)))``."""
        if not isinstance(value, cst.ListComp) or name not in self.assigned_once:
            return None
        if name not in self.followed:
            if self.is_spawn_call(value.elt):
                self.frames[-1].append((UNTRACED_OBJECT_REF.code, f"the tasks in `{name}` are used in ways the codemod cannot follow "
                                                 f"(only `ray.get({name})` and `[f.result() for f in {name}]` are rewritten)"))
            return None
        comp = value.for_in
        if comp.inner_for_in is not None or comp.asynchronous is not None or len(comp.ifs) > 1:
            return None
        # A loop, unlike a comprehension, binds its variable in the function: when the name is used elsewhere
        # too, the loop gets a fresh one.
        loop_vars = target_names(comp.target)
        if (isinstance(comp.target, cst.Name) and _LOOP_VAR not in self.name_counts
                and self.name_counts.get(comp.target.value, 0) != name_counts(value).get(comp.target.value, 0)
                and not any(_has_scope(n) for n in (value.elt, *(i.test for i in comp.ifs)))):
            renamer = _Rename(comp.target.value, _LOOP_VAR)
            value = value.with_changes(elt=value.elt.visit(renamer), for_in=comp.with_changes(
                target=cst.Name(_LOOP_VAR), ifs=[i.visit(renamer) for i in comp.ifs]))
            comp = value.for_in
            loop_vars = set()  # fresh: used nowhere else
        try:
            spawned = self.spawn_of(value.elt)
        except Refusal:
            return None
        if spawned is None:
            return None
        outside = name_counts(value)
        # The loop variable must not be used elsewhere in the function: a loop, unlike a comprehension, binds it.
        if any(self.name_counts.get(v, 0) != outside.get(v, 0) for v in loop_vars):
            self.frames[-1].append((REMOTE_CALL_IN_EXPRESSION.code, "the comprehension's variable is also used elsewhere in the function"))
            return None
        try:
            spawn = self.build_spawn(spawned)
        except Refusal as refusal:
            self.frames[-1].append((refusal.code, refusal.message))
            return None
        append = cst.SimpleStatementLine(
            [cst.Expr(cst.Call(cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(spawn)]))]
        )
        body: cst.BaseStatement = append
        if comp.ifs:
            body = cst.If(test=comp.ifs[0].test, body=cst.IndentedBlock([append]))
        init = stmt.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name(name))], cst.List([]))])
        loop = cst.For(target=comp.target, iter=comp.iter, body=cst.IndentedBlock([body]))
        self.task_lists.add(name)
        return cst.FlattenSentinel([init, loop])

    def map_loop(self, stmt: cst.SimpleStatementLine, name: str, value: cst.BaseExpression):
        """``xs = list(ex.map(f, it))`` -> spawn one task per item, then ``xs = yield Gather(*xs)``."""
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "list"
                and value.func.value not in self.shadowed and len(value.args) == 1):
            return None
        inner = value.args[0].value
        if not (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and inner.func.attr.value == "map"
                and isinstance(inner.func.value, cst.Name) and inner.func.value.value in self.executors):
            return None
        if (len(inner.args) != 2 or any(a.keyword or a.star for a in inner.args) or _LOOP_VAR in self.name_counts
                or _INDEX_VAR in self.name_counts or {"range", "len"} & self.shadowed):
            return None  # several iterables, timeout/chunksize: left for DM209
        if self.holds_task_or_ref(inner.args[0].value) or self.holds_task_or_ref(inner.args[1].value):
            return None
        func, items = inner.args[0].value, inner.args[1].value
        spawn = yielded(cst.Call(cst.Name(self.need("Spawn")), [cst.Arg(cst.Call(cst.Name(self.need_helper()), [cst.Arg(func), cst.Arg(cst.Name(_LOOP_VAR))]))]))
        append = cst.SimpleStatementLine([cst.Expr(cst.Call(cst.Attribute(cst.Name(name), cst.Name("append")), [cst.Arg(spawn)]))])
        init = stmt.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name(name))], cst.List([]))])
        loop = cst.For(target=cst.Name(_LOOP_VAR), iter=items, body=cst.IndentedBlock([append]))
        # Then the results, waited in order as ``list(ex.map(...))`` does (the first failure *in the list* is raised).
        index = cst.Name(_INDEX_VAR)
        item = cst.Subscript(cst.Name(name), [cst.SubscriptElement(cst.Index(index))])
        wait = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(item)], cst.Yield(cst.Call(cst.Name(self.need("Wait")), [cst.Arg(item)])))])
        waits = cst.For(target=index, iter=cst.Call(cst.Name("range"), [cst.Arg(cst.Call(cst.Name("len"), [cst.Arg(cst.Name(name))]))]),
                        body=cst.IndentedBlock([wait]))
        return cst.FlattenSentinel([init, loop, waits])

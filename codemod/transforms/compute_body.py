"""The compute body rewriter: one ``@do`` function's own scope, its spawns, waits and flags.

Spawns are recognised by :class:`~.compute_spawns.SpawnRecognition`, loops built by
:class:`~.compute_loops.SpawnLoops`; this class walks the statements, turns ``ray.get`` / ``.result()`` of
followed tasks into ``Wait`` / ``Gather`` and writes the flags collected per statement.
"""

from __future__ import annotations

import libcst as cst

from ..rules.phases import EXECUTOR_IN_EFFECTFUL_CODE, TASKS_UNDER_LOCK, UNTRACED_OBJECT_REF
from .compute_loops import SpawnLoops
from .compute_pools import thread_pools
from .compute_spawns import Refusal, SpawnRecognition
from .compute_tasks import TaskConsumers, assign_counts, is_result_call
from .effectful_code import bare_yields, local_names, name_counts, yielded

class BodyRewriter(SpawnLoops, SpawnRecognition, cst.CSTTransformer):
    """Rewrites one ``@do`` function's own scope; ``dry`` counts rewrites without flagging."""

    def __init__(self, owner, func: cst.FunctionDef, allowed: set[str], dry: bool) -> None:
        super().__init__()
        self.owner = owner
        self.state = owner.state
        self.imports = owner.imports
        self.allowed = allowed
        self.dry = dry
        self.shadowed = local_names(func)
        counts = name_counts(func.body)
        self.assigned_once = {n for n, c in assign_counts(func).items() if c == 1}
        self.name_counts = counts
        self.tasks: set[str] = set()
        self.task_lists: set[str] = set()
        self.spawns: set[int] = set()  # ids of the generated ``(yield Spawn(...))`` nodes
        self.executors, self.refused_pools = thread_pools(func, self)
        self.executor_ctors = set(self.executors.values())
        # Where a spawn may stand: its task must reach only Wait/Gather (see ``TaskConsumers``).
        consumers = TaskConsumers(self)
        func.body.visit(consumers)
        self.followed = consumers.followed(counts)
        self.ray_bound = consumers.ray_bound
        self.positions: set[int] = set()  # ids of remote calls standing where their task can be followed
        self.frames: list[list[tuple[str, str | None]]] = [[]]  # flags per enclosing statement

    # nested scopes are not this function's body
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._flag_inside(node)
        return False

    def _comp(self, node: cst.CSTNode) -> bool:
        self._flag_inside(node)
        return False

    visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp  # type: ignore[assignment]

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        if self.gathered_results(node) is None:
            self._flag_inside(node)
        return False

    def _flag_inside(self, node: cst.CSTNode) -> None:
        """Ray calls where no ``yield`` can go are flagged on the enclosing statement."""
        rewriter = self

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                problem = rewriter.problem_of(call, nested=True)
                if problem is not None:
                    rewriter.frames[-1].append(problem)

        node.visit(_Finder())

    # -- statements -----------------------------------------------------------------------------------------
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.frames.append([])

    def _enter_compound(self, node: cst.CSTNode) -> None:
        self.frames.append([])

    def _leave_compound(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        return self.flush(updated_node)

    visit_If = visit_For = visit_While = visit_Try = _enter_compound  # type: ignore[assignment]

    def visit_With(self, node: cst.With) -> bool:
        self.frames.append([])
        if self.owner.is_lock_block(node, self.shadowed):
            # A `yield` here would park this task holding the lock; the next task taking the lock would block the
            # scheduler's thread, and the holder would never resume. Nothing in the block is rewritten.
            if self.holds_task_or_ref(node.body):
                self.frames[-1].append((TASKS_UNDER_LOCK.code, None))
            return False
        return True
    leave_If = leave_For = leave_While = leave_Try = _leave_compound  # type: ignore[assignment]

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        stmt = self.flush(updated_node)
        item = updated_node.items[0]
        if (
            len(updated_node.items) == 1
            and id(original_node.items[0].item) in self.executor_ctors
            and isinstance(item.asname, cst.AsName)
            and isinstance(item.asname.name, cst.Name)
            and name_counts(updated_node.body).get(item.asname.name.value, 0) == 0
            and isinstance(updated_node.body, cst.IndentedBlock)
            and not self.dry
        ):
            # Every use of the pool became a Spawn: the idle pool goes, its body stays (one level up).
            body = list(updated_node.body.body)
            body[0] = body[0].with_changes(leading_lines=[*stmt.leading_lines, *body[0].leading_lines])
            return cst.FlattenSentinel(body)
        return stmt

    def flush(self, stmt):
        """Write the flags collected for ``stmt`` (each code once) and close its frame."""
        seen: set[str] = set()
        for code, message in self.frames.pop():
            if code not in seen:
                seen.add(code)
                stmt = self.flag(stmt, code, message)
        return stmt

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if len(updated_node.body) == 1:
            small = updated_node.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                name = small.targets[0].target.value
                loop = self.results_loop(updated_node, name, original_node.body[0].value)  # type: ignore[attr-defined]
                if loop is None:
                    loop = self.comprehension_loop(updated_node, name, original_node.body[0].value)  # type: ignore[attr-defined]
                if loop is None:
                    loop = self.map_loop(updated_node, name, original_node.body[0].value)  # type: ignore[attr-defined]
                if loop is not None:
                    self.frames.pop()
                    return loop
        leftover = set(name_counts(updated_node)) & set(self.executors)
        for pool in sorted(leftover):
            self.frames[-1].append((EXECUTOR_IN_EFFECTFUL_CODE.code, f"`{pool}` is used in a way the codemod does not rewrite (only `{pool}.submit(f, ...)` "
                                              f"whose futures reach `.result()`, and `list({pool}.map(f, xs))`, are)"))
        return self.flush(bare_yields(updated_node) if updated_node is not original_node else updated_node)

    def flag(self, stmt, code: str, message: str | None):
        if self.dry:
            return stmt
        return self.state.flag(stmt, code, message)

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if len(updated_node.targets) == 1 and isinstance(updated_node.targets[0].target, cst.Name):
            name = updated_node.targets[0].target.value
            value = updated_node.value
            if isinstance(value, cst.Yield) and name in self.assigned_once and (id(value) in self.spawns or self.is_spawn(value)):
                self.tasks.add(name)
        return updated_node

    # -- expressions ----------------------------------------------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and node.targets[0].target.value in self.followed
            and node.targets[0].target.value in self.assigned_once
        ):
            self.positions.add(id(node.value))

    def visit_Call(self, node: cst.Call) -> bool:
        if is_result_call(node):  # ex.submit(f, x).result()
            self.positions.add(id(node.func.value))  # type: ignore[attr-defined]
        if self.qualify(node.func) == "ray.get" and len(node.args) == 1:
            ref = node.args[0].value
            self.positions.update(id(e.value) for e in getattr(ref, "elements", ()) if isinstance(e, cst.Element))
            self.positions.add(id(ref))
        # A remote call over another Ray call stays whole: rewriting only the inner one would hand a Task
        # where Ray passed the value (the outer call is refused and flagged in ``leave_Call``).
        if self.is_spawn_call(node) and any(self.holds_task_or_ref(a.value) for a in node.args[1 if self.is_submit(node) else 0:]):
            return False
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        waited = self.result_of(updated_node)
        if waited is not None:
            return waited
        if self.is_spawn_call(original_node):
            try:
                spawned = self.spawn_of(updated_node)
                if spawned is None:
                    return updated_node
                if id(original_node) not in self.positions:
                    raise Refusal(
                        UNTRACED_OBJECT_REF.code,
                        "the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` "
                        "whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)",
                    )
                spawn = self.build_spawn(spawned)
            except Refusal as refusal:
                self.frames[-1].append((refusal.code, refusal.message))
                return updated_node
            self.spawns.add(id(spawn))
            return spawn
        qualified = self.qualify(original_node.func)
        if qualified == "ray.get":
            rewritten = self.wait_of(updated_node)
            if rewritten is not None:
                return rewritten
        problem = self.problem_of(original_node, nested=False)
        if problem is not None:
            self.frames[-1].append(problem)
        return updated_node

    def result_of(self, call: cst.Call) -> cst.BaseExpression | None:
        """``t.result()`` of a task (``t = ex.submit(...)``, rewritten) -> ``yield Wait(t)``."""
        if not is_result_call(call):
            return None
        future = call.func.value  # type: ignore[attr-defined]
        if (isinstance(future, cst.Name) and future.value in self.tasks) or id(future) in self.spawns:
            return yielded(cst.Call(cst.Name(self.need("Wait")), [cst.Arg(future)]))
        return None

    def wait_of(self, call: cst.Call) -> cst.BaseExpression | None:
        if len(call.args) != 1 or call.args[0].keyword or call.args[0].star:
            return None
        ref = call.args[0].value
        if isinstance(ref, cst.Yield):  # ray.get(f.remote(x)): rewritten just now
            return yielded(cst.Call(cst.Name(self.need("Wait")), [cst.Arg(ref)]))
        if isinstance(ref, cst.Name) and ref.value in self.tasks:
            return yielded(cst.Call(cst.Name(self.need("Wait")), [cst.Arg(ref)]))
        if isinstance(ref, cst.Name) and ref.value in self.task_lists:
            return yielded(cst.Call(cst.Name(self.need("Gather")), [cst.Arg(ref, star="*")]))
        if isinstance(ref, cst.List) and ref.elements and all(
            isinstance(e, cst.Element) and isinstance(e.value, (cst.Name, cst.Yield))
            and (isinstance(e.value, cst.Yield) or e.value.value in self.tasks)
            for e in ref.elements
        ):
            return yielded(cst.Call(cst.Name(self.need("Gather")), [cst.Arg(e.value) for e in ref.elements]))
        return None

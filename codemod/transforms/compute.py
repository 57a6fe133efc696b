"""Ray tasks in ``@do`` functions -> ``Spawn`` / ``Wait`` / ``Gather``; what has no faithful form is flagged.

A migrated Ray task stays a real Ray task: ``f.remote(a)`` becomes ``yield Spawn(ray_task(f)(a))``
(``doeff_migrate.runtime.ray_backend.ray_task``: a program that submits ``f`` to Ray and awaits its value), so the
arguments are still copied when the task is created, a task mutating them or module globals does not touch the
driver's objects, ``max_retries`` / ``retry_exceptions`` / resource options hold and failures are Ray's own
``RayTaskError``.
``@ray.remote`` decorators stay, so other modules may keep calling ``f.remote``.
Rewritten, inside ``@do`` functions only (plain code keeps using Ray directly):

* ``ray.remote(f).remote(a)``, ``ray.remote(num_gpus=1)(f).remote(a)``, ``ray.remote(f).options(...).remote(a)``
  and ``g.remote(a)`` / ``g.options(...).remote(a)`` of a ``@ray.remote`` function ``g`` of the same file
  (bound once at module level) -> ``yield Spawn(ray_task(f, **options)(a))``;
* ``x = <spawn>`` and ``xs = [<spawn> for v in it]`` on their own line (the comprehension becomes a loop);
* ``ray.get(x)`` -> ``yield Wait(x)`` and ``ray.get(xs)`` / ``ray.get([a, b])`` -> ``yield Gather(...)``, only
  for tasks spawned by rewritten code of the same function (a list mixing them with other refs stays Ray's).

Thread pools (``with ThreadPoolExecutor() as ex:``, no constructor arguments: DM211, and no task used after the
block, whose end joins them: DM212): ``t = ex.submit(f, a)`` / ``ts = [ex.submit(f, v) for v in it]`` become
``Spawn(call_in_thread(f, a))`` (the package's generated ``effects_handlers.call_in_thread``, on the runtime's thread
pool), ``t.result()`` -> ``yield Wait(t)``, ``ys = [t.result() for t in ts]`` -> a loop waiting in list order,
``ys = list(ex.map(f, it))`` -> one spawn per item then in-order waits (the first failure *in the list* is raised,
as before); a pool left with no use is removed (its body stays). A task is rewritten only where all its uses
are such waits, so nothing ever receives a Task where it expected an ObjectRef or a Future. ``ProcessPoolExecutor`` is flagged (pickling and
processes have no thread form).
``asyncio.run(...)`` is left as it is and flagged (DM210): it blocks the whole program and cancels the tasks its
coroutine leaves behind, which ``yield Await(coro)`` would not (other tasks would run in between, leftovers would
keep running on the runtime's loop); other event-loop calls are flagged too.
Everything else Ray-related in a ``@do`` function is flagged (rules in ``codemod/rules/phases/ray.py``). Names are
resolved through the file's imports (``import ray as r``, ``from ray import get``); a name shadowed by a local
of the function is not Ray's.

The family's modules: ``compute_body`` (the per-function rewriter), ``compute_spawns`` (what is a spawn),
``compute_loops`` (comprehensions and ``ex.map`` as loops), ``compute_tasks`` (which tasks may be followed),
``compute_pools`` (which thread pools give way); the shared helpers are in ``effectful_code``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .. import pinjected_names as pn
from ..rules.phases import DOEFF_CODE_KEEPS_RAY
from ..state import FileState
from . import EFFECTFUL_FILE, MigrationTransformer, Transform, imports_any, register
from .compute_body import BodyRewriter
from .effectful_code import ImportTable, effectful_words, is_doeff_code, is_effectful, target_names

_LOCKS = {
    "threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore", "threading.Condition",
    "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Semaphore", "filelock.FileLock",
    "filelock.SoftFileLock", "filelock.UnixFileLock",
}

@dataclass
class RemoteFunction:
    name: str
    options: list[cst.Arg]


@dataclass
class Plan:
    """Which same-file ``@ray.remote`` functions can be spawned by name (bound once at module level)."""

    allowed: set[str] = field(default_factory=set)


class ComputeTransformer(MigrationTransformer):
    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.plan = Plan()
        self.remote_functions: dict[str, RemoteFunction] = {}
        self.actor_classes: set[str] = set()
        self.class_names: set[str] = set()
        self.do_functions: set[str] = set()
        self.module_functions: set[str] = set()
        self.module_locks: set[str] = set()
        self.depth = 0

    def visit_Module(self, node: cst.Module) -> None:
        self.imports = ImportTable(node, self.state)
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef):
                self.module_functions.add(stmt.name.value)
                if is_effectful(stmt, self.imports):
                    self.do_functions.add(stmt.name.value)
                options = self.ray_decorator(stmt)
                if options is not None:
                    self.remote_functions[stmt.name.value] = RemoteFunction(stmt.name.value, options)
            elif isinstance(stmt, cst.ClassDef):
                self.class_names.add(stmt.name.value)
                if self.ray_decorator(stmt) is not None:
                    self.actor_classes.add(stmt.name.value)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and (
                            self.imports.qualify(small.value.func) or "") in _LOCKS:
                        for t in small.targets:
                            self.module_locks |= target_names(t.target)
        # A @ray.remote function keeps its decorator (``ray_task`` spawns the RemoteFunction itself), so other
        # modules may go on calling ``f.remote``; only a name bound again at module level is ambiguous (DM206).
        rebound = _top_level_binding_counts(node)
        self.plan = Plan(allowed={n for n in self.remote_functions if rebound.get(n, 0) == 1})

    def statement_words(self) -> set[str]:
        # Only effectful functions are rewritten or flagged (``leave_FunctionDef``), and each shows its ``@do``.
        return effectful_words(self.imports)

    def is_lock_block(self, node: cst.With, shadowed: set[str]) -> bool:
        """``with <lock>:``: a lock constructed there, a module-level name bound to one, or any name that says it
        is a lock (``self._lock``, ``GPU_SEMAPHORE``): flagging a block that is not one is the safe mistake."""
        for item in node.items:
            expr = item.item
            if isinstance(expr, cst.Call) and (self.imports.qualify(expr.func, shadowed) or "") in _LOCKS:
                return True
            dotted = pn.dotted_cst(expr.func if isinstance(expr, cst.Call) else expr) or ""
            if dotted in self.module_locks and dotted not in shadowed:
                return True
            last = dotted.rpartition(".")[2].lower()
            if any(word in last for word in ("lock", "semaphore", "mutex")):
                return True
        return False

    def ray_decorator(self, node: cst.FunctionDef | cst.ClassDef) -> list[cst.Arg] | None:
        for deco in node.decorators:
            expr = deco.decorator
            if isinstance(expr, cst.Call) and self.imports.qualify(expr.func) == "ray.remote":
                return list(expr.args)
            if self.imports.qualify(expr) == "ray.remote":
                return []
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef):
        self.depth -= 1
        if not is_effectful(original_node, self.imports):
            return updated_node
        if is_doeff_code(original_node, self.imports, self.state):
            dry = BodyRewriter(self, updated_node, self.plan.allowed, dry=True)
            if not updated_node.body.visit(dry).deep_equals(updated_node.body):
                return self.state.flag(updated_node, DOEFF_CODE_KEEPS_RAY.code)
            return updated_node
        rewriter = BodyRewriter(self, updated_node, self.plan.allowed, dry=False)
        return updated_node.with_changes(body=updated_node.body.visit(rewriter))


def _top_level_binding_counts(module: cst.Module) -> dict[str, int]:
    """How often each name is bound at module level (defs, classes, assignments, imports)."""
    counts: dict[str, int] = {}

    def bind(names) -> None:
        for n in names:
            counts[n] = counts.get(n, 0) + 1

    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            bind([stmt.name.value])
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        bind(target_names(t.target))
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    bind(target_names(small.target))
                elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(getattr(small, "names", None), cst.ImportStar):
                    bind((a.evaluated_alias or a.evaluated_name).split(".")[0] for a in small.names)  # type: ignore[union-attr]
    return counts


transform = register(
    Transform(
        __name__,
        phase="compute",
        order=50,
        transformer=ComputeTransformer,
        description="ray tasks in @do functions -> Spawn(call_in_thread(f, ...), **options) / Wait / Gather",
        # Effectful code (@do, or @injected the di phase turns into it) that imports Ray or concurrent.futures,
        # or that reaches asyncio's event loop (the only asyncio calls this transform touches).
        prefilter=(
            (EFFECTFUL_FILE, imports_any(("ray", "concurrent"))),
            (EFFECTFUL_FILE, r"\basyncio[ \t]*\.[ \t]*(?:run|get_event_loop|new_event_loop|run_coroutine_threadsafe)\b"
                             r"|\bimport[ \t]+asyncio[ \t]+as\b|\bfrom[ \t]+asyncio[ \t]+import\b"),
        ),
    )
)

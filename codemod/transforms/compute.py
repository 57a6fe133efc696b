"""Ray tasks in ``@do`` functions -> ``Spawn`` / ``Wait`` / ``Gather``; what has no faithful form is flagged.

Seed 000: ``ray.remote(fn).remote(args) -> result = yield Spawn(fn, args)``. A migrated Ray task stays a real Ray
task: ``f.remote(a)`` becomes ``yield Spawn(ray_task(f)(a))`` (``doeff_migrate.runtime.ray_backend.ray_task``: a
program that submits ``f`` to Ray and awaits its value), so the arguments are still copied when the task is
created, a task mutating them or module globals does not touch the driver's objects, ``max_retries`` /
``retry_exceptions`` / resource options hold and failures are Ray's own ``RayTaskError`` (review F3, F8, F9).
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
as before); a pool left with no use is removed (its body stays). A task is rewritten only where all its uses are such waits, so nothing ever
receives a Task where it expected an ObjectRef or a Future. ``ProcessPoolExecutor`` is flagged (pickling and
processes have no thread form).
``asyncio.run(...)`` is left as it is and flagged (DM210): it blocks the whole program and cancels the tasks its
coroutine leaves behind, which ``yield Await(coro)`` would not (other tasks would run in between, leftovers would
keep running on the runtime's loop); other event-loop calls are flagged too.
Everything else Ray-related in a ``@do`` function is flagged (rules in ``codemod/rules/phases.py``). Names are
resolved through the file's imports (``import ray as r``, ``from ray import get``); a name shadowed by a local
of the function is not Ray's. This module also holds the import/effectful-code helpers the ``io`` and
``recording`` transforms share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .. import cst_walk
from .. import pinjected_names as pn
from libcst.codemod.visitors import AddImportsVisitor

from ..handler_stubs import record_need
from ..state import FileState
from . import EFFECTFUL_FILE, MigrationTransformer, Transform, imports_any, register

# -- shared helpers: the file's import table and effectful-code detection --------------------------------------

DO_DECORATORS = {"doeff_migrate.runtime.do", "doeff_migrate.runtime.program.do", "doeff.do"}
RUNTIME_MODULE_PREFIXES = ("doeff_migrate.runtime", "doeff")


class ImportTable:
    """Local name -> qualified name, from the module's own (top-level, ``if``/``try``) imports."""

    def __init__(self, module: cst.Module, state: FileState | None = None) -> None:
        self.names: dict[str, str] = {}
        self.ambiguous: dict[str, list[str]] = {}
        """Names bound to different things at module level (``try: import cupy as np`` / ``except: import numpy
        as np``, ``np = Store()``): which one a call reaches is not known, so ``qualify`` resolves none of them
        (review F12). Name -> the modules it may be."""
        self._other: set[str] = set()
        self._collect(module.body)
        for name in self._other & set(self.names):
            self.ambiguous.setdefault(name, [self.names[name]])
        if state is not None:
            # Imports an earlier transform of this run asked for (written only when all transforms are done):
            # the di phase's new ``@do`` must count as the runtime's ``do`` here already.
            for item in state.context.scratch.get(AddImportsVisitor.CONTEXT_KEY, ()):
                obj = getattr(item, "obj_name", None)
                if obj and not getattr(item, "relative", 0):
                    self.names.setdefault(getattr(item, "alias", None) or obj, f"{item.module_name}.{obj}")

    def _collect(self, body) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._import(small)
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            self._other |= _target_names(t.target)
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        self._other |= _target_names(small.target)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                self._other.add(stmt.name.value)
            elif isinstance(stmt, (cst.If, cst.Try)):
                blocks = [stmt.body]
                if isinstance(stmt, cst.Try):
                    blocks += [h.body for h in stmt.handlers]
                    blocks += [b.body for b in (stmt.orelse, stmt.finalbody) if b is not None]
                elif stmt.orelse is not None:
                    blocks.append(stmt.orelse.body)
                for block in blocks:
                    if isinstance(block, cst.IndentedBlock):
                        self._collect(block.body)
                    elif isinstance(block, (cst.If, cst.Else)):
                        self._collect([block])

    def _bind(self, name: str, qualified: str) -> None:
        previous = self.names.get(name)
        if previous is not None and previous != qualified:
            self.ambiguous.setdefault(name, [previous]).append(qualified)
        self.names[name] = qualified

    def _import(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = alias.evaluated_name
                if alias.asname is not None:
                    self._bind(alias.evaluated_alias, full)
                else:  # ``import a.b`` binds ``a``
                    head = full.split(".")[0]
                    self._bind(head, head)
        elif isinstance(small, cst.ImportFrom):  # a module, dots, or both: the syntax allows no other form
            if isinstance(small.names, cst.ImportStar):
                return
            if small.relative or small.module is None:
                for alias in small.names:  # a relative import binds a name too: another object than the library's
                    self._other.add(alias.evaluated_alias or alias.evaluated_name)
                return
            module = pn.dotted_cst(small.module) or ""
            for alias in small.names:
                self._bind(alias.evaluated_alias or alias.evaluated_name, f"{module}.{alias.evaluated_name}")

    def qualify(self, node: cst.CSTNode, shadowed: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        """``np.load`` -> ``numpy.load``; ``None`` for names this file does not import (or that are shadowed)."""
        dotted = pn.dotted_cst(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in shadowed or head in self.ambiguous:
            return None
        base = self.names.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def builtin(self, node: cst.CSTNode, shadowed: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        """The name of a builtin (``open``) that nothing in the file rebinds."""
        if isinstance(node, cst.Name) and node.value not in self.names and node.value not in shadowed:
            return node.value
        return None


def module_bound_names(module: cst.Module) -> set[str]:
    """Names a module binds at top level other than by import (defs, classes, assignments)."""
    bound: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            bound.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        bound |= _target_names(t.target)
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    bound |= _target_names(small.target)
    return bound


def _target_names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for el in node.elements:
            out |= _target_names(el.value)
        return out
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    return set()


def is_effectful(node: cst.FunctionDef, imports: ImportTable) -> bool:
    """A ``@do`` function of the bundled runtime or of doeff (resolved through imports).

    Not an ``async def``: ``@do`` refuses those, and a ``yield`` written into one would not compile (review M3)."""
    if node.asynchronous is not None:
        return False
    for deco in node.decorators:
        expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if imports.qualify(expr) in DO_DECORATORS:
            return True
    return False


def is_doeff_code(node: cst.FunctionDef, imports: ImportTable, state: FileState) -> bool:
    """Effectful code that runs on doeff (``--target doeff``, or doeff's own ``@do``), not on the bundled runtime.

    What the compute/io/recording phases write (``ray_task``, ``call_in_thread``, the generated handlers,
    ``recording_handlers()``) are bundled-runtime programs and handlers that doeff cannot run, so such code is
    left as it is (review F22/F23)."""
    if state.target == "doeff":
        return True
    for deco in node.decorators:
        expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        if imports.qualify(expr) == "doeff.do":
            return True
    return False


def local_names(func: cst.FunctionDef) -> set[str]:
    """Parameters and names assigned anywhere in ``func``'s own scope (they shadow module imports)."""
    names = {p.name.value for p in _all_params(func.params)}

    class _Assigned(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            names.add(node.name.value)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            names.update(_target_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            names.update(_target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            names.update(_target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            names.update(_target_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            names.update(_target_names(node.name))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            names.update(_target_names(node.target))

        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                names.add((alias.evaluated_alias or alias.evaluated_name).split(".")[0])

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    names.add(alias.evaluated_alias or alias.evaluated_name)

    func.body.visit(_Assigned())
    return names


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def yielded(expr: cst.BaseExpression) -> cst.Yield:
    """``(yield expr)``: parenthesised so it is valid in any expression position."""
    return cst.Yield(value=expr, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def bare_yields(stmt: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """Drop the parentheses of a generated ``(yield ...)`` that is a whole statement or assigned value."""
    small = stmt.body[0]
    value = getattr(small, "value", None)
    if isinstance(value, cst.Yield) and len(value.lpar) == 1 and isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign)):
        return stmt.with_changes(body=[small.with_changes(value=value.with_changes(lpar=[], rpar=[]))])
    return stmt


class NameUses(cst.CSTVisitor):
    """Counts ``Name`` nodes by value (all scopes)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] = self.counts.get(node.value, 0) + 1


def name_counts(node: cst.CSTNode) -> dict[str, int]:
    return cst_walk.name_counts(node)


# -- the compute transform -------------------------------------------------------------------------------------

CALL_IN_THREAD = "call_in_thread"
RAY_TASK = "ray_task"
RAY_TASK_MODULE = "doeff_migrate.runtime.ray_backend"
_CLUSTER = {"ray.init", "ray.shutdown", "ray.is_initialized"}
_PLACEMENT = ("ray.util.placement_group", "ray.util.remove_placement_group", "ray.util.scheduling_strategies")
_EVENT_LOOP = {"asyncio.run", "asyncio.get_event_loop", "asyncio.new_event_loop", "asyncio.run_coroutine_threadsafe"}
_LOCKS = {
    "threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore", "threading.Condition",
    "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Semaphore", "filelock.FileLock",
    "filelock.SoftFileLock", "filelock.UnixFileLock",
}
_ASYNCIO_RUN_LEFT = (
    "`asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks "
    "the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running"
)
_EXECUTORS = {"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"}


def _ray_task_options() -> frozenset[str]:
    from doeff_migrate.runtime.ray_backend import RAY_TASK_OPTIONS  # no Ray import: the module imports it lazily

    return RAY_TASK_OPTIONS


@dataclass
class RemoteFunction:
    name: str
    options: list[cst.Arg]


@dataclass
class Spawned:
    func: cst.BaseExpression
    args: list[cst.Arg]
    options: list[cst.Arg]
    remote: str | None = None  # the same-file @ray.remote function it came from
    pool: bool = False  # a thread pool's ``ex.submit(f, ...)`` (else a Ray task)


@dataclass
class Plan:
    """Which same-file ``@ray.remote`` functions can be spawned by name (bound once at module level)."""

    allowed: set[str] = field(default_factory=set)


class _Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _BodyRewriter(cst.CSTTransformer):
    """Rewrites one ``@do`` function's own scope; ``dry`` counts rewrites without flagging."""

    def __init__(self, owner: ComputeTransformer, func: cst.FunctionDef, allowed: set[str], dry: bool) -> None:
        super().__init__()
        self.owner = owner
        self.state = owner.state
        self.imports = owner.imports
        self.allowed = allowed
        self.dry = dry
        self.shadowed = local_names(func)
        counts = name_counts(func.body)
        self.assigned_once = {n for n, c in _assign_counts(func).items() if c == 1}
        self.name_counts = counts
        self.tasks: set[str] = set()
        self.task_lists: set[str] = set()
        self.spawns: set[int] = set()  # ids of the generated ``(yield Spawn(...))`` nodes
        self.executors, self.refused_pools = _thread_pools(func, self)
        self.executor_ctors = set(self.executors.values())
        # Where a spawn may stand: its task must reach only Wait/Gather (see ``_Consumers``).
        consumers = _Consumers(self)
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
            target = _TASK_VAR  # the comprehension's variable is used elsewhere: a loop would rebind it
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
        if _is_result_call(elt) and isinstance(elt.func.value, cst.Name) and elt.func.value.value == comp.target.value:  # type: ignore[attr-defined]
            return comp.iter.value
        return None

    def _flag_inside(self, node: cst.CSTNode) -> None:
        """Ray calls where no ``yield`` can go are flagged on the enclosing statement."""
        rewriter = self

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                problem = rewriter.problem_of(call, nested=True)
                if problem is not None:
                    rewriter.frames[-1].append(problem)

        node.visit(_Finder())

    # -- recognising spawns -------------------------------------------------------------------------------
    def qualify(self, node: cst.CSTNode) -> str | None:
        return self.imports.qualify(node, self.shadowed)

    def is_remote_call(self, call: cst.BaseExpression) -> bool:
        """``x.remote(...)``, but not ``ray.remote(...)`` itself."""
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "remote"
            and self.qualify(call.func) != "ray.remote"
        )

    def is_submit(self, call: cst.BaseExpression) -> bool:
        """``ex.submit(f, ...)`` on a ``ThreadPoolExecutor`` of a ``with`` in this function."""
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "submit"
            and isinstance(call.func.value, cst.Name)
            and call.func.value.value in self.executors
            and bool(call.args)
            and call.args[0].keyword is None
            and not call.args[0].star
        )

    def is_spawn_call(self, call: cst.BaseExpression) -> bool:
        return self.is_remote_call(call) or self.is_submit(call)

    def spawn_of(self, call: cst.BaseExpression) -> Spawned | None:
        """The spawn a ``... .remote(args)`` / ``ex.submit(f, args)`` call stands for; raises :class:`_Refusal`
        when it cannot be one."""
        if self.is_submit(call):
            return Spawned(call.args[0].value, list(call.args[1:]), [], pool=True)  # type: ignore[attr-defined]
        if not self.is_remote_call(call):
            return None
        target = call.func.value
        options: list[cst.Arg] = []
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) and target.func.attr.value == "options":
            options = list(target.args)
            target = target.func.value
        # ray.remote(f) / ray.remote(**opts)(f)
        if isinstance(target, cst.Call):
            inner = target.func
            deco_options: list[cst.Arg] = []
            if isinstance(inner, cst.Call) and self.qualify(inner.func) == "ray.remote":
                deco_options = list(inner.args)
                inner = None  # type: ignore[assignment]
            elif self.qualify(inner) != "ray.remote":
                raise _Refusal("DM208", "`.remote(...)` on the result of a call the codemod cannot resolve")
            if len(target.args) != 1 or target.args[0].keyword or target.args[0].star:
                raise _Refusal("DM208", "`ray.remote(...)` with other arguments than one function")
            func = target.args[0].value
            self.check_plain_function(func)
            return Spawned(func, list(call.args), [*deco_options, *options])
        if isinstance(target, cst.Name) and target.value in self.owner.remote_functions and target.value not in self.shadowed:
            if target.value not in self.allowed:
                raise _Refusal(
                    "DM206",
                    f"`{target.value}` is bound again at module level: the codemod cannot tell which object `.remote` reaches",
                )
            # The decorator stays: its options are the RemoteFunction's own, ``.options(...)`` go to ray_task.
            _check_returns(self.owner.remote_functions[target.value].options)
            return Spawned(cst.Name(target.value), list(call.args), options, remote=target.value)
        if isinstance(target, cst.Name) and target.value in self.owner.actor_classes:
            raise _Refusal("DM202", f"`{target.value}` is a Ray actor class: its shared state has no Spawn form")
        raise _Refusal(
            "DM208",
            f"`{pn.dotted_cst(target) or 'this object'}.remote(...)`: not a @ray.remote function of this file, so the "
            "codemod cannot tell what it runs",
        )

    def check_plain_function(self, func: cst.BaseExpression) -> None:
        dotted = pn.dotted_cst(func)
        if dotted is None:
            raise _Refusal("DM208", "`ray.remote(...)` of an expression the codemod cannot resolve")
        head = dotted.split(".")[0]
        if head in self.owner.actor_classes or dotted in self.owner.class_names:
            raise _Refusal("DM202", f"`ray.remote({dotted})` makes an actor: its shared state has no Spawn form")
        if dotted in self.owner.do_functions:
            raise _Refusal("DM208", f"`{dotted}` is a @do function: `ray.remote` of it runs nothing but building a program")
        if dotted in self.owner.remote_functions:
            raise _Refusal("DM208", f"`{dotted}` is already a @ray.remote function")
        last = dotted.rpartition(".")[2]
        if head in self.shadowed:
            raise _Refusal("DM208", f"`ray.remote({dotted})` of a local name: the codemod cannot tell what it is")
        if "." not in dotted and dotted not in self.owner.module_functions and self.imports.qualify(func) is None:
            raise _Refusal("DM208", f"`{dotted}` is not a function of this file nor an import")
        if last[:1].isupper():
            raise _Refusal("DM202", f"`ray.remote({dotted})` of what looks like a class makes an actor")

    def build_spawn(self, spawned: Spawned) -> cst.BaseExpression:
        known = _ray_task_options()
        _check_returns(spawned.options)
        for opt in spawned.options:
            if opt.star == "*" or (opt.keyword is None and not opt.star):
                raise _Refusal("DM201", "Ray options given positionally cannot become Spawn options")
            if opt.keyword is not None and opt.keyword.value not in known:
                raise _Refusal("DM201", f"Ray option `{opt.keyword.value}` has no Spawn form (RayHandler refuses it)")
        for arg in spawned.args:
            names = name_counts(arg.value)
            if any(n in self.tasks or n in self.task_lists or n in self.ray_bound for n in names) or self.holds_task_or_ref(arg.value):
                raise _Refusal("DM205", "a task passed to another task: Ray resolves it to its value, a Spawn would not")
        spawn = self.need("Spawn")
        args = [_no_trailing_comma(a) for a in spawned.args]
        if spawned.pool:
            inner = cst.Call(cst.Name(self.need_helper()), [cst.Arg(spawned.func), *args])
        else:
            # A real Ray task, as before: copied arguments, retries, resources and Ray's errors (see ray_task).
            task = cst.Call(cst.Name(self.need_ray_task()), [cst.Arg(spawned.func), *[_no_trailing_comma(o) for o in spawned.options]])
            inner = cst.Call(task, args)
        return yielded(cst.Call(cst.Name(spawn), [cst.Arg(inner)]))

    def problem_of(self, call: cst.Call, nested: bool) -> tuple[str, str] | None:
        """The flag for a Ray-related call that is not (or cannot be) rewritten here."""
        if self.is_remote_call(call):
            try:
                self.spawn_of(call)
            except _Refusal as refusal:
                return refusal.code, refusal.message
            if nested:
                return "DM207", "remote call inside a comprehension or lambda, where `yield` cannot go"
            return None
        qualified = self.qualify(call.func)
        if qualified is None:
            return None
        if qualified in _CLUSTER:
            return "DM203", None  # type: ignore[return-value]
        if qualified.startswith(_PLACEMENT):
            return "DM204", None  # type: ignore[return-value]
        if id(call) in self.refused_pools:
            return self.refused_pools[id(call)]
        if qualified in _EXECUTORS and id(call) not in self.executor_ctors:
            return "DM209", None  # type: ignore[return-value]
        if qualified == "asyncio.run" and nested:
            return "DM207", "`asyncio.run` inside a comprehension or lambda, where `yield` cannot go"
        if qualified == "asyncio.run":
            return "DM210", _ASYNCIO_RUN_LEFT
        if qualified in _EVENT_LOOP:
            return "DM210", None  # type: ignore[return-value]
        if qualified in ("ray.get", "ray.wait", "ray.put"):
            if nested:
                return "DM207", f"`{qualified}` inside a comprehension or lambda, where `yield` cannot go"
            return "DM205", None  # type: ignore[return-value]
        if qualified.startswith("ray.") and qualified != "ray.remote":
            return "DM201", f"`{qualified}(...)` has no Spawn/Wait/Gather form"
        return None

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
            # scheduler's thread, and the holder would never resume (review F19c). Nothing in the block is rewritten.
            if self.holds_task_or_ref(node.body):
                self.frames[-1].append(("DM214", None))
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
            self.frames[-1].append(("DM209", f"`{pool}` is used in a way the codemod does not rewrite (only `{pool}.submit(f, ...)` "
                                              f"whose futures reach `.result()`, and `list({pool}.map(f, xs))`, are)"))
        return self.flush(bare_yields(updated_node) if updated_node is not original_node else updated_node)

    def is_spawn(self, node: cst.Yield) -> bool:
        """``yield Spawn(...)`` written before (by an earlier run or by hand): its name is a task too."""
        call = node.value
        return isinstance(call, cst.Call) and self.qualify(call.func) in (
            "doeff_migrate.runtime.Spawn", "doeff.Spawn", "doeff_migrate.runtime.effects.Spawn")

    def need(self, name: str) -> str:
        """The runtime name to write; imported only by the real (not the dry) run."""
        return name if self.dry else self.state.need(name)

    def holds_task_or_ref(self, node: cst.CSTNode) -> bool:
        """A spawn just generated, a ``.remote(...)`` left as it was, or any other Ray call inside ``node``."""
        rewriter = self
        found = False

        class _Finder(cst.CSTVisitor):
            def visit_Yield(self, n: cst.Yield) -> None:
                nonlocal found
                found = True

            def visit_Call(self, call: cst.Call) -> None:
                nonlocal found
                qualified = rewriter.qualify(call.func) or ""
                found = found or rewriter.is_spawn_call(call) or qualified.startswith("ray.")

        node.visit(_Finder())
        return found

    def need_helper(self) -> str:
        """``call_in_thread`` from the package's generated handler module (a program Ray can ship)."""
        if not self.dry:
            module = record_need(self.state)
            AddImportsVisitor.add_needed_import(self.state.context, module, CALL_IN_THREAD)
        return CALL_IN_THREAD

    def need_ray_task(self) -> str:
        """``ray_task`` from the runtime's Ray backend (imports Ray only when a task is spawned)."""
        if not self.dry:
            AddImportsVisitor.add_needed_import(self.state.context, RAY_TASK_MODULE, RAY_TASK)
        return RAY_TASK

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

    def comprehension_loop(self, stmt: cst.SimpleStatementLine, name: str, value: cst.BaseExpression):
        """``xs = [<spawn> for v in it]`` -> ``xs = []`` + ``for v in it: xs.append((yield Spawn(...)))``."""
        if not isinstance(value, cst.ListComp) or name not in self.assigned_once:
            return None
        if name not in self.followed:
            if self.is_spawn_call(value.elt):
                self.frames[-1].append(("DM205", f"the tasks in `{name}` are used in ways the codemod cannot follow "
                                                 f"(only `ray.get({name})` and `[f.result() for f in {name}]` are rewritten)"))
            return None
        comp = value.for_in
        if comp.inner_for_in is not None or comp.asynchronous is not None or len(comp.ifs) > 1:
            return None
        # A loop, unlike a comprehension, binds its variable in the function: when the name is used elsewhere
        # too, the loop gets a fresh one (review M1).
        target_names = _target_names(comp.target)
        if (isinstance(comp.target, cst.Name) and _LOOP_VAR not in self.name_counts
                and self.name_counts.get(comp.target.value, 0) != name_counts(value).get(comp.target.value, 0)
                and not any(_has_scope(n) for n in (value.elt, *(i.test for i in comp.ifs)))):
            renamer = _Rename(comp.target.value, _LOOP_VAR)
            value = value.with_changes(elt=value.elt.visit(renamer), for_in=comp.with_changes(
                target=cst.Name(_LOOP_VAR), ifs=[i.visit(renamer) for i in comp.ifs]))
            comp = value.for_in
            target_names = set()  # fresh: used nowhere else
        try:
            spawned = self.spawn_of(value.elt)
        except _Refusal:
            return None
        if spawned is None:
            return None
        loop_vars = target_names
        outside = name_counts(value)
        # The loop variable must not be used elsewhere in the function: a loop, unlike a comprehension, binds it.
        if any(self.name_counts.get(v, 0) != outside.get(v, 0) for v in loop_vars):
            self.frames[-1].append(("DM207", "the comprehension's variable is also used elsewhere in the function"))
            return None
        try:
            spawn = self.build_spawn(spawned)
        except _Refusal as refusal:
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
        if _is_result_call(node):  # ex.submit(f, x).result()
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
                    raise _Refusal(
                        "DM205",
                        "the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` "
                        "whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)",
                    )
                spawn = self.build_spawn(spawned)
            except _Refusal as refusal:
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
        if not _is_result_call(call):
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


_LOOP_VAR = "_doeff_migrate_item"
_INDEX_VAR = "_doeff_migrate_index"
_TASK_VAR = "_doeff_migrate_task"


def _is_result_call(node: cst.BaseExpression) -> bool:
    """``x.result()`` with no timeout."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "result"
        and not node.args
    )


def _thread_pools(func: cst.FunctionDef, rewriter: _BodyRewriter) -> tuple[dict[str, int], dict[int, tuple[str, str]]]:
    """``with ThreadPoolExecutor() as ex`` in ``func``'s own scope: ``ex`` -> id of the constructor call, and the
    pools left as they are: id of the constructor -> the flag saying why.

    Only pools bound once (by that ``with``) count; the ids let the constructor go unflagged. A pool is
    rewritten only when nothing the runtime's spawns lack is asked of it: no constructor arguments
    (``max_workers=1`` serialises, ``initializer`` sets up each worker: DM211), and no task waited after
    the ``with`` block (leaving the block waits for every task first: DM212).
    """
    found: dict[str, int] = {}
    refused: dict[int, tuple[str, str]] = {}
    binds = _assign_counts(func)
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
                    refused[id(call)] = ("DM211", f"this pool is given {given}: the runtime's spawns have no worker limit "
                                                  "nor initializer, so the pool stays")
                    continue
                branches = _branching(node.body)
                if branches:
                    refused[id(call)] = ("DM212", f"the pool's block holds {branches}: a task it may not wait for is still "
                                                  "waited by the block's end, which a rewrite without the pool would not do")
                    continue
                inside = name_counts(node.body)  # once per block, not once per task name
                outlived = sorted(n for n in _pool_task_names(node.body, pool) if whole.get(n, 0) != inside.get(n, 0))
                if outlived:
                    refused[id(call)] = ("DM212", f"{', '.join(f'`{n}`' for n in outlived)} (tasks of this pool) "
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
                    names.update(_target_names(target.target))

    body.visit(_Finder())
    return names


class _Consumers(cst.CSTVisitor):
    """Counts, per name, the uses a rewritten task can have: ``ray.get(x)`` and ``ray.get([.., x, ..])``.

    A name bound to a spawn is rewritten only when these are all its uses (besides its one assignment):
    anything else (``ray.wait([x])``, ``refs.append(x)``, passing ``x`` on) would receive a Task where Ray
    handed out an ObjectRef. Also collects the names bound to expressions holding Ray calls left as they are.
    """

    def __init__(self, rewriter: _BodyRewriter) -> None:
        super().__init__()
        self.rewriter = rewriter
        self.uses: dict[str, int] = {}
        self.groups: list[list[str] | None] = []  # the names of each ``ray.get([...])`` (None: other elements too)
        self.ray_bound: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_With(self, node: cst.With) -> bool:
        return not self.rewriter.owner.is_lock_block(node, self.rewriter.shadowed)  # nothing in it is rewritten

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.rewriter.holds_task_or_ref(node.value):
            for target in node.targets:
                self.ray_bound |= _target_names(target.target)

    def _use(self, name: str) -> None:
        self.uses[name] = self.uses.get(name, 0) + 1

    def followed(self, counts: dict[str, int]) -> set[str]:
        """Names whose every use (besides one assignment) is a wait. A name in ``ray.get([a, b])`` counts as
        waited only when every element of that list is followed too (or an inline remote call): a mixed list
        stays a Ray call, which must not receive a Task (review F24). Computed to a fixpoint."""
        followed = set(counts)
        while True:
            uses = dict(self.uses)
            for group in self.groups:
                if group is not None and all(n in followed for n in group):
                    for n in group:
                        uses[n] = uses.get(n, 0) + 1
            now = {n for n, c in uses.items() if counts.get(n, 0) == c + 1}
            if now == followed:
                return now
            followed = now

    # Waits inside lambdas and comprehensions cannot become ``yield``s: they do not count.
    def _skip(self, node: cst.CSTNode) -> bool:
        return False

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip  # type: ignore[assignment]

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        # ``ys = [t.result() for t in ts]`` on its own line (it becomes a loop waiting in order); nowhere else.
        if len(node.body) != 1 or not isinstance(node.body[0], cst.Assign):
            return
        small = node.body[0]
        value = small.value
        if not (len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name) and isinstance(value, cst.ListComp)):
            return
        comp = value.for_in
        elt = value.elt
        if (isinstance(comp.iter, cst.Name) and isinstance(comp.target, cst.Name) and not comp.ifs
                and comp.inner_for_in is None and comp.asynchronous is None and _is_result_call(elt)
                and isinstance(elt.func.value, cst.Name) and elt.func.value.value == comp.target.value  # type: ignore[attr-defined]
                and small.targets[0].target.value != comp.iter.value  # ``ts = [t.result() for t in ts]``: a loop cannot
                and _TASK_VAR not in self.rewriter.name_counts):
            self._use(comp.iter.value)

    def visit_Call(self, node: cst.Call) -> None:
        if _is_result_call(node) and isinstance(node.func.value, cst.Name):  # type: ignore[attr-defined]
            self._use(node.func.value.value)  # type: ignore[attr-defined]
        if self.rewriter.qualify(node.func) != "ray.get" or len(node.args) != 1 or node.args[0].keyword:
            return
        ref = node.args[0].value
        if isinstance(ref, cst.Name):
            self._use(ref.value)
        elif isinstance(ref, cst.List):
            names: list[str] | None = []
            for e in ref.elements:
                if isinstance(e, cst.Element) and isinstance(e.value, cst.Name):
                    names.append(e.value.value)  # type: ignore[union-attr]
                elif not (isinstance(e, cst.Element) and self.rewriter.is_remote_call(e.value)):
                    names = None
                    break
            self.groups.append(names)


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


def _check_returns(options: list[cst.Arg]) -> None:
    if any(o.keyword is not None and o.keyword.value == "num_returns" for o in options):
        raise _Refusal("DM201", "`num_returns`: a task answering several object refs has no Spawn form")


def _no_trailing_comma(arg: cst.Arg) -> cst.Arg:
    return arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)


def _assign_counts(func: cst.FunctionDef) -> dict[str, int]:
    """How often each name is bound in ``func``'s scope (parameters count as bindings)."""
    counts: dict[str, int] = {p.name.value: 1 for p in _all_params(func.params)}

    class _Binds(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def _bind(self, target: cst.CSTNode) -> None:
            for n in _target_names(target):
                counts[n] = counts.get(n, 0) + 1

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._bind(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._bind(node.target)

        # Bindings that can happen more than once count twice, so the name is never "assigned once".
        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            self._bind(node.name)
            self._bind(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_Global(self, node: cst.Global) -> None:
            for n in node.names:
                counts[n.name.value] = 2

        visit_Nonlocal = visit_Global  # type: ignore[assignment]

    func.body.visit(_Binds())
    return counts


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
                            self.module_locks |= _target_names(t.target)
        # A @ray.remote function keeps its decorator (``ray_task`` spawns the RemoteFunction itself), so other
        # modules may go on calling ``f.remote``; only a name bound again at module level is ambiguous (DM206).
        rebound = _top_level_binding_counts(node)
        self.plan = Plan(allowed={n for n in self.remote_functions if rebound.get(n, 0) == 1})

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
            dry = _BodyRewriter(self, updated_node, self.plan.allowed, dry=True)
            if not updated_node.body.visit(dry).deep_equals(updated_node.body):
                return self.state.flag(updated_node, "DM213")
            return updated_node
        rewriter = _BodyRewriter(self, updated_node, self.plan.allowed, dry=False)
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
                        bind(_target_names(t.target))
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    bind(_target_names(small.target))
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

"""Recognising the spawns of a ``@do`` function and building their ``yield Spawn(...)``.

A Ray task stays a real Ray task: ``f.remote(a)`` becomes ``yield Spawn(ray_task(f)(a))``, so the arguments are
still copied when the task is created, retry and resource options hold and failures are Ray's own. A thread
pool's ``ex.submit(f, a)`` becomes ``yield Spawn(call_in_thread(f, a))``. A call that cannot be a spawn raises
:class:`Refusal`; :meth:`SpawnRecognition.problem_of` gives the flag of every other Ray or event-loop call.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..handler_stubs import record_need
from ..rules.phases import (
    EVENT_LOOP_IN_EFFECTFUL_CODE,
    EXECUTOR_IN_EFFECTFUL_CODE,
    RAY_ACTOR,
    RAY_CLUSTER_SETUP,
    RAY_PLACEMENT_GROUP,
    REMOTE_CALL_IN_EXPRESSION,
    REMOTE_CALL_ON_UNKNOWN_OBJECT,
    SHARED_REMOTE_FUNCTION,
    UNTRACED_OBJECT_REF,
)
from ..rules.side_effects import DIRECT_RAY_CALL
from .effectful_code import name_counts, yielded

CALL_IN_THREAD = "call_in_thread"
RAY_TASK = "ray_task"
RAY_TASK_MODULE = "doeff_migrate.runtime.ray_backend"
_CLUSTER = {"ray.init", "ray.shutdown", "ray.is_initialized"}
_PLACEMENT = ("ray.util.placement_group", "ray.util.remove_placement_group", "ray.util.scheduling_strategies")
_EVENT_LOOP = {"asyncio.run", "asyncio.get_event_loop", "asyncio.new_event_loop", "asyncio.run_coroutine_threadsafe"}
_ASYNCIO_RUN_LEFT = (
    "`asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks "
    "the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running"
)
_EXECUTORS = {"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"}


def _ray_task_options() -> frozenset[str]:
    from doeff_migrate.runtime.ray_backend import RAY_TASK_OPTIONS  # no Ray import: the module imports it lazily

    return RAY_TASK_OPTIONS


@dataclass
class Spawned:
    func: cst.BaseExpression
    args: list[cst.Arg]
    options: list[cst.Arg]
    remote: str | None = None  # the same-file @ray.remote function it came from
    pool: bool = False  # a thread pool's ``ex.submit(f, ...)`` (else a Ray task)


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

def _check_returns(options: list[cst.Arg]) -> None:
    if any(o.keyword is not None and o.keyword.value == "num_returns" for o in options):
        raise Refusal(DIRECT_RAY_CALL.code, "`num_returns`: a task answering several object refs has no Spawn form")


def _no_trailing_comma(arg: cst.Arg) -> cst.Arg:
    return arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)


class SpawnRecognition:
    """The spawn-recognising half of the compute body rewriter (mixed into it; it owns the state used here)."""

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
        """The spawn a ``... .remote(args)`` / ``ex.submit(f, args)`` call stands for; raises :class:`Refusal`
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
                raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, "`.remote(...)` on the result of a call the codemod cannot resolve")
            if len(target.args) != 1 or target.args[0].keyword or target.args[0].star:
                raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, "`ray.remote(...)` with other arguments than one function")
            func = target.args[0].value
            self.check_plain_function(func)
            return Spawned(func, list(call.args), [*deco_options, *options])
        if isinstance(target, cst.Name) and target.value in self.owner.remote_functions and target.value not in self.shadowed:
            if target.value not in self.allowed:
                raise Refusal(
                    SHARED_REMOTE_FUNCTION.code,
                    f"`{target.value}` is bound again at module level: the codemod cannot tell which object `.remote` reaches",
                )
            # The decorator stays: its options are the RemoteFunction's own, ``.options(...)`` go to ray_task.
            _check_returns(self.owner.remote_functions[target.value].options)
            return Spawned(cst.Name(target.value), list(call.args), options, remote=target.value)
        if isinstance(target, cst.Name) and target.value in self.owner.actor_classes:
            raise Refusal(RAY_ACTOR.code, f"`{target.value}` is a Ray actor class: its shared state has no Spawn form")
        raise Refusal(
            REMOTE_CALL_ON_UNKNOWN_OBJECT.code,
            f"`{pn.dotted_cst(target) or 'this object'}.remote(...)`: not a @ray.remote function of this file, so the "
            "codemod cannot tell what it runs",
        )

    def check_plain_function(self, func: cst.BaseExpression) -> None:
        dotted = pn.dotted_cst(func)
        if dotted is None:
            raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, "`ray.remote(...)` of an expression the codemod cannot resolve")
        head = dotted.split(".")[0]
        if head in self.owner.actor_classes or dotted in self.owner.class_names:
            raise Refusal(RAY_ACTOR.code, f"`ray.remote({dotted})` makes an actor: its shared state has no Spawn form")
        if dotted in self.owner.do_functions:
            raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, f"`{dotted}` is a @do function: `ray.remote` of it runs nothing but building a program")
        if dotted in self.owner.remote_functions:
            raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, f"`{dotted}` is already a @ray.remote function")
        last = dotted.rpartition(".")[2]
        if head in self.shadowed:
            raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, f"`ray.remote({dotted})` of a local name: the codemod cannot tell what it is")
        if "." not in dotted and dotted not in self.owner.module_functions and self.imports.qualify(func) is None:
            raise Refusal(REMOTE_CALL_ON_UNKNOWN_OBJECT.code, f"`{dotted}` is not a function of this file nor an import")
        if last[:1].isupper():
            raise Refusal(RAY_ACTOR.code, f"`ray.remote({dotted})` of what looks like a class makes an actor")

    def build_spawn(self, spawned: Spawned) -> cst.BaseExpression:
        known = _ray_task_options()
        _check_returns(spawned.options)
        for opt in spawned.options:
            if opt.star == "*" or (opt.keyword is None and not opt.star):
                raise Refusal(DIRECT_RAY_CALL.code, "Ray options given positionally cannot become Spawn options")
            if opt.keyword is not None and opt.keyword.value not in known:
                raise Refusal(DIRECT_RAY_CALL.code, f"Ray option `{opt.keyword.value}` has no Spawn form (RayHandler refuses it)")
        for arg in spawned.args:
            names = name_counts(arg.value)
            if any(n in self.tasks or n in self.task_lists or n in self.ray_bound for n in names) or self.holds_task_or_ref(arg.value):
                raise Refusal(UNTRACED_OBJECT_REF.code, "a task passed to another task: Ray resolves it to its value, a Spawn would not")
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
            except Refusal as refusal:
                return refusal.code, refusal.message
            if nested:
                return REMOTE_CALL_IN_EXPRESSION.code, "remote call inside a comprehension or lambda, where `yield` cannot go"
            return None
        qualified = self.qualify(call.func)
        if qualified is None:
            return None
        if qualified in _CLUSTER:
            return RAY_CLUSTER_SETUP.code, None  # type: ignore[return-value]
        if qualified.startswith(_PLACEMENT):
            return RAY_PLACEMENT_GROUP.code, None  # type: ignore[return-value]
        if id(call) in self.refused_pools:
            return self.refused_pools[id(call)]
        if qualified in _EXECUTORS and id(call) not in self.executor_ctors:
            return EXECUTOR_IN_EFFECTFUL_CODE.code, None  # type: ignore[return-value]
        if qualified == "asyncio.run" and nested:
            return REMOTE_CALL_IN_EXPRESSION.code, "`asyncio.run` inside a comprehension or lambda, where `yield` cannot go"
        if qualified == "asyncio.run":
            return EVENT_LOOP_IN_EFFECTFUL_CODE.code, _ASYNCIO_RUN_LEFT
        if qualified in _EVENT_LOOP:
            return EVENT_LOOP_IN_EFFECTFUL_CODE.code, None  # type: ignore[return-value]
        if qualified in ("ray.get", "ray.wait", "ray.put"):
            if nested:
                return REMOTE_CALL_IN_EXPRESSION.code, f"`{qualified}` inside a comprehension or lambda, where `yield` cannot go"
            return UNTRACED_OBJECT_REF.code, None  # type: ignore[return-value]
        if qualified.startswith("ray.") and qualified != "ray.remote":
            return DIRECT_RAY_CALL.code, f"`{qualified}(...)` has no Spawn/Wait/Gather form"
        return None

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

"""``RayHandler``: run ``Spawn``ed programs as Ray tasks; ``Wait``/``Gather`` their results as usual.

::

    ray.init()                                   # or ray.init(address="auto") on a cluster
    run(sweep(), handlers=[RayHandler(worker_handlers=[DiskCacheHandler("/shared/cache")])])

Each ``Spawn(program, num_gpus=1)`` ships ``program`` to a Ray worker (Ray serializes it with
cloudpickle: ``@do`` functions of importable modules travel by reference, local ones by value) and
runs it there with ``run(program, handlers=worker_handlers, env=worker_env)``: the effects the
spawned program performs are answered on the worker by the stack you give, not by the driver's
handlers. ``Spawn`` answers a future that ``Wait``/``Gather``/``Race`` accept; a remote exception is
raised at the ``Wait`` as the original exception type. Ray options given to ``Spawn`` (``num_cpus``,
``num_gpus``, ``memory``, ``resources``, ...) go to the Ray task; anything else is refused.

A task still running when ``ray.shutdown()`` runs has lost its result: its ``Wait`` raises
``RayNotStartedError`` (the run's scheduler checks for that while it waits), rather than waiting forever.

``ray_task(f, **options)(*args)`` is what the ``compute`` phase spawns for a migrated ``f.remote(*args)``: a
program that runs ``f`` as a real Ray task (auto-starting Ray as ``.remote`` did) and answers its value, so the
task keeps Ray's semantics: the arguments are copied when the task is created (a task that mutates them or
module state does not touch the caller's), retries (``max_retries``/``retry_exceptions``) and resource limits
(``num_gpus``...) hold, and a failure is Ray's own ``RayTaskError`` (still an instance of the original
exception type). ``f`` may keep its ``@ray.remote`` decorator. Under ``RayHandler`` such a spawn is submitted
directly (not wrapped in a worker running a program that would wait for a second task).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from . import effects as E
from .handlers import Installer
from .metrics import MissingDependencyError
from .program import Call, PlainCall, Transfer, do
from .scheduler import complete_future

RAY_TASK_OPTIONS = frozenset({
    "num_cpus", "num_gpus", "memory", "resources", "accelerator_type", "max_retries",
    "retry_exceptions", "runtime_env", "scheduling_strategy", "name", "label_selector",
    "num_returns", "_metadata",
})
"""``Spawn`` options passed to ``ray.remote(...).options(...)``."""


class RayTask:
    """``ray_task(f, **options)``: call it with ``f``'s arguments to get the program that runs the Ray task."""

    __slots__ = ("fn", "options")

    def __init__(self, fn: Any, options: dict) -> None:
        self.fn = fn
        self.options = options

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Ray serialises the arguments when ``.remote`` is called; snapshot them now, so changes the caller
        # makes before the spawned program starts (or the task makes to them) stay apart, as with Ray.
        payload = _cloudpickle().dumps((args, kwargs))
        return _run_ray_task(self.fn, payload, self.options)

    def __repr__(self) -> str:
        return f"ray_task({getattr(self.fn, '__name__', self.fn)!r}, **{self.options!r})"

    def __reduce__(self):
        return (RayTask, (self.fn, self.options))


def ray_task(fn: Any, /, **options: Any) -> RayTask:
    """``ray_task(f, num_gpus=1)(x)``: the program running ``f(x)`` as a Ray task, as
    ``f.options(num_gpus=1).remote(x)`` / ``ray.remote(num_gpus=1)(f).remote(x)`` did; answers its value.

    ``f`` is a plain function or a ``@ray.remote`` one (its own options apply, ``options`` override them).
    """
    return RayTask(fn, _check_options(dict(options)))


def _cloudpickle() -> Any:
    return import_ray().cloudpickle


def _remote_of(fn: Any, options: Mapping[str, Any]) -> Any:
    """The Ray remote function (with ``options``) for ``fn``; plain functions are wrapped once."""
    remote = fn if hasattr(fn, "remote") and hasattr(fn, "options") else _wrapped(fn)
    return remote.options(**options) if options else remote


_WRAPPED: dict[Any, Any] = {}


def _wrapped(fn: Any) -> Any:
    # One RemoteFunction per function: Ray exports a function once per RemoteFunction object.
    try:
        return _WRAPPED[fn]
    except (KeyError, TypeError):
        pass
    remote = import_ray().remote(fn)
    try:
        _WRAPPED[fn] = remote
    except TypeError:
        pass
    return remote


def _submit(fn: Any, payload: bytes, options: Mapping[str, Any]) -> Any:
    args, kwargs = _cloudpickle().loads(payload)
    return _remote_of(fn, options).remote(*args, **kwargs)


async def _await_ray_task(fn: Any, payload: bytes, options: Mapping[str, Any]) -> Any:
    # Submitted here, inside the Await, so that a replay (which answers the Await) starts no Ray task.
    return await _submit(fn, payload, options)


@do
def _run_ray_task(fn: Any, payload: bytes, options: Mapping[str, Any]):
    """The program of ``ray_task(fn, **options)(*args)``: submit the task, await its value on the runtime's loop."""
    return (yield E.Await(_await_ray_task(fn, payload, options)))


def _direct_task(program: Any) -> tuple | None:
    """``(fn, payload, options)`` when ``program`` is a ``ray_task(...)(...)`` program, else ``None``."""
    if isinstance(program, Call) and program.func is _run_ray_task._fn:
        return tuple(program.args)  # type: ignore[return-value]
    return None


class RayNotStartedError(RuntimeError):
    """A ``Spawn`` reached ``RayHandler`` while Ray is not initialized in this process."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise MissingDependencyError(
            f"RayHandler needs the ray package, which cannot be imported ({err}). Install it with "
            "`pip install 'doeff-migrate[ray]'`, or leave RayHandler out to run Spawned programs on the "
            "built-in thread scheduler"
        ) from err
    return ray


def _generated_handlers() -> list:
    """Default worker stack: the handlers of the ``effects_handlers`` modules doeff-migrate generated that this
    process loaded. A spawned program yields its package's effects on the worker as it would here, where the
    handlers installed around the driver's program do not reach it."""
    from .entry_handlers import generated_handlers

    return generated_handlers()


def _run_on_worker(program: Any, stack: Any, env: Any) -> Any:
    """The Ray task: run the shipped program under the worker handler stack."""
    from doeff_migrate.runtime.run import run

    return run(program, handlers=_handler_list(stack), env=env)


def _plain_call(program: Any, object_ref: type) -> tuple | None:
    """``(do function, args, kwargs)`` of a ``@do`` call that can be submitted as a task of its own
    (``_spawn_remote``), else None. Not for a function defined inside another one: a new one each
    time the outer one runs, each would be a remote function of its own, exported to the cluster
    once per call. Not when an argument is an ``ObjectRef``: Ray would hand the task the object's
    value where the program was given the reference."""
    if type(program) is not Call and type(program) is not PlainCall:
        return None
    function = getattr(program.func, "__doeff_do__", None)
    if function is None or "<locals>" in function.__qualname__:
        return None
    args, kwargs = program.args, program.keywords
    for arg in args:
        if isinstance(arg, object_ref):
            return None
    for arg in kwargs.values():
        if isinstance(arg, object_ref):
            return None
    return function, args, kwargs


_SPAWN_REMOTES: dict = {}


def _spawn_remote(function: Any, with_stack: bool) -> Any:
    """The Ray remote function running calls of the ``@do`` function ``function`` on a worker, made once
    per function: Ray ships a remote function's code once, and each task then carries only the call's
    arguments (and the worker stack and env, ``with_stack``), not a pickled program."""
    key = (function, with_stack)
    remote = _SPAWN_REMOTES.get(key)
    if remote is None:
        if with_stack:
            def run_spawned(stack: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
                return _run_on_worker(function(*args, **kwargs), stack, env)
        else:
            def run_spawned(*args: Any, **kwargs: Any) -> Any:
                return _run_on_worker(function(*args, **kwargs), None, None)
        run_spawned.__name__ = run_spawned.__qualname__ = getattr(function, "__name__", "spawned_program")
        remote = _SPAWN_REMOTES[key] = import_ray().remote(run_spawned)
    return remote


def _handler_list(stack: Any) -> list:
    if stack is None:
        return []
    if isinstance(stack, (list, tuple)):
        return list(stack)
    if isinstance(stack, Installer):
        return [stack]
    if callable(stack):
        return list(stack())
    raise TypeError(f"RayHandler worker_handlers must be a list of handlers or a function returning one, got {stack!r}")


class RayHandler(Installer):
    """Answers ``Spawn`` by running the program as a Ray task (see the module docstring).

    ``worker_handlers``: the handler stack the program runs under on the worker, innermost first
    (a list of picklable handlers, or a zero-argument function building them there, for handlers
    holding connections or files). Not given: the handlers of the generated ``effects_handlers``
    modules loaded in this process, so migrated IO in spawned programs is answered on the worker. ``worker_env``: a design env for the worker. ``options``:
    default Ray task options, overridden per ``Spawn``. ``init=True`` calls ``ray.init(**init_kwargs)``
    if Ray is not running yet; otherwise a Spawn before ``ray.init()`` raises
    :class:`RayNotStartedError`. Constructing it without ray installed raises
    :class:`MissingDependencyError`.
    """

    native = False
    types = (E.Spawn,)

    def __init__(
        self,
        worker_handlers: Iterable[Any] | Callable[[], Iterable[Any]] | None = None,
        *,
        worker_env: Mapping[Any, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        init: bool = False,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.ray = import_ray()
        self.worker_handlers = list(worker_handlers) if isinstance(worker_handlers, (list, tuple)) else worker_handlers
        self.worker_env = dict(worker_env) if worker_env is not None else None
        self.options = _check_options(dict(options or {}))
        self.init = init
        self.init_kwargs = dict(init_kwargs or {})
        self.name = "RayHandler"
        self._remote: Any = None
        self._shared: tuple | None = None  # this run's (job id, stack ref, env ref)
        self._job_shared: tuple | None = None

    def _ensure_started(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        if self.init:
            ray.init(**self.init_kwargs)
            return
        raise RayNotStartedError(
            "a Spawn reached RayHandler but Ray is not started in this process: call ray.init() "
            "(ray.init(address='auto') to join a cluster) before run(...), or use RayHandler(init=True)"
        )

    def submit(self, effect: E.Spawn) -> Any:
        """Start the Ray task for a ``Spawn``; returns its ``ObjectRef``."""
        self._ensure_started()
        ray = self.ray
        options = {**self.options, **_check_options(dict(effect.options))}
        if self._remote is None:
            self._remote = ray.remote(_run_on_worker)
        if self._shared is None:
            job = ray.get_runtime_context().get_job_id()
            if self._job_shared is None or self._job_shared[0] != job:
                # Shipped once per Ray session, not once per task (nothing to ship: pass None).
                shipped = self.worker_handlers if self.worker_handlers is not None else _generated_handlers()
                stack = ray.put(shipped) if shipped else None
                env = ray.put(self.worker_env) if self.worker_env else None
                self._job_shared = (job, stack, env)
            self._shared = self._job_shared
        program, (_, stack, env) = effect.program, self._shared
        call = _plain_call(program, ray.ObjectRef)
        if call is not None:  # the function is shipped once, the call's arguments as the task's own
            function, args, kwargs = call
            remote = _spawn_remote(function, stack is not None or env is not None)
            remote = remote.options(**options) if options else remote
            if stack is None and env is None:
                return remote.remote(*args, **kwargs)
            return remote.remote(stack, env, *args, **kwargs)
        remote = self._remote.options(**options) if options else self._remote
        return remote.remote(program, stack, env)

    def submit_direct(self, effect: E.Spawn, direct: tuple) -> Any:
        """A migrated Ray task (``ray_task(f)(...)``): submitted as itself, with the Spawn's options on top."""
        self._ensure_started()
        fn, payload, task_options = direct
        return _submit(fn, payload, {**self.options, **task_options, **_check_options(dict(effect.options))})

    def activate(self) -> Any:
        # Ray may have been restarted since the last run: re-check the shipped stack once per run.
        self._shared = None
        return self

    def fn(self, effect: Any, k: Any):
        promise = yield E.CreateExternalPromise()
        direct = _direct_task(effect.program)
        ref = self.submit(effect) if direct is None else self.submit_direct(effect, direct)
        # A migrated Ray task fails with Ray's own error, as ``ray.get`` raised it in the original code.
        task_error = self.ray.exceptions.RayTaskError if direct is None else ()
        sched = getattr(promise, "scheduler", None)
        if sched is not None:  # the built-in scheduler's promise: lost if Ray is shut down before the task ends
            sched.watch(_RayShutdownWatch).add(self.ray, promise.future)

        def deliver(done: Any) -> None:
            try:
                value = done.result()
            except task_error as err:
                promise.fail(_original_error(err))
            except BaseException as err:  # noqa: BLE001 - delivered to the waiting program
                promise.fail(err)
            else:
                promise.complete(value)

        ref.future().add_done_callback(deliver)
        return (yield Transfer(k, promise.future))


class _RayShutdownWatch:
    """The futures of a run's Ray tasks, checked by its scheduler while it waits (``Scheduler.watch``):
    once ``ray.shutdown()`` has run, Ray calls back for none of them, so each waiting program gets a
    ``RayNotStartedError`` at its ``Wait`` instead of waiting forever. Results still arrive through
    Ray's per-task callback: measured against one ``ray.wait`` over every pending task, polled by the
    scheduler, the callbacks were as fast or faster (``benchmarks/README.md``)."""

    def __init__(self) -> None:
        self.ray: Any = None
        self.job: Any = None  # the Ray session the tasks were submitted in (_ray_session)
        self.futures: list = []
        self.prune_at = 64  # the finished futures (and the results they hold) are dropped as the list grows

    @property
    def pending(self) -> int:
        return len(self.futures)

    def add(self, ray: Any, future: Any) -> None:
        if self.ray is None:
            self.ray, self.job = ray, _ray_session(ray)
        self.futures.append(future)
        if len(self.futures) >= self.prune_at:
            self.futures = [f for f in self.futures if not f.done]
            self.prune_at = 2 * len(self.futures) + 64

    def check(self, sched: Any) -> int:
        self.futures = [f for f in self.futures if not f.done]
        ray = self.ray
        if not self.futures or (ray.is_initialized() and _ray_session(ray) == self.job):
            return 0  # still waiting for Ray's callbacks (a restarted Ray is another session: its callbacks never come)
        lost, self.futures = self.futures, []
        for future in lost:
            sched.pending_external -= 1
            complete_future(future, None, RayNotStartedError("ray.shutdown() ran while this Ray task was running: its result is lost"))
        return len(lost)


def _ray_session(ray: Any) -> tuple:
    """Which Ray session this driver is in: a new local Ray has a new node, a new connection a new job."""
    context = ray.get_runtime_context()
    return context.get_job_id(), context.get_node_id()


def _original_error(err: Any) -> BaseException:
    """The exception the remote program raised (same type and message), with Ray's remote
    traceback attached as a note; Ray's own wrapper when the cause did not survive."""
    cause = getattr(err, "cause", None)
    if not isinstance(cause, BaseException):
        return err
    if hasattr(cause, "add_note"):
        cause.add_note(f"raised in a Ray task; remote traceback:\n{err}")
    return cause


def _check_options(options: dict) -> dict:
    unknown = sorted(set(options) - RAY_TASK_OPTIONS)
    if unknown:
        raise TypeError(
            f"Spawn option(s) {', '.join(map(repr, unknown))} are not Ray task options; RayHandler accepts "
            f"{', '.join(sorted(RAY_TASK_OPTIONS))}"
        )
    return options


__all__ = ["RayHandler", "RayNotStartedError", "RAY_TASK_OPTIONS", "MissingDependencyError", "RayTask", "ray_task"]

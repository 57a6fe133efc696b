"""The effects runtime migrated code runs on (doeff 0.8.0-compatible names and semantics).

Migrated code imports only from here::

    from doeff_migrate.runtime import do, run, Ask, Spawn, Gather

    @do
    def train(epochs):
        lr = yield Ask("learning_rate")
        ...

    run(train(3), env={"learning_rate": 1e-3})

Names that exist in doeff 0.8.0 keep doeff's meaning, so the same code runs on the real ``doeff``
package (``doeff-migrate --target doeff`` emits ``from doeff import ...``).
"""

from .effects import (
    Ask,
    Await,
    CacheGet,
    CachePut,
    CreateExternalPromise,
    Effect,
    EffectBase,
    Gather,
    Get,
    Listen,
    Local,
    Put,
    Race,
    RunInThread,
    Spawn,
    Tell,
    Try,
    Wait,
    WriterTellEffect,
)
from .errors import (
    MissingEnvKeyError,
    SchedulerDeadlockError,
    TaskCancelledError,
    UnhandledEffect,
)
from .expressions import (
    Expr,
    as_program,
    async_function_value,
    bind,
    by_name,
    dict_of,
    ensure_injected,
    expr,
    list_of,
    map_value,
    mzip,
    partial_of,
    procedure,
    pure_value,
)
from .handlers import (
    WithObserve,
    await_handler,
    design_env,
    handler,
    in_memory_cache_handler,
    lazy_ask,
    listen_handler,
    local_handler,
    memory_cache,
    reader,
    scheduled,
    stacked_handlers,
    state,
    try_handler,
    with_handlers,
    writer,
    writer_log,
)
from .interpreter import PASS, AtSite, ExternalPromise, Future, Task, current_task
from .program import (
    DoFunction,
    EffectGenerator,
    Pass,
    Program,
    Pure,
    Resume,
    ResumeThrow,
    Transfer,
    TransferThrow,
    do,
)
from .registry import function_binding, instance_binding
from .results import Err, Nothing, Ok, Some
from .run import run

__all__ = [
    # core
    "do",
    "run",
    "Program",
    "Pure",
    "EffectGenerator",
    "DoFunction",
    "EffectBase",
    "Effect",
    # handlers
    "handler",
    "Resume",
    "Transfer",
    "ResumeThrow",
    "TransferThrow",
    "Pass",
    "with_handlers",
    "stacked_handlers",
    "WithObserve",
    # standard effects
    "Ask",
    "Local",
    "Get",
    "Put",
    "Tell",
    "WriterTellEffect",
    "Listen",
    "Try",
    "Spawn",
    "Wait",
    "Gather",
    "Race",
    "Await",
    "RunInThread",
    "CreateExternalPromise",
    "CacheGet",
    "CachePut",
    # standard handlers
    "reader",
    "lazy_ask",
    "design_env",
    "local_handler",
    "state",
    "writer",
    "writer_log",
    "try_handler",
    "listen_handler",
    "scheduled",
    "await_handler",
    "memory_cache",
    "in_memory_cache_handler",
    # values
    "Ok",
    "Err",
    "Some",
    "Nothing",
    "Task",
    "current_task",
    "Future",
    "ExternalPromise",
    "PASS",
    "AtSite",
    # migration bindings
    "function_binding",
    "instance_binding",
    # Program expressions (IProxy counterparts, expressions.py)
    "Expr",
    "expr",
    "as_program",
    "by_name",
    "pure_value",
    "mzip",
    "list_of",
    "dict_of",
    "procedure",
    "map_value",
    "bind",
    "partial_of",
    "ensure_injected",
    "async_function_value",
    # errors
    "UnhandledEffect",
    "MissingEnvKeyError",
    "SchedulerDeadlockError",
    "TaskCancelledError",
]

# --- pinjected bridges (runtime/bridge.py): mixed pinjected/migrated codebases keep running.
# bridge.py imports pinjected only when a bridge is built or used (pinjected is an optional extra).
from .bridge import (  # noqa: E402 - kept in one block at the end
    BridgedFunction,
    PinjectedBridgeError,
    PinjectedEnv,
    PinjectedFunction,
    as_injected,
    as_instance,
    asked_keys,
    migrated_design,
    pinjected_env,
    run_mixed_entry,
)

__all__ += [
    "run_mixed_entry",
    "as_injected",
    "as_instance",
    "migrated_design",
    "PinjectedEnv",
    "pinjected_env",
    "asked_keys",
    "BridgedFunction",
    "PinjectedFunction",
    "PinjectedBridgeError",
]

# --- ML handlers: recording/replay, override, retry, observability, testing, metrics, cache, Ray ---
# RayHandler and WandbHandler import ray/wandb only when constructed, so importing these is cheap.
from .determinism import WorkerPoolHandler, check_determinism
from .disk_cache import DiskCacheHandler
from .metrics import (
    Log,
    LogConfig,
    LogMetrics,
    LogSummary,
    MetricsLogger,
    MissingDependencyError,
    WandbHandler,
)
from .observability import (
    EffectFailed,
    EffectFinished,
    EffectStarted,
    EventBus,
    EventBusHandler,
    LoggingHandler,
    Publish,
    TraceEvent,
    TracingHandler,
)
from .override import OverrideHandler
from .ray_backend import RayHandler, RayNotStartedError
from .recording import (
    UNRECORDED_EFFECTS,
    BlobIntegrityError,
    RecordingError,
    RecordingExistsError,
    RecordingFormatError,
    RecordingHandler,
    RecordingVersionError,
    ReplayDivergenceError,
    ReplayHandler,
    load_recording,
)
from .retry import RetryHandler, RetryPolicy
from .testing import Responses, SequenceMismatch, StubHandler, fake, perform_sequence

__all__ += [
    "RecordingHandler",
    "ReplayHandler",
    "load_recording",
    "UNRECORDED_EFFECTS",
    "OverrideHandler",
    "RetryHandler",
    "RetryPolicy",
    "TracingHandler",
    "LoggingHandler",
    "TraceEvent",
    "EventBus",
    "EventBusHandler",
    "Publish",
    "EffectStarted",
    "EffectFinished",
    "EffectFailed",
    "StubHandler",
    "Responses",
    "fake",
    "perform_sequence",
    "SequenceMismatch",
    "LogMetrics",
    "Log",
    "LogConfig",
    "LogSummary",
    "MetricsLogger",
    "WandbHandler",
    "RayHandler",
    "DiskCacheHandler",
    "WorkerPoolHandler",
    "check_determinism",
    "RecordingError",
    "RecordingExistsError",
    "RecordingFormatError",
    "BlobIntegrityError",
    "ReplayDivergenceError",
    "RecordingVersionError",
    "RayNotStartedError",
    "MissingDependencyError",
]

# --- dependencies as plain callables bound to the running program (runtime/dependencies.py) ---
from .dependencies import (  # noqa: E402
    AskAsyncFunction,
    AskFunction,
    bound_dependency,
    call_dependency,
    pass_dependencies,
)

__all__ += ["AskFunction", "AskAsyncFunction", "bound_dependency", "call_dependency", "pass_dependencies"]

# --- decorators written for @injected functions, on migrated ones (runtime/decoration.py) ---
from .decoration import call_at_import, injected_of, injected_proxy, update_if_registered  # noqa: E402

__all__ += ["call_at_import", "injected_of", "injected_proxy", "update_if_registered"]

# --- pinjected's __resolver__ bound to the running program (runtime/resolver.py) ---
from .resolver import AskResolver  # noqa: E402

__all__ += ["AskResolver"]

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
    # errors
    "UnhandledEffect",
    "MissingEnvKeyError",
    "SchedulerDeadlockError",
    "TaskCancelledError",
]

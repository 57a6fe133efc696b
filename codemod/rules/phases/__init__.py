"""What the ``compute`` (DM2xx), ``io`` (DM3xx) and ``recording`` (DM4xx) phases leave as they were, and why:
one module per family (``ray``, ``executors``, ``io``, ``cache``, ``recording``), each rule's text and cases beside it.

The language server's rules in ``side_effects`` (DM201, DM301-DM311) report a direct side effect inside
a ``@do`` function; the codemod reuses those codes when it leaves such a call unchanged for the same
reason, and the rules here name the more specific cases it refuses to rewrite. Background: doeff's
scheduling effects (``Spawn``/``Wait``/``Gather``) and the effects the io phase declares.
"""

from __future__ import annotations

from .cache import CACHE_ON_EFFECTFUL_FUNCTION, EXPLICIT_CACHE_CALL
from .executors import (
    EVENT_LOOP_IN_EFFECTFUL_CODE,
    EXECUTOR_IN_EFFECTFUL_CODE,
    POOL_TASKS_USED_AFTER_BLOCK,
    TASKS_UNDER_LOCK,
    THREAD_POOL_WITH_OPTIONS,
)
from .io import (
    DOEFF_CODE_KEEPS_IO,
    IO_CALL_NOT_MOVABLE,
    IO_HANDLE_IN_EFFECTFUL_CODE,
    IO_NAME_BOUND_SEVERAL_WAYS,
    NPZ_LOAD_NOT_MOVABLE,
    UNRESOLVED_CLIENT_CALL,
)
from .ray import (
    DOEFF_CODE_KEEPS_RAY,
    RAY_ACTOR,
    RAY_CLUSTER_SETUP,
    RAY_PLACEMENT_GROUP,
    REMOTE_CALL_IN_EXPRESSION,
    REMOTE_CALL_ON_UNKNOWN_OBJECT,
    SHARED_REMOTE_FUNCTION,
    UNTRACED_OBJECT_REF,
)
from .recording import (
    DOEFF_RUN_NOT_WIRED,
    HANDLER_STACK_NOT_LITERAL,
    HANDLER_STACK_WITH_OWN_RECORDING,
    RUN_WITH_INNER_RECORDER,
)

__all__ = [
    "CACHE_ON_EFFECTFUL_FUNCTION",
    "DOEFF_CODE_KEEPS_IO",
    "DOEFF_CODE_KEEPS_RAY",
    "DOEFF_RUN_NOT_WIRED",
    "EVENT_LOOP_IN_EFFECTFUL_CODE",
    "EXECUTOR_IN_EFFECTFUL_CODE",
    "EXPLICIT_CACHE_CALL",
    "HANDLER_STACK_NOT_LITERAL",
    "HANDLER_STACK_WITH_OWN_RECORDING",
    "IO_CALL_NOT_MOVABLE",
    "IO_HANDLE_IN_EFFECTFUL_CODE",
    "IO_NAME_BOUND_SEVERAL_WAYS",
    "NPZ_LOAD_NOT_MOVABLE",
    "POOL_TASKS_USED_AFTER_BLOCK",
    "RAY_ACTOR",
    "RAY_CLUSTER_SETUP",
    "RAY_PLACEMENT_GROUP",
    "REMOTE_CALL_IN_EXPRESSION",
    "REMOTE_CALL_ON_UNKNOWN_OBJECT",
    "RUN_WITH_INNER_RECORDER",
    "SHARED_REMOTE_FUNCTION",
    "TASKS_UNDER_LOCK",
    "THREAD_POOL_WITH_OPTIONS",
    "UNRESOLVED_CLIENT_CALL",
    "UNTRACED_OBJECT_REF",
]

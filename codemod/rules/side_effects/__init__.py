"""Flags direct side effects inside effectful (``@do``) code: ray calls (DM2xx) and IO (DM3xx), one module per
family (``compute``, ``io``, ``ambient``).

Which calls count is data: the side-effect catalogue in ``doeff_migrate.codemod.side_effects``, extensible
with ``extra-side-effects`` in ``[tool.doeff-migrate]``. Background: doeff's "every side effect is a yielded
value that a handler answers".
"""

from __future__ import annotations

from .. import Rule
from .ambient import (
    DIRECT_CLOCK_CALL,
    DIRECT_CONFIGURED_SIDE_EFFECT,
    DIRECT_ENVIRON_ACCESS,
    DIRECT_PRINT_CALL,
    DIRECT_RANDOM_CALL,
    SIDE_EFFECT_VIA_HELPER,
)
from .compute import DIRECT_RAY_CALL
from .io import (
    DIRECT_CHECKPOINT_IO,
    DIRECT_FILE_IO,
    DIRECT_HTTP_CALL,
    DIRECT_LLM_CALL,
    DIRECT_METRICS_CALL,
    DIRECT_SUBPROCESS_CALL,
)

__all__ = [
    "CATEGORY_RULES",
    "DIRECT_CHECKPOINT_IO",
    "DIRECT_CLOCK_CALL",
    "DIRECT_CONFIGURED_SIDE_EFFECT",
    "DIRECT_ENVIRON_ACCESS",
    "DIRECT_FILE_IO",
    "DIRECT_HTTP_CALL",
    "DIRECT_LLM_CALL",
    "DIRECT_METRICS_CALL",
    "DIRECT_PRINT_CALL",
    "DIRECT_RANDOM_CALL",
    "DIRECT_RAY_CALL",
    "DIRECT_SUBPROCESS_CALL",
    "SIDE_EFFECT_VIA_HELPER",
]


CATEGORY_RULES: dict[str, Rule] = {
    "compute": DIRECT_RAY_CALL,
    "metrics": DIRECT_METRICS_CALL,
    "checkpoint": DIRECT_CHECKPOINT_IO,
    "file": DIRECT_FILE_IO,
    "http": DIRECT_HTTP_CALL,
    "process": DIRECT_SUBPROCESS_CALL,
    "environment": DIRECT_ENVIRON_ACCESS,
    "clock": DIRECT_CLOCK_CALL,
    "random": DIRECT_RANDOM_CALL,
    "console": DIRECT_PRINT_CALL,
    "custom": DIRECT_CONFIGURED_SIDE_EFFECT,
    "llm": DIRECT_LLM_CALL,
}
"""Side-effect catalogue category -> the rule that reports it."""

"""Rules of phase ``di``: pinjected constructs the codemod leaves as they are and flags, one module per family
(``definitions``, ``dependencies``, ``designs``; function bodies and entry-point calls are in ``di_calls``).

Retired codes, now migrated (their numbers are not reused): DM102 (a dependency used as a value or in
a nested scope: ``AskFunction``), DM104 and DM114 (``async with``/``async for``, ``await`` in a nested
expression: the body runs as a coroutine through ``Await``), DM107 (a key bound to functions and
values: ``AskFunction`` / ``call_dependency``).
"""

from __future__ import annotations

from .definitions import (
    CLASS_INJECTION,
    EAGER_INSTANCE,
    INJECTED_GENERATOR,
    INSTANCE_STAR_PARAMS,
    NESTED_INJECTED,
    STACKED_DECORATOR,
)
from .dependencies import (
    DEPENDENCY_DEFAULT,
    DEPENDS_ON_UNMIGRATED,
    RESOLVER_SPECIAL,
    RUNNER_SPECIFIC,
    RUNTIME_ONLY_COUNTERPART,
    UNAWAITED_ASYNC_DEPENDENCY,
)
from .designs import (
    DEPENDENCY_CYCLE,
    ENTRY_POINT_IN_DESIGN,
    REEXPORTED_PINJECTED_API,
    SHARED_INSTANCE_IN_DESIGN,
    UNDISSOLVED_WITH_DESIGN,
    UNTRANSLATABLE_DESIGN,
    UNTRANSLATABLE_IPROXY,
)

__all__ = [
    "CLASS_INJECTION",
    "DEPENDENCY_CYCLE",
    "DEPENDENCY_DEFAULT",
    "DEPENDS_ON_UNMIGRATED",
    "EAGER_INSTANCE",
    "ENTRY_POINT_IN_DESIGN",
    "INJECTED_GENERATOR",
    "INSTANCE_STAR_PARAMS",
    "NESTED_INJECTED",
    "REEXPORTED_PINJECTED_API",
    "RESOLVER_SPECIAL",
    "RUNNER_SPECIFIC",
    "RUNTIME_ONLY_COUNTERPART",
    "SHARED_INSTANCE_IN_DESIGN",
    "STACKED_DECORATOR",
    "UNAWAITED_ASYNC_DEPENDENCY",
    "UNDISSOLVED_WITH_DESIGN",
    "UNTRANSLATABLE_DESIGN",
    "UNTRANSLATABLE_IPROXY",
]

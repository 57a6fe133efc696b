"""What the analysis reports, as plain data: findings with ranges, fixes and the codemod's decision.

No protocol types here (ruff's ``lint::check``, Fixit's ``fixit_bytes``): the language server converts
Findings to LSP diagnostics, ``status`` counts them, and tests compare them with the CLI's output. Lines
are 0-based and columns count code points.
"""

from __future__ import annotations

from dataclasses import dataclass
from ..rules.effect_code import ASYNC_DO_FUNCTION, AWAIT_IN_EFFECTFUL_CODE

__all__ = ["Range", "Edit", "Fix", "Finding", "SEVERITY", "CONVERT_TITLE"]


@dataclass(frozen=True)
class Range:
    """0-based lines, code-point columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class Edit:
    range: Range
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    safe: bool = True
    """Safe in ruff's sense: applied by ``source.fixAll``."""


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    range: Range
    fix: Fix | None = None
    migrate_lines: tuple[int, int] | None = None
    """1-based inclusive line span ``doeff-migrate`` rewrites for this construct (``only_range``); set only
    where the codemod's plan for the file migrates it (``analysis.plan``), or before the plan is known."""
    migrate_title: str | None = None
    migrate_phase: str | None = None
    """Codemod phase of the construct (``di``, ``compute``, ``io``)."""


SEVERITY: dict[str, str] = {"DM0": "error", "DM1": "information", AWAIT_IN_EFFECTFUL_CODE.code: "error", ASYNC_DO_FUNCTION.code: "error"}
# DM502/DM503 are errors: `await` in a plain `def` does not compile, `@do async def` raises at import.
"""Code prefix -> severity; the most specific prefix wins, the default is ``warning``."""

CONVERT_TITLE = "Convert this call to an effect (doeff-migrate)"

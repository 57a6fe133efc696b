"""What ``doeff-migrate`` would do with one file, and the findings restated as that decision.

:func:`plan_file` runs the codemod on the text in memory (``engine.migrate_text``, as the CLI's
``process_file`` does: the project index, the phases, target and select/ignore of ``[tool.doeff-migrate]``)
and keeps the lines it rewrites and the flags it leaves. :func:`decided` then states, on each finding of
a construct the codemod handles (DM15x, DM2xx/DM3xx), what the CLI does there: it migrates it (the quick
fix is offered), or leaves it with its flag's reason, or leaves it unchanged; and it adds the flags the
CLI would leave where the analysis found nothing (``asyncio.run`` in ``@do``, an IO call through an
ambiguous import, ...), so the editor shows every construct ``doeff-migrate --diff`` migrates or flags.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .findings import Finding, Range
from ..rules.remaining import REMAINING_DESIGN, REMAINING_INJECTED_COMBINATOR, REMAINING_IPROXY_ENTRY_POINT
from ..rules.side_effects import SIDE_EFFECT_VIA_HELPER

if TYPE_CHECKING:
    from doeff_migrate.codemod.config import Settings
    from doeff_migrate.codemod.index import ProjectIndex

__all__ = ["FilePlan", "plan_file", "decided", "carried", "decision_key", "DECIDED_PREFIXES", "HINT_CODES", "WHOLE_FILE_CODES", "cli_phases", "FLAG_LINE", "is_flag_comment"]

DECIDED_PREFIXES = ("DM15", "DM2", "DM3")
"""Codes of the constructs the codemod migrates or flags: their findings carry its decision."""

FLAG_LINE = re.compile(r"^\s*#\s*doeff-migrate:\s*DM\d{3}\b")
"""A line holding only a flag comment of the codemod."""


def _hint_codes() -> frozenset[str]:
    from doeff_migrate.codemod.rules.side_effects import CATEGORY_RULES
    from doeff_migrate.codemod.side_effects import KEPT_CATEGORIES

    # Helpers called from ``@do`` are not rewritten either.
    return frozenset({CATEGORY_RULES[c].code for c in KEPT_CATEGORIES} | {SIDE_EFFECT_VIA_HELPER.code})


HINT_CODES = _hint_codes()
"""Side-effect codes ``doeff-migrate`` leaves unchanged by design: editing hints, not migration work."""


@dataclass(frozen=True)
class PlannedFlag:
    code: str
    line: int
    """0-based line of the construct in the input."""
    col: int
    message: str


@dataclass(frozen=True)
class FilePlan:
    changed: frozenset[int]
    """0-based lines of the input the codemod rewrites (its flag comments are not rewrites)."""
    flags: tuple[PlannedFlag, ...]
    error: str | None = None
    """Why the codemod fails on the file (it leaves it unchanged); None when it ran."""
    new_text: str | None = None
    """The file as ``doeff-migrate`` writes it (bridges to other files aside); None when unchanged."""

    def flags_in(self, first: int, last: int) -> list[PlannedFlag]:
        return [f for f in self.flags if first <= f.line <= last]

    def rewrites(self, first: int, last: int) -> bool:
        return any(first <= line <= last for line in self.changed)


def cli_phases(settings: Settings | None) -> tuple[str, ...]:
    """The phases ``doeff-migrate`` runs with ``settings`` and no ``--phase``: ``phases`` of the table (all
    by default), only those the target supports for ``target = "doeff"``."""
    from doeff_migrate.codemod.transforms import PHASES

    phases = tuple((settings.phases if settings is not None else None) or PHASES)
    if settings is not None and settings.target == "doeff":
        phases = tuple(p for p in phases if p == "di")
    return phases


def plan_file(source: str, path: str, *, index: ProjectIndex | None = None, settings: Settings | None = None) -> FilePlan:
    """The codemod's result for ``source`` at ``path``, as ``doeff-migrate PATH`` computes it."""
    from pathlib import Path

    from doeff_migrate.codemod.engine import MigrationError, migrate_text

    try:
        result = migrate_text(
            source,
            path=path,
            phases=cli_phases(settings),
            target=settings.target if settings is not None else "runtime",
            index=index,
            select=tuple(settings.select) if settings is not None else None,
            ignore=tuple(settings.ignores_for(Path(path))) if settings is not None else None,
        )
    except MigrationError as exc:
        return FilePlan(frozenset(), (), error=str(exc))
    except RecursionError:
        return FilePlan(frozenset(), (), error="too deeply nested to parse")
    flags = tuple(PlannedFlag(f.code, f.line - 1, f.col, f.message) for f in result.flags)
    if not result.changed:
        return FilePlan(frozenset(), flags)
    return FilePlan(rewritten_lines(source, result.code), flags, new_text=result.code)


def rewritten_lines(old: str, new: str) -> frozenset[int]:
    """0-based lines of ``old`` that ``new`` replaces or inserts code before (inserted flag comments aside)."""
    a, b = old.splitlines(), new.splitlines()
    changed: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            if all(FLAG_LINE.match(line) for line in b[j1:j2]):
                continue
            changed.add(min(i1, max(len(a) - 1, 0)))
        else:
            changed.update(range(i1, i2))
    return frozenset(changed)


_DI = "doeff-migrate migrates it (phase `{phase}`)"

WHOLE_FILE_CODES = frozenset({REMAINING_DESIGN.code, REMAINING_INJECTED_COMBINATOR.code, REMAINING_IPROXY_ENTRY_POINT.code})
"""Constructs the codemod rewrites only with the whole file: a run on some lines (``only_range``, the editor's
"Migrate" of one construct) runs the di phase's function transform alone (``engine.migrate_text``), not the
designs and entry-points transforms. The editor offers "Migrate this file" for them, no per-construct edit."""


def decided(findings: list[Finding], plan: FilePlan, lines: list[str]) -> list[Finding]:
    """``findings`` with the CLI's decision stated on each construct it handles, and a finding for each
    flag the CLI leaves that no finding covers yet."""
    out: list[Finding] = []
    covered: set[PlannedFlag] = set()
    for finding in findings:
        if not finding.code.startswith(DECIDED_PREFIXES) or is_flag_comment(finding, lines):
            out.append(finding)
            continue
        first, last = _span(finding)
        flags = plan.flags_in(first, last)
        covered.update(flags)
        out.append(_with_decision(finding, plan, first, last, flags or _flag_comments_above(first, lines)))
    for flag in plan.flags:
        if flag in covered or _commented_above(flag, lines) or _reported(flag, out):
            continue
        line = lines[flag.line] if 0 <= flag.line < len(lines) else ""
        out.append(
            Finding(
                flag.code,
                f"doeff-migrate leaves this as it is and flags it: {flag.message}",
                Range(flag.line, min(flag.col, len(line)), flag.line, len(line)),
            )
        )
    out.sort(key=lambda f: (f.range.start_line, f.range.start_col, f.code))
    return out


def is_flag_comment(finding: Finding, lines: list[str]) -> bool:
    """A finding that reports a ``# doeff-migrate: DM###`` comment already in the file (the CLI's flag itself)."""
    line = lines[finding.range.start_line] if 0 <= finding.range.start_line < len(lines) else ""
    return FLAG_LINE.match(line) is not None and finding.range.start_col >= len(line) - len(line.lstrip())


def _span(finding: Finding) -> tuple[int, int]:
    """0-based lines the finding's construct spans (its ``migrate_lines`` when set)."""
    if finding.migrate_lines is not None:
        return finding.migrate_lines[0] - 1, finding.migrate_lines[1] - 1
    return finding.range.start_line, finding.range.end_line


def _with_decision(finding: Finding, plan: FilePlan, first: int, last: int, flags: list) -> Finding:
    head = finding.message.split(";")[0]
    if plan.error is not None:
        return replace(finding, message=f"{head}; doeff-migrate leaves the file unchanged: {plan.error}",
                       migrate_lines=None, migrate_title=None, migrate_phase=None)
    reasons = "; ".join(f"{f.code}: {f.message}" for f in flags)
    if plan.rewrites(first, last):
        phase = finding.migrate_phase or "di"
        said = _DI.format(phase=phase) + (f", and flags what it leaves ({reasons})" if reasons else "")
        if finding.code in WHOLE_FILE_CODES:
            return replace(finding, message=f"{head}; {said} when it migrates the file",
                           migrate_lines=None, migrate_title=None, migrate_phase=None)
        return replace(finding, message=f"{head}; {said}", migrate_lines=finding.migrate_lines or (first + 1, last + 1))
    if flags:
        said = f"doeff-migrate leaves it as it is and flags it ({reasons})"
    elif finding.code in HINT_CODES:
        said = "doeff-migrate keeps it by design (the migrated program runs it as before): a hint, not migration work"
    else:
        said = "doeff-migrate leaves it as it is"
    return replace(finding, message=f"{head}; {said}", migrate_lines=None, migrate_title=None, migrate_phase=None)


def _flag_comments_above(first: int, lines: list[str]) -> list[PlannedFlag]:
    """The codemod's flag comments right above line ``first`` (left by an earlier run)."""
    found = []
    above = first - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        match = re.match(r"^\s*#\s*doeff-migrate:\s*(DM\d{3})\s*:?\s*(.*)$", lines[above])
        if match:
            found.append(PlannedFlag(match.group(1), first, 0, match.group(2).strip()))
        above -= 1
    return found


def _commented_above(flag: PlannedFlag, lines: list[str]) -> bool:
    """A ``# doeff-migrate: <code>`` comment already in the file right above the flagged line (the flag
    comments finding reports it)."""
    above = flag.line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        if re.match(rf"^\s*#\s*doeff-migrate:\s*{flag.code}\b", lines[above]):
            return True
        above -= 1
    return False


def _reported(flag: PlannedFlag, findings: list[Finding]) -> bool:
    return any(f.code == flag.code and f.range.start_line <= flag.line <= f.range.end_line for f in findings)


def decision_key(finding: Finding, lines: list[str]) -> tuple[str, str, str]:
    """What identifies a construct across edits elsewhere in the file: its code, what the analysis says of
    it (which names the construct and its function) and its first line's text."""
    line = lines[finding.range.start_line] if 0 <= finding.range.start_line < len(lines) else ""
    return finding.code, finding.message.split(";")[0], line.strip()


def carried(
    findings: list[Finding], decisions: dict[tuple[str, str, str], Finding], lines: list[str], memo: dict | None = None
) -> list[Finding]:
    """``findings`` of a text not planned yet: each construct keeps the decision of the last plan when its
    line is unchanged; a construct the plan has not seen claims nothing (no message of what the CLI does,
    no "Migrate" until its plan says so).

    ``memo``: the results of the last call with the same ``decisions``, by finding (its identity: an edit
    re-analyses one function, the others' findings are the same objects) and its line; refilled here."""
    out = []
    previous = dict(memo) if memo is not None else {}
    if memo is not None:
        memo.clear()
    for finding in findings:
        line = lines[finding.range.start_line] if 0 <= finding.range.start_line < len(lines) else ""
        known = previous.get(id(finding))
        if known is not None and known[0] is finding and known[1] == line:
            result = known[2]
        else:
            result = _carried(finding, decisions, lines)
        if memo is not None:
            memo[id(finding)] = (finding, line, result)
        out.append(result)
    return out


def _carried(finding: Finding, decisions: dict[tuple[str, str, str], Finding], lines: list[str]) -> Finding:
    if not finding.code.startswith(DECIDED_PREFIXES) or is_flag_comment(finding, lines):
        return finding
    known = decisions.get(decision_key(finding, lines))
    if known is not None and known.migrate_lines is not None:
        return replace(finding, message=known.message)
    if known is not None:
        return replace(finding, message=known.message, migrate_lines=None, migrate_title=None, migrate_phase=None)
    return replace(finding, migrate_lines=None, migrate_title=None, migrate_phase=None)

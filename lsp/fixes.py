"""Edits behind the quick fixes: fix-all of safe fixes, ``# noqa`` insertion, the smallest line-block edit
between two texts (so the editor keeps the cursor and undo history of the untouched lines), and the
"Verify this entry point" lens. The "Migrate" edits are the codemod's (``codemod/analysis/migration.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from doeff_migrate.codemod.analysis import CONVERT_TITLE, Edit, Finding, Range

__all__ = [
    "apply_fixes",
    "noqa_edit",
    "line_diff_edit",
    "CONVERT_TITLE",
    "VERIFY_COMMAND",
    "VerifyLens",
    "verify_lenses",
    "verify_lens_at",
    "run_verify",
    "verify_message",
]


log = logging.getLogger(__name__)
_NOQA_CODES = re.compile(r"#\s*noqa:\s*(?P<codes>DM\d+(?:[\s,]+DM\d+)*)", re.IGNORECASE)
_BARE_NOQA = re.compile(r"#\s*noqa\b(?!:)", re.IGNORECASE)


def apply_fixes(findings: Iterable[Finding]) -> list[Edit]:
    """The edits of every safe fix, without overlaps (first fix wins) and without duplicate edits."""
    chosen: list[Edit] = []
    seen: set[tuple] = set()
    taken: list[Range] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not fix.safe:
            continue
        edits = [e for e in fix.edits if (e.range, e.new_text) not in seen]
        if any(_overlaps(e.range, t) for e in edits for t in taken if not _is_insert(e.range) or not _is_insert(t)):
            continue
        for edit in edits:
            seen.add((edit.range, edit.new_text))
            taken.append(edit.range)
            chosen.append(edit)
    return chosen


def _is_insert(rng: Range) -> bool:
    return (rng.start_line, rng.start_col) == (rng.end_line, rng.end_col)


def _overlaps(a: Range, b: Range) -> bool:
    a0, a1 = (a.start_line, a.start_col), (a.end_line, a.end_col)
    b0, b1 = (b.start_line, b.start_col), (b.end_line, b.end_col)
    return a0 < b1 and b0 < a1 or (a0 == b0 and (a0 == a1 or b0 == b1))


def noqa_edit(lines: Sequence[str], line: int, code: str) -> Edit | None:
    """Edit adding ``code`` to the line's ``# noqa`` comment (or a new one); None when already suppressed."""
    if not 0 <= line < len(lines):
        return None
    text = lines[line].rstrip("\r\n")
    match = _NOQA_CODES.search(text)
    if match:
        codes = re.split(r"[\s,]+", match.group("codes").strip())
        if code in codes:
            return None
        end = match.end("codes")
        return Edit(Range(line, end, line, end), f", {code}")
    if _BARE_NOQA.search(text):
        return None
    end = len(text)
    stripped = text.rstrip()
    return Edit(Range(line, len(stripped), line, end), f"  # noqa: {code}")


def line_diff_edit(old: str, new: str) -> Edit | None:
    """One edit replacing the block of whole lines that differs between ``old`` and ``new``."""
    if old == new:
        return None
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    replaced_end = len(a) - suffix
    new_text = "".join(b[prefix : len(b) - suffix])
    if replaced_end < len(a) or not a or a[-1].endswith(("\n", "\r")):
        return Edit(Range(prefix, 0, replaced_end, 0), new_text)
    # The old text has no final newline and the change reaches its last line: end at its last column.
    last = len(a) - 1
    return Edit(Range(prefix, 0, last, len(a[last])), new_text)


# -- "Verify this entry point" (doeff-migrate verify) ------------------------------------------------------

VERIFY_COMMAND = "doeff-migrate.verifyEntryPoint"
"""Server-side command behind the code lens: arguments ``[target, project]``."""
VERIFY_TITLE = "Verify this entry point"


@dataclass(frozen=True)
class VerifyLens:
    line: int  # 0-based line of the entry point's definition
    target: str  # pkg.mod.var
    project: str  # the folder ``target`` imports from (``verify --project``)
    title: str


def import_root(path: str) -> tuple[str, str]:
    """(folder the module imports from, dotted module name) for the file at ``path``."""
    from pathlib import Path

    file = Path(path).resolve()
    parts = [] if file.stem == "__init__" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return str(folder), ".".join(parts)


def verdict_title(entry: dict | None) -> str:
    """The lens title: the action, then the last recorded verdict (``verified.json``) if any."""
    if not entry:
        return VERIFY_TITLE
    commit = str(entry.get("commit", ""))[:8] + ("+" if entry.get("dirty") else "")
    return f"{VERIFY_TITLE} (last: {entry.get('verdict', '?')} at {commit}, {entry.get('at', '?')})"


def verify_lenses(source: str, path: str) -> list[VerifyLens]:
    """One lens per module-level entry point of the file (found by parsing), titled with its last verdict."""
    from pathlib import Path

    from doeff_migrate.codemod.verified import entry_points_in_source, find_record, read_record

    if not path.endswith(".py"):
        return []
    found = entry_points_in_source(source)
    if not found:
        return []
    project, module = import_root(path)
    record = find_record(Path(project))
    verdicts = read_record(record) if record is not None else {}
    return [
        VerifyLens(e.line - 1, f"{module}.{e.name}", project, verdict_title(verdicts.get(f"{module}.{e.name}")))
        for e in found
    ]


def verify_lens_at(source: str, path: str, line: int) -> VerifyLens | None:
    """The lens of the entry point defined on ``line`` (0-based), for the "Verify this entry point" code action."""
    return next((lens for lens in verify_lenses(source, path) if lens.line == line), None)


def run_verify(target: str, project: str, python: str | None = None, timeout: float = 900.0) -> dict:
    """Run ``doeff-migrate verify target --project project --json`` in a child process.

    Returns ``{"verdict": equal|different|failed|error, "detail": ..., "exit_code": n}``; the CLI records
    the verdict itself (``verified.json``), which the next lens request reads.
    """
    import json
    import subprocess
    import sys

    command = [python or sys.executable, "-m", "doeff_migrate.codemod", "verify", target, "--project", project, "--json"]
    try:
        proc = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"verdict": "error", "detail": str(exc), "exit_code": None}
    try:
        report = json.loads(proc.stdout)
        entry = report["entry_points"][0]
        return {"verdict": entry["verdict"], "detail": entry["detail"], "exit_code": proc.returncode}
    except (ValueError, KeyError, IndexError, TypeError):
        return {"verdict": "error", "detail": (proc.stderr or proc.stdout).strip()[-2000:], "exit_code": proc.returncode}


def verify_message(target: str, result: dict) -> tuple[str, str]:
    """(level ``info``/``warning``/``error``, text) of the message shown after a verify run."""
    verdict = result.get("verdict")
    detail = str(result.get("detail") or "").strip()
    if verdict == "equal":
        return "info", f"doeff-migrate verify: {target} behaves the same after migration"
    level = "warning" if verdict == "different" else "error"
    what = {"different": "behaves differently after migration", "failed": "did not run on one side"}.get(verdict, "could not be verified")
    return level, f"doeff-migrate verify: {target} {what}" + (f":\n{detail}" if detail else "")

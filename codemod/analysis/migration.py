"""The edits ``doeff-migrate`` makes for one construct or one file, for the editor's "Migrate" quick fix.

:func:`migrate_in_editor` runs the codemod as the CLI does (the project index, the phases, target and
select/ignore of ``[tool.doeff-migrate]``), on the lines of one construct (``only_range``) or on the whole
file, then plans what the CLI writes besides the file: the package's generated handler module
(``handler_stubs.plan_handler_modules``) and the bridge blocks that keep pinjected code elsewhere in the
project resolving the providers this migrates (``bridges.plan_bridge_files``). A construct's rewrite is
handed out only when it is the CLI's own rewrite of those lines (:func:`same_as_cli`); else None, and the
editor offers no "Migrate" for it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .plan import FLAG_LINE, FilePlan, cli_phases
from ..rules.bridges import MIGRATED_FUNCTION_USED_AS_OBJECT

if TYPE_CHECKING:
    from doeff_migrate.codemod.config import Settings
    from doeff_migrate.codemod.index import ProjectIndex

__all__ = ["FileChange", "Migration", "migrate_in_editor", "same_as_cli", "same_statements_as_cli"]


@dataclass(frozen=True)
class FileChange:
    """Another file the migration writes: created (``old`` None), changed, or deleted (``new`` None)."""

    path: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Migration:
    text: str
    """The migrated file's new text."""
    others: tuple[FileChange, ...] = ()


def migrate_in_editor(
    source: str,
    path: str,
    *,
    index: ProjectIndex,
    settings: Settings,
    plan: FilePlan,
    lines: tuple[int, int] | None = None,
    project_files: Iterable[str] = (),
    read_text: Callable[[str], str | None] | None = None,
    root: str | None = None,
) -> Migration | None:
    """What ``doeff-migrate`` writes when it migrates lines ``lines`` (1-based, inclusive) of ``source``, or
    the whole file when ``lines`` is None; ``plan`` is its plan of the whole file (:func:`plan.plan_file`).

    None when the CLI would not write this: it leaves those lines as they are, its rewrite of them differs
    when the file is migrated whole, or a handler module it needs cannot be extended. Uses ``index`` and
    puts it back as it was (the index describes the files as they are).
    """
    from doeff_migrate.codemod.config import rule_selector
    from doeff_migrate.codemod.engine import MigrationError, migrate_text
    from doeff_migrate.codemod.handler_stubs import plan_handler_modules

    if plan.new_text is None:
        return None
    if lines is None:
        text, effects, facts = plan.new_text, None, None
    else:
        try:
            result = migrate_text(
                source, path=path, phases=cli_phases(settings), target=settings.target, index=index,
                only_range=lines, select=tuple(settings.select), ignore=tuple(settings.ignores_for(Path(path))),
            )
        except (MigrationError, ValueError, RecursionError):
            return None
        if not result.changed or not (
            same_as_cli(source, result.code, plan.new_text, lines) or same_statements_as_cli(source, result.code, plan.new_text)
        ):
            return None
        text, effects, facts = result.code, result.effects, result.facts
    if effects is None:  # the whole file: the plan's run, repeated for its handler needs and facts
        try:
            result = migrate_text(
                source, path=path, phases=cli_phases(settings), target=settings.target, index=index,
                select=tuple(settings.select), ignore=tuple(settings.ignores_for(Path(path))),
            )
        except (MigrationError, ValueError, RecursionError):
            return None
        effects, facts = result.effects, result.facts
    others: list[FileChange] = []
    reader = read_text or _disk_text
    for change in plan_handler_modules(effects, read_text=reader, root=root):
        if change.error is not None:
            return None  # the file would import names its handler module cannot get
        others.append(FileChange(str(change.path), change.old, change.new))
    if "di" in cli_phases(settings) and settings.target == "runtime":
        text, bridge_changes = _with_bridges(path, source, text, facts, index, project_files, rule_selector(settings.select, settings.ignore)(MIGRATED_FUNCTION_USED_AS_OBJECT.code))
        others += bridge_changes
    return Migration(text, tuple(others))


def _with_bridges(path, source, text, facts, index, project_files, flag_references) -> tuple[str, list[FileChange]]:
    """The bridge blocks the CLI writes after this rewrite: in the file itself (its new text) or in others."""
    import os

    from doeff_migrate.codemod.bridges import plan_bridge_files

    own = os.path.abspath(path)
    index.add_source(path, text, facts=facts)
    try:
        changes = plan_bridge_files(index, dict.fromkeys([*project_files, path]), {own: text}, flag_references=flag_references)
    finally:
        index.add_source(path, source)
    others = []
    for change in changes:
        if os.path.abspath(change.path) == own:
            text = change.new or ""
        else:
            others.append(FileChange(str(change.path), change.old, change.new))
    return text, others


def same_as_cli(source: str, ranged: str, whole: str, lines: tuple[int, int]) -> bool:
    """Whether every rewrite ``ranged`` (the codemod on ``lines`` only) makes inside ``lines`` is the one
    ``whole`` (the CLI's run on the file) makes there: the same old lines replaced by the same new ones.
    Rewrites outside the lines (the imports the range needs) and new flag comments (the flags of other
    constructs) are not compared."""
    first, last = lines[0] - 1, lines[1]
    old = source.splitlines(keepends=True)
    kept = set(old)

    def hunks(new: str) -> set[tuple[int, int, str]]:
        found = set()
        table = _requires_lines(new)
        new_lines = [
            line for number, line in enumerate(new.splitlines(keepends=True))
            if number not in table and (line in kept or not FLAG_LINE.match(line))
        ]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new_lines, autojunk=False).get_opcodes():
            if tag == "equal" or i1 > last or max(i2, i1 + 1) <= first:
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:  # line for line: compared one line at a time
                found.update((i, i + 1, new_lines[j1 + i - i1]) for i in range(i1, i2) if first <= i < last)
            else:
                found.add((i1, i2, "".join(new_lines[j1:j2])))
        return found

    mine = hunks(ranged)
    return bool(mine) and mine <= hunks(whole) and _same_entries(source, ranged, whole)


def _requires_lines(text: str) -> set[int]:
    """0-based lines of the module's ``__doeff_requires__`` table and the blank lines above it (compared by
    entries, not lines: the table is written at the end of the file, next to whatever was rewritten there)."""
    import ast

    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError):
        return set()
    lines = text.splitlines()
    found: set[int] = set()
    for stmt in body:
        if _is_requires(stmt):
            first = stmt.lineno - 1
            while first > 0 and not lines[first - 1].strip():  # with the blank lines written above it
                first -= 1
            found.update(range(first, stmt.end_lineno or stmt.lineno))
    return found


def _is_requires(stmt) -> bool:
    import ast

    return (
        isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        and stmt.targets[0].id == "__doeff_requires__" and isinstance(stmt.value, ast.Dict)
    )


def _same_entries(source: str, ranged: str, whole: str) -> bool:
    """Every ``__doeff_requires__`` entry ``ranged`` writes or changes is the one ``whole`` has."""
    try:
        old, mine, cli = (_statements(text)[1] for text in (source, ranged, whole))
    except (SyntaxError, ValueError):
        return False
    return all(cli.get(key) == value for key, value in mine.items() if old.get(key) != value)


def same_statements_as_cli(source: str, ranged: str, whole: str) -> bool:
    """Whether every module-level statement ``ranged`` (the codemod on some lines) writes anew is, character
    for character, one of ``whole`` (the CLI's run on the file), and every ``__doeff_requires__`` entry it
    writes is the CLI's. Imports are not compared (the lines' own, as :func:`same_as_cli`).

    Where a construct becomes several statements (an ``@injected_pytest`` test: its ``@do`` program and the
    plain test running it) and its neighbours are rewritten too, the line diffs of the two runs group the
    rewrites differently although the statements are the same: this compares the statements themselves."""
    try:
        old, mine, cli = (_statements(text) for text in (source, ranged, whole))
    except (SyntaxError, ValueError):
        return False
    written = mine[0] - old[0]
    return bool(written) and written <= cli[0] and _same_entries(source, ranged, whole)


def _statements(text: str) -> tuple[set[str], dict]:
    """(text of each module-level statement but imports and ``__doeff_requires__``, from its first decorator
    to its last line; the ``__doeff_requires__`` table)."""
    import ast

    lines = text.splitlines(keepends=True)
    found: set[str] = set()
    requires: dict = {}
    for stmt in ast.parse(text).body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if _is_requires(stmt):
            requires = ast.literal_eval(stmt.value)
            continue
        first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
        found.add("".join(lines[first - 1 : stmt.end_lineno]))
    return found, requires


def _disk_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None

"""What a run checks before it reads or writes a file: paths, the report's destination, rule codes,
and that a generated file is valid Python. Each answer is a message for the user (nothing: all good)."""

from __future__ import annotations

import os
from pathlib import Path

from .discovery import project_root_for
from .rules import all_rules

__all__ = ["outside_their_project", "report_problem", "matching_no_rule", "unknown_codes", "invalid_python"]

def outside_their_project(paths: list[Path]) -> list[str]:
    """Given paths that resolve outside the project they are named in (a symlink to another tree):
    writing there would migrate someone else's files and move the project's bridge out of it."""
    problems = []
    for given in paths:
        named = Path(os.path.abspath(given))
        folder = named.parent if named.parent != named else named
        root = project_root_for(folder)
        in_a_project = (folder / "__init__.py").exists() or any((root / m).exists() for m in ("pyproject.toml", "setup.py", ".git"))
        if not in_a_project:
            continue  # a link to a whole project (``~/proj`` -> ``/data/proj``) names that project
        try:
            resolved = given.resolve(strict=True)
        except (OSError, RuntimeError):
            continue  # a loop or a dangling link: reading it fails, and that file's failure says so
        try:
            resolved.relative_to(root)
        except ValueError:
            problems.append(f"{given} resolves to {resolved}, outside the project {root}")
    return problems


def report_problem(report: Path) -> str | None:
    """Why the JSON report could not be written at the end of the run (checked before writing anything)."""
    folder = report.parent if str(report.parent) else Path(".")
    if report.is_dir():
        return "is a folder"
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK) or (report.exists() and not os.access(report, os.W_OK)):
        return "cannot be written (permission denied)"
    return None


def matching_no_rule(given) -> list[str]:
    """The codes or prefixes of ``given`` that match no rule (``DM999``, ``NOPE``, ``""``)."""
    codes = [rule.code for rule in all_rules()]
    return [c for c in given if not c or not any(code.startswith(c) for code in codes)]


def unknown_codes(settings, select: list[str] | None, ignore: list[str] | None) -> list[str]:
    """Rule codes or prefixes that match no rule: a typo there would hide every flag (``select``)
    or none (``ignore``) without a word."""
    sources = [
        ("--select", select or ()), ("--ignore", ignore or ()),
        ("select", settings.select), ("ignore", settings.ignore),
        *((f"per-file-ignores[{pattern!r}]", listed) for pattern, listed in settings.per_file_ignores.items()),
    ]
    problems = []
    for where, given in sources:
        bad = matching_no_rule(given)
        if bad:
            origin = where if where.startswith("--") else f"{settings.source or 'configuration'}: [tool.doeff-migrate] {where}"
            problems.append(f"{origin}: unknown rule code or prefix {', '.join(map(repr, bad))}")
    return problems


def invalid_python(text: str) -> str | None:
    """Why generated ``text`` is not valid Python (None: it is); generated files are checked like any output."""
    try:
        compile(text, "<generated>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{exc.msg}, line {exc.lineno}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None

"""Finds the Python files to migrate: ``.gitignore``-aware, excludes, symlinks kept inside the tree."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pathspec

DEFAULT_EXCLUDES = (".git/", ".venv/", "venv/", "__pycache__/", ".tox/", "node_modules/", "build/", "dist/", "*.egg-info/")


def _gitignore_specs(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    specs = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules", "__pycache__")]
        if ".gitignore" in files:
            lines = (Path(folder) / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((Path(folder), pathspec.GitIgnoreSpec.from_lines(lines)))
    return specs


def iter_python_files(paths: Sequence[Path], excludes: Iterable[str] = ()) -> Iterator[Path]:
    """Yield ``.py`` files under ``paths`` (files given explicitly are always yielded).

    Ignored: what a ``.gitignore`` in the tree ignores, :data:`DEFAULT_EXCLUDES`, ``excludes``
    (gitwildmatch patterns), and symlinks that point outside the directory being walked.
    """
    exclude_spec = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, *excludes])
    seen: set[Path] = set()
    for given in paths:
        if given.is_file() or _is_broken_link(given):
            resolved = _resolved(given)
            if resolved not in seen:
                seen.add(resolved)
                yield given
            continue
        if not given.is_dir():
            continue
        root = given.resolve()
        specs = _gitignore_specs(given)
        for folder, dirs, files in os.walk(given):
            here = Path(folder)
            kept = []
            for d in sorted(dirs):
                full = here / d
                rel = full.relative_to(given).as_posix() + "/"
                if exclude_spec.match_file(rel) or _ignored(full, specs, is_dir=True):
                    continue
                if full.is_symlink() and not _inside(full, root):
                    continue
                kept.append(d)
            dirs[:] = kept
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                full = here / f
                rel = full.relative_to(given).as_posix()
                if exclude_spec.match_file(rel) or _ignored(full, specs, is_dir=False):
                    continue
                if full.is_symlink() and not _is_broken_link(full) and not _inside(full, root):
                    continue
                # A link that cannot be resolved (a loop, a missing target) is still yielded: reading
                # it fails, and that file's failure is reported by name instead of crashing the walk.
                resolved = _resolved(full)
                if resolved in seen:
                    continue
                seen.add(resolved)
                yield full


def _resolved(path: Path) -> Path:
    """``path`` resolved; a symlink loop (RuntimeError before Python 3.13, OSError after) keeps it absolute."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _is_broken_link(path: Path) -> bool:
    """A symlink whose target cannot be reached (a loop or a missing file)."""
    if not path.is_symlink():
        return False
    try:
        path.resolve(strict=True)
        return False
    except (OSError, RuntimeError):
        return True


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _ignored(path: Path, specs: list[tuple[Path, pathspec.PathSpec]], *, is_dir: bool) -> bool:
    for base, spec in specs:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(rel + ("/" if is_dir else "")):
            return True
    return False


def project_root_for(path: str | os.PathLike[str]) -> Path:
    """The project a file or folder belongs to: the nearest folder above it holding ``pyproject.toml``,
    ``setup.py`` or ``.git``; else the parent of its top-most package (its own folder for a plain module).

    A dependency's kind is a whole-project fact, so migrating a subset of a project must index all of it.
    """
    p = Path(path).resolve()
    start = p if p.is_dir() else p.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ("pyproject.toml", "setup.py", ".git")):
            return folder
    folder = start
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder

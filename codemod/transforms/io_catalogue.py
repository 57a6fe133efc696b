"""The side-effect catalogue the io transform reads per project, and the io transform's pre-filter.

The defaults plus the project's ``extra-side-effects`` (``[tool.doeff-migrate]``) say which calls are IO, what
they become, and which libraries a file must import to be worth parsing.
"""

from __future__ import annotations

import os

from ..side_effects import IO_CATEGORIES, Catalogue, CatalogueError
from . import EFFECTFUL_FILE, imports_any

CATALOGUE = Catalogue.default()
_PYPROJECTS: dict[str, object] = {}
_CATALOGUES: dict[tuple[str, float], Catalogue] = {}


def catalogue_for(path: str | None) -> Catalogue:
    """The side-effect catalogue of the project ``path`` belongs to: the defaults plus its
    ``extra-side-effects`` (nearest ``pyproject.toml``; a malformed one was reported by the CLI: defaults).
    Cached per configuration file and its modification time, so a long-lived language server sees edits."""
    from pathlib import Path

    from ..config import ConfigError, find_pyproject, load_settings

    if not path or path.startswith("<"):
        return CATALOGUE
    directory = os.path.dirname(os.path.abspath(path))
    pyproject = _PYPROJECTS.get(directory, _PYPROJECTS)
    if pyproject is _PYPROJECTS:
        pyproject = _PYPROJECTS[directory] = find_pyproject(Path(directory)) if os.path.isdir(directory) else None
    if pyproject is None:
        return CATALOGUE
    try:
        key = (str(pyproject), os.stat(pyproject).st_mtime)
    except OSError:
        return CATALOGUE
    found = _CATALOGUES.get(key)
    if found is None:
        try:
            extra = load_settings(pyproject.parent, pyproject).extra_side_effects  # type: ignore[union-attr]
            found = Catalogue.default(extra) if extra else CATALOGUE
        except (ConfigError, CatalogueError):
            found = CATALOGUE
        _CATALOGUES[key] = found
    return found
def _prefilter_for(roots) -> tuple:
    """Effectful code (``@do``, or ``@injected`` that the di phase turns into it) that imports a catalogued
    library (``import wandb as W`` still names it), calls the builtin ``open``, uses a ``...cache.get/set``,
    or imports functions of sibling modules (whose IO makes this file's entry points need the handlers)."""
    return (
        (EFFECTFUL_FILE, imports_any(roots)),
        (EFFECTFUL_FILE, r"(?<![\w.])open[ \t]*\("),
        (EFFECTFUL_FILE, r"(?i)cache[ \t]*\.[ \t]*(?:get|set|put)\b"),
        SIBLING_IMPORTS,
    )


SIBLING_IMPORTS = (EFFECTFUL_FILE, r"\bfrom[ \t]+(?:\.[ \t]*\w|(?!doeff_migrate\b|doeff\b|pinjected\b)\w+(?:\.\w+)*\.\w+[ \t]+import\b)")
"""The pre-filter clause of files that import functions of sibling modules (``io_siblings`` probes without it)."""


PREFILTER = _prefilter_for({*CATALOGUE.roots_of(IO_CATEGORIES), "functools", "json"})


def extra_prefilter(path: str | None) -> tuple:
    """Files importing a library of the project's own ``extra-side-effects``."""
    catalogue = catalogue_for(path)
    if catalogue is CATALOGUE:
        return ()
    return ((EFFECTFUL_FILE, imports_any(catalogue.roots_of(IO_CATEGORIES))),)

"""``[tool.doeff-migrate]`` in pyproject.toml: the settings shared by the CLI and the language server.

Keys: ``select`` / ``ignore`` (rule code prefixes), ``exclude`` (gitwildmatch patterns),
``target`` (``runtime`` | ``doeff``), ``phases`` (list), ``per-file-ignores`` (pattern -> codes),
``extra-side-effects`` (entries added to the side-effect catalogue, see ``codemod/side_effects.py``),
``verify`` (the entry points ``doeff-migrate verify`` runs when none are named).
Unknown keys are an error (exit code 2), so a typo never silently changes what gets migrated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# ``extra-side-effects`` is read by the language server and the io phase's side-effect catalogue.
KNOWN_KEYS = {"select", "ignore", "exclude", "target", "phases", "per-file-ignores", "extra-side-effects", "verify"}


def rule_selector(select: Sequence[str] | None, ignore: Sequence[str] | None) -> Callable[[str], bool]:
    """Whether a rule code is reported under ``select``/``ignore`` (codes or prefixes): ``select`` empty or one of
    its prefixes matching, and no ``ignore`` prefix matching. One rule for the CLI, ``status`` and the editor."""
    chosen = tuple(select or ())
    skipped = tuple(ignore or ())

    def selected(code: str) -> bool:
        if chosen and not any(code.startswith(c) for c in chosen):
            return False
        return not any(code.startswith(c) for c in skipped)

    return selected


class ConfigError(Exception):
    pass


@dataclass
class Settings:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    target: str = "runtime"
    phases: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    extra_side_effects: list = field(default_factory=list)
    """Raw ``extra-side-effects`` items (strings or tables), validated against the catalogue's format."""
    verify: list[str] = field(default_factory=list)
    source: Path | None = None

    def ignores_for(self, path: Path) -> list[str]:
        found = list(self.ignore)
        base = self.source.parent if self.source else Path.cwd()
        try:
            rel = path.resolve().relative_to(base.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):  # (RuntimeError: a symlink loop, before Python 3.13)
            rel = path.as_posix()
        for pattern, codes in self.per_file_ignores.items():
            if pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(rel):
                found += codes
        return found


def find_pyproject(start: Path) -> Path | None:
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in [folder, *folder.parents]:
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def load_settings(start: Path, explicit: Path | None = None) -> Settings:
    path = explicit or find_pyproject(start)
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read [tool.doeff-migrate]: {exc}") from None
    table = data.get("tool", {}).get("doeff-migrate", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.doeff-migrate] must be a table")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [tool.doeff-migrate]: {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")

    def strings(key: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: [tool.doeff-migrate] {key} must be a list of strings")
        return value

    target = table.get("target", "runtime")
    if target not in ("runtime", "doeff"):
        raise ConfigError(f"{path}: [tool.doeff-migrate] target must be 'runtime' or 'doeff', not {target!r}")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict) or not all(isinstance(v, list) for v in per_file.values()):
        raise ConfigError(f"{path}: [tool.doeff-migrate] per-file-ignores must map patterns to lists of codes")
    extra = table.get("extra-side-effects", [])
    if not isinstance(extra, list):
        raise ConfigError(f"{path}: [tool.doeff-migrate] extra-side-effects must be a list")
    from .side_effects import Catalogue, CatalogueError

    try:
        Catalogue.default(extra)
    except CatalogueError as exc:
        raise ConfigError(f"{path}: [tool.doeff-migrate] {exc}") from None
    return Settings(
        extra_side_effects=extra,
        select=strings("select"),
        ignore=strings("ignore"),
        exclude=strings("exclude"),
        target=target,
        phases=strings("phases"),
        verify=strings("verify"),
        per_file_ignores={k: [str(c) for c in v] for k, v in per_file.items()},
        source=path,
    )

"""Settings of the analysis: ``[tool.doeff-migrate]`` in pyproject.toml, then an editor's settings.

The table is read by the CLI's loader (``doeff_migrate.codemod.config.load_settings``): the nearest
pyproject.toml is used, with the same keys and the same selection rule as the CLI's ``--select/--ignore``:
a code is reported when ``select`` is empty or one of its prefixes matches, and no ``ignore`` prefix (nor
a ``per-file-ignores`` entry for the file) matches. Rule codes are checked here as well (a typo in
``select`` would hide every diagnostic without a word).

Client settings (``initializationOptions.settings`` or ``workspace/didChangeConfiguration``) may set
``select``, ``ignore``, ``enable`` and ``debounceMs``; when given they win over pyproject's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from doeff_migrate.codemod import config as cli_config
from doeff_migrate.codemod.run_checks import matching_no_rule
from doeff_migrate.codemod.side_effects import Catalogue

__all__ = ["Config", "ConfigError", "load_pyproject_config", "find_pyproject", "MAX_DEBOUNCE_MS"]

MAX_DEBOUNCE_MS = 150
"""Upper bound of the per-document debounce (the issue's budget)."""


class ConfigError(ValueError):
    """Invalid ``[tool.doeff-migrate]`` table or client settings; the message names the file and key."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    """Empty: every rule."""
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    source: Path | None = None
    """The pyproject.toml the settings came from."""
    enable: bool = True
    debounce_ms: int = 100
    extra_side_effects: tuple[Any, ...] = ()
    catalogue: Catalogue = field(default_factory=Catalogue.default, compare=False, repr=False)
    problems: tuple[str, ...] = field(default=(), compare=False)
    """Configuration errors to show the user (codes matching no rule); the settings hold the valid codes only."""
    cli: cli_config.Settings = field(default_factory=cli_config.Settings, compare=False, repr=False)
    """The table as ``doeff-migrate`` reads it (target, phases, excludes): what its plan of a file follows."""

    def is_selected(self, code: str) -> bool:
        """Whether diagnostics of ``code`` are reported (the CLI's rule, ``config.rule_selector``)."""
        return cli_config.rule_selector(self.select, self.ignore)(code)

    def for_path(self, path: str | Path) -> Config:
        """This config with the ``per-file-ignores`` that match ``path`` added to ``ignore``."""
        if not self.per_file_ignores:
            return self
        settings = cli_config.Settings(
            per_file_ignores={pattern: list(codes) for pattern, codes in self.per_file_ignores}, source=self.source
        )
        extra = tuple(settings.ignores_for(Path(path)))
        return replace(self, ignore=self.ignore + extra) if extra else self

    def with_client_settings(self, settings: Mapping[str, Any] | None) -> Config:
        """This config with the client's settings applied on top (unknown keys are ignored)."""
        if not settings:
            return self
        settings = _unwrap(settings)
        changes: dict[str, Any] = {}
        problems = list(self.problems)
        for key in ("select", "ignore"):
            if settings.get(key) is not None:
                where = f"client setting {key!r}"
                changes[key] = _known_codes(_code_list(settings[key], where), where, problems, select=key == "select")
        changes["problems"] = tuple(problems)
        if settings.get("enable") is not None:
            if not isinstance(settings["enable"], bool):
                raise ConfigError(f"client setting 'enable' must be true or false, got {settings['enable']!r}")
            changes["enable"] = settings["enable"]
        debounce = settings.get("debounceMs", settings.get("debounce-ms"))
        if debounce is not None:
            if not isinstance(debounce, int) or isinstance(debounce, bool) or not 0 <= debounce <= MAX_DEBOUNCE_MS:
                raise ConfigError(f"client setting 'debounceMs' must be an integer in 0..{MAX_DEBOUNCE_MS}, got {debounce!r}")
            changes["debounce_ms"] = debounce
        return replace(self, **changes)


def _unwrap(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept ``{"settings": {...}}``, ``{"doeff-migrate": {...}}``, ``{"doeffMigrate": {...}}`` or flat."""
    for key in ("settings", "doeff-migrate", "doeffMigrate", "doeff_migrate"):
        inner = settings.get(key)
        if isinstance(inner, Mapping):
            return _unwrap(inner)
    return settings


def _code_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of rule codes or prefixes such as \"DM3\", got {value!r}")
    for code in value:
        if not code.startswith("DM") or not code[2:].isdigit() or len(code) > 5:
            raise ConfigError(f"{where}: {code!r} is not a rule code or prefix (expected e.g. \"DM301\" or \"DM3\")")
    return tuple(value)


def _known_codes(codes: tuple[str, ...], where: str, problems: list[str], *, select: bool = False) -> tuple[str, ...]:
    """``codes`` without those matching no rule (the CLI's check), each such code noted in ``problems``: a typo
    in ``select`` would hide every diagnostic without a word, one in ``ignore`` would hide none."""
    unknown = matching_no_rule(codes)
    if not unknown:
        return codes
    kept = tuple(c for c in codes if c not in unknown)
    effect = "left out: every rule is reported" if select and not kept else "left out"
    problems.append(f"{where}: unknown rule code or prefix {', '.join(map(repr, unknown))} ({effect})")
    return kept


def find_pyproject(path: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``path`` (the CLI's lookup)."""
    return cli_config.find_pyproject(path)


def load_pyproject_config(pyproject: Path | None) -> Config:
    """Config from a pyproject.toml's ``[tool.doeff-migrate]`` table (defaults when absent), read by the CLI's
    loader; raises :class:`ConfigError` naming the file and key."""
    if pyproject is None:
        return Config()
    try:
        settings = cli_config.load_settings(pyproject.parent, pyproject)
    except cli_config.ConfigError as exc:
        raise ConfigError(str(exc)) from None
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for key in ("select", "ignore"):
        where = f"{pyproject}: [tool.doeff-migrate] {key}"
        changes[key] = _known_codes(_code_list(getattr(settings, key), where), where, problems, select=key == "select")
    where = f"{pyproject}: [tool.doeff-migrate] per-file-ignores {{!r}}"
    changes["per_file_ignores"] = tuple(
        (pattern, _known_codes(_code_list(codes, where.format(pattern)), where.format(pattern), problems))
        for pattern, codes in settings.per_file_ignores.items()
    )
    extra = settings.extra_side_effects
    return Config(**changes, source=pyproject, extra_side_effects=tuple(_freeze(e) for e in extra),
                  catalogue=Catalogue.default(extra), problems=tuple(problems), cli=settings)


def _freeze(item: Any) -> Any:
    return tuple(sorted(item.items())) if isinstance(item, dict) else item

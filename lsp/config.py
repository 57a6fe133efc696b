"""The analysis' settings (``doeff_migrate.codemod.analysis.settings``): ``[tool.doeff-migrate]`` read by
the CLI's loader, then the editor's settings on top."""

from doeff_migrate.codemod.analysis.settings import (  # noqa: F401
    MAX_DEBOUNCE_MS,
    Config,
    ConfigError,
    find_pyproject,
    load_pyproject_config,
)

__all__ = ["Config", "ConfigError", "load_pyproject_config", "find_pyproject", "MAX_DEBOUNCE_MS"]

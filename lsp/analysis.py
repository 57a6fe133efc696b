"""The analysis the language server reports: ``doeff_migrate.codemod.analysis``, shared with the CLI's
``status``. Re-exported here for the server's modules and for code written against the server."""

from doeff_migrate.codemod.analysis import (  # noqa: F401
    CONVERT_TITLE,
    SEVERITY,
    Analysis,
    Edit,
    Finding,
    Fix,
    Range,
    analyze,
    check,
)

__all__ = ["Range", "Edit", "Fix", "Finding", "Analysis", "analyze", "check", "SEVERITY", "CONVERT_TITLE"]

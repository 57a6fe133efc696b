"""The error every entry point of the codemod raises for input it cannot migrate."""

from __future__ import annotations

__all__ = ["MigrationError"]


class MigrationError(Exception):
    """The input cannot be migrated (unparsable); nothing was changed."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line

"""The base class of every family's transformer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from ..state import FileState

__all__ = ["MigrationTransformer"]


class MigrationTransformer(cst.CSTTransformer):
    """Base of every family's transformer: it gets the file's :class:`FileState`."""

    def __init__(self, state: FileState) -> None:
        super().__init__()
        self.state = state

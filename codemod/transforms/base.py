"""The base class of every family's transformer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from ..state import FileState

__all__ = ["MigrationTransformer", "pinjected_words", "single_string"]


class MigrationTransformer(cst.CSTTransformer):
    """Base of every family's transformer: it gets the file's :class:`FileState`."""

    def __init__(self, state: FileState) -> None:
        super().__init__()
        self.state = state

    def statement_words(self) -> set[str] | None:
        """Words (identifiers) one of which a top-level statement's source must show for this pass to change or
        flag anything in it, asked once ``visit_Module`` has run (``codemod/scoped_pass.py``); the others are
        not visited. A necessary condition only; ``None`` (the default): every statement is visited, as a pass
        must whose visit of one statement depends on what it saw in another."""
        return None


def pinjected_words(state: FileState) -> set[str]:
    """The words every use of pinjected's API in the file shows (what ``FileState.canonical`` resolves): its
    local pinjected names and the first part of its pinjected module aliases."""
    names = state.names
    return {*names.names, *(module.split(".")[0] for module in names.modules)}


def single_string(call: cst.Call) -> bool:
    """Whether ``call`` takes one positional argument, a string literal: ``injected("key")``, ``by_name("key")``."""
    return len(call.args) == 1 and call.args[0].keyword is None and isinstance(call.args[0].value, cst.SimpleString)

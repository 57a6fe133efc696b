"""Code actions are listed from what is already known and resolved off the event loop.

On a 2,000-line module: the list carries no codemod edit (its "Migrate" actions are resolved with
``codeAction/resolve``); while a resolve runs the codemod on the server's worker thread, a ``didChange`` gets
its diagnostics at once; a resolve of text that changed meanwhile gets no edit (it would land wrong).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types

from .lsp_client import change_document, decided_diagnostics, diagnostics_for, lsp_session, open_document

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_lsp import make_large_source  # noqa: E402

pytestmark = pytest.mark.asyncio


def refactor_params(uri: str, line: int) -> types.CodeActionParams:
    where = types.Range(types.Position(line, 0), types.Position(line, 0))
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=where,
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.RefactorRewrite]),
    )


async def test_the_list_is_lazy_and_a_change_is_not_blocked_by_a_resolve(tmp_path: Path):
    source = make_large_source(2000)
    line = source.splitlines().index("@injected")
    async with lsp_session(tmp_path, init_options={"settings": {"debounceMs": 0}}) as lsp:
        uri = open_document(lsp, tmp_path / "big.py", source)
        await decided_diagnostics(lsp, uri, version=1)
        started = time.perf_counter()
        actions = await lsp.text_document_code_action_async(refactor_params(uri, line))
        listed = time.perf_counter() - started
        migrate = next(a for a in actions if a.title.startswith("DM150: Migrate"))
        # No codemod run in the list: the edit comes with the resolve (bench_lsp.py times the list).
        assert migrate.edit is None and migrate.data["lines"]

        # Sent at once, in this order: the server handles the resolve's message first, and its first step hands
        # the codemod to the worker thread before the list request (a task created after it) is answered. So
        # once the list is back, the resolve is running on version 1: no sleep to guess when that is.
        resolving = asyncio.wrap_future(lsp.protocol.send_request(types.CODE_ACTION_RESOLVE, migrate))  # written now
        resolve_sent = time.perf_counter()
        await lsp.text_document_code_action_async(refactor_params(uri, line))
        change_document(lsp, uri, source.replace("    started = time.time()", "    started = time.time() + 1", 1), version=2)
        diagnostics = await diagnostics_for(lsp, uri, version=2)
        resolved_first = resolving.done()
        stale = await resolving
        one_codemod_run = time.perf_counter() - resolve_sent
    # Not blocked: the change's diagnostics arrive while the resolve is still running (its response would come
    # first, in order, if the change waited for it). Bounded by events, not by seconds.
    assert diagnostics and not resolved_first
    assert stale.edit is None  # computed for version 1, which the change replaced
    # No codemod run in the list: it takes less than the one run of the resolve, measured under the same load
    # (bench_lsp.py measures the list itself; the budget is 50 ms).
    assert listed < one_codemod_run


async def test_a_resolve_gives_the_clis_edit_for_the_function(tmp_path: Path):
    source = make_large_source(300)
    line = source.splitlines().index("@injected")
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mid.py", source)
        await decided_diagnostics(lsp, uri, version=1)
        actions = await lsp.text_document_code_action_async(refactor_params(uri, line))
        migrate = next(a for a in actions if a.title.startswith("DM150: Migrate"))
        done = await lsp.code_action_resolve_async(migrate)
    assert done.edit is not None
    (edit,) = [c for c in done.edit.document_changes if isinstance(c, types.TextDocumentEdit)]
    assert edit.text_document.version == 1 and any("yield Ask(" in e.new_text for e in edit.edits)

"""Helpers that start the real server (``python -m doeff_migrate.lsp``) under a pytest-lsp client."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER_COMMAND = [sys.executable, "-m", "doeff_migrate.lsp"]


def _record_publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)  # type: ignore[attr-defined]


def make_client() -> LanguageClient:
    """pytest-lsp's test client, also keeping every publishDiagnostics (with its version) in order."""
    client = LanguageClient()
    client.published = []  # type: ignore[attr-defined]
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record_publish})
    return client


@contextlib.asynccontextmanager
async def lsp_session(
    root: Path,
    client: str = "visual-studio-code",
    init_options: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    command: list[str] | None = None,
) -> AsyncIterator[LanguageClient]:
    """A client connected to a fresh server whose workspace is ``root``."""
    lsp = await ClientServerConfig(server_command=command or SERVER_COMMAND, client_factory=make_client).start()
    if configuration is not None:
        lsp.set_configuration(configuration, section="doeff-migrate")
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=init_options,
        )
    )
    await wait_for_index(lsp)
    try:
        yield lsp
    finally:
        await lsp.shutdown_session()
        await lsp.stop()


async def wait_for_index(lsp: LanguageClient, timeout: float = 30.0) -> None:
    """Wait for the server's "indexed N files" log message (the workspace scan runs in the background)."""

    async def wait() -> None:
        while not any("indexed" in m.message for m in lsp.log_messages):
            await lsp.wait_for_notification(types.WINDOW_LOG_MESSAGE)

    await asyncio.wait_for(wait(), timeout)


async def wait_for_shown(lsp: LanguageClient, condition, timeout: float = 30.0) -> None:
    """Until a ``window/showMessage`` the server sent satisfies ``condition`` (already sent, or the next ones)."""

    async def wait() -> None:
        while not any(condition(m) for m in lsp.messages):
            await lsp.wait_for_notification(types.WINDOW_SHOW_MESSAGE)

    await asyncio.wait_for(wait(), timeout)


async def wait_for_planned(lsp: LanguageClient, uri: str, version: int, timeout: float = 60.0) -> None:
    """Until the server says the diagnostics of ``version`` carry the codemod's decisions: the last thing it
    sends for that version (push diagnostics, or a pull client's refresh, come before)."""
    said = f"doeff-migrate: planned {uri} version {version}"

    async def wait() -> None:
        while not any(m.message == said for m in lsp.log_messages):
            await lsp.wait_for_notification(types.WINDOW_LOG_MESSAGE)

    await asyncio.wait_for(wait(), timeout)


def open_document(lsp: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    path.write_text(text)
    uri = path.as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))
    )
    return uri


def change_document(lsp: LanguageClient, uri: str, text: str, version: int) -> None:
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics_for(lsp: LanguageClient, uri: str, version: int | None = None, timeout: float = 30.0):
    """Wait until diagnostics of ``uri`` (of ``version`` when given) are published and return the latest."""

    def latest():
        for params in reversed(lsp.published):  # type: ignore[attr-defined]
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)
        return None

    async def wait() -> list[types.Diagnostic]:
        while (found := latest()) is None:
            await lsp.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return found

    return await asyncio.wait_for(wait(), timeout)


async def decided_diagnostics(lsp: LanguageClient, uri: str, version: int, timeout: float = 60.0) -> list[types.Diagnostic]:
    """The diagnostics of ``version`` once they carry the codemod's decisions (the server logs
    "planned <uri> version <n>" right after publishing them)."""
    await wait_for_planned(lsp, uri, version, timeout)
    return await diagnostics_for(lsp, uri, version=version)


async def resolved(lsp: LanguageClient, action: types.CodeAction) -> types.CodeAction:
    """``action`` with its edit: asked with ``codeAction/resolve`` when the list left it out."""
    if action.edit is not None or action.data is None:
        return action
    return await lsp.code_action_resolve_async(action)


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text, so UTF-16 units are characters) the way an editor does."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        return offsets[pos.line] + pos.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def codes(diagnostics) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


async def publish_after(lsp: LanguageClient, count: int, uri: str, timeout: float = 30.0) -> list[types.Diagnostic]:
    """The diagnostics of the first publishDiagnostics of ``uri`` after the first ``count`` publishes."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            for params in lsp.published[count:]:  # type: ignore[attr-defined]
                if params.uri == uri:
                    return list(params.diagnostics)
            await lsp.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    return await asyncio.wait_for(wait(), timeout)

"""The doeff-migrate language server (pygls 2): one short handler per LSP method.

All analysis lives in :mod:`.analysis` (plain Findings); this module converts Findings to ``lsprotocol``
types, keeps per-document state (debounce, versions, last good diagnostics) and runs the codemod for quick
fixes. Fix edits travel in ``Diagnostic.data`` and are read back by ``textDocument/codeAction`` (ruff's
``AssociatedDiagnosticData``).

Effects of the handlers, in short:

* ``didOpen`` publishes at once; ``didChange`` publishes after a per-document debounce (default 100 ms, at
  most 150 ms); results computed for a version the editor has already replaced are dropped.
* Clients that support pull diagnostics (``textDocument/diagnostic``) are not sent push diagnostics.
* A syntax error is one DM001 diagnostic; the other diagnostics of the last version that parsed are kept
  when the line they point at is unchanged.
* ``workspace/didChangeConfiguration`` re-checks every open document with the new settings.
* ``initialize`` is answered by ``early_initialize`` while this module is still being imported; pygls then
  handles that request as usual and its response (checked to be the same) is not sent again.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from doeff_migrate.codemod.rules import get_rule

from doeff_migrate.codemod.analysis import SEVERITY, Analysis, Config, ConfigError, Edit, Finding, ProjectFacts, Range, analyze
from doeff_migrate.codemod.discovery import iter_python_files
from doeff_migrate.codemod.analysis.facts_cache import FactsCache
from doeff_migrate.codemod.analysis.incremental import DocumentAnalysis
from doeff_migrate.codemod.analysis.plan import DECIDED_PREFIXES, carried, decided, decision_key
from doeff_migrate.codemod.analysis.settings import find_pyproject, load_pyproject_config

from . import __version__
from doeff_migrate.codemod.analysis.migration import FileChange, Migration

from .early_initialize import RESULT_FILE, EarlyAnswer, PrefixedStdin
from .fixes import CONVERT_TITLE, apply_fixes, line_diff_edit, noqa_edit
from .fixes import VERIFY_COMMAND, run_verify, verify_lens_at, verify_lenses, verify_message
from .planner import Planner
from doeff_migrate.codemod.rules.tool import SYNTAX_ERROR

__all__ = ["DoeffMigrateServer", "DoeffMigrateProtocol", "server", "SOURCE", "FIX_ALL_KIND"]

SOURCE = "doeff-migrate"
PLAN_DELAY = 0.3
"""Seconds without an edit before the codemod plans a changed document (its decisions in the messages)."""
FIX_ALL_KIND = "source.fixAll.doeff-migrate"
log = logging.getLogger(__name__)

_SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def severity_of(code: str) -> types.DiagnosticSeverity:
    best = max((p for p in SEVERITY if code.startswith(p)), key=len, default=None)
    return _SEVERITIES[SEVERITY[best] if best else "warning"]


@dataclass
class DocumentState:
    version: int | None = None
    findings: list[Finding] = field(default_factory=list)
    good: list[tuple[Finding, str]] = field(default_factory=list)
    """Findings of the last version that parsed, with the text of the line each starts on."""
    pending: asyncio.Task | None = None
    result_id: str | None = None
    decisions: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    """The codemod's decision on each construct, from the last plan (``analysis.plan.decision_key``)."""
    plan_only: list[tuple[Finding, str]] = field(default_factory=list)
    """Flags the last plan added where the analysis found nothing, with the text of their line."""
    planning: asyncio.Task | None = None
    carried_memo: dict = field(default_factory=dict)
    """``analysis.plan.carried``'s results for the current decisions (an edit re-states only what changed)."""
    json_cache: dict = field(default_factory=dict)
    """Each published diagnostic's JSON text (before and after its version) by (finding, its lines' text,
    encoding): reused by the next publish."""
    analysis: DocumentAnalysis = field(default_factory=DocumentAnalysis)
    """The document's analysis kept between edits (an edit in one function re-checks that function)."""


class EncodedJSON(str):
    """A message already written as ASCII JSON text (``json.dumps``' default escaping: its length in
    characters is its length in bytes, as pygls' framing assumes)."""


_VERSION_MARK = '"doeff-migrate:version"'
"""Stands for the document version in a diagnostic's cached JSON text (the JSON of a string: a message
containing it is escaped, so only the ``data.version`` value, written last, matches)."""


_ANSWERED = object()
"""What :meth:`DoeffMigrateProtocol.structure_message` makes of a request it already answered with an error."""


class DoeffMigrateProtocol(LanguageServerProtocol):
    """pygls' protocol, without its leak of one future per notification.

    pygls 2.1 runs a notification whose handler is a generator (its built-in ``didChange``/``didOpen``/
    ``didClose``, which call ours), a coroutine or a thread function under a fresh uuid in
    ``_request_futures``, and only a request's response ever removes an entry: every edit left a done
    ``Future`` (with its ``Condition``, callbacks, generator and params) behind, ~3 KiB of RSS per edit
    (``benchmarks/bench_lsp.py``). The callback pygls runs when a notification's future is done drops it.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answered_early: dict[int | str, dict[str, Any]] = {}
        """Request id -> result of the ``initialize`` that ``early_initialize`` answered before pygls read it."""

    def structure_message(self, data: dict[str, Any]):
        """pygls' deserialisation, except that a request whose params do not fit its method is answered
        with an ``InvalidParams`` error: pygls only logs it, and the client waits for a response forever."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" not in data or "method" not in data or "error" in data:
                raise
            detail = f"{data.get('method')}: the params do not match the method's parameters"
            error = JsonRpcInvalidParams(detail) if isinstance(exc, JsonRpcInvalidParams) else JsonRpcInternalError(detail)
            self._send_response(data["id"], None, error.to_response_error())
            return _ANSWERED

    def handle_message(self, message) -> None:
        if message is _ANSWERED:
            return
        super().handle_message(message)

    def _send_data(self, data: Any) -> None:
        """pygls' framing and error handling, for a message already written as JSON (:class:`EncodedJSON`)
        too."""
        if not isinstance(data, EncodedJSON):
            super()._send_data(data)
            return
        if self.writer is None:
            log.error("Unable to send data, no available transport!")
            return
        try:
            header = f"Content-Length: {len(data)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            written = self.writer.write((header + data).encode(self.CHARSET))
            if inspect.isawaitable(written):
                asyncio.ensure_future(written)
        except BrokenPipeError:
            log.exception("Error sending data. BrokenPipeError")
            raise
        except Exception as error:  # noqa: BLE001 - reported as pygls reports a failed send
            log.exception("Error sending data")
            self._server._report_server_error(error, JsonRpcInternalError)

    def _send_response(self, msg_id, result=None, error=None) -> None:
        """pygls' response, except to the ``initialize`` request ``early_initialize`` answered already (by id,
        in :attr:`answered_early`): that one is only checked against what was sent."""
        if msg_id in self.answered_early:
            sent = self.answered_early.pop(msg_id)
            if error is not None:
                log.error("initialize failed after its early answer: %s", error)
            elif json.loads(json.dumps(result, default=self._serialize_message)) != sent:
                log.error("initialize: pygls' result differs from the early answer (lsp/initialize_result.json is stale)")
            return
        super()._send_response(msg_id, result, error)

    def _check_handler_result(self, future) -> None:
        try:
            super()._check_handler_result(future)
        finally:
            # Only futures still running are in the map (a handful at most): a scan is cheap. A cancelled one
            # stays: pygls cancels them while iterating the map (``shutdown``), or has removed it already
            # (``$/cancelRequest``).
            if not future.cancelled():
                for msg_id, pending in list(self._request_futures.items()):
                    if pending is future:
                        self._request_futures.pop(msg_id, None)
                        break


class DoeffMigrateServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("doeff-migrate", __version__, protocol_cls=DoeffMigrateProtocol)
        self.documents: dict[str, DocumentState] = {}
        self.open_uris: set[str] = set()
        """URIs of open documents exactly as the client sent them (pygls keys its documents unquoted)."""
        self.client_settings: dict[str, Any] = {}
        self.project = ProjectFacts()
        self.planner = Planner()
        self.plan_delay = PLAN_DELAY
        self._pyproject_cache: dict[Path | None, tuple[float, Config]] = {}
        self._reported_errors: set[str] = set()

    # -- configuration -------------------------------------------------------------------------------------
    def config_for(self, path: str) -> Config:
        pyproject = find_pyproject(Path(path)) if path else None
        mtime = pyproject.stat().st_mtime if pyproject is not None and pyproject.exists() else 0.0
        cached = self._pyproject_cache.get(pyproject)
        if cached is None or cached[0] != mtime:
            try:
                base = load_pyproject_config(pyproject)
            except ConfigError as exc:
                self.report_config_error(str(exc))
                base = Config()
            self._pyproject_cache[pyproject] = (mtime, base)
        else:
            base = cached[1]
        try:
            config = base.with_client_settings(self.client_settings).for_path(path)
        except ConfigError as exc:
            self.report_config_error(str(exc))
            config = base.for_path(path)
        for problem in config.problems:  # unknown codes: shown, and the valid ones stay in effect
            self.report_config_error(problem)
        return config

    def report_config_error(self, message: str) -> None:
        """Effect: shows an error message once per distinct text (configuration errors, analysis failures)."""
        if message in self._reported_errors:
            return
        self._reported_errors.add(message)
        log.error(message)
        self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"doeff-migrate: {message}"))

    @property
    def pull_mode(self) -> bool:
        caps = self.client_capabilities.text_document
        return caps is not None and caps.diagnostic is not None

    # -- analysis ------------------------------------------------------------------------------------------
    def analyze_document(self, uri: str) -> tuple[int | None, list[Finding]]:
        """Analyse the document's current text; returns (version, findings) and updates the project index."""
        document = self.workspace.get_text_document(uri)
        path = document.path or uri
        state = self.documents.setdefault(uri, DocumentState())
        if not _is_python(document):
            state.version, state.findings, state.result_id = document.version, [], f"{document.version}-none"
            return document.version, []
        project = self.project if self.project.ready else None
        try:
            result: Analysis = state.analysis.analyze(document.source, path, self.config_for(path), project)
        except Exception as exc:  # noqa: BLE001 - a bug in a rule must not take the editor's server down
            log.exception("analysis failed on %s", path)
            self.report_config_error(f"internal error analysing {path}: {exc!r}; showing the last diagnostics")
            return state.version, state.findings
        if result.syntax_error is None:
            lines = document.lines
            findings = self.with_decisions(state, path, document.source, result.findings, [l.rstrip("\r\n") for l in lines])
            state.good = [(f, _line(lines, f.range.start_line)) for f in findings]
            if self.project.update(path, result.facts):
                self.recheck_others(uri)
        else:
            lines = document.lines
            # Keep what still points at unchanged text, without edits: they were computed for other text.
            kept = [
                replace(f, fix=None, migrate_lines=None, migrate_title=None, migrate_phase=None)
                for f, text in state.good
                if f.code != SYNTAX_ERROR.code and _line(lines, f.range.start_line) == text
            ]
            findings = result.findings + kept
        state.version = document.version
        state.findings = findings
        state.result_id = f"{document.version}-{id(findings)}"
        return document.version, findings

    def with_decisions(self, state: DocumentState, path: str, source: str, findings: list[Finding], lines: list[str]) -> list[Finding]:
        """``findings`` stating the codemod's decisions: its plan of this text when known, else the last
        plan's decisions on unchanged constructs (``analysis.plan.carried``) and a plan scheduled."""
        plan = self.planner.cached_plan(path, source)
        if plan is None:
            kept = [f for f, text in state.plan_only if _line(lines, f.range.start_line).strip() == text]
            now = carried(findings, state.decisions, lines, state.carried_memo)
            return sorted(now + kept, key=lambda f: (f.range.start_line, f.range.start_col, f.code))
        findings = decided(findings, plan, lines)
        ours = {(f.code, f.range.start_line) for f in findings if f.code.startswith(DECIDED_PREFIXES)}
        state.decisions = {decision_key(f, lines): f for f in findings if f.code.startswith(DECIDED_PREFIXES)}
        state.carried_memo = {}  # results for the previous decisions
        state.plan_only = [
            (f, _line(lines, f.range.start_line).strip()) for f in findings if (f.code, f.range.start_line) in ours
            and f.message.startswith("doeff-migrate leaves this")
        ]
        return findings

    def plan_later(self, uri: str, delay: float) -> None:
        """Effect: after ``delay`` seconds without another edit, the codemod plans the document on its worker
        thread; if the text is still current, the diagnostics are published again with its decisions."""
        state = self.documents.setdefault(uri, DocumentState())
        if state.planning is not None:
            state.planning.cancel()
        state.planning = asyncio.ensure_future(self._plan(uri, delay))

    async def _plan(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if uri not in self.open_uris:
            return
        document = self.workspace.get_text_document(uri)
        if not _is_python(document):
            return
        path, source, version = document.path or uri, document.source, document.version
        if self.planner.cached_plan(path, source) is None:
            try:
                await self.planner.plan(path, source, self.config_for(path).cli)
            except Exception as exc:  # noqa: BLE001 - a codemod bug must not take the editor's server down
                log.exception("codemod plan failed on %s", path)
                self.report_config_error(f"internal error planning {path}: {exc!r}")
                return
        if uri not in self.open_uris or self.workspace.get_text_document(uri).source != source:
            return  # edited meanwhile: that edit plans again
        if self.pull_mode:
            self.documents[uri].result_id = None
            workspace = self.client_capabilities.workspace
            if workspace and workspace.diagnostics and workspace.diagnostics.refresh_support:
                self.workspace_diagnostic_refresh(None)
            self.announce_planned(uri, version)
        else:
            self.publish(uri, plan=False, if_changed=True)
            self.announce_planned(uri, version)

    def announce_planned(self, uri: str, version: int | None) -> None:
        """Effect: a log message saying the diagnostics of ``version`` now carry the codemod's decisions."""
        self.window_log_message(types.LogMessageParams(types.MessageType.Log, f"doeff-migrate: planned {uri} version {version}"))

    def send_diagnostics(self, uri: str, version: int | None, findings: list[Finding]) -> None:
        """Effect: ``textDocument/publishDiagnostics`` written as JSON directly, each diagnostic's JSON reused
        from the last publish while its finding and lines are unchanged (converting ~300 diagnostics through
        lsprotocol's classes on every edit cost more than the analysis of the edit)."""
        document = self.workspace.get_text_document(uri)
        lines, encoding = document.lines, self.workspace.position_encoding
        state = self.documents.setdefault(uri, DocumentState())
        previous, cache = state.json_cache, {}
        written = json.dumps(version)
        diagnostics = []
        for finding in findings:
            key = (finding, _line(lines, finding.range.start_line), _line(lines, finding.range.end_line), encoding)
            parts = previous.get(key)
            if parts is None:
                item = self.protocol._converter.unstructure(to_diagnostic(finding, lines, encoding, None))
                item["data"] = {**item["data"], "version": _VERSION_MARK[1:-1]}
                head, _, tail = json.dumps(item).rpartition(_VERSION_MARK)
                parts = (head, tail)
            cache[key] = parts
            diagnostics.append(parts[0] + written + parts[1])
        state.json_cache = cache
        tail = f', "version": {written}' if version is not None else ""
        self.protocol._send_data(EncodedJSON(
            f'{{"jsonrpc": "2.0", "method": "{types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS}", "params": '
            f'{{"uri": {json.dumps(uri)}, "diagnostics": [{", ".join(diagnostics)}]{tail}}}}}'
        ))

    def to_diagnostics(self, uri: str, findings: list[Finding]) -> list[types.Diagnostic]:
        document = self.workspace.get_text_document(uri)
        lines = document.lines
        encoding = self.workspace.position_encoding
        return [to_diagnostic(f, lines, encoding, document.version) for f in findings]

    def publish(self, uri: str, plan: bool = True, plan_delay: float | None = None, if_changed: bool = False) -> None:
        """Effect: analyses ``uri`` and publishes its diagnostics (push mode; a pull client asks itself), then
        (``plan``) has the codemod plan the text when it has not yet. ``if_changed``: only when they differ
        from those published for the same version."""
        if uri not in self.open_uris:
            return
        if not self.pull_mode:
            state = self.documents.get(uri)
            before = (state.version, state.findings) if state is not None else None
            version, findings = self.analyze_document(uri)
            if if_changed and before == (version, findings):
                return
            self.send_diagnostics(uri, version, findings)
        if plan:
            document = self.workspace.get_text_document(uri)
            if self.planner.cached_plan(document.path or uri, document.source) is None:
                self.plan_later(uri, self.plan_delay if plan_delay is None else plan_delay)
            else:
                self.announce_planned(uri, document.version)

    def schedule(self, uri: str, version: int | None) -> None:
        """Effect: (re)starts the per-document debounce; the check runs only if ``version`` is still current."""
        state = self.documents.setdefault(uri, DocumentState())
        if state.pending is not None:
            state.pending.cancel()
        if self.pull_mode:
            self.plan_later(uri, self.plan_delay)  # the client pulls after each change
            return
        delay = self.config_for(_path_of(uri)).debounce_ms / 1000
        state.pending = asyncio.ensure_future(self._debounced(uri, version, delay))

    async def _debounced(self, uri: str, version: int | None, delay: float) -> None:
        await asyncio.sleep(delay)
        if uri not in self.open_uris:
            return
        if self.workspace.get_text_document(uri).version != version:
            return  # a newer change is on its way with its own timer
        self.publish(uri)

    def recheck_open_documents(self) -> None:
        """Effect: re-publishes every open document (push) or asks the client to pull again."""
        if self.pull_mode:
            for state in self.documents.values():
                state.result_id = None
            workspace = self.client_capabilities.workspace
            if workspace and workspace.diagnostics and workspace.diagnostics.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        for uri in sorted(self.open_uris):
            self.publish(uri)

    async def watch_files(self) -> None:
        """Effect: asks the client to report changes of Python files and pyproject.toml (when it can)."""
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace is not None else None
        if watched is None or not watched.dynamic_registration:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*.py"), types.FileSystemWatcher(glob_pattern="**/pyproject.toml")]
        )
        registration = types.Registration(
            id="doeff-migrate-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        try:
            await self.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as exc:  # noqa: BLE001 - without watchers, edits in the editor still update everything
            log.info("client refused file watchers: %s", exc)

    # -- edits of other files (the generated handler module) --------------------------------------------------
    def open_document_for(self, path: str):
        """The open document of ``path`` (however the client spelled its URI), or None."""
        for uri in self.open_uris:
            if _path_of(uri) == path:
                return self.workspace.get_text_document(uri)
        return None

    def current_text(self, path: str) -> str | None:
        """The text of ``path`` as the user sees it: the editor's buffer when open, else the file; None if absent."""
        document = self.open_document_for(path)
        if document is not None:
            return document.source
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def project_root_for(self, path: str) -> str | None:
        roots = [str(r) for r in self.project.roots if path.startswith(str(r).rstrip("/") + "/")]
        return max(roots, key=len) if roots else None

    @property
    def can_create_files(self) -> bool:
        edit = self.client_capabilities.workspace.workspace_edit if self.client_capabilities.workspace else None
        return bool(edit and edit.document_changes and edit.resource_operations and types.ResourceOperationKind.Create in edit.resource_operations)

    @property
    def supports_document_changes(self) -> bool:
        edit = self.client_capabilities.workspace.workspace_edit if self.client_capabilities.workspace else None
        return bool(edit and edit.document_changes)

    @property
    def can_delete_files(self) -> bool:
        edit = self.client_capabilities.workspace.workspace_edit if self.client_capabilities.workspace else None
        return bool(edit and edit.document_changes and edit.resource_operations and types.ResourceOperationKind.Delete in edit.resource_operations)

    @property
    def supports_resolve(self) -> bool:
        """The client asks ``codeAction/resolve`` for an action's edit (else the list carries the edits)."""
        caps = self.client_capabilities.text_document
        action = caps.code_action if caps is not None else None
        support = action.resolve_support if action is not None else None
        return bool(support and "edit" in support.properties)

    def workspace_edit(self, document, migration: Migration, encoding) -> types.WorkspaceEdit | None:
        """The file's edit and the other files the migration writes (handler modules, bridges) as one
        WorkspaceEdit: the ``documentChanges`` form (with ``CreateFile``/``DeleteFile``) when the client supports
        it, else ``changes`` (possible only when every other file exists and stays); None when the client
        cannot apply it."""
        own_edit = line_diff_edit(document.source, migration.text)
        own = to_text_edits([own_edit] if own_edit is not None else [], document.lines, encoding)
        others: list[tuple[str, int | None, FileChange, list[types.TextEdit]]] = []
        for change in migration.others:
            uri = Path(change.path).as_uri()
            opened = self.open_document_for(change.path)
            if opened is not None:
                uri = opened.uri
            if change.new is None:
                edits = []
            elif change.old is None:
                edits = [types.TextEdit(range=types.Range(types.Position(0, 0), types.Position(0, 0)), new_text=change.new)]
            else:
                diff = line_diff_edit(change.old, change.new)
                lines = change.old.splitlines(keepends=True)
                edits = to_text_edits([diff], lines, encoding) if diff is not None else []
            others.append((uri, opened.version if opened is not None else None, change, edits))
        creates = any(c.old is None for _, _, c, _ in others)
        deletes = any(c.new is None for _, _, c, _ in others)
        if self.supports_document_changes:
            if (creates and not self.can_create_files) or (deletes and not self.can_delete_files):
                log.info("client cannot create or delete files: no migration that needs it")
                return None
            changes: list = [
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version),
                    edits=own,
                )
            ]
            for uri, version, change, edits in others:
                if change.new is None:
                    changes.append(types.DeleteFile(uri=uri, options=types.DeleteFileOptions(ignore_if_not_exists=True)))
                    continue
                if change.old is None:
                    changes.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)))
                changes.append(
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=edits
                    )
                )
            return types.WorkspaceEdit(document_changes=changes)
        if creates or deletes:
            log.info("client cannot create or delete files: no migration that needs it")
            return None
        return types.WorkspaceEdit(changes={document.uri: own, **{uri: edits for uri, _, _, edits in others}})

    def is_open_path(self, path: str) -> bool:
        return self.open_document_for(path) is not None

    def files_changed(self, changes: list[tuple[str, types.FileChangeType]]) -> None:
        """Effect: files changed on disk (git checkout, another tool): re-index them, reload pyproject,
        re-check open documents."""
        changed = False
        self.planner.forget([_path_of(uri) for uri, _ in changes if _path_of(uri).endswith(".py")])
        for uri, kind in changes:
            path = _path_of(uri)
            if path.endswith("pyproject.toml"):
                self._pyproject_cache.clear()
                self.planner.forget([])
                self._reported_errors.clear()
                changed = True
            elif path.endswith(".py") and not self.is_open_path(path):
                if kind == types.FileChangeType.Deleted:
                    changed |= self.project.remove(path)
                else:
                    try:
                        source = Path(path).read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        continue
                    changed |= self.project.update(path, analyze(source, path, Config()).facts)
        if changed:
            self.recheck_open_documents()

    def index_ready(self, parsed: int) -> None:
        """Effect: logs the index size to the client and re-checks open documents with cross-file rules on."""
        self.window_log_message(types.LogMessageParams(types.MessageType.Info, f"doeff-migrate: indexed {parsed} files"))
        self.recheck_open_documents()

    def recheck_others(self, changed_uri: str) -> None:
        """Effect: facts of ``changed_uri`` changed (a stub, a binding): re-check the other open documents."""
        if self.pull_mode:
            self.recheck_open_documents()
            return
        for uri in sorted(self.open_uris):
            if uri != changed_uri and uri in self.documents:
                self.schedule(uri, self.workspace.get_text_document(uri).version)

    def start_project_scan(self) -> None:
        """Effect: indexes the workspace in a thread, then re-checks open documents."""
        roots = [Path(_path_of(f.uri)) for f in self.workspace.folders.values()]
        if not roots and self.workspace.root_path:
            roots = [Path(self.workspace.root_path)]
        self.project.roots = roots
        if not roots:
            return
        loop = asyncio.get_running_loop()
        excludes = self.config_for(str(roots[0])).cli.exclude

        def read_facts(path: str, source: str):
            # Facts do not depend on select/ignore; the default config keeps this thread off the
            # configuration cache and away from the client connection.
            return analyze(source, path, Config()).facts

        # Submitted before any plan a didOpen asks for: the codemod's worker builds its index first, once the
        # scan below is done (both are CPU-bound in one interpreter: in turn, the facts are in sooner).
        scanned = threading.Event()
        self.planner.set_project(lambda: [str(f) for f in iter_python_files(roots, excludes)], after=scanned)
        stored = FactsCache(roots[0])

        def scan() -> None:
            try:
                parsed = self.project.scan(stored.reader(read_facts))
                stored.save()
            except Exception:  # noqa: BLE001 - a scan failure must not take the server down
                log.exception("project scan failed")
                return
            finally:
                scanned.set()
            log.info("indexed %d files (%d facts from the cache)", parsed, stored.hits)
            loop.call_soon_threadsafe(self.index_ready, parsed)

        threading.Thread(target=scan, name="doeff-migrate-index", daemon=True).start()


def _is_python(document) -> bool:
    """Python by language id or by file name (Neovim attaches to any buffer it is told to)."""
    return document.language_id == "python" or (document.path or document.uri).endswith((".py", ".pyi"))


def _line(lines, number: int) -> str:
    return lines[number] if 0 <= number < len(lines) else ""


def _path_of(uri: str) -> str:
    return to_fs_path(uri) or uri


# -- positions ---------------------------------------------------------------------------------------------


def to_client_col(text: str, col: int, encoding: str | None) -> int:
    """Code-point column -> client units (UTF-16 unless negotiated otherwise)."""
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return col
    prefix = text[:col]
    if encoding == types.PositionEncodingKind.Utf8:
        return len(prefix.encode("utf-8"))
    return len(prefix.encode("utf-16-le")) // 2


def from_client_col(text: str, col: int, encoding: str | None) -> int:
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return col
    unit = "utf-8" if encoding == types.PositionEncodingKind.Utf8 else "utf-16-le"
    width = 1 if unit == "utf-8" else 2
    return len(text.encode(unit)[: col * width].decode(unit, errors="ignore"))


def to_lsp_range(rng: Range, lines, encoding: str | None) -> types.Range:
    return types.Range(
        start=types.Position(rng.start_line, to_client_col(_line(lines, rng.start_line), rng.start_col, encoding)),
        end=types.Position(rng.end_line, to_client_col(_line(lines, rng.end_line), rng.end_col, encoding)),
    )


def from_lsp_range(rng: types.Range, lines, encoding: str | None) -> Range:
    return Range(
        rng.start.line,
        from_client_col(_line(lines, rng.start.line), rng.start.character, encoding),
        rng.end.line,
        from_client_col(_line(lines, rng.end.line), rng.end.character, encoding),
    )


def to_text_edits(edits: list[Edit] | tuple[Edit, ...], lines, encoding: str | None) -> list[types.TextEdit]:
    return [types.TextEdit(range=to_lsp_range(e.range, lines, encoding), new_text=e.new_text) for e in edits]


def to_diagnostic(finding: Finding, lines, encoding: str | None, version: int | None) -> types.Diagnostic:
    data: dict[str, Any] = {"version": version}
    if finding.fix is not None:
        data["fix"] = {
            "title": finding.fix.title,
            "safe": finding.fix.safe,
            "edits": [[*_range_tuple(e.range), e.new_text] for e in finding.fix.edits],
        }
    if finding.migrate_lines is not None:
        data["migrate"] = list(finding.migrate_lines)
        data["migrate_title"] = finding.migrate_title
        data["migrate_phase"] = finding.migrate_phase
    return types.Diagnostic(
        range=to_lsp_range(finding.range, lines, encoding),
        message=finding.message,
        severity=severity_of(finding.code),
        code=finding.code,
        source=SOURCE,
        data=data,
    )


def _range_tuple(rng: Range) -> list[int]:
    return [rng.start_line, rng.start_col, rng.end_line, rng.end_col]


def edits_from_data(data: dict[str, Any]) -> list[Edit]:
    return [Edit(Range(*item[:4]), item[4]) for item in data.get("edits", [])]


# -- the server and its handlers --------------------------------------------------------------------------

server = DoeffMigrateServer()


@server.feature(types.INITIALIZE)
def initialize(ls: DoeffMigrateServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict):
        ls.client_settings = dict(options)


@server.feature(types.INITIALIZED)
async def initialized(ls: DoeffMigrateServer, params: types.InitializedParams) -> None:
    ls.start_project_scan()
    await ls.watch_files()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: DoeffMigrateServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.files_changed([(change.uri, change.type) for change in params.changes])


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DoeffMigrateServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.open_uris.add(params.text_document.uri)
    ls.publish(params.text_document.uri, plan_delay=0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: DoeffMigrateServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, params.text_document.version)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: DoeffMigrateServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, ls.workspace.get_text_document(params.text_document.uri).version)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DoeffMigrateServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.open_uris.discard(params.text_document.uri)
    state = ls.documents.pop(params.text_document.uri, None)
    if state is not None and state.pending is not None:
        state.pending.cancel()
    if state is not None and state.planning is not None:
        state.planning.cancel()
    if not ls.pull_mode:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: DoeffMigrateServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if not isinstance(settings, dict) or not settings:
        workspace = ls.client_capabilities.workspace
        if workspace is not None and workspace.configuration:
            items = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="doeff-migrate")])
            )
            settings = items[0] if items and isinstance(items[0], dict) else {}
    ls.client_settings = dict(settings or {})
    ls._reported_errors.clear()
    ls.recheck_open_documents()


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False),
)
def document_diagnostic(ls: DoeffMigrateServer, params: types.DocumentDiagnosticParams):
    uri = params.text_document.uri
    if uri not in ls.open_uris:
        # Not open in the editor: nothing to report (reading it from disk is not what a client asks here).
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    state = ls.documents.get(uri)
    document = ls.workspace.get_text_document(uri)
    if state is not None and state.version == document.version and state.result_id is not None:
        if params.previous_result_id == state.result_id:
            return types.UnchangedDocumentDiagnosticReport(result_id=state.result_id)
        findings = state.findings
    else:
        _, findings = ls.analyze_document(uri)
        state = ls.documents[uri]
    return types.RelatedFullDocumentDiagnosticReport(items=ls.to_diagnostics(uri, findings), result_id=state.result_id)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: DoeffMigrateServer, params: types.HoverParams) -> types.Hover | None:
    state = ls.documents.get(params.text_document.uri)
    if state is None:
        return None
    document = ls.workspace.get_text_document(params.text_document.uri)
    encoding = ls.workspace.position_encoding
    line, col = params.position.line, from_client_col(_line(document.lines, params.position.line), params.position.character, encoding)
    codes = []
    for finding in state.findings:
        r = finding.range
        if (r.start_line, r.start_col) <= (line, col) <= (r.end_line, r.end_col) and finding.code not in codes:
            codes.append(finding.code)
    if not codes:
        return None
    text = "\n\n---\n\n".join(get_rule(code).markdown() for code in codes)
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite, FIX_ALL_KIND],
        resolve_provider=True,
    ),
)
async def code_action(ls: DoeffMigrateServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
    """The actions at the range, from the diagnostics and the codemod's plan already computed: no codemod
    run here. A "Migrate"/"Convert" action gets its edit from ``codeAction/resolve`` (on the codemod's
    worker thread); a client that cannot resolve gets the edits now, computed there too."""
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    encoding = ls.workspace.position_encoding
    only = params.context.only
    actions: list[types.CodeAction | types.Command] = []

    def wanted(kind: str) -> bool:
        return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)

    if wanted(types.CodeActionKind.QuickFix):
        for diagnostic in params.context.diagnostics:
            if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
                continue
            actions.extend(quick_fixes(ls, document, diagnostic, encoding))
    if wanted(types.CodeActionKind.RefactorRewrite):
        actions.extend(migrate_under_cursor(ls, document, params, offered={a.title for a in actions}))
        actions.extend(migrate_file_action(ls, document))
    if only is None:
        actions.extend(verify_action(document, params.range.start.line))
    if wanted(FIX_ALL_KIND):
        edits = fix_all_edits(ls, uri)
        if edits:
            actions.append(
                types.CodeAction(
                    title="doeff-migrate: fix all safe fixes",
                    kind=FIX_ALL_KIND,
                    edit=types.WorkspaceEdit(changes={uri: to_text_edits(edits, document.lines, encoding)}),
                )
            )
    if not ls.supports_resolve:
        resolved = []
        for action in actions:
            if isinstance(action, types.CodeAction) and action.edit is None and isinstance(action.data, dict):
                action = await resolve_code_action(ls, action)
                if action.edit is None:
                    continue
            resolved.append(action)
        actions = resolved
    return actions


@server.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: DoeffMigrateServer, action: types.CodeAction) -> types.CodeAction:
    """The edit of a "Migrate"/"Convert" action: what ``doeff-migrate`` writes for those lines (or the whole
    file), bridge and handler-module edits included, computed on the codemod's worker thread."""
    data = action.data
    if not isinstance(data, dict) or data.get("action") != MIGRATE_ACTION or action.edit is not None:
        return action
    uri = data.get("uri")
    if uri not in ls.open_uris:
        return action
    document = ls.workspace.get_text_document(uri)
    if document.version != data.get("version"):
        return action  # the text changed since the list: its lines would land wrong
    path, source = document.path or uri, document.source
    lines = tuple(data["lines"]) if data.get("lines") else None
    try:
        migration = await ls.planner.migrate(path, source, ls.config_for(path).cli, lines, ls.current_text, ls.project_root_for(path))
    except Exception as exc:  # noqa: BLE001 - a codemod bug must not take the editor's server down
        log.exception("codemod failed on %s lines %s", path, lines)
        ls.report_config_error(f"internal error migrating {path}: {exc!r}")
        return action
    document = ls.workspace.get_text_document(uri)
    if document.version != data.get("version") or document.source != source:
        return action
    if migration is None:
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Info,
            "doeff-migrate: these lines are rewritten differently when the whole file is migrated; "
            "use \"Migrate this file (doeff-migrate)\" for the CLI's result",
        ))
        return action
    edit = ls.workspace_edit(document, migration, ls.workspace.position_encoding)
    if edit is not None:
        action.edit = edit
    return action


MIGRATE_ACTION = "migrate"
"""``CodeAction.data["action"]`` of the actions whose edit the codemod computes at resolve time."""


def lazy_migrate_action(
    title: str, kind: str, document, lines: tuple[int, int] | None,
    diagnostic: types.Diagnostic | None = None, preferred: bool = False,
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=kind,
        diagnostics=[diagnostic] if diagnostic is not None else None,
        is_preferred=preferred,
        data={"action": MIGRATE_ACTION, "uri": document.uri, "version": document.version, "lines": list(lines) if lines else None},
    )


def verify_action(document, line: int) -> list[types.Command]:
    """"Verify this entry point" on the line that defines a module-level entry point: the code lens's command,
    as a bare ``Command`` (a ``CodeAction`` holding only a command reads back as a ``Command`` in lsprotocol)."""
    lens = verify_lens_at(document.source, document.path or "", line)
    if lens is None:
        return []
    return [types.Command(title=f"Verify this entry point ({lens.target})", command=VERIFY_COMMAND, arguments=[lens.target, lens.project])]


def migrate_under_cursor(ls: DoeffMigrateServer, document, params: types.CodeActionParams, offered: set[str]):
    """"Migrate `f`" for the construct whose lines contain the cursor, wherever the cursor is in it (the
    diagnostic itself only covers the decorator), where the codemod's plan migrates it."""
    state = ls.documents.get(document.uri)
    if state is None or state.version != document.version:
        return []
    line = params.range.start.line + 1
    actions = []
    for finding in state.findings:
        if finding.migrate_phase != "di" or finding.migrate_lines is None:
            continue
        first, last = finding.migrate_lines
        title = f"{finding.code}: {finding.migrate_title}"
        if not first <= line <= last or title in offered:
            continue
        offered.add(title)
        actions.append(lazy_migrate_action(title, types.CodeActionKind.RefactorRewrite, document, (first, last)))
    return actions


MIGRATE_FILE_TITLE = "Migrate this file (doeff-migrate)"


def migrate_file_action(ls: DoeffMigrateServer, document) -> list[types.CodeAction]:
    """"Migrate this file": what ``doeff-migrate FILE`` writes, offered when its plan of the text changes it."""
    plan = ls.planner.cached_plan(document.path or document.uri, document.source)
    if plan is None or plan.new_text is None:
        return []
    return [lazy_migrate_action(MIGRATE_FILE_TITLE, types.CodeActionKind.RefactorRewrite, document, None)]


def quick_fixes(ls: DoeffMigrateServer, document, diagnostic: types.Diagnostic, encoding) -> list[types.CodeAction]:
    data = diagnostic.data
    code = str(diagnostic.code)
    if data.get("version") not in (None, document.version):
        return []  # the diagnostic describes text that has changed since; its edits would land wrong
    actions = []
    uri = document.uri

    def action(title: str, edits: list[Edit], preferred: bool = False) -> types.CodeAction:
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=preferred,
            edit=types.WorkspaceEdit(changes={uri: to_text_edits(edits, document.lines, encoding)}),
        )

    if "fix" in data:
        actions.append(action(f"{code}: {data['fix']['title']}", edits_from_data(data["fix"]), preferred=True))
    if "migrate" in data:
        title = CONVERT_TITLE if data.get("migrate_phase") in CONVERT_PHASES else data.get("migrate_title") or "Migrate"
        actions.append(lazy_migrate_action(
            f"{code}: {title}", types.CodeActionKind.QuickFix, document, tuple(data["migrate"]), diagnostic,
            preferred="fix" not in data,
        ))
    line = diagnostic.range.start.line
    edit = noqa_edit(document.lines, line, code)
    if edit is not None:
        actions.append(action(f"{code}: Suppress with `# noqa: {code}`", [edit]))
    return actions


CONVERT_PHASES = ("io", "compute")
"""Phases whose quick fix converts a side-effect call (and writes the package's generated handler module)."""


def fix_all_edits(ls: DoeffMigrateServer, uri: str) -> list[Edit]:
    document = ls.workspace.get_text_document(uri)
    state = ls.documents.get(uri)
    if state is None or state.version != document.version:
        _, findings = ls.analyze_document(uri)
    else:
        findings = state.findings
    return apply_fixes(findings)


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
def code_lens(ls: DoeffMigrateServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    """"Verify this entry point" (with the last verdict) above each module-level entry point."""
    document = ls.workspace.get_text_document(params.text_document.uri)
    return [
        types.CodeLens(
            range=types.Range(types.Position(lens.line, 0), types.Position(lens.line, 0)),
            command=types.Command(title=lens.title, command=VERIFY_COMMAND, arguments=[lens.target, lens.project]),
        )
        for lens in verify_lenses(document.source, document.path or "")
    ]


@server.command(VERIFY_COMMAND)
async def verify_entry_point(ls: DoeffMigrateServer, *args: Any) -> dict:
    """Runs ``doeff-migrate verify`` on one entry point off the event loop, shows the verdict and refreshes
    the lenses; arguments ``[target, project]`` (as the lens sends them)."""
    if len(args) < 2 or not all(isinstance(a, str) and a for a in args[:2]):
        return {"verdict": "error", "detail": "expected arguments [entry point pkg.mod.var, project folder]", "exit_code": None}
    target, project = args[0], args[1]
    result = await asyncio.get_running_loop().run_in_executor(None, run_verify, target, project)
    level, text = verify_message(target, result)
    kinds = {"info": types.MessageType.Info, "warning": types.MessageType.Warning, "error": types.MessageType.Error}
    ls.window_show_message(types.ShowMessageParams(kinds[level], text))
    workspace = ls.client_capabilities.workspace
    if workspace is not None and workspace.code_lens is not None and workspace.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)
    return result


def serve(args, early: EarlyAnswer | None = None) -> int:
    """Effect: serves LSP over stdio (``python -m doeff_migrate.lsp``, whose ``args`` these are). ``early``:
    the first message, already read from stdin (and its ``initialize`` answered) by ``early_initialize``."""
    import sys

    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=args.log_level)
    fix_malloc_mmap_threshold()
    stdin = sys.stdin.buffer
    if early is not None:
        stdin = PrefixedStdin(early.consumed, stdin)
        if early.request_id is not None:
            server.protocol.answered_early[early.request_id] = early.result
    server.start_io(stdin=stdin)
    return 0


def write_initialize_result() -> None:
    """Effect: rewrites ``lsp/initialize_result.json`` (what ``early_initialize`` answers) from the server's
    registered features: pygls' answer to a client that states no capabilities, without the encoding."""
    result = initialize_result_from_pygls({"processId": None, "rootUri": None, "capabilities": {}})
    result["capabilities"].pop("positionEncoding", None)
    with open(RESULT_FILE, "w", encoding="utf-8") as file:
        file.write(json.dumps(result, indent=2) + "\n")


def initialize_result_from_pygls(params: dict[str, Any]) -> dict[str, Any]:
    """pygls' ``InitializeResult`` for ``params`` (JSON in, JSON out), computed by its own ``initialize``
    handling with this server's features. Effect: initializes ``server`` with these params."""
    protocol = server.protocol
    steps = protocol.lsp_initialize(protocol._converter.structure(params, types.InitializeParams))
    handler, handler_args, _ = next(steps)
    handler(*handler_args)
    try:
        steps.send(None)
    except StopIteration as done:
        return json.loads(json.dumps(done.value, default=protocol._serialize_message))
    raise RuntimeError("pygls' initialize handling asked for more than the user handler")


def fix_malloc_mmap_threshold(threshold: int = 128 * 1024) -> bool:
    """Effect (glibc only): keep allocations above ``threshold`` in their own mappings, returned on free.

    glibc raises its mmap threshold each time a large mapped block is freed; every edit allocates and frees
    large blocks (the document's text, the diagnostics' JSON), so after a few hundred edits those move into
    the heap, which then keeps ~3.5 MiB it cannot return: a one-time RSS step with flat Python-level memory
    (tracemalloc, gc counts). Fixing the threshold at glibc's default (what ``MALLOC_MMAP_THRESHOLD_`` does)
    keeps the server's RSS flat. Returns whether it was set; a user's ``MALLOC_MMAP_THRESHOLD_`` wins.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, threshold))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


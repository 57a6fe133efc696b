"""End-to-end tests: the real server process driven by pytest-lsp's client (VS Code's and Neovim's
capabilities), one test per diagnostic family and per code action, applying the returned edits."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from doeff_migrate.codemod.analysis.settings import MAX_DEBOUNCE_MS
from lsprotocol import types

from .lsp_client import (
    apply_text_edits,
    change_document,
    codes,
    decided_diagnostics,
    resolved,
    diagnostics_for,
    lsp_session,
    open_document,
    publish_after,
    wait_for_planned,
    wait_for_shown,
)

pytestmark = pytest.mark.asyncio

HEADER = "from doeff_migrate.runtime import do, handler, Ask, EffectBase\n"

FAMILIES = HEADER + textwrap.dedent(
    """\
    import wandb
    from dataclasses import dataclass
    from pinjected import injected

    @dataclass(frozen=True)
    class Upload(EffectBase[str]):
        path: str

    @handler
    def handle_upload(effect: Upload, k):
        # doeff-migrate: stub
        raise NotImplementedError("todo")

    @injected
    def legacy(model, /, x):
        return model(x)

    @do
    def sub():
        return 1

    @do
    def step(loss):
        wandb.log({"loss": loss})
        x = yield from sub()
        url = yield Upload("p")
        return x
    """
)


async def test_push_diagnostics_for_every_family(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
    assert codes(diagnostics) == ["DM150", "DM301", "DM504", "DM601", "DM602"]
    by_code = {d.code: d for d in diagnostics}
    assert all(d.source == "doeff-migrate" for d in diagnostics)
    assert by_code["DM301"].severity == types.DiagnosticSeverity.Warning
    assert by_code["DM150"].severity == types.DiagnosticSeverity.Information
    assert by_code["DM301"].range.start == types.Position(line=24, character=4)


async def request_actions(lsp, uri: str, diagnostic: types.Diagnostic | None, only=None, rng=None):
    diagnostics = [diagnostic] if diagnostic is not None else []
    return await lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng or (diagnostic.range if diagnostic else types.Range(types.Position(0, 0), types.Position(0, 0))),
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )


def edits_of(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    assert action.edit is not None
    if action.edit.document_changes is not None:
        return [e for c in action.edit.document_changes if isinstance(c, types.TextDocumentEdit) and c.text_document.uri == uri for e in c.edits]
    assert action.edit.changes is not None
    return list(action.edit.changes[uri])


async def test_quick_fix_from_diagnostic_data_and_noqa_action(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
        yield_from = next(d for d in diagnostics if d.code == "DM504")
        actions = await request_actions(lsp, uri, yield_from)
        titles = [a.title for a in actions]
        assert titles == [
            "DM504: Replace `yield from` with `yield`",
            "DM504: Suppress with `# noqa: DM504`",
            "doeff-migrate: fix all safe fixes",  # offered when the client does not filter by kind
        ]
        only_quickfix = await request_actions(lsp, uri, yield_from, only=[types.CodeActionKind.QuickFix])
        assert [a.title for a in only_quickfix] == titles[:2]
        fixed = apply_text_edits(FAMILIES, edits_of(actions[0], uri))
        assert "    x = yield sub()\n" in fixed
        suppressed = apply_text_edits(FAMILIES, edits_of(actions[1], uri))
        assert "    x = yield from sub()  # noqa: DM504\n" in suppressed
        change_document(lsp, uri, suppressed, version=2)
        after = await diagnostics_for(lsp, uri, version=2)
    assert "DM504" not in codes(after) and "DM301" in codes(after)


async def test_migrate_this_function_runs_the_codemod(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        diagnostics = await decided_diagnostics(lsp, uri, version=1)
        remaining = next(d for d in diagnostics if d.code == "DM150")
        assert "doeff-migrate migrates it (phase `di`)" in remaining.message
        actions = await request_actions(lsp, uri, remaining)
        migrate = next(a for a in actions if "Migrate `legacy`" in a.title)
        assert migrate.edit is None  # computed on codeAction/resolve
        migrate = await resolved(lsp, migrate)
    assert migrate.kind == types.CodeActionKind.QuickFix
    migrated = apply_text_edits(FAMILIES, edits_of(migrate, uri))
    assert "@injected\n" not in migrated
    assert '    model = yield Ask("model")\n' in migrated
    assert "def step(loss):\n" in migrated and 'wandb.log({"loss": loss})' in migrated  # the rest is untouched


async def test_migrate_action_anywhere_in_the_function_under_the_cursor(tmp_path: Path):
    body_line = FAMILIES.splitlines().index("    return model(x)")
    cursor = types.Range(types.Position(body_line, 8), types.Position(body_line, 8))
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        await decided_diagnostics(lsp, uri, version=1)
        actions = await request_actions(lsp, uri, None, rng=cursor, only=[types.CodeActionKind.Refactor])
        outside = await request_actions(
            lsp, uri, None, rng=types.Range(types.Position(0, 0), types.Position(0, 0)), only=[types.CodeActionKind.Refactor]
        )
        migrate = await resolved(lsp, actions[0])
    assert [a.title for a in actions] == ["DM150: Migrate `legacy` (phase di)", "Migrate this file (doeff-migrate)"]
    assert actions[0].kind == types.CodeActionKind.RefactorRewrite
    assert '    model = yield Ask("model")\n' in apply_text_edits(FAMILIES, edits_of(migrate, uri))
    assert [a.title for a in outside] == ["Migrate this file (doeff-migrate)"]


async def test_generate_handler_stub_action(tmp_path: Path):
    src = HEADER + "from dataclasses import dataclass\n\n@dataclass(frozen=True)\nclass Fetch(EffectBase[str]):\n    url: str\n\n@do\ndef get(u):\n    return (yield Fetch(u))\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "fetch.py", src)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
        assert codes(diagnostics) == ["DM603"]
        actions = await request_actions(lsp, uri, diagnostics[0])
        stub = next(a for a in actions if a.title.startswith("DM603: Generate a handler stub"))
        with_stub = apply_text_edits(src, edits_of(stub, uri))
        assert "@handler\ndef handle_fetch(effect: Fetch, k):\n    # doeff-migrate: stub\n" in with_stub
        change_document(lsp, uri, with_stub, version=2)
        after = await diagnostics_for(lsp, uri, version=2)
    assert codes(after) == ["DM601", "DM602"]


async def test_fix_all_applies_safe_fixes_only(tmp_path: Path):
    src = HEADER + "\n@do\ndef sub():\n    return 1\n\n@do\ndef main(c):\n    a = yield from sub()\n    b = await c.get()\n    sub()\n    return a\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "m.py", src)
        await diagnostics_for(lsp, uri, version=1)
        actions = await request_actions(lsp, uri, None, only=["source.fixAll.doeff-migrate"])
    assert [a.kind for a in actions] == ["source.fixAll.doeff-migrate"]
    fixed = apply_text_edits(src, edits_of(actions[0], uri))
    assert "    a = yield sub()\n    b = (yield Await(c.get()))\n    sub()\n" in fixed  # DM501's fix is unsafe: left
    assert "from doeff_migrate.runtime import Await\n" in fixed


async def test_hover_shows_the_rule_documentation(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        await diagnostics_for(lsp, uri, version=1)
        hover = await lsp.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(24, 8))
        )
        nothing = await lsp.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 0))
        )
    assert hover is not None and hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("## DM301 `direct-metrics-call`")
    assert "### Why is this bad?" in hover.contents.value
    assert nothing is None


async def test_pull_diagnostics_when_the_client_supports_them(tmp_path: Path):
    async with lsp_session(tmp_path, client="neovim@v0.11.0") as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        report = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        again = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id)
        )
        await wait_for_planned(lsp, uri, 1)  # after everything the server does for the opened text
    assert report.kind == "full" and codes(report.items) == ["DM150", "DM301", "DM504", "DM601", "DM602"]
    assert again.kind == "unchanged"
    assert lsp.published == []  # no push diagnostics for a pull client


async def test_configuration_changes_recheck_without_restart(tmp_path: Path):
    async with lsp_session(tmp_path, init_options={"settings": {"ignore": ["DM1"]}}) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        first = await diagnostics_for(lsp, uri, version=1)
        count = len(lsp.published)
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"doeff-migrate": {"select": ["DM3"]}})
        )
        second = await publish_after(lsp, count, uri)
        lsp.set_configuration({"enable": False}, section="doeff-migrate")
        count = len(lsp.published)
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        third = await publish_after(lsp, count, uri)
    assert "DM150" not in codes(first) and "DM301" in codes(first)
    assert codes(second) == ["DM301"]
    assert third == []  # settings pulled with workspace/configuration: enable = false


async def test_pyproject_select_and_extra_side_effects(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.doeff-migrate]\nignore = ["DM309"]\nextra-side-effects = ["mylab.upload"]\n'
    )
    src = HEADER + "import mylab\n\n@do\ndef f(p):\n    print(p)\n    mylab.upload(p)\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "f.py", src)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
    assert codes(diagnostics) == ["DM310"]


async def test_bad_pyproject_is_reported_and_defaults_are_used(tmp_path: Path):
    text = '[tool.doeff-migrate]\nselect = ["E501"]\n'
    (tmp_path / "pyproject.toml").write_text(text)
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
        await wait_for_shown(lsp, lambda m: m.type == types.MessageType.Error)
        await wait_for_planned(lsp, uri, 1)  # a second error message would have come by now
    assert "DM301" in codes(diagnostics)
    errors = [m for m in lsp.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "'E501' is not a rule code" in errors[0].message and "pyproject.toml" in errors[0].message
    assert (tmp_path / "pyproject.toml").read_text() == text


async def test_syntax_error_once_previous_diagnostics_kept(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        good = await diagnostics_for(lsp, uri, version=1)
        broken = FAMILIES + "\ndef half_typed(:\n"
        change_document(lsp, uri, broken, version=2)
        during = await diagnostics_for(lsp, uri, version=2)
        change_document(lsp, uri, broken + "    pass\n", version=3)
        still = await diagnostics_for(lsp, uri, version=3)
        change_document(lsp, uri, FAMILIES, version=4)
        healed = await diagnostics_for(lsp, uri, version=4)
    assert codes(during) == sorted(codes(good) + ["DM001"])
    assert [d.code for d in during].count("DM001") == 1
    # Kept diagnostics carry no edits: those were computed for the text before the error.
    assert all(set(d.data) == {"version"} for d in during if d.code != "DM001")
    assert [d.code for d in still].count("DM001") == 1
    assert codes(healed) == codes(good)


async def test_debounce_drops_stale_versions(tmp_path: Path):
    # The longest debounce the settings allow: the burst below must reach the server within one debounce
    # window for its versions to be superseded, and a loaded machine can pause the client between writes.
    async with lsp_session(tmp_path, init_options={"settings": {"debounceMs": MAX_DEBOUNCE_MS}}) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        await decided_diagnostics(lsp, uri, version=1)  # later versions carry its decisions: no second publish
        before = len(lsp.published)
        for version in range(2, 12):
            change_document(lsp, uri, FAMILIES + f"\n# edit {version}\n", version=version)
        last = await diagnostics_for(lsp, uri, version=11)
        await wait_for_planned(lsp, uri, 11)  # the last thing the server does for the burst
    burst = lsp.published[before:]
    assert burst[0].version == 11 and {p.version for p in burst} == {11}  # none for superseded versions
    assert codes(last) == ["DM150", "DM301", "DM504", "DM601", "DM602"]


async def test_cross_file_stub_and_binding_from_the_workspace_index(tmp_path: Path):
    tmp_path = tmp_path / "my project"  # a space in the workspace path: %20 in its URI
    tmp_path.mkdir()
    handlers = tmp_path / "effects_handlers.py"
    handlers_src = FAMILIES.split("@injected")[0]
    handlers.write_text(handlers_src)
    (tmp_path / "__init__.py").write_text('__design__ = {"lr": 0.1}\n')
    user_src = HEADER + "from effects_handlers import Upload\n\n@do\ndef publish(p):\n    lr = yield Ask('lr')\n    bs = yield Ask('bs')\n    return (yield Upload(p))\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "publish.py", user_src)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
        assert codes(diagnostics) == ["DM505", "DM602"]
        unbound = diagnostics[0].range
        assert user_src.splitlines()[unbound.start.line][unbound.start.character : unbound.end.character] == "'bs'"
        # Implementing the stub in the editor re-checks the file that yields its effect.
        handlers_uri = open_document(lsp, handlers, handlers_src)
        implemented = handlers_src.replace("        # doeff-migrate: stub\n", "").replace(
            '    raise NotImplementedError("todo")', "    return (yield Resume(k, 'url'))"
        ).replace("    # doeff-migrate: stub\n", "")
        count = len(lsp.published)
        change_document(lsp, handlers_uri, implemented, version=2)
        after = await publish_after(lsp, count, uri)
    assert codes(after) == ["DM505"]


async def test_positions_are_in_the_negotiated_encoding(tmp_path: Path):
    line = "    label = '𝄞 é'; wandb.log({})"
    src = HEADER + f"import wandb\n\n@do\ndef f():\n{line}\n"
    utf16_col = len(line[: line.index("wandb.log")].encode("utf-16-le")) // 2
    async with lsp_session(tmp_path) as lsp:  # VS Code's capabilities: UTF-16
        uri = open_document(lsp, tmp_path / "u.py", src)
        (diagnostic,) = await diagnostics_for(lsp, uri, version=1)
        actions = await request_actions(lsp, uri, diagnostic, only=[types.CodeActionKind.QuickFix])
    assert diagnostic.code == "DM301"
    assert diagnostic.range.start.character == utf16_col == line.index("wandb.log") + 1
    noqa = next(a for a in actions if "noqa" in a.title)
    (edit,) = edits_of(noqa, uri)
    assert edit.range.start.character == len(line.encode("utf-16-le")) // 2 and edit.new_text == "  # noqa: DM301"


async def test_pull_client_gets_new_diagnostics_after_a_change(tmp_path: Path):
    async with lsp_session(tmp_path, client="neovim@v0.11.0") as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        first = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        change_document(lsp, uri, FAMILIES.replace('    wandb.log({"loss": loss})\n', ""), version=2)
        second = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=first.result_id)
        )
    assert second.kind == "full" and "DM301" not in codes(second.items) and "DM504" in codes(second.items)


async def test_console_script_serves_the_same_server(tmp_path: Path):
    import sys

    script = Path(sys.executable).with_name("doeff-migrate-lsp")
    assert script.exists(), "pyproject's [project.scripts] installs doeff-migrate-lsp"
    async with lsp_session(tmp_path, command=[str(script)]) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
    assert codes(diagnostics) == ["DM150", "DM301", "DM504", "DM601", "DM602"]



async def test_non_python_documents_get_no_diagnostics(tmp_path: Path):
    async with lsp_session(tmp_path) as lsp:
        path = tmp_path / "notes.md"
        path.write_text(FAMILIES)
        uri = path.as_uri()
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=FAMILIES))
        )
        diagnostics = await diagnostics_for(lsp, uri, version=1)
    assert diagnostics == []


async def test_helper_side_effect_flag_comment_and_yield_fix(tmp_path: Path):
    src = HEADER + textwrap.dedent(
        """\
        import subprocess

        def git_head():
            return subprocess.check_output(["git", "rev-parse", "HEAD"])

        @do
        def save(x):
            return x

        @do
        def main():
            # doeff-migrate: DM001: could not read the original expression
            head = git_head()
            save(head)
            return head
        """
    )
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "m.py", src)
        diagnostics = await diagnostics_for(lsp, uri, version=1)
        assert codes(diagnostics) == ["DM001", "DM311", "DM501"]
        helper = next(d for d in diagnostics if d.code == "DM311")
        assert "git_head -> subprocess.check_output" in helper.message and helper.range.start.line == 13
        dropped = next(d for d in diagnostics if d.code == "DM501")
        actions = await request_actions(lsp, uri, dropped, only=[types.CodeActionKind.QuickFix])
    fix = next(a for a in actions if "Yield the program" in a.title)
    assert "    yield save(head)\n" in apply_text_edits(src, edits_of(fix, uri))


async def test_files_changed_on_disk_update_the_index_and_pyproject(tmp_path: Path):
    stub_file = tmp_path / "effects_handlers.py"
    stub_src = FAMILIES.split("@injected")[0]
    stub_file.write_text(stub_src)
    user_src = HEADER + "from effects_handlers import Upload\n\n@do\ndef publish(p):\n    print(p)\n    return (yield Upload(p))\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "publish.py", user_src)
        assert codes(await diagnostics_for(lsp, uri, version=1)) == ["DM309", "DM602"]

        async def after_change(path: Path, kind=types.FileChangeType.Changed):
            count = len(lsp.published)
            lsp.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=kind)])
            )
            return codes(await publish_after(lsp, count, uri))

        stub_file.write_text(stub_src.replace("    # doeff-migrate: stub\n", ""))
        implemented = await after_change(stub_file)
        (tmp_path / "pyproject.toml").write_text('[tool.doeff-migrate]\nignore = ["DM309"]\n')
        configured = await after_change(tmp_path / "pyproject.toml", types.FileChangeType.Created)
        stub_file.unlink()
        deleted = await after_change(stub_file, types.FileChangeType.Deleted)
    assert implemented == ["DM309"]
    assert configured == []
    assert deleted == []  # Upload is no longer declared in the project: no handler rule applies


async def test_a_request_with_malformed_params_gets_an_error_response(tmp_path: Path):
    """The client must not wait forever: pygls alone only logs a request it cannot deserialise."""
    from pygls.exceptions import JsonRpcInvalidParams

    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        # Sent as raw JSON: the client's own types would refuse to serialise such params.
        malformed: asyncio.Future = asyncio.get_running_loop().create_future()
        lsp.protocol._request_futures["malformed-1"] = malformed
        lsp.protocol._send_data(
            {"jsonrpc": "2.0", "id": "malformed-1", "method": types.TEXT_DOCUMENT_HOVER, "params": {"textDocument": 5, "position": "top"}}
        )
        with pytest.raises(JsonRpcInvalidParams) as info:
            await asyncio.wait_for(malformed, timeout=10)
        assert "textDocument/hover: the params do not match" in str(info.value)
        # The server goes on answering well-formed requests.
        hover = await lsp.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
        )
    assert hover is None or hover.contents is not None


async def test_pull_diagnostics_for_a_document_that_is_not_open_is_an_empty_report(tmp_path: Path):
    async with lsp_session(tmp_path, client="neovim@v0.11.0") as lsp:
        unknown = (tmp_path / "never_opened.py").as_uri()
        report = await asyncio.wait_for(
            lsp.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=unknown))),
            timeout=10,
        )
    assert report.kind == "full" and list(report.items) == []


async def test_diagnostics_written_as_json_text_carry_their_version_and_any_text(tmp_path: Path):
    """The publish is written as JSON text from each diagnostic's cached parts: non-ASCII names are escaped
    (the framing counts characters as bytes) and every diagnostic carries the version it describes."""
    source = "from pinjected import injected\n\n@injected\ndef 訓練(model, /, 手順):\n    return model(手順)\n"
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", source)
        first = await diagnostics_for(lsp, uri, version=1)
        change_document(lsp, uri, source + "\n# 変更\n", version=2)
        second = await diagnostics_for(lsp, uri, version=2)
    assert any("`訓練`" in d.message for d in first)
    assert [d.data["version"] for d in first] == [1] * len(first) and [d.data["version"] for d in second] == [2] * len(second)
    assert [d.message for d in first] == [d.message for d in second]

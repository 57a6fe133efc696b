""""Verify this entry point": a code lens above each module-level entry point, titled with the last verdict
``doeff-migrate verify`` recorded; its command runs verify and shows the verdict. The plain functions
first, then the real server on a real migrated project in a git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest
from lsprotocol import types

from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.verified import write_record
from doeff_migrate.lsp.fixes import VERIFY_COMMAND, VERIFY_TITLE, import_root, verify_lenses, verify_message

from .lsp_client import lsp_session, open_document

ROOT = Path(__file__).resolve().parents[2]

SOURCE = dedent(
    """\
    from pinjected import IProxy, injected

    @injected
    def greet(name, /):
        return f"hi {name}"

    main: IProxy = greet()
    helper = 3
    """
)


def test_lenses_name_each_entry_point_with_its_last_verdict(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    path = tmp_path / "app" / "cli.py"
    path.write_text(SOURCE)
    assert import_root(str(path)) == (str(tmp_path.resolve()), "app.cli")
    [lens] = verify_lenses(SOURCE, str(path))
    assert (lens.line, lens.target, lens.project, lens.title) == (6, "app.cli.main", str(tmp_path.resolve()), VERIFY_TITLE)
    write_record(tmp_path, {"app.cli.main": {"verdict": "different", "commit": "0123456789abcdef", "dirty": True, "at": "2026-01-02T03:04:05Z"}})
    [lens] = verify_lenses(SOURCE, str(path))
    assert lens.title == f"{VERIFY_TITLE} (last: different at 01234567+, 2026-01-02T03:04:05Z)"
    assert verify_lenses("x = 1\n", str(path)) == [] and verify_lenses(SOURCE, "notes.txt") == []


def test_messages_say_what_the_verdict_means() -> None:
    assert verify_message("a.b.c", {"verdict": "equal"}) == ("info", "doeff-migrate verify: a.b.c behaves the same after migration")
    level, text = verify_message("a.b.c", {"verdict": "different", "detail": "result:\n- 1\n+ 2"})
    assert level == "warning" and "behaves differently" in text and "+ 2" in text
    level, text = verify_message("a.b.c", {"verdict": "error", "detail": "base 'x' is not a commit"})
    assert level == "error" and "could not be verified" in text and "not a commit" in text


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.asyncio
async def test_the_server_offers_the_lens_and_its_command_runs_verify(tmp_path: Path) -> None:
    project = Path(shutil.copytree(ROOT / "examples" / "pinjected_project", tmp_path / "project"))
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "original")
    assert doeff_migrate([str(project), "-q"]) == 0
    experiment = project / "mlpipe" / "experiment.py"
    async with lsp_session(project) as lsp:
        uri = open_document(lsp, experiment, experiment.read_text())
        params = types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        lenses = await lsp.text_document_code_lens_async(params)
        by_target = {lens.command.arguments[0]: lens for lens in lenses}
        assert set(by_target) == {"mlpipe.experiment.main", "mlpipe.experiment.fast", "mlpipe.experiment.inputs"}
        main = by_target["mlpipe.experiment.main"]
        assert main.command.command == VERIFY_COMMAND and main.command.title == VERIFY_TITLE
        assert main.command.arguments[1] == str(project.resolve())
        assert experiment.read_text().splitlines()[main.range.start.line].startswith("main:")

        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command=VERIFY_COMMAND, arguments=main.command.arguments)
        )
        assert result["verdict"] == "equal" and result["exit_code"] == 0
        assert any("mlpipe.experiment.main behaves the same" in m.message for m in lsp.messages)
        lenses = await lsp.text_document_code_lens_async(params)
        titles = {lens.command.arguments[0]: lens.command.title for lens in lenses}
        assert titles["mlpipe.experiment.main"].startswith(f"{VERIFY_TITLE} (last: equal at ")
        assert titles["mlpipe.experiment.fast"] == VERIFY_TITLE

        # The same command as a code action on the entry point's line, and none elsewhere.
        def at(line: int) -> types.CodeActionParams:
            where = types.Range(types.Position(line, 0), types.Position(line, 0))
            return types.CodeActionParams(types.TextDocumentIdentifier(uri=uri), where, types.CodeActionContext(diagnostics=[]))

        actions = await lsp.text_document_code_action_async(at(main.range.start.line))
        [action] = [a for a in actions if isinstance(a, types.Command) and a.command == VERIFY_COMMAND]
        assert action.title == "Verify this entry point (mlpipe.experiment.main)"
        assert action.arguments == main.command.arguments
        elsewhere = await lsp.text_document_code_action_async(at(0))
        assert not [a for a in elsewhere or [] if isinstance(a, types.Command) and a.command == VERIFY_COMMAND]

        bad = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command=VERIFY_COMMAND, arguments=[]))
        assert bad["verdict"] == "error" and "expected arguments" in bad["detail"]

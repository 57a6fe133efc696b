"""End to end: the "Convert this call to an effect" quick fix through the real server and pytest-lsp's client.

The returned WorkspaceEdit is applied to the texts (the file and the package's generated handler module),
compared with what ``doeff-migrate --phase io|compute`` writes for the same package, written to disk, and the
result is run with the runner (``python -m doeff_migrate.runtime run pkg.mod.var --json``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lsprotocol import types

from doeff_migrate.codemod.handler_stubs import render_module, spec_for_movable
from doeff_migrate.codemod.side_effects import MOVABLE_CALLS

from .lsp_client import apply_text_edits, change_document, decided_diagnostics, lsp_session, open_document, resolved

pytestmark = pytest.mark.asyncio

TITLE = "Convert this call to an effect (doeff-migrate)"

NUMPY_SOURCE = textwrap.dedent(
    """\
    import numpy as np
    from doeff_migrate.runtime import do


    @do
    def save_and_load(path):
        arr = np.arange(5)
        np.save(path, arr)
        loaded = np.load(path)
        return int(loaded.sum())


    result = save_and_load("numbers.npy")
    """
)


def make_package(root: Path, name: str, module: str, source: str) -> Path:
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    path = package / f"{module}.py"
    path.write_text(source)
    return path


async def request_quick_fixes(lsp, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    """The quick fixes at ``diagnostic``, each with its edit (resolved as an editor does on choosing one)."""
    actions = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    return [await resolved(lsp, action) for action in actions]


def apply_workspace_edit(edit: types.WorkspaceEdit, texts: dict[str, str | None]) -> dict[str, str | None]:
    """Apply ``edit`` (``documentChanges`` with CreateFile, or ``changes``) to ``texts`` (uri -> text, None:
    no such file) the way an editor does; fails on what an editor would refuse."""
    texts = dict(texts)
    if edit.document_changes is not None:
        for change in edit.document_changes:
            if isinstance(change, types.CreateFile):
                assert texts.get(change.uri) is None, f"CreateFile of an existing file {change.uri}"
                texts[change.uri] = ""
            elif isinstance(change, types.TextDocumentEdit):
                uri = change.text_document.uri
                assert texts.get(uri) is not None, f"edit of a file that does not exist: {uri}"
                texts[uri] = apply_text_edits(texts[uri], list(change.edits))
            else:
                raise AssertionError(f"unexpected resource operation {change!r}")
    for uri, edits in (edit.changes or {}).items():
        assert texts.get(uri) is not None, f"edit of a file that does not exist: {uri}"
        texts[uri] = apply_text_edits(texts[uri], list(edits))
    return texts


def cli_migrated(root: Path, package: str, phase: str, tmp: Path) -> dict[str, str]:
    """What ``doeff-migrate <package> --phase <phase>`` writes, run from a copy of ``root``."""
    copy = tmp / "cli-copy"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root, copy)
    cli = Path(sys.executable).with_name("doeff-migrate")
    done = subprocess.run(
        [str(cli), package, "--phase", phase, "--allow-dirty", "-q"], cwd=copy, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_text() for p in sorted((copy / package).glob("*.py"))}


def run_entry_point(root: Path, target: str, env: dict[str, str] | None = None) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", target, "--json"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_convert_numpy_calls_one_by_one_matches_the_cli_and_runs(tmp_path: Path):
    root = tmp_path / "project"
    path = make_package(root, "pkg", "train", NUMPY_SOURCE)
    handlers = root / "pkg" / "effects_handlers.py"
    whole_file = cli_migrated(root, "pkg", "io", tmp_path / "whole")
    async with lsp_session(root) as lsp:
        uri = open_document(lsp, path, NUMPY_SOURCE)
        diagnostics = await decided_diagnostics(lsp, uri, version=1)
        save = next(d for d in diagnostics if d.code == "DM302" and d.range.start.line == 7)
        actions = await request_quick_fixes(lsp, uri, save)
        convert = next(a for a in actions if a.title == f"DM302: {TITLE}")
        assert convert.kind == types.CodeActionKind.QuickFix and convert.is_preferred
        # One WorkspaceEdit: the file's edit, then the handler module created and filled.
        kinds = [type(c).__name__ for c in convert.edit.document_changes]
        assert kinds == ["TextDocumentEdit", "CreateFile", "TextDocumentEdit"]
        assert convert.edit.document_changes[0].text_document.version == 1
        handlers_uri = convert.edit.document_changes[1].uri
        assert Path(handlers_uri.removeprefix("file://")) == handlers
        texts = apply_workspace_edit(convert.edit, {uri: NUMPY_SOURCE, handlers_uri: None})
        first = texts[uri]
        assert "    yield SaveNumpyArray(path, arr)\n    loaded = np.load(path)\n" in first  # only that call
        assert "from pkg.effects_handlers import HANDLERS, SaveNumpyArray\n" in first
        assert first.endswith('result = save_and_load("numbers.npy")\n__doeff_handlers__ = HANDLERS\n')
        # The handler module the CLI writes for that one effect (handler_stubs renders it for both).
        assert texts[handlers_uri] == render_module([spec_for_movable(MOVABLE_CALLS["numpy.save"])], "pkg/effects_handlers.py")
        assert "LoadNumpyArray" not in texts[handlers_uri]
        path.write_text(first)
        handlers.write_text(texts[handlers_uri])
        then_cli = cli_migrated(root, "pkg", "io", tmp_path / "then")  # the CLI extending that module

        # The editor applies it: the file changes, the new handler module opens in a buffer (not saved).
        change_document(lsp, uri, first, version=2)
        lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=handlers_uri, language_id="python", version=1, text=texts[handlers_uri])
            )
        )
        diagnostics = await decided_diagnostics(lsp, uri, version=2)
        load = next(d for d in diagnostics if d.code == "DM302")
        assert load.range.start.line == 9
        actions = await request_quick_fixes(lsp, uri, load)
        convert = next(a for a in actions if a.title == f"DM302: {TITLE}")
        kinds = [type(c).__name__ for c in convert.edit.document_changes]
        assert kinds == ["TextDocumentEdit", "TextDocumentEdit"]  # the module exists (in the editor): extended
        assert convert.edit.document_changes[1].text_document.version == 1
        texts = apply_workspace_edit(convert.edit, texts)
        change_document(lsp, uri, texts[uri], version=3)
        after = await decided_diagnostics(lsp, uri, version=3)
    assert [d.code for d in after if d.code.startswith(("DM2", "DM3"))] == []
    # Converting the calls one by one writes the file the CLI writes for the whole file, and extends the
    # handler module as the CLI extends an existing one.
    assert texts[uri] == whole_file["train.py"] == then_cli["train.py"]
    assert texts[handlers_uri] == then_cli["effects_handlers.py"]
    path.write_text(texts[uri])
    handlers.write_text(texts[handlers_uri])
    assert run_entry_point(root, "pkg.train.result") == 10
    assert (root / "numbers.npy").exists()


WANDB_SOURCE = textwrap.dedent(
    """\
    import wandb
    from doeff_migrate.runtime import do


    @do
    def train(steps):
        run = wandb.init(project="lsp-convert", mode="offline")
        for step in range(steps):
            wandb.log({"loss": 1.0 / (step + 1)}, step=step)
        wandb.finish()
        return run.id


    result = train(3)
    """
)


@pytest.mark.slow
async def test_convert_wandb_log_in_a_loop_and_run_offline(tmp_path: Path):
    root = tmp_path / "project"
    path = make_package(root, "lab", "train", WANDB_SOURCE)
    async with lsp_session(root) as lsp:
        uri = open_document(lsp, path, WANDB_SOURCE)
        diagnostics = await decided_diagnostics(lsp, uri, version=1)
        by_line = {d.range.start.line: d for d in diagnostics if d.code == "DM301"}
        assert sorted(by_line) == [6, 8, 9]  # wandb.init, wandb.log, wandb.finish
        offered = {line: [a.title for a in await request_quick_fixes(lsp, uri, d)] for line, d in by_line.items()}
        # wandb.init / wandb.finish have no metrics-effect form: the codemod would only flag them.
        assert f"DM301: {TITLE}" not in offered[6] + offered[9]
        actions = await request_quick_fixes(lsp, uri, by_line[8])
    convert = next(a for a in actions if a.title == f"DM301: {TITLE}")
    handlers_uri = (root / "lab" / "effects_handlers.py").as_uri()
    texts = apply_workspace_edit(convert.edit, {uri: WANDB_SOURCE, handlers_uri: None})
    assert texts[uri] == WANDB_SOURCE.replace(
        "import wandb\nfrom doeff_migrate.runtime import do\n",
        "import wandb\nfrom doeff_migrate.runtime import do\nfrom doeff_migrate.runtime.metrics import LogMetrics\n"
        "from lab.effects_handlers import HANDLERS\n",
    ).replace(
        '        wandb.log({"loss": 1.0 / (step + 1)}, step=step)\n', '        yield LogMetrics({"loss": 1.0 / (step + 1)}, step=step)\n'
    ) + "__doeff_handlers__ = HANDLERS\n"
    assert "def handle_log_metrics(effect: LogMetrics, k):" in texts[handlers_uri]
    path.write_text(texts[uri])
    (root / "lab" / "effects_handlers.py").write_text(texts[handlers_uri])
    wandb_dir = tmp_path / "wandb-runs"
    wandb_dir.mkdir()
    run_id = run_entry_point(root, "lab.train.result", {"WANDB_MODE": "offline", "WANDB_DIR": str(wandb_dir), "WANDB_SILENT": "true"})
    # The handler logged to the run the program started: wandb's own offline record (binary; keys and JSON
    # values appear as text) holds the three metrics.
    (run_dir,) = (wandb_dir / "wandb").glob(f"offline-run-*-{run_id}")
    record = next(run_dir.glob("run-*.wandb")).read_bytes()
    assert b"loss" in record and all(json.dumps(1.0 / n).encode() in record for n in (1, 2, 3))


RAY_SOURCE = textwrap.dedent(
    """\
    import ray
    from doeff_migrate.runtime import do


    @ray.remote
    def _square(x):
        return x * x


    @do
    def squares(xs):
        refs = [_square.remote(x) for x in xs]
        return ray.get(refs)


    @do
    def total(xs):
        values = yield squares(xs)
        return sum(values)


    result = total([1, 2, 3])
    """
)


async def test_convert_ray_task_moves_the_spawn_and_its_wait_together_and_runs(tmp_path: Path):
    root = tmp_path / "project"
    path = make_package(root, "rp", "work", RAY_SOURCE)
    whole_file = cli_migrated(root, "rp", "compute", tmp_path / "whole")
    async with lsp_session(root) as lsp:
        uri = open_document(lsp, path, RAY_SOURCE)
        diagnostics = await decided_diagnostics(lsp, uri, version=1)
        remote = next(d for d in diagnostics if d.code.startswith("DM2") and d.range.start.line == 11)
        actions = await request_quick_fixes(lsp, uri, remote)
    convert = next(a for a in actions if a.title == f"{remote.code}: {TITLE}")
    texts = apply_workspace_edit(convert.edit, {uri: RAY_SOURCE})
    # The only function using Ray: the same as the whole-file run (tasks stay Ray tasks: `ray_task`, no handler module).
    assert texts[uri] == whole_file["work.py"] and "effects_handlers.py" not in whole_file
    assert "    refs = []\n    for x in xs:\n        refs.append((yield Spawn(ray_task(_square)(x))))\n" in texts[uri]
    assert "    return (yield Gather(*refs))\n" in texts[uri]
    path.write_text(texts[uri])
    assert run_entry_point(root, "rp.work.result") == 14  # the tasks run on Ray (started on first use, as `.remote` did)

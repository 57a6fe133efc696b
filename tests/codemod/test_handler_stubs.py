"""Generated ``<pkg>/effects_handlers.py``: written, extended without losing edits, run for real, refused when broken."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.handler_stubs import (
    EffectNeed,
    extend_module,
    plan_handler_modules,
    render_module,
    spec_for_metrics,
    spec_for_movable,
    stub_spec,
    write_handler_module,
)
from doeff_migrate.codemod.rules.stubs import STUB_MARKER
from doeff_migrate.codemod.side_effects import MOVABLE_CALLS
from doeff_migrate.lsp.analysis import check
from doeff_migrate.runtime import do, run

NP_LOAD = spec_for_movable(MOVABLE_CALLS["numpy.load"])
UPLOAD = stub_spec("Upload", [("path", "str")], "Upload a file to the lab's storage.")


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_rendered_module_declares_effects_handlers_and_the_wiring():
    text = render_module([NP_LOAD, spec_for_metrics("LogMetrics"), UPLOAD], "pkg/effects_handlers.py")
    compile(text, "effects_handlers.py", "exec")
    assert "class LoadNumpyArray(EffectBase[Any]):" in text
    assert "def handle_load_numpy_array(effect: LoadNumpyArray, k):" in text
    assert "class LogMetrics" not in text and "from doeff_migrate.runtime.metrics import LogMetrics" in text
    assert "HANDLERS = [\n    handle_load_numpy_array,\n    handle_log_metrics,\n    handle_upload,\n]" in text
    stub = text[text.index("def handle_upload"):]
    assert stub.splitlines()[1].strip() == STUB_MARKER
    assert "raise NotImplementedError(\"handler stub `handle_upload` for Upload in pkg/effects_handlers.py" in stub
    assert STUB_MARKER not in text[text.index("def handle_load_numpy_array"):text.index("def handle_upload")]


def test_complete_handler_performs_the_original_call_and_a_stub_fails_naming_itself(tmp_path: Path):
    path = tmp_path / "effects_handlers.py"
    path.write_text(render_module([NP_LOAD, UPLOAD], "pkg/effects_handlers.py"))
    generated = load_module(path, "generated_handlers_run")
    np.save(tmp_path / "a.npy", np.arange(3.0))

    @do
    def load(p):
        return (yield generated.LoadNumpyArray(p))

    assert run(load(str(tmp_path / "a.npy")), handlers=generated.HANDLERS).tolist() == [0.0, 1.0, 2.0]
    assert run(generated.with_effect_handlers(load(str(tmp_path / "a.npy")))).tolist() == [0.0, 1.0, 2.0]

    @do
    def publish(p):
        return (yield generated.Upload(p))

    with pytest.raises(NotImplementedError, match=r"handler stub `handle_upload` for Upload in pkg/effects_handlers.py is not implemented"):
        run(publish("x"), handlers=generated.HANDLERS)


def test_recording_handlers_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "effects_handlers.py"
    path.write_text(render_module([]))
    generated = load_module(path, "generated_handlers_env")
    monkeypatch.delenv("DOEFF_MIGRATE_RECORD", raising=False)
    monkeypatch.delenv("DOEFF_MIGRATE_REPLAY", raising=False)
    assert generated.recording_handlers() == []
    monkeypatch.setenv("DOEFF_MIGRATE_RECORD", str(tmp_path / "r.jsonl"))
    [recorder] = generated.recording_handlers()
    assert type(recorder).__name__ == "RecordingHandler"
    monkeypatch.setenv("DOEFF_MIGRATE_REPLAY", str(tmp_path / "r.jsonl"))
    with pytest.raises(RuntimeError, match="set only one of"):
        generated.recording_handlers()


def test_language_server_sees_the_generated_stub_and_not_the_complete_handler():
    text = render_module([NP_LOAD, UPLOAD])
    findings = [f for f in check(text, "/proj/pkg/effects_handlers.py") if f.code == "DM601"]
    assert len(findings) == 1 and "handle_upload" in findings[0].message


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(line == other for other in it) for line in small)


def test_extending_keeps_what_is_there_and_adds_only_what_is_missing():
    original = render_module([UPLOAD])
    # The user implemented the stub: marker gone, body written.
    edited = original.replace(f"    {STUB_MARKER}\n", "").replace(
        original[original.index("    raise NotImplementedError"):original.index("\n", original.index("    raise NotImplementedError"))],
        "    return (yield Resume(k, 'https://store/' + effect.path))",
    )
    extended = extend_module(edited, [UPLOAD, NP_LOAD, spec_for_metrics("LogSummary")])
    compile(extended, "effects_handlers.py", "exec")
    assert _is_subsequence(edited.splitlines(), extended.splitlines())  # only insertions, nothing lost
    assert "return (yield Resume(k, 'https://store/' + effect.path))" in extended
    assert extended.count("def handle_upload") == 1
    assert "HANDLERS = [\n    handle_upload,\n    handle_load_numpy_array,\n    handle_log_summary,\n]" in extended
    assert "import numpy as np\n" in extended and "import wandb\n" in extended
    assert extend_module(extended, [UPLOAD, NP_LOAD]) == extended


def test_extending_a_broken_module_is_refused_and_nothing_is_written(tmp_path: Path):
    target = tmp_path / "effects_handlers.py"
    target.write_text("def broken(:\n")
    [change] = plan_handler_modules([EffectNeed(str(tmp_path), NP_LOAD)])
    assert change.error is not None and "not valid Python" in change.error
    assert target.read_text() == "def broken(:\n"
    target.write_text("x = 1\n")
    [change] = plan_handler_modules([EffectNeed(str(tmp_path), NP_LOAD)])
    assert change.error is not None and "HANDLERS" in change.error


def test_plan_and_write_create_then_extend(tmp_path: Path):
    [created] = plan_handler_modules([EffectNeed(str(tmp_path), NP_LOAD), EffectNeed(str(tmp_path), None)])
    assert created.old is None and "+class LoadNumpyArray" in created.diff()
    write_handler_module(created)
    assert (tmp_path / "effects_handlers.py").read_text() == created.new
    assert plan_handler_modules([EffectNeed(str(tmp_path), NP_LOAD)]) == []
    [extended] = plan_handler_modules([EffectNeed(str(tmp_path), UPLOAD)])
    write_handler_module(extended)
    assert "def handle_upload" in (tmp_path / "effects_handlers.py").read_text()


PROJECT = {
    "pkg/__init__.py": "",
    "pkg/mod.py": """\
        import numpy as np
        from doeff_migrate.runtime import Program, do

        @do
        def load(path):
            return np.load(path)

        main: Program = load("a.npy")
    """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(dedent(text))


def test_cli_writes_the_handler_module_check_and_diff_see_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    write(tmp_path, PROJECT)
    pkg = tmp_path / "pkg"
    assert doeff_migrate([str(pkg), "--phase", "io", "--diff"]) == 0
    shown = capsys.readouterr().out
    assert "+++ b/" in shown and "effects_handlers.py" in shown and "+class LoadNumpyArray" in shown
    assert not (pkg / "effects_handlers.py").exists()
    assert doeff_migrate([str(pkg), "--phase", "io", "--check", "-q"]) == 1
    assert doeff_migrate([str(pkg), "--phase", "io", "-q", "--allow-dirty"]) == 0
    assert "def handle_load_numpy_array" in (pkg / "effects_handlers.py").read_text()
    assert "yield LoadNumpyArray" in (pkg / "mod.py").read_text()
    assert doeff_migrate([str(pkg), "--phase", "io", "--check", "-q"]) == 0


def test_cli_reports_a_broken_handler_module_and_leaves_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    write(tmp_path, PROJECT)
    pkg = tmp_path / "pkg"
    (pkg / "effects_handlers.py").write_text("HANDLERS = (\n")
    before = (pkg / "mod.py").read_text()
    assert doeff_migrate([str(pkg), "--phase", "io", "-q", "--allow-dirty"]) == 3
    err = capsys.readouterr().err
    assert "effects_handlers.py" in err and "not valid Python" in err and "mod.py: error: needs" in err
    assert (pkg / "effects_handlers.py").read_text() == "HANDLERS = (\n"
    assert (pkg / "mod.py").read_text() == before  # it would import names the broken module cannot get


def test_file_memo_and_client_specs_run_for_real_and_the_client_one_is_a_stub(tmp_path: Path):
    from doeff_migrate.codemod.handler_stubs import spec_for_file, specs_for_memo
    from doeff_migrate.codemod.side_effects import MovableCall
    from doeff_migrate.runtime import CacheGet, CachePut

    client = spec_for_movable(MovableCall("openai.OpenAI(...).chat.completions.create", "OpenaiChatCompletionsCreate", None, stub=True))
    specs = [spec_for_file("WriteJson"), spec_for_file("ReadJson"), *specs_for_memo(), client]
    text = render_module(specs, "pkg/effects_handlers.py")
    assert text.count("def _memo_store") == 1  # shared by CacheGet and CachePut, written once
    path = tmp_path / "effects_handlers.py"
    path.write_text(text)
    generated = load_module(path, "generated_handlers_files")
    target = str(tmp_path / "cfg.json")

    @do
    def roundtrip():
        yield generated.WriteJson(target, {"a": [1, 2]}, dump_options={"indent": 2})
        try:
            yield CacheGet("k")
        except KeyError:
            missed = True
        yield CachePut("k", (yield generated.ReadJson(target)))
        return missed, (yield CacheGet("k"))

    assert run(roundtrip(), handlers=generated.HANDLERS) == (True, {"a": [1, 2]})
    assert (tmp_path / "cfg.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}'

    @do
    def ask():
        return (yield generated.OpenaiChatCompletionsCreate(kwargs={"model": "m"}))

    with pytest.raises(NotImplementedError, match="handler stub `handle_openai_chat_completions_create` for OpenaiChatCompletionsCreate"):
        run(ask(), handlers=generated.HANDLERS)
    findings = [f for f in check(text, "/proj/pkg/effects_handlers.py") if f.code == "DM601"]
    assert [("handle_openai_chat_completions_create" in f.message) for f in findings] == [True]
    # extending with the memo again, or with one of its two specs, adds nothing twice
    assert extend_module(text, specs_for_memo()) == text
    extended = extend_module(render_module([NP_LOAD]), specs_for_memo())
    assert extended.count("def _memo_store") == 1 and "    handle_cache_get,\n    handle_cache_put,\n" in extended


def test_a_generated_module_stays_valid_python_whatever_its_folder_is_called(tmp_path):
    from doeff_migrate.codemod.handler_stubs import EffectNeed, plan_handler_modules, stub_spec

    folder = tmp_path / 'we"ird\\N{x}'
    folder.mkdir()
    (change,) = plan_handler_modules([EffectNeed(str(folder), stub_spec("Upload", [("path", "str")]))], root=str(tmp_path))
    assert change.error is None
    compile(change.new, str(change.path), "exec")
    assert 'in we\\"ird\\\\N{x}/effects_handlers.py is not implemented' in change.new


def test_a_generated_module_that_would_not_compile_is_an_error_not_a_file(tmp_path, monkeypatch):
    from doeff_migrate.codemod import handler_stubs

    monkeypatch.setattr(handler_stubs, "render_module", lambda specs, shown: "def broken(:\n")
    need = handler_stubs.EffectNeed(str(tmp_path), handler_stubs.stub_spec("Upload", [("path", "str")]))
    (change,) = handler_stubs.plan_handler_modules([need], root=str(tmp_path))
    assert change.error is not None and "the generated module would not compile (invalid syntax, line 1)" in change.error
    assert change.old is None and change.new == ""


def test_imports_of_a_handler_module_no_import_statement_can_name_go_through_importlib():
    from tests.codemod.tools import check_transformed

    check_transformed(
        """\
        from doeff_migrate.runtime import do

        @do
        def load(path):
            with open(path) as f:
                return f.read()
        """,
        """\
        from doeff_migrate.runtime import do
        import importlib
        ReadText = importlib.import_module('my-app.effects_handlers').ReadText
        HANDLERS = importlib.import_module('my-app.effects_handlers').HANDLERS

        @do
        def load(path):
            return (yield ReadText(path))


        __doeff_handlers__ = HANDLERS
        """,
        path="my-app/io.py",
        phases=("io",),
    )


def test_an_aliased_import_of_such_a_handler_module_keeps_its_alias():
    from tests.codemod.tools import check_transformed

    check_transformed(
        """\
        from doeff_migrate.runtime import do

        HANDLERS = ["mine"]

        @do
        def load(path):
            with open(path) as f:
                return f.read()
        """,
        """\
        from doeff_migrate.runtime import do
        import importlib
        ReadText = importlib.import_module('01_app.effects_handlers').ReadText
        _dm_HANDLERS = importlib.import_module('01_app.effects_handlers').HANDLERS

        HANDLERS = ["mine"]

        @do
        def load(path):
            return (yield ReadText(path))


        __doeff_handlers__ = _dm_HANDLERS
        """,
        path="01_app/io.py",
        phases=("io",),
    )


def test_extending_a_handler_list_with_brackets_in_comments_and_multiline_imports_stays_valid():
    import ast

    from doeff_migrate.codemod.handler_stubs import extend_module, render_module, spec_for_metrics, spec_for_movable
    from doeff_migrate.codemod.side_effects import Catalogue

    movable = Catalogue.default().movable("numpy.load")
    text = render_module([spec_for_metrics("LogMetrics")])
    text = text.replace("    handle_log_metrics,\n", "    handle_log_metrics,  # wandb [metrics] only\n")
    text = text.replace("import wandb\n", "import wandb\nfrom os.path import (\n    join,\n    exists,\n)\n")
    ast.parse(text)
    extended = extend_module(text, [spec_for_metrics("LogSummary"), spec_for_movable(movable)])
    module = ast.parse(extended)  # no SyntaxError
    handlers = next(n.value for n in module.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "HANDLERS")
    assert [e.id for e in handlers.elts] == ["handle_log_metrics", "handle_log_summary", "handle_load_numpy_array"]
    assert "# wandb [metrics] only" in extended and "import numpy as np" in extended

"""Unit tests of ``doeff_migrate.lsp.analysis.check``: one block per diagnostic family."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.rules import get_rule
from doeff_migrate.codemod.rules.stubs import STUB_MARKER
from doeff_migrate.lsp.analysis import analyze, check
from doeff_migrate.lsp.config import Config, ConfigError, load_pyproject_config
from doeff_migrate.lsp.fixes import apply_fixes
from doeff_migrate.lsp.project import ProjectIndex

RUNTIME_IMPORTS = "from doeff_migrate.runtime import do, handler, Ask, EffectBase\n"


def run_check(src: str, config: Config | None = None, project: ProjectIndex | None = None, path: str = "/proj/mod.py"):
    return check(textwrap.dedent(src), path, config, project)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def apply(src: str, edits) -> str:
    """Apply non-overlapping edits (code-point columns) to ``src``, last first."""
    lines = src.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line: int, col: int) -> int:
        return offsets[min(line, len(lines))] + col

    out = src
    for edit in sorted(edits, key=lambda e: (e.range.start_line, e.range.start_col), reverse=True):
        start = offset(edit.range.start_line, edit.range.start_col)
        end = offset(edit.range.end_line, edit.range.end_col)
        out = out[:start] + edit.new_text + out[end:]
    return out


# -- remaining pinjected constructs ---------------------------------------------------------------------------


def test_remaining_pinjected_constructs_with_their_phase():
    findings = run_check(
        """
        from pinjected import injected, instance as inst, design, Injected, IProxy, injected_pytest

        @injected
        def train(model, /, steps):
            return steps

        @inst
        def model():
            return 1

        @injected_pytest
        def test_train(train):
            assert train(1) == 1

        __design__ = design(lr=0.1)
        pair = Injected.mzip(model, train)
        main: IProxy[int] = train(3)
        """
    )
    assert codes(findings) == ["DM150", "DM151", "DM155", "DM152", "DM153", "DM154"]
    by_code = {f.code: f for f in findings}
    # The analysis alone names the construct; what doeff-migrate does with it is its plan's (test_cli_decision).
    assert by_code["DM150"].message == "`@injected` function `train` is not migrated yet"
    assert by_code["DM150"].migrate_phase == "di" and by_code["DM150"].migrate_lines == (4, 6)
    assert by_code["DM150"].range.start_line == 3  # the decorator line, 0-based
    assert by_code["DM154"].migrate_lines == (18, 18)


def test_module_alias_of_pinjected_is_followed_and_unrelated_decorators_are_not():
    findings = run_check(
        """
        import pinjected as pj
        from mylib import instance

        @pj.injected
        def f(x, /):
            return x

        @instance
        def not_pinjected():
            return 1
        """
    )
    assert codes(findings) == ["DM150"]


def test_file_without_pinjected_reports_no_remaining_constructs():
    assert run_check("def design(**kw):\n    return kw\n\nx = design(a=1)\n") == []


# -- side effects ---------------------------------------------------------------------------------------------


def test_side_effects_in_do_function_through_import_aliases():
    findings = run_check(
        RUNTIME_IMPORTS
        + """
import wandb as W
import numpy as np
from ray import get as fetch_result
import ray, os, time, random, subprocess, requests
from torch import save as torch_save

@do
def step(loss, task_fn):
    W.log({"loss": loss})
    arr = np.load("x.npy")
    torch_save(arr, "ckpt.pt")
    out = fetch_result(task_fn.remote(1))
    with open("f.txt") as handle:
        text = handle.read()
    home = os.environ["HOME"]
    started = time.time()
    pick = random.choice([1, 2])
    subprocess.run(["ls"])
    requests.get("http://example.com")
    print(loss)
    return loss
"""
    )
    assert codes(findings) == [
        "DM301", "DM302", "DM302", "DM201", "DM201", "DM303", "DM306", "DM307", "DM308", "DM305", "DM304", "DM309",
    ]
    wandb = findings[0]
    assert "`wandb.log`" in wandb.message and "metrics" in wandb.message and "phase `io`" in wandb.message
    assert wandb.range.start_line == 10 and wandb.range.start_col == 4
    assert wandb.migrate_lines == (11, 11)
    assert findings[3].message.startswith("`ray.get`")
    assert "task_fn.remote" in findings[4].message


def test_side_effects_outside_do_functions_are_not_reported():
    src = "import wandb\n\ndef plain(m):\n    wandb.log(m)\n\nwandb.init()\nprint('x')\n"
    assert run_check(src) == []


def test_local_names_shadowing_catalogue_roots_are_not_side_effects():
    src = RUNTIME_IMPORTS + "\n@do\ndef f(time):\n    return time.time()\n"
    assert run_check(src) == []


def test_nested_plain_function_inside_do_is_not_effectful_code():
    src = RUNTIME_IMPORTS + "import wandb\n\n@do\ndef f():\n    def later():\n        wandb.log({})\n    return later\n"
    assert run_check(src) == []


def test_side_effect_through_plain_helpers_is_reported_at_the_call_site():
    findings = run_check(
        RUNTIME_IMPORTS
        + """
import wandb

def log_metrics(m):
    wandb.log(m)

def report(m):
    log_metrics(m)

def pure(x):
    return x + 1

@do
def step(loss):
    report({"loss": loss})
    return pure(loss)
"""
    )
    assert codes(findings) == ["DM311"]
    assert findings[0].range.start_line == 15
    assert "report -> log_metrics -> wandb.log" in findings[0].message


def test_extra_side_effects_from_pyproject(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.doeff-migrate]\nextra-side-effects = ["mylab.storage.upload", '
        '{ call = "mylab.llm.complete", category = "http", becomes = "yield Complete(prompt)" }]\n'
    )
    config = load_pyproject_config(pyproject)
    findings = run_check(
        RUNTIME_IMPORTS + "from mylab import storage, llm\n\n@do\ndef f(p):\n    storage.upload(p)\n    return llm.complete(p)\n",
        config,
    )
    assert codes(findings) == ["DM310", "DM304"]
    assert "yield Complete(prompt)" in findings[1].message


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('extra-side-effects = [{ category = "http" }]', "needs a string `call`"),
        ('extra-side-effects = [{ call = "a.b", category = "gpu" }]', "unknown category 'gpu'"),
        ('select = ["E501"]', "'E501' is not a rule code or prefix"),
        ("select = [", "cannot read [tool.doeff-migrate]"),
        ("selcet = []", "unknown key(s) in [tool.doeff-migrate]: selcet"),
    ],
)
def test_bad_pyproject_config_is_a_clear_error_and_file_is_untouched(tmp_path: Path, toml: str, message: str):
    pyproject = tmp_path / "pyproject.toml"
    text = f"[tool.doeff-migrate]\n{toml}\n"
    pyproject.write_text(text)
    with pytest.raises(ConfigError, match="pyproject.toml") as info:
        load_pyproject_config(pyproject)
    assert message in str(info.value)
    assert pyproject.read_text() == text


# -- effect-code mistakes --------------------------------------------------------------------------------------


def test_do_call_without_yield_and_its_fix():
    src = RUNTIME_IMPORTS + "\n@do\ndef save(x):\n    return x\n\n@do\ndef main():\n    save(1)\n    return 2\n\ndef plain():\n    save(2)\n"
    findings = run_check(src)
    assert codes(findings) == ["DM501", "DM501"]
    in_do, in_plain = findings
    assert in_do.fix is not None and not in_do.fix.safe
    assert in_plain.fix is None
    assert "    yield save(1)\n" in apply(src, in_do.fix.edits)


def test_do_call_without_yield_across_modules_uses_the_project_index(tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")  # modules are named as doeff-migrate's index names them
    helper = tmp_path / "pkg" / "helpers.py"
    helper.write_text(RUNTIME_IMPORTS + "\n@do\ndef save(x):\n    return x\n")
    project = ProjectIndex([tmp_path])
    project.scan(lambda path, source: analyze(source, path).facts)
    src = RUNTIME_IMPORTS + "from pkg.helpers import save\n\n@do\ndef main():\n    save(1)\n"
    assert codes(run_check(src, project=project, path=str(tmp_path / "pkg" / "main.py"))) == ["DM501"]
    assert codes(run_check(src, project=ProjectIndex(), path=str(tmp_path / "pkg" / "main.py"))) == []


def test_await_async_def_and_yield_from_in_do():
    src = RUNTIME_IMPORTS + (
        "\n@do\ndef sub():\n    return 1\n\n"
        "@do\ndef main(client):\n    page = await client.get('u')\n    x = yield from sub()\n    async with client:\n        pass\n    return page\n\n"
        "@do\nasync def bad():\n    return 1\n"
    )
    findings = run_check(src)
    assert codes(findings) == ["DM502", "DM504", "DM502", "DM503"]
    fixed = apply(src, apply_fixes(findings))
    assert "    page = (yield Await(client.get('u')))\n" in fixed
    assert "from doeff_migrate.runtime import Await\n" in fixed
    assert "    x = yield sub()\n" in fixed


def test_unbound_ask_key_uses_the_project(tmp_path: Path):
    (tmp_path / "__init__.py").write_text('__design__ = {"learning_rate": 0.1}\n')
    (tmp_path / "bindings.py").write_text(
        "from doeff_migrate.runtime import do, function_binding\n\n@function_binding\n@do\ndef model():\n    return 1\n"
    )
    project = ProjectIndex([tmp_path])
    project.scan(lambda path, source: analyze(source, path).facts)
    src = RUNTIME_IMPORTS + (
        "from doeff_migrate.runtime import Local\n\n@do\ndef train():\n"
        "    lr = yield Ask('learning_rate')\n    m = yield Ask('model')\n    b = yield Ask('batch')\n"
        "    s = yield Ask('learnig_rate')\n    return (yield Local({'batch': 2}, other()))\n"
    )
    findings = run_check(src, project=project, path=str(tmp_path / "train.py"))
    assert codes(findings) == ["DM505"]
    assert '"learnig_rate"' in findings[0].message
    # Without a project index the rule stays silent rather than guessing.
    assert run_check(src) == []


# -- stubs ------------------------------------------------------------------------------------------------------

STUB_SRC = RUNTIME_IMPORTS + f"""from dataclasses import dataclass

@dataclass(frozen=True)
class Upload(EffectBase[str]):
    path: str

@dataclass(frozen=True)
class Fetch(EffectBase[str]):
    url: str

@handler
def handle_upload(effect: Upload, k):
    {STUB_MARKER}
    raise NotImplementedError("write me")

@do
def publish(path):
    url = yield Upload(path)
    page = yield Fetch(url)
    return page
"""


def test_stub_handler_its_call_sites_and_effects_without_handler():
    findings = run_check(STUB_SRC)
    assert codes(findings) == ["DM601", "DM602", "DM603"]
    stub, via_stub, unhandled = findings
    assert "`handle_upload`" in stub.message and "`Upload`" in stub.message
    assert "handle_upload" in via_stub.message
    assert unhandled.fix is not None
    fixed = apply(STUB_SRC, unhandled.fix.edits)
    assert "def handle_fetch(effect: Fetch, k):\n    # doeff-migrate: stub\n    raise NotImplementedError(" in fixed
    # The generated stub is itself recognised as a stub, and Fetch now reaches it.
    assert codes(run_check(fixed)) == ["DM601", "DM602", "DM602", "DM601"]


def test_handler_without_marker_is_not_a_stub():
    src = STUB_SRC.replace(STUB_MARKER, "# implemented later")
    assert codes(run_check(src)) == ["DM603"]


def test_stub_in_another_file_of_the_project(tmp_path: Path):
    (tmp_path / "effects_handlers.py").write_text(STUB_SRC.split("@do")[0].replace("class Fetch", "class Other"))
    project = ProjectIndex([tmp_path])
    project.scan(lambda path, source: analyze(source, path).facts)
    src = RUNTIME_IMPORTS + "from effects_handlers import Upload\n\n@do\ndef publish(p):\n    return (yield Upload(p))\n"
    findings = run_check(src, project=project, path=str(tmp_path / "use.py"))
    assert codes(findings) == ["DM602"]
    assert "effects_handlers.py" in findings[0].message


# -- noqa, select/ignore, flag comments, syntax errors -------------------------------------------------------------


def test_noqa_and_select_ignore():
    src = RUNTIME_IMPORTS + (
        "import wandb\n\n@do\ndef f():\n    wandb.log({})  # noqa: DM301\n    print(1)  # noqa\n"
        "    # noqa: DM307\n    import time; time.sleep(1)\n    wandb.finish()\n    print(2)\n"
    )
    assert codes(run_check(src)) == ["DM301", "DM309"]
    assert codes(run_check(src, Config(ignore=("DM3",)))) == []
    assert codes(run_check(src, Config(select=("DM309",)))) == ["DM309"]
    assert codes(run_check(src, Config(select=("DM301",), ignore=("DM3",)))) == []  # ignore wins, as in the CLI


def test_selection_matches_the_cli_rule():
    assert Config().is_selected("DM301")
    assert not Config(select=("DM5",)).is_selected("DM301")
    assert not Config(select=("DM3",), ignore=("DM309",)).is_selected("DM309")
    assert Config(select=("DM3",), ignore=("DM309",)).is_selected("DM301")


def test_per_file_ignores(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.doeff-migrate]\nper-file-ignores = { "tests/*" = ["DM309"] }\n')
    config = load_pyproject_config(pyproject)
    src = RUNTIME_IMPORTS + "\n@do\ndef f():\n    print(1)\n"
    assert codes(run_check(src, config.for_path(tmp_path / "tests" / "test_x.py"))) == []
    assert codes(run_check(src, config.for_path(tmp_path / "src" / "x.py"))) == ["DM309"]


def test_flag_comments_left_by_the_codemod_are_diagnostics():
    src = "# doeff-migrate: DM001: could not parse the original\nx = 1\n# doeff-migrate: DM999: unknown code\n"
    findings = run_check(src)
    assert codes(findings) == ["DM001"]
    assert findings[0].message == "could not parse the original"


def test_syntax_error_is_one_finding():
    findings = run_check("def broken(:\n    pass\n")
    assert codes(findings) == ["DM001"]
    assert "Syntax error" in findings[0].message and findings[0].range.start_line == 0


def test_non_ascii_columns_are_code_points():
    src = RUNTIME_IMPORTS + "import wandb\n\n@do\ndef f():\n    s = 'héllo'; wandb.log({})\n"
    (finding,) = run_check(src)
    line = src.splitlines()[finding.range.start_line]
    assert line[finding.range.start_col :].startswith("wandb.log")


def test_every_reported_code_has_rule_docs():
    for code in ["DM150", "DM201", "DM301", "DM311", "DM501", "DM505", "DM601", "DM603"]:
        markdown = get_rule(code).markdown()
        assert "### What it does" in markdown and "### Why is this bad?" in markdown


def test_check_never_raises_on_real_code():
    """Every module of a few stdlib packages and of this project: findings, never an exception."""
    import asyncio
    import email
    import json

    import doeff_migrate

    roots = [Path(m.__file__).parent for m in (asyncio, email, json)]
    roots += [Path(doeff_migrate.__file__).parent.parent / part for part in ("codemod", "runtime", "lsp")]
    checked = 0
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            findings = check(path.read_text(encoding="utf-8"), str(path), Config(), ProjectIndex())
            assert all(f.code.startswith("DM") for f in findings)
            checked += 1
    assert checked > 80


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"debounceMs": 500}, "'debounceMs' must be an integer in 0..150, got 500"),
        ({"select": "E501"}, "'E501' is not a rule code or prefix"),
        ({"enable": "yes"}, "'enable' must be true or false, got 'yes'"),
    ],
)
def test_bad_client_settings_are_clear_errors(settings, message):
    with pytest.raises(ConfigError) as info:
        Config().with_client_settings(settings)
    assert message in str(info.value)


def test_client_settings_win_over_pyproject_and_accept_nesting():
    base = Config(ignore=("DM3",))
    merged = base.with_client_settings({"doeff-migrate": {"ignore": ["DM5"], "debounceMs": 0}})
    assert merged.ignore == ("DM5",) and merged.debounce_ms == 0
    assert base.with_client_settings({"settings": {"enable": False}}).enable is False
    assert base.with_client_settings({}) is base


def test_untyped_handlers_that_dispatch_in_their_body_handle_those_effects():
    src = STUB_SRC.replace("@do\ndef publish", """@handler
def by_isinstance(effect, k):
    if isinstance(effect, (Fetch,)):
        return (yield Resume(k, "page"))
    yield Pass(effect, k)

@handler
def by_match(effect: EffectBase, k):
    match effect:
        case Upload(path=p):
            return (yield Resume(k, p))
    yield Pass(effect, k)

@do
def publish""")
    # Fetch is handled by `by_isinstance`; Upload has a real handler besides the stub.
    assert codes(run_check(src)) == ["DM601"]

"""The ``io`` phase, second part: whole-file ``open`` blocks, pickle, mlflow, API clients (stubs), h5py/lmdb,
the configurable catalogue (``extra-side-effects``) and the text pre-filters that decide which files are parsed."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.config import ConfigError, load_settings
from doeff_migrate.codemod.side_effects import Catalogue, CatalogueError
from doeff_migrate.codemod.transforms import all_transforms, any_wants

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")

DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def specs(result):
    return {need.spec.effect: need.spec for need in result.effects if need.spec is not None}


# -- whole-file open blocks ----------------------------------------------------------------------------------


def test_whole_file_text_and_bytes_reads_and_writes_become_effects():
    result = check_transformed(
        DO + """
@do
def f(p, q, data):
    with open(p, encoding="utf-8") as fh:
        text = fh.read()
    with open(q, "wb") as fh:
        fh.write(data)
    with open(p, mode="rb") as fh:
        return fh.read()
""",
        (DO + "from pkg.effects_handlers import HANDLERS, ReadBytes, ReadText, WriteBytes\n" + """
@do
def f(p, q, data):
    text = yield ReadText(p, options={"encoding": "utf-8"})
    yield WriteBytes(q, data)
    return (yield ReadBytes(p))
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == []
    found = specs(result)
    assert set(found) == {"ReadText", "WriteBytes", "ReadBytes"}
    assert not any(s.is_stub for s in found.values())
    assert found["ReadText"].helpers[0].startswith("def _read_text(path, options):\n    with open(path, \"r\", **options)")


def test_json_and_pickle_through_a_whole_file_open_become_effects():
    result = check_transformed(
        "import json\nimport pickle\n" + DO + """
@do
def f(p, obj):
    with open(p) as src:
        cfg = json.load(src)
    with open(p + ".json", "w") as dst:
        json.dump(obj, dst, indent=2)
    with open(p + ".pkl", "wb") as dst:
        pickle.dump(obj, dst)
    with open(p + ".pkl", "rb") as src:
        back = pickle.load(src)
    return cfg, back
""",
        ("import json\nimport pickle\n" + DO + "from pkg.effects_handlers import HANDLERS, ReadJson, ReadPickle, WriteJson, WritePickle\n" + """
@do
def f(p, obj):
    cfg = yield ReadJson(p)
    yield WriteJson(p + ".json", obj, dump_options={"indent": 2})
    yield WritePickle(p + ".pkl", obj)
    back = yield ReadPickle(p + ".pkl")
    return cfg, back
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == []


def test_open_blocks_of_other_shapes_are_flagged_never_guessed():
    # the handle used after the block, appended to, read line by line, or passed elsewhere: all stay
    for body in (
        "    with open(p) as fh:\n        text = fh.read()\n    return fh.name\n",
        "    with open(p, 'a') as fh:\n        fh.write(p)\n",
        "    with open(p) as fh:\n        first = fh.readline()\n        rest = fh.read()\n",
        "    with open(p) as fh:\n        return fh.read(10)\n",
        "    with open(p, 'w') as fh:\n        fh.write(fh.name)\n",
        "    with open(p) as fh:\n        data = pickle.load(fh)\n",  # text mode for pickle
        "    with open(p, buffering=1) as fh:\n        return fh.read()\n",
    ):
        result = tools.migrate_source(
            "import pickle\n" + DO + "\n@do\ndef f(p):\n" + body, path="pkg/mod.py", phases=("io",)
        )
        assert "DM303" in codes(result), body
        assert "with open(" in result.code, body
        assert not any(e in result.code for e in ("ReadText", "WriteText", "ReadPickle")), body


def test_a_shadowed_open_is_not_the_builtin():
    check_noop(DO + "from myio import open\n\n@do\ndef f(p):\n    with open(p) as fh:\n        return fh.read()\n")


# -- mlflow ----------------------------------------------------------------------------------------------------


def test_mlflow_logging_becomes_declared_effects_with_complete_handlers():
    result = check_transformed(
        "import mlflow as mf\nfrom mlflow import log_metric\n" + DO + """
@do
def step(loss, i):
    mf.log_metric("loss", loss, step=i)
    log_metric("acc", 1.0)
    mf.log_params({"lr": 0.1})
    mf.set_tag("stage", "train")
""",
        ("import mlflow as mf\nfrom mlflow import log_metric\n" + DO
        + "from pkg.effects_handlers import HANDLERS, MlflowLogMetric, MlflowLogParams, MlflowSetTag\n" + """
@do
def step(loss, i):
    yield MlflowLogMetric("loss", loss, options={"step": i})
    yield MlflowLogMetric("acc", 1.0)
    yield MlflowLogParams({"lr": 0.1})
    yield MlflowSetTag("stage", "train")
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    handler = specs(result)["MlflowLogMetric"]
    assert not handler.is_stub and "value = mlflow.log_metric(effect.key, effect.value, **effect.options)" in handler.body[1]


def test_mlflow_calls_without_an_effect_form_are_flagged():
    result = check_transformed(
        "import mlflow\n" + DO + "\n@do\ndef f(x):\n    mlflow.start_run()\n    mlflow.log_metric('a', x, 3)\n",
        "import mlflow\n" + DO + "\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM301: `mlflow.start_run(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    mlflow.start_run()\n"
        "    # doeff-migrate: DM314: `mlflow.log_metric(...)` left as it is: the codemod moves it only with exactly 2 positional argument(s) (key, value) and plain keywords\n"
        "    mlflow.log_metric('a', x, 3)\n",
    )
    assert codes(result) == ["DM301", "DM314"]


# -- API clients: stubs ----------------------------------------------------------------------------------------


def test_calls_through_a_module_level_client_become_effects_naming_the_client_with_a_complete_handler():
    result = check_transformed(
        "from openai import OpenAI\n" + DO + """
client = OpenAI()


@do
def ask(q):
    r = client.chat.completions.create(model="m", messages=[q])
    return r
""",
        ("from openai import OpenAI\n" + DO + "from pkg.effects_handlers import HANDLERS, OpenaiChatCompletionsCreate\n" + """
client = OpenAI()


@do
def ask(q):
    r = yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={"model": "m", "messages": [q]})
    return r
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py",
    )
    # Complete (review F28): the same call on the client the effect names, which a user handler can also tell apart.
    spec = specs(result)["OpenaiChatCompletionsCreate"]
    assert not spec.is_stub and [f[0] for f in spec.fields] == ["client", "args", "kwargs"]
    assert "value = _client(effect.client).chat.completions.create(*effect.args, **effect.kwargs)" in spec.body


def test_function_of_the_client_library_itself_is_moved_with_a_complete_handler():
    result = check_transformed(
        "import anthropic as an\n" + DO + "\n@do\ndef f(x):\n    return an.complete(x, model='m')\n",
        ("import anthropic as an\n" + DO + "from pkg.effects_handlers import AnthropicComplete, HANDLERS\n"
        "\n@do\ndef f(x):\n    return (yield AnthropicComplete(args=(x,), kwargs={\"model\": 'm'}))\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert not specs(result)["AnthropicComplete"].is_stub


def test_client_calls_through_unknown_objects_are_flagged_never_rewritten_dm317():
    result = check_transformed(
        "import openai\n" + DO + """
@do
def ask(client, q):
    local = openai.OpenAI()
    a = client.chat.completions.create(messages=[q])
    b = local.messages.create(messages=[q])
    return a, b
""",
        "import openai\n" + DO + """
@do
def ask(client, q):
    local = openai.OpenAI()
    # doeff-migrate: DM317: `client.chat.completions.create(...)` left as it is: `client` is not a client built at module level from an imported library
    a = client.chat.completions.create(messages=[q])
    # doeff-migrate: DM317: `local.messages.create(...)` left as it is: `local` is not a client built at module level from an imported library
    b = local.messages.create(messages=[q])
    return a, b
""",
    )
    assert codes(result) == ["DM317", "DM317"]


def test_a_client_name_bound_twice_or_shadowed_is_not_the_client():
    check_noop(
        "import openai\n" + DO + "\nclient = openai.OpenAI()\nclient = make_other()\n"
        "\n@do\ndef ask(q):\n    return client.complete(q)\n"
    )
    check_noop("import openai\n" + DO + "\nclient = openai.OpenAI()\n\n@do\ndef ask(client, q):\n    return client.complete(q)\n")


def test_h5py_and_lmdb_handles_are_flagged_dm316():
    result = check_transformed(
        "import h5py\nimport lmdb\n" + DO + "\n@do\ndef f(p):\n    env = lmdb.open(p)\n    return env\n",
        "import h5py\nimport lmdb\n" + DO + "\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM316: `lmdb.open(...)` left as it is: the handle it opens is read and written by the code after it\n"
        "    env = lmdb.open(p)\n    return env\n",
    )
    assert codes(result) == ["DM316"]


# -- the catalogue is data, extensible in [tool.doeff-migrate] ------------------------------------------------

EXTENDED = """\
[tool.doeff-migrate]
extra-side-effects = [
    { call = "labstore.upload", effect = "Upload", params = ["path"], handler = "stub" },
    { call = "labstore.tag", effect = "Tag" },
    { call = "labllm.*", category = "llm" },
    "labstore.delete",
]
"""


def test_extra_side_effects_are_moved_stubbed_or_flagged_end_to_end(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(EXTENDED)
    package = tmp_path / "proj"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "publish.py").write_text(
        "import labllm\nimport labstore as ls\n" + DO + "\nbot = labllm.Bot()\n\n\n@do\ndef publish(p):\n"
        "    url = ls.upload(p)\n    ls.tag(url, color='red')\n    ls.delete(p)\n    return bot.say(url)\n"
    )
    assert doeff_migrate([str(package), "--phase", "io", "-q", "--allow-dirty"]) == 0
    migrated = (package / "publish.py").read_text()
    assert "    url = yield Upload(p)\n" in migrated
    assert "    yield Tag(args=(url,), kwargs={\"color\": 'red'})\n" in migrated
    assert "# doeff-migrate: DM310:" in migrated and "    ls.delete(p)\n" in migrated  # configured, no effect: flagged
    assert "    return (yield LabllmSay(client=\"proj.publish.bot\", args=(url,)))\n" in migrated
    handlers = (package / "effects_handlers.py").read_text()
    assert "def handle_upload(effect: Upload, k):\n    # doeff-migrate: stub\n" in handlers
    assert "value = labstore.tag(*effect.args, **effect.kwargs)" in handlers
    assert "value = _client(effect.client).say(*effect.args, **effect.kwargs)" in handlers  # complete (review F28)
    compile(handlers, "effects_handlers.py", "exec")
    assert doeff_migrate([str(package), "--phase", "io", "--check", "-q"]) == 0


def test_a_project_without_the_extension_leaves_the_same_calls_alone(tmp_path: Path):
    package = tmp_path / "proj"
    package.mkdir()
    source = "import labstore as ls\n" + DO + "\n\n@do\ndef publish(p):\n    return ls.upload(p)\n"
    (package / "publish.py").write_text(source)
    assert doeff_migrate([str(package), "--phase", "io", "-q", "--allow-dirty"]) == 0
    assert (package / "publish.py").read_text() == source


@pytest.mark.parametrize(
    "entry, words",
    [
        ('{ call = "a.b", effect = "not a name" }', "must be a class name"),
        ('{ call = "a.*", effect = "A" }', "must be a class name"),
        ('{ call = "a.b", effect = "A", handler = "maybe" }', "must be 'call' or 'stub'"),
        ('{ call = "a.b", effect = "A", params = ["options"] }', "list of field names"),
        ('{ call = "a.b", efect = "A" }', "unknown key(s) efect"),
        ('{ call = "a.b", category = "nope" }', "unknown category"),
    ],
)
def test_malformed_extensions_are_configuration_errors(tmp_path: Path, entry: str, words: str):
    (tmp_path / "pyproject.toml").write_text(f"[tool.doeff-migrate]\nextra-side-effects = [{entry}]\n")
    with pytest.raises(ConfigError, match=None) as info:
        load_settings(tmp_path)
    assert words in str(info.value)
    (tmp_path / "x.py").write_text("x = 1\n")
    assert doeff_migrate([str(tmp_path / "x.py"), "-q"]) == 2


def test_catalogue_movable_prefers_configured_entries():
    catalogue = Catalogue.default([{"call": "torch.load", "effect": "MyLoad", "params": ["p"], "handler": "stub"}])
    movable = catalogue.movable("torch.load")
    assert (movable.effect, movable.params, movable.stub) == ("MyLoad", ("p",), True)
    assert Catalogue.default().movable("torch.load").effect == "LoadTorchCheckpoint"
    with pytest.raises(CatalogueError):
        Catalogue.default([{"call": "x.y", "effect": 3}])


# -- pre-filters: which files get parsed at all ---------------------------------------------------------------


def _wanted(phase: str, text: str, path: str | None = None) -> bool:
    return any_wants((phase,), text, path) and any_wants((phase,), text.encode(), path)


@pytest.mark.parametrize(
    "phase, text",
    [
        ("compute", "import ray\nfrom doeff_migrate.runtime import do\n"),
        ("compute", "import os, ray as r\nfrom doeff import do\n"),
        ("compute", "from ray import get\nfrom pinjected import injected\n"),
        ("compute", "import numpy as np, \\\n    ray\nimport doeff\n"),
        ("compute", "from concurrent import futures\nfrom doeff import do\n"),
        ("compute", "import asyncio as aio\nfrom doeff import do\n"),
        ("compute", "import asyncio\nfrom doeff import do\n\ndef f():\n    asyncio.run(g())\n"),
        ("io", "import wandb as W\nfrom doeff import do\n"),
        ("io", "from mlflow import log_metric\nfrom doeff import do\n"),
        ("io", "from doeff import do\n\ndef f(p):\n    return open(p).read()\n"),
        ("io", "from doeff import do\n\ndef f(k):\n    return self._embed_cache.get(k)\n"),
        ("io", "from doeff import Program\nfrom .train import fit\n"),
        ("io", "    import torch\nfrom pinjected import injected\n"),
        ("recording", "from doeff_migrate.runtime import run as go\n"),
        ("recording", "import doeff_migrate.runtime as rt\nrt.with_handlers([], p)\n"),
    ],
)
def test_prefilters_match_every_file_the_transform_may_change(phase: str, text: str):
    assert _wanted(phase, text)


@pytest.mark.parametrize(
    "phase, text",
    [
        ("compute", "import numpy as np\nx = np.array([1])\nfrom doeff import do\n"),  # "ray" inside "array"
        ("compute", "import asyncio\nfrom doeff import do\n\nasync def f():\n    await asyncio.sleep(0)\n"),
        ("compute", "import ray\n\ndef f():\n    return ray.get(x)\n"),  # no effectful code
        ("io", "import math\nfrom doeff import do\n\ndef f(x):\n    return x.reopen()\n"),
        ("io", "import wandb\n\ndef f():\n    wandb.log({})\n"),  # no effectful code
        ("io", "from doeff_migrate.runtime import do, Ask\nfrom doeff.effects import Tell\n"),
        ("recording", "from doeff_migrate.runtime import do\n\n@do\ndef f():\n    return 1\n"),
    ],
)
def test_prefilters_skip_files_the_transform_cannot_change(phase: str, text: str):
    assert not _wanted(phase, text)
    # and the transforms indeed leave them alone
    assert tools.migrate_source(text, path="pkg/mod.py", phases=(phase,)).code == text


def test_configured_libraries_widen_the_io_prefilter_of_their_project_only(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(EXTENDED)
    (tmp_path / "proj").mkdir()
    text = "import labstore\nfrom doeff import do\n"
    assert _wanted("io", text, str(tmp_path / "proj" / "m.py"))
    assert not _wanted("io", text, "/elsewhere/m.py")
    assert {t.name for t in all_transforms() if t.extra_prefilter is not None} == {"io_effects"}


def test_the_language_server_reports_llm_calls_dm315_from_the_same_catalogue():
    from doeff_migrate.lsp.analysis import check

    source = "import anthropic\n" + DO + "\n@do\ndef ask(q):\n    return anthropic.complete(q)\n"
    assert [f.code for f in check(source, "/proj/mod.py", None, None)] == ["DM315"]
    # and the io phase moves it (a function of the library itself: complete handler)
    assert "yield AnthropicComplete(args=(q,))" in tools.migrate_source(source, path="pkg/mod.py", phases=("io",)).code


# -- functools caches on @do functions: left as they are (they cache programs, not results) -------------------


def test_cache_on_a_do_function_is_left_and_flagged_dm312():
    # Review F25: the cache hands out one program whose body runs at every `yield`; CacheGet/CachePut would not.
    for decorators, signature in (
        ("@lru_cache()\n@do", "f(x)"),
        ("@cache\n@do", "f(x)"),
        ("@lru_cache(typed=True)\n@do", "f(x)"),
        ("@do\n@lru_cache", "f(x)"),
        ("@lru_cache\n@do", "f(*xs)"),
    ):
        source = "from functools import cache, lru_cache\n" + DO + f"\n{decorators}\ndef {signature}:\n    return 1\n"
        result = tools.migrate_source(source, path="pkg/mod.py", phases=("io",))
        assert codes(result) == ["DM312"], (decorators, signature)
        assert "CacheGet" not in result.code and decorators in result.code



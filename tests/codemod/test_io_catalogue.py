"""The side-effect catalogue per project (``extra-side-effects``) and the io phase's pre-filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.config import ConfigError, load_settings
from doeff_migrate.codemod.side_effects import Catalogue, CatalogueError
from doeff_migrate.codemod.transforms import all_transforms, any_wants

from . import tools

DO = "from doeff_migrate.runtime import do\n"
EXTENDED = """\
[tool.doeff-migrate]
extra-side-effects = [
    { call = "labstore.upload", effect = "Upload", params = ["path"], handler = "stub" },
    { call = "labstore.tag", effect = "Tag" },
    { call = "labllm.*", category = "llm" },
    "labstore.delete",
]
"""


def _wanted(phase: str, text: str, path: str | None = None) -> bool:
    return any_wants((phase,), text, path) and any_wants((phase,), text.encode(), path)


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
    assert "value = _client(effect.client).say(*effect.args, **effect.kwargs)" in handlers  # complete
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

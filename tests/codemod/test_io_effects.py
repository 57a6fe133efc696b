"""The ``io`` phase: wandb -> metrics effects, movable IO calls -> declared effects, the rest flagged (DM3xx)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")

DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def effects(result) -> list[str]:
    return [need.spec.effect for need in result.effects if need.spec is not None]


# -- rewrites -------------------------------------------------------------------------------------------------


def test_wandb_log_config_and_summary_become_metrics_effects():
    result = check_transformed(
        "import wandb\n" + DO + """
@do
def step(loss, i):
    wandb.log({"loss": loss}, step=i)
    wandb.log({"acc": 1.0}, i, False)
    wandb.config.update({"lr": 0.1})
    wandb.summary.update({"best": loss})
    wandb.run.summary.update({"last": loss})
    return loss
""",
        "import wandb\n" + DO + "from doeff_migrate.runtime.metrics import LogConfig, LogMetrics, LogSummary\n"
        "from pkg.effects_handlers import HANDLERS\n" + """
@do
def step(loss, i):
    yield LogMetrics({"loss": loss}, step=i)
    yield LogMetrics({"acc": 1.0}, step=i, commit=False)
    yield LogConfig({"lr": 0.1})
    yield LogSummary({"best": loss})
    yield LogSummary({"last": loss})
    return loss


__doeff_handlers__ = HANDLERS
""",
    )
    assert codes(result) == []
    assert effects(result) == ["LogMetrics", "LogConfig", "LogSummary"]


def test_aliased_and_from_imports_of_wandb_are_resolved():
    check_transformed(
        "import wandb as W\nfrom wandb import log as wlog\n" + DO + """
@do
def step(loss):
    W.log({"a": loss})
    wlog(data={"b": loss})
""",
        "import wandb as W\nfrom wandb import log as wlog\n" + DO + "from doeff_migrate.runtime.metrics import LogMetrics\n"
        "from pkg.effects_handlers import HANDLERS\n" + """
@do
def step(loss):
    yield LogMetrics({"a": loss})
    yield LogMetrics({"b": loss})


__doeff_handlers__ = HANDLERS
""",
    )


def test_checkpoint_calls_become_declared_effects_with_keywords_as_options():
    result = check_transformed(
        "import numpy as np\nimport torch\n" + DO + """
@do
def evaluate(path, out):
    model = torch.load(path, map_location="cpu")
    arr = np.load(path)
    np.save(out, arr)
    return model
""",
        ("import numpy as np\nimport torch\n" + DO + "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, LoadTorchCheckpoint, SaveNumpyArray\n" + """
@do
def evaluate(path, out):
    model = yield LoadTorchCheckpoint(path, options={"map_location": "cpu"})
    arr = yield LoadNumpyArray(path)
    yield SaveNumpyArray(out, arr)
    return model
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert effects(result) == ["LoadTorchCheckpoint", "LoadNumpyArray", "SaveNumpyArray"]
    assert {need.directory.replace("\\", "/").rsplit("/", 1)[-1] for need in result.effects} == {"pkg"}


def test_http_call_becomes_a_declared_effect():
    check_transformed(
        "import requests\n" + DO + "\n@do\ndef fetch(url):\n    return requests.get(url, timeout=5).json()\n",
        ("import requests\n" + DO + "from pkg.effects_handlers import HANDLERS, RequestsGet\n"
        "\n@do\ndef fetch(url):\n    return (yield RequestsGet(url, options={\"timeout\": 5})).json()\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )


def test_entry_points_get_the_package_handlers_and_scripts_install_them():
    result = check_transformed(
        "import numpy as np\n" + DO.replace("do\n", "Program, do, run\n") + """
@do
def load(path):
    return np.load(path)

main: Program = load("a.npy")

if __name__ == "__main__":
    print(run(load("a.npy")))
""",
        "import numpy as np\n" + DO.replace("do\n", "Program, do, run\n")
        + "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, with_effect_handlers\n" + """
@do
def load(path):
    return (yield LoadNumpyArray(path))

main: Program = load("a.npy")

__doeff_handlers__ = HANDLERS

if __name__ == "__main__":
    print(run(with_effect_handlers(load("a.npy"))))
""",
    )
    assert any(need.spec is None for need in result.effects)  # the module itself is needed for HANDLERS


def test_existing_doeff_handlers_are_left_alone():
    check_transformed(
        "import numpy as np\n" + DO + "\n@do\ndef load(path):\n    return np.load(path)\n\nmain = load('a')\n__doeff_handlers__ = []\n",
        "import numpy as np\n" + DO + "from pkg.effects_handlers import LoadNumpyArray\n"
        "\n@do\ndef load(path):\n    return (yield LoadNumpyArray(path))\n\nmain = load('a')\n__doeff_handlers__ = []\n",
    )


# -- no-ops ---------------------------------------------------------------------------------------------------


def test_io_in_plain_functions_is_not_touched():
    check_noop("import numpy as np\nimport wandb\n\ndef load(path):\n    wandb.log({})\n    return np.load(path)\n")


def test_file_without_io_words_is_not_touched():
    check_noop(DO + "\n@do\ndef f(x):\n    return x\n")


def test_shadowed_library_name_is_not_the_library():
    check_noop("import numpy as np\n" + DO + "\n@do\ndef f(np, path):\n    return np.load(path)\n")


def test_do_of_another_library_is_not_effectful_code():
    check_noop("import numpy as np\nfrom mylib import do\n\n@do\ndef f(path):\n    return np.load(path)\n")


def test_non_io_numpy_calls_are_not_touched():
    check_noop("import numpy as np\n" + DO + "\n@do\ndef f(n):\n    return np.zeros(n).sum()\n")


def test_already_migrated_code_is_unchanged():
    check_noop(
        "import wandb\n" + DO + "from doeff_migrate.runtime.metrics import LogMetrics\n"
        "\n@do\ndef step(loss):\n    yield LogMetrics({\"loss\": loss})\n"
    )


def test_unimported_name_that_looks_like_a_library_is_not_touched():
    check_noop(DO + "\n@do\ndef f(path):\n    return torch.load(path)\n")


# -- flagged ------------------------------------------------------------------------------------------------


def test_wandb_init_and_finish_stay_and_are_flagged_dm301():
    result = check_transformed(
        "import wandb\n" + DO + "\n@do\ndef f():\n    wandb.init(project='x')\n    wandb.log({'a': 1}, sync=True)\n",
        "import wandb\n" + DO + "\n@do\ndef f():\n"
        "    # doeff-migrate: DM301: `wandb.init(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    wandb.init(project='x')\n"
        "    # doeff-migrate: DM301: `wandb.log(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    wandb.log({'a': 1}, sync=True)\n",
    )
    assert codes(result) == ["DM301", "DM301"]


def test_open_other_than_a_whole_file_read_or_write_is_flagged_dm303():
    result = check_transformed(
        DO + "\n@do\ndef f(p):\n    with open(p) as fh:\n        return fh.readline()\n",
        DO + "\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM303: `open(...)` left as it is: only whole-file `with open(...)` reads and writes are moved\n"
        "    with open(p) as fh:\n        return fh.readline()\n",
    )
    assert codes(result) == ["DM303"]


def test_pickle_load_of_a_file_object_moves_and_h5py_is_flagged_dm316():
    result = check_transformed(
        "import pickle\nimport h5py\n" + DO + "\n@do\ndef f(fh, p):\n    x = pickle.load(fh)\n    d = h5py.File(p)\n    return x, d\n",
        ("import pickle\nimport h5py\n" + DO + "from pkg.effects_handlers import HANDLERS, LoadPickle\n\n@do\ndef f(fh, p):\n"
        "    x = yield LoadPickle(fh)\n"
        "    # doeff-migrate: DM316: `h5py.File(...)` left as it is: the handle it opens is read and written by the code after it\n"
        "    d = h5py.File(p)\n    return x, d\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == ["DM316"]
    assert effects(result) == ["LoadPickle"]


def test_movable_call_with_another_shape_is_flagged_dm314():
    result = check_transformed(
        "import torch\n" + DO + "\n@do\ndef f(args):\n    return torch.load(*args)\n",
        "import torch\n" + DO + "\n@do\ndef f(args):\n"
        "    # doeff-migrate: DM314: `torch.load(...)` left as it is: the codemod moves it only with exactly 1 positional argument(s) (path) and plain keywords\n"
        "    return torch.load(*args)\n",
    )
    assert codes(result) == ["DM314"]


def test_movable_call_in_a_comprehension_is_flagged_dm314():
    result = check_transformed(
        "import numpy as np\n" + DO + "\n@do\ndef f(ps):\n    return [np.load(p) for p in ps]\n",
        "import numpy as np\n" + DO + "\n@do\ndef f(ps):\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` inside a comprehension or lambda, where `yield` cannot go\n"
        "    return [np.load(p) for p in ps]\n",
    )
    assert codes(result) == ["DM314"]
    assert result.effects == []


def test_lru_cache_on_a_do_function_is_flagged_dm312():
    result = check_transformed(
        "from functools import lru_cache\n" + DO + "\n@lru_cache(maxsize=None, typed=True)\n@do\ndef f(x):\n    return x\n",
        "from functools import lru_cache\n" + DO
        + "\n# doeff-migrate: DM312: functools cache on a @do function caches the program object, not its result\n"
        "@lru_cache(maxsize=None, typed=True)\n@do\ndef f(x):\n    return x\n",
    )
    assert codes(result) == ["DM312"]


def test_explicit_cache_call_is_flagged_dm313():
    result = check_transformed(
        DO + "\n@do\ndef f(embed_cache, text):\n    hit = embed_cache.get(text)\n    return hit\n",
        DO + "\n@do\ndef f(embed_cache, text):\n"
        "    # doeff-migrate: DM313: cache.get/cache.set on a cache object in effectful code\n"
        "    hit = embed_cache.get(text)\n    return hit\n",
    )
    assert codes(result) == ["DM313"]


def test_noqa_suppresses_an_io_flag():
    check_noop("import wandb\n" + DO + "\n@do\ndef f():\n    wandb.init()  # noqa: DM301\n")


# -- phases are independent ---------------------------------------------------------------------------------


def test_io_leaves_ray_to_the_compute_phase_and_compute_leaves_io_alone():
    source = "import numpy as np\nimport ray\n" + DO + "\n@do\ndef f(p, refs):\n    a = np.load(p)\n    return a, ray.get(refs)\n"
    check_transformed(
        source,
        ("import numpy as np\nimport ray\n" + DO + "from pkg.effects_handlers import HANDLERS, LoadNumpyArray\n"
        "\n@do\ndef f(p, refs):\n    a = yield LoadNumpyArray(p)\n    return a, ray.get(refs)\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    compute_only = tools.check_transformed(
        source,
        "import numpy as np\nimport ray\n" + DO + "\n@do\ndef f(p, refs):\n    a = np.load(p)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return a, ray.get(refs)\n",
        phases=("compute",),
    )
    assert [f.code for f in compute_only.flags] == ["DM205"]


def test_all_three_phases_at_once_on_unmigrated_effectful_code():
    result = tools.check_transformed(
        "import numpy as np\nimport ray\nimport wandb\n" + DO.replace("do\n", "do, run\n") + """
def sq(x):
    return x * x

@do
def f(p):
    w = np.load(p)
    t = ray.remote(sq).remote(w)
    wandb.log({"w": 1})
    return ray.get(t)

if __name__ == "__main__":
    run(f("a.npy"))
""",
        "import numpy as np\nimport ray\nimport wandb\n"
        "from doeff_migrate.runtime import Spawn, Wait, do, run, with_handlers\n"
        "from doeff_migrate.runtime.metrics import LogMetrics\n"
        "from doeff_migrate.runtime.ray_backend import ray_task\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, recording_handlers, with_effect_handlers\n" + """
def sq(x):
    return x * x

@do
def f(p):
    w = yield LoadNumpyArray(p)
    t = yield Spawn(ray_task(sq)(w))
    yield LogMetrics({"w": 1})
    return (yield Wait(t))

__doeff_handlers__ = HANDLERS

if __name__ == "__main__":
    run(with_effect_handlers(with_handlers([*recording_handlers()], f("a.npy"))))
""",
        path="pkg/mod.py",
        phases=("compute", "io", "recording"),
    )
    assert result.flags == []


def test_unresolvable_star_import_is_left_alone():
    check_noop("from numpy import *\n" + DO + "\n@do\ndef f(p):\n    return load(p)\n")


def test_di_and_io_in_one_run_rewrite_io_in_the_freshly_migrated_function():
    result = tools.check_transformed(
        "import numpy as np\nfrom pinjected import injected\n\n@injected\ndef load(data_dir, /, name):\n    return np.load(data_dir + name)\n",
        ("import numpy as np\nfrom doeff_migrate.runtime import Ask, do, function_binding\nfrom pkg.effects_handlers import HANDLERS, LoadNumpyArray\n"
        "\n@function_binding\n@do\ndef load(name):\n    data_dir = yield Ask(\"data_dir\")\n    return (yield LoadNumpyArray(data_dir + name))\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
        path="pkg/lib.py",
        phases=("di", "io"),
    )
    assert effects(result) == ["LoadNumpyArray"]


# -- any mix of the patterns the three phases know: no crash, valid output, a second run changes nothing --------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_STATEMENTS = [
    "a = np.load(p)",
    "np.save(p, a)",
    "wandb.log({'x': 1}, step=i)",
    "wandb.log(*args)",
    "wandb.init(project='x')",
    "wandb.config.update({'lr': 1})",
    "t = ray.remote(work).remote(i)",
    "r = ray.get(t)",
    "refs = [ray.remote(work).remote(v) for v in xs]",
    "rs = ray.get(refs)",
    "u = _task.remote(i)",
    "ru = ray.get(u)",
    "ray.init()",
    "w = ray.wait(refs)",
    "q = [np.load(v) for v in xs]",
    "c = embed_cache.get(p)",
    "with open(p) as fh:\n        data = fh.read()",
    "with ThreadPoolExecutor() as ex:\n        fs = [ex.submit(work, v) for v in xs]\n        out = [f.result() for f in fs]",
    "with ThreadPoolExecutor() as ex:\n        ys = list(ex.map(work, xs))",
    "z = asyncio.run(coro(p))",
    "resp = requests.get(p, timeout=3)",
    "m = torch.load(p, map_location='cpu')",
    "i = i + 1",
    "pending.append(t)",
    "with open(p, 'w') as fh:\n        json.dump(xs, fh, indent=1)",
    "with open(p, 'rb') as fh:\n        obj = pickle.load(fh)",
    "with open(p) as fh:\n        line = fh.readline()",
    "mlflow.log_metric('a', i)",
    "mlflow.log_metric('a', i, 3)",
    "answer = client.chat.completions.create(model=p)",
    "other = pending.chat.completions.create(model=p)",
]

_HEADER = (
    "import asyncio\nimport json\nimport mlflow\nimport numpy as np\nimport openai\nimport pickle\nimport ray\n"
    "import requests\nimport torch\nimport wandb\n"
    "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do, run\n\n"
    "client = openai.OpenAI()\n\n"
    "def work(x):\n    return x\n\n@ray.remote\ndef _task(x):\n    return x\n\n"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_STATEMENTS), min_size=1, max_size=6), st.booleans())
def test_phases_never_crash_and_are_idempotent_on_any_mix(statements, with_entry):
    body = "\n".join(f"    {s}" for s in statements)
    source = _HEADER + f"@do\ndef f(p, xs, i, args, pending, embed_cache, coro):\n{body}\n    return i\n"
    if with_entry:
        source += "\nmain = f('a', [1], 0, (), [], {}, None)\n\nif __name__ == '__main__':\n    run(f('a', [1], 0, (), [], {}, None))\n"
    first = tools.migrate_source(source, path="pkg/mod.py", index=tools._index("pkg/mod.py", source, None))
    compile(first.code, "mod.py", "exec")
    second = tools.migrate_source(first.code, path="pkg/mod.py", index=tools._index("pkg/mod.py", first.code, None))
    assert second.code == first.code, "a second run must change nothing:\n" + first.code

"""The ``io`` transform as a whole: which functions and files it touches, handler declarations, caches over ``@do``
(DM312), doeff code (DM319), and the phases run together.

The rewrite families have their own test files: ``test_io_metrics``, ``test_io_movable``, ``test_io_files``,
``test_io_clients``, ``test_io_body``, ``test_io_catalogue``, ``test_io_wiring``, ``test_io_siblings``."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
io = partial(tools.check_transformed, phases=("io",))

DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def effects(result) -> list[str]:
    return [need.spec.effect for need in result.effects if need.spec is not None]


# -- rewrites -------------------------------------------------------------------------------------------------


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


def test_do_of_another_library_is_not_effectful_code():
    check_noop("import numpy as np\nfrom mylib import do\n\n@do\ndef f(path):\n    return np.load(path)\n")


def test_already_migrated_code_is_unchanged():
    check_noop(
        "import wandb\n" + DO + "from doeff_migrate.runtime.metrics import LogMetrics\n"
        "\n@do\ndef step(loss):\n    yield LogMetrics({\"loss\": loss})\n"
    )


# -- flagged ------------------------------------------------------------------------------------------------


def test_lru_cache_on_a_do_function_is_flagged_dm312():
    result = check_transformed(
        "from functools import lru_cache\n" + DO + "\n@lru_cache(maxsize=None, typed=True)\n@do\ndef f(x):\n    return x\n",
        "from functools import lru_cache\n" + DO
        + "\n# doeff-migrate: DM312: functools cache on a @do function caches the program object, not its result\n"
        "@lru_cache(maxsize=None, typed=True)\n@do\ndef f(x):\n    return x\n",
    )
    assert codes(result) == ["DM312"]


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


def test_module_without_entry_point_declares_handlers_and_avoids_its_own_handlers_name():
    io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nHANDLERS = {\"print\": print}\n\n"
        "class Trainer:\n    @do\n    def fit(self):\n        return np.load(\"w.npy\")\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\nfrom pkg.effects_handlers import HANDLERS as _dm_HANDLERS, LoadNumpyArray\n"
        "\nHANDLERS = {\"print\": print}\n\n"
        "class Trainer:\n    @do\n    def fit(self):\n        return (yield LoadNumpyArray(\"w.npy\"))\n\n\n__doeff_handlers__ = _dm_HANDLERS\n",
        path="pkg/mod.py",
    )


def test_cache_over_do_is_left_and_flagged_dm312():
    result = io(
        "import functools\nfrom doeff_migrate.runtime import do\n\n@functools.cache\n@do\ndef load(x):\n    return [x]\n",
        "import functools\nfrom doeff_migrate.runtime import do\n\n"
        "# doeff-migrate: DM312: functools cache on a @do function caches the program object, not its result\n"
        "@functools.cache\n@do\ndef load(x):\n    return [x]\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM312"]


def test_doeff_code_keeps_its_io_and_is_flagged_dm319():
    source = (
        "import numpy as np\nfrom doeff import do, run\n\n@do\ndef total():\n    w = np.load(\"w.npy\")\n    return float(w.sum())\n\n"
        "main = total()\n"
    )
    result = io(source, source.replace("@do\n", "# doeff-migrate: DM319: doeff code: IO calls stay (the effects and handlers the io phase writes need the bundled runtime)\n@do\n"),
                path="pkg/mod.py")
    assert codes(result) == ["DM319"] and not result.effects


def test_cache_on_a_do_function_is_left_and_flagged_dm312():
    # The cache hands out one program whose body runs at every `yield`; CacheGet/CachePut would not.
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

"""The ``compute`` phase's loops: spawn comprehensions, ``ex.map`` and result comprehensions become loops of spawns
and in-order waits."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


POOL_HEAD = "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"


def test_private_remote_function_list_of_refs_becomes_spawn_loop_and_gather():
    result = check_transformed(
        HEAD + """
@ray.remote(num_gpus=1)
def _train(cfg):
    return cfg * 2

@do
def sweep(cfgs):
    refs = [_train.remote(c) for c in cfgs]
    return sum(ray.get(refs))
""",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n" + """
@ray.remote(num_gpus=1)
def _train(cfg):
    return cfg * 2

@do
def sweep(cfgs):
    refs = []
    for c in cfgs:
        refs.append((yield Spawn(ray_task(_train)(c))))
    return sum((yield Gather(*refs)))
""",
    )
    assert codes(result) == []


def test_comprehension_variable_used_elsewhere_gets_a_fresh_loop_variable():
    # A loop would rebind `x` in the function: it gets its own name instead.
    check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    x = 1\n    refs = [ray.remote(sq).remote(x) for x in xs]\n    return x, ray.get(refs)\n",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"
        "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    x = 1\n    refs = []\n    for _doeff_migrate_item in xs:\n"
        "        refs.append((yield Spawn(ray_task(sq)(_doeff_migrate_item))))\n    return x, (yield Gather(*refs))\n",
    )


def test_thread_pool_map_becomes_spawns_and_in_order_waits():
    check_transformed(
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef f(xs):\n    # embed in parallel\n    with ThreadPoolExecutor() as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom effects_handlers import call_in_thread\n"
        "\n@do\ndef f(xs):\n    # embed in parallel\n    ys = []\n    for _doeff_migrate_item in xs:\n"
        "        ys.append((yield Spawn(call_in_thread(len, _doeff_migrate_item))))\n"
        "    for _doeff_migrate_index in range(len(ys)):\n        ys[_doeff_migrate_index] = yield Wait(ys[_doeff_migrate_index])\n    return ys\n",
    )


def test_results_comprehension_becomes_an_in_order_wait_loop():
    check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "        try:\n            ys = [t.result() for t in ts]\n        except ValueError as e:\n            ys = str(e)\n    return ys\n",
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom effects_handlers import call_in_thread\n"
        "\n@do\ndef f(xs):\n    ts = []\n    for x in xs:\n        ts.append((yield Spawn(call_in_thread(len, x))))\n"
        "    try:\n        ys = []\n        for t in ts:\n            ys.append((yield Wait(t)))\n    except ValueError as e:\n        ys = str(e)\n    return ys\n",
    )


def test_comprehension_variable_used_again_gets_a_fresh_loop_variable():
    check_transformed(
        HEAD + "\n@ray.remote\ndef _score(i):\n    return i\n\n@do\ndef f(n):\n    refs = [_score.remote(i) for i in range(n) if i]\n"
        "    scores = ray.get(refs)\n    for i, s in enumerate(scores):\n        print(i, s)\n    return scores\n",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"
        "\n@ray.remote\ndef _score(i):\n    return i\n\n@do\ndef f(n):\n    refs = []\n    for _doeff_migrate_item in range(n):\n"
        "        if _doeff_migrate_item:\n            refs.append((yield Spawn(ray_task(_score)(_doeff_migrate_item))))\n"
        "    scores = yield Gather(*refs)\n    for i, s in enumerate(scores):\n        print(i, s)\n    return scores\n",
    )

"""The ``compute`` phase's thread pools: a plain ``with ThreadPoolExecutor() as ex`` gives way to spawns; others stay
and are flagged (DM209, DM211, DM212)."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


POOL_HEAD = "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"


def test_thread_pool_use_the_codemod_does_not_rewrite_is_flagged_dm209():
    result = check_transformed(
        HEAD + "from concurrent.futures import ThreadPoolExecutor\n\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        return list(ex.map(str, xs))\n",
        HEAD + "from concurrent.futures import ThreadPoolExecutor\n\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n"
        "        # doeff-migrate: DM209: `ex` is used in a way the codemod does not rewrite (only `ex.submit(f, ...)` whose futures reach `.result()`, and `list(ex.map(f, xs))`, are)\n"
        "        return list(ex.map(str, xs))\n",
    )
    assert codes(result) == ["DM209"]


def test_thread_pool_submit_and_results_become_spawns_and_the_idle_pool_goes():
    # Results are waited in list order (a loop, not Gather), as the comprehension did.
    check_transformed(
        "import concurrent.futures as cf\nfrom doeff_migrate.runtime import do\n\ndef work(x, scale=1):\n    return x * scale\n"
        "\n@do\ndef f(xs):\n    with cf.ThreadPoolExecutor() as pool:\n"
        "        futures = [pool.submit(work, x, scale=2) for x in xs]\n        first = pool.submit(work, 1)\n"
        "        results = [fut.result() for fut in futures]\n        one = first.result()\n    return results, one\n",
        "import concurrent.futures as cf\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom effects_handlers import call_in_thread\n"
        "\ndef work(x, scale=1):\n    return x * scale\n"
        "\n@do\ndef f(xs):\n    futures = []\n    for x in xs:\n        futures.append((yield Spawn(call_in_thread(work, x, scale=2))))\n"
        "    first = yield Spawn(call_in_thread(work, 1))\n"
        "    results = []\n    for fut in futures:\n        results.append((yield Wait(fut)))\n    one = yield Wait(first)\n    return results, one\n",
    )


def test_pool_with_max_workers_is_left_and_flagged_dm211():
    result = check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor(max_workers=1) as ex:\n        return list(ex.map(len, xs))\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM211: this pool is given `max_workers`: the runtime's spawns have no worker limit nor initializer, so the pool stays\n"
        "    with ThreadPoolExecutor(max_workers=1) as ex:\n        return list(ex.map(len, xs))\n",
    )
    assert codes(result) == ["DM211"]


def test_pool_with_initializer_is_left_and_flagged_dm211():
    result = check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor(initializer=print) as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM211: this pool is given `initializer`: the runtime's spawns have no worker limit nor initializer, so the pool stays\n"
        "    with ThreadPoolExecutor(initializer=print) as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
    )
    assert codes(result) == ["DM211"]


def test_pool_whose_tasks_are_waited_after_the_block_is_left_and_flagged_dm212():
    result = check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "    print(\"done\")\n    return [t.result() for t in ts]\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM212: `ts` (tasks of this pool) used after the `with` block, which waits for every task first: the pool stays\n"
        "    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "    print(\"done\")\n    return [t.result() for t in ts]\n",
    )
    assert codes(result) == ["DM212"]


def test_pool_whose_block_branches_is_left_and_flagged_dm212():
    result = check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs, check):\n    with ThreadPoolExecutor() as ex:\n        t = ex.submit(len, xs)\n"
        "        if check:\n            n = t.result()\n    return 1\n",
        POOL_HEAD + "\n@do\ndef f(xs, check):\n"
        "    # doeff-migrate: DM212: the pool's block holds an `if`: a task it may not wait for is still waited by the block's end, which a rewrite without the pool would not do\n"
        "    with ThreadPoolExecutor() as ex:\n        t = ex.submit(len, xs)\n        if check:\n            n = t.result()\n    return 1\n",
    )
    assert codes(result) == ["DM212"]

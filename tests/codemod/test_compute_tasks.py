"""The ``compute`` phase follows a task only where every use is a wait the runtime answers; other uses keep Ray's or
the pool's own objects."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


POOL_HEAD = "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"


def test_future_handed_to_as_completed_is_not_rewritten():
    result = check_transformed(
        "from concurrent.futures import ThreadPoolExecutor, as_completed\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        futs = [ex.submit(len, x) for x in xs]\n"
        "        return [f.result() for f in as_completed(futs)]\n",
        "from concurrent.futures import ThreadPoolExecutor, as_completed\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n"
        "        # doeff-migrate: DM205: the tasks in `futs` are used in ways the codemod cannot follow (only `ray.get(futs)` and `[f.result() for f in futs]` are rewritten)\n"
        "        # doeff-migrate: DM209: `ex` is used in a way the codemod does not rewrite (only `ex.submit(f, ...)` whose futures reach `.result()`, and `list(ex.map(f, xs))`, are)\n"
        "        futs = [ex.submit(len, x) for x in xs]\n"
        "        return [f.result() for f in as_completed(futs)]\n",
    )
    assert codes(result) == ["DM205", "DM209"]


def test_task_used_otherwise_than_by_ray_get_is_not_rewritten():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x, pending):\n    t = ray.remote(sq).remote(x)\n    pending.append(t)\n    return ray.get(t)\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x, pending):\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    t = ray.remote(sq).remote(x)\n    pending.append(t)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get(t)\n",
    )
    assert codes(result) == ["DM205", "DM205"]


def test_ray_wait_and_put_are_flagged_dm205():
    result = check_transformed(
        HEAD + "\n@do\ndef f(refs, x):\n    ready, rest = ray.wait(refs)\n    return ray.put(x)\n",
        HEAD + "\n@do\ndef f(refs, x):\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    ready, rest = ray.wait(refs)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.put(x)\n",
    )
    assert codes(result) == ["DM205", "DM205"]


def test_task_waited_with_an_untraced_ref_stays_a_ray_task():
    result = check_transformed(
        HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f(external):\n    r1 = _t.remote(1)\n    return ray.get([r1, external])\n",
        HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f(external):\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    r1 = _t.remote(1)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get([r1, external])\n",
    )
    assert codes(result) == ["DM205", "DM205"]


def test_task_waited_inside_a_lambda_stays_a_ray_task():
    result = check_transformed(
        HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f():\n    r = _t.remote(1)\n    later = lambda: ray.get(r)\n    return later()\n",
        HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    r = _t.remote(1)\n"
        "    # doeff-migrate: DM207: `ray.get` inside a comprehension or lambda, where `yield` cannot go\n"
        "    later = lambda: ray.get(r)\n    return later()\n",
    )
    assert codes(result) == ["DM205", "DM207"]


def test_results_comprehension_not_on_its_own_line_leaves_the_pool():
    # ``return [t.result() for t in ts]`` has no in-order statement form here: the pool stays (DM209).
    result = check_transformed(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "        return [t.result() for t in ts]\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n"
        "        # doeff-migrate: DM205: the tasks in `ts` are used in ways the codemod cannot follow (only `ray.get(ts)` and `[f.result() for f in ts]` are rewritten)\n"
        "        # doeff-migrate: DM209: `ex` is used in a way the codemod does not rewrite (only `ex.submit(f, ...)` whose futures reach `.result()`, and `list(ex.map(f, xs))`, are)\n"
        "        ts = [ex.submit(len, x) for x in xs]\n        return [t.result() for t in ts]\n",
    )
    assert codes(result) == ["DM205", "DM209"]

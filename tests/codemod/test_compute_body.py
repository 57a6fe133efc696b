"""The ``compute`` body rewriter: waits of spawned tasks, flags written on the statement holding the call (DM207,
DM214), ``noqa``."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("compute",))
check_transformed = partial(tools.check_transformed, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def test_get_of_an_inline_remote_call_becomes_wait_of_spawn():
    check_transformed(
        HEAD + """
def square(x):
    return x * x

@do
def f(x):
    return ray.get(ray.remote(square).remote(x))
""",
        "import ray\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n" + """
def square(x):
    return x * x

@do
def f(x):
    return (yield Wait((yield Spawn(ray_task(square)(x)))))
""",
    )


def test_remote_call_in_a_nested_expression_is_flagged_dm207():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    return ray.get([ray.remote(sq).remote(x) for x in xs])\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM207: remote call inside a comprehension or lambda, where `yield` cannot go\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get([ray.remote(sq).remote(x) for x in xs])\n",
    )
    assert codes(result) == ["DM207", "DM205"]


def test_noqa_suppresses_a_compute_flag():
    check_noop(HEAD + "\n@do\ndef f():\n    ray.init()  # noqa: DM203\n    return 1\n")


def test_ray_call_under_a_lock_is_left_and_flagged_dm214():
    result = check_transformed(
        "import threading\n" + HEAD + "\nLOCK = threading.Lock()\n\n@ray.remote\ndef _square(x):\n    return x * x\n\n"
        "@do\ndef worker(i):\n    with LOCK:\n        v = ray.get(_square.remote(i))\n    return v\n",
        "import threading\n" + HEAD + "\nLOCK = threading.Lock()\n\n@ray.remote\ndef _square(x):\n    return x * x\n\n"
        "@do\ndef worker(i):\n"
        "    # doeff-migrate: DM214: Ray task or thread pool inside a `with <lock>:` block: left as it is (a wait there would deadlock)\n"
        "    with LOCK:\n        v = ray.get(_square.remote(i))\n    return v\n",
    )
    assert codes(result) == ["DM214"]

"""The ``compute`` phase: Ray tasks in ``@do`` functions -> Spawn/Wait/Gather, the rest flagged (DM2xx)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("compute",))
check_transformed = partial(tools.check_transformed, phases=("compute",))

HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"
NEW_HEAD = "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, Wait, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


# -- rewrites -------------------------------------------------------------------------------------------------


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


def test_ray_remote_of_plain_function_with_options_keeps_options_on_the_ray_task():
    check_transformed(
        HEAD + """
def square(x):
    return x * x

@do
def f():
    one = ray.remote(square).options(num_cpus=2).remote(3)
    two = ray.remote(num_gpus=1, max_retries=2)(square).remote(4)
    return ray.get([one, two]), ray.get(one)
""",
        NEW_HEAD + """
def square(x):
    return x * x

@do
def f():
    one = yield Spawn(ray_task(square, num_cpus=2)(3))
    two = yield Spawn(ray_task(square, num_gpus=1, max_retries=2)(4))
    return (yield Gather(one, two)), (yield Wait(one))
""",
    )


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


def test_aliased_ray_import_and_from_import_are_resolved():
    check_transformed(
        """\
import ray as r
from ray import get as fetch
from doeff_migrate.runtime import do

def square(x):
    return x * x

@do
def f(xs):
    refs = [r.remote(square).remote(x) for x in xs if x > 0]
    return fetch(refs)
""",
        """\
import ray as r
from ray import get as fetch
from doeff_migrate.runtime import Gather, Spawn, do
from doeff_migrate.runtime.ray_backend import ray_task

def square(x):
    return x * x

@do
def f(xs):
    refs = []
    for x in xs:
        if x > 0:
            refs.append((yield Spawn(ray_task(square)(x))))
    return (yield Gather(*refs))
""",
    )


def test_doeff_code_keeps_its_ray_tasks_and_is_flagged_dm213():
    # ray_task / call_in_thread are bundled-runtime programs that doeff cannot run (review F23).
    source = HEAD.replace("doeff_migrate.runtime", "doeff") + """
def square(x):
    return x * x

@do
def f(x):
    t = ray.remote(square).remote(x)
    return ray.get(t)
"""
    for target in ("doeff", "runtime"):
        result = tools.check_transformed(
            source, source.replace("@do\n", "# doeff-migrate: DM213: doeff code: Ray tasks and thread pools stay (what the compute phase writes needs the bundled runtime)\n@do\n"),
            phases=("compute",), target=target,
        )
        assert codes(result) == ["DM213"]


# -- left as they were: no-ops --------------------------------------------------------------------------------


def test_ray_in_plain_functions_is_not_touched():
    check_noop(HEAD + """
@ray.remote
def _train(cfg):
    return cfg

def sweep(cfgs):
    return ray.get([_train.remote(c) for c in cfgs])
""")


def test_file_without_ray_is_not_touched():
    check_noop("from doeff_migrate.runtime import do\n\n@do\ndef f(x):\n    return x.remote(1)\n")


def test_a_local_named_ray_is_not_rays():
    check_noop(HEAD + """
@do
def f(ray, x):
    return ray.get(x)
""")


def test_remote_method_of_unrelated_object_outside_do_is_not_touched():
    check_noop(HEAD + "\ndef f(obj):\n    return obj.remote(1)\n")


def test_do_of_another_library_is_not_effectful_code():
    check_noop("import ray\nfrom mylib import do\n\n@do\ndef f(x):\n    return ray.get(x)\n")


def test_already_migrated_code_is_unchanged():
    check_noop(NEW_HEAD + """
def square(x):
    return x * x

@do
def f(x):
    t = yield Spawn(ray_task(square)(x))
    return (yield Wait(t))
""")


# -- flagged ------------------------------------------------------------------------------------------------


def test_public_remote_function_is_spawned_with_ray_task_and_keeps_its_decorator():
    # The decorator stays (other modules may call `train.remote`); ray_task spawns the RemoteFunction itself.
    result = check_transformed(
        HEAD + """
@ray.remote
def train(cfg):
    return cfg

handle = train

@do
def sweep(cfgs):
    refs = [train.remote(c) for c in cfgs]
    return ray.get(refs)
""",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n" + """
@ray.remote
def train(cfg):
    return cfg

handle = train

@do
def sweep(cfgs):
    refs = []
    for c in cfgs:
        refs.append((yield Spawn(ray_task(train)(c))))
    return (yield Gather(*refs))
""",
    )
    assert codes(result) == []


def test_remote_function_bound_again_at_module_level_is_flagged_dm206():
    result = check_transformed(
        HEAD + """
@ray.remote
def _train(cfg):
    return cfg

_train = _train.options(num_cpus=2)

@do
def sweep(c):
    return ray.get(_train.remote(c))
""",
        HEAD + """
@ray.remote
def _train(cfg):
    return cfg

_train = _train.options(num_cpus=2)

@do
def sweep(c):
    # doeff-migrate: DM206: `_train` is bound again at module level: the codemod cannot tell which object `.remote` reaches
    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn
    return ray.get(_train.remote(c))
""",
    )
    assert set(codes(result)) == {"DM206", "DM205"}


def test_actor_is_flagged_dm202():
    result = check_transformed(
        HEAD + """
@ray.remote
class Counter:
    def add(self, x):
        return x

@do
def f():
    c = Counter.remote()
    return c
""",
        HEAD + """
@ray.remote
class Counter:
    def add(self, x):
        return x

@do
def f():
    # doeff-migrate: DM202: `Counter` is a Ray actor class: its shared state has no Spawn form
    c = Counter.remote()
    return c
""",
    )
    assert codes(result) == ["DM202"]


def test_ray_init_is_flagged_dm203():
    result = check_transformed(
        HEAD + "\n@do\ndef f():\n    ray.init(num_cpus=4)\n    return 1\n",
        HEAD + "\n@do\ndef f():\n    # doeff-migrate: DM203: ray.init/ray.shutdown in effectful code: start Ray at the entry point and run under RayHandler\n    ray.init(num_cpus=4)\n    return 1\n",
    )
    assert codes(result) == ["DM203"]


def test_placement_group_is_flagged_dm204():
    result = check_transformed(
        HEAD + "from ray.util import placement_group\n\n@do\ndef f():\n    pg = placement_group([{'GPU': 1}])\n    return pg\n",
        HEAD + "from ray.util import placement_group\n\n@do\ndef f():\n    # doeff-migrate: DM204: Ray placement group: gang scheduling has no Spawn form\n    pg = placement_group([{'GPU': 1}])\n    return pg\n",
    )
    assert codes(result) == ["DM204"]


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


def test_remote_call_in_a_nested_expression_is_flagged_dm207():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    return ray.get([ray.remote(sq).remote(x) for x in xs])\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM207: remote call inside a comprehension or lambda, where `yield` cannot go\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get([ray.remote(sq).remote(x) for x in xs])\n",
    )
    assert codes(result) == ["DM207", "DM205"]


def test_comprehension_variable_used_elsewhere_gets_a_fresh_loop_variable():
    # A loop would rebind `x` in the function: it gets its own name instead (review M1).
    check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    x = 1\n    refs = [ray.remote(sq).remote(x) for x in xs]\n    return x, ray.get(refs)\n",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"
        "\ndef sq(x):\n    return x\n\n@do\ndef f(xs):\n    x = 1\n    refs = []\n    for _doeff_migrate_item in xs:\n"
        "        refs.append((yield Spawn(ray_task(sq)(_doeff_migrate_item))))\n    return x, (yield Gather(*refs))\n",
    )


def test_remote_on_an_unknown_object_is_flagged_dm208():
    result = check_transformed(
        HEAD + "\n@do\ndef f(self, x):\n    return self.worker.remote(x)\n",
        HEAD + "\n@do\ndef f(self, x):\n"
        "    # doeff-migrate: DM208: `self.worker.remote(...)`: not a @ray.remote function of this file, so the codemod cannot tell what it runs\n"
        "    return self.worker.remote(x)\n",
    )
    assert codes(result) == ["DM208"]


def test_ray_remote_of_a_class_like_name_is_flagged_as_actor_dm202():
    result = check_transformed(
        HEAD + "from models import Trainer\n\n@do\ndef f(x):\n    return ray.remote(Trainer).remote(x)\n",
        HEAD + "from models import Trainer\n\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM202: `ray.remote(Trainer)` of what looks like a class makes an actor\n"
        "    return ray.remote(Trainer).remote(x)\n",
    )
    assert codes(result) == ["DM202"]


def test_process_pool_in_effectful_code_is_flagged_dm209():
    result = check_transformed(
        HEAD + "from concurrent.futures import ProcessPoolExecutor\n\n@do\ndef f(xs):\n    with ProcessPoolExecutor() as ex:\n        ys = list(ex.map(str, xs))\n    return ys\n",
        HEAD + "from concurrent.futures import ProcessPoolExecutor\n\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM209: concurrent.futures executor in effectful code: use Spawn(call_in_thread(...)) + Gather\n"
        "    with ProcessPoolExecutor() as ex:\n        ys = list(ex.map(str, xs))\n    return ys\n",
    )
    assert codes(result) == ["DM209"]


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


def test_thread_pool_map_becomes_spawns_and_in_order_waits():
    check_transformed(
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef f(xs):\n    # embed in parallel\n    with ThreadPoolExecutor() as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom effects_handlers import call_in_thread\n"
        "\n@do\ndef f(xs):\n    # embed in parallel\n    ys = []\n    for _doeff_migrate_item in xs:\n"
        "        ys.append((yield Spawn(call_in_thread(len, _doeff_migrate_item))))\n"
        "    for _doeff_migrate_index in range(len(ys)):\n        ys[_doeff_migrate_index] = yield Wait(ys[_doeff_migrate_index])\n    return ys\n",
    )


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


def test_unknown_ray_option_is_flagged_dm201():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n    return ray.get(ray.remote(max_calls=1)(sq).remote(x))\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM201: Ray option `max_calls` has no Spawn form (RayHandler refuses it)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get(ray.remote(max_calls=1)(sq).remote(x))\n",
    )
    assert codes(result) == ["DM201", "DM205"]


def test_task_passed_to_another_task_is_flagged_dm205():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n    a = ray.remote(sq).remote(x)\n    b = ray.remote(sq).remote(a)\n    return ray.get(b)\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    a = ray.remote(sq).remote(x)\n"
        "    # doeff-migrate: DM205: a task passed to another task: Ray resolves it to its value, a Spawn would not\n"
        "    b = ray.remote(sq).remote(a)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get(b)\n",
    )
    assert codes(result) == ["DM205", "DM205", "DM205"]


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


def test_noqa_suppresses_a_compute_flag():
    check_noop(HEAD + "\n@do\ndef f():\n    ray.init()  # noqa: DM203\n    return 1\n")


def test_asyncio_run_of_a_coroutine_is_left_and_flagged_dm210():
    # asyncio.run blocks the program and cancels leftover tasks; Await would do neither (review F4).
    result = check_transformed(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\nasync def fetch_all(urls):\n    return await asyncio.gather(*map(get, urls))\n"
        "\n@do\ndef f(urls):\n    pages = asyncio.run(fetch_all(urls))\n    return pages\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\nasync def fetch_all(urls):\n    return await asyncio.gather(*map(get, urls))\n"
        "\n@do\ndef f(urls):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    pages = asyncio.run(fetch_all(urls))\n    return pages\n",
    )
    assert codes(result) == ["DM210"]


def test_asyncio_outside_effectful_code_is_not_touched():
    check_noop("import asyncio\n\ndef f(coro):\n    return asyncio.run(coro)\n")


def test_event_loop_management_is_flagged_dm210():
    result = check_transformed(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(coro):\n    return asyncio.run(coro, debug=True)\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(coro):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    return asyncio.run(coro, debug=True)\n",
    )
    assert codes(result) == ["DM210"]


def test_every_phase_rule_is_documented_and_tested():
    import pathlib

    from doeff_migrate.codemod.rules import phases

    tests = "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    for rule in [v for v in vars(phases).values() if hasattr(v, "code") and hasattr(v, "fix_safety")]:
        for section in ("message", "what", "why", "example", "use_instead", "fix_safety"):
            assert getattr(rule, section).strip(), f"{rule.code} lacks {section}"
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert f"DM{rule.code[2:]}" in tests and f"_{rule.code.lower()}" in tests, f"{rule.code} has no test"


def test_remote_call_whose_argument_is_another_remote_call_is_flagged_not_half_rewritten():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n    return ray.get(ray.remote(sq).remote(ray.remote(sq).remote(x)))\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM205: a task passed to another task: Ray resolves it to its value, a Spawn would not\n"
        "    return ray.get(ray.remote(sq).remote(ray.remote(sq).remote(x)))\n",
    )
    assert codes(result) == ["DM205"]

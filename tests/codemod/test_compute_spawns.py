"""The ``compute`` phase's spawns: Ray tasks and their options become ``Spawn(ray_task(...))``; what cannot be a
spawn is flagged (DM201-DM210)."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"
NEW_HEAD = "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, Wait, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


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


def test_asyncio_run_of_a_coroutine_is_left_and_flagged_dm210():
    # asyncio.run blocks the program and cancels leftover tasks; Await would do neither.
    result = check_transformed(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\nasync def fetch_all(urls):\n    return await asyncio.gather(*map(get, urls))\n"
        "\n@do\ndef f(urls):\n    pages = asyncio.run(fetch_all(urls))\n    return pages\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\nasync def fetch_all(urls):\n    return await asyncio.gather(*map(get, urls))\n"
        "\n@do\ndef f(urls):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    pages = asyncio.run(fetch_all(urls))\n    return pages\n",
    )
    assert codes(result) == ["DM210"]


def test_event_loop_management_is_flagged_dm210():
    result = check_transformed(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(coro):\n    return asyncio.run(coro, debug=True)\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(coro):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    return asyncio.run(coro, debug=True)\n",
    )
    assert codes(result) == ["DM210"]


def test_remote_call_whose_argument_is_another_remote_call_is_flagged_not_half_rewritten():
    result = check_transformed(
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n    return ray.get(ray.remote(sq).remote(ray.remote(sq).remote(x)))\n",
        HEAD + "\ndef sq(x):\n    return x\n\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM205: a task passed to another task: Ray resolves it to its value, a Spawn would not\n"
        "    return ray.get(ray.remote(sq).remote(ray.remote(sq).remote(x)))\n",
    )
    assert codes(result) == ["DM205"]


def test_asyncio_run_stays_and_is_flagged_dm210():
    result = check_transformed(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef child(tag):\n    v = asyncio.run(fetch(tag))\n    return v\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef child(tag):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    v = asyncio.run(fetch(tag))\n    return v\n",
    )
    assert codes(result) == ["DM210"]


def test_remote_function_is_spawned_as_a_ray_task_with_options_merged_by_ray():
    check_transformed(
        HEAD + "\n@ray.remote(num_cpus=1)\ndef _score(x):\n    return x\n\n@do\ndef f(n):\n"
        "    a = _score.remote(n)\n    big = _score.options(num_cpus=2).remote(n)\n    return ray.get([a, big]), ray.get(a)\n",
        NEW_HEAD + "\n@ray.remote(num_cpus=1)\ndef _score(x):\n    return x\n\n@do\ndef f(n):\n"
        "    a = yield Spawn(ray_task(_score)(n))\n    big = yield Spawn(ray_task(_score, num_cpus=2)(n))\n"
        "    return (yield Gather(a, big)), (yield Wait(a))\n",
    )


def test_task_with_several_returns_is_left_and_flagged_dm201():
    result = check_transformed(
        HEAD + "\n@ray.remote(num_returns=2)\ndef _pair(x):\n    return x, x\n\n@do\ndef f():\n    return ray.get(_pair.remote(1))\n",
        HEAD + "\n@ray.remote(num_returns=2)\ndef _pair(x):\n    return x, x\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM201: `num_returns`: a task answering several object refs has no Spawn form\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get(_pair.remote(1))\n",
    )
    assert codes(result) == ["DM201", "DM205"]

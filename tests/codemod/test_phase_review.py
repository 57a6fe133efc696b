"""Before/after strings for the fixes of the phases' adversarial review (docs/review/phases-adversarial-review.md):
each rewrite that changed behaviour silently is now faithful, or left as it was and flagged."""

from __future__ import annotations

from functools import partial

from . import tools

compute = partial(tools.check_transformed, phases=("compute",))
io = partial(tools.check_transformed, phases=("io",))
recording = partial(tools.check_transformed, phases=("recording",))

POOL_HEAD = "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


# -- F2: a pool given max_workers/initializer stays ------------------------------------------------------------


def test_pool_with_max_workers_is_left_and_flagged_dm211():
    result = compute(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor(max_workers=1) as ex:\n        return list(ex.map(len, xs))\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM211: this pool is given `max_workers`: the runtime's spawns have no worker limit nor initializer, so the pool stays\n"
        "    with ThreadPoolExecutor(max_workers=1) as ex:\n        return list(ex.map(len, xs))\n",
    )
    assert codes(result) == ["DM211"]


def test_pool_with_initializer_is_left_and_flagged_dm211():
    result = compute(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor(initializer=print) as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM211: this pool is given `initializer`: the runtime's spawns have no worker limit nor initializer, so the pool stays\n"
        "    with ThreadPoolExecutor(initializer=print) as ex:\n        ys = list(ex.map(len, xs))\n    return ys\n",
    )
    assert codes(result) == ["DM211"]


# -- F14: tasks used after the block (the block's end joins them) ----------------------------------------------


def test_pool_whose_tasks_are_waited_after_the_block_is_left_and_flagged_dm212():
    result = compute(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "    print(\"done\")\n    return [t.result() for t in ts]\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n"
        "    # doeff-migrate: DM212: `ts` (tasks of this pool) used after the `with` block, which waits for every task first: the pool stays\n"
        "    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "    print(\"done\")\n    return [t.result() for t in ts]\n",
    )
    assert codes(result) == ["DM212"]


# -- F21: results are waited in list order, not gathered ------------------------------------------------------


def test_results_comprehension_becomes_an_in_order_wait_loop():
    compute(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "        try:\n            ys = [t.result() for t in ts]\n        except ValueError as e:\n            ys = str(e)\n    return ys\n",
        "from concurrent.futures import ThreadPoolExecutor\nfrom doeff_migrate.runtime import Spawn, Wait, do\nfrom effects_handlers import call_in_thread\n"
        "\n@do\ndef f(xs):\n    ts = []\n    for x in xs:\n        ts.append((yield Spawn(call_in_thread(len, x))))\n"
        "    try:\n        ys = []\n        for t in ts:\n            ys.append((yield Wait(t)))\n    except ValueError as e:\n        ys = str(e)\n    return ys\n",
    )


def test_results_comprehension_not_on_its_own_line_leaves_the_pool():
    # ``return [t.result() for t in ts]`` has no in-order statement form here: the pool stays (DM209).
    result = compute(
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(len, x) for x in xs]\n"
        "        return [t.result() for t in ts]\n",
        POOL_HEAD + "\n@do\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n"
        "        # doeff-migrate: DM205: the tasks in `ts` are used in ways the codemod cannot follow (only `ray.get(ts)` and `[f.result() for f in ts]` are rewritten)\n"
        "        # doeff-migrate: DM209: `ex` is used in a way the codemod does not rewrite (only `ex.submit(f, ...)` whose futures reach `.result()`, and `list(ex.map(f, xs))`, are)\n"
        "        ts = [ex.submit(len, x) for x in xs]\n        return [t.result() for t in ts]\n",
    )
    assert codes(result) == ["DM205", "DM209"]


# -- F4: asyncio.run is not Await --------------------------------------------------------------------------------


def test_asyncio_run_stays_and_is_flagged_dm210():
    result = compute(
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef child(tag):\n    v = asyncio.run(fetch(tag))\n    return v\n",
        "import asyncio\nfrom doeff_migrate.runtime import do\n\n@do\ndef child(tag):\n"
        "    # doeff-migrate: DM210: `asyncio.run(...)` left as it is: it blocks the whole program until the coroutine ends and cancels the tasks the coroutine leaves behind; `yield Await(coro)` would let other tasks run meanwhile and keep those running\n"
        "    v = asyncio.run(fetch(tag))\n    return v\n",
    )
    assert codes(result) == ["DM210"]


# -- F3/F8/F9/F15/F27: Ray tasks stay Ray tasks; the decorator stays -------------------------------------------

RAY_HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"
RAY_NEW = "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, Wait, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"


def test_remote_function_is_spawned_as_a_ray_task_with_options_merged_by_ray():
    compute(
        RAY_HEAD + "\n@ray.remote(num_cpus=1)\ndef _score(x):\n    return x\n\n@do\ndef f(n):\n"
        "    a = _score.remote(n)\n    big = _score.options(num_cpus=2).remote(n)\n    return ray.get([a, big]), ray.get(a)\n",
        RAY_NEW + "\n@ray.remote(num_cpus=1)\ndef _score(x):\n    return x\n\n@do\ndef f(n):\n"
        "    a = yield Spawn(ray_task(_score)(n))\n    big = yield Spawn(ray_task(_score, num_cpus=2)(n))\n"
        "    return (yield Gather(a, big)), (yield Wait(a))\n",
    )


def test_task_with_several_returns_is_left_and_flagged_dm201():
    result = compute(
        RAY_HEAD + "\n@ray.remote(num_returns=2)\ndef _pair(x):\n    return x, x\n\n@do\ndef f():\n    return ray.get(_pair.remote(1))\n",
        RAY_HEAD + "\n@ray.remote(num_returns=2)\ndef _pair(x):\n    return x, x\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM201: `num_returns`: a task answering several object refs has no Spawn form\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get(_pair.remote(1))\n",
    )
    assert codes(result) == ["DM201", "DM205"]


# -- F24: a task in a list mixed with other refs, or waited in a lambda, is not rewritten -----------------------


def test_task_waited_with_an_untraced_ref_stays_a_ray_task():
    result = compute(
        RAY_HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f(external):\n    r1 = _t.remote(1)\n    return ray.get([r1, external])\n",
        RAY_HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f(external):\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    r1 = _t.remote(1)\n"
        "    # doeff-migrate: DM205: ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn\n"
        "    return ray.get([r1, external])\n",
    )
    assert codes(result) == ["DM205", "DM205"]


def test_task_waited_inside_a_lambda_stays_a_ray_task():
    result = compute(
        RAY_HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f():\n    r = _t.remote(1)\n    later = lambda: ray.get(r)\n    return later()\n",
        RAY_HEAD + "\n@ray.remote\ndef _t(x):\n    return x\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM205: the task of this remote call is used in ways the codemod cannot follow (only `x = f.remote(...)` whose `x` reaches nothing but `ray.get`, or `ray.get(f.remote(...))`, are rewritten)\n"
        "    r = _t.remote(1)\n"
        "    # doeff-migrate: DM207: `ray.get` inside a comprehension or lambda, where `yield` cannot go\n"
        "    later = lambda: ray.get(r)\n    return later()\n",
    )
    assert codes(result) == ["DM205", "DM207"]


# -- F12: a name bound several ways at module level is not one library -----------------------------------------


def test_io_through_alternatively_imported_name_is_left_and_flagged_dm318():
    result = io(
        "try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef evaluate():\n    np.save(\"w.npy\", np.arange(3))\n    return 1\n",
        "try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef evaluate():\n"
        "    # doeff-migrate: DM318: `np.save(...)` left as it is: the name is bound to `cupy.save` or `numpy.save` depending on how the module was loaded\n"
        "    np.save(\"w.npy\", np.arange(3))\n    return 1\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM318"]


def test_import_rebound_by_an_assignment_is_not_the_library():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nnp = object()\n\n@do\ndef f():\n    return np.load(\"w.npy\")\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nnp = object()\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM318: `np.load(...)` left as it is: the name is bound to `numpy.load` or to another object depending on how the module was loaded\n"
        "    return np.load(\"w.npy\")\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM318"]


# -- F16/F20: every module yielding the package's effects declares its handlers, under a free name -----------------


def test_module_without_entry_point_declares_handlers_and_avoids_its_own_handlers_name():
    io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nHANDLERS = {\"print\": print}\n\n"
        "class Trainer:\n    @do\n    def fit(self):\n        return np.load(\"w.npy\")\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\nfrom pkg.effects_handlers import HANDLERS as _dm_HANDLERS, LoadNumpyArray\n"
        "\nHANDLERS = {\"print\": print}\n\n"
        "class Trainer:\n    @do\n    def fit(self):\n        return (yield LoadNumpyArray(\"w.npy\"))\n\n\n__doeff_handlers__ = _dm_HANDLERS\n",
        path="pkg/mod.py",
    )


# -- F25: functools caches on @do functions are not turned into result caches -------------------------------------


def test_cache_over_do_is_left_and_flagged_dm312():
    result = io(
        "import functools\nfrom doeff_migrate.runtime import do\n\n@functools.cache\n@do\ndef load(x):\n    return [x]\n",
        "import functools\nfrom doeff_migrate.runtime import do\n\n"
        "# doeff-migrate: DM312: functools cache on a @do function caches the program object, not its result\n"
        "@functools.cache\n@do\ndef load(x):\n    return [x]\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM312"]


# -- F6/F32: every run in a script is wired, with the recorder inside the package's handlers -----------------------


def test_run_of_a_variable_inside_a_function_is_wired_with_the_recorder_inside():
    tools.check_transformed(
        "import numpy as np\nfrom doeff_migrate.runtime import do, run\n\n@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"
        "def main():\n    prog = train(2)\n    print(run(prog, handlers=[]))\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do, run, with_handlers\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, recording_handlers, with_effect_handlers\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n"
        "def main():\n    prog = train(2)\n    print(run(with_effect_handlers(with_handlers([*recording_handlers()], prog)), handlers=[]))\n\n\n"
        "__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py", phases=("io", "recording"),
    )


def test_recording_wired_before_io_moves_inside_the_handlers():
    after_recording = tools.migrate_source(
        "import numpy as np\nfrom doeff_migrate.runtime import do, run\n\n@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"
        "if __name__ == \"__main__\":\n    run(train(2))\n", path="pkg/mod.py", phases=("recording",)).code
    assert "run(train(2), handlers=[*recording_handlers()])" in after_recording
    after_io = tools.migrate_source(after_recording, path="pkg/mod.py", phases=("io",)).code
    assert "run(with_effect_handlers(with_handlers([*recording_handlers()], train(2))), handlers=[])" in after_io


# -- F26: a write whose value may fail keeps its `open` first ----------------------------------------------------


def test_whole_file_write_of_a_computed_value_stays_a_with_open():
    source = (
        "from doeff_migrate.runtime import do\n\n@do\ndef write_report(rows):\n"
        "    with open(\"report.txt\", \"w\") as f:\n        f.write(render(rows))\n    return 1\n"
    )
    result = tools.migrate_source(source, path="pkg/mod.py", phases=("io",))
    assert "with open(\"report.txt\", \"w\") as f:" in result.code and "WriteText" not in result.code
    assert codes(result) == ["DM303"]


def test_whole_file_write_of_a_name_or_literal_is_moved():
    io(
        "import json\nfrom doeff_migrate.runtime import do\n\n@do\ndef save(text, obj):\n"
        "    with open(\"a.txt\", \"w\") as f:\n        f.write(text)\n"
        "    with open(\"b.json\", \"w\") as f:\n        json.dump({\"obj\": obj, \"n\": [1, 2]}, f, indent=2)\n",
        "import json\nfrom doeff_migrate.runtime import do\nfrom pkg.effects_handlers import HANDLERS, WriteJson, WriteText\n\n"
        "@do\ndef save(text, obj):\n    yield WriteText(\"a.txt\", text)\n"
        "    yield WriteJson(\"b.json\", {\"obj\": obj, \"n\": [1, 2]}, dump_options={\"indent\": 2})\n\n\n__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py",
    )


# -- F19c: nothing is rewritten inside a lock's `with` block -------------------------------------------------------


def test_ray_call_under_a_lock_is_left_and_flagged_dm214():
    result = compute(
        "import threading\n" + RAY_HEAD + "\nLOCK = threading.Lock()\n\n@ray.remote\ndef _square(x):\n    return x * x\n\n"
        "@do\ndef worker(i):\n    with LOCK:\n        v = ray.get(_square.remote(i))\n    return v\n",
        "import threading\n" + RAY_HEAD + "\nLOCK = threading.Lock()\n\n@ray.remote\ndef _square(x):\n    return x * x\n\n"
        "@do\ndef worker(i):\n"
        "    # doeff-migrate: DM214: Ray task or thread pool inside a `with <lock>:` block: left as it is (a wait there would deadlock)\n"
        "    with LOCK:\n        v = ray.get(_square.remote(i))\n    return v\n",
    )
    assert codes(result) == ["DM214"]


# -- F31: extending a handler module the user edited keeps it valid Python ----------------------------------------


def test_extending_a_handler_list_with_brackets_in_comments_and_multiline_imports_stays_valid():
    import ast

    from doeff_migrate.codemod.handler_stubs import extend_module, render_module, spec_for_metrics, spec_for_movable
    from doeff_migrate.codemod.side_effects import Catalogue

    movable = Catalogue.default().movable("numpy.load")
    text = render_module([spec_for_metrics("LogMetrics")])
    text = text.replace("    handle_log_metrics,\n", "    handle_log_metrics,  # wandb [metrics] only\n")
    text = text.replace("import wandb\n", "import wandb\nfrom os.path import (\n    join,\n    exists,\n)\n")
    ast.parse(text)
    extended = extend_module(text, [spec_for_metrics("LogSummary"), spec_for_movable(movable)])
    module = ast.parse(extended)  # no SyntaxError
    handlers = next(n.value for n in module.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "HANDLERS")
    assert [e.id for e in handlers.elts] == ["handle_log_metrics", "handle_log_summary", "handle_load_numpy_array"]
    assert "# wandb [metrics] only" in extended and "import numpy as np" in extended


# -- F22/F23: doeff code gets nothing it cannot run ------------------------------------------------------------------


def test_doeff_run_is_not_given_handlers_and_is_flagged_dm403():
    result = recording(
        "from doeff import do, run\n\n@do\ndef add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n    print(run(add(1, 2)))\n",
        "from doeff import do, run\n\n@do\ndef add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n"
        "    # doeff-migrate: DM403: doeff's run/with_handlers: not wired for recording (the recorder is the bundled runtime's)\n"
        "    print(run(add(1, 2)))\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM403"]


# -- F7b: a stack a handler installs is not wired a second time ----------------------------------------------------


def test_with_handlers_inside_a_handler_is_not_wired():
    tools.check_noop(
        "from doeff_migrate.runtime import Resume, handler, with_handlers\n\n@handler\ndef outer(effect, k):\n"
        "    v = yield with_handlers([double], sub(effect.x))\n    return (yield Resume(k, v))\n",
        path="pkg/mod.py", phases=("recording",),
    )


def test_doeff_code_keeps_its_io_and_is_flagged_dm319():
    source = (
        "import numpy as np\nfrom doeff import do, run\n\n@do\ndef total():\n    w = np.load(\"w.npy\")\n    return float(w.sum())\n\n"
        "main = total()\n"
    )
    result = io(source, source.replace("@do\n", "# doeff-migrate: DM319: doeff code: IO calls stay (the effects and handlers the io phase writes need the bundled runtime)\n@do\n"),
                path="pkg/mod.py")
    assert codes(result) == ["DM319"] and not result.effects


# -- F18: np.load of an archive is not moved -----------------------------------------------------------------------


def test_npz_archive_load_is_left_and_flagged_dm320():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(p):\n"
        "    with np.load(p) as data:\n        a = data[\"a\"]\n    z = np.load(\"z.npz\")\n    return a, z\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM320: np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded\n"
        "    with np.load(p) as data:\n        a = data[\"a\"]\n"
        "    # doeff-migrate: DM320: np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded\n"
        "    z = np.load(\"z.npz\")\n    return a, z\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM320", "DM320"]


# -- M1/M3 (minor) ------------------------------------------------------------------------------------------------


def test_comprehension_variable_used_again_gets_a_fresh_loop_variable():
    compute(
        RAY_HEAD + "\n@ray.remote\ndef _score(i):\n    return i\n\n@do\ndef f(n):\n    refs = [_score.remote(i) for i in range(n) if i]\n"
        "    scores = ray.get(refs)\n    for i, s in enumerate(scores):\n        print(i, s)\n    return scores\n",
        "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"
        "\n@ray.remote\ndef _score(i):\n    return i\n\n@do\ndef f(n):\n    refs = []\n    for _doeff_migrate_item in range(n):\n"
        "        if _doeff_migrate_item:\n            refs.append((yield Spawn(ray_task(_score)(_doeff_migrate_item))))\n"
        "    scores = yield Gather(*refs)\n    for i, s in enumerate(scores):\n        print(i, s)\n    return scores\n",
    )


def test_async_def_under_do_is_not_effectful_code():
    tools.check_noop(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\nasync def load(path):\n    return np.load(path)\n",
        path="pkg/mod.py", phases=("compute", "io", "recording"),
    )


def test_io_in_a_nested_default_or_class_body_is_flagged_dm314():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(path):\n"
        "    def helper(a=np.load(path)):\n        return a\n    class Box:\n        data = np.load(path)\n    return helper(), Box.data\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(path):\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` in a nested function's defaults or decorators inside effectful code: left as it is, where `yield` cannot go\n"
        "    def helper(a=np.load(path)):\n        return a\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` in a class body inside effectful code: left as it is, where `yield` cannot go\n"
        "    class Box:\n        data = np.load(path)\n    return helper(), Box.data\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM314", "DM314"]


def test_pool_whose_block_branches_is_left_and_flagged_dm212():
    result = compute(
        POOL_HEAD + "\n@do\ndef f(xs, check):\n    with ThreadPoolExecutor() as ex:\n        t = ex.submit(len, xs)\n"
        "        if check:\n            n = t.result()\n    return 1\n",
        POOL_HEAD + "\n@do\ndef f(xs, check):\n"
        "    # doeff-migrate: DM212: the pool's block holds an `if`: a task it may not wait for is still waited by the block's end, which a rewrite without the pool would not do\n"
        "    with ThreadPoolExecutor() as ex:\n        t = ex.submit(len, xs)\n        if check:\n            n = t.result()\n    return 1\n",
    )
    assert codes(result) == ["DM212"]


# -- F32 (user-built recorders): a recorder first in run's stack moves inside the package's handlers -----------------

NP_TRAIN = "@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"


def test_users_own_recorder_first_in_the_stack_moves_inside_the_handlers():
    io(
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n\n" + NP_TRAIN
        + "if __name__ == \"__main__\":\n    run(train(2), handlers=[RecordingHandler(\"a.jsonl\"), print])\n",
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run, with_handlers\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, with_effect_handlers\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n__doeff_handlers__ = HANDLERS\n\n"
        "if __name__ == \"__main__\":\n"
        "    run(with_effect_handlers(with_handlers([RecordingHandler(\"a.jsonl\")], train(2))), handlers=[print])\n",
        path="pkg/mod.py",
    )


def test_users_own_recorder_after_another_handler_is_left_and_flagged_dm321():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n\n" + NP_TRAIN
        + "if __name__ == \"__main__\":\n    run(train(2), handlers=[print, RecordingHandler(\"a.jsonl\")])\n",
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n__doeff_handlers__ = HANDLERS\n\n"
        "if __name__ == \"__main__\":\n"
        "    # doeff-migrate: DM321: run(...) builds its own RecordingHandler/ReplayHandler after other handlers: the package's handlers are not installed here\n"
        "    run(train(2), handlers=[print, RecordingHandler(\"a.jsonl\")])\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM321"]


# -- F6 (other packages): a script runs programs of another package under that package's handlers -----------------


def test_script_outside_the_package_is_wired_with_the_packages_handlers(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "pipeline.py").write_text(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n" + NP_TRAIN)
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "go.py"
    source = "from doeff_migrate.runtime import run\nfrom proj.pipeline import train\n\ndef main():\n    print(run(train(2)))\n"
    script.write_text(source)
    result = tools.migrate_source(source, path=str(script), phases=("io", "recording"))
    assert "run(with_proj_effect_handlers(with_handlers([*recording_handlers()], train(2))))" in result.code
    assert "from proj.effects_handlers import with_effect_handlers as with_proj_effect_handlers" in result.code

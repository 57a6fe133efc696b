"""What the ``compute`` (DM2xx), ``io`` (DM3xx) and ``recording`` (DM4xx) phases leave as they were, and why.

The language server's rules in ``side_effects.py`` (DM201, DM301-DM311) report a direct side effect inside
a ``@do`` function; the codemod reuses those codes when it leaves such a call unchanged for the same
reason, and the rules here name the more specific cases it refuses to rewrite. Background: doeff's
scheduling effects (``Spawn``/``Wait``/``Gather``) and the effects the io phase declares.
"""

from __future__ import annotations

from . import Invalid, Rule, Valid, register

_LEFT = "The codemod leaves the code exactly as it was and writes this flag; nothing is rewritten."

RAY_ACTOR = register(
    Rule(
        code="DM202",
        name="ray-actor-in-effectful-code",
        message="Ray actor used in effectful code: state shared across calls has no Spawn form",
        what="Reports creating a Ray actor (`Cls.remote()` of a `@ray.remote` class) or calling its methods inside a `@do` function.",
        why=(
            "An actor keeps state between method calls on one process. `Spawn` runs independent programs; "
            "turning each method call into a task would lose that shared state and change results."
        ),
        example="@do\ndef count(xs):\n    c = Counter.remote()\n    for x in xs:\n        c.add.remote(x)\n    return ray.get(c.total.remote())",
        use_instead="@do\ndef count(xs):\n    total = yield Get(\"total\")  # keep the state in a state handler\n    ...",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    return ray.get(ray.remote(square).remote(x))
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do
                from models import Trainer

                @do
                def f(x):
                    return ray.remote(Trainer).remote(x)
                """, line=7),
        ),
    )
)

RAY_CLUSTER_SETUP = register(
    Rule(
        code="DM203",
        name="ray-cluster-setup-in-effectful-code",
        message="ray.init/ray.shutdown in effectful code: start Ray at the entry point and run under RayHandler",
        what="Reports `ray.init(...)`, `ray.shutdown()` and `ray.is_initialized()` inside a `@do` function.",
        why=(
            "Cluster setup (addresses, resources, runtime environments) is configuration of the process, not "
            "an effect of the program: its options have no `Spawn` equivalent, and a replay must not start Ray."
        ),
        example="@do\ndef sweep(cfgs):\n    ray.init(num_cpus=4)\n    ...",
        use_instead="ray.init(num_cpus=4)\nrun(sweep(cfgs), handlers=[RayHandler()])",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f():
                    ray.init()  # noqa: DM203
                    return 1
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f():
                    ray.init(num_cpus=4)
                    return 1
                """, line=6),
        ),
    )
)

RAY_PLACEMENT_GROUP = register(
    Rule(
        code="DM204",
        name="ray-placement-group",
        message="Ray placement group: gang scheduling has no Spawn form",
        what="Reports `placement_group(...)`, `remove_placement_group(...)` and `PlacementGroupSchedulingStrategy` in a `@do` function.",
        why="A placement group reserves resources for several tasks at once; independent `Spawn`s cannot express that.",
        example="@do\ndef train(cfg):\n    pg = placement_group([{\"GPU\": 1}] * 4)\n    ...",
        use_instead="Keep the placement group in plain code at the entry point; spawn with `scheduling_strategy=...`.",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do
                from myio import open

                @do
                def f(p):
                    with open(p) as fh:
                        return fh.read()
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do
                from ray.util import placement_group

                @do
                def f():
                    pg = placement_group([{'GPU': 1}])
                    return pg
                """, line=7),
        ),
    )
)

UNTRACED_OBJECT_REF = register(
    Rule(
        code="DM205",
        name="untraced-ray-object-ref",
        message="ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn",
        what=(
            "Reports `ray.get(x)` when `x` is not (a list of) tasks spawned by the rewritten code of the same "
            "function, `ray.wait(...)` (whose ready/not-ready split has no `Gather` form) and `ray.put(...)`."
        ),
        why=(
            "`Wait`/`Gather` accept the tasks `Spawn` answers, not Ray object references: rewriting a `ray.get` "
            "of a reference made elsewhere would fail at run time."
        ),
        example="@do\ndef total(refs):\n    return sum(ray.get(refs))",
        use_instead="@do\ndef total(tasks):\n    return sum((yield Gather(*tasks)))",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(ray, x):
                    return ray.get(x)
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(refs, x):
                    ready, rest = ray.wait(refs)
                    return ray.put(x)
                """, line=6),
        ),
    )
)

SHARED_REMOTE_FUNCTION = register(
    Rule(
        code="DM206",
        name="remote-function-bound-again",
        message="@ray.remote function bound again at module level: the codemod cannot tell which object `.remote` reaches",
        what=(
            "Reports `f.remote(...)` of a `@ray.remote` function of the same file when `f` is bound again at module "
            "level (`f = f.options(num_gpus=1)`, a second `def f`, an import under the same name)."
        ),
        why=(
            "The rewrite spawns `ray_task(f)(...)` with the object `f` names; when the name is bound twice, which "
            "options (or which function) the call used depends on the order of execution, so it is left as it is."
        ),
        example="@ray.remote\ndef train(cfg): ...\n\ntrain = train.options(num_gpus=1)\n\n@do\ndef sweep(cfgs):\n    return ray.get([train.remote(c) for c in cfgs])",
        use_instead=(
            "@ray.remote(num_gpus=1)\ndef train(cfg): ...\n\n@do\ndef sweep(cfgs):\n    tasks = []\n    for c in cfgs:\n"
            "        tasks.append((yield Spawn(ray_task(train)(c))))\n    return (yield Gather(*tasks))"
        ),
        fix_safety=_LEFT + " Give the second binding its own name and run the phase again.",
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @ray.remote
                def _train(cfg):
                    return cfg

                def sweep(cfgs):
                    return ray.get([_train.remote(c) for c in cfgs])
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @ray.remote
                def _train(cfg):
                    return cfg

                _train = _train.options(num_cpus=2)

                @do
                def sweep(c):
                    return ray.get(_train.remote(c))
                """, line=12),
        ),
    )
)

REMOTE_CALL_IN_EXPRESSION = register(
    Rule(
        code="DM207",
        name="remote-call-in-expression",
        message="Remote call where a `yield` cannot go (comprehension, lambda, nested expression)",
        what=(
            "Reports `.remote(...)` calls the codemod could translate but not where they stand: inside a "
            "comprehension other than `refs = [f.remote(x) for x in xs]` on its own line, a lambda, or "
            "another call's arguments."
        ),
        why="`yield` is not allowed inside comprehensions and lambdas; moving the call would change evaluation order.",
        example="@do\ndef sweep(cfgs):\n    return ray.get([f.remote(c) for c in cfgs if ok(f.remote(c))])",
        use_instead="Assign the list of refs on its own line (`refs = [f.remote(c) for c in cfgs]`), then `ray.get(refs)`.",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    return ray.get(ray.remote(square).remote(x))
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                def sq(x):
                    return x

                @do
                def f(xs):
                    return ray.get([ray.remote(sq).remote(x) for x in xs])
                """, line=9),
        ),
    )
)

REMOTE_CALL_ON_UNKNOWN_OBJECT = register(
    Rule(
        code="DM208",
        name="remote-call-on-unknown-object",
        message="`.remote(...)` on an object the codemod cannot resolve",
        what=(
            "Reports `x.remote(...)` / `x.options(...).remote(...)` in a `@do` function when `x` is not a "
            "`@ray.remote` function of the same file nor `ray.remote(f)` (attributes of unknown objects, "
            "imported remote functions, parameters)."
        ),
        why="Without knowing what `x` is (function, actor method, something else), no rewrite is faithful.",
        example="@do\ndef run_all(self, xs):\n    return ray.get([self.worker.remote(x) for x in xs])",
        use_instead="Spawn the function as a Ray task: `yield Spawn(ray_task(work)(x))` (`from doeff_migrate.runtime.ray_backend import ray_task`).",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(ray, x):
                    return ray.get(x)
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(self, x):
                    return self.worker.remote(x)
                """, line=6),
        ),
    )
)

EXECUTOR_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM209",
        name="executor-in-effectful-code",
        message="concurrent.futures executor in effectful code: use Spawn(call_in_thread(...)) + Gather",
        what=(
            "Reports a `ProcessPoolExecutor` (or a `ThreadPoolExecutor` not bound by `with ... as ex`) inside a `@do` "
            "function, and uses of a thread pool other than the ones the codemod rewrites (`ex.submit(f, ...)` "
            "whose futures reach `.result()`, `list(ex.map(f, xs))`)."
        ),
        why=(
            "Work sent to an executor is invisible to the scheduler, to recordings and to replays. "
            "`Spawn(call_in_thread(f, x))` (from the generated `effects_handlers.py`) runs on the runtime's "
            "thread pool and is recorded."
        ),
        example="@do\ndef embed_all(xs):\n    with ThreadPoolExecutor() as ex:\n        return list(ex.map(embed, xs))",
        use_instead=(
            "@do\ndef embed_all(xs):\n    tasks = []\n    for x in xs:\n        tasks.append((yield Spawn(call_in_thread(embed, x))))\n"
            "    return (yield Gather(*tasks))"
        ),
        fix_safety=_LEFT + " Executors' shutdown and error semantics differ from tasks', so the rewrite is left to you.",
        phase="compute",
        valid=(
            Valid("""
                from concurrent.futures import ThreadPoolExecutor
                from doeff_migrate.runtime import do

                @do
                def f(xs):
                    with ThreadPoolExecutor(max_workers=1) as ex:
                        return list(ex.map(len, xs))
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do
                from concurrent.futures import ThreadPoolExecutor

                @do
                def f(xs):
                    with ThreadPoolExecutor() as ex:
                        return list(ex.map(str, xs))
                """, line=8),
        ),
    )
)

EVENT_LOOP_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM210",
        name="event-loop-in-effectful-code",
        message="asyncio event loop managed by effectful code: await coroutines with `yield Await(coro)`",
        what=(
            "Reports `asyncio.run(...)`, `asyncio.get_event_loop()`, `asyncio.new_event_loop()` and "
            "`asyncio.run_coroutine_threadsafe(...)` inside a `@do` function."
        ),
        why=(
            "The runtime owns the event loop its `Await` effects run on; a second loop driven from a program "
            "blocks the scheduler and is invisible to recordings. Yet `asyncio.run(coro)` is not `yield Await(coro)`: "
            "it blocks the whole program until the coroutine ends (no other task runs in between) and cancels the "
            "tasks the coroutine left behind when it returns, where `Await` is a switch point and leftover tasks "
            "keep running on the runtime's loop. So the codemod leaves it; rewrite it when neither matters."
        ),
        example="@do\ndef fetch_all(urls):\n    loop = asyncio.new_event_loop()\n    return loop.run_until_complete(gather_pages(urls))",
        use_instead="@do\ndef fetch_all(urls):\n    return (yield Await(gather_pages(urls)))",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(ray, x):
                    return ray.get(x)
                """),
        ),
        invalid=(
            Invalid("""
                import asyncio
                from doeff_migrate.runtime import do

                @do
                def f(coro):
                    return asyncio.run(coro, debug=True)
                """, line=6),
        ),
    )
)

THREAD_POOL_WITH_OPTIONS = register(
    Rule(
        code="DM211",
        name="thread-pool-with-options",
        message="ThreadPoolExecutor given max_workers/initializer/...: the pool stays (spawns have no worker limit)",
        what=(
            "Reports a `with ThreadPoolExecutor(...) as ex:` in a `@do` function whose constructor has arguments "
            "(`max_workers`, `thread_name_prefix`, `initializer`, `initargs`). The pool and its uses are left as they are."
        ),
        why=(
            "The `compute` phase turns a pool's tasks into `Spawn(call_in_thread(f, x))`, which run on the runtime's "
            "shared thread pool with no limit of their own. `max_workers=1` is the usual way to serialise calls to "
            "code that is not thread-safe (a file, a GPU, a client) and `max_workers=N` throttles; an `initializer` "
            "sets up each worker thread. None of this survives the rewrite: the tasks would run concurrently (or "
            "fewer at once than the pool allowed, deadlocking tasks that wait for each other)."
        ),
        example="@do\ndef write_all(rows):\n    with ThreadPoolExecutor(max_workers=1) as ex:\n        return list(ex.map(append_row, rows))",
        use_instead=(
            "@do\ndef write_all(rows):\n    out = []\n    for row in rows:  # serial, as max_workers=1 was\n"
            "        out.append((yield Wait((yield Spawn(call_in_thread(append_row, row))))))\n    return out"
        ),
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                from concurrent.futures import ThreadPoolExecutor
                from doeff_migrate.runtime import do

                @do
                def f(xs):
                    # embed in parallel
                    with ThreadPoolExecutor() as ex:
                        ys = list(ex.map(len, xs))
                    return ys
                """),
        ),
        invalid=(
            Invalid("""
                from concurrent.futures import ThreadPoolExecutor
                from doeff_migrate.runtime import do

                @do
                def f(xs):
                    with ThreadPoolExecutor(max_workers=1) as ex:
                        return list(ex.map(len, xs))
                """, line=6),
        ),
    )
)

POOL_TASKS_USED_AFTER_BLOCK = register(
    Rule(
        code="DM212",
        name="pool-tasks-used-after-with-block",
        message="Tasks of a ThreadPoolExecutor may outlive its `with` block once rewritten: the pool stays",
        what=(
            "Reports a `with ThreadPoolExecutor() as ex:` in a `@do` function whose futures (`t = ex.submit(...)`, "
            "`ts = [ex.submit(...) for ...]`) are used after the block, or whose block branches (`if`, loops, "
            "`match`), so that a task may be left unwaited. The pool and its uses are left as they are."
        ),
        why=(
            "Leaving the `with` block waits for every task (`shutdown(wait=True)`), so the code after it runs once all "
            "the work is done. The rewrite removes the pool and keeps only the waits the code wrote: with waits after "
            "the block (or skipped by a branch), code after the block (a log line, reading the files the tasks wrote, "
            "timing) would run before the work is done."
        ),
        example=(
            "@do\ndef build(parts):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(render, p) for p in parts]\n"
            "    print(\"all rendered\")\n    return [t.result() for t in ts]"
        ),
        use_instead=(
            "@do\ndef build(parts):\n    with ThreadPoolExecutor() as ex:\n        ts = [ex.submit(render, p) for p in parts]\n"
            "        ys = [t.result() for t in ts]\n    print(\"all rendered\")\n    return ys  # then run the compute phase again"
        ),
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                from concurrent.futures import ThreadPoolExecutor
                from doeff_migrate.runtime import do

                @do
                def f(xs):
                    with ThreadPoolExecutor(max_workers=1) as ex:
                        return list(ex.map(len, xs))
                """),
        ),
        invalid=(
            Invalid("""
                from concurrent.futures import ThreadPoolExecutor
                from doeff_migrate.runtime import do

                @do
                def f(xs, check):
                    with ThreadPoolExecutor() as ex:
                        t = ex.submit(len, xs)
                        if check:
                            n = t.result()
                    return 1
                """, line=6),
        ),
    )
)

DOEFF_CODE_KEEPS_RAY = register(
    Rule(
        code="DM213",
        name="doeff-code-keeps-ray-and-pools",
        message="doeff code: Ray tasks and thread pools stay (what the compute phase writes needs the bundled runtime)",
        what=(
            "Reports a `@do` function that runs on doeff (`--target doeff`, or `from doeff import do`) whose Ray "
            "tasks or thread pools the `compute` phase would rewrite for the bundled runtime."
        ),
        why=(
            "The rewrite spawns `ray_task(f)(x)` / `call_in_thread(f, x)`, programs of the bundled runtime "
            "(`doeff_migrate.runtime`); doeff cannot run them, so the migrated function would fail at its first "
            "spawn. The function is left exactly as it was."
        ),
        example="from doeff import do\n\n@do\ndef sweep(xs):\n    return ray.get([_score.remote(x) for x in xs])",
        use_instead="Run the function on the bundled runtime (`from doeff_migrate.runtime import do`), then run the phase again.",
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    return ray.get(ray.remote(square).remote(x))
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    t = ray.remote(square).remote(x)
                    return ray.get(t)
                """, line=7),
        ),
    )
)

TASKS_UNDER_LOCK = register(
    Rule(
        code="DM214",
        name="ray-or-pool-under-lock",
        message="Ray task or thread pool inside a `with <lock>:` block: left as it is (a wait there would deadlock)",
        what=(
            "Reports a `with` block over a lock (`threading.Lock/RLock/Semaphore/Condition`, `filelock.FileLock`, a "
            "module-level name bound to one, or a name that says it is a lock) inside a `@do` function when the block "
            "holds Ray calls or thread-pool tasks the `compute` phase would rewrite. Nothing in the block is rewritten."
        ),
        why=(
            "`yield Wait(...)` parks the task while it holds the lock and lets the scheduler run another task on the "
            "same thread; when that task reaches `with lock:` it blocks the scheduler's thread, so the holder never "
            "resumes: the program hangs where the original only waited for the lock."
        ),
        example="LOCK = threading.Lock()\n\n@do\ndef worker(i):\n    with LOCK:\n        return ray.get(_square.remote(i))",
        use_instead=(
            "@do\ndef worker(i):\n    value = yield Wait((yield Spawn(ray_task(_square)(i))))  # outside the lock\n"
            "    with LOCK:\n        ...  # only the work that needs it"
        ),
        fix_safety=_LEFT,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @ray.remote
                def _t(x):
                    return x

                @do
                def f():
                    r = _t.remote(1)
                    later = lambda: ray.get(r)
                    return later()
                """),
        ),
        invalid=(
            Invalid("""
                import threading
                import ray
                from doeff_migrate.runtime import do

                LOCK = threading.Lock()

                @ray.remote
                def _square(x):
                    return x * x

                @do
                def worker(i):
                    with LOCK:
                        v = ray.get(_square.remote(i))
                    return v
                """, line=13),
        ),
    )
)

CACHE_ON_EFFECTFUL_FUNCTION = register(
    Rule(
        code="DM312",
        name="cache-decorator-on-effectful-function",
        message="functools cache on a @do function caches the program object, not its result",
        what="Reports `@functools.lru_cache` / `@functools.cache` / `@cached_property` stacked on a `@do` function.",
        why=(
            "Calling a `@do` function only builds a program; the cache hands out the same program and its "
            "body runs again on every `yield` (its side effects too, and each caller gets a fresh result). "
            "Caching results instead (`CacheGet`/`CachePut`) would run the body once and share one result "
            "object between callers: fewer side effects and shared mutations the code never had. So the "
            "codemod leaves the decorator as it is; decide which behaviour you want."
        ),
        example="@functools.cache\n@do\ndef embed(text):\n    ...",
        use_instead=(
            "@do\ndef embed(text):\n    try:\n        return (yield CacheGet((\"embed\", text)))\n    except KeyError:\n"
            "        pass\n    value = ...\n    yield CachePut((\"embed\", text), value)\n    return value"
        ),
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do

                @do
                def f(x):
                    return x
                """),
        ),
        invalid=(
            Invalid("""
                import functools
                from doeff_migrate.runtime import do

                @functools.cache
                @do
                def load(x):
                    return [x]
                """, path='pkg/mod.py', line=4),
        ),
    )
)

EXPLICIT_CACHE_CALL = register(
    Rule(
        code="DM313",
        name="explicit-cache-call",
        message="cache.get/cache.set on a cache object in effectful code",
        what=(
            "Reports `<cache>.get(key)`, `.set(key, value)` and `.put(...)` inside a `@do` function when the "
            "object's name says it is a cache (`cache`, `*_cache`)."
        ),
        why=(
            "A cache object's miss value, expiry and key encoding are its own, and `CacheGet` raises `KeyError` "
            "on a miss where `cache.get` returns `None`: no rewrite keeps the behaviour without knowing the "
            "object, so the call is flagged for you to move onto `CacheGet`/`CachePut` and a cache handler "
            "(`memory_cache()`, `DiskCacheHandler(dir)`)."
        ),
        example="@do\ndef embed(text):\n    hit = cache.get(text)\n    ...",
        use_instead="@do\ndef embed(text):\n    try:\n        hit = yield CacheGet(text)\n    except KeyError:\n        hit = None",
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do

                @do
                def f(x):
                    return x
                """),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do

                @do
                def f(embed_cache, text):
                    hit = embed_cache.get(text)
                    return hit
                """, path='pkg/mod.py', line=5),
        ),
    )
)

IO_CALL_NOT_MOVABLE = register(
    Rule(
        code="DM314",
        name="io-call-not-movable",
        message="IO call whose arguments the codemod cannot move into an effect",
        what=(
            "Reports a catalogued call the `io` phase knows how to move (`torch.load`, `np.save`, `requests.get`, "
            "...) when its arguments have another shape (`*args`, `**kwargs`, more positional arguments), or "
            "when it stands where a `yield` cannot go (comprehension, lambda, a nested function's defaults or "
            "decorators, a class body inside the function)."
        ),
        why="Moving it would mean guessing which argument is which; a wrong guess changes what is loaded or saved.",
        example="@do\ndef load(args):\n    return torch.load(*args)",
        use_instead="@do\ndef load(path):\n    return (yield LoadTorchCheckpoint(path))",
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do

                @do
                def f(path):
                    return torch.load(path)
                """),
        ),
        invalid=(
            Invalid("""
                import torch
                from doeff_migrate.runtime import do

                @do
                def f(args):
                    return torch.load(*args)
                """, path='pkg/mod.py', line=6),
        ),
    )
)

IO_HANDLE_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM316",
        name="io-handle-in-effectful-code",
        message="File/database handle opened in effectful code: its reads and writes stay direct",
        what="Reports `h5py.File(...)` and `lmdb.open(...)` inside a `@do` function (other `open(...)` uses: DM303).",
        why=(
            "The handle is used by the code after it (`f[\"x\"][:]`, `txn.get(k)`, `f.readline()`): moving only the open "
            "into an effect would leave every read direct, and moving the reads means knowing what they are. "
            "The codemod moves the whole-file forms (`with open(p) as f: x = f.read()`, `json.load(f)`, "
            "`pickle.load(f)`, and their writes) and flags the rest."
        ),
        example='@do\ndef features(path):\n    with h5py.File(path, "r") as f:\n        return f["x"][:]',
        use_instead=(
            "def _read_features(path):\n    with h5py.File(path, \"r\") as f:\n        return f[\"x\"][:]\n\n"
            "@do\ndef features(path):\n    return (yield RunInThread(_read_features, path))"
        ),
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(p, refs):
                    a = np.load(p)
                    return a, ray.get(refs)
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import h5py
                import lmdb
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    env = lmdb.open(p)
                    return env
                """, path='pkg/mod.py', line=7),
        ),
    )
)

UNRESOLVED_CLIENT_CALL = register(
    Rule(
        code="DM317",
        name="api-call-through-unresolved-object",
        message="Looks like an API client call through an object the codemod cannot trace to its library",
        what=(
            "Reports, in a file that imports an LLM/API client library, calls such as `x.chat.completions.create(...)` "
            "or `self.client.messages.create(...)` inside a `@do` function where `x` is not a client built at "
            "module level from that library (a parameter, a local, an attribute)."
        ),
        why=(
            "Only the calls through a module-level `client = Library(...)` are known to be the library's; anything "
            "else may be any object, so rewriting it would be a guess."
        ),
        example="@do\ndef ask(client, q):\n    return client.chat.completions.create(messages=[q])",
        use_instead=(
            "client = OpenAI()\n\n@do\ndef ask(q):\n    return client.chat.completions.create(messages=[q])  "
            "# then run the io phase again"
        ),
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                from openai import OpenAI
                from doeff_migrate.runtime import do

                client = OpenAI()


                @do
                def ask(q):
                    r = client.chat.completions.create(model="m", messages=[q])
                    return r
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import openai
                from doeff_migrate.runtime import do

                @do
                def ask(client, q):
                    local = openai.OpenAI()
                    a = client.chat.completions.create(messages=[q])
                    b = local.messages.create(messages=[q])
                    return a, b
                """, path='pkg/mod.py', line=7),
        ),
    )
)

IO_NAME_BOUND_SEVERAL_WAYS = register(
    Rule(
        code="DM318",
        name="io-name-bound-several-ways",
        message="IO call through a name the module binds several ways: which library it reaches is not known",
        what=(
            "Reports a catalogued IO call (`np.save`, `torch.load`, `wandb.log`, ...) inside a `@do` function when the "
            "name it goes through is bound more than once at module level: alternative imports (`try: import cupy as "
            "np` / `except ImportError: import numpy as np`, `if GPU: ... else: ...`) or an import rebound by an "
            "assignment or definition (`np = FakeStore()`)."
        ),
        why=(
            "The generated handler would call one fixed library (`numpy.save`), while the code called whichever "
            "module the name held at run time (cupy on a GPU machine): results of another type, or a different store."
        ),
        example="try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\n\n@do\ndef save(w):\n    np.save(\"w.npy\", w)",
        use_instead="Import the library the IO must use under its own name (`import numpy`), call it through that name, and run the phase again.",
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def f(np, path):
                    return np.load(path)
                """),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                np = object()

                @do
                def f():
                    return np.load("w.npy")
                """, path='pkg/mod.py', line=8),
        ),
    )
)

DOEFF_CODE_KEEPS_IO = register(
    Rule(
        code="DM319",
        name="doeff-code-keeps-io",
        message="doeff code: IO calls stay (the effects and handlers the io phase writes need the bundled runtime)",
        what=(
            "Reports a `@do` function that runs on doeff (`--target doeff`, or `from doeff import do`) holding IO the "
            "`io` phase would move (wandb, checkpoints, files, HTTP/API calls). The function is left exactly as it was."
        ),
        why=(
            "The phase writes effects and `@handler`s of the bundled runtime (`doeff_migrate.runtime`) and installs "
            "them with `with_effect_handlers`/`__doeff_handlers__`; doeff cannot run those handlers, so the migrated "
            "program would fail at its first IO call."
        ),
        example="from doeff import do\n\n@do\ndef total():\n    w = np.load(\"w.npy\")\n    return float(w.sum())",
        use_instead="Run the function on the bundled runtime (`from doeff_migrate.runtime import do`), then run the phase again.",
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(p, refs):
                    a = np.load(p)
                    return a, ray.get(refs)
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff import do, run

                @do
                def total():
                    w = np.load("w.npy")
                    return float(w.sum())

                main = total()
                """, path='pkg/mod.py', line=4),
        ),
    )
)

NPZ_LOAD_NOT_MOVABLE = register(
    Rule(
        code="DM320",
        name="npz-archive-load-not-movable",
        message="np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded",
        what=(
            "Reports `np.load(...)` inside a `@do` function when its path is a literal `.npz` name or the call is the "
            "context manager of a `with` statement (`with np.load(p) as data:`). Other `np.load` calls are moved."
        ),
        why=(
            "An archive loads as a lazy `NpzFile` holding an open file. Moved into `LoadNumpyArray`, its answer would be "
            "that object, which a recording can neither store nor a replay give back: `--record` would stop at it."
        ),
        example="@do\ndef load():\n    with np.load(\"z.npz\") as data:\n        return data[\"a\"]",
        use_instead=(
            "def _read_archive(path):\n    with np.load(path) as data:\n        return {k: data[k] for k in data.files}\n\n"
            "@do\ndef load():\n    return (yield RunInThread(_read_archive, \"z.npz\"))[\"a\"]"
        ),
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                import pickle
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    with open(p) as fh:
                        text = fh.read()
                    return fh.name
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    with np.load(p) as data:
                        a = data["a"]
                    z = np.load("z.npz")
                    return a, z
                """, path='pkg/mod.py', line=6),
        ),
    )
)

RUN_WITH_INNER_RECORDER = register(
    Rule(
        code="DM321",
        name="run-with-own-recorder-not-innermost",
        message="run(...) builds its own RecordingHandler/ReplayHandler after other handlers: the package's handlers are not installed here",
        what=(
            "Reports a `run(program, handlers=[...])` outside effectful code, in a module whose programs yield the "
            "effects the `io` phase introduced, whose handler list has a `RecordingHandler`/`ReplayHandler` (or "
            "`*recording_handlers()`) after another handler. The call is left as it is."
        ),
        why=(
            "The package's handlers (`with_effect_handlers`) answer the new effects right around the program, inside "
            "every handler of `run`; a recorder listed there would see none of them (a replay would redo the IO). A "
            "recorder first in the list is moved inside them (`with_handlers([recorder], program)`); one after another "
            "handler cannot move without changing what that handler sees."
        ),
        example="run(train(), handlers=[GPUHandler(), RecordingHandler(\"runs/a.jsonl\")])",
        use_instead="run(with_effect_handlers(with_handlers([RecordingHandler(\"runs/a.jsonl\")], train())), handlers=[GPUHandler()])",
        fix_safety=_LEFT,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import RecordingHandler, do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2), handlers=[RecordingHandler("a.jsonl"), print])
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import RecordingHandler, do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2), handlers=[print, RecordingHandler("a.jsonl")])
                """, path='pkg/mod.py', line=9),
        ),
    )
)

HANDLER_STACK_NOT_LITERAL = register(
    Rule(
        code="DM401",
        name="handler-stack-not-literal",
        message="Handler stack is not a list literal: add `*recording_handlers()` yourself",
        what=(
            "Reports `run(program, handlers=<expression>)` and `with_handlers(<expression>, program)` where the "
            "handler stack is built elsewhere, so the `recording` phase cannot insert the recording wiring."
        ),
        why=(
            "Without the wiring, `DOEFF_MIGRATE_RECORD=runs/x.jsonl` (what `--record` sets) records nothing "
            "for this entry point."
        ),
        example="stack = [WandbHandler()]\nrun(train(), handlers=stack)",
        use_instead="run(train(), handlers=[*recording_handlers(), *stack])",
        fix_safety=_LEFT,
        phase="recording",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                main = with_handlers([WandbHandler()], train())
                """, path='pkg/main.py'),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                main = with_handlers(STACK, train())
                """, path='pkg/main.py', line=4),
        ),
    )
)

HANDLER_STACK_WITH_OWN_RECORDING = register(
    Rule(
        code="DM402",
        name="handler-stack-with-own-recording",
        message="Handler stack already builds a RecordingHandler/ReplayHandler: left as written",
        what="Reports a `run(..., handlers=[...])` / `with_handlers([...], ...)` whose list already has a recording or replay handler.",
        why="Two recorders would write two files and a replay under a recorder would record the replay.",
        example='run(train(), handlers=[RecordingHandler("runs/a.jsonl"), WandbHandler()])',
        use_instead="run(train(), handlers=[*recording_handlers(), WandbHandler()])",
        fix_safety=_LEFT,
        phase="recording",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                def main():
                    return run(train(), handlers=[WandbHandler(project='x')])
                """, path='pkg/main.py'),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler
                from doeff_migrate.runtime.recording import RecordingHandler

                run(train(), handlers=[RecordingHandler('a.jsonl')])
                """, path='pkg/main.py', line=5),
        ),
    )
)

DOEFF_RUN_NOT_WIRED = register(
    Rule(
        code="DM403",
        name="doeff-run-not-wired-for-recording",
        message="doeff's run/with_handlers: not wired for recording (the recorder is the bundled runtime's)",
        what="Reports `doeff.run(...)` and `doeff.with_handlers(...)` outside effectful code: the `recording` phase leaves them as they are.",
        why=(
            "The wiring adds `*recording_handlers()`, the bundled runtime's `RecordingHandler`/`ReplayHandler`, as "
            "`handlers=[...]`; doeff's `run` takes only the program and doeff cannot install those handlers, so the "
            "wired call would fail on every run, recording or not."
        ),
        example="from doeff import run\n\nif __name__ == \"__main__\":\n    print(run(train(3)))",
        use_instead="Run the entry point with `python -m doeff_migrate.runtime run pkg.mod.main --record runs/x.jsonl`, or record with doeff's own tools.",
        fix_safety=_LEFT,
        phase="recording",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2))
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                from doeff import do, run

                @do
                def add(a, b):
                    return a + b

                if __name__ == "__main__":
                    print(run(add(1, 2)))
                """, path='pkg/mod.py', line=8),
        ),
    )
)

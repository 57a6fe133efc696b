"""What the ``compute`` (DM2xx), ``io`` (DM3xx) and ``recording`` (DM4xx) phases leave as they were, and why.

The language server's rules in ``side_effects.py`` (DM201, DM301-DM311) report a direct side effect inside
a ``@do`` function; the codemod reuses those codes when it leaves such a call unchanged for the same
reason, and the rules here name the more specific cases it refuses to rewrite. Background: seed 000's
effect table (``ray.remote(fn).remote(args) -> yield Spawn(...)``, ``torch.load(path) -> yield ...``) and
doeff's scheduling effects (reference/doeff-api.md, ``Spawn``/``Wait``/``Gather``).
"""

from __future__ import annotations

from . import Rule, register

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
    )
)

SHARED_REMOTE_FUNCTION = register(
    Rule(
        code="DM206",
        name="shared-remote-function",
        message="@ray.remote function is used outside the calls the codemod rewrites: its decorator must stay",
        what=(
            "Reports `f.remote(...)` of a `@ray.remote` function of the same file when `f` is public (no leading "
            "underscore), listed in `__all__`, or used in other ways than `.remote(...)` calls inside `@do` functions."
        ),
        why=(
            "Spawning the plain function needs the `@ray.remote` decorator removed; other modules (or other code "
            "here) may still call `f.remote`, which would then fail."
        ),
        example="@ray.remote(num_gpus=1)\ndef train(cfg): ...\n\n@do\ndef sweep(cfgs):\n    return ray.get([train.remote(c) for c in cfgs])",
        use_instead=(
            "def _train(cfg): ...\n\n@do\ndef sweep(cfgs):\n    tasks = []\n    for c in cfgs:\n"
            "        tasks.append((yield Spawn(call_in_thread(_train, c), num_gpus=1)))\n    return (yield Gather(*tasks))"
        ),
        fix_safety=_LEFT + " Rename the function with a leading underscore (or stop sharing it) and run the phase again.",
        phase="compute",
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
        use_instead="Spawn the plain function: `yield Spawn(call_in_thread(work, x))` (`call_in_thread` from the generated `effects_handlers.py`).",
        fix_safety=_LEFT,
        phase="compute",
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
    )
)

EVENT_LOOP_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM210",
        name="event-loop-in-effectful-code",
        message="asyncio event loop managed by effectful code: await coroutines with `yield Await(coro)`",
        what=(
            "Reports `asyncio.get_event_loop()`, `asyncio.new_event_loop()`, `asyncio.run_coroutine_threadsafe(...)` "
            "and `asyncio.run(...)` with extra arguments inside a `@do` function (a plain `asyncio.run(coro)` is "
            "rewritten to `yield Await(coro)`)."
        ),
        why=(
            "The runtime owns the event loop its `Await` effects run on; a second loop driven from a program "
            "blocks the scheduler and is invisible to recordings."
        ),
        example="@do\ndef fetch_all(urls):\n    loop = asyncio.new_event_loop()\n    return loop.run_until_complete(gather_pages(urls))",
        use_instead="@do\ndef fetch_all(urls):\n    return (yield Await(gather_pages(urls)))",
        fix_safety=_LEFT,
        phase="compute",
    )
)

CACHE_ON_EFFECTFUL_FUNCTION = register(
    Rule(
        code="DM312",
        name="cache-decorator-on-effectful-function",
        message="functools cache on a @do function caches the program object, not its result",
        what="Reports `@functools.lru_cache` / `@functools.cache` / `@cached_property` stacked on a `@do` function.",
        why=(
            "Calling a `@do` function only builds a program; the cache then hands out the same program and its "
            "effects run again on every `yield`, unlike the cached call before migration."
        ),
        example="@lru_cache\n@do\ndef embed(text):\n    ...",
        use_instead=(
            "@do\ndef embed(text):\n    try:\n        return (yield CacheGet((\"embed\", text)))\n    except KeyError:\n"
            "        pass\n    value = ...\n    yield CachePut((\"embed\", text), value)\n    return value"
        ),
        fix_safety=_LEFT,
        phase="io",
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
            "when it stands where a `yield` cannot go (comprehension, lambda)."
        ),
        why="Moving it would mean guessing which argument is which; a wrong guess changes what is loaded or saved.",
        example="@do\ndef load(args):\n    return torch.load(*args)",
        use_instead="@do\ndef load(path):\n    return (yield LoadTorchCheckpoint(path))",
        fix_safety=_LEFT,
        phase="io",
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
    )
)

"""Rules of phase ``compute`` for thread pools, executors and event loops inside ``@do`` functions.

The phase rewrites a plain ``ThreadPoolExecutor`` block into ``Spawn(call_in_thread(...))`` + ``Gather``;
the cases below (pool options, tasks that outlive the block, waits under a lock, other executors and
event loops) would change scheduling or deadlock once rewritten, so they keep a flag instead.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..cases import RAY_NAME_IS_A_PARAMETER
from ..common import LEFT_AS_IS

_THREAD_POOL_WITH_MAX_WORKERS = """
from concurrent.futures import ThreadPoolExecutor
from doeff_migrate.runtime import do

@do
def f(xs):
    with ThreadPoolExecutor(max_workers=1) as ex:
        return list(ex.map(len, xs))
"""
"""A thread pool given ``max_workers`` in a ``@do`` function."""

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
        fix_safety=LEFT_AS_IS + " Executors' shutdown and error semantics differ from tasks', so the rewrite is left to you.",
        phase="compute",
        valid=(
            Valid(_THREAD_POOL_WITH_MAX_WORKERS),
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
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_NAME_IS_A_PARAMETER),
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
        fix_safety=LEFT_AS_IS,
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
            Invalid(_THREAD_POOL_WITH_MAX_WORKERS, line=6),
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
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(_THREAD_POOL_WITH_MAX_WORKERS),
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
        fix_safety=LEFT_AS_IS,
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

"""Concurrency under `scheduled`: Spawn/Wait/Gather/Race and Await, including the order in which
spawned tasks' side effects happen, on doeff 0.8.0 and on the runtime."""

import asyncio

import pytest

from compat_harness import Scenarios, check_scenario, raised, returned

SCENARIOS = Scenarios()
BUILT_IN_SCHEDULER = (
    "the runtime's plain run() answers Spawn/Wait/Gather/Race/Await itself; `scheduled` is an "
    "identity installer there (DESIGN.md runtime contract); doeff needs scheduled(...)"
)


def worker(api):
    """A @do worker that records when it starts and ends and returns a value derived from its name."""

    @api.do
    def work(name):
        api.trace.append(("start", name))
        api.trace.append(("end", name))
        return name.upper()
        yield

    return work


# doeff 0.8.0 (Rust scheduler) runs a spawned task at the Spawn, until it ends or blocks; only
# then does the spawner go on.
@SCENARIOS.add(returned("A", ("start", "a"), ("end", "a"), "spawned", "waited"))
def spawn_then_wait(api):
    work = worker(api)

    @api.do
    def main():
        task = yield api.Spawn(work("a"))
        api.trace.append("spawned")
        value = yield api.Wait(task)
        api.trace.append("waited")
        return value

    return api.run(api.scheduled(main()))


@SCENARIOS.add(
    returned(
        ["A", "B", "C"],
        ("start", "a"), ("end", "a"),
        ("start", "b"), ("end", "b"),
        ("start", "c"), ("end", "c"),
        "all spawned",
    )
)
def non_blocking_tasks_run_in_spawn_order(api):
    work = worker(api)

    @api.do
    def main():
        tasks = []
        for name in "abc":
            tasks.append((yield api.Spawn(work(name))))
        api.trace.append("all spawned")
        return (yield api.Gather(*tasks))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned([0, 1, 4, 9, 16]))
def gather_returns_values_in_task_order(api):
    @api.do
    def square(n):
        return n * n
        yield

    @api.do
    def main():
        tasks = []
        for n in range(5):
            tasks.append((yield api.Spawn(square(n))))
        return (yield api.Gather(*tasks))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(
    returned(
        ["slow", "fast"],
        ("begin", "fast"), ("done", "fast"), ("begin", "slow"), ("done", "slow"),
    )
)
def task_waiting_on_a_finished_task_goes_on(api):
    @api.do
    def fast():
        api.trace.append(("begin", "fast"))
        api.trace.append(("done", "fast"))
        return "fast"
        yield

    @api.do
    def slow(fast_task):
        api.trace.append(("begin", "slow"))
        yield api.Wait(fast_task)
        api.trace.append(("done", "slow"))
        return "slow"

    @api.do
    def main():
        fast_task = yield api.Spawn(fast())
        slow_task = yield api.Spawn(slow(fast_task))
        return (yield api.Gather(slow_task, fast_task))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned(("caught", "ValueError", "task failed")))
def wait_reraises_the_task_exception(api):
    @api.do
    def failing():
        raise ValueError("task failed")
        yield

    @api.do
    def main():
        task = yield api.Spawn(failing())
        try:
            yield api.Wait(task)
        except ValueError as exc:
            return ("caught", type(exc).__name__, str(exc))
        return "not raised"

    return api.run(api.scheduled(main()))


@SCENARIOS.add(raised("ValueError", "Exception"))
def gather_raises_a_task_exception(api):
    @api.do
    def ok():
        return 1
        yield

    @api.do
    def failing():
        raise ValueError("one of them failed")
        yield

    @api.do
    def main():
        a = yield api.Spawn(ok())
        b = yield api.Spawn(failing())
        return (yield api.Gather(a, b))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned("late"))
def race_of_finished_tasks_returns_the_first_listed(api):
    @api.do
    def quick():
        return "quick"
        yield

    @api.do
    def waits_for(other):
        yield api.Wait(other)
        return "late"

    @api.do
    def main():
        quick_task = yield api.Spawn(quick())
        late_task = yield api.Spawn(waits_for(quick_task))
        return (yield api.Race(late_task, quick_task))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned("fast"))
def race_returns_the_first_to_finish(api):
    async def sleep_then(seconds, value):
        await asyncio.sleep(seconds)
        return value

    @api.do
    def after(seconds, value):
        return (yield api.Await(sleep_then(seconds, value)))

    @api.do
    def main():
        slow_task = yield api.Spawn(after(0.2, "slow"))
        fast_task = yield api.Spawn(after(0.001, "fast"))
        return (yield api.Race(slow_task, fast_task))

    return api.run(api.scheduled(api.await_handler()(main())))


@SCENARIOS.add(
    returned(
        ["a", "b", "c"],
        ("start", "a"), ("asked", "a"), ("end", "a"), "spawned a",
        "blocker starts", "spawned blocker",
        ("start", "c"), ("asked", "c"), ("end", "c"), "spawned c",
        ("state", "c"), "blocker ends",
    )
)
def spawn_runs_the_child_until_it_blocks(api):
    @api.do
    def child(name):
        api.trace.append(("start", name))
        yield api.Ask("x")
        api.trace.append(("asked", name))
        yield api.Put("last", name)
        api.trace.append(("end", name))
        return name

    async def pause():
        await asyncio.sleep(0.01)

    @api.do
    def blocker():
        api.trace.append("blocker starts")
        yield api.Await(pause())
        api.trace.append("blocker ends")
        return "b"

    @api.do
    def main():
        a = yield api.Spawn(child("a"))
        api.trace.append("spawned a")
        b = yield api.Spawn(blocker())
        api.trace.append("spawned blocker")
        c = yield api.Spawn(child("c"))
        api.trace.append("spawned c")
        api.trace.append(("state", (yield api.Get("last"))))
        return (yield api.Gather(a, b, c))

    handled = api.await_handler()(api.state()(api.reader(env={"x": 1})(main())))
    return api.run(api.scheduled(handled))


@SCENARIOS.add(returned(["env-a", "env-b"], ("ask", "a"), ("ask", "b")))
def spawned_tasks_inherit_the_spawners_handlers(api):
    @api.do
    def asks(key):
        api.trace.append(("ask", key))
        return (yield api.Ask(key))

    @api.do
    def main():
        a = yield api.Spawn(asks("a"))
        b = yield api.Spawn(asks("b"))
        return (yield api.Gather(a, b))

    env = {"a": "env-a", "b": "env-b"}
    return api.run(api.scheduled(api.reader(env=env)(main())))


@SCENARIOS.add(returned([1, 2, 3]))
def spawned_tasks_share_state(api):
    @api.do
    def bump():
        current = yield api.Get("n")
        yield api.Put("n", (current or 0) + 1)
        return (yield api.Get("n"))

    @api.do
    def main():
        tasks = []
        for _ in range(3):
            tasks.append((yield api.Spawn(bump())))
        return (yield api.Gather(*tasks))

    return api.run(api.scheduled(api.state()(main())))


@SCENARIOS.add(returned(("outer", ["IN-A", "IN-B"]), ("start", "in-a"), ("end", "in-a"), ("start", "in-b"), ("end", "in-b")))
def spawned_tasks_spawn_and_gather_their_own(api):
    work = worker(api)

    @api.do
    def parent(prefix):
        a = yield api.Spawn(work(prefix + "-a"))
        b = yield api.Spawn(work(prefix + "-b"))
        return (yield api.Gather(a, b))

    @api.do
    def main():
        task = yield api.Spawn(parent("in"))
        return ("outer", (yield api.Wait(task)))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned(("awaited", 42), "coroutine ran"))
def await_a_coroutine(api):
    async def compute():
        await asyncio.sleep(0)
        api.trace.append("coroutine ran")
        return 42

    @api.do
    def main():
        value = yield api.Await(compute())
        return ("awaited", value)

    return api.run(api.scheduled(api.await_handler()(main())))


@SCENARIOS.add(returned(("caught", "TimeoutError")))
def await_reraises_the_coroutine_exception(api):
    async def failing():
        await asyncio.sleep(0)
        raise TimeoutError("too slow")

    @api.do
    def main():
        try:
            yield api.Await(failing())
        except TimeoutError as exc:
            return ("caught", type(exc).__name__)
        return "not raised"

    return api.run(api.scheduled(api.await_handler()(main())))


@SCENARIOS.add(returned([10, 20]))
def gather_of_tasks_that_await(api):
    async def later(n):
        await asyncio.sleep(0.001 * n)
        return n * 10

    @api.do
    def fetch(n):
        return (yield api.Await(later(n)))

    @api.do
    def main():
        a = yield api.Spawn(fetch(1))
        b = yield api.Spawn(fetch(2))
        return (yield api.Gather(a, b))

    return api.run(api.scheduled(api.await_handler()(main())))


@SCENARIOS.add(returned(1000))
def gather_of_a_thousand_tasks(api):
    @api.do
    def one():
        return 1
        yield

    @api.do
    def main():
        tasks = []
        for _ in range(1000):
            tasks.append((yield api.Spawn(one())))
        return sum((yield api.Gather(*tasks)))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(raised("TypeError", "Exception"))
def gather_of_programs_is_refused(api):
    @api.do
    def one():
        return 1
        yield

    @api.do
    def main():
        return (yield api.Gather(one(), one()))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(returned(("A", "A"), ("start", "a"), ("end", "a")))
def waiting_twice_on_a_task_gives_its_value_twice(api):
    work = worker(api)

    @api.do
    def main():
        task = yield api.Spawn(work("a"))
        return ((yield api.Wait(task)), (yield api.Wait(task)))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(
    raised("UnhandledEffect", "RuntimeError", "Exception"),
    runtime_expected=returned(1),
    difference=BUILT_IN_SCHEDULER,
)
def await_without_scheduled(api):
    async def one():
        return 1

    coroutine = one()

    @api.do
    def main():
        return (yield api.Await(coroutine))

    try:
        return api.run(api.await_handler()(main()))
    finally:
        coroutine.close()  # doeff never starts it; closing avoids the "never awaited" warning


@SCENARIOS.add(
    raised("UnhandledEffect", "RuntimeError", "Exception"),
    runtime_expected=returned(1),
    difference=BUILT_IN_SCHEDULER,
)
def spawn_without_scheduled(api):
    @api.do
    def one():
        return 1
        yield

    @api.do
    def main():
        return (yield api.Wait((yield api.Spawn(one()))))

    return api.run(main())


@SCENARIOS.add(returned(([], "only")))
def gather_of_nothing_and_race_of_one(api):
    @api.do
    def only():
        return "only"
        yield

    @api.do
    def main():
        empty = yield api.Gather()
        task = yield api.Spawn(only())
        return (empty, (yield api.Race(task)))

    return api.run(api.scheduled(main()))


def wrapping_handler_program(api):
    """A handler that post-processes its block's result, and a program whose spawned child performs
    the handled effect too."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Label(api.EffectBase[str]):
        text: str

    @api.handler
    def wrap(effect: Label, k):
        block_result = yield api.Resume(k, effect.text)
        api.trace.append(("post", effect.text))
        return ("wrapped", block_result)

    @api.do
    def child():
        return ("child", (yield Label("child")))

    @api.do
    def main():
        task = yield api.Spawn(child())
        from_child = yield api.Wait(task)
        return ("main", from_child, (yield Label("main")))

    return wrap, main


@SCENARIOS.add(
    returned(
        ("wrapped", ("main", ("wrapped", ("child", "child")), "main")),
        ("post", "child"),
        ("post", "main"),
    )
)
def resume_handler_inside_scheduled_wraps_each_task(api):
    wrap, main = wrapping_handler_program(api)
    return api.run(api.scheduled(wrap(main())))


@SCENARIOS.add(
    returned(
        ("wrapped", ("wrapped", ("main", ("child", "child"), "main"))),
        ("post", "main"),
        ("post", "child"),
    ),
    runtime_expected=returned(
        ("wrapped", ("main", ("wrapped", ("child", "child")), "main")),
        ("post", "child"),
        ("post", "main"),
    ),
    difference=(
        "with the handler outside scheduled(...), doeff's child continuation contains the whole "
        "scheduler, so the child's block result is the run's; the runtime's scheduled is an "
        "identity installer, so this runs as if the handler were inside (DESIGN.md)"
    ),
)
def resume_handler_outside_scheduled(api):
    wrap, main = wrapping_handler_program(api)
    return api.run(wrap(api.scheduled(main())))


def timed_task(api):
    """A task that sleeps in a coroutine, then returns its value or raises ValueError."""

    async def sleep_then(seconds, value, fail):
        await asyncio.sleep(seconds)
        if fail:
            raise ValueError(value)
        return value

    @api.do
    def task(seconds, value, fail=False):
        result = yield api.Await(sleep_then(seconds, value, fail))
        api.trace.append(("done", value))
        return result

    def install(program):
        return api.scheduled(api.await_handler()(program))

    return task, install


@SCENARIOS.add(returned("ok", "gather failed"))
def gather_fails_as_soon_as_one_task_fails(api):
    task, install = timed_task(api)

    @api.do
    def main():
        failing = yield api.Spawn(task(0.001, "a", fail=True))
        slow = yield api.Spawn(task(0.1, "b"))
        try:
            yield api.Gather(failing, slow)
        except ValueError:
            api.trace.append("gather failed")
        return "ok"

    return api.run(install(main()))


@SCENARIOS.add(returned("race raised"))
def race_raises_when_the_first_to_finish_fails(api):
    task, install = timed_task(api)

    @api.do
    def main():
        failing = yield api.Spawn(task(0.001, "a", fail=True))
        slow = yield api.Spawn(task(0.1, "b"))
        try:
            return (yield api.Race(failing, slow))
        except ValueError:
            return "race raised"

    return api.run(install(main()))


@SCENARIOS.add(returned("parent", "parent continues", ("warning", "RuntimeWarning", True)))
def failure_of_a_task_nobody_waits_for_warns_but_does_not_fail_the_run(api):
    import warnings

    @api.do
    def failing():
        raise KeyError("nobody waits for me")
        yield

    @api.do
    def main():
        yield api.Spawn(failing())
        api.trace.append("parent continues")
        return "parent"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = api.run(api.scheduled(main()))
    for warning in caught:
        api.trace.append(
            ("warning", warning.category.__name__, "never retrieved" in str(warning.message))
        )
    return result


@SCENARIOS.add(returned("from thread", "waiting", ("caught", "OSError", "thread failed")))
def external_promise_completed_or_failed_from_another_thread(api):
    import threading

    @api.do
    def main():
        promise = yield api.CreateExternalPromise()
        threading.Timer(0.01, lambda: promise.complete("from thread")).start()
        api.trace.append("waiting")
        value = yield api.Wait(promise.future)
        failing = yield api.CreateExternalPromise()
        threading.Thread(target=lambda: failing.fail(OSError("thread failed"))).start()
        try:
            yield api.Wait(failing.future)
        except OSError as exc:
            api.trace.append(("caught", type(exc).__name__, str(exc)))
        return value

    return api.run(api.scheduled(main()))


@SCENARIOS.add(
    returned(
        (
            ["local", "env"],
            "L2",
            [("start", "a"), ("end", "a", "local"), ("start", "b"), ("end", "b", "env"),
             ("start", "c"), ("end", "c", "L2")],
            "Ok",
        )
    )
)
def spawned_tasks_with_local_try_and_a_shared_writer(api):
    @api.do
    def worker(name):
        yield api.Tell(("start", name))
        value = yield api.Ask("k")
        yield api.Tell(("end", name, value))
        return value

    @api.do
    def main():
        local_task = yield api.Spawn(api.Local({"k": "local"}, worker("a")))
        env_task = yield api.Spawn(worker("b"))
        waited = yield api.Try(api.Wait(local_task))
        values = yield api.Gather(local_task, env_task)
        # A task spawned inside a Local keeps the Local's env.
        scoped_task = yield api.Local({"k": "L2"}, api.Spawn(worker("c")))
        scoped_value = yield api.Wait(scoped_task)
        return (values, scoped_value, (yield api.writer_log()), type(waited).__name__)

    stack = api.stacked_handlers(
        api.state(), api.reader(env={"k": "env"}), api.writer, api.try_handler, api.local_handler
    )
    return api.run(api.scheduled(stack(main())))


@SCENARIOS.add(returned({"off the caller's thread": True, "inside a running loop": True, "one loop": True}))
def await_runs_coroutines_on_one_background_loop(api):
    import threading

    caller = threading.get_ident()

    async def on_caller_thread():
        await asyncio.sleep(0)
        return threading.get_ident() == caller

    async def loop_id():
        return id(asyncio.get_running_loop())

    def run_awaiting(coroutine):
        return api.run(api.scheduled(api.await_handler()(api.Await(coroutine))))

    async def run_from_a_coroutine():
        # run() blocks the calling loop; the coroutine it awaits must run elsewhere.
        return run_awaiting(on_caller_thread())

    return {
        "off the caller's thread": not run_awaiting(on_caller_thread()),
        "inside a running loop": not asyncio.run(run_from_a_coroutine()),
        "one loop": run_awaiting(loop_id()) == run_awaiting(loop_id()),
    }


@SCENARIOS.add(
    returned(
        [["A.1", "A.2"], ["B.1", "B.2"]],
        "A starts", "root spawned A", "A.1", "A spawned .1", "B starts", "root spawned B",
        "A.2", "A spawned .2", "B.1", "B spawned .1", "B.2", "B spawned .2",
    )
)
def nested_spawns_take_turns_in_a_fifo_ready_queue(api):
    # doeff 0.8.0: Spawn appends the new task, then the spawner, to the ready queue and switches to
    # the queue's head, so the first Spawn looks eager but spawns inside tasks interleave.
    @api.do
    def leaf(name):
        api.trace.append(name)
        return name
        yield

    @api.do
    def parent(name):
        api.trace.append(name + " starts")
        first = yield api.Spawn(leaf(name + ".1"))
        api.trace.append(name + " spawned .1")
        second = yield api.Spawn(leaf(name + ".2"))
        api.trace.append(name + " spawned .2")
        return (yield api.Gather(first, second))

    @api.do
    def main():
        a = yield api.Spawn(parent("A"))
        api.trace.append("root spawned A")
        b = yield api.Spawn(parent("B"))
        api.trace.append("root spawned B")
        return (yield api.Gather(a, b))

    return api.run(api.scheduled(main()))


@SCENARIOS.add(
    returned("c", "parent after spawn", "leaf", "child before wait", "child after wait", "parent after wait")
)
def spawn_inside_a_task_lets_the_ready_spawner_run_first(api):
    @api.do
    def leaf():
        api.trace.append("leaf")
        return 1
        yield

    @api.do
    def child():
        grandchild = yield api.Spawn(leaf())
        api.trace.append("child before wait")
        yield api.Wait(grandchild)
        api.trace.append("child after wait")
        return "c"

    @api.do
    def main():
        task = yield api.Spawn(child())
        api.trace.append("parent after spawn")
        value = yield api.Wait(task)
        api.trace.append("parent after wait")
        return value

    return api.run(api.scheduled(main()))


@SCENARIOS.add(raised("KeyError", "LookupError", "Exception"))
def gather_fails_fast_before_a_queued_task_resumes(api):
    @api.do
    def failing():
        raise KeyError("first task fails at once")
        yield

    @api.do
    def empty():
        return ()
        yield

    @api.do
    def waits_then_performs():
        inner = yield api.Spawn(empty())
        yield api.Wait(inner)
        api.trace.append("second task resumed (doeff: never)")
        return "second"

    @api.do
    def main():
        first = yield api.Spawn(failing())
        second = yield api.Spawn(waits_then_performs())
        return (yield api.Gather(first, second))

    return api.run(api.scheduled(main()))


def failing_gather_with_a_queued_task(api, fail_with_ask):
    @api.do
    def empty():
        return 1
        yield

    @api.do
    def failing():
        if fail_with_ask:
            yield api.Ask("missing")  # reader throws MissingEnvKeyError at this yield
        raise KeyError("raised directly")

    @api.do
    def queued():
        try:
            inner = yield api.Spawn(empty())
            api.trace.append("queued task resumed")
            yield api.Gather(inner)
        finally:
            api.trace.append("queued task unwound")

    @api.do
    def main():
        first = yield api.Spawn(failing())
        second = yield api.Spawn(queued())
        return (yield api.Gather(first, second))

    return api.run(api.scheduled(api.reader(env={})(main())))


@SCENARIOS.add(raised("KeyError", "LookupError", "Exception", trace=("queued task unwound",)))
def tasks_left_behind_by_a_failed_run_are_unwound(api):
    return failing_gather_with_a_queued_task(api, fail_with_ask=False)


@SCENARIOS.add(
    raised("MissingEnvKeyError", "KeyError", "LookupError", "Exception", trace=("queued task unwound",))
)
def tasks_left_behind_by_a_run_failed_by_a_handler_are_unwound(api):
    return failing_gather_with_a_queued_task(api, fail_with_ask=True)


@SCENARIOS.add(returned("root", "sleeper starts", "root returns", "sleeper unwound"))
def task_parked_on_await_is_unwound_when_the_root_returns(api):
    @api.do
    def sleeper():
        try:
            api.trace.append("sleeper starts")
            yield api.Await(asyncio.sleep(5))
            api.trace.append("sleeper woke (never)")
        finally:
            api.trace.append("sleeper unwound")

    @api.do
    def main():
        yield api.Spawn(sleeper())
        api.trace.append("root returns")
        return "root"

    return api.run(api.scheduled(api.await_handler()(main())))


@SCENARIOS.add(
    returned(
        "root",
        "task starts", "root returns", ("task got", "TaskCancelledError"), ("answer", 1),
        ("finally effect answered", 1),
    )
)
def task_left_behind_is_cancelled_and_may_still_perform_effects(api):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Flush(api.EffectBase[int]):
        n: int

    @api.handler
    def answer(effect: Flush, k):
        api.trace.append(("answer", effect.n))
        return (yield api.Resume(k, effect.n))

    @api.do
    def empty():
        return 1
        yield

    @api.do
    def task():
        try:
            api.trace.append("task starts")
            yield api.Spawn(empty())  # queues this task behind the root
            api.trace.append("task resumed (never)")
        except BaseException as exc:
            api.trace.append(("task got", type(exc).__name__))
            raise
        finally:
            flushed = yield Flush(1)
            api.trace.append(("finally effect answered", flushed))

    @api.do
    def main():
        yield api.Spawn(task())
        api.trace.append("root returns")
        return "root"

    return api.run(api.scheduled(answer(main())))


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda scenario: scenario.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)

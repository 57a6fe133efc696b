"""``run_reentrant`` / ``arun_reentrant``: a program run from plain Python inside a program step, on
the same run (handlers, env, singletons, scheduler), as dependency callables need."""

import asyncio
from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import (
    Ask,
    Await,
    EffectBase,
    Gather,
    Resume,
    RunInThread,
    Spawn,
    Tell,
    Transfer,
    Try,
    Wait,
    design_env,
    do,
    handler,
    run,
    state,
    try_handler,
    writer,
    writer_log,
)
from doeff_migrate.runtime.errors import ReentrantCallError
from doeff_migrate.runtime.interpreter import arun_reentrant, current_task, run_reentrant


@dataclass(frozen=True)
class Ping(EffectBase):
    n: int


def test_nested_program_sees_the_same_env_and_lazy_singletons():
    builds = []

    @do
    def build_model():
        builds.append("built")
        lr = yield Ask("lr")
        return {"lr": lr}

    @do
    def step(i):
        model = yield Ask("model")
        return (i, model["lr"], id(model))

    @do
    def main():
        model = yield Ask("model")
        steps = [run_reentrant(step(i)) for i in range(3)]
        return id(model), steps

    model_id, steps = run(design_env({"lr": 0.1, "model": build_model()})(main()))
    assert builds == ["built"]
    assert steps == [(0, 0.1, model_id), (1, 0.1, model_id), (2, 0.1, model_id)]


def test_singleton_first_built_inside_a_reentrant_call_is_shared_with_the_caller():
    builds = []

    @do
    def build_model():
        builds.append("built")
        return object()
        yield

    @do
    def get_model():
        return (yield Ask("model"))

    @do
    def main():
        inner = run_reentrant(get_model())
        outer = yield Ask("model")
        return inner is outer

    assert run(design_env({"model": build_model()})(main())) is True
    assert builds == ["built"]


def test_user_handler_and_writer_see_the_nested_effects_in_call_order():
    seen = []

    @handler
    def doubler(effect: Ping, k):
        seen.append(effect.n)
        return (yield Resume(k, effect.n * 2))

    @do
    def train_step(i):
        yield Tell(f"step {i}")
        return (yield Ping(i))

    @do
    def main():
        yield Tell("start")
        results = [run_reentrant(train_step(i)) for i in range(3)]
        yield Tell("end")
        return results, (yield writer_log())

    results, log = run(state()(writer(doubler(main()))))
    assert results == [0, 2, 4]
    assert seen == [0, 1, 2]
    assert log == ["start", "step 0", "step 1", "step 2", "end"]


def test_handler_installed_by_the_nested_program_applies_only_inside_it():
    @handler
    def inner(effect: Ping, k):
        return (yield Resume(k, "inner"))

    @handler
    def outer(effect: Ping, k):
        return (yield Resume(k, "outer"))

    @do
    def ping():
        return (yield Ping(0))

    @do
    def main():
        nested = run_reentrant(inner(ping()))
        after = yield Ping(1)
        return nested, after

    assert run(outer(main())) == ("inner", "outer")


def test_non_tail_resume_across_the_call_gets_the_whole_block():
    @handler
    def wrap(effect: Ping, k):
        r = yield Resume(k, effect.n)
        return ("wrapped", r)

    @do
    def ping():
        return (yield Ping(7))

    @do
    def main():
        return run_reentrant(ping()) + 1

    # The continuation of the Ping runs through the plain Python caller to the end of the block.
    assert run(wrap(main())) == ("wrapped", 8)


def test_transfer_from_an_outer_handler_answers_the_nested_program():
    @handler
    def answer(effect: Ping, k):
        return (yield Transfer(k, effect.n + 1))

    @do
    def ping(n):
        return (yield Ping(n))

    @do
    def main():
        return [run_reentrant(ping(n)) for n in range(3)]

    assert run(answer(main())) == [1, 2, 3]


def test_exception_of_the_nested_program_reaches_the_caller_and_the_run_goes_on():
    @do
    def fails():
        yield Tell("about to fail")
        raise ValueError("bad step")

    @do
    def main():
        try:
            run_reentrant(fails())
        except ValueError as err:
            caught = str(err)
        yield Tell("after")
        return caught, (yield writer_log())

    assert run(state()(writer(main()))) == ("bad step", ["about to fail", "after"])


def test_exception_escaping_the_caller_is_caught_by_try_around_the_program():
    @do
    def fails():
        raise KeyError("missing")
        yield

    @do
    def body():
        run_reentrant(fails())
        return "not reached"

    @do
    def main():
        return (yield Try(body()))

    result = run(try_handler(main()))
    assert result.is_err() and isinstance(result.error, KeyError)


def test_try_inside_the_nested_program_works():
    @do
    def fails():
        raise ValueError("x")
        yield

    @do
    def guarded():
        r = yield Try(fails())
        return type(r.error).__name__

    @do
    def main():
        return run_reentrant(guarded())

    assert run(try_handler(main())) == "ValueError"


def test_outer_handler_aborting_across_the_call_raises_a_clear_error_and_closes_nested_frames():
    closed = []

    @handler
    def abort(effect: Ping, k):
        return "aborted"
        yield

    @do
    def ping():
        try:
            return (yield Ping(0))
        finally:
            closed.append("nested finally")

    @do
    def main():
        try:
            run_reentrant(ping())
        except ReentrantCallError as err:
            return str(err)

    message = run(abort(main()))
    assert "abort" in message and "re-entrant" in message
    assert closed == ["nested finally"]


def test_plain_function_handler_aborting_across_the_call_raises_the_same_error():
    def abort_plain(effect: Ping, k):
        return "aborted"

    abort = handler(abort_plain)

    @do
    def ping():
        return (yield Ping(0))

    @do
    def main():
        with pytest.raises(ReentrantCallError, match="abort"):
            run_reentrant(ping())
        return "ok"

    assert run(abort(main())) == "ok"


def test_blocking_nested_program_lets_a_spawned_task_progress():
    events = []

    @do
    def producer():
        events.append("producer starts")
        yield Await(asyncio.sleep(0.02))
        events.append("producer ends")
        return 41

    @do
    def wait_for(task):
        events.append("nested waits")
        value = yield Wait(task)
        events.append("nested resumes")
        return value + 1

    @do
    def main():
        task = yield Spawn(producer())
        value = run_reentrant(wait_for(task))
        events.append("caller continues")
        return value

    assert run(main()) == 42
    assert events == ["producer starts", "nested waits", "producer ends", "nested resumes", "caller continues"]


def test_nested_program_blocking_on_a_thread_and_gather():
    @do
    def in_thread(x):
        return (yield RunInThread(lambda: x * 10))

    @do
    def fan_out():
        tasks = []
        for i in range(3):
            tasks.append((yield Spawn(in_thread(i))))
        return (yield Gather(*tasks))

    @do
    def main():
        return run_reentrant(fan_out())

    assert run(main()) == [0, 10, 20]


def test_two_tasks_blocked_in_reentrant_calls_finish_in_either_order():
    # Task a's call ends while task b's call (deeper on the Python stack) still waits: a's result is
    # kept until b's loop returns.
    @do
    def sleep_then(value, seconds):
        yield Await(asyncio.sleep(seconds))
        return value

    @do
    def worker(value, seconds):
        return run_reentrant(sleep_then(value, seconds))

    @do
    def main():
        a = yield Spawn(worker("a", 0.01))
        b = yield Spawn(worker("b", 0.05))
        return (yield Gather(a, b))

    assert run(main()) == ["a", "b"]


def test_nested_program_runs_as_the_callers_task():
    @do
    def path():
        return current_task().path
        yield

    @do
    def child():
        return run_reentrant(path())

    @do
    def main():
        task = yield Spawn(child())
        inner = yield Wait(task)
        return inner, run_reentrant(path())

    assert run(main()) == ((0,), ())


def test_call_outside_a_run_raises_reentrant_call_error():
    @do
    def prog():
        return (yield Ask("x"))

    with pytest.raises(ReentrantCallError, match="while the program that asked for it runs"):
        run_reentrant(prog())
    assert issubclass(ReentrantCallError, RuntimeError)


def test_call_kept_past_the_end_of_its_run_raises_reentrant_call_error():
    @do
    def prog():
        return (yield Ask("x"))

    @do
    def main():
        return lambda: run_reentrant(prog())
        yield

    call_later = run(design_env({"x": 1})(main()))
    with pytest.raises(ReentrantCallError):
        call_later()


def test_call_from_a_worker_thread_raises_reentrant_call_error():
    @do
    def prog():
        return 1
        yield

    def in_worker():
        try:
            run_reentrant(prog())
        except ReentrantCallError:
            return "refused"
        return "ran"

    @do
    def main():
        return (yield RunInThread(in_worker))

    assert run(main()) == "refused"


def test_async_variant_runs_the_program_on_the_awaiting_run():
    seen = []

    @handler
    def doubler(effect: Ping, k):
        seen.append(effect.n)
        return (yield Resume(k, effect.n * 2))

    @do
    def step(i):
        lr = yield Ask("lr")
        yield Tell(f"step {i}")
        return (yield Ping(i)) * lr

    async def body():
        first = await arun_reentrant(step(1))
        second = await arun_reentrant(step(2))
        return first + second

    @do
    def main():
        total = yield Await(body())
        return total, (yield writer_log())

    total, log = run(design_env({"lr": 10})(state()(writer(doubler(main())))))
    assert total == 60
    assert seen == [1, 2]
    assert log == ["step 1", "step 2"]


def test_async_variant_raises_the_programs_exception_in_the_coroutine():
    @do
    def fails():
        raise ValueError("inner")
        yield

    async def body():
        try:
            await arun_reentrant(fails())
        except ValueError as err:
            return f"caught {err}"

    @do
    def main():
        return (yield Await(body()))

    assert run(main()) == "caught inner"


def test_async_variant_outside_an_awaited_coroutine_raises():
    @do
    def prog():
        return 1
        yield

    with pytest.raises(ReentrantCallError, match="Await"):
        asyncio.run(arun_reentrant(prog()))


def test_yielding_none_is_still_refused_inside_and_outside_a_reentrant_call():
    @do
    def yields_none():
        yield None

    @do
    def main():
        with pytest.raises(TypeError, match="may only yield effects or programs"):
            run_reentrant(yields_none())
        yield None

    with pytest.raises(TypeError, match="may only yield effects or programs"):
        run(main())


def test_sync_call_inside_an_awaited_coroutine_runs_as_a_task_of_the_run():
    # A dependency callable called (not awaited) in a coroutine the run awaits: the coroutine's
    # thread waits while the run's scheduler runs the program under the Await's handlers.
    seen = []

    @handler
    def record(effect: Ping, k):
        seen.append(effect.n)
        return (yield Resume(k, effect.n + 100))

    @do
    def step(n):
        yield Tell(f"step {n}")
        return (yield Ping(n))

    async def body():
        return [run_reentrant(step(1)), run_reentrant(step(2))]

    @do
    def main():
        values = yield Await(body())
        return values, (yield writer_log())

    assert run(state()(writer(record(main())))) == ([101, 102], ["step 1", "step 2"])
    assert seen == [1, 2]


def test_a_task_left_running_by_a_loop_blocking_call_may_await_once_the_call_returned():
    from doeff_migrate.runtime import AskFunction, CreateExternalPromise, Spawn, Wait

    @do
    def later(promise):
        yield Wait(promise.future)  # parked while the call that spawned it blocks the event loop
        return (yield Await(asyncio.sleep(0, "awaited later")))

    @do
    def kick(promise):
        return (yield Spawn(later(promise)))

    @do
    def main():
        promise = yield CreateExternalPromise()
        start = yield AskFunction("kick")

        async def body():
            return start(promise)  # a sync call from the event loop: it blocks the loop until it returns

        task = yield Await(body())
        promise.complete(None)
        return (yield Wait(task))

    assert run(main(), env={"kick": kick}) == "awaited later"

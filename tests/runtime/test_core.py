"""Runtime behaviour beyond doeff parity: stack safety, singletons, scheduling order, seed-000 run()."""

import asyncio
import sys
import threading

from doeff_migrate.runtime import (
    Ask,
    Await,
    Gather,
    Get,
    Local,
    Program,
    Put,
    Race,
    RunInThread,
    Spawn,
    Tell,
    Wait,
    design_env,
    do,
    handler,
    Resume,
    run,
    state,
    writer,
    writer_log,
    CreateExternalPromise,
    SchedulerDeadlockError,
)
from doeff_migrate.runtime.interpreter import current_task

import pytest


@do
def nested(depth):
    if depth == 0:
        return 0
    return (yield nested(depth - 1)) + 1


def test_100k_nested_do_calls_in_constant_python_stack():
    assert sys.getrecursionlimit() <= 10_000
    assert run(nested(100_000)) == 100_000


@do
def ask_many(n):
    total = 0
    for _ in range(n):
        total += yield Ask("x")
    return total


MILLION_EFFECTS = """
import resource
from doeff_migrate.runtime import Ask, do, run

@do
def ask_many(n):
    total = 0
    for _ in range(n):
        total += yield Ask("x")
    return total

run(ask_many(10_000), env={"x": 1})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
assert run(ask_many(1_000_000), env={"x": 1}) == 1_000_000
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_million_effects_without_memory_growth():
    # A fresh process, so the peak-memory reading is not hidden under an earlier test's peak.
    import subprocess

    out = subprocess.run([sys.executable, "-c", MILLION_EFFECTS], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    grown_kib = int(out.stdout.strip())
    # Keeping even 20 bytes per effect would show as ~20 MB here.
    assert grown_kib < 10_000, f"peak memory grew by {grown_kib} KiB over 1,000,000 effects"


def test_programs_are_lazy_and_rerunnable():
    calls = []

    @do
    def prog():
        calls.append(1)
        return (yield Ask("x")) * 2

    p = prog()
    assert calls == []
    assert run(p, env={"x": 2}) == 4
    assert run(p, env={"x": 3}) == 6
    assert calls == [1, 1]


def test_design_env_singletons_are_built_once_per_run():
    built = []

    @do
    def make_model():
        built.append("model")
        return {"lr": (yield Ask("lr"))}

    @do
    def main():
        a = yield Ask("model")
        b = yield Ask("model")
        return a is b, a["lr"]

    env = {"lr": 0.1, "model": make_model()}
    assert run(main(), env=env) == (True, 0.1)
    assert run(main(), env=env) == (True, 0.1)
    assert built == ["model", "model"]


def test_singleton_asked_by_two_tasks_at_once_is_built_once():
    built = []

    @do
    def slow_model():
        built.append("start")
        yield Await(asyncio.sleep(0.02))
        return "model"

    @do
    def user():
        return (yield Ask("model"))

    @do
    def main():
        t1 = yield Spawn(user())
        t2 = yield Spawn(user())
        return (yield Gather(t1, t2))

    assert run(main(), env={"model": slow_model()}) == ["model", "model"]
    assert built == ["start"]


def test_local_overrides_some_keys_and_passes_others_outward():
    @do
    def read():
        return (yield Ask("a")), (yield Ask("b"))

    @do
    def main():
        inside = yield Local({"a": "override"}, read())
        outside = yield read()
        return inside, outside

    assert run(main(), env={"a": "A", "b": "B"}) == (("override", "B"), ("A", "B"))


def test_seed_000_run_form_first_handler_sees_effects_first():
    seen = []

    @handler
    def first(effect: Tell, k):
        seen.append(("first", effect.msg))
        v = yield effect  # re-perform outward: the second handler answers
        return (yield Resume(k, v))

    @handler
    def second(effect: Tell, k):
        seen.append(("second", effect.msg))
        return (yield Resume(k, f"answered {effect.msg}"))

    @do
    def main():
        return (yield Tell("m")), (yield Ask("k"))

    assert run(main(), handlers=[first, second], env={"k": 1}) == ("answered m", 1)
    assert seen == [("first", "m"), ("second", "m")]


def test_spawned_tasks_run_at_spawn_until_they_block_in_spawn_order():
    order = []

    @do
    def child(i):
        order.append(f"child {i}")
        return i

    @do
    def main():
        tasks = []
        for i in range(3):
            tasks.append((yield Spawn(child(i))))
        order.append("parent spawned all")
        return (yield Gather(*tasks))

    assert run(main()) == [0, 1, 2]
    assert order == ["child 0", "child 1", "child 2", "parent spawned all"]


def test_a_blocking_child_lets_the_spawner_go_on():
    order = []

    @do
    def child():
        order.append("child starts")
        yield Await(asyncio.sleep(0.01))
        order.append("child ends")
        return "c"

    @do
    def main():
        t = yield Spawn(child())
        order.append("parent goes on")
        value = yield Wait(t)
        order.append("parent waited")
        return value

    assert run(main()) == "c"
    assert order == ["child starts", "parent goes on", "child ends", "parent waited"]


def test_spawned_tasks_share_the_spawners_handlers():
    @do
    def child():
        yield Put("seen", (yield Ask("cfg")))
        return current_task().path

    @do
    def main():
        t = yield Spawn(child())
        path = yield Wait(t)
        return path, (yield Get("seen"))

    assert run(state()(main()), env={"cfg": "c"}) == ((0,), "c")


def test_race_answers_the_first_to_finish():
    @do
    def sleeper(s, v):
        yield Await(asyncio.sleep(s))
        return v

    @do
    def main():
        slow = yield Spawn(sleeper(0.2, "slow"))
        fast = yield Spawn(sleeper(0.01, "fast"))
        return (yield Race(slow, fast))

    assert run(main()) == "fast"


def test_gather_raises_the_failing_tasks_exception():
    @do
    def bad():
        raise ValueError("task failed")
        yield  # pragma: no cover

    @do
    def main():
        t = yield Spawn(bad())
        try:
            yield Gather(t)
        except ValueError as err:
            return str(err)

    assert run(main()) == "task failed"


def test_run_in_thread_runs_blocking_work_off_the_interpreter_thread():
    main_thread = threading.get_ident()

    @do
    def main():
        tid = yield RunInThread(threading.get_ident)
        return tid != main_thread

    assert run(main()) is True


def test_external_promise_completed_from_another_thread():
    @do
    def main():
        promise = yield CreateExternalPromise()
        threading.Timer(0.01, promise.complete, args=("from thread",)).start()
        return (yield Wait(promise.future))

    assert run(main()) == "from thread"


def test_waiting_on_a_future_nobody_completes_is_a_deadlock_error():
    from doeff_migrate.runtime import Future

    @do
    def main():
        return (yield Wait(Future()))

    with pytest.raises(SchedulerDeadlockError, match="every task is waiting"):
        run(main())


def test_writer_log_in_state():
    @do
    def main():
        for i in range(3):
            yield Tell(i)
        return (yield writer_log())

    assert run(state()(writer(main()))) == [0, 1, 2]


def test_calls_are_programs_and_effects_run_where_programs_do():
    @do
    def f():
        return 1

    assert isinstance(f(), Program)
    assert not isinstance(Ask("x"), Program)  # as in doeff
    assert run(Ask("x"), env={"x": 5}) == 5


def test_memory_cache_miss_raises_keyerror_at_the_yield_and_put_then_get_hits():
    from doeff_migrate.runtime import CacheGet, CachePut, memory_cache

    @do
    def cached_square(x):
        try:
            return (yield CacheGet(("square", x)))
        except KeyError:
            value = x * x
            yield CachePut(("square", x), value)
            return f"computed {value}"

    @do
    def main():
        return [(yield cached_square(3)), (yield cached_square(3))]

    assert run(memory_cache()(main())) == ["computed 9", 9]


def test_listen_collects_the_effects_of_a_block_and_still_answers_them():
    from doeff_migrate.runtime import Listen, listen_handler

    @do
    def block():
        yield Tell("a")
        yield Tell("b")
        return "done"

    @do
    def main():
        value, seen = yield Listen(block())
        return value, [e.msg for e in seen], (yield writer_log())

    assert run(state()(writer(listen_handler(main())))) == ("done", ["a", "b"], ["a", "b"])


def test_with_observe_sees_every_effect_without_answering():
    from doeff_migrate.runtime import WithObserve

    seen = []

    @do
    def main():
        return (yield Ask("x")) + (yield Ask("y"))

    assert run(WithObserve(seen.append, main()), env={"x": 1, "y": 2}) == 3
    assert [e.key for e in seen] == ["x", "y"]


def test_aborting_handler_unwinds_the_abandoned_block_first():
    from doeff_migrate.runtime import EffectBase

    class Stop(EffectBase):
        pass

    order = []

    @handler
    def stopper(effect: Stop, k):
        return "stopped"

    @do
    def body():
        try:
            yield Stop()
        finally:
            order.append("body finally")

    @do
    def main():
        result = yield stopper(body())
        order.append(("main got", result))
        return result

    assert run(main()) == "stopped"
    assert order == ["body finally", ("main got", "stopped")]


def test_standard_effects_pickle_and_come_back_equal():
    import operator
    import pickle

    from doeff_migrate.runtime import CachePut, Local, RunInThread

    for effect in [
        Ask("k"),
        Put("k", 1),
        Tell("m"),
        CachePut("k", 2, ttl=3.0),
        RunInThread(operator.add, 1, 2),
        RunInThread(sorted, [3, 1], reverse=True),
    ]:
        back = pickle.loads(pickle.dumps(effect))
        assert back == effect, (back, effect)
    assert run(pickle.loads(pickle.dumps(RunInThread(sorted, [3, 1], reverse=True)))) == [3, 1]

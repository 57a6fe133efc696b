"""OverrideHandler, RetryHandler, tracing/logging, the event bus, stubs and perform_sequence."""

import logging
import time
from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import (
    Ask,
    EffectBase,
    Gather,
    Resume,
    RunInThread,
    Spawn,
    do,
    handler,
    run,
)
from doeff_migrate.runtime.observability import (
    EffectFailed,
    EffectFinished,
    EffectStarted,
    EventBus,
    EventBusHandler,
    LoggingHandler,
    Publish,
    TracingHandler,
)
from doeff_migrate.runtime.override import OverrideHandler
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler
from doeff_migrate.runtime.retry import RetryHandler, RetryPolicy
from doeff_migrate.runtime.testing import Responses, SequenceMismatch, StubHandler, fake, perform_sequence


@dataclass(frozen=True)
class SystemCall(EffectBase):
    cmd: str


@dataclass(frozen=True)
class Upload(EffectBase):
    path: str


@do
def deploy():
    pod = yield SystemCall("kubectl apply")
    yield Upload("/code")
    return pod


# --- OverrideHandler ----------------------------------------------------------------------------


def test_override_answers_ask_keys_and_passes_the_others():
    @do
    def prog():
        return (yield Ask("lr")), (yield Ask("epochs"))

    assert run(prog(), handlers=[OverrideHandler({"lr": 0.5})], env={"lr": 0.1, "epochs": 3}) == (0.5, 3)


def test_override_answers_effect_types_with_values_or_functions():
    calls = []
    stub = StubHandler({SystemCall: lambda e: calls.append(e) or "real"})
    over = OverrideHandler({SystemCall: lambda e: e.cmd.upper(), Upload: "skipped"})
    assert run(deploy(), handlers=[over, stub]) == "KUBECTL APPLY"
    assert calls == [] and stub.calls == []
    with pytest.raises(TypeError, match="not the Ask type"):
        OverrideHandler({Ask: 1})


def test_override_sweeps_over_a_replay(tmp_path):
    """The recorded (expensive) effect replays; the overridden key changes the result."""

    @dataclass(frozen=True)
    class Expensive(EffectBase):
        n: int

    count = []

    @handler
    def gpu(effect: Expensive, k):
        count.append(effect)
        return (yield Resume(k, list(range(effect.n))))

    @do
    def train():
        data = yield Expensive(5)
        lr = yield Ask("learning_rate")
        return sum(data) * lr

    path = tmp_path / "r.jsonl"
    run(train(), handlers=[RecordingHandler(path), gpu], env={"learning_rate": 1.0})
    results = [run(train(), handlers=[ReplayHandler(path), OverrideHandler({"learning_rate": lr}), gpu], env={"learning_rate": 1.0}) for lr in (0.1, 0.2, 0.3)]
    assert results == pytest.approx([1.0, 2.0, 3.0]) and len(count) == 1


# --- RetryHandler -------------------------------------------------------------------------------


def test_retry_retries_transient_errors_then_answers():
    stub = StubHandler({SystemCall: Responses(ConnectionError("connection refused"), TimeoutError("timeout"), "pod-1"), Upload: None})
    seen = []
    retry = RetryHandler(SystemCall, attempts=3, backoff=0.01, on_retry=seen.append)
    t0 = time.perf_counter()
    assert run(deploy(), handlers=[retry, stub]) == "pod-1"
    assert time.perf_counter() - t0 >= 0.03 * 0.9  # waited 0.01 then 0.02
    assert [a.attempt for a in seen] == [1, 2] and [a.delay for a in seen] == pytest.approx([0.01, 0.02])
    assert len(stub.calls_of(SystemCall)) == 3


def test_retry_gives_up_after_the_attempts_and_raises_the_last_error():
    stub = StubHandler({SystemCall: Responses(ConnectionError("a"), ConnectionError("b"), ConnectionError("c"))})
    with pytest.raises(ConnectionError, match="^b$"):
        run(deploy(), handlers=[RetryHandler(SystemCall, attempts=2, sleep=lambda s: None), stub])
    assert len(stub.calls) == 2


def test_retry_only_the_exceptions_the_policy_names():
    policy = RetryPolicy(attempts=5, retry_on=(ConnectionError,), retry_if=lambda e: "refused" in str(e))
    stub = StubHandler({SystemCall: Responses(ConnectionError("refused"), ConnectionError("reset by peer"), "x")})
    with pytest.raises(ConnectionError, match="reset by peer"):
        run(deploy(), handlers=[RetryHandler({SystemCall: policy}), stub])
    stub2 = StubHandler({SystemCall: ValueError("bad manifest")})
    with pytest.raises(ValueError):
        run(deploy(), handlers=[RetryHandler({SystemCall: policy}), stub2])
    assert len(stub2.calls) == 1


def test_retry_per_effect_type_policies_and_logging(caplog):
    stub = StubHandler({
        SystemCall: Responses(ConnectionError("x"), "pod"),
        Upload: Responses(OSError("disk"), OSError("disk"), None),
    })
    retry = RetryHandler({SystemCall: RetryPolicy(attempts=2), Upload: RetryPolicy(attempts=3, retry_on=OSError)})
    with caplog.at_level(logging.WARNING, logger="doeff_migrate.runtime.retry"):
        assert run(deploy(), handlers=[retry, stub]) == "pod"
    assert len(retry.retries) == 3 and sum("retry" in r.message for r in caplog.records) == 3
    shared = RetryHandler((SystemCall, Upload), RetryPolicy(attempts=2), sleep=lambda s: None)
    stub2 = StubHandler({SystemCall: Responses(ConnectionError("x"), "pod"), Upload: Responses(OSError("y"), None)})
    assert run(deploy(), handlers=[shared, stub2]) == "pod" and len(shared.retries) == 2
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(TypeError, match="Spawn"):
        RetryHandler(Spawn)


def test_retry_backoff_does_not_block_other_tasks():
    stub = StubHandler({SystemCall: Responses(ConnectionError("x"), "ok")})
    order = []

    @do
    def slow():
        r = yield SystemCall("flaky")
        order.append("flaky done")
        return r

    @do
    def other():
        yield RunInThread(time.sleep, 0.01)
        order.append("other done")
        return "other"

    @do
    def main():
        a = yield Spawn(slow())
        b = yield Spawn(other())
        return (yield Gather(a, b))

    assert run(main(), handlers=[RetryHandler(SystemCall, attempts=2, backoff=0.2), stub]) == ["ok", "other"]
    assert order == ["other done", "flaky done"]


# --- tracing, logging, event bus ----------------------------------------------------------------


def test_tracing_records_each_world_effect_with_answer_error_and_location():
    stub = StubHandler({SystemCall: "pod", Upload: PermissionError("denied")})
    tracer = TracingHandler()
    with pytest.raises(PermissionError):
        run(deploy(), handlers=[tracer, stub], env={})
    assert [type(e.effect).__name__ for e in tracer.events] == ["SystemCall", "Upload"]
    assert tracer.events[0].answer == "pod" and tracer.events[0].ok
    assert isinstance(tracer.events[1].error, PermissionError)
    assert "in deploy" in tracer.events[0].at and tracer.events[0].task == ()
    seen = []
    only_uploads = TracingHandler(seen.append, types=[Upload])
    run(deploy(), handlers=[only_uploads, StubHandler({SystemCall: "pod", Upload: None})])
    assert [type(e.effect) for e in seen] == [Upload] and seen == only_uploads.events


def test_logging_handler_logs_effects_and_can_leave_a_type_out(caplog):
    stub = StubHandler({SystemCall: "pod", Upload: None})
    with caplog.at_level(logging.INFO, logger="doeff_migrate.runtime.effects"):
        run(deploy(), handlers=[LoggingHandler(exclude=[Upload]), stub])
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "SystemCall(cmd='kubectl apply')" in messages[0] and "'pod'" in messages[0]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="quiet"):
        run(deploy(), handlers=[LoggingHandler("quiet", level=logging.DEBUG, log_answers=False, types=[SystemCall]), stub])
    assert [r.levelno for r in caplog.records] == [logging.DEBUG] and "'pod'" not in caplog.records[0].getMessage()


def test_event_bus_announces_effects_and_delivers_published_events():
    bus = EventBus()
    got = []
    bus.subscribe(EffectStarted, lambda ev: got.append(("start", ev.effect.cmd)))
    bus.subscribe(EffectFinished, lambda ev: got.append(("end", ev.answer)))
    bus.subscribe(EffectFailed, lambda ev: got.append(("failed", str(ev.error))))
    unsubscribe = bus.subscribe(str, lambda ev: got.append(("custom", ev)))

    @do
    def prog():
        yield Publish("hello")
        pod = yield SystemCall("kubectl get")
        try:
            yield SystemCall("kubectl bad")
        except RuntimeError:
            pass
        return pod

    stub = StubHandler({SystemCall: Responses("pod-7", RuntimeError("boom"))})
    assert run(prog(), handlers=[EventBusHandler(bus, types=[SystemCall]), stub]) == "pod-7"
    assert got == [("custom", "hello"), ("start", "kubectl get"), ("end", "pod-7"), ("start", "kubectl bad"), ("failed", "boom")]
    unsubscribe()
    got.clear()
    run(Publish("again"), handlers=[EventBusHandler(bus)])
    assert got == []


# --- stubs and perform_sequence ------------------------------------------------------------------


def test_stub_and_fake_handlers_record_calls():
    counter = {"n": 0}

    def fake_call(effect):
        counter["n"] += 1
        return f"{effect.cmd}#{counter['n']}"

    stub = fake(fake_call, SystemCall)
    uploads = StubHandler({Upload: None})
    assert run(deploy(), handlers=[stub, uploads]) == "kubectl apply#1"
    assert stub.calls == [SystemCall("kubectl apply")] and uploads.calls == [Upload("/code")]

    @do
    def twice():
        yield SystemCall("x")
        yield SystemCall("y")

    with pytest.raises(AssertionError, match="only 1 response"):
        run(twice(), handlers=[StubHandler({SystemCall: Responses("a")})])
    assert run(twice(), handlers=[StubHandler({SystemCall: Responses("a", repeat_last=True)})]) is None


def test_perform_sequence_answers_in_order_and_shows_the_log_on_mismatch():
    assert perform_sequence([(SystemCall("kubectl apply"), lambda e: "pod"), (Upload("/code"), None)], deploy()) == "pod"

    with pytest.raises(SequenceMismatch) as info:
        perform_sequence([(SystemCall("kubectl apply"), "pod"), (Upload("/other"), None)], deploy())
    msg = str(info.value)
    assert "expected Upload(path='/other')" in msg and "got Upload(path='/code')" in msg
    assert "sequence  SystemCall(cmd='kubectl apply')" in msg and "NOT FOUND  Upload(path='/code')" in msg

    with pytest.raises(SequenceMismatch, match="finished after 2 of 3"):
        perform_sequence([(SystemCall("kubectl apply"), "pod"), (Upload("/code"), None), (Upload("/x"), None)], deploy())

    @do
    def with_env():
        who = yield Ask("who")
        return (yield SystemCall(who))

    with pytest.raises(ConnectionError):
        perform_sequence([(SystemCall("me"), ConnectionError("down"))], with_env(), env={"who": "me"})
    # Upload ignored by the sequence goes to the handlers given
    uploads = StubHandler({Upload: None})
    assert perform_sequence([(SystemCall("kubectl apply"), "pod")], deploy(), handlers=[uploads], ignore=(Upload,)) == "pod"
    assert uploads.calls == [Upload("/code")]


def test_observers_keep_seeing_effects_of_spawned_tasks():
    """Spawn passes through these handlers from the perform site, so child tasks keep them."""
    stub = StubHandler({SystemCall: lambda e: e.cmd, Upload: None})
    tracer = TracingHandler()

    @do
    def main():
        a = yield Spawn(deploy())
        b = yield Spawn(deploy())
        return (yield Gather(a, b))

    assert run(main(), handlers=[tracer, stub]) == ["kubectl apply", "kubectl apply"]
    assert sorted({e.task for e in tracer.events}) == [(0,), (1,)] and len(tracer.events) == 4


def test_worker_pool_runs_blocking_work_and_delivers_its_errors():
    from doeff_migrate.runtime.determinism import WorkerPoolHandler
    import threading

    def work(x):
        if x < 0:
            raise ValueError("negative")
        return (x, threading.current_thread().name)

    @do
    def main():
        value, thread = yield RunInThread(work, 2)
        try:
            yield RunInThread(work, -1)
        except ValueError as err:
            return value, thread, str(err)

    value, thread, err = run(main(), handlers=[WorkerPoolHandler(1)])
    assert value == 2 and thread.startswith("doeff-worker") and err == "negative"
    with pytest.raises(ValueError):
        WorkerPoolHandler(0)

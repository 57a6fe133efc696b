"""The recorder asks a native handler outside it in place (no handler body): every way such a
handler can answer (a value, an exception, PASS, AtSite, a re-entrant call) must give the recording
and the program what the recorder running as a generator body gave, and ask the handler once."""

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import PASS, AtSite, EffectBase, Gather, Resume, Spawn, do, handler, run
from doeff_migrate.runtime.handlers import NativeHandler
from doeff_migrate.runtime.interpreter import run_reentrant
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler, load_recording


@dataclass(frozen=True)
class Fetch(EffectBase):
    x: int


@dataclass(frozen=True)
class Probe(EffectBase):
    """Performed by what answers a ``Fetch`` (an AtSite program, a re-entrant call)."""

    x: int


class Counting(NativeHandler):
    """Answers ``Fetch`` according to ``mode``; counts its calls."""

    types = (Fetch,)
    name = "Counting"

    def __init__(self, mode):
        self.mode = mode
        self.calls = 0

    def handle(self, effect, segment):
        self.calls += 1
        if self.mode == "raise" and effect.x == 1:
            raise ValueError(f"no {effect.x}")
        if self.mode == "pass":
            return PASS
        if self.mode == "at_site":
            return AtSite(_probe_then_double.__wrapped__(effect.x))  # AtSite runs a generator
        if self.mode == "outside":
            return AtSite.outside(lambda k: _resume_with(k, effect.x * 5))
        if self.mode == "reentrant":
            return run_reentrant(_probe_then_double(effect.x))
        return effect.x * 2


@do
def _probe_then_double(x):
    seen = yield Probe(x)
    return seen * 2


def _resume_with(k, value):
    return (yield Resume(k, value))


class Probes(NativeHandler):
    types = (Probe,)
    name = "Probes"

    def handle(self, effect, segment):
        return effect.x + 100


@handler
def generator_fetch(effect: Fetch, k):
    return (yield Resume(k, effect.x * 3))


@do
def three_fetches():
    out = []
    for i in range(3):
        try:
            out.append((yield Fetch(i)))
        except ValueError as err:
            out.append(str(err))
    return out


def records_of(path):
    return [(r.task, r.seq, r.effect.rpartition(".")[2], r.fields, r.answer, r.error and r.error["type"]) for r in load_recording(path).records]


def test_a_value_is_recorded_and_answered_with_one_call(tmp_path):
    world = Counting("value")
    assert run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), world]) == [0, 2, 4]
    assert world.calls == 3
    assert [(r[3], r[4]) for r in records_of(tmp_path / "r.jsonl")] == [({"x": 0}, 0), ({"x": 1}, 2), ({"x": 2}, 4)]
    assert run(three_fetches(), handlers=[ReplayHandler(tmp_path / "r.jsonl")]) == [0, 2, 4]


def test_an_exception_is_recorded_and_raised_at_the_yield(tmp_path):
    world = Counting("raise")
    assert run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), world]) == [0, "no 1", 4]
    assert world.calls == 3
    assert [r[5] for r in records_of(tmp_path / "r.jsonl")] == [None, "builtins.ValueError", None]
    assert run(three_fetches(), handlers=[ReplayHandler(tmp_path / "r.jsonl")]) == [0, "no 1", 4]


@pytest.mark.parametrize("outer", ["native", "generator"])
def test_pass_goes_on_outward_without_asking_the_passing_handler_again(tmp_path, outer):
    passing = Counting("pass")
    answering = Counting("value") if outer == "native" else generator_fetch
    value = run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), passing, answering])
    factor = 2 if outer == "native" else 3
    assert value == [0, factor, 2 * factor]
    assert passing.calls == 3
    assert [r[4] for r in records_of(tmp_path / "r.jsonl")] == value


def test_an_at_site_program_runs_outside_the_recorder(tmp_path):
    """As from the recorder's body: the program a native handler runs for the answer performs its
    effects outside the recorder, so they are answered but not recorded (replay skips them)."""
    world = Counting("at_site")
    value = run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), world, Probes()])
    assert value == [200, 202, 204] and world.calls == 3
    assert [(r[2], r[4]) for r in records_of(tmp_path / "r.jsonl")] == [("Fetch", 200), ("Fetch", 202), ("Fetch", 204)]


def test_an_at_site_body_outside_resumes_and_is_recorded(tmp_path):
    world = Counting("outside")
    value = run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), world])
    assert value == [0, 5, 10] and world.calls == 3
    assert [r[4] for r in records_of(tmp_path / "r.jsonl")] == [0, 5, 10]


def test_a_reentrant_call_from_the_native_handler_is_performed_outside_the_recorder(tmp_path):
    world = Counting("reentrant")
    value = run(three_fetches(), handlers=[RecordingHandler(tmp_path / "r.jsonl"), world, Probes()])
    assert value == [200, 202, 204]
    assert [r[2] for r in records_of(tmp_path / "r.jsonl")] == ["Fetch", "Fetch", "Fetch"]


@do
def mixed():
    first = yield Fetch(1)
    tasks = []
    for _ in range(2):
        tasks.append((yield Spawn(three_fetches())))
    rest = yield Gather(*tasks)
    return first, rest


def test_native_and_generator_world_handlers_give_the_same_records(tmp_path):
    """The same program recorded with a native world handler (answered in place) and with a
    generator one (the recorder's generator body) holds the same records, perform sites included."""

    class Triple(NativeHandler):
        types = (Fetch,)
        name = "Triple"

        def handle(self, effect, segment):
            return effect.x * 3

    native_value = run(mixed(), handlers=[RecordingHandler(tmp_path / "native.jsonl"), Triple()])
    generator_value = run(mixed(), handlers=[RecordingHandler(tmp_path / "generator.jsonl"), generator_fetch])
    assert native_value == generator_value == (3, [[0, 3, 6], [0, 3, 6]])
    native = [json.loads(line) for line in (tmp_path / "native.jsonl").read_text().splitlines()[1:]]
    generator = [json.loads(line) for line in (tmp_path / "generator.jsonl").read_text().splitlines()[1:]]
    assert native == generator and len(native) == 8  # 7 records and the end marker
    assert {tuple(r["task"]) for r in native[:-1]} == {(), (0,), (1,)}


def test_a_killed_run_answered_natively_leaves_every_finished_line(tmp_path):
    script = tmp_path / "killed.py"
    path = tmp_path / "killed.jsonl"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        from dataclasses import dataclass
        from doeff_migrate.runtime import EffectBase, do, run
        from doeff_migrate.runtime.handlers import NativeHandler
        from doeff_migrate.runtime.recording import RecordingHandler

        @dataclass(frozen=True)
        class Step(EffectBase):
            i: int

        class Steps(NativeHandler):
            types = (Step,)

            def handle(self, effect, segment):
                if effect.i == 500:
                    os.kill(os.getpid(), signal.SIGKILL)
                return effect.i * 2

        @do
        def prog():
            for i in range(1000):
                yield Step(i)

        run(prog(), handlers=[RecordingHandler({str(path)!r}), Steps()])
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    rec = load_recording(path)
    assert [r.answer for r in rec.records] == [i * 2 for i in range(500)] and not rec.finished and not rec.torn_last_line


@pytest.mark.parametrize("outer", ["native", "generator"])
def test_an_effect_passed_on_to_the_recorder_by_a_native_handler_inside_it(tmp_path, outer):
    passing = Counting("pass")
    answering = Counting("value") if outer == "native" else generator_fetch
    value = run(three_fetches(), handlers=[passing, RecordingHandler(tmp_path / "r.jsonl"), answering])
    assert value == ([0, 2, 4] if outer == "native" else [0, 3, 6]) and passing.calls == 3
    assert [r[4] for r in records_of(tmp_path / "r.jsonl")] == value

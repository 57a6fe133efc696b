"""The recorder takes a ``@handler`` world handler's answer in a frame at the perform site
(``record._AnswerObserver``) instead of running its generator body. Every way such a handler can
answer must give the same recording file and the same outcome as the generator body does: each
world handler below records one program both ways and the files are compared line by line."""

import json
from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import (
    EffectBase, Gather, Pass, Resume, ResumeThrow, Spawn, Transfer, Wait, do, handler, run,
)
from doeff_migrate.runtime.handlers import NativeHandler
from doeff_migrate.runtime.interpreter import perform_site_location, run_reentrant
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler, load_recording
from doeff_migrate.runtime.recording import record as record_module


@dataclass(frozen=True)
class Fetch(EffectBase):
    x: int


@dataclass(frozen=True)
class Probe(EffectBase):
    """Performed by a world handler before it answers (outside the recorder: not recorded)."""

    x: int


class Probes(NativeHandler):
    types = (Probe,)
    name = "Probes"

    def handle(self, effect, segment):
        return effect.x + 100


@handler
def resume_tail(effect: Fetch, k):
    return (yield Resume(k, effect.x * 3))


@handler
def transfer(effect: Fetch, k):
    yield Transfer(k, effect.x * 3)


@handler
def resume_non_tail(effect: Fetch, k):
    answered = yield Resume(k, effect.x * 3)
    return answered


@handler
def resume_non_tail_wrapping(effect: Fetch, k):
    answered = yield Resume(k, effect.x * 3)
    return ("wrapped", answered)


@handler
def probe_then_resume(effect: Fetch, k):
    probed = yield Probe(effect.x)
    return (yield Resume(k, probed))


@handler
def raise_before_answering(effect: Fetch, k):
    if effect.x % 10 == 1:
        raise ValueError(f"no {effect.x}")
    return (yield Resume(k, effect.x))


@handler
def probe_then_raise(effect: Fetch, k):
    probed = yield Probe(effect.x)
    if effect.x % 10 == 1:
        raise ValueError(f"no {probed}")
    return (yield Resume(k, probed))


@handler
def plain_function_raising(effect: Fetch, k):
    raise ValueError(f"plain no {effect.x}")


@handler
def resume_throw(effect: Fetch, k):
    if effect.x % 10 == 1:
        return (yield ResumeThrow(k, ValueError(f"thrown {effect.x}")))
    return (yield Resume(k, effect.x))


@handler
def abort_at_two(effect: Fetch, k):
    if effect.x % 10 == 2:
        return f"aborted at {effect.x}"
    return (yield Resume(k, effect.x))


@handler
def plain_function_aborting(effect: Fetch, k):
    return f"plain abort at {effect.x}"


@handler
def pass_on(effect: Fetch, k):
    return (yield Pass(effect, k))


@do
def computed(x):
    return x + 1000


@handler
def spawn_and_wait_then_resume(effect: Fetch, k):
    """Other tasks run while the answer is pending (the observer waits at the perform site)."""
    task = yield Spawn(computed(effect.x))
    return (yield Resume(k, (yield Wait(task))))


@do
def leaf(x):
    return (yield Fetch(x))


@do
def nested(x):
    answer = yield leaf(x)
    return answer


@do
def fetches(task):
    out = []
    for j in range(3):
        try:
            out.append((yield nested(task * 10 + j)))
        except ValueError as err:
            out.append(str(err))
    return out


@do
def program():
    first = yield fetches(0)
    tasks = []
    for i in (1, 2):
        tasks.append((yield Spawn(fetches(i))))
    rest = yield Gather(*tasks)
    return first, rest


WORLDS = {
    "resume": [resume_tail],
    "transfer": [transfer],
    "non-tail resume": [resume_non_tail],
    "non-tail resume using its value": [resume_non_tail_wrapping],
    "effect, then resume": [probe_then_resume, Probes()],
    "raise before answering": [raise_before_answering],
    "effect, then raise": [probe_then_raise, Probes()],
    "plain function raising": [plain_function_raising],
    "resume by throwing": [resume_throw],
    "abort": [abort_at_two],
    "plain function aborting": [plain_function_aborting],
    "pass to a @handler outside": [pass_on, resume_tail],
    "spawn and wait, then resume": [spawn_and_wait_then_resume],
}


def outcome_and_lines(path, world, observed, monkeypatch):
    monkeypatch.setattr(record_module, "OBSERVE_GENERATOR_HANDLERS", observed)
    bodies = []
    original_body = record_module._RecordingSession.body

    def counted_body(self, effect, k, first=None):
        bodies.append(type(effect).__name__)
        return original_body(self, effect, k, first)

    monkeypatch.setattr(record_module._RecordingSession, "body", counted_body)
    try:
        outcome = ("value", run(program(), handlers=[RecordingHandler(path), *world]))
    except Exception as err:  # noqa: BLE001 - the outcome is compared, whatever it is
        outcome = ("raised", type(err).__name__, str(err))
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    return outcome, lines, [name for name in bodies if name == "Fetch"]


@pytest.mark.parametrize("name", list(WORLDS))
def test_a_generator_world_handler_is_recorded_as_by_the_generator_body(tmp_path, monkeypatch, name):
    world = WORLDS[name]
    body_outcome, body_lines, body_fetches = outcome_and_lines(tmp_path / "body.jsonl", world, False, monkeypatch)
    observed_outcome, observed_lines, observed_fetches = outcome_and_lines(tmp_path / "observed.jsonl", world, True, monkeypatch)
    assert observed_outcome == body_outcome
    assert observed_lines == body_lines
    assert body_fetches and not observed_fetches  # each path was the one taken
    # An abort ends the recorder's block too: its session closes as ended by an error.
    assert observed_lines[-1]["end"] == ("error" if "abort" in name else "ok")
    assert observed_lines[-1]["records"] == len(observed_lines) - 1


def test_what_each_answer_kind_records(tmp_path, monkeypatch):
    """The records themselves, not only their agreement: values at the perform site, errors raised
    there, nothing for an aborted effect (the run ends with the handler's value)."""
    _, resumed, _ = outcome_and_lines(tmp_path / "resume.jsonl", [resume_non_tail_wrapping], True, monkeypatch)
    assert [(r["task"], r["seq"], r["fields"], r["answer"]) for r in resumed[:3]] == [
        ([], 0, {"x": 0}, 0), ([], 1, {"x": 1}, 3), ([], 2, {"x": 2}, 6),
    ]
    assert all(r["at"].endswith("in leaf") for r in resumed[:-1])
    _, raised, _ = outcome_and_lines(tmp_path / "raise.jsonl", [probe_then_raise, Probes()], True, monkeypatch)
    assert [(r["fields"], r.get("error", {}).get("message")) for r in raised[:3]] == [
        ({"x": 0}, None), ({"x": 1}, "no 101"), ({"x": 2}, None),
    ]
    outcome, aborted, _ = outcome_and_lines(tmp_path / "abort.jsonl", [abort_at_two], True, monkeypatch)
    assert outcome == ("value", "aborted at 2")
    assert [r["fields"] for r in aborted[:-1]] == [{"x": 0}, {"x": 1}]


def test_a_recording_of_a_generator_world_handler_replays(tmp_path):
    path = tmp_path / "r.jsonl"
    recorded = run(program(), handlers=[RecordingHandler(path), probe_then_raise, Probes()])
    assert recorded == ([100, "no 101", 102], [[110, "no 111", 112], [120, "no 121", 122]])
    assert run(program(), handlers=[ReplayHandler(path)]) == recorded
    assert len(load_recording(path).records) == 9


class SiteNaming(NativeHandler):
    """Answers ``Fetch`` with where it was performed (``perform_site_location``)."""

    types = (Fetch,)
    name = "SiteNaming"

    def handle(self, effect, segment):
        return perform_site_location().rpartition(" ")[2]


def test_a_handler_passed_the_effect_sees_the_perform_site_of_the_program(tmp_path):
    """While the answer is pending, the observer frame stands on top of the program frame; a native
    handler the world handler passes the effect to still names the program's perform site."""
    path = tmp_path / "r.jsonl"
    assert run(nested(4), handlers=[RecordingHandler(path), pass_on, SiteNaming()]) == "leaf"
    assert [(r.fields, r.answer) for r in load_recording(path).records] == [({"x": 4}, "leaf")]


@do
def reentrant_program():
    first = yield leaf(1)
    second = sum_of_reentrant_fetches()  # plain Python code calling back into the run
    return first, second


def sum_of_reentrant_fetches():
    return run_reentrant(leaf(2)) + run_reentrant(nested(3))


@pytest.mark.parametrize("name", ["resume", "non-tail resume", "effect, then resume", "raise before answering"])
def test_a_reentrant_call_under_a_generator_world_handler_is_recorded_as_by_the_generator_body(tmp_path, monkeypatch, name):
    world = WORLDS[name]
    outcomes = []
    for observed in (False, True):
        monkeypatch.setattr(record_module, "OBSERVE_GENERATOR_HANDLERS", observed)
        path = tmp_path / f"{observed}.jsonl"
        try:
            outcome = ("value", run(reentrant_program(), handlers=[RecordingHandler(path), *world]))
        except Exception as err:  # noqa: BLE001 - compared
            outcome = ("raised", type(err).__name__, str(err))
        outcomes.append((outcome, [json.loads(line) for line in path.read_text().splitlines()[1:]]))
    assert outcomes[0] == outcomes[1]
    # Fetch(1) raising ends the run before the re-entrant calls; otherwise all three are recorded.
    assert outcomes[1][1][-1]["records"] == (1 if name == "raise before answering" else 3)
    assert outcomes[1][0][0] == ("raised" if name == "raise before answering" else "value")

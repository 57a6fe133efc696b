"""Record and replay leave no silent holes: what a recording names must be what is replayed."""

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from doeff_migrate.runtime import Await, EffectBase, Resume, RunInThread, do, handler, run, with_handlers
from doeff_migrate.runtime.recording import RecordingHandler, ReplayDivergenceError, ReplayHandler, load_recording

LOADS = []


async def load(path):
    LOADS.append(path)
    return {"weights": len(path)}


@do
def evaluate(checkpoint):
    weights = yield Await(load(checkpoint))
    return weights["weights"]


def test_an_awaited_call_with_other_arguments_is_a_divergence(tmp_path):
    path = tmp_path / "await.jsonl"
    assert run(evaluate("ckpt.pt"), handlers=[RecordingHandler(path)]) == 7
    LOADS.clear()
    assert run(evaluate("ckpt.pt"), handlers=[ReplayHandler(path)]) == 7  # the same call replays
    with pytest.raises(ReplayDivergenceError) as info:
        run(evaluate("other.pt"), handlers=[ReplayHandler(path)])
    assert "replay diverged" in str(info.value) and "load" in str(info.value)
    assert LOADS == []  # neither replay ran the coroutine
    fields = load_recording(path).records[0].fields["coroutine"]
    assert fields["$coroutine"].endswith("test_ml_recording_holes.load") and len(fields["args"]) == 32


@do
def three_steps(steps):
    total = 0
    for step in range(steps):
        total += (yield Await(load(f"step-{step}")))["weights"]
    return total


def test_recorded_effects_left_over_at_the_end_are_a_divergence(tmp_path):
    path = tmp_path / "three.jsonl"
    run(three_steps(3), handlers=[RecordingHandler(path)])
    with pytest.raises(ReplayDivergenceError) as info:
        run(three_steps(2), handlers=[ReplayHandler(path)])
    message = str(info.value)
    assert "ended with 1 recorded effect(s) the program never performed, from effect #2 of main" in message
    assert run(three_steps(2), handlers=[ReplayHandler(path, strict=False)]) == 12  # lenient replay allows it


# --- nested recordings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetch(EffectBase[int]):
    x: int


@dataclass(frozen=True)
class Score(EffectBase[int]):
    x: int


@dataclass(frozen=True)
class Note(EffectBase[None]):
    text: str


WORLD = []


def double(x):
    WORLD.append(("double", x))
    return 2 * x


@handler
def scorer(effect: Score, k):
    # Answers with an effect of its own, which only the handlers outside it see.
    return (yield Resume(k, (yield RunInThread(double, effect.x))))


@handler
def world(effect: Fetch | Note, k):
    WORLD.append((type(effect).__name__, effect.x if isinstance(effect, Fetch) else effect.text))
    return (yield Resume(k, effect.x * 10 if isinstance(effect, Fetch) else None))


@do
def nested_step(n):
    a = yield Fetch(n)
    b = yield Score(n)
    yield Note(f"step {n}")
    c = (yield Await(load(f"ckpt-{n}")))["weights"]
    return a + b + c


def nested_stack(n, inner, outer):
    # A stack built by a helper, with scorer between its recording and the one its caller wires.
    return world(outer(with_handlers([scorer, inner], nested_step(n))))


def test_nested_recordings_each_hold_what_their_own_replay_is_asked(tmp_path):
    inner, outer = tmp_path / "inner.jsonl", tmp_path / "outer.jsonl"
    WORLD.clear()
    LOADS.clear()
    value = run(nested_stack(1, RecordingHandler(inner, exclude=[Note]), RecordingHandler(outer)))
    assert value == 10 + 2 + len("ckpt-1")
    assert WORLD == [("Fetch", 1), ("double", 1), ("Note", "step 1")] and LOADS == ["ckpt-1"]

    def kinds(path):
        return [r.effect.rpartition(".")[2] for r in load_recording(path).records]

    assert kinds(inner) == ["Fetch", "Score", "Await"]
    # What the inner recording re-performs, and the RunInThread scorer answers its Score with, are
    # answered by the inner replay without running: only the Note it leaves out reaches the outer one.
    assert kinds(outer) == ["Note"]
    WORLD.clear()
    assert run(nested_stack(1, ReplayHandler(inner), ReplayHandler(outer))) == value
    assert WORLD == [] and LOADS == ["ckpt-1"]


# --- through the runner ----------------------------------------------------------------------------------

PIPELINE = """
    from doeff_migrate.runtime import Await, do
    from mlproj import helper

    async def fetch(name):
        return helper.size(name)

    @do
    def main():
        return (yield Await(fetch("dataset")))

    @do
    def other():
        return (yield Await(fetch("dataset")))

    async def make_closure():
        return lambda x: x + 1

    @do
    def closure():
        f = yield Await(make_closure())
        return f(1)
"""


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path):
    (tmp_path / "mlproj").mkdir()
    (tmp_path / "mlproj" / "__init__.py").write_text("")
    (tmp_path / "mlproj" / "helper.py").write_text("def size(name):\n    return len(name)\n")
    (tmp_path / "mlproj" / "pipe.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def _version(recording: Path) -> str:
    return json.loads(recording.read_text().splitlines()[0])["version"]


def test_the_version_hashes_the_entry_module_and_the_project_modules_it_imports(project):
    first, same, changed = project / "a.jsonl", project / "b.jsonl", project / "c.jsonl"
    assert cli(project, "run", "mlproj.pipe.main", "--record", str(first)).returncode == 0
    assert cli(project, "run", "mlproj.pipe.main", "--record", str(same)).returncode == 0
    (project / "mlproj" / "helper.py").write_text("def size(name):\n    return len(name) * 1\n")
    assert cli(project, "run", "mlproj.pipe.main", "--record", str(changed)).returncode == 0
    assert _version(first) == _version(same) != _version(changed)
    assert _version(first).startswith("sha256:")


def test_a_recording_of_another_entry_point_is_refused(project):
    recording = project / "main.jsonl"
    assert cli(project, "run", "mlproj.pipe.main", "--record", str(recording)).returncode == 0
    proc = cli(project, "run", "mlproj.pipe.other", "--replay", str(recording))
    assert proc.returncode == 2
    assert f"error: {recording} was recorded for mlproj.pipe.main, not mlproj.pipe.other" in proc.stderr
    assert proc.stdout == ""


def test_fewer_effects_than_recorded_exit_1_under_the_runner(project):
    recording = project / "main.jsonl"
    assert cli(project, "run", "mlproj.pipe.main", "--record", str(recording)).returncode == 0
    pipe = project / "mlproj" / "pipe.py"
    pipe.write_text(pipe.read_text().replace('return (yield Await(fetch("dataset")))', "return 7", 1))  # main only
    proc = cli(project, "run", "mlproj.pipe.main", "--replay", str(recording))
    assert proc.returncode == 1, proc.stderr
    assert "recorded effect(s) the program never performed" in proc.stderr


def test_an_answer_that_cannot_be_recorded_names_the_flag_that_leaves_it_out(project):
    recording = project / "closure.jsonl"
    proc = cli(project, "run", "mlproj.pipe.closure", "--record", str(recording))
    assert proc.returncode == 1
    assert "cannot record the answer of Await" in proc.stderr and "--record-exclude Await" in proc.stderr
    proc = cli(project, "run", "mlproj.pipe.closure", "--record", str(recording), "--overwrite", "--record-exclude", "Await")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2"
    assert load_recording(recording).records == []
    proc = cli(project, "run", "mlproj.pipe.closure", "--record", str(project / "x.jsonl"), "--record-exclude", "Nope")
    assert proc.returncode == 2 and "--record-exclude Nope: no runtime effect of that name" in proc.stderr
    assert not (project / "x.jsonl").exists()


def test_recording_a_pinjected_entry_point_is_refused_not_skipped(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text(
        "from pinjected import IProxy, injected\n\n\n@injected\ndef greet(name):\n    return f'hi {name}'\n\n\n"
        "main: IProxy = greet('x')\n"
    )
    recording = tmp_path / "r.jsonl"
    proc = cli(tmp_path, "run", "app.main.main", "--record", str(recording))
    assert proc.returncode == 2, proc.stderr
    assert "app.main.main is still a pinjected" in proc.stderr and "would see nothing" in proc.stderr
    assert not recording.exists()
    assert "never awaited" not in proc.stderr

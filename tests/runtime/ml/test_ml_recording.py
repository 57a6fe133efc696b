"""RecordingHandler / ReplayHandler: format, replay with no side effects, divergence, bad input."""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from doeff_migrate.runtime import (
    Ask,
    Await,
    CacheGet,
    CachePut,
    EffectBase,
    Gather,
    Resume,
    RunInThread,
    Spawn,
    Wait,
    do,
    handler,
    memory_cache,
    run,
)
from doeff_migrate.runtime.recording import (
    UNRECORDED_EFFECTS,
    BlobIntegrityError,
    RecordingError,
    RecordingExistsError,
    RecordingFormatError,
    RecordingHandler,
    RecordingVersionError,
    ReplayDivergenceError,
    ReplayHandler,
    load_recording,
)


@dataclass(frozen=True)
class LoadData(EffectBase):
    name: str


@dataclass(frozen=True)
class Embed(EffectBase):
    data: object


class World:
    """The expensive handlers; counts every call so tests can prove a replay made none."""

    def __init__(self):
        self.calls = []

    @property
    def handler(self):
        world = self

        @handler
        def world_handler(effect: LoadData | Embed, k):
            world.calls.append(effect)
            if isinstance(effect, LoadData):
                if effect.name == "missing":
                    raise FileNotFoundError(effect.name)
                return (yield Resume(k, np.arange(4, dtype=np.float64) + len(effect.name)))
            return (yield Resume(k, {"mean": float(np.mean(effect.data)), "shape": tuple(effect.data.shape)}))

        return world_handler


@do
def pipeline():
    scale = yield Ask("scale")
    data = yield LoadData("train")
    stats = yield Embed(data)
    try:
        yield LoadData("missing")
        missing = None
    except FileNotFoundError as err:
        missing = str(err)
    return {"total": float(data.sum()) * scale, "stats": stats, "missing": missing}


def record(tmp_path, program=None, world=None, name="run.jsonl", **kw):
    world = world or World()
    path = tmp_path / name
    value = run(program or pipeline(), handlers=[RecordingHandler(path, **kw), world.handler], env={"scale": 2})
    return path, value, world


def test_recording_holds_effect_type_fields_answer_error_and_key(tmp_path):
    path, value, world = record(tmp_path)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    header, *records, end = lines
    assert header["doeff_recording"] == 1 and header["program"].endswith("pipeline")
    assert [r["effect"].rpartition(".")[2] for r in records] == ["LoadData", "Embed", "LoadData"]
    assert [(r["task"], r["seq"]) for r in records] == [([], 0), ([], 1), ([], 2)]
    assert records[0]["fields"] == {"name": "train"}
    # an array answer lives in a blob with a size summary; the tuple in the dict is tagged
    blob = records[0]["answer"]
    assert blob["$type"] == "numpy.ndarray" and "shape=(4,)" in blob["$summary"] and blob["$bytes"] > 0
    assert (Path(str(path) + ".blobs") / blob["$blob"][:2] / blob["$blob"]).exists()
    assert records[1]["fields"]["data"]["$type"] == "numpy.ndarray" and "$sha256" in records[1]["fields"]["data"]
    assert records[1]["answer"]["shape"] == {"$tuple": [4]}
    assert records[2]["error"]["type"] == "builtins.FileNotFoundError"
    assert "test_ml_recording.py" in records[0]["at"] and "in pipeline" in records[0]["at"]
    assert end == {"end": "ok", "records": 3}
    assert not any(r["effect"].endswith(".Ask") for r in records)


def test_replay_answers_everything_with_zero_calls_to_the_world(tmp_path):
    path, value, world = record(tmp_path)
    assert len(world.calls) == 3
    again = World()
    replayed = run(pipeline(), handlers=[ReplayHandler(path), again.handler], env={"scale": 2})
    assert replayed == value
    assert again.calls == []


def test_replay_with_no_world_handlers_at_all(tmp_path):
    path, value, _ = record(tmp_path)
    assert run(pipeline(), handlers=[ReplayHandler(path)], env={"scale": 2}) == value


def test_divergence_names_effect_location_and_recorded(tmp_path):
    path, _, _ = record(tmp_path)

    @do
    def changed():
        yield Ask("scale")
        return (yield LoadData("test"))

    with pytest.raises(ReplayDivergenceError) as info:
        run(changed(), handlers=[ReplayHandler(path)], env={"scale": 2})
    msg = str(info.value)
    assert "LoadData(name='test')" in msg  # what the program did
    assert "test_ml_recording.py" in msg and "in changed" in msg  # where
    assert "LoadData(name='train')" in msg and "in pipeline" in msg  # what was recorded
    assert "strict=False" in msg and "Re-record" in msg
    assert info.value.recorded.fields == {"name": "train"}


def test_effect_never_recorded_is_a_divergence_in_strict_mode(tmp_path):
    path, _, _ = record(tmp_path)

    @do
    def longer():
        out = yield pipeline()
        yield LoadData("extra")
        return out

    with pytest.raises(ReplayDivergenceError) as info:
        run(longer(), handlers=[ReplayHandler(path)], env={"scale": 2})
    assert "LoadData(name='extra')" in str(info.value) and "never recorded" in str(info.value)
    assert "only 3 recorded effect(s)" in str(info.value)


def test_non_strict_replay_passes_unrecorded_effects_outward(tmp_path):
    path, value, _ = record(tmp_path)
    world = World()

    @do
    def longer():
        out = yield pipeline()
        extra = yield LoadData("extra")
        return out, extra

    out, extra = run(longer(), handlers=[ReplayHandler(path, strict=False), world.handler], env={"scale": 2})
    assert out == value
    assert world.calls == [LoadData("extra")] and list(extra) == [5, 6, 7, 8]


def test_spawned_tasks_are_keyed_by_task_path_and_replay(tmp_path):
    @do
    def child(i):
        return (yield LoadData(f"part{i}"))

    @do
    def parent():
        tasks = []
        for i in range(3):
            tasks.append((yield Spawn(child(i))))
        parts = yield Gather(*tasks)
        return [float(p.sum()) for p in parts]

    path, value, world = record(tmp_path, parent())
    rec = load_recording(path)
    assert sorted(r.key for r in rec.records) == [((0,), 0), ((1,), 0), ((2,), 0)]
    assert run(parent(), handlers=[ReplayHandler(path)]) == value


DELAYS = {}


def sleep_for(i):
    time.sleep(DELAYS[i])
    return i


def test_keys_do_not_depend_on_completion_order(tmp_path):
    """Tasks finishing in a different order record the same keys and replay the same."""

    @do
    def child(i):
        yield RunInThread(sleep_for, i)
        return (yield LoadData(f"part{i}"))

    @do
    def parent():
        tasks = []
        for i in range(3):
            tasks.append((yield Spawn(child(i))))
        return [float(p.sum()) for p in (yield Gather(*tasks))]

    DELAYS.update({0: 0.0, 1: 0.05, 2: 0.1})
    p1, v1, _ = record(tmp_path, parent(), name="a.jsonl")
    DELAYS.update({0: 0.1, 1: 0.05, 2: 0.0})
    p2, v2, _ = record(tmp_path, parent(), name="b.jsonl")
    order1 = [r.key for r in load_recording(p1).records if r.effect.endswith("LoadData")]
    order2 = [r.key for r in load_recording(p2).records if r.effect.endswith("LoadData")]
    assert order1 != order2 and sorted(order1) == sorted(order2)  # file order follows completion
    assert v1 == v2
    assert run(parent(), handlers=[ReplayHandler(p2)]) == v1


def test_await_and_cache_effects_are_recorded_and_replayed_without_running(tmp_path):
    ran = []

    async def fetch(x):
        ran.append(x)
        return x * 10

    @do
    def prog():
        a = yield Await(fetch(4))
        yield CachePut("k", a)
        return (yield CacheGet("k"))

    path = tmp_path / "aw.jsonl"
    assert run(prog(), handlers=[RecordingHandler(path), memory_cache()]) == 40
    names = [r.effect.rpartition(".")[2] for r in load_recording(path).records]
    assert names == ["Await", "CachePut", "CacheGet"]
    ran.clear()
    assert run(prog(), handlers=[ReplayHandler(path)]) == 40
    assert ran == []  # the coroutine was closed, never run


def test_recorded_type_set_is_documented_and_overridable(tmp_path):
    assert Ask in UNRECORDED_EFFECTS and Wait in UNRECORDED_EFFECTS
    path, _, _ = record(tmp_path, exclude=[Embed])
    names = [r.effect.rpartition(".")[2] for r in load_recording(path).records]
    assert names == ["LoadData", "LoadData"]
    world = World()
    # the replay follows the header: Embed is not in the recording, so it runs for real
    run(pipeline(), handlers=[ReplayHandler(path), world.handler], env={"scale": 2})
    assert [type(c).__name__ for c in world.calls] == ["Embed"]

    path2, _, _ = record(tmp_path, name="only.jsonl", record=[Ask, LoadData])
    names2 = [r.effect.rpartition(".")[2] for r in load_recording(path2).records]
    assert names2 == ["Ask", "LoadData", "LoadData"]


def test_killed_run_leaves_a_readable_prefix(tmp_path):
    script = tmp_path / "killed.py"
    path = tmp_path / "killed.jsonl"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        from dataclasses import dataclass
        from doeff_migrate.runtime import EffectBase, Resume, do, handler, run
        from doeff_migrate.runtime.recording import RecordingHandler

        @dataclass(frozen=True)
        class Step(EffectBase):
            i: int

        @handler
        def steps(effect: Step, k):
            if effect.i == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return (yield Resume(k, effect.i * 2))

        @do
        def prog():
            for i in range(10):
                yield Step(i)

        run(prog(), handlers=[RecordingHandler({str(path)!r}), steps])
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    rec = load_recording(path)
    assert [r.answer for r in rec.records] == [0, 2, 4] and not rec.finished


def test_truncated_recording_replays_its_prefix_then_says_it_was_interrupted(tmp_path):
    path, value, _ = record(tmp_path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    # drop the end marker and cut the last record in half, as a kill mid-write would
    cut = b"\n".join(lines[:3]) + b"\n" + lines[3][: len(lines[3]) // 2]
    path.write_bytes(cut)
    rec = load_recording(path)
    assert rec.torn_last_line and len(rec.records) == 2 and not rec.finished
    with pytest.raises(ReplayDivergenceError) as info:
        run(pipeline(), handlers=[ReplayHandler(path)], env={"scale": 2})
    msg = str(info.value)
    assert "did not finish" in msg and "interrupted" in msg and "LoadData(name='missing')" in msg
    assert path.read_bytes() == cut  # replay never writes


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty"),
        (b"hello world\n", "not a doeff-migrate recording"),
        (b'{"foo": 1}\n{"bar": 2}\n', "not a doeff-migrate recording"),
        (b'{"doeff_recording": 99}\n', "format 99"),
        (b'{"doeff_recording": 1}\n{"task": [], "seq": 0, "effect": "x.Y", "answer": 1}\n{broken\n', ":3 is corrupt"),
        (b'{"doeff_recording": 1}\n{"seq": 0}\n', "not a recorded effect"),
        (b'{"doeff_recording": 1}\n{"task": "\x80\x81"}\n', ":2 is corrupt (not UTF-8 text)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a doeff-migrate recording"),
        (b'{"doeff_recording": 1, "program": "x"', "cut-off header"),
    ],
    ids=["empty", "text", "foreign-json", "future-version", "corrupt-line", "bad-record", "binary-line", "png", "torn-header"],
)
def test_foreign_and_corrupt_files_give_clear_errors_and_stay_untouched(tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(RecordingFormatError) as info:
        run(pipeline(), handlers=[ReplayHandler(path)], env={"scale": 2})
    assert expected in str(info.value)
    assert path.read_bytes() == content


def test_missing_recording_file_is_a_clear_error(tmp_path):
    with pytest.raises(RecordingFormatError, match="no recording at"):
        run(pipeline(), handlers=[ReplayHandler(tmp_path / "nope.jsonl")], env={"scale": 2})


def test_tampered_blob_is_refused_before_unpickling(tmp_path):
    path, _, _ = record(tmp_path)
    blobs = sorted((Path(str(path) + ".blobs")).rglob("*"))
    target = [b for b in blobs if b.is_file()][0]
    target.write_bytes(target.read_bytes() + b"tampered")
    with pytest.raises(BlobIntegrityError, match="does not match its sha256"):
        run(pipeline(), handlers=[ReplayHandler(path)], env={"scale": 2})


def test_missing_blob_directory_is_a_clear_error(tmp_path):
    path, _, _ = record(tmp_path)
    moved = tmp_path / "elsewhere.jsonl"
    moved.write_bytes(path.read_bytes())  # copied without its .blobs directory
    with pytest.raises(BlobIntegrityError, match="is missing"):
        run(pipeline(), handlers=[ReplayHandler(moved)], env={"scale": 2})


def test_never_overwrites_an_existing_recording_unless_asked(tmp_path):
    path, _, _ = record(tmp_path)
    before = path.read_bytes()
    world = World()
    with pytest.raises(RecordingExistsError, match="overwrite=True"):
        run(pipeline(), handlers=[RecordingHandler(path), world.handler], env={"scale": 2})
    assert path.read_bytes() == before and world.calls == []  # refused before running anything
    other = tmp_path / "unrelated.txt"
    other.write_text("precious")
    with pytest.raises(RecordingExistsError):
        run(pipeline(), handlers=[RecordingHandler(other), world.handler], env={"scale": 2})
    assert other.read_text() == "precious"
    run(pipeline(), handlers=[RecordingHandler(path, overwrite=True), World().handler], env={"scale": 2})
    assert load_recording(path).finished


def test_non_picklable_answer_stops_with_a_clear_error_and_keeps_the_prefix(tmp_path):
    @handler
    def gives_lock(effect: LoadData, k):
        if effect.name == "lock":
            return (yield Resume(k, threading.Lock()))
        return (yield Resume(k, 1))

    @do
    def prog():
        yield LoadData("fine")
        yield LoadData("lock")

    path = tmp_path / "lock.jsonl"
    with pytest.raises(RecordingError) as info:
        run(prog(), handlers=[RecordingHandler(path), gives_lock])
    msg = str(info.value)
    assert "LoadData(name='lock')" in msg and "lock" in msg and "exclude=[LoadData]" in msg
    assert "neither JSON nor picklable" in msg
    rec = load_recording(path)
    assert [r.fields["name"] for r in rec.records] == ["fine"] and rec.end["end"] == "error"


PROGRAM_V1 = """
    from dataclasses import dataclass
    from doeff_migrate.runtime import EffectBase, do

    @dataclass(frozen=True)
    class Fetch(EffectBase):
        url: str

    @do
    def main():
        return (yield Fetch("{url}"))
"""

DRIVER = """
import sys
from doeff_migrate.runtime import Resume, handler, run
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler
import versioned

@handler
def net(effect: versioned.Fetch, k):
    return (yield Resume(k, effect.url.upper()))

mode, path = sys.argv[1], sys.argv[2]
if mode == "record":
    print(run(versioned.main(), handlers=[RecordingHandler(path), net]))
elif mode == "replay":
    print(run(versioned.main(), handlers=[ReplayHandler(path)]))
else:
    print(run(versioned.main(), handlers=[ReplayHandler(path, check_version=True)]))
"""


def test_recording_from_a_different_program_version(tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    module = tmp_path / "versioned.py"
    module.write_text(textwrap.dedent(PROGRAM_V1.format(url="a.example")))
    path = tmp_path / "v.jsonl"

    def go(mode):
        return subprocess.run([sys.executable, "driver.py", mode, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert go("record").stdout.strip() == "A.EXAMPLE"
    assert go("replay").stdout.strip() == "A.EXAMPLE"
    module.write_text(textwrap.dedent(PROGRAM_V1.format(url="b.example")))  # the program changed
    proc = go("replay")
    assert proc.returncode != 0
    assert "ReplayDivergenceError" in proc.stderr and "Fetch(url='b.example')" in proc.stderr
    assert "Fetch(url='a.example')" in proc.stderr and "source changed" in proc.stderr
    strict_version = go("check")
    assert "RecordingVersionError" in strict_version.stderr and "different version" in strict_version.stderr
    assert RecordingVersionError.__mro__[1] is ReplayDivergenceError


def test_replay_handler_and_recording_handler_are_installers(tmp_path):
    from doeff_migrate.runtime import with_handlers

    path, value, _ = record(tmp_path)
    prog = with_handlers([ReplayHandler(path)], pipeline())
    assert run(prog, env={"scale": 2}) == value
    with pytest.raises(TypeError, match="call it on a program"):
        ReplayHandler(path)()
    with pytest.raises(TypeError, match="@do function"):
        RecordingHandler(tmp_path / "x.jsonl")(pipeline)
    assert not (tmp_path / "x.jsonl").exists()


def test_field_descriptions_are_stable_across_processes(tmp_path):
    """Sets and dicts with non-string keys are described by content, not by hash-seeded order."""
    code = textwrap.dedent("""
        import json
        from doeff_migrate.runtime.recording import describe
        print(json.dumps(describe({"tags": {"alpha", "beta", "gamma", "delta"}, "by_id": {1: "a", 2: "b"}})))
    """)
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1 and '"$set"' in outs.pop()


@dataclass(frozen=True)
class _OneField(EffectBase):
    x: object


@dataclass(frozen=True)
class _TwoFields(EffectBase):
    a: int
    b: str


@dataclass(frozen=True)
class _NoFields(EffectBase):
    pass


def test_record_lines_written_from_cached_text_equal_the_generic_json_encoding(tmp_path):
    """The common answers (int, str) are written from cached pieces of text; each line must be exactly
    what encoding the record as compact JSON gives, whatever the field and answer values are."""
    from doeff_migrate.runtime.handlers import NativeHandler

    class Answers(NativeHandler):
        types = (_OneField, _TwoFields, _NoFields)
        name = "Answers"

        def handle(self, effect, segment):
            if isinstance(effect, _OneField):
                return effect.x
            return 7 if isinstance(effect, _NoFields) else "two"

    values = [0, -3, 10**30, "s", 'q"uote\n', "é%s", True, None, 2.5, [1, {"k": 3}]]

    @do
    def prog():
        for v in values:
            yield _OneField(v)
        yield _TwoFields(1, "%d")
        yield _NoFields()

    path = tmp_path / "lines.jsonl"
    run(prog(), handlers=[RecordingHandler(path), Answers()])
    lines = path.read_text(encoding="utf-8").splitlines()[1:-1]
    assert len(lines) == len(values) + 2
    for seq, line in enumerate(lines):
        obj = json.loads(line)
        assert obj["seq"] == seq and obj["task"] == [] and ":" in obj["at"]
        assert line == json.dumps(obj, separators=(",", ":"))
    assert [json.loads(line)["answer"] for line in lines[:3]] == [0, -3, 10**30]
    assert json.loads(lines[-2])["fields"] == {"a": 1, "b": "%d"} and json.loads(lines[-1])["fields"] == {}
    assert load_recording(path).finished

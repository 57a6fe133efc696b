"""Fidelity of the ``compute``/``io``/``recording`` phases on the cases of the adversarial review
(docs/review/phases-adversarial-review.md, findings F1...): each project runs through the runner before and
after the phase, and its result, its output and its side effects (files, the offline wandb run) must agree.
Where the codemod now leaves a construct as it was, the test also checks the flag it writes.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate

PYTHON = sys.executable


@dataclass
class Outcome:
    returncode: int
    result: object
    stdout: list[str]
    stderr: str
    wandb: list[tuple] | None


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


def wandb_records(root: Path) -> list[tuple] | None:
    """History, summary and config records of the latest offline wandb run under ``root/wandb_runs``, in order
    (read from wandb's own leveldb-framed record file)."""
    runs = sorted(glob.glob(str(root / "wandb_runs" / "wandb" / "offline-run-*")))
    if not runs:
        return None
    from wandb.proto import wandb_internal_pb2 as pb

    raw = Path(glob.glob(runs[-1] + "/run-*.wandb")[0]).read_bytes()
    block, pos, cur, records = 32768, 7, b"", []
    while pos + 7 <= len(raw):
        off = pos % block
        if block - off < 7:
            pos += block - off
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += block - off
            continue
        cur += raw[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            records.append(cur)
            cur = b""
    def items(entries) -> dict:
        named = {(i.key or "/".join(i.nested_key)): i.value_json for i in entries}
        return {k: json.loads(v) for k, v in named.items() if k and not k.startswith("_")}

    out: list[tuple] = []
    for data in records:
        record = pb.Record()
        record.ParseFromString(data)
        which = record.WhichOneof("record_type")
        if which == "history":
            out.append(("history", record.history.step.num, items(record.history.item)))
        elif which == "summary":
            out.append(("summary", items(record.summary.update)))
        elif which == "config":
            out.append(("config", items(record.config.update)))
    return out


def run_entry(root: Path, target: str, *args: str, timeout: int = 120, **env: str) -> Outcome:
    full_env = dict(os.environ)
    full_env.pop("PYTHONPATH", None)
    full_env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(root / "wandb_runs"), PYTHONHASHSEED="0")
    full_env.update(env)
    (root / "wandb_runs").mkdir(exist_ok=True)
    proc = subprocess.run(
        [PYTHON, "-m", "doeff_migrate.runtime", "run", target, "--json", *args],
        cwd=root, capture_output=True, text=True, env=full_env, timeout=timeout,
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    return Outcome(proc.returncode, result, lines[:-1] if proc.returncode == 0 else lines, proc.stderr, wandb_records(root))


def migrate_project(tmp_path: Path, files: dict[str, str], *phases: str) -> tuple[Path, Path]:
    """``original`` and ``migrated`` copies of the project under ``tmp_path``, the latter through ``phases``."""
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    _write(original, files)
    shutil.copytree(original, migrated)
    args = [str(migrated), "-q", "--allow-dirty"]
    for phase in phases:
        args += ["--phase", phase]
    assert doeff_migrate(args) == 0
    return original, migrated


def flags(root: Path) -> list[str]:
    return sorted(re.findall(r"# doeff-migrate: (DM\d{3}):", "".join(p.read_text() for p in root.rglob("*.py"))))


def assert_same(original: Path, migrated: Path, target: str, **env: str) -> Outcome:
    before = run_entry(original, target, **env)
    assert before.returncode == 0, before.stderr[-3000:]
    after = run_entry(migrated, target, **env)
    assert after.returncode == 0, after.stderr[-3000:] + "\n" + "\n".join(
        f"--- {p.relative_to(migrated)}\n{p.read_text()}" for p in sorted(migrated.rglob("*.py")))
    assert (after.result, after.stdout) == (before.result, before.stdout)
    assert after.wandb == before.wandb
    return after


# -- compute: thread pools (F2, F14, F21) ------------------------------------------------------------------------

POOLS = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        import time
        from concurrent.futures import ThreadPoolExecutor
        from doeff_migrate.runtime import do

        LOG = []

        def work(i):
            time.sleep(0.05 * (4 - i))
            LOG.append(i)
            print("work", i, flush=True)
            return i * 10

        def fails(i):
            time.sleep(0.3 if i == 1 else 0.05)
            if i in (1, 3):
                raise ValueError(f"item {i} failed")
            return i

        @do
        def serial():
            # F2: max_workers=1 serialises the calls, in order
            with ThreadPoolExecutor(max_workers=1) as ex:
                ys = list(ex.map(work, range(4)))
            with ThreadPoolExecutor(max_workers=1) as ex2:
                ts = [ex2.submit(work, i) for i in range(4)]
                zs = [t.result() for t in ts]
            return [ys, zs, list(LOG)]

        @do
        def joined():
            # F14: leaving the block waits for every task
            with ThreadPoolExecutor() as ex:
                ts = [ex.submit(work, i) for i in range(3)]
            print("pool closed: all work done", flush=True)
            return [t.result() for t in ts]

        @do
        def first_error():
            # F21: the comprehension / map raise the first failure in list order
            with ThreadPoolExecutor() as ex:
                ts = [ex.submit(fails, i) for i in range(5)]
                try:
                    ys = [t.result() for t in ts]
                except ValueError as e:
                    ys = str(e)
            with ThreadPoolExecutor() as ex2:
                try:
                    zs = list(ex2.map(fails, range(5)))
                except ValueError as e:
                    zs = str(e)
            with ThreadPoolExecutor() as ex3:
                ok = list(ex3.map(work, range(4)))
            return [ys, zs, sorted(ok)]

        m_serial = serial()
        m_joined = joined()
        m_first_error = first_error()
    """,
}


def test_thread_pools_keep_limits_joins_and_error_order_f2_f14_f21(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, POOLS, "compute")
    text = (migrated / "proj" / "main.py").read_text()
    # The limited pools and the pool whose tasks outlive its block stay; the plain ones are rewritten.
    assert text.count("with ThreadPoolExecutor(") == 3 and "yield Wait(" in text
    assert flags(migrated) == ["DM211", "DM211", "DM212"]
    assert_same(original, migrated, "proj.main.m_serial").result == [[0, 10, 20, 30], [0, 10, 20, 30], [0, 1, 2, 3, 0, 1, 2, 3]]
    assert_same(original, migrated, "proj.main.m_joined").stdout[-1] == "pool closed: all work done"
    assert assert_same(original, migrated, "proj.main.m_first_error").result == ["item 1 failed", "item 1 failed", [0, 10, 20, 30]]


# -- io: generated handlers perform the call inline (F5, F19), pass wandb's arguments as given (F10, F11) -------

IO_INLINE = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        import argparse
        import os
        import threading

        import numpy as np
        import wandb
        from doeff_migrate.runtime import Gather, Spawn, do

        SAVE_LOCK = threading.Lock()

        @do
        def worker(i):
            print("worker", i, "start", flush=True)
            np.save(f"w{i}.npy", np.arange(3) * i)
            wandb.log({"worker": i})
            print("worker", i, "done", flush=True)
            return i

        @do
        def interleave():
            # F5: spawned tasks that never blocked ran one after the other; their wandb steps stay theirs
            wandb.init(project="p", mode="offline", dir=os.environ["WANDB_DIR"])
            ts = []
            for i in range(3):
                ts.append((yield Spawn(worker(i))))
            out = yield Gather(*ts)
            wandb.finish()
            return [out, [np.load(f"w{i}.npy").tolist() for i in range(3)]]

        @do
        def locked(i):
            with SAVE_LOCK:
                np.save(f"l{i}.npy", np.arange(2) + i)
            return i

        @do
        def under_lock():
            # F19: a moved call inside `with lock:` must not park the task holding the lock
            ts = []
            for i in range(3):
                ts.append((yield Spawn(locked(i))))
            return (yield Gather(*ts))

        @do
        def logged():
            # F10: wandb.config.update takes a Namespace; F11: an explicit commit=True closes the step
            args = argparse.Namespace(lr=0.1, epochs=2)
            wandb.init(project="p", mode="offline", dir=os.environ["WANDB_DIR"])
            wandb.config.update(args)
            wandb.log({"a": 1}, step=0, commit=True)
            wandb.log({"b": 2}, step=0)
            wandb.log({"c": 3}, step=1)
            cfg = dict(wandb.config)
            wandb.finish()
            return cfg

        m_interleave = interleave()
        m_under_lock = under_lock()
        m_logged = logged()
    """,
}


def test_io_handlers_run_inline_and_pass_wandb_arguments_through_f5_f10_f11_f19(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, IO_INLINE, "io")
    text = (migrated / "proj" / "main.py").read_text()
    assert "yield SaveNumpyArray(" in text and "yield LogMetrics(" in text and "yield LogConfig(args)" in text
    assert "RunInThread(" not in (migrated / "proj" / "effects_handlers.py").read_text().split("def call_in_thread")[0]
    run = assert_same(original, migrated, "proj.main.m_interleave")
    assert run.stdout == [f"worker {i} {s}" for i in range(3) for s in ("start", "done")]
    assert [r[2] for r in run.wandb if r[0] == "history"] == [{"worker": 0}, {"worker": 1}, {"worker": 2}]
    under_lock = run_entry(migrated, "proj.main.m_under_lock", timeout=60)  # hung before (F19)
    assert (under_lock.returncode, under_lock.result) == (0, [0, 1, 2])
    run = assert_same(original, migrated, "proj.main.m_logged")
    assert run.result == {"lr": 0.1, "epochs": 2}
    assert [r[1:] for r in run.wandb if r[0] == "history"] == [(0, {"a": 1}), (1, {"c": 3})]


# -- compute: asyncio.run stays (F4) -----------------------------------------------------------------------------

ASYNCIO = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        import asyncio
        import time
        from doeff_migrate.runtime import Spawn, Wait, do

        EVENTS = []

        async def background(tag):
            await asyncio.sleep(0.05)
            EVENTS.append(f"background {tag}")
            print("background", tag, flush=True)

        async def fetch(tag):
            # a fire-and-forget task: asyncio.run cancels it when fetch returns
            asyncio.get_running_loop().create_task(background(tag))
            await asyncio.sleep(0)
            EVENTS.append(f"fetch {tag}")
            return tag

        @do
        def child(tag):
            print("child start", tag, flush=True)
            v = asyncio.run(fetch(tag))
            print("child end", tag, flush=True)
            return v

        @do
        def parent():
            t1 = yield Spawn(child("a"))
            t2 = yield Spawn(child("b"))
            a = yield Wait(t1)
            b = yield Wait(t2)
            time.sleep(0.2)
            return [a, b, list(EVENTS)]

        main = parent()
    """,
}


def test_asyncio_run_keeps_blocking_and_cancelling_f4(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, ASYNCIO, "compute")
    assert "v = asyncio.run(fetch(tag))" in (migrated / "proj" / "main.py").read_text()
    assert flags(migrated) == ["DM210"]
    run = assert_same(original, migrated, "proj.main.main")
    assert run.stdout == ["child start a", "child end a", "child start b", "child end b"]
    assert run.result == ["a", "b", ["fetch a", "fetch b"]]


# -- compute: Ray tasks stay Ray tasks (F3, F8, F9) --------------------------------------------------------------

RAY = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        import os
        import tempfile

        import ray
        from doeff_migrate.runtime import do

        SEEN = []

        @ray.remote
        def _extend(xs, i):
            # mutates its argument and a module global: in Ray both are the worker's copies
            xs.append(i)
            SEEN.append(i)
            return len(xs)

        @ray.remote
        def _boom(x):
            raise ValueError(f"bad {x}")

        @ray.remote(max_retries=2, retry_exceptions=True)
        def _flaky(path):
            # fails the first time; Ray retries it
            if not os.path.exists(path):
                open(path, "w").close()
                raise RuntimeError("transient")
            return "ok"

        @do
        def mutation():
            base = [0]
            r1 = _extend.remote(base, 1)
            r2 = _extend.remote(base, 2)
            lens = ray.get([r1, r2])
            return [lens, base, SEEN]

        @do
        def errors():
            r = _boom.remote(1)
            try:
                v = ray.get(r)
            except ray.exceptions.RayTaskError as e:
                v = "caught RayTaskError " + type(e.cause).__name__
            return v

        @do
        def retries():
            r = _flaky.remote(os.path.join(tempfile.mkdtemp(), "marker"))
            return ray.get(r)

        @do
        def everything():
            return [(yield mutation()), (yield errors()), (yield retries())]

        main = everything()
    """,
}


def test_ray_tasks_keep_copies_errors_and_retries_f3_f8_f9(tmp_path: Path):
    pytest.importorskip("ray")
    original, migrated = migrate_project(tmp_path, RAY, "compute")
    text = (migrated / "proj" / "main.py").read_text()
    assert "yield Spawn(ray_task(_extend)(base, 1))" in text and text.count("@ray.remote") == 3
    assert flags(migrated) == []
    env = {"PYTHONPATH": str(original), "RAY_NUM_CPUS": "1"}
    before = run_entry(original, "proj.main.main", timeout=300, **env)
    assert before.returncode == 0, before.stderr[-3000:]
    env["PYTHONPATH"] = str(migrated)
    after = run_entry(migrated, "proj.main.main", timeout=300, **env)
    assert after.returncode == 0, after.stderr[-3000:]
    assert after.result == before.result == [[[2, 2], [0], []], "caught RayTaskError ValueError", "ok"]


# -- io: handlers reach the effects wherever the entry point is (F1, F13, F16, F20) ------------------------------

ENTRIES = {
    "proj/__init__.py": "",
    "proj/train.py": """\
        import os
        import wandb
        from doeff_migrate.runtime import do

        @do
        def train(steps):
            wandb.init(project="p", mode="offline", dir=os.environ["WANDB_DIR"])
            for i in range(steps):
                wandb.log({"loss": 1.0 / (i + 1)}, step=i)
            wandb.summary.update({"best": 1.0})
            wandb.finish()
            return steps

        class Trainer:
            def __init__(self, steps):
                self.steps = steps

            @do
            def fit(self):
                wandb.init(project="p", mode="offline", dir=os.environ["WANDB_DIR"])
                for i in range(self.steps):
                    wandb.log({"loss": float(i)})
                wandb.finish()
                return self.steps

        # F20: an entry point that is not `x = f(...)` of a module-level @do function
        method_main = Trainer(2).fit()
    """,
    "proj/main.py": """\
        from doeff_migrate.runtime import do
        from proj.train import train

        @do
        def pipeline():
            # F1: the wandb calls are reached only through another @do function of another module
            return (yield train(3))

        main = pipeline()
    """,
    "proj/lazy.py": """\
        from doeff_migrate.runtime import do

        @do
        def pipeline():
            # F1b: the module doing the IO is imported only when the program runs
            from proj.train import train
            return (yield train(2))

        main = pipeline()
    """,
    "other/__init__.py": "",
    "other/steps.py": """\
        import numpy as np
        from doeff_migrate.runtime import do

        @do
        def total():
            return float(np.load("w.npy").sum())
    """,
    "proj/lazy_other.py": """\
        from doeff_migrate.runtime import do

        @do
        def pipeline():
            # F1b: a module of another package, imported only when the program runs
            from other.steps import total
            return (yield total())

        main = pipeline()
    """,
    "proj/own.py": """\
        import numpy as np
        from doeff_migrate.runtime import do

        @do
        def total(seed):
            return float(np.load("w.npy").sum()) + seed

        # F16: the project's own registry called HANDLERS
        HANDLERS = {"print": print}

        main = total(1)
    """,
}


def test_generated_handlers_answer_effects_reached_from_anywhere_f1_f1b_f16_f20(tmp_path: Path):
    import numpy as np

    original, migrated = migrate_project(tmp_path, ENTRIES, "io")
    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
    assert "__doeff_handlers__ = _dm_HANDLERS" in (migrated / "proj" / "own.py").read_text()
    run = assert_same(original, migrated, "proj.main.main")
    assert [r[1:] for r in run.wandb if r[0] == "history"] == [(0, {"loss": 1.0}), (1, {"loss": 0.5}), (2, {"loss": 1 / 3})]
    assert ("summary", {"best": 1.0}) in run.wandb
    run = assert_same(original, migrated, "proj.lazy.main")
    assert [r[1:] for r in run.wandb if r[0] == "history"] == [(0, {"loss": 1.0}), (1, {"loss": 0.5})]
    assert assert_same(original, migrated, "proj.lazy_other.main").result == 6.0
    run = assert_same(original, migrated, "proj.train.method_main")
    assert [r[2] for r in run.wandb if r[0] == "history"] == [{"loss": 0.0}, {"loss": 1.0}]
    assert assert_same(original, migrated, "proj.own.main").result == 7.0


PINJECTED_SUBPACKAGE = {
    "proj/__init__.py": "",
    "proj/data/__init__.py": "",
    "proj/data/loaders.py": """\
        import numpy as np
        from pinjected import instance

        @instance
        def weights(weights_path):
            print("loading", weights_path)
            return np.load(weights_path)
    """,
    "proj/models.py": """\
        from pinjected import injected

        @injected
        def predict(weights, /, x):
            return float(weights.sum() * x)
    """,
    "proj/main.py": """\
        from pinjected import IProxy, design
        from proj.models import predict
        from proj.data.loaders import weights

        main: IProxy = predict(2.0)
        __design__ = design(weights_path="w.npy", weights=weights)
    """,
}


def test_pinjected_provider_doing_io_in_a_subpackage_f13(tmp_path: Path):
    import numpy as np

    from .harness import run_migrated, run_pinjected

    original, migrated = migrate_project(tmp_path, PINJECTED_SUBPACKAGE)
    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
    assert "yield LoadNumpyArray(" in (migrated / "proj" / "data" / "loaders.py").read_text()
    before, after = run_pinjected(original, "proj.main.main"), run_migrated(migrated, "proj.main.main")
    assert before.returncode == 0 and after.returncode == 0, after.stderr[-3000:]
    assert (after.result, after.stdout) == (before.result, before.stdout) == (12.0, ["loading w.npy"])


# -- io + recording: scripts (F6, F32) -----------------------------------------------------------------------------

SCRIPT = {
    "proj/__init__.py": "",
    "proj/pipeline.py": """\
        import numpy as np
        from doeff_migrate.runtime import do, run

        def expensive(w):
            print("EXPENSIVE CALLED", flush=True)
            return float(w.sum())

        @do
        def train(n):
            w = np.load("init.npy")
            s = expensive(w)
            np.save("out.npy", w * n)
            return s * n

        def main():
            # F6: a run of a program held in a variable, inside a function
            prog = train(2)
            print("result", run(prog))

        if __name__ == "__main__":
            main()
    """,
}


def run_script(root: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("PYTHONPATH", None)
    full_env.update(env)
    return subprocess.run([PYTHON, "-m", "proj.pipeline"], cwd=root, capture_output=True, text=True, env=full_env, timeout=120)


def test_scripts_are_wired_and_record_what_the_handlers_answer_f6_f32(tmp_path: Path):
    import numpy as np

    original, migrated = migrate_project(tmp_path, SCRIPT, "io", "recording")
    text = (migrated / "proj" / "pipeline.py").read_text()
    assert 'run(with_effect_handlers(with_handlers([*recording_handlers()], prog)))' in text
    for root in (original, migrated):
        np.save(root / "init.npy", np.arange(4.0))
    before, after = run_script(original), run_script(migrated)
    assert after.returncode == 0, after.stderr[-3000:]
    assert after.stdout == before.stdout == "EXPENSIVE CALLED\nresult 12.0\n"
    recorded = run_script(migrated, DOEFF_MIGRATE_RECORD="rec.jsonl")
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    records = [json.loads(line) for line in (migrated / "rec.jsonl").read_text().splitlines()]
    assert [r["effect"].rpartition(".")[2] for r in records if "effect" in r] == ["LoadNumpyArray", "SaveNumpyArray"]
    (migrated / "out.npy").unlink()
    (migrated / "init.npy").unlink()  # a replay needs neither the input nor the output
    replayed = run_script(migrated, DOEFF_MIGRATE_REPLAY="rec.jsonl")
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert replayed.stdout == "EXPENSIVE CALLED\nresult 12.0\n" and not (migrated / "out.npy").exists()


# -- io: a write whose value fails still truncates the file (F26) -------------------------------------------------

OPEN_WRITE = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        from doeff_migrate.runtime import do

        def render(rows):
            if not rows:
                raise ValueError("nothing to report")
            return "\\\\n".join(rows)

        @do
        def write_report(rows):
            with open("report.txt", "w") as f:
                f.write(render(rows))
            return "written"

        @do
        def pipeline():
            stale = "stale report from the last run"
            with open("report.txt", "w") as f:
                f.write(stale)
            try:
                status = yield write_report([])
            except ValueError as e:
                status = f"failed: {e}"
            with open("report.txt") as f:
                content = f.read()
            return [status, content]

        main = pipeline()
    """,
}


def test_failed_write_still_truncates_f26(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, OPEN_WRITE, "io")
    text = (migrated / "proj" / "main.py").read_text()
    assert "yield WriteText(\"report.txt\", stale)" in text and "f.write(render(rows))" in text
    assert assert_same(original, migrated, "proj.main.main").result == ["failed: nothing to report", ""]


# -- recording: several wired stacks in one script (F7, F17) -------------------------------------------------------

SWEEP = {
    "proj/__init__.py": "",
    "proj/pipeline.py": """\
        from dataclasses import dataclass

        import numpy as np
        from doeff_migrate.runtime import EffectBase, Resume, RunInThread, do, handler, run, with_handlers

        def expensive(x):
            print("EXPENSIVE", x, flush=True)
            return x * 2

        @dataclass(frozen=True)
        class Score(EffectBase[int]):
            x: int

        @handler
        def scorer(effect: Score, k):
            v = yield RunInThread(expensive, effect.x)
            return (yield Resume(k, v))

        @do
        def train(n):
            w = np.load("w.npy")
            a = yield Score(n)
            return float(w.sum()) + a

        def build(n):
            # F7: a stack built in a helper, run by a wired run below
            return with_handlers([scorer], train(n))

        if __name__ == "__main__":
            # F17: a sweep runs the program several times
            print("result", [run(build(seed), handlers=[]) for seed in range(3)])
    """,
}


def test_script_with_nested_stacks_and_a_sweep_records_and_replays_f7_f17(tmp_path: Path):
    import numpy as np

    original, migrated = migrate_project(tmp_path, SWEEP, "io", "recording")
    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
    expected = "EXPENSIVE 0\nEXPENSIVE 1\nEXPENSIVE 2\nresult [6.0, 8.0, 10.0]\n"
    assert run_script(original).stdout == expected
    plain = run_script(migrated)
    assert plain.stdout == expected, plain.stderr[-3000:]
    recorded = run_script(migrated, DOEFF_MIGRATE_RECORD="rec.jsonl")
    assert (recorded.returncode, recorded.stdout) == (0, expected), recorded.stderr[-3000:]
    (migrated / "w.npy").unlink()
    replayed = run_script(migrated, DOEFF_MIGRATE_REPLAY="rec.jsonl")
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert replayed.stdout == "result [6.0, 8.0, 10.0]\n"  # nothing expensive runs again


# -- io + RayHandler: spawned programs find the package's handlers on the workers (F30) ----------------------------

RAY_HANDLER_IO = {
    "proj/__init__.py": "",
    "proj/main.py": """\
        import os

        import numpy as np
        from doeff_migrate.runtime import Gather, Spawn, do, run

        @do
        def shard(i):
            w = np.load("w.npy")
            return float(w.sum()) * i

        @do
        def sweep():
            ts = []
            for i in range(3):
                ts.append((yield Spawn(shard(i), num_cpus=1)))
            return (yield Gather(*ts))

        if __name__ == "__main__":
            import ray
            from doeff_migrate.runtime.ray_backend import RayHandler

            ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}})
            print("result", run(sweep(), handlers=[RayHandler()]))
    """,
}


def test_ray_handler_ships_the_generated_handlers_to_workers_f30(tmp_path: Path):
    pytest.importorskip("ray")
    import numpy as np

    original, migrated = migrate_project(tmp_path, RAY_HANDLER_IO, "io", "recording")
    assert "yield LoadNumpyArray(" in (migrated / "proj" / "main.py").read_text()
    outputs = []
    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
        env = {"PYTHONPATH": str(root)}
        proc = subprocess.run([PYTHON, "-m", "proj.main"], cwd=root, capture_output=True, text=True, timeout=300,
                              env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env})
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] == "result [0.0, 6.0, 12.0]\n"


# -- io: calls through module-level API clients keep their client (F28) ---------------------------------------------

CLIENTS = {
    "pyproject.toml": """\
        [tool.doeff-migrate]
        extra-side-effects = [
            { call = "mylab.llm.*", category = "llm" },
        ]
    """,
    "mylab/__init__.py": "",
    "mylab/llm.py": """\
        class Client:
            def __init__(self, model="m"):
                self.model = model

            def complete(self, prompt, temperature=0.0):
                return f"{self.model}:{prompt.upper()}"
    """,
    "proj/__init__.py": "",
    "proj/two.py": """\
        import mylab.llm
        from doeff_migrate.runtime import do

        small = mylab.llm.Client(model="small")
        big = mylab.llm.Client(model="big")

        @do
        def ask():
            draft = small.complete("draft")
            final = big.complete("final", temperature=0.5)
            return [draft, final]

        main = ask()
    """,
}


def test_calls_through_two_clients_of_one_library_stay_apart_f28(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, CLIENTS, "io")
    text = (migrated / "proj" / "two.py").read_text()
    assert 'yield MylabComplete(client="proj.two.big", args=("final",), kwargs={"temperature": 0.5})' in text
    assert flags(migrated) == []
    assert assert_same(original, migrated, "proj.two.main").result == ["small:DRAFT", "big:FINAL"]


# -- io: what the io phase now leaves as it was keeps behaving the same (F12, F25) -----------------------------------

LEFT_AS_IS = {
    "cupy.py": '''\
        """Stand-in for cupy (GPU numpy): same API, marks what it loads."""
        import numpy

        def load(path, **kw):
            return ["cupy-array", numpy.load(path, **kw).tolist()]

        def save(path, arr, **kw):
            numpy.save(path, arr, **kw)

        def arange(n):
            return numpy.arange(n)
    ''',
    "proj/__init__.py": "",
    "proj/gpu.py": """\
        try:
            import cupy as np  # GPU when available
        except ImportError:
            import numpy as np
        from doeff_migrate.runtime import do

        @do
        def evaluate():
            np.save("w.npy", np.arange(3))
            return np.load("w.npy")

        main = evaluate()
    """,
    "proj/memo.py": """\
        import functools
        from doeff_migrate.runtime import do

        CALLS = []

        @functools.cache
        @do
        def load(x):
            # functools.cache memoises the Program object: running it again runs this body again
            CALLS.append(x)
            print("load", x)
            return [x * 2]

        @do
        def pipeline():
            a = yield load(1)
            b = yield load(1)
            a.append("mutated")
            c = yield load(1)
            return [a, b, c, len(CALLS)]

        main = pipeline()
    """,
}


def test_alternative_imports_and_caches_over_do_keep_their_behaviour_f12_f25(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, LEFT_AS_IS, "io")
    assert flags(migrated) == ["DM312", "DM318", "DM318"]
    assert assert_same(original, migrated, "proj.gpu.main").result == ["cupy-array", [0, 1, 2]]
    run = assert_same(original, migrated, "proj.memo.main")
    assert run.result == [[2, "mutated"], [2], [2], 3] and run.stdout == ["load 1"] * 3


CROSS_PACKAGE_SCRIPT = {
    "proj/__init__.py": "",
    "proj/pipeline.py": """\
        import numpy as np
        from doeff_migrate.runtime import do

        @do
        def train(n):
            print("training", n, flush=True)
            return float(np.load("w.npy").sum()) * n
    """,
    "scripts/go.py": """\
        from doeff_migrate.runtime import run
        from proj.pipeline import train

        def main():
            print("result", run(train(2)))

        if __name__ == "__main__":
            main()
    """,
}


def test_script_of_another_directory_runs_and_records_the_packages_effects_f6(tmp_path: Path):
    import numpy as np

    original, migrated = migrate_project(tmp_path, CROSS_PACKAGE_SCRIPT)

    def script(root: Path, **env: str) -> subprocess.CompletedProcess:
        full = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run([PYTHON, "scripts/go.py"], cwd=root, capture_output=True, text=True, timeout=120,
                              env={**full, "PYTHONPATH": str(root), **env})

    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
    before, after = script(original), script(migrated)
    assert after.returncode == 0, after.stderr[-3000:]
    assert after.stdout == before.stdout == "training 2\nresult 12.0\n"
    assert script(migrated, DOEFF_MIGRATE_RECORD=str(migrated / "rec.jsonl")).returncode == 0
    (migrated / "w.npy").unlink()
    replayed = script(migrated, DOEFF_MIGRATE_REPLAY=str(migrated / "rec.jsonl"))
    assert (replayed.returncode, replayed.stdout) == (0, "training 2\nresult 12.0\n"), replayed.stderr[-3000:]

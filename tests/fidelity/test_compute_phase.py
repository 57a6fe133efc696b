"""Fidelity of the ``compute`` phase: thread pools keep their limits, joins and error order, ``asyncio.run`` stays,
Ray tasks stay Ray tasks and RayHandler ships the generated handlers; each project runs before and after the
phase and its result, output and side effects must agree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .phase_runs import PYTHON, assert_same, flags, migrate_project, run_entry

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
            # Max_workers=1 serialises the calls, in order
            with ThreadPoolExecutor(max_workers=1) as ex:
                ys = list(ex.map(work, range(4)))
            with ThreadPoolExecutor(max_workers=1) as ex2:
                ts = [ex2.submit(work, i) for i in range(4)]
                zs = [t.result() for t in ts]
            return [ys, zs, list(LOG)]

        @do
        def joined():
            # Leaving the block waits for every task
            with ThreadPoolExecutor() as ex:
                ts = [ex.submit(work, i) for i in range(3)]
            print("pool closed: all work done", flush=True)
            return [t.result() for t in ts]

        @do
        def first_error():
            # The comprehension / map raise the first failure in list order
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


def test_thread_pools_keep_limits_joins_and_error_order(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, POOLS, "compute")
    text = (migrated / "proj" / "main.py").read_text()
    # The limited pools and the pool whose tasks outlive its block stay; the plain ones are rewritten.
    assert text.count("with ThreadPoolExecutor(") == 3 and "yield Wait(" in text
    assert flags(migrated) == ["DM211", "DM211", "DM212"]
    assert_same(original, migrated, "proj.main.m_serial").result == [[0, 10, 20, 30], [0, 10, 20, 30], [0, 1, 2, 3, 0, 1, 2, 3]]
    assert_same(original, migrated, "proj.main.m_joined").stdout[-1] == "pool closed: all work done"
    assert assert_same(original, migrated, "proj.main.m_first_error").result == ["item 1 failed", "item 1 failed", [0, 10, 20, 30]]


def test_asyncio_run_keeps_blocking_and_cancelling(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, ASYNCIO, "compute")
    assert "v = asyncio.run(fetch(tag))" in (migrated / "proj" / "main.py").read_text()
    assert flags(migrated) == ["DM210"]
    run = assert_same(original, migrated, "proj.main.main")
    assert run.stdout == ["child start a", "child end a", "child start b", "child end b"]
    assert run.result == ["a", "b", ["fetch a", "fetch b"]]


def test_ray_tasks_keep_copies_errors_and_retries(tmp_path: Path):
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


def test_ray_handler_ships_the_generated_handlers_to_workers(tmp_path: Path):
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

"""Phases ``compute``, ``io`` and ``recording`` on small projects with real Ray, wandb (offline) and numpy files.

Each project runs before and after a phase with equal results; ``--phase X --check`` then finds nothing
to do; after ``recording`` a recorded run replays with no call of the expensive functions (their call log
stays empty and the input checkpoint can even be deleted). One Ray instance (``num_cpus=1``) serves the
whole module; the wandb projects run in subprocesses through the runner, with ``WANDB_MODE=offline``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate

PYTHON = sys.executable

RAY_PROJECT = {
    "__init__.py": "",
    "pipeline.py": """\
        import ray
        from doeff_migrate.runtime import Program, do

        @ray.remote(num_cpus=1)
        def _score(x):
            return x * x + 1

        def cube(x):
            return x ** 3

        @do
        def sweep(n: int):
            refs = [_score.remote(i) for i in range(n)]
            one = ray.remote(cube).options(num_cpus=1).remote(n)
            scores = ray.get(refs)
            return [scores, ray.get(one), ray.get([one, one])]

        main: Program = sweep(4)
    """,
}


def write_package(root: Path, name: str, files: dict[str, str]) -> Path:
    package = root / name
    package.mkdir(parents=True)
    for rel, text in files.items():
        (package / rel).write_text(dedent(text), encoding="utf-8")
    return package


def migrate(path: Path, phase: str) -> None:
    assert doeff_migrate([str(path), "--phase", phase, "-q", "--allow-dirty"]) == 0
    assert doeff_migrate([str(path), "--phase", phase, "--check", "-q"]) == 0, f"--phase {phase} is not idempotent"


def flag_codes(path: Path) -> list[str]:
    import re

    return sorted(re.findall(r"# doeff-migrate: (DM\d{3}):", "".join(p.read_text() for p in path.rglob("*.py"))))


@pytest.fixture(scope="module")
def ray_root(tmp_path_factory: pytest.TempPathFactory):
    """One local Ray (1 CPU) for the module; its workers import the projects written under the yielded root."""
    ray = pytest.importorskip("ray")
    root = tmp_path_factory.mktemp("ray_projects")
    ray.init(
        num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(root)}},
    )
    yield root
    ray.shutdown()


def test_compute_phase_with_real_ray(ray_root: Path, monkeypatch: pytest.MonkeyPatch):
    from doeff_migrate.runtime import run
    from doeff_migrate.runtime.ray_backend import RayHandler

    write_package(ray_root, "ray_before", RAY_PROJECT)
    after_pkg = write_package(ray_root, "ray_after", RAY_PROJECT)
    migrate(after_pkg, "compute")
    migrated = (after_pkg / "pipeline.py").read_text()
    # Tasks stay Ray tasks (copies, retries, errors); the decorator stays for other callers.
    assert "@ray.remote(num_cpus=1)" in migrated and "yield Spawn(ray_task(_score)(i))" in migrated
    assert flag_codes(after_pkg) == []

    monkeypatch.syspath_prepend(str(ray_root))
    before = importlib.import_module("ray_before.pipeline")
    after = importlib.import_module("ray_after.pipeline")
    expected = run(before.main)  # the original: real Ray tasks
    assert expected == [[1, 2, 5, 10], 64, [64, 64]]
    assert run(after.main) == expected  # migrated, on the built-in scheduler (each task awaited on Ray)
    assert run(after.main, handlers=[RayHandler()]) == expected  # migrated, Spawns submitted by RayHandler


# -- io and recording: wandb offline, numpy checkpoints, the runner --------------------------------------------

IO_PROJECT = {
    "__init__.py": "",
    "pipeline.py": """\
        import os

        import numpy as np
        import wandb

        from doeff_migrate.runtime import Gather, Program, RunInThread, Spawn, do, run


        def _note(what):
            path = os.environ.get("FIDELITY_CALLS")
            if path:
                with open(path, "a") as f:
                    f.write(what + "\\n")


        def _score(weights, i):
            _note("score")  # the expensive function
            return float((weights * i).sum())


        @do
        def train(steps: int):
            wandb.init(project="fidelity", mode="offline", dir=os.environ["WANDB_DIR"])
            weights = np.load("data/init.npy")
            tasks = []
            for i in range(steps):
                tasks.append((yield Spawn(RunInThread(_score, weights, i), num_cpus=1)))
            scores = yield Gather(*tasks)
            for i, s in enumerate(scores):
                wandb.log({"score": s}, step=i)
                print("step", i, s)
            wandb.summary.update({"best": max(scores)})
            np.save("out/final.npy", weights * 2)
            wandb.finish()
            return sum(scores)


        main: Program[float] = train(3)

        if __name__ == "__main__":
            print("result", run(train(3)))
    """,
}


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(root / "wandb_runs"), PYTHONHASHSEED="0")
    env.update(extra)
    return env


def run_entry(root: Path, *args: str, **env: str) -> tuple[object, list[str]]:
    proc = subprocess.run(
        [PYTHON, "-m", "doeff_migrate.runtime", "run", "proj.pipeline.main", "--json", *args],
        cwd=root, capture_output=True, text=True, env=_env(root, **env), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + "\n" + (root / "proj" / "pipeline.py").read_text()
    lines = proc.stdout.splitlines()
    return json.loads(lines[-1]), lines[:-1]


def run_script(root: Path, **env: str) -> list[str]:
    proc = subprocess.run(
        [PYTHON, "-m", "proj.pipeline"], cwd=root, capture_output=True, text=True, env=_env(root, **env), timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


def logged_by_wandb(root: Path) -> bytes:
    """The latest offline run's record file (wandb's own binary format; keys and JSON values appear as text)."""
    runs = sorted((root / "wandb_runs" / "wandb").glob("offline-run-*"))
    return next(runs[-1].glob("run-*.wandb")).read_bytes()


@pytest.fixture
def io_project(tmp_path: Path) -> Path:
    import numpy as np

    write_package(tmp_path, "proj", IO_PROJECT)
    (tmp_path / "data").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "wandb_runs").mkdir()
    np.save(tmp_path / "data" / "init.npy", np.arange(4.0))
    return tmp_path


def test_io_and_recording_phases_keep_results_and_replay_without_expensive_calls(io_project: Path):
    import numpy as np

    root = io_project
    expected, output = run_entry(root)
    assert expected == 18.0 and output == ["step 0 0.0", "step 1 6.0", "step 2 12.0"]
    logged = logged_by_wandb(root)
    assert b"score" in logged and b"best" in logged and b"12.0" in logged
    saved_before = np.load(root / "out" / "final.npy").tolist()

    # io: wandb calls -> metrics effects, np.load/np.save -> declared effects with generated handlers
    migrate(root / "proj", "io")
    migrated = (root / "proj" / "pipeline.py").read_text()
    assert "yield LoadNumpyArray(\"data/init.npy\")" in migrated and "yield LogMetrics({\"score\": s}, step=i)" in migrated
    assert "__doeff_handlers__ = HANDLERS" in migrated
    assert flag_codes(root / "proj") == ["DM301", "DM301"]  # wandb.init/finish stay, flagged
    (root / "out" / "final.npy").unlink()
    assert run_entry(root) == (expected, output)
    assert np.load(root / "out" / "final.npy").tolist() == saved_before
    assert logged_by_wandb(root) != logged  # a new offline run, logging the same metrics
    logged = logged_by_wandb(root)
    assert b"score" in logged and b"best" in logged and b"12.0" in logged

    # recording: the script's own stack gains the recorder; the runner's --record needs nothing more
    migrate(root / "proj", "recording")
    # (inside the package's handlers, so it sees the effects they answer)
    assert "run(with_effect_handlers(with_handlers([*recording_handlers()], train(3))))" in (root / "proj" / "pipeline.py").read_text()
    assert run_entry(root) == (expected, output)

    calls = root / "calls.txt"
    assert run_entry(root, "--record", "runs/train.jsonl", FIDELITY_CALLS=str(calls)) == (expected, output)
    assert calls.read_text().split() == ["score"] * 3
    calls.unlink()
    (root / "out" / "final.npy").unlink()
    shutil.move(root / "data" / "init.npy", root / "init.npy.bak")  # a replay must not read it
    assert run_entry(root, "--replay", "runs/train.jsonl", FIDELITY_CALLS=str(calls)) == (expected, output)
    assert not calls.exists(), "the replay called the expensive function"
    assert not (root / "out" / "final.npy").exists(), "the replay wrote the checkpoint"
    shutil.move(root / "init.npy.bak", root / "data" / "init.npy")

    # the script entry point, through the wiring the recording phase added
    assert run_script(root) == ["step 0 0.0", "step 1 6.0", "step 2 12.0", "result 18.0"]
    script_output = run_script(root, DOEFF_MIGRATE_RECORD=str(root / "runs" / "script.jsonl"), FIDELITY_CALLS=str(calls))
    assert script_output[-1] == "result 18.0" and calls.read_text().split() == ["score"] * 3
    calls.unlink()
    assert run_script(root, DOEFF_MIGRATE_REPLAY=str(root / "runs" / "script.jsonl"), FIDELITY_CALLS=str(calls)) == script_output
    assert not calls.exists(), "the script's replay called the expensive function"


def test_phases_in_any_order_leave_each_file_runnable(io_project: Path):
    root = io_project
    expected = run_entry(root)
    migrate(root / "proj", "recording")  # before io: nothing of io's is needed by it
    assert run_entry(root) == expected
    migrate(root / "proj", "compute")  # the project has no Ray left: nothing to do
    migrate(root / "proj", "io")
    assert run_entry(root) == expected


CROSS_MODULE_PROJECT = {
    "__init__.py": "",
    "checkpoints.py": """\
        import numpy as np
        from doeff_migrate.runtime import do

        @do
        def load_weights(path):
            return np.load(path).tolist()
    """,
    "main.py": """\
        from doeff_migrate.runtime import Program
        from .checkpoints import load_weights

        main: Program = load_weights("data/init.npy")
    """,
    "unrelated.py": """\
        from doeff_migrate.runtime import Program, do

        @do
        def answer():
            return 42

        main: Program = answer()
    """,
}


def test_io_phase_wires_entry_points_whose_effects_live_in_a_sibling_module(tmp_path: Path):
    import numpy as np

    write_package(tmp_path, "proj", CROSS_MODULE_PROJECT)
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "init.npy", np.arange(3.0))

    def run_main(module: str):
        proc = subprocess.run(
            [PYTHON, "-m", "doeff_migrate.runtime", "run", f"proj.{module}.main", "--json"],
            cwd=tmp_path, capture_output=True, text=True, env=_env(tmp_path), timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.splitlines()[-1])

    assert run_main("main") == [0.0, 1.0, 2.0]
    unrelated_before = (tmp_path / "proj" / "unrelated.py").read_text()
    migrate(tmp_path / "proj", "io")  # also checks that a second run changes nothing
    assert "__doeff_handlers__ = HANDLERS" in (tmp_path / "proj" / "main.py").read_text()
    assert (tmp_path / "proj" / "unrelated.py").read_text() == unrelated_before  # no IO reaches it: untouched
    assert run_main("main") == [0.0, 1.0, 2.0]
    assert run_main("unrelated") == 42


def test_pinjected_project_with_checkpoint_io_migrated_with_all_phases_at_once(tmp_path: Path):
    from .harness import assert_same_behaviour

    assert_same_behaviour(
        tmp_path,
        {
            "app/__init__.py": """\
                import os

                import numpy as np

                os.makedirs("data", exist_ok=True)
                np.save("data/init.npy", np.arange(3.0))
            """,
            "app/lib.py": """\
                import numpy as np
                from pinjected import injected

                @injected
                def load_weights(data_dir, /, name: str):
                    print("loading", name)
                    return np.load(data_dir + "/" + name + ".npy").tolist()
            """,
            "app/main.py": """\
                from pinjected import IProxy, design
                from app.lib import load_weights

                main: IProxy = load_weights("init")
                __design__ = design(data_dir="data")
            """,
        },
        ["app.main.main"],
    )
    migrated = tmp_path / "migrated" / "app"
    assert "yield LoadNumpyArray(" in (migrated / "lib.py").read_text()
    assert "__doeff_handlers__ = HANDLERS" in (migrated / "main.py").read_text()
    assert doeff_migrate([str(migrated), "--check", "-q"]) == 0


EXECUTOR_PROJECT = {
    "__init__.py": "",
    "pipeline.py": """\
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from doeff_migrate.runtime import Program, do

        def work(x, scale=1):
            return x * scale

        async def fetch_all(xs):
            async def one(x):
                await asyncio.sleep(0)
                return x + 100
            return await asyncio.gather(*(one(x) for x in xs))

        @do
        def pipeline(xs):
            with ThreadPoolExecutor() as pool:
                futures = [pool.submit(work, x, scale=3) for x in xs]
                mapped = list(pool.map(work, xs))
                scaled = [f.result() for f in futures]
            fetched = asyncio.run(fetch_all(xs))
            return [scaled, mapped, fetched]

        main: Program = pipeline([1, 2, 3])
    """,
}


def test_compute_phase_on_thread_pools_and_asyncio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from doeff_migrate.runtime import run

    write_package(tmp_path, "pools_before", EXECUTOR_PROJECT)
    after_pkg = write_package(tmp_path, "pools_after", EXECUTOR_PROJECT)
    migrate(after_pkg, "compute")
    migrated = (after_pkg / "pipeline.py").read_text()
    # asyncio.run stays (it blocks the program and cancels leftover tasks, unlike Await).
    assert "ThreadPoolExecutor(" not in migrated and "fetched = asyncio.run(fetch_all(xs))" in migrated
    assert flag_codes(after_pkg) == ["DM210"]
    monkeypatch.syspath_prepend(str(tmp_path))
    before = importlib.import_module("pools_before.pipeline")
    after = importlib.import_module("pools_after.pipeline")
    expected = run(before.main)
    assert expected == [[3, 6, 9], [1, 2, 3], [101, 102, 103]]
    assert run(after.main) == expected


# -- io: an API client the codemod cannot call for you -> an unimplemented handler stub ----------------------------

CLIENT_PYPROJECT = """\
[tool.doeff-migrate]
extra-side-effects = [
    { call = "fakellm.*", category = "llm" },
    { call = "fakestore.put", effect = "StoreBlob", params = ["key", "value"] },
]
"""

FAKE_LIBRARIES = {
    "fakellm/__init__.py": """\
        import os

        class Client:
            def __init__(self, prefix):
                self.prefix = prefix

            def complete(self, prompt):
                if os.environ.get("FIDELITY_CALLS"):
                    with open(os.environ["FIDELITY_CALLS"], "a") as log:
                        log.write("complete\\n")
                return self.prefix + prompt.upper()
    """,
    "fakestore/__init__.py": """\
        import os

        def put(key, value):
            os.makedirs("out", exist_ok=True)
            with open(os.path.join("out", key), "w") as f:
                f.write(value)
            return len(value)
    """,
}

CLIENT_PROJECT = {
    "__init__.py": "",
    "pipeline.py": """\
        import json
        import pickle

        import fakellm
        import fakestore
        from doeff_migrate.runtime import Program, do

        client = fakellm.Client("> ")


        @do
        def answer_all(path):
            with open(path) as fh:
                notes = json.load(fh)
            answers = []
            for note in notes:
                answers.append(client.complete(prompt=note))
            size = fakestore.put("answers.txt", "\\n".join(answers))
            size_text = str(size)
            with open("out/size.txt", "w") as fh:
                fh.write(size_text)
            with open("out/answers.pkl", "wb") as fh:
                pickle.dump({"answers": answers, "size": size}, fh)
            return answers


        main: Program = answer_all("data/notes.json")
    """,
}


def test_io_phase_moves_api_client_calls_with_complete_handlers_and_records_them(tmp_path: Path):
    root = tmp_path
    (root / "pyproject.toml").write_text(CLIENT_PYPROJECT)
    for rel, text in FAKE_LIBRARIES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(dedent(text))
    write_package(root, "proj", CLIENT_PROJECT)
    (root / "data").mkdir()
    (root / "data" / "notes.json").write_text(json.dumps(["alpha", "beta"]))
    expected, _ = run_entry(root)
    assert expected == ["> ALPHA", "> BETA"]
    assert (root / "out" / "answers.txt").read_text() == "> ALPHA\n> BETA"
    pickled = (root / "out" / "answers.pkl").read_bytes()
    shutil.rmtree(root / "out")

    migrate(root / "proj", "io")
    migrated = (root / "proj" / "pipeline.py").read_text()
    assert 'answers.append((yield FakellmComplete(client="proj.pipeline.client", kwargs={"prompt": note})))' in migrated
    assert "notes = yield ReadJson(path)" in migrated
    assert 'size = yield StoreBlob("answers.txt", "\\n".join(answers))' in migrated
    assert 'yield WriteText("out/size.txt", size_text)' in migrated
    assert 'yield WritePickle("out/answers.pkl", {"answers": answers, "size": size})' in migrated
    assert flag_codes(root / "proj") == []
    handlers = (root / "proj" / "effects_handlers.py").read_text()
    # Complete handlers: the client's call on the client the effect names, and the configured one.
    assert "value = _client(effect.client).complete(*effect.args, **effect.kwargs)" in handlers
    assert "value = fakestore.put(effect.key, effect.value, **effect.options)" in handlers

    # The program runs as the original did.
    assert run_entry(root)[0] == expected
    assert (root / "out" / "answers.txt").read_text() == "> ALPHA\n> BETA"
    assert (root / "out" / "size.txt").read_text() == str(len("> ALPHA\n> BETA"))
    assert (root / "out" / "answers.pkl").read_bytes() == pickled
    # A user's edit of the handler is kept by a second migration (nothing to do).
    (root / "proj" / "effects_handlers.py").write_text(handlers.replace(
        "value = _client(effect.client).complete(*effect.args, **effect.kwargs)",
        "# Written by the user: the project's own client answers the effect.\n"
        "    value = _client(effect.client).complete(*effect.args, **effect.kwargs)", 1))
    assert doeff_migrate([str(root / "proj"), "--phase", "io", "--check", "-q"]) == 0

    # The client's calls are effects now: a recording replays them without calling the client.
    calls = root / "calls.txt"
    assert run_entry(root, "--record", "runs/a.jsonl", FIDELITY_CALLS=str(calls))[0] == expected
    assert calls.read_text().split() == ["complete", "complete"]
    calls.unlink()
    assert run_entry(root, "--replay", "runs/a.jsonl", FIDELITY_CALLS=str(calls))[0] == expected
    assert not calls.exists()

"""Fidelity of the ``io`` phase: the generated handlers answer the effects wherever the entry point is, run inline,
pass wandb's arguments through and keep clients apart; what the phase leaves as it was behaves the same.
Each project runs before and after the phase and its result, output and side effects must agree."""

from __future__ import annotations

from pathlib import Path

from .phase_runs import assert_same, flags, migrate_project, run_entry

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
            # Spawned tasks that never blocked ran one after the other; their wandb steps stay theirs
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
            # A moved call inside `with lock:` must not park the task holding the lock
            ts = []
            for i in range(3):
                ts.append((yield Spawn(locked(i))))
            return (yield Gather(*ts))

        @do
        def logged():
            # Wandb.config.update takes a Namespace; an explicit commit=True closes the step
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

        # An entry point that is not `x = f(...)` of a module-level @do function
        method_main = Trainer(2).fit()
    """,
    "proj/main.py": """\
        from doeff_migrate.runtime import do
        from proj.train import train

        @do
        def pipeline():
            # The wandb calls are reached only through another @do function of another module
            return (yield train(3))

        main = pipeline()
    """,
    "proj/lazy.py": """\
        from doeff_migrate.runtime import do

        @do
        def pipeline():
            # The module doing the IO is imported only when the program runs
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
            # A module of another package, imported only when the program runs
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

        # The project's own registry called HANDLERS
        HANDLERS = {"print": print}

        main = total(1)
    """,
}


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


def test_io_handlers_run_inline_and_pass_wandb_arguments_through(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, IO_INLINE, "io")
    text = (migrated / "proj" / "main.py").read_text()
    assert "yield SaveNumpyArray(" in text and "yield LogMetrics(" in text and "yield LogConfig(args)" in text
    assert "RunInThread(" not in (migrated / "proj" / "effects_handlers.py").read_text().split("def call_in_thread")[0]
    run = assert_same(original, migrated, "proj.main.m_interleave")
    assert run.stdout == [f"worker {i} {s}" for i in range(3) for s in ("start", "done")]
    assert [r[2] for r in run.wandb if r[0] == "history"] == [{"worker": 0}, {"worker": 1}, {"worker": 2}]
    under_lock = run_entry(migrated, "proj.main.m_under_lock", timeout=60)  # a task parked holding the lock would hang
    assert (under_lock.returncode, under_lock.result) == (0, [0, 1, 2])
    run = assert_same(original, migrated, "proj.main.m_logged")
    assert run.result == {"lr": 0.1, "epochs": 2}
    assert [r[1:] for r in run.wandb if r[0] == "history"] == [(0, {"a": 1}), (1, {"c": 3})]


def test_generated_handlers_answer_effects_reached_from_anywhere(tmp_path: Path):
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


def test_pinjected_provider_doing_io_in_a_subpackage(tmp_path: Path):
    import numpy as np

    from .harness import run_migrated, run_pinjected

    original, migrated = migrate_project(tmp_path, PINJECTED_SUBPACKAGE)
    for root in (original, migrated):
        np.save(root / "w.npy", np.arange(4.0))
    assert "yield LoadNumpyArray(" in (migrated / "proj" / "data" / "loaders.py").read_text()
    before, after = run_pinjected(original, "proj.main.main"), run_migrated(migrated, "proj.main.main")
    assert before.returncode == 0 and after.returncode == 0, after.stderr[-3000:]
    assert (after.result, after.stdout) == (before.result, before.stdout) == (12.0, ["loading w.npy"])


def test_failed_write_still_truncates(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, OPEN_WRITE, "io")
    text = (migrated / "proj" / "main.py").read_text()
    assert "yield WriteText(\"report.txt\", stale)" in text and "f.write(render(rows))" in text
    assert assert_same(original, migrated, "proj.main.main").result == ["failed: nothing to report", ""]


def test_calls_through_two_clients_of_one_library_stay_apart(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, CLIENTS, "io")
    text = (migrated / "proj" / "two.py").read_text()
    assert 'yield MylabComplete(client="proj.two.big", args=("final",), kwargs={"temperature": 0.5})' in text
    assert flags(migrated) == []
    assert assert_same(original, migrated, "proj.two.main").result == ["small:DRAFT", "big:FINAL"]


def test_alternative_imports_and_caches_over_do_keep_their_behaviour(tmp_path: Path):
    original, migrated = migrate_project(tmp_path, LEFT_AS_IS, "io")
    assert flags(migrated) == ["DM312", "DM318", "DM318"]
    assert assert_same(original, migrated, "proj.gpu.main").result == ["cupy-array", [0, 1, 2]]
    run = assert_same(original, migrated, "proj.memo.main")
    assert run.result == [[2, "mutated"], [2], [2], 3] and run.stdout == ["load 1"] * 3

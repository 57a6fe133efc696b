"""Fidelity of the ``io`` and ``recording`` phases on scripts: every wired stack records what the package's handlers
answer, and a sweep replays; each project runs before and after the phases and its output must agree."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .phase_runs import PYTHON, migrate_project, run_script

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
            # A run of a program held in a variable, inside a function
            prog = train(2)
            print("result", run(prog))

        if __name__ == "__main__":
            main()
    """,
}


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
            # A stack built in a helper, run by a wired run below
            return with_handlers([scorer], train(n))

        if __name__ == "__main__":
            # A sweep runs the program several times
            print("result", [run(build(seed), handlers=[]) for seed in range(3)])
    """,
}


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


def test_scripts_are_wired_and_record_what_the_handlers_answer(tmp_path: Path):
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


def test_script_with_nested_stacks_and_a_sweep_records_and_replays(tmp_path: Path):
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


def test_script_of_another_directory_runs_and_records_the_packages_effects(tmp_path: Path):
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

"""``run --record/--replay`` and ``check-determinism`` through the real command line."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.runtime.determinism import first_difference
from doeff_migrate.runtime.recording import load_recording
from doeff_migrate.runtime.runner import main

PIPELINE = """
    import time
    from dataclasses import dataclass
    from doeff_migrate.runtime import Ask, EffectBase, Gather, LogMetrics, Resume, RunInThread, Spawn, do, handler

    CALLS = []

    @dataclass(frozen=True)
    class Download(EffectBase):
        name: str

    @handler
    def downloads(effect: Download, k):
        print("DOWNLOADING", effect.name)
        return (yield Resume(k, len(effect.name)))

    __doeff_handlers__ = [downloads]
    __design__ = {"factor": 3}
    __doeff_requires__ = {"main": ["factor"]}

    def slow_square(i, delay):
        time.sleep(delay)
        return i * i

    @do
    def part(i, delay):
        return (yield RunInThread(slow_square, i, delay))

    @do
    def main():
        factor = yield Ask("factor")
        yield LogMetrics({"factor": factor}, step=0)
        size = yield Download("dataset-a")
        tasks = []
        for i, d in enumerate([0.06, 0.0, 0.03]):
            tasks.append((yield Spawn(part(i, d))))
        squares = yield Gather(*tasks)
        return {"size": size * factor, "squares": squares}

    ORDER = []

    @do
    def racy_part(i, delay):
        yield RunInThread(slow_square, i, delay)
        ORDER.append(i)  # completion order leaks into the result: order-dependent

    @do
    def racy():
        tasks = []
        for i, d in enumerate([0.06, 0.0, 0.03]):
            tasks.append((yield Spawn(racy_part(i, d))))
        yield Gather(*tasks)
        size = yield Download("order-" + "".join(map(str, ORDER)))
        return ORDER

    __doeff_determinism__ = {"declared_single": "single_worker", "declared_random": "nondeterministic"}
    declared_single = racy
    declared_random = racy
"""


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path):
    (tmp_path / "mlproj").mkdir()
    (tmp_path / "mlproj" / "__init__.py").write_text("")
    (tmp_path / "mlproj" / "pipe.py").write_text(textwrap.dedent(PIPELINE))
    return tmp_path


def test_run_record_then_replay_with_zero_calls(project):
    proc = cli(project, "run", "mlproj.pipe.main", "--json", "--record", "runs/a.jsonl", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert "DOWNLOADING dataset-a" in proc.stdout
    assert "step 0: factor=3" in proc.stderr  # metrics nobody else answers: the default MetricsLogger
    expected = {"size": 27, "squares": [0, 1, 4]}
    assert json.loads(proc.stdout.splitlines()[-1]) == expected
    rec = load_recording(project / "runs" / "a.jsonl")
    assert rec.header["program"] == "mlproj.pipe.main" and rec.finished
    assert sorted(r.effect.rpartition(".")[2] for r in rec.records) == ["Download", "LogMetrics", "RunInThread", "RunInThread", "RunInThread"]

    replay = cli(project, "run", "mlproj.pipe.main", "--json", "--replay", "runs/a.jsonl")
    assert replay.returncode == 0, replay.stderr
    assert "DOWNLOADING" not in replay.stdout  # the module's handler was never called
    assert "factor=3" not in replay.stderr  # the metric was replayed, not logged again
    assert json.loads(replay.stdout.splitlines()[-1]) == expected


def test_run_refuses_to_overwrite_and_reports_bad_recordings(project):
    assert cli(project, "run", "mlproj.pipe.main", "--record", "a.jsonl").returncode == 0
    before = (project / "a.jsonl").read_bytes()
    again = cli(project, "run", "mlproj.pipe.main", "--record", "a.jsonl")
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr and "--overwrite" in again.stderr
    assert "DOWNLOADING" not in again.stdout and (project / "a.jsonl").read_bytes() == before
    assert cli(project, "run", "mlproj.pipe.main", "--record", "a.jsonl", "--overwrite").returncode == 0

    (project / "foreign.jsonl").write_text("id,value\n1,2\n")
    bad = cli(project, "run", "mlproj.pipe.main", "--replay", "foreign.jsonl")
    assert bad.returncode == 2 and "not a doeff-migrate recording" in bad.stderr and "DOWNLOADING" not in bad.stdout
    both = cli(project, "run", "mlproj.pipe.main", "--replay", "a.jsonl", "--record", "b.jsonl")
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_replay_divergence_exits_1_with_the_message(project):
    assert cli(project, "run", "mlproj.pipe.main", "--record", "a.jsonl").returncode == 0
    pipe = project / "mlproj" / "pipe.py"
    pipe.write_text(pipe.read_text().replace('Download("dataset-a")', 'Download("dataset-b")'))
    proc = cli(project, "run", "mlproj.pipe.main", "--replay", "a.jsonl")
    assert proc.returncode == 1 and "replay diverged" in proc.stderr and "in main" in proc.stderr
    assert "Download(name='dataset-b')" in proc.stderr and "Download(name='dataset-a')" in proc.stderr
    assert "its source changed since" in proc.stderr
    lenient = cli(project, "run", "mlproj.pipe.main", "--replay", "a.jsonl", "--replay-lenient", "--json")
    assert lenient.returncode == 0, lenient.stderr
    other = cli(project, "run", "mlproj.pipe.racy", "--replay", "a.jsonl")  # another entry point's recording
    assert other.returncode == 2 and "was recorded for mlproj.pipe.main, not mlproj.pipe.racy" in other.stderr


def test_check_determinism_passes_an_order_independent_program(project):
    proc = cli(project, "check-determinism", "mlproj.pipe.main", "--workers", "1,4")
    assert proc.returncode == 0, proc.stderr
    assert "deterministic under contract 'order_independent' (workers 1, 4; 5 recorded effects" in proc.stdout


def test_check_determinism_reports_the_first_differing_effect(project, tmp_path):
    proc = cli(project, "check-determinism", "mlproj.pipe.racy", "--workers", "1,4", "--keep", str(tmp_path / "kept"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "NOT deterministic" in out and "Download" in out
    assert "name='order-012'" in out and "name='order-120'" in out and "in racy" in out
    kept = sorted(p.name for p in (tmp_path / "kept").glob("*.jsonl"))
    assert kept == ["run1-workers1.jsonl", "run2-workers4.jsonl"]
    assert first_difference(tmp_path / "kept" / kept[0], tmp_path / "kept" / kept[1]) is not None
    assert first_difference(tmp_path / "kept" / kept[0], tmp_path / "kept" / kept[0]) is None


def test_check_determinism_follows_the_declared_contract(project):
    single = cli(project, "check-determinism", "mlproj.pipe.declared_single")
    assert single.returncode == 0 and "contract 'single_worker' (workers 1, 1" in single.stdout
    skipped = cli(project, "check-determinism", "mlproj.pipe.declared_random")
    assert skipped.returncode == 0 and "nothing checked" in skipped.stdout
    overridden = cli(project, "check-determinism", "mlproj.pipe.racy", "--contract", "nondeterministic")
    assert overridden.returncode == 0 and "contract 'nondeterministic'" in overridden.stdout
    missing = cli(project, "check-determinism", "mlproj.nope.main")
    assert missing.returncode == 2 and "no module named" in missing.stderr


def test_main_in_process_usage_errors(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["run", "mlproj.pipe.main", "--overwrite"]) == 2
    assert "--overwrite goes with --record" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["check-determinism", "mlproj.pipe.main", "--workers", "0"])

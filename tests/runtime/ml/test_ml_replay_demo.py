"""examples/replay_demo: record, replay with a new metric, sweep, strict replay — counted calls."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from examples.replay_demo.__main__ import SWEEP, demo  # noqa: E402
from examples.replay_demo.io_handlers import EXPENSIVE_CALLS  # noqa: E402
from examples.replay_demo.pipeline import train_experiment  # noqa: E402

from doeff_migrate.runtime import run  # noqa: E402
from doeff_migrate.runtime.recording import ReplayDivergenceError, ReplayHandler  # noqa: E402


def test_replay_makes_zero_expensive_calls_and_sweeps_learning_rates(tmp_path):
    out = demo(tmp_path, latency=0.05, quiet=True)
    assert out["record_calls"] == {"download_dataset": 1, "embed": 1}
    assert out["replay_calls"] == {} and out["sweep_calls"] == {} and out["strict_calls"] == {}
    assert out["strict_replay"] == out["recorded"]
    assert out["recorded"]["test_accuracy"] > 0.85
    # the new metric was computed on replayed data and logged for real
    assert 0.8 < out["reanalysed"]["test_f1"] <= 1.0
    logged = [json.loads(x) for x in (tmp_path / "metrics-reanalyse.jsonl").read_text().splitlines()]
    assert [x["metrics"] for x in logged] == [{"test_f1": out["reanalysed"]["test_f1"]}]
    # three learning rates, three different trainings, none downloading or embedding again
    accuracies = {lr: out["sweep"][lr]["test_accuracy"] for lr in SWEEP}
    losses = {out["sweep"][lr]["final_loss"] for lr in SWEEP}
    assert len(losses) == 3 and out["sweep"][0.5] == out["recorded"]
    assert accuracies[5.0] > accuracies[0.05]
    assert (tmp_path / "checkpoints" / "model_lr5.0.npy").exists()


def test_strict_replay_of_a_changed_experiment_names_the_divergence(tmp_path):
    demo(tmp_path, latency=0.0, quiet=True)
    env = {"learning_rate": 0.5, "epochs": 61, "checkpoint_dir": str(tmp_path / "checkpoints")}
    EXPENSIVE_CALLS.clear()
    with pytest.raises(ReplayDivergenceError) as info:
        run(train_experiment(), handlers=[ReplayHandler(tmp_path / "experiment.jsonl")], env=env)
    assert "LogConfig" in str(info.value) and "'epochs': 61" in str(info.value) and '"epochs": 60' in str(info.value)
    assert EXPENSIVE_CALLS == {}


def test_one_command_runs_the_demo(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "examples.replay_demo", "--dir", str(tmp_path), "--latency", "0.05", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["replay_calls"] == {} and summary["sweep_calls"] == {}
    assert "expensive calls during the sweep: 0" in proc.stdout


@pytest.mark.slow
def test_demo_logs_to_wandb_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    out = demo(tmp_path, latency=0.0, quiet=True, wandb=True)
    assert out["replay_calls"] == {}
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 2  # the recorded run and the re-analysis

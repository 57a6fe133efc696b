"""``python -m examples.replay_demo``: record a training run, replay it three ways, print the proof.

1. record  ``train_experiment()`` under ``RecordingHandler`` with the real (slow) handlers;
2. replay  ``evaluate_with_new_metric()`` from the recording (``strict=False``): a new F1 metric is
   computed and logged, and the expensive functions are not called once;
3. sweep   three learning rates over the replay with ``OverrideHandler``: training reruns (cheap),
   download and feature extraction come from the recording;
4. strict  replay of the recorded experiment with no IO handlers installed at all.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from doeff_migrate.runtime import run
from doeff_migrate.runtime.metrics import MetricsLogger
from doeff_migrate.runtime.override import OverrideHandler
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler

from .io_handlers import EXPENSIVE_CALLS, DemoIOHandler
from .pipeline import evaluate_with_new_metric, train_experiment

SWEEP = (0.05, 0.5, 5.0)


def demo(directory: Path, *, latency: float = 0.5, quiet: bool = False, wandb: bool = False) -> dict:
    """Run the four steps; returns what each produced and how many expensive calls it made."""
    directory.mkdir(parents=True, exist_ok=True)
    recording = directory / "experiment.jsonl"
    env = {"learning_rate": 0.5, "epochs": 60, "checkpoint_dir": str(directory / "checkpoints")}
    say = (lambda *a: None) if quiet else print
    stream = None if quiet else sys.stdout

    def metrics_handler(tag):
        if wandb:
            from doeff_migrate.runtime.metrics import WandbHandler

            return WandbHandler(project="replay-demo", name=tag, dir=str(directory), mode="offline")
        return MetricsLogger(directory / f"metrics-{tag}.jsonl", stream=stream)

    out: dict = {}
    EXPENSIVE_CALLS.clear()
    say("== 1. record the experiment (real handlers: slow download, slow feature model)")
    t0 = time.perf_counter()
    # overwrite=True: the demo re-records on every run; a recording is never replaced silently.
    out["recorded"] = run(
        train_experiment(),
        handlers=[RecordingHandler(recording, overwrite=True), metrics_handler("record"), DemoIOHandler(latency)],
        env=env,
    )
    out["record_seconds"] = time.perf_counter() - t0
    out["record_calls"] = dict(EXPENSIVE_CALLS)
    say(f"   result {out['recorded']}  in {out['record_seconds']:.2f}s, expensive calls {out['record_calls']}")

    EXPENSIVE_CALLS.clear()
    say("== 2. replay it and compute a NEW metric (F1) on the replayed data")
    t0 = time.perf_counter()
    out["reanalysed"] = run(
        evaluate_with_new_metric(),
        handlers=[ReplayHandler(recording, strict=False), metrics_handler("reanalyse"), DemoIOHandler(latency)],
        env=env,
    )
    out["replay_seconds"] = time.perf_counter() - t0
    out["replay_calls"] = dict(EXPENSIVE_CALLS)
    say(f"   test_f1={out['reanalysed']['test_f1']:.4f}  in {out['replay_seconds']:.2f}s, expensive calls {out['replay_calls'] or 0}")

    EXPENSIVE_CALLS.clear()
    say(f"== 3. sweep learning rates {list(SWEEP)} over the replay (OverrideHandler)")
    out["sweep"] = {}
    for lr in SWEEP:
        result = run(
            train_experiment(),
            handlers=[
                ReplayHandler(recording, strict=False),
                OverrideHandler({"learning_rate": lr}),
                MetricsLogger(directory / f"metrics-sweep-{lr}.jsonl", stream=None),
                DemoIOHandler(latency),
            ],
            env=env,
        )
        out["sweep"][lr] = result
        say(f"   lr={lr:<5} test_accuracy={result['test_accuracy']:.4f} final_loss={result['final_loss']}")
    out["sweep_calls"] = dict(EXPENSIVE_CALLS)
    say(f"   expensive calls during the sweep: {out['sweep_calls'] or 0}")

    EXPENSIVE_CALLS.clear()
    say("== 4. strict replay of the recorded experiment, with no IO handlers installed at all")
    out["strict_replay"] = run(train_experiment(), handlers=[ReplayHandler(recording)], env=env)
    out["strict_calls"] = dict(EXPENSIVE_CALLS)
    same = out["strict_replay"] == out["recorded"]
    say(f"   identical to the recorded result: {same}; expensive calls {out['strict_calls'] or 0}")
    say(f"recording: {recording} ({sum(1 for _ in open(recording))} lines, blobs in {recording.name}.blobs/)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.replay_demo", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="runs/replay_demo", help="where the recording, metrics and checkpoints go")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds each expensive call waits (default 0.5)")
    parser.add_argument("--wandb", action="store_true", help="log metrics to wandb (offline unless WANDB_MODE says otherwise)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON at the end")
    args = parser.parse_args(argv)
    out = demo(Path(args.dir), latency=args.latency, wandb=args.wandb)
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "sweep"} | {"sweep": {str(k): v for k, v in out["sweep"].items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

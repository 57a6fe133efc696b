"""The runtime benchmark still runs end to end: every case on both backends, JSON output complete.
Timings are not asserted (speed is measured by the benchmark, never by tests)."""

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_runtime.py"
CASES = (
    "ask", "ask_in_sub", "tell", "get_put", "resume", "transfer", "non_tail_resume", "post_resume", "nested", "sequential", "reentrant",
    "run_fixed", "gather",
)
BASELINES = ("plain_call", "plain_trampoline")


def test_benchmark_json_has_every_case_for_both_backends():
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--json", "--repeats", "1", "--scale", "0.001"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)

    assert sorted(report["cases"]) == sorted(CASES)
    assert sorted(report["baselines"]) == sorted(BASELINES)
    for name, row in report["cases"].items():
        assert row["doeff_us"] > 0 and row["runtime_us"] > 0, name
        assert row["runtime_over_doeff"] == row["runtime_us"] / row["doeff_us"], name
    assert report["meta"]["doeff"] == "0.8.0"

"""The runtime benchmark still runs end to end: every case on both backends, the floor cases on their
minimal drivers, JSON output complete. Timings are not asserted (speed is measured by the benchmark,
never by tests)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
BENCHMARK = BENCHMARKS / "bench_runtime.py"
CASES = (
    "ask", "ask_in_sub", "tell", "get_put", "resume", "transfer", "non_tail_resume", "post_resume", "nested", "sequential", "reentrant",
    "run_fixed", "gather",
)
FLOOR_CASES = ("ask", "tell", "get_put", "nested", "sequential", "run_fixed")
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
    assert sorted(n for n, row in report["cases"].items() if "floor_us" in row) == sorted(FLOOR_CASES)
    for name in FLOOR_CASES:
        row = report["cases"][name]
        assert row["floor_us"] > 0, name
        assert row["floor_over_doeff"] == row["floor_us"] / row["doeff_us"], name
        assert row["runtime_over_floor"] == row["runtime_us"] / row["floor_us"], name
        assert row["target_below_floor"] == (row["target_runtime_over_doeff"] < row["floor_over_doeff"]), name
    assert report["meta"]["doeff"] == "0.8.0"


@pytest.fixture(scope="module")
def bench_runtime():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_runtime

        yield bench_runtime
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("name", FLOOR_CASES)
def test_floor_driver_computes_what_the_runtime_computes(bench_runtime, name):
    """The floor does the same work as the runtime: on the same program object, its minimal driver returns
    the runtime's result (a floor that skipped part of the program would be no bound)."""
    case = next(c for c in bench_runtime.CASES if c.name == name)
    api = bench_runtime.load_backend("runtime")
    results = {}
    for label, build in (("runtime", case.build), ("floor", case.floor)):
        run_once, ops = build(api, 50)
        results[label] = (run_once(), ops)
    assert results["floor"] == results["runtime"]

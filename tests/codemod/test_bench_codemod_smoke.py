"""``benchmarks/bench_codemod.py --quick`` reports every case of every corpus; it asserts no timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_codemod.py"


def test_quick_run_reports_every_case(tmp_path):
    out = tmp_path / "bench.json"
    empty_cache = tmp_path / "no-wheels"  # the pypi corpus is reported as skipped, never downloaded here
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--jobs", "1", "--cache", str(empty_cache), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from bench_codemod import CASES, CORPORA, SIZES
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert set(report["corpora"]) == set(CORPORA)
    assert "not in" in report["corpora"]["pypi"]["skipped"]
    for name in ("real", "mixed"):
        corpus = report["corpora"][name]
        assert corpus["shape"]["pinjected_files"] > 0
        assert set(corpus["medians"]) == set(CASES)
        assert set(corpus["ratios"]) == set(CASES) - {"noop"}
        assert all(len(values) == 1 for values in corpus["runs"].values())
    real = report["corpora"]["real"]["shape"]
    assert real["pinjected_files"] >= real["files"] - 2  # real-shaped: every module but package markers
    assert [row["lines"] >= size for row, size in zip(report["scaling"], SIZES["quick"])] == [True] * 4
    for case in ("noop", "migrate", "check_migrated", "check_untouched"):
        assert case in proc.stdout

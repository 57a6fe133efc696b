"""``benchmarks/bench_lsp.py`` runs: our server and ``ruff server`` side by side on the same edits (a tiny
file here; the figures are the benchmark's own business)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_lsp  # noqa: E402

pytestmark = pytest.mark.asyncio


async def test_side_by_side_reports_both_servers(tmp_path: Path):
    assert bench_lsp.ruff_available(), "ruff is a test dependency (pyproject.toml): the side-by-side run needs it"
    result = await bench_lsp.measure_side_by_side(tmp_path, bench_lsp.make_large_source(150), edits=3)
    for server in ("ours", "ruff"):
        assert result[server]["cpu_ms_per_edit"] >= 0 and result[server]["edit_to_diagnostics_ms_median"] > 0
    assert result["ours"]["plan_cpu_ms_after_edits"] >= 0
    table = bench_lsp.render_side_by_side(result)
    assert "ruff server, CPU per didChange" in table and "our server, CPU per didChange" in table

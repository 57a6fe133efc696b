"""``scripts/demo.sh``, the README's main job, on the bundled example project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_migrates_the_example_and_every_entry_point_matches():
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 equal, 0 different, 0 failed" in proc.stdout
    for target in ("mlpipe.experiment.main", "mlpipe.experiment.fast", "mlpipe.experiment.inputs"):
        assert target in proc.stdout
    assert "demo: all 3 entry points behave the same after migration" in proc.stdout
    assert "5 file(s): 5 changed" in proc.stdout


def test_demo_exits_non_zero_when_a_run_differs(tmp_path):
    project = tmp_path / "proj"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("")
    # An entry point whose result depends on how it is launched (the runner is given --json, pinjected
    # is not): the two runs differ, and the demo must say so with a non-zero exit code.
    (project / "app" / "main.py").write_text(
        "import sys\nfrom pinjected import IProxy, injected\n\n"
        "@injected\ndef launched_with_json():\n    return '--json' in sys.argv\n\n"
        "main: IProxy = launched_with_json()\n"
    )
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), str(project), "app.main.main"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "demo: MISMATCH" in proc.stdout
    assert "app.main.main" in proc.stdout and "DIFFERENT" in proc.stdout

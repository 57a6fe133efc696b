"""``--target doeff``: the same projects, migrated to import from the real doeff package and run on it.

The runner sees doeff programs and runs them with doeff 0.8.0's own handlers (``lazy_ask`` for the
env, ``scheduled`` + ``await_handler``), so these tests check that the codemod's output is valid doeff
code with pinjected's behaviour, not only that it imports from ``doeff``.
"""

from __future__ import annotations

import re

import pytest

from .harness import assert_same_behaviour, run_migrated, write_project, migrate_copy
from .test_projects import PROJECTS

pytest.importorskip("doeff")
pytest.importorskip("pinjected")

# Projects whose migrated code uses what only the bundled runtime has; each names why.
RUNTIME_ONLY: dict[str, str] = {}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_project_migrated_for_doeff_behaves_like_the_original_on_doeff(tmp_path, name):
    if name in RUNTIME_ONLY:
        pytest.skip(RUNTIME_ONLY[name])
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets, ("--target", "doeff"))
    migrated = [p.read_text() for p in (tmp_path / "migrated").rglob("*.py")]
    assert any("from doeff import" in text for text in migrated), "nothing was migrated to doeff"
    for text in migrated:
        for line in text.splitlines():
            if line.startswith("from doeff_migrate.runtime import"):
                # the implicit-binding registry has no doeff counterpart; nothing else may come from the runtime
                assert set(line.split(" import ")[1].split(", ")) <= {"function_binding", "instance_binding"}, line


SIMPLE = {
    "app/__init__.py": "",
    "app/main.py": """
from pinjected import design, injected, instance

@instance
def base():
    print("building base")
    return 40

@injected
def add(base, /, x):
    return base + x

main = add(2)
__design__ = design()
""",
}


def test_doeff_target_entry_point_refuses_recording_with_a_clear_message(tmp_path):
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, SIMPLE)
    migrate_copy(original, migrated, ("--target", "doeff"))
    assert "from doeff import" in (migrated / "app" / "main.py").read_text()
    ok = run_migrated(migrated, "app.main.main")
    assert ok.returncode == 0 and ok.result == 42 and ok.stdout == ["building base"], ok
    import subprocess, sys
    proc = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", "app.main.main", "--record", str(tmp_path / "r.jsonl")],
        cwd=migrated, capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "RecordingHandler" in proc.stderr and "--target runtime" in proc.stderr
    assert not (tmp_path / "r.jsonl").exists()


IO_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/m.py": "import numpy as np\nfrom pinjected import injected\n\n@injected\ndef save(path, /):\n    np.save(path, np.zeros(2))\n",
}


def test_doeff_target_refuses_the_runtime_only_phases_and_changes_nothing(tmp_path):
    from doeff_migrate.codemod.cli import main as doeff_migrate

    write_project(tmp_path, IO_PROJECT)
    before = (tmp_path / "pkg" / "m.py").read_text()
    assert doeff_migrate([str(tmp_path), "--target", "doeff", "--phase", "io", "--allow-dirty"]) == 2
    assert (tmp_path / "pkg" / "m.py").read_text() == before
    assert not (tmp_path / "pkg" / "effects_handlers.py").exists()


def test_doeff_target_by_default_runs_only_the_phases_doeff_can_run(tmp_path, capsys):
    from doeff_migrate.codemod.cli import main as doeff_migrate

    write_project(tmp_path, IO_PROJECT)
    assert doeff_migrate([str(tmp_path), "--target", "doeff", "--allow-dirty"]) == 0
    text = (tmp_path / "pkg" / "m.py").read_text()
    assert "from doeff import" in text and "np.save(path, np.zeros(2))" in text  # di done, io left for later
    assert not (tmp_path / "pkg" / "effects_handlers.py").exists()
    assert "--target doeff runs phases di (compute, io, recording need --target runtime)" in capsys.readouterr().err


def test_doeff_entry_point_without_doeffs_handlers_installed_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, SIMPLE)
    migrate_copy(original, migrated, ("--target", "doeff"))
    script = (
        "import sys, app.main\n"
        "sys.modules['doeff_core_effects.scheduler'] = None  # doeff's handlers missing from this environment\n"
        "from doeff_migrate.runtime.runner import main\n"
        "sys.exit(main(['run', 'app.main.main']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=migrated, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "migrated with --target doeff but the doeff package is not importable" in proc.stderr
    assert "building base" not in proc.stdout  # nothing ran


# --- what --target doeff emits for the dynamic counterparts ----------------------------------------
# Decision: nothing of the bundled runtime. doeff 0.8.0 has no re-entrant run, and the dynamic
# counterparts (dependency callables, ``pass_dependencies``, Program expressions, ``AskResolver``,
# ``injected_proxy``/``update_if_registered``) run a program from plain Python inside a step: there is
# no doeff form to emit. Those constructs are left as they were and flagged (DM136, DM134, DM108);
# everything with a doeff form is migrated to doeff and runs on it (the projects above).


def _dynamic_projects():
    from .test_resolver import PROJECTS as RESOLVER
    from .test_wrapping_decorators import PROJECTS as WRAPPING

    return {**{f"resolver/{k}": v for k, v in RESOLVER.items()}, **{f"wrapping/{k}": v for k, v in WRAPPING.items()}}


@pytest.mark.parametrize("name", sorted(_dynamic_projects()))
def test_runtime_only_counterparts_are_flagged_not_emitted_for_doeff(tmp_path, name):
    import doeff

    files, _targets = _dynamic_projects()[name]
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    write_project(original, files)
    migrate_copy(original, migrated, ("--target", "doeff"))
    texts = {p: p.read_text() for p in migrated.rglob("*.py")}
    flagged = [p for p, text in texts.items() if re.search(r"# doeff-migrate: DM1\d\d:", text)]
    assert flagged, "a runtime-only construct was migrated for doeff"
    for path, text in texts.items():
        compile(text, str(path), "exec")
        for line in text.splitlines():
            if line.startswith("from doeff import"):
                missing = [n for n in line.split(" import ")[1].split(", ") if not hasattr(doeff, n.split(" as ")[0])]
                assert not missing, f"{path}: doeff has no {missing}"
            if line.startswith("from doeff_migrate.runtime import"):
                assert set(line.split(" import ")[1].split(", ")) <= {"function_binding", "instance_binding"}, line

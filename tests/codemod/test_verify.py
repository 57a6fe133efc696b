"""``doeff-migrate verify``: the bundled examples verify equal; a wrong hand edit, a crash, a timeout,
a missing base and a folder outside git each get their exit code and say why.

Real components: git repositories in tmp_path, real pinjected on the original side, the runtime's
runner with pinjected unimportable on the migrated side.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate
from doeff_migrate.codemod.verified import entry_points_in_source, read_record, record_path

ROOT = Path(__file__).resolve().parents[2]
MLPIPE = ["mlpipe.experiment.main", "mlpipe.experiment.fast", "mlpipe.experiment.inputs"]


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=verify-test", "-c", "user.email=verify@test", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return proc.stdout


def committed_copy(source: Path, place: Path) -> Path:
    shutil.copytree(source, place, ignore=shutil.ignore_patterns("__pycache__"))
    git(place, "init", "-q")
    git(place, "add", "-A")
    git(place, "commit", "-qm", "original")
    return place


def migrate(project: Path, *paths: str) -> None:
    assert doeff_migrate([*(str(project / p) for p in (paths or ("",))), "-q"]) == 0


def verify(project: Path, *args: str, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = doeff_migrate(["verify", "--project", str(project), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def verdicts(out: str) -> dict[str, dict]:
    return {e["entry_point"]: e for e in json.loads(out)["entry_points"]}


@pytest.fixture(scope="module")
def mlpipe_migrated(tmp_path_factory) -> Path:
    """examples/pinjected_project committed, then migrated in the working tree (not committed)."""
    project = committed_copy(ROOT / "examples" / "pinjected_project", tmp_path_factory.mktemp("mlpipe") / "project")
    migrate(project)
    return project


@pytest.fixture
def mlpipe(mlpipe_migrated: Path, tmp_path: Path) -> Path:
    """A private copy of the migrated project (with its repository, without verdicts) a test may edit."""
    return Path(shutil.copytree(mlpipe_migrated, tmp_path / "project", symlinks=True, ignore=shutil.ignore_patterns(".doeff-migrate")))


def test_bundled_example_verifies_equal_and_is_recorded(mlpipe_migrated: Path, capsys) -> None:
    code, out, _ = verify(mlpipe_migrated, *MLPIPE, "-j", "2", "--json", capsys=capsys)
    assert code == 0, out
    report = json.loads(out)
    assert report["base"] == "HEAD" and report["dirty"] is True  # the migration is not committed: compare with HEAD
    assert {t: v["verdict"] for t, v in verdicts(out).items()} == dict.fromkeys(MLPIPE, "equal")
    record = read_record(record_path(mlpipe_migrated))
    head = git(mlpipe_migrated, "rev-parse", "HEAD").strip()
    assert {t: (e["verdict"], e["commit"], e["base"], e["dirty"]) for t, e in record.items()} == dict.fromkeys(MLPIPE, ("equal", head, head, True))
    # The record never shows up as a change to commit.
    assert ".doeff-migrate" not in git(mlpipe_migrated, "status", "--porcelain", "--untracked-files=all")


def test_status_shows_the_verified_entry_points(mlpipe_migrated: Path, capsys) -> None:
    assert verify(mlpipe_migrated, "mlpipe.experiment.inputs", capsys=capsys)[0] == 0
    assert doeff_migrate(["status", str(mlpipe_migrated), "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)["verified"]
    assert verified["mlpipe.experiment.inputs"]["verdict"] == "equal"
    assert verified["mlpipe.experiment.inputs"]["commit"] == git(mlpipe_migrated, "rev-parse", "HEAD").strip()
    assert doeff_migrate(["status", str(mlpipe_migrated)]) == 0
    table = capsys.readouterr().out
    assert "Verified entry points" in table and "mlpipe.experiment.inputs" in table


def test_a_committed_migration_is_compared_with_the_commit_before_it(mlpipe: Path, capsys) -> None:
    git(mlpipe, "commit", "-qam", "migrate")
    code, out, _ = verify(mlpipe, "mlpipe.experiment.main", "--json", capsys=capsys)
    assert code == 0, out
    report = json.loads(out)
    assert report["base"] == "HEAD~1" and report["dirty"] is False
    assert report["base_commit"] == git(mlpipe, "rev-parse", "HEAD~1").strip()


def test_a_wrong_hand_edit_exits_1_naming_the_entry_point_and_the_difference(mlpipe: Path, capsys) -> None:
    experiment = mlpipe / "mlpipe" / "experiment.py"
    experiment.write_text(experiment.read_text().replace('a_run_experiment("baseline")', 'a_run_experiment("baseline-2")'))
    code, out, _ = verify(mlpipe, *MLPIPE, capsys=capsys)
    assert code == 1
    row = next(line for line in out.splitlines() if "mlpipe.experiment.main" in line)
    assert "DIFFERENT" in row
    assert '- "name": "baseline"' in out and '+ "name": "baseline-2"' in out  # the result's difference
    assert "-[log] baseline: epoch 0" in out and "+[log] baseline-2: epoch 0" in out  # and the output's
    assert "1 equal" not in out and "2 equal, 1 different, 0 failed" in out
    assert read_record(record_path(mlpipe))["mlpipe.experiment.main"]["verdict"] == "different"


def test_a_base_that_does_not_exist_exits_2(mlpipe: Path, capsys) -> None:
    code, out, err = verify(mlpipe, "mlpipe.experiment.main", "--base", "no-such-branch", capsys=capsys)
    assert code == 2 and out == ""
    assert "no-such-branch" in err and "is not a commit" in err
    assert not record_path(mlpipe).exists()


def test_a_clean_tree_with_one_commit_has_no_default_base(mlpipe: Path, capsys) -> None:
    repo = committed_copy(ROOT / "examples" / "pinjected_project", mlpipe.parent / "single")
    code, _, err = verify(repo, "mlpipe.experiment.main", capsys=capsys)
    assert code == 2 and "HEAD~1, which does not exist" in err and "--base" in err


def test_a_folder_outside_git_exits_2(tmp_path: Path, capsys) -> None:
    shutil.copytree(ROOT / "examples" / "pinjected_project", tmp_path / "plain")
    code, _, err = verify(tmp_path / "plain", "mlpipe.experiment.main", capsys=capsys)
    assert code == 2 and "not inside a git repository" in err


def test_no_entry_points_and_bad_entry_points_exit_2(mlpipe: Path, capsys) -> None:
    code, _, err = verify(mlpipe, capsys=capsys)
    assert code == 2 and "--discover" in err
    code, _, err = verify(mlpipe, "main", capsys=capsys)
    assert code == 2 and "pkg.module.variable" in err
    code, _, err = verify(mlpipe, "mlpipe.experiment.main", "--env", "NOEQUALS", capsys=capsys)
    assert code == 2 and "KEY=VALUE" in err


def test_a_side_that_crashes_exits_3_with_its_stderr_tail(mlpipe: Path, capsys) -> None:
    data = mlpipe / "mlpipe" / "data.py"
    data.write_text(data.read_text().replace('print(f"loading dataset', 'raise RuntimeError("disk on fire")\n    print(f"loading dataset', 1))
    code, out, _ = verify(mlpipe, "mlpipe.experiment.inputs", "--json", capsys=capsys)
    assert code == 3
    entry = verdicts(out)["mlpipe.experiment.inputs"]
    assert entry["verdict"] == "failed"
    assert "migrated exited with 1" in entry["detail"] and "RuntimeError: disk on fire" in entry["detail"]
    assert "original exited" not in entry["detail"]


def test_a_side_that_runs_too_long_is_killed_and_exits_3(mlpipe: Path, capsys) -> None:
    data = mlpipe / "mlpipe" / "data.py"
    data.write_text("import time\n" + data.read_text().replace('print(f"loading dataset', 'time.sleep(120)\n    print(f"loading dataset', 1))
    code, out, _ = verify(mlpipe, "mlpipe.experiment.inputs", "--timeout", "3", "--json", capsys=capsys)
    assert code == 3
    detail = verdicts(out)["mlpipe.experiment.inputs"]["detail"]
    assert "migrated timed out" in detail and "timed out after 3 s" in detail


def test_a_failure_wins_over_a_difference(mlpipe: Path, capsys) -> None:
    experiment = mlpipe / "mlpipe" / "experiment.py"
    experiment.write_text(experiment.read_text().replace('a_run_experiment("baseline")', 'a_run_experiment("other")'))
    code, out, _ = verify(mlpipe, "mlpipe.experiment.main", "mlpipe.experiment.nothing", "--json", capsys=capsys)
    assert code == 3
    assert {t: e["verdict"] for t, e in verdicts(out).items()} == {"mlpipe.experiment.main": "different", "mlpipe.experiment.nothing": "failed"}


def test_discover_lists_module_level_entry_points_and_the_config_picks_them(mlpipe: Path, capsys) -> None:
    code, out, _ = verify(mlpipe, "--discover", "--json", capsys=capsys)
    assert code == 0
    assert set(MLPIPE) <= set(json.loads(out)["entry_points"])
    (mlpipe / "pyproject.toml").write_text('[tool.doeff-migrate]\nverify = ["mlpipe.experiment.inputs"]\n')
    code, out, _ = verify(mlpipe, "--json", capsys=capsys)
    assert code == 0 and list(verdicts(out)) == ["mlpipe.experiment.inputs"]


GREETER = {
    "greet/__init__.py": "",
    "greet/app.py": """\
        import os
        from pinjected import IProxy, design, injected

        @injected
        def greeting(salutation, name, /):
            print(f"{salutation}, {name} ({os.environ.get('GREET_SUFFIX', '-')})")
            return {"text": f"{salutation}, {name}", "suffix": os.environ.get("GREET_SUFFIX")}

        __design__ = design(salutation="hello", name="amy")

        main: IProxy = greeting()
        """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(dedent(text))


def test_overrides_and_environment_reach_both_sides(tmp_path: Path, capsys, monkeypatch) -> None:
    project = tmp_path / "project"
    write(project, GREETER)
    committed_copy(project, tmp_path / "repo")
    repo = tmp_path / "repo"
    migrate(repo)
    app = repo / "greet" / "app.py"
    assert "pinjected" not in app.read_text()
    # A hand edit of a binding: a difference, unless an overrides file replaces it on both sides.
    app.write_text(app.read_text().replace('"name": "amy"', '"name": "bob"'))
    assert '"name": "bob"' in app.read_text()
    code, out, _ = verify(repo, "greet.app.main", "--json", capsys=capsys)
    assert code == 1, out
    overrides = tmp_path / "verify_overrides.py"
    overrides.write_text('overrides = {"name": "cy"}\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "elsewhere"))  # the caller's environment reaches both sides
    code, out, _ = verify(repo, "greet.app.main", "--overrides", str(overrides), "--env", "GREET_SUFFIX=ok", "--json", capsys=capsys)
    assert code == 0, out
    runs = json.loads(out)
    assert runs["entry_points"][0]["verdict"] == "equal"
    # What both sides saw: run one side alone with the same sandbox.
    from doeff_migrate.codemod.behaviour import Sandbox, run_migrated

    seen = run_migrated(repo, "greet.app.main", Sandbox(overrides=overrides, env={"GREET_SUFFIX": "ok"}, timeout=60))
    assert seen.result == {"text": "hello, cy", "suffix": "ok"} and seen.stdout == ["hello, cy (ok)"]


def test_a_partial_migration_needs_allow_pinjected(tmp_path: Path, capsys) -> None:
    repo = committed_copy(ROOT / "examples" / "mixed_project", tmp_path / "mixed")
    migrate(repo, "inventory")
    code, out, _ = verify(repo, "reports.app.main", "--json", capsys=capsys)
    assert code == 3
    assert "--allow-pinjected" in verdicts(out)["reports.app.main"]["detail"]
    code, out, _ = verify(repo, "reports.app.main", "--allow-pinjected", "--json", capsys=capsys)
    assert code == 0, out
    # Step by step, each step committed: the whole migration against the original commit.
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "migrate inventory")
    migrate(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "migrate the rest")
    code, out, _ = verify(repo, "reports.app.main", "--base", "HEAD~2", "--json", capsys=capsys)
    assert code == 0, out
    code, out, _ = verify(repo, "reports.app.main", "--json", capsys=capsys)  # HEAD~1: the partial state
    assert code == 0, out


def test_entry_points_in_source_are_found_by_parsing() -> None:
    source = dedent(
        """\
        from pinjected import IProxy, design
        main: IProxy[int] = run(1)
        with design(x=1):
            fast: "IProxy[int]" = run(2)
        helper = 3
        other: Program[int] = f()
        __doeff_requires__ = {"main": (), "inputs": ("seed",)}

        @do
        def inputs():
            return 1
        """
    )
    found = [(e.name, e.line) for e in entry_points_in_source(source)]
    assert found == [("main", 2), ("fast", 4), ("other", 6), ("inputs", 9)]
    assert entry_points_in_source("def broken(:\n") == []


def fidelity_projects() -> dict[str, tuple[dict[str, str], list[str]]]:
    from tests.fidelity.test_projects import PROJECTS

    return PROJECTS


@pytest.mark.parametrize("name", sorted(fidelity_projects()))
def test_every_fidelity_project_verifies_equal(tmp_path: Path, name: str, capsys) -> None:
    files, targets = fidelity_projects()[name]
    write(tmp_path / "source", files)
    repo = committed_copy(tmp_path / "source", tmp_path / "repo")
    migrate(repo)
    code, out, _ = verify(repo, *targets, "--json", capsys=capsys)
    assert code == 0, out
    assert {t: v["verdict"] for t, v in verdicts(out).items()} == dict.fromkeys(targets, "equal")


def test_each_side_gets_the_callers_environment_with_the_sandbox_on_top(monkeypatch) -> None:
    from doeff_migrate.codemod.behaviour import Sandbox, child_env

    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("VERIFY_PASSED_THROUGH", "1")
    env = child_env(Sandbox(home=Path("/tmp/home"), env={"EXTRA": "x"}, overrides=Path("o.py"), keep_pythonpath=True))
    assert (env["PYTHONPATH"], env["VERIFY_PASSED_THROUGH"], env["HOME"], env["EXTRA"], env["PYTHONHASHSEED"]) == (
        "/somewhere", "1", "/tmp/home", "x", "0",
    )
    assert env["DOEFF_MIGRATE_VERIFY_OVERRIDES"] == str(Path("o.py").resolve())
    harness_env = child_env(Sandbox())  # the fidelity harness: no PYTHONPATH, no overrides
    assert "PYTHONPATH" not in harness_env and "DOEFF_MIGRATE_VERIFY_OVERRIDES" not in harness_env

"""Bad input that once left a project worse: each case feeds it to the CLI and checks the message, the
exit code, and that nothing was damaged (files, bridges, the pinjected entry points still running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from doeff_migrate.codemod import cli, files
from doeff_migrate.codemod.cli import main
from doeff_migrate.codemod.files import project_lock

from .startup import wait_until_importing

PINJECTED = "from pinjected import injected\n\n@injected\ndef f(dep, /, x):\n    return dep + x\n"
MIGRATED = (
    "from doeff_migrate.runtime import Ask, do, function_binding\n\n"
    "@function_binding\n@do\ndef f(x):\n    dep = yield Ask(\"dep\")\n    return dep + x\n"
)
ROOT_DESIGN = "from pinjected import design\n\n__design__ = design(base=10)\n"
PROVIDERS = (
    "from pinjected import IProxy, injected, instance\n\n\n@instance\ndef scale(base):\n    return base * 2\n\n\n"
    "@injected\ndef compute(scale, /, x):\n    return scale + x\n\n\ncheck: IProxy = compute(1)\n"
)
CONSUMER = (
    "import app.{providers}  # noqa: F401 (pinjected binds the providers of imported modules by name)\n"
    "from pinjected import IProxy, injected\n\n\n@injected\ndef report(compute, base, /, n):\n"
    "    return f\"{compute(n)} base={base}\"\n\n\nmain: IProxy = report(5)\n"
)
EXPECTED = "25 base=10"


def _project(root: Path, providers: str = "lib") -> Path:
    """A pinjected project: root design, a providers module, and an entry point using them by name."""
    (root / "app").mkdir(parents=True)
    (root / "__pinjected__.py").write_text(ROOT_DESIGN)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / f"{providers}.py").write_text(PROVIDERS)
    (root / "app" / "main.py").write_text(CONSUMER.replace("{providers}", providers))
    return root


def _pinjected_run(root: Path, target: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pinjected", "run", target], cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr  # (pinjected prints the result in its log)


def _runner(root: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", target], cwd=root, capture_output=True, text=True, timeout=120,
    )


def _both_run(root: Path, unmigrated: str = "app.main.main") -> None:
    """pinjected runs the entry point left unmigrated, the runner runs both entry points."""
    expected = {"app.main.main": EXPECTED, "app.lib.check": "21"}
    assert expected[unmigrated] in _pinjected_run(root, unmigrated)
    for target, value in expected.items():
        if target.startswith("app.lib") and not (root / "app" / "lib.py").exists():
            continue
        proc = _runner(root, target)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert repr(value) in proc.stdout or value in proc.stdout
        assert "never awaited" not in proc.stderr  # the runner's own machinery does not warn


# --- generated files and the mixed state ------------------------------------------------------------


def test_a_module_name_that_is_no_identifier_is_bridged_through_importlib(tmp_path, capsys):
    root = _project(tmp_path, providers="01_lib")
    (root / "app" / "main.py").write_text(CONSUMER.replace("import app.{providers}", "import importlib").replace(
        "# noqa: F401 (pinjected binds the providers of imported modules by name)", "\nimportlib.import_module('app.01_lib')"
    ))
    assert main([str(root / "app" / "01_lib.py")]) == 0
    bridge = (root / "__pinjected__.py").read_text()
    compile(bridge, "__pinjected__.py", "exec")
    assert "importlib.import_module('app.01_lib')" in bridge
    _both_run(root)


def _unnamable_package(package: str) -> dict[str, str]:
    """A pinjected project in a package folder no import statement can name: an entry point whose provider reads a file."""
    return {
        f"{package}/__init__.py": """\
            import json
            import os

            os.makedirs("data", exist_ok=True)
            with open("data/cfg.json", "w") as f:
                json.dump({"lr": 0.5}, f)
        """,
        f"{package}/lib.py": """\
            import json
            from pinjected import injected

            @injected
            def load_config(data_dir, /, name: str):
                print("loading", name)
                with open(data_dir + "/" + name + ".json") as f:
                    text = f.read()
                return json.loads(text)
        """,
        f"{package}/main.py": """\
            from pinjected import IProxy, design

            from .lib import load_config

            main: IProxy = load_config("cfg")
            __design__ = design(data_dir="data")
        """,
    }


@pytest.mark.parametrize("package", ["01_app", "my-app"])
def test_a_package_folder_that_is_no_identifier_reaches_its_handler_module_through_importlib(tmp_path, package):
    """Every phase on a package no import statement can name: the handler module and the imports of it are
    valid Python, a second run changes nothing, and the runner gives what pinjected gave."""
    from tests.fidelity.harness import assert_same_behaviour

    files = _unnamable_package(package)
    assert_same_behaviour(tmp_path, files, [f"{package}.main.main"])
    migrated = tmp_path / "migrated" / package
    for path in migrated.rglob("*.py"):
        compile(path.read_text(), str(path), "exec", dont_inherit=True)
    lib = (migrated / "lib.py").read_text()
    assert f"ReadText = importlib.import_module({package + '.effects_handlers'!r}).ReadText" in lib
    assert "yield ReadText(" in lib
    assert (migrated / "effects_handlers.py").exists()
    assert main([str(migrated), "--check", "-q"]) == 0  # the importlib lines are recognised on a second run


def test_an_entry_point_migrated_after_its_provider_in_such_a_package_gets_the_handlers(tmp_path):
    """The provider's module, migrated in an earlier run, imports its effects through importlib: the entry
    point migrated later still sees that its package does IO and installs the package's handlers."""
    from tests.fidelity.harness import run_migrated, run_pinjected, write_project

    write_project(tmp_path, _unnamable_package("01_app"))
    before = run_pinjected(tmp_path, "01_app.main.main")
    assert before.returncode == 0, before.stderr[-3000:]
    assert main([str(tmp_path / "01_app" / "lib.py"), "-q"]) == 0
    assert main([str(tmp_path / "01_app" / "main.py"), "-q"]) == 0
    assert "__doeff_handlers__ = HANDLERS" in (tmp_path / "01_app" / "main.py").read_text()
    after = run_migrated(tmp_path, "01_app.main.main")
    assert after.returncode == 0, after.stderr[-3000:]
    assert (after.stdout, after.result) == (before.stdout, before.result) == (["loading cfg"], {"lr": 0.5})


def test_a_read_only_provider_file_is_failed_before_the_bridges_are_planned(tmp_path, capsys):
    root = _project(tmp_path)
    lib = root / "app" / "lib.py"
    lib.chmod(0o444)
    try:
        assert main([str(root)]) == 3
    finally:
        lib.chmod(0o644)
    captured = capsys.readouterr()
    assert f"{lib}: error: file is read-only: not written" in captured.err
    assert f"migrated: {lib}" not in captured.out  # the summary names only what was written
    assert lib.read_text() == PROVIDERS
    assert "app.lib" not in (root / "__pinjected__.py").read_text()  # no bridge to providers that stayed pinjected
    _both_run(root, unmigrated="app.lib.check")


def test_a_file_changed_during_the_run_gets_no_bridge(tmp_path, capsys, monkeypatch):
    root = _project(tmp_path)
    lib = root / "app" / "lib.py"
    real = cli.migrate_text

    def someone_edits_lib(source, **kwargs):
        result = real(source, **kwargs)
        if kwargs["path"].endswith("lib.py"):
            lib.write_text(PROVIDERS + "# edited meanwhile\n")
        return result

    monkeypatch.setattr(cli, "migrate_text", someone_edits_lib)
    assert main([str(root)]) == 3
    assert "file changed on disk since it was read: not written" in capsys.readouterr().err
    assert lib.read_text() == PROVIDERS + "# edited meanwhile\n"
    assert "app.lib" not in (root / "__pinjected__.py").read_text()
    _both_run(root, unmigrated="app.lib.check")


def test_a_write_that_fails_after_the_checks_gets_no_bridge_either(tmp_path, capsys, monkeypatch):
    """The file turns read-only between the checks and its write (a race): the plan is made again."""
    root = _project(tmp_path)
    lib = root / "app" / "lib.py"
    real_check = cli.check_writable

    def locks_lib_after_checking(source):
        real_check(source)
        if source.path.name == "lib.py":
            lib.chmod(0o444)

    monkeypatch.setattr(cli, "check_writable", locks_lib_after_checking)
    try:
        assert main([str(root)]) == 3
    finally:
        lib.chmod(0o644)
    captured = capsys.readouterr()
    assert f"{lib}: error: file is read-only: not written" in captured.err
    assert f"migrated: {lib}" not in captured.out
    assert lib.read_text() == PROVIDERS
    assert "app.lib" not in (root / "__pinjected__.py").read_text()
    _both_run(root, unmigrated="app.lib.check")


def test_a_partial_migration_keeps_pinjected_entry_points_running(tmp_path, capsys):
    """The root design becomes a dict while an entry point stays pinjected (a failed file)."""
    root = _project(tmp_path)
    main_py = root / "app" / "main.py"
    main_py.chmod(0o444)
    try:
        assert main([str(root)]) == 3
    finally:
        main_py.chmod(0o644)
    assert main_py.read_text() == CONSUMER.replace("{providers}", "lib")
    root_design = (root / "__pinjected__.py").read_text()
    assert '__design__ = {"base": 10}' in root_design and ") + __design__" in root_design
    _both_run(root)


def test_a_package_design_migrated_to_a_dict_keeps_pinjected_entry_points_below_it_running(tmp_path, capsys):
    root = _project(tmp_path)
    (root / "__pinjected__.py").unlink()
    (root / "app" / "__init__.py").write_text(ROOT_DESIGN)
    main_py = root / "app" / "main.py"
    main_py.chmod(0o444)
    try:
        assert main([str(root)]) == 3
    finally:
        main_py.chmod(0o644)
    package_design = (root / "app" / "__init__.py").read_text()
    assert '__design__ = {"base": 10}' in package_design and "__design__ = bridge_design() + __design__" in package_design
    _both_run(root)
    main_py.write_text(main_py.read_text())  # now writable: the last file migrates, and the block goes
    assert main([str(root), "-q"]) == 0
    assert (root / "app" / "__init__.py").read_text() == '__design__ = {"base": 10}\n'
    proc = _runner(root, "app.main.main")
    assert proc.returncode == 0 and repr(EXPECTED) in proc.stdout, proc.stderr


def test_a_second_run_on_a_locked_project_refuses(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "m.py").write_text(PINJECTED)
    with project_lock([tmp_path]):
        assert main([str(tmp_path)]) == 2
    assert f"another doeff-migrate run is writing {tmp_path}" in capsys.readouterr().err
    assert (tmp_path / "m.py").read_text() == PINJECTED
    assert main([str(tmp_path), "-q"]) == 0  # the lock ends with the run holding it
    assert (tmp_path / "m.py").read_text() == MIGRATED


def test_a_symlink_to_another_tree_is_refused(tmp_path, capsys):
    project = _project(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "other.py").write_text(PROVIDERS)
    (project / "app" / "other.py").symlink_to(outside / "other.py")
    before = (project / "__pinjected__.py").read_text()
    assert main([str(project / "app" / "other.py")]) == 2
    assert "outside the project" in capsys.readouterr().err
    assert (outside / "other.py").read_text() == PROVIDERS
    assert not (outside / "__pinjected__.py").exists()
    assert (project / "__pinjected__.py").read_text() == before


def test_a_link_to_a_whole_project_is_that_project(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "m.py").write_text(PINJECTED)
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    assert main([str(tmp_path / "link"), "-q"]) == 0
    assert (tmp_path / "real" / "m.py").read_text() == MIGRATED


# --- crashes become a file's failure (3) or a usage error (2) ------------------------------------------


def test_a_symlink_loop_fails_its_files_in_migrate_and_status(tmp_path, capsys):
    (tmp_path / "a.py").symlink_to(tmp_path / "b.py")
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    (tmp_path / "ok.py").write_text(PINJECTED)
    assert main([str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{tmp_path / 'a.py'}: error: cannot read: Too many levels of symbolic links" in err
    assert "Traceback" not in err
    assert (tmp_path / "ok.py").read_text() == MIGRATED
    assert (tmp_path / "a.py").is_symlink()
    assert main(["status", str(tmp_path)]) == 0
    assert "Too many levels of symbolic links" in capsys.readouterr().out


def test_a_folder_that_cannot_be_written_fails_its_file_and_the_run_goes_on(tmp_path, capsys, monkeypatch):
    """(Root ignores a folder's mode, so the refusal of the temp file is what is simulated.)"""
    locked, free = tmp_path / "locked", tmp_path / "free"
    locked.mkdir()
    free.mkdir()
    (locked / "m.py").write_text(PINJECTED)
    (free / "m.py").write_text(PINJECTED)
    real = tempfile.mkstemp

    def refusing(*args, dir=None, **kwargs):
        if Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", refusing)
    assert main([str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{locked / 'm.py'}: error: cannot write in {locked}: Permission denied: not written" in err
    assert (locked / "m.py").read_text() == PINJECTED
    assert (free / "m.py").read_text() == MIGRATED
    assert [p.name for p in locked.iterdir()] == ["m.py"]


DEEP_CHAIN = PINJECTED + "x = " + " + ".join(["a"] * 5000) + "\n"
DEEP_PARENS = PINJECTED + "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_code_nested_too_deeply_fails_that_file_only(tmp_path, jobs):
    (tmp_path / "chain.py").write_text(DEEP_CHAIN)
    (tmp_path / "parens.py").write_text(DEEP_PARENS)
    (tmp_path / "ok.py").write_text(PINJECTED)
    # A child process: a parser crash must not be able to take the test run with it.
    proc = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.codemod", str(tmp_path), "-j", jobs],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert f"{tmp_path / 'chain.py'}: error: too deeply nested to parse" in proc.stderr
    assert f"{tmp_path / 'parens.py'}: error: too deeply nested to parse" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "chain.py").read_text() == DEEP_CHAIN
    assert (tmp_path / "parens.py").read_text() == DEEP_PARENS
    assert (tmp_path / "ok.py").read_text() == MIGRATED
    status = subprocess.run(
        [sys.executable, "-m", "doeff_migrate.codemod", "status", str(tmp_path)], capture_output=True, text=True, timeout=300,
    )
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr[-3000:]
    assert f"unparsable {tmp_path / 'chain.py'}: too deeply nested to parse" in status.stdout


_REAL_PROCESS_FILE = cli.process_file


def _crashing_on_m2(path: str):
    """``process_file``, except that the process dies of a segfault on ``m2.py`` (as a native parser could)."""
    if path.endswith("m2.py"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return _REAL_PROCESS_FILE(path)


def test_a_worker_that_dies_fails_its_file_and_the_others_are_migrated(tmp_path, monkeypatch, capsys):
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    monkeypatch.setattr(cli, "process_file", _crashing_on_m2)
    assert main([str(tmp_path), "-j", "2"]) == 3
    err = capsys.readouterr().err
    assert f"{tmp_path / 'm2.py'}: error: the process migrating it was killed by SIGSEGV: left unchanged" in err
    assert (tmp_path / "m2.py").read_text() == PINJECTED.replace("def f", "def f2")
    for i in (0, 1, 3):
        assert (tmp_path / f"m{i}.py").read_text() == MIGRATED.replace("def f", f"def f{i}")


def test_a_report_path_that_cannot_be_written_is_a_usage_error_before_any_write(tmp_path, capsys):
    (tmp_path / "m.py").write_text(PINJECTED)
    assert main([str(tmp_path), "--report", "/nonexistent/r.json"]) == 2
    assert "error: --report /nonexistent/r.json: folder /nonexistent does not exist" in capsys.readouterr().err
    assert (tmp_path / "m.py").read_text() == PINJECTED


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    for i in range(600):
        (tmp_path / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "doeff_migrate.codemod", str(tmp_path), "-j", "4", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 4 and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 4, "the run ended before its workers could be seen"
    proc.kill()
    proc.wait()
    # A worker seen above may still be importing its modules; it watches its parent only once they are loaded
    # (then every PARENT_POLL_SECONDS), which a loaded machine can take seconds to reach: a generous bound.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    left = [w for w in workers if _alive(w)]
    for w in left:  # (only our own workers, by pid, so that a failure leaves nothing behind)
        os.kill(w, signal.SIGKILL)
    assert not left
    for i in range(600):
        assert (tmp_path / f"m{i}.py").read_text() == PINJECTED.replace("def f", f"def f{i}")


# --- ownership, configuration, security ------------------------------------------------------------------


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_rewritten_file_keeps_its_owner(tmp_path):
    path = tmp_path / "theirs.py"
    path.write_text(PINJECTED)
    os.chown(path, 1234, 5678)
    path.chmod(0o640)
    assert main([str(tmp_path), "-q"]) == 0
    assert path.read_text() == MIGRATED
    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (1234, 5678, 0o640)


def test_unknown_rule_codes_are_a_configuration_error(tmp_path, capsys):
    (tmp_path / "m.py").write_text(PINJECTED)
    assert main([str(tmp_path), "--select", "ZZZ"]) == 2
    assert "--select: unknown rule code or prefix 'ZZZ'" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[tool.doeff-migrate]\nselect = ["NOPE999"]\n')
    assert main([str(tmp_path)]) == 2
    assert "[tool.doeff-migrate] select: unknown rule code or prefix 'NOPE999'" in capsys.readouterr().err
    assert (tmp_path / "m.py").read_text() == PINJECTED
    (tmp_path / "pyproject.toml").write_text('[tool.doeff-migrate]\nselect = ["DM1"]\n')
    assert main([str(tmp_path), "-q", "--ignore", "DM161"]) == 0  # prefixes and whole codes are fine


def test_replay_is_not_a_phase(tmp_path, capsys):
    (tmp_path / "m.py").write_text(PINJECTED)
    assert main([str(tmp_path), "--phase", "replay"]) == 2
    assert "unknown phase replay (known: di, compute, io, recording)" in capsys.readouterr().err
    assert (tmp_path / "m.py").read_text() == PINJECTED


def test_the_dirty_check_never_runs_the_repositorys_fsmonitor(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    pwned = tmp_path / "pwned"
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "m.py").write_text(PINJECTED)
    subprocess.run([*git, "add", "m.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    subprocess.run([*git, "config", "core.fsmonitor", f"touch {pwned}; echo"], check=True)
    (repo / "m.py").write_text(PINJECTED + "# uncommitted\n")
    assert main([str(repo)]) == 2  # the dirty check still works
    assert "refusing to write files with uncommitted changes" in capsys.readouterr().err
    assert not pwned.exists()
    assert (repo / "m.py").read_text() == PINJECTED + "# uncommitted\n"


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.6, 0.9])
def test_ctrl_c_while_starting_exits_130_without_a_traceback(tmp_path, delay):
    """Early interrupts land in imports (some in a C extension's own code), index building or parsing:
    ``delay`` seconds after the command's own start-up began (not the interpreter's, which no code catches)."""
    for i in range(100):
        (tmp_path / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "doeff_migrate.codemod", str(tmp_path), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until_importing(proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert "interrupted" in err
    for i in range(100):
        assert (tmp_path / f"m{i}.py").read_text() in (PINJECTED.replace("def f", f"def f{i}"), MIGRATED.replace("def f", f"def f{i}"))


def _console_script(folder: Path) -> Path:
    """The ``doeff-migrate`` console script as pip writes it, for the entry point the package declares."""
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="console_scripts") if e.name == "doeff-migrate"]
    assert entry.value == "doeff_migrate.codemod.cli:main"
    module, _, function = entry.value.partition(":")
    script = folder / "doeff-migrate"
    script.write_text(
        f"import sys\nfrom {module} import {function}\nif __name__ == '__main__':\n"
        f"    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n    sys.exit({function}())\n"
    )
    return script


@pytest.mark.parametrize("delay", [0.0, 0.4, 0.9])
def test_ctrl_c_while_the_console_script_starts_exits_130_without_a_traceback(tmp_path, delay):
    """The console script imports ``cli`` itself (not through ``__main__``): an interrupt while typer,
    rich and LibCST load is one line and exit 130 there too (``delay`` seconds after those imports began)."""
    bin_dir, project = tmp_path / "bin", tmp_path / "project"
    bin_dir.mkdir()
    project.mkdir()
    script = _console_script(bin_dir)
    for i in range(100):
        (project / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(project), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until_importing(proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    if delay == 0.0:  # at the start of its imports (a tenth of a second and more): nothing was read yet
        assert proc.returncode == 130 and err == "interrupted: no file was written\n"
    if proc.returncode == 130:
        assert "interrupted" in err
    for i in range(100):
        assert (project / f"m{i}.py").read_text() in (PINJECTED.replace("def f", f"def f{i}"), MIGRATED.replace("def f", f"def f{i}"))


def test_an_in_process_main_keeps_pythons_own_interrupt_handler():
    """Only the command itself stops at a Ctrl-C while starting; a program importing ``cli`` keeps KeyboardInterrupt."""
    assert not cli._started_as_the_command()
    assert signal.getsignal(signal.SIGINT) is not cli._exit_interrupted


def test_an_interrupt_while_typer_parses_the_arguments_says_so(tmp_path, capsys, monkeypatch):
    """typer answers that interrupt with exit 130 and no word (it lazily imports pydantic there)."""
    import typer.core

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.core.TyperArgument, "process_value", interrupted)
    (tmp_path / "m.py").write_text(PINJECTED)
    assert main([str(tmp_path), "-q"]) == 130
    assert capsys.readouterr().err == "interrupted: no file was written\n"
    assert (tmp_path / "m.py").read_text() == PINJECTED

"""Bad input: a clear message, a distinct exit code, and no file damaged (codemod/files.py, cli.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from textwrap import dedent

import pytest

from doeff_migrate.codemod import cli
from doeff_migrate.codemod.api import ProjectIndex, migrate_source
from doeff_migrate.codemod.cli import main
from doeff_migrate.codemod.engine import MigrationError

from .startup import wait_until_importing

PINJECTED = "from pinjected import injected\n\n@injected\ndef f(dep, /, x):\n    return dep + x\n"
MIGRATED = (
    "from doeff_migrate.runtime import Ask, do, function_binding\n\n"
    "@function_binding\n@do\ndef f(x):\n    dep = yield Ask(\"dep\")\n    return dep + x\n"
)


def test_syntax_error_is_reported_and_the_other_files_are_still_migrated(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("from pinjected import injected\n\ndef oops(:\n    pass\n")
    good = tmp_path / "good.py"
    good.write_text(PINJECTED)
    assert main([str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert f"{broken}: error: syntax error at line 3" in err
    assert broken.read_text() == "from pinjected import injected\n\ndef oops(:\n    pass\n"
    assert good.read_text() == MIGRATED


def test_non_utf8_file_is_left_byte_for_byte(tmp_path, capsys):
    latin = tmp_path / "latin.py"
    data = "# caf\xe9\nfrom pinjected import injected\n".encode("latin-1")
    latin.write_bytes(data)
    assert main([str(tmp_path)]) == 3
    assert "not valid UTF-8 (byte 5): left unchanged" in capsys.readouterr().err
    assert latin.read_bytes() == data


def test_bom_and_crlf_line_endings_are_preserved(tmp_path):
    path = tmp_path / "windows.py"
    path.write_bytes(b"\xef\xbb\xbf" + PINJECTED.replace("\n", "\r\n").encode())
    assert main([str(tmp_path), "-q"]) == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode() == MIGRATED.replace("\n", "\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_read_only_file_is_not_written(tmp_path, capsys):
    path = tmp_path / "locked.py"
    path.write_text(PINJECTED)
    path.chmod(0o444)
    try:
        assert main([str(tmp_path)]) == 3
        assert f"{path}: error: file is read-only: not written" in capsys.readouterr().err
        assert path.read_text() == PINJECTED
        assert path.stat().st_mode & 0o777 == 0o444
    finally:
        path.chmod(0o644)


def test_mode_is_kept_on_write(tmp_path):
    path = tmp_path / "script.py"
    path.write_text(PINJECTED)
    path.chmod(0o750)
    assert main([str(tmp_path), "-q"]) == 0
    assert path.read_text() == MIGRATED
    assert path.stat().st_mode & 0o777 == 0o750


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.py").write_text(PINJECTED)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(outside / "other.py")
    (tree / "linkdir").symlink_to(outside, target_is_directory=True)
    (tree / "own.py").write_text(PINJECTED)
    assert main([str(tree), "-q"]) == 0
    assert (outside / "other.py").read_text() == PINJECTED
    assert (tree / "own.py").read_text() == MIGRATED
    assert (tree / "link.py").is_symlink()


def test_symlink_inside_the_tree_writes_its_target_and_stays_a_link(tmp_path):
    (tmp_path / "real.py").write_text(PINJECTED)
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    assert main([str(tmp_path), "-q"]) == 0
    assert (tmp_path / "real.py").read_text() == MIGRATED
    assert (tmp_path / "alias.py").is_symlink()


def test_file_changed_between_read_and_write_is_not_overwritten(tmp_path, capsys, monkeypatch):
    path = tmp_path / "racy.py"
    path.write_text(PINJECTED)
    real = cli.migrate_text

    def someone_edits_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        path.write_text(PINJECTED + "# edited by someone else\n")
        return result

    monkeypatch.setattr(cli, "migrate_text", someone_edits_meanwhile)
    assert main([str(tmp_path)]) == 3
    assert "file changed on disk since it was read: not written" in capsys.readouterr().err
    assert path.read_text() == PINJECTED + "# edited by someone else\n"


def test_interrupt_while_writing_leaves_whole_files_only(tmp_path, capsys, monkeypatch):
    paths = [tmp_path / f"m{i}.py" for i in range(5)]
    for p in paths:
        p.write_text(PINJECTED)
    real_replace = os.replace
    calls = {"n": 0}

    def interrupted_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_replace)
    assert main([str(tmp_path)]) == 130
    assert "interrupted: 2 file(s) were written completely, the others are unchanged" in capsys.readouterr().err
    texts = sorted(p.read_text() for p in paths)
    assert texts == [MIGRATED] * 2 + [PINJECTED] * 3
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_sigint_from_outside_never_leaves_a_half_written_file(tmp_path):
    for i in range(400):
        (tmp_path / f"m{i}.py").write_text(PINJECTED.replace("def f", f"def f{i}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "doeff_migrate.codemod", str(tmp_path), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until_importing(proc)  # then 1.5 s into its own start-up and run, whatever the machine's load
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130), err
    for i in range(400):
        text = (tmp_path / f"m{i}.py").read_text()
        assert text in (PINJECTED.replace("def f", f"def f{i}"), MIGRATED.replace("def f", f"def f{i}"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert f"error: path does not exist: {tmp_path / 'nope'}" in capsys.readouterr().err


def test_a_character_libcst_refuses_in_a_name_is_a_clean_syntax_error_not_a_crash():
    # Found by the hypothesis property test: a character of a newer Unicode version than LibCST's
    # tokenizer knows makes LibCST raise CSTValidationError instead of a syntax error.
    from doeff_migrate.codemod.api import MigrationError, migrate_source

    source = "from pinjected import injected\n\U00013460 = 1\n"
    with pytest.raises(MigrationError, match="syntax error at line 2"):
        migrate_source(source, path="m.py")


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


PROVIDERS = """\
    from pinjected import IProxy, Injected, design, injected, instance

    @injected
    def f(x):
        return x

    @instance
    def ckpt():
        return {"w": 1}

    CONFIG = {"x": 1}
"""


def test_a_transform_crash_fails_that_file_only(monkeypatch):
    # `3.proxy` crashed the whole CLI run; whatever a transform raises is now this file's error.
    from doeff_migrate.codemod.transforms import entry_points

    def broken(self, node):
        raise RuntimeError("boom")

    monkeypatch.setattr(entry_points.EntryPoints, "value_of", broken)
    with pytest.raises(MigrationError, match="internal error in the entry_points transform"):
        migrate({"app/main.py": dedent(PROVIDERS) + "p: IProxy = f(1) + 1\n"})

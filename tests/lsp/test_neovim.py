"""Headless Neovim (Debian's ``neovim`` package) as an independent LSP client: it starts the server,
receives the pushed diagnostics, edits the buffer and receives the updated diagnostics."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

NVIM = shutil.which("nvim")

SOURCE = textwrap.dedent(
    """\
    import wandb
    from doeff_migrate.runtime import do

    @do
    def step(loss):
        wandb.log({"loss": loss})
        print(loss)
        return loss
    """
)


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (scripts/bootstrap.sh installs Debian's neovim)")
def test_neovim_receives_diagnostics_and_updates_after_an_edit(tmp_path: Path):
    target = tmp_path / "step.py"
    target.write_text(SOURCE)
    out = tmp_path / "diagnostics.txt"
    env = {
        **os.environ,
        "LSP_FILE": str(target),
        "LSP_ROOT": str(tmp_path),
        "LSP_OUT": str(out),
        "LSP_PYTHON": sys.executable,
        "LSP_DELETE_LINE": "6",  # the wandb.log line
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    script = Path(__file__).with_name("nvim_client.lua")
    subprocess.run(
        [NVIM, "--headless", "--clean", "-n", "-c", f"luafile {script}"],
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
        capture_output=True,
    )
    received = out.read_text().splitlines()
    assert received != ["TIMEOUT"]
    parsed = sorted(line.split("|", 4) for line in received)
    assert [(code, lnum, col, source) for code, lnum, col, source, _ in parsed] == [
        ("DM301", "5", "4", "doeff-migrate"),
        ("DM309", "6", "4", "doeff-migrate"),
    ]
    assert "`wandb.log` is a direct side effect" in parsed[0][4]
    after = sorted(line.split("|", 4)[:3] for line in Path(f"{out}.after").read_text().splitlines())
    assert after == [["DM309", "5", "4"]]
    assert target.read_text() == SOURCE  # the client edited its buffer only; nothing wrote the file

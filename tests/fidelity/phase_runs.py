"""Running a small project before and after a phase: the runner's result, output and offline wandb records.

Shared by the fidelity tests of the ``compute``, ``io`` and ``recording`` phases.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

from doeff_migrate.codemod.cli import main as doeff_migrate

PYTHON = sys.executable


@dataclass
class Outcome:
    returncode: int
    result: object
    stdout: list[str]
    stderr: str
    wandb: list[tuple] | None


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


def wandb_records(root: Path) -> list[tuple] | None:
    """History, summary and config records of the latest offline wandb run under ``root/wandb_runs``, in order
    (read from wandb's own leveldb-framed record file)."""
    runs = sorted(glob.glob(str(root / "wandb_runs" / "wandb" / "offline-run-*")))
    if not runs:
        return None
    from wandb.proto import wandb_internal_pb2 as pb

    raw = Path(glob.glob(runs[-1] + "/run-*.wandb")[0]).read_bytes()
    block, pos, cur, records = 32768, 7, b"", []
    while pos + 7 <= len(raw):
        off = pos % block
        if block - off < 7:
            pos += block - off
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += block - off
            continue
        cur += raw[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            records.append(cur)
            cur = b""
    def items(entries) -> dict:
        named = {(i.key or "/".join(i.nested_key)): i.value_json for i in entries}
        return {k: json.loads(v) for k, v in named.items() if k and not k.startswith("_")}

    out: list[tuple] = []
    for data in records:
        record = pb.Record()
        record.ParseFromString(data)
        which = record.WhichOneof("record_type")
        if which == "history":
            out.append(("history", record.history.step.num, items(record.history.item)))
        elif which == "summary":
            out.append(("summary", items(record.summary.update)))
        elif which == "config":
            out.append(("config", items(record.config.update)))
    return out


def run_entry(root: Path, target: str, *args: str, timeout: int = 120, **env: str) -> Outcome:
    full_env = dict(os.environ)
    full_env.pop("PYTHONPATH", None)
    full_env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(root / "wandb_runs"), PYTHONHASHSEED="0")
    full_env.update(env)
    (root / "wandb_runs").mkdir(exist_ok=True)
    proc = subprocess.run(
        [PYTHON, "-m", "doeff_migrate.runtime", "run", target, "--json", *args],
        cwd=root, capture_output=True, text=True, env=full_env, timeout=timeout,
    )
    lines = proc.stdout.splitlines()
    result = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    return Outcome(proc.returncode, result, lines[:-1] if proc.returncode == 0 else lines, proc.stderr, wandb_records(root))


def migrate_project(tmp_path: Path, files: dict[str, str], *phases: str) -> tuple[Path, Path]:
    """``original`` and ``migrated`` copies of the project under ``tmp_path``, the latter through ``phases``."""
    original, migrated = tmp_path / "original", tmp_path / "migrated"
    _write(original, files)
    shutil.copytree(original, migrated)
    args = [str(migrated), "-q", "--allow-dirty"]
    for phase in phases:
        args += ["--phase", phase]
    assert doeff_migrate(args) == 0
    return original, migrated


def flags(root: Path) -> list[str]:
    return sorted(re.findall(r"# doeff-migrate: (DM\d{3}):", "".join(p.read_text() for p in root.rglob("*.py"))))


def assert_same(original: Path, migrated: Path, target: str, **env: str) -> Outcome:
    before = run_entry(original, target, **env)
    assert before.returncode == 0, before.stderr[-3000:]
    after = run_entry(migrated, target, **env)
    assert after.returncode == 0, after.stderr[-3000:] + "\n" + "\n".join(
        f"--- {p.relative_to(migrated)}\n{p.read_text()}" for p in sorted(migrated.rglob("*.py")))
    assert (after.result, after.stdout) == (before.result, before.stdout)
    assert after.wandb == before.wandb
    return after



def run_script(root: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("PYTHONPATH", None)
    full_env.update(env)
    return subprocess.run([PYTHON, "-m", "proj.pipeline"], cwd=root, capture_output=True, text=True, env=full_env, timeout=120)

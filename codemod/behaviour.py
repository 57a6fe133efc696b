"""Run one entry point the way pinjected runs it and the way the runtime runs it, and compare.

The original side takes ``python -m pinjected run``'s code path (``run_injected("get", ...)``); the
migrated side runs ``python -m doeff_migrate.runtime run ... --json``, by default in a process where
importing pinjected raises ``ImportError``, so an equal result proves the code runs without it.
Both children print the program's own output, then the result as JSON on the last stdout line
(the runner's encoding: numpy arrays and sets as lists, anything else JSON cannot hold as its
``repr``). Results are compared after that JSON round trip (tuples and lists are the same there),
output line by line, in order.

Each side runs in its own process group with a timeout; ``Sandbox`` says how both sides are tamed
in the same way: extra environment variables, a working directory and ``HOME``, and an overrides
file (a Python file defining a plain dict ``overrides``) whose entries replace design bindings on
both sides: through ``design(**overrides)`` for pinjected, on top of the env for the runtime.
``doeff-migrate verify`` and ``tests/fidelity/harness.py`` share this module.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = sys.executable


@dataclass
class Run:
    """One side's run: the program's own stdout lines, its decoded result (``None`` when it failed)."""

    stdout: list[str]
    result: object
    returncode: int
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass
class Sandbox:
    """What both sides share: ``cwd`` (``None``: the side's project root), ``home`` (``None``: the
    caller's), extra ``env`` entries, the ``overrides`` file and the per-side ``timeout`` in seconds.
    The caller's environment is passed through, but for ``PYTHONPATH`` unless ``keep_pythonpath``."""

    cwd: Path | None = None
    home: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    overrides: Path | None = None
    timeout: float = 120.0
    keep_pythonpath: bool = False
    """Pass the caller's ``PYTHONPATH`` on (a user's environment); the project root still comes first."""


# Loads the overrides file named by DOEFF_MIGRATE_VERIFY_OVERRIDES (its ``overrides`` dict), or {}.
_LOAD_OVERRIDES = (
    "import os, runpy\n"
    "def _overrides():\n"
    "    path = os.environ.get('DOEFF_MIGRATE_VERIFY_OVERRIDES')\n"
    "    if not path:\n"
    "        return {}\n"
    "    found = runpy.run_path(path).get('overrides')\n"
    "    if not isinstance(found, dict):\n"
    "        raise SystemExit(f'error: {path} must define a dict named overrides')\n"
    "    return found\n"
)

# The project root comes first on sys.path, as with ``python -m`` run from it.
_PINJECTED_DRIVER = _LOAD_OVERRIDES + (
    "import json, sys\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "from pinjected import design\n"
    "from pinjected.run_helpers.run_injected import run_injected\n"
    "from doeff_migrate.runtime.runner import _json_default\n"
    "result = run_injected('get', sys.argv[1], return_result=True, no_notification=True, overrides=design(**_overrides()))\n"
    "sys.stdout.flush()\n"
    "print(json.dumps(result, default=_json_default))\n"
)

# Migrated code must run with pinjected uninstalled: the child installs a meta-path finder that makes
# every ``pinjected`` import fail before the runner imports anything (``strict``).
_BLOCK_PINJECTED = (
    "class _NoPinjected:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'pinjected' or name.startswith('pinjected.'):\n"
    "            raise ImportError(f'pinjected is blocked: the migrated code must run without it ({name})')\n"
    "        return None\n"
    "sys.meta_path.insert(0, _NoPinjected())\n"
)

_MIGRATED_DRIVER = _LOAD_OVERRIDES + (
    "import sys, runpy\n"
    "{block}"
    "sys.path.insert(0, sys.argv[1])\n"
    "_extra = _overrides()\n"
    "if _extra:\n"
    "    from doeff_migrate.runtime import entry as _entry\n"
    "    _build_env = _entry.build_env\n"
    "    def _build_env_with_overrides(*args, **kwargs):\n"
    "        env = _build_env(*args, **kwargs)\n"
    "        env.update(_extra)\n"
    "        return env\n"
    "    _entry.build_env = _build_env_with_overrides\n"
    "sys.argv = ['doeff_migrate.runtime', *sys.argv[2:]]\n"
    "runpy.run_module('doeff_migrate.runtime', run_name='__main__', alter_sys=True)\n"
)

PINJECTED_BLOCKED = "pinjected is blocked: the migrated code must run without it"

_PINJECTED_IMPORT = re.compile(r"^\s*(?:from\s+pinjected[\s.]|import\s+pinjected\b)", re.MULTILINE)


def pinjected_imports_left(root: Path) -> list[Path]:
    """The files of ``root`` that still import pinjected."""
    return [p for p in sorted(root.rglob("*.py")) if _PINJECTED_IMPORT.search(p.read_text(encoding="utf-8", errors="replace"))]


def child_env(sandbox: Sandbox) -> dict[str, str]:
    """The caller's environment (passed through), with a fixed hash seed and the sandbox's entries."""
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    if not sandbox.keep_pythonpath:
        env.pop("PYTHONPATH", None)
    env.pop("DOEFF_MIGRATE_VERIFY_OVERRIDES", None)
    if sandbox.home is not None:
        env["HOME"] = str(sandbox.home)
    if sandbox.overrides is not None:
        env["DOEFF_MIGRATE_VERIFY_OVERRIDES"] = str(Path(sandbox.overrides).resolve())
    env.update(sandbox.env)
    return env


def _run_child(command: list[str], root: Path, sandbox: Sandbox) -> Run:
    """Run ``command`` in its own process group; on timeout the whole group is killed."""
    proc = subprocess.Popen(
        command, cwd=sandbox.cwd or root, env=child_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=sandbox.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            # A process that left the group (a daemon in its own session) still holds the pipes.
            for pipe in (proc.stdout, proc.stderr):
                pipe.close()
            proc.wait()
            out, err = "", "[output lost: a process outside the side's process group kept its pipes open]"
        timed_out = True
        err += f"\n[timed out after {sandbox.timeout:g} s: killed]"
    lines = out.splitlines()
    if proc.returncode == 0 and not timed_out and lines:
        try:
            return Run(lines[:-1], json.loads(lines[-1]), 0, err)
        except json.JSONDecodeError:
            return Run(lines, None, 1, err + f"\n[the last stdout line is not the JSON result: {lines[-1][:200]!r}]")
    if proc.returncode == 0 and not timed_out:
        return Run(lines, None, 1, err + "\n[no result: the side printed nothing on stdout]")
    return Run(lines, None, proc.returncode, err, timed_out)


def run_original(root: Path, target: str, sandbox: Sandbox | None = None) -> Run:
    """``target`` under real pinjected, importing from ``root``."""
    root = Path(root).resolve()
    return _run_child([PYTHON, "-c", _PINJECTED_DRIVER, target, str(root)], root, sandbox or Sandbox())


def run_migrated(root: Path, target: str, sandbox: Sandbox | None = None, *, strict: bool = True) -> Run:
    """``target`` on the runtime's runner, importing from ``root``; ``strict``: pinjected unimportable."""
    root = Path(root).resolve()
    driver = _MIGRATED_DRIVER.replace("{block}", _BLOCK_PINJECTED if strict else "")
    return _run_child([PYTHON, "-c", driver, str(root), "run", target, "--json"], root, sandbox or Sandbox())


@dataclass
class Verdict:
    """How the migrated run of one entry point compares with the original's."""

    target: str
    status: str  # equal | different | failed
    detail: str = ""
    before: Run | None = None
    after: Run | None = None

    def as_json(self) -> dict:
        return {"entry_point": self.target, "verdict": self.status, "detail": self.detail}


def _json_text(value: object) -> list[str]:
    return json.dumps(value, indent=1, sort_keys=True).splitlines()


def short_diff(before: list[str], after: list[str], limit: int = 12) -> str:
    """The first ``limit`` lines of a unified diff from ``before`` (original) to ``after`` (migrated)."""
    lines = [line for line in difflib.unified_diff(before, after, "original", "migrated", lineterm="", n=1)]
    return "\n".join(lines[:limit] + (["..."] if len(lines) > limit else []))


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def compare(target: str, before: Run, after: Run) -> Verdict:
    """``equal`` when results and output lines match; ``failed`` when a side did not run to the end."""
    failures = []
    for side, run in (("original", before), ("migrated", after)):
        if not run.ok:
            why = "timed out" if run.timed_out else f"exited with {run.returncode}"
            failures.append(f"{side} {why}:\n{tail(run.stderr)}")
    if failures:
        return Verdict(target, "failed", "\n".join(failures), before, after)
    parts = []
    if after.result != before.result:
        parts.append("result:\n" + short_diff(_json_text(before.result), _json_text(after.result)))
    if after.stdout != before.stdout:
        parts.append("output:\n" + short_diff(before.stdout, after.stdout))
    return Verdict(target, "different" if parts else "equal", "\n".join(parts), before, after)


__all__ = ["Run", "Sandbox", "Verdict", "run_original", "run_migrated", "compare", "pinjected_imports_left", "child_env", "short_diff"]

"""``doeff-migrate verify pkg.mod.var ...``: prove a migration on the project's own entry points.

Each entry point runs twice: the original under real pinjected, from a temporary ``git worktree`` of
the base commit, and the migrated code on the runtime's runner, in the working tree, with pinjected
unimportable unless ``--allow-pinjected`` (a partial migration). Results (JSON, ``repr`` as the
fallback) and the program's own stdout lines are compared (``behaviour.compare``).

The base is ``--base REF``; by default the commit before the migration: ``HEAD`` when the working
tree has uncommitted changes (the migration is not committed yet), else ``HEAD~1``.

Both sides are tamed the same way: the caller's environment is passed through (plus ``--env
KEY=VALUE``), each side gets a fresh ``HOME`` and working directory (the project folder is first on
``sys.path``; ``--cwd-root``: run in the side's project folder instead, for entry points that read
relative paths), runs in its own process with ``--timeout`` seconds, and ``--overrides FILE`` (a
Python file defining a plain dict ``overrides``) replaces design bindings on both sides (not on the
migrated side of a partial migration that still runs through pinjected: ``runtime/bridge.py`` builds
that env itself).

Exit codes: 0 every entry point equal; 1 a difference; 2 usage error (no git repository, unknown
base, no entry points, bad option); 3 a side failed to run or timed out (wins over 1).
"""

from __future__ import annotations

import contextlib
import datetime
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import behaviour
from .behaviour import Sandbox, Verdict

EXIT_EQUAL, EXIT_DIFFERENT, EXIT_USAGE, EXIT_SIDE_FAILED = 0, 1, 2, 3


class VerifyUsageError(Exception):
    """Bad input (exit code 2): the message says what to do."""


@dataclass
class VerifyOptions:
    targets: list[str]
    project: Path = field(default_factory=Path.cwd)
    base: str | None = None
    timeout: float = 120.0
    jobs: int = 1
    allow_pinjected: bool = False
    overrides: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd_root: bool = False


@dataclass
class Outcome:
    verdicts: list[Verdict]
    base: str
    base_commit: str
    commit: str
    dirty: bool

    @property
    def exit_code(self) -> int:
        statuses = {v.status for v in self.verdicts}
        if "failed" in statuses:
            return EXIT_SIDE_FAILED
        return EXIT_DIFFERENT if "different" in statuses else EXIT_EQUAL

    def as_json(self) -> dict:
        return {
            "base": self.base, "base_commit": self.base_commit, "commit": self.commit, "dirty": self.dirty,
            "entry_points": [v.as_json() for v in self.verdicts], "exit_code": self.exit_code,
        }


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise VerifyUsageError("git is not installed: verify checks out the original code from a git commit") from None


def git_toplevel(project: Path) -> Path:
    proc = _git(project, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise VerifyUsageError(f"{project} is not inside a git repository: verify checks out the original code from a commit (git init and commit it first)")
    return Path(proc.stdout.strip()).resolve()


def is_dirty(top: Path) -> bool:
    return bool(_git(top, "status", "--porcelain", "--untracked-files=no").stdout.strip())


def resolve_commit(top: Path, ref: str) -> str:
    proc = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if proc.returncode != 0:
        raise VerifyUsageError(f"base {ref!r} is not a commit of {top} (give --base REF: the commit before the migration)")
    return proc.stdout.strip()


def default_base(top: Path) -> str:
    """``HEAD`` while the migration is uncommitted, else the commit before ``HEAD``."""
    return "HEAD" if is_dirty(top) else "HEAD~1"


@contextlib.contextmanager
def base_worktree(top: Path, commit: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``commit``, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="doeff-verify-base-") as temp:
        place = Path(temp) / "base"
        proc = _git(top, "worktree", "add", "--detach", "--quiet", str(place), commit)
        if proc.returncode != 0:
            raise VerifyUsageError(f"cannot check out {commit[:12]} with git worktree: {proc.stderr.strip()}")
        try:
            yield place
        finally:
            _git(top, "worktree", "remove", "--force", str(place))
            _git(top, "worktree", "prune")


def _verify_one(target: str, original_root: Path, migrated_root: Path, options: VerifyOptions) -> Verdict:
    with tempfile.TemporaryDirectory(prefix="doeff-verify-") as temp:
        sandboxes = []
        for side in ("original", "migrated"):
            home, work = Path(temp, side, "home"), Path(temp, side, "cwd")
            home.mkdir(parents=True)
            work.mkdir(parents=True)
            sandboxes.append(Sandbox(
                cwd=None if options.cwd_root else work, home=home, env=options.env,
                overrides=options.overrides, timeout=options.timeout, keep_pythonpath=True,
            ))
        before = behaviour.run_original(original_root, target, sandboxes[0])
        after = behaviour.run_migrated(migrated_root, target, sandboxes[1], strict=not options.allow_pinjected)
    verdict = behaviour.compare(target, before, after)
    if not after.ok and behaviour.PINJECTED_BLOCKED in after.stderr:
        verdict.detail += "\n(the migrated code still imports pinjected: finish the migration, or pass --allow-pinjected for a partial one)"
    return verdict


def check_options(options: VerifyOptions) -> None:
    if not options.targets:
        raise VerifyUsageError(
            "no entry points: name them (doeff-migrate verify pkg.mod.var ...), list them with --discover, "
            "or set [tool.doeff-migrate] verify = [...]"
        )
    bad = [t for t in options.targets if "." not in t.strip(".")]
    if bad:
        raise VerifyUsageError(f"expected entry points as pkg.module.variable, got {', '.join(map(repr, bad))}")
    if options.timeout <= 0 or options.jobs < 1:
        raise VerifyUsageError("--timeout must be positive and -j at least 1")
    if options.overrides is not None and not Path(options.overrides).is_file():
        raise VerifyUsageError(f"--overrides: no such file: {options.overrides}")
    if not Path(options.project).is_dir():
        raise VerifyUsageError(f"--project: no such folder: {options.project}")


def verify(options: VerifyOptions) -> Outcome:
    """Run every entry point on both sides; raises ``VerifyUsageError`` before running anything."""
    check_options(options)
    project = Path(options.project).resolve()
    top = git_toplevel(project)
    base = options.base or default_base(top)
    try:
        base_commit = resolve_commit(top, base)
    except VerifyUsageError:
        if options.base is None:
            raise VerifyUsageError(
                f"the working tree of {top} has no uncommitted changes, so the original would be HEAD~1, which does "
                "not exist: give --base REF (the commit before the migration)"
            ) from None
        raise
    commit = _git(top, "rev-parse", "HEAD").stdout.strip()
    dirty = is_dirty(top)
    with base_worktree(top, base_commit) as checkout:
        original_root = checkout / project.relative_to(top)
        if not original_root.is_dir():
            raise VerifyUsageError(f"{project.relative_to(top)} does not exist at {base} ({base_commit[:12]})")
        with ThreadPoolExecutor(max_workers=options.jobs) as pool:
            verdicts = list(pool.map(lambda t: _verify_one(t, original_root, project, options), options.targets))
    return Outcome(verdicts, base, base_commit, commit, dirty)


def record_entries(outcome: Outcome) -> dict[str, dict]:
    """The record lines ``status`` and the language server show (``verified.write_record``)."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        v.target: {
            "verdict": v.status, "commit": outcome.commit, "dirty": outcome.dirty, "base": outcome.base_commit,
            "at": when, "detail": v.detail[:2000],
        }
        for v in outcome.verdicts
    }


_STYLE = {"equal": "green", "different": "red", "failed": "yellow"}
_LABEL = {"equal": "equal", "different": "DIFFERENT", "failed": "FAILED"}


def render(outcome: Outcome, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    state = f"{outcome.commit[:12]}{' + uncommitted changes' if outcome.dirty else ''}"
    table = Table(title=f"verify: original at {outcome.base} ({outcome.base_commit[:12]}) vs migrated at {state}")
    table.add_column("entry point", no_wrap=True)
    table.add_column("verdict")
    table.add_column("difference / stderr tail")
    for v in outcome.verdicts:
        style = _STYLE[v.status]
        table.add_row(escape(v.target), f"[{style}]{_LABEL[v.status]}[/{style}]", escape(v.detail))
    console.print(table)
    counts = {s: sum(v.status == s for v in outcome.verdicts) for s in _STYLE}
    console.print(f"{counts['equal']} equal, {counts['different']} different, {counts['failed']} failed")


def verify_command(options: VerifyOptions, *, as_json: bool = False, discover: bool = False) -> int:
    """``doeff-migrate verify``: print the verdicts (a rich table or JSON), record them, return the exit code.

    With no entry points given, ``[tool.doeff-migrate] verify`` names them; ``discover`` lists the
    module-level entry points instead of running anything.
    """
    import json

    from rich.console import Console

    from .config import ConfigError, load_settings
    from .verified import discover as discover_entry_points
    from .verified import write_record

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = load_settings(Path(options.project))
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    if discover:
        found = discover_entry_points(Path(options.project), settings.exclude)
        if as_json:
            print(json.dumps({"entry_points": found}, indent=2))
        else:
            for target in found:
                print(target)
            err.print(f"{len(found)} module-level entry point(s); pick the ones without external side effects "
                      "and list them in [tool.doeff-migrate] verify = [...]", markup=False)
        return EXIT_EQUAL
    if not options.targets:
        options.targets = list(settings.verify)
    try:
        outcome = verify(options)
    except VerifyUsageError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    write_record(Path(options.project).resolve(), record_entries(outcome))
    if as_json:
        print(json.dumps(outcome.as_json(), indent=2))
    else:
        render(outcome, out)
    return outcome.exit_code


__all__ = ["VerifyOptions", "Outcome", "VerifyUsageError", "verify", "render", "record_entries", "default_base", "verify_command"]

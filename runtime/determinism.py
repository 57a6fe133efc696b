"""``check-determinism``: run an entry point under different scheduling and diff the recordings.

Seed 003's reproducibility contract, checked rather than asserted::

    python -m doeff_migrate.runtime check-determinism pkg.mod.main --workers 1,4

runs ``pkg.mod.main`` once per worker count, each in a fresh process with ``run --record`` and a
worker pool of that size for blocking work (``RunInThread``), then compares the two recordings
effect by effect in key order (task path, per-task sequence) and the two results. The module can
declare its contract as ``__doeff_determinism__ = "order_independent" | "single_worker" |
"nondeterministic"`` (or a dict from entry-point name to contract; ``--contract`` overrides):

* ``order_independent`` (default): the runs at each worker count must agree;
* ``single_worker``: determinism is claimed only at one worker, so both runs use ``--workers 1``;
* ``nondeterministic``: nothing is claimed; the check is skipped and says so.

Exit codes: 0 agree (or skipped), 1 the runs differ (the first difference is printed), 2 the entry
point or its env is broken, 3 a run failed.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from . import effects as E
from .handlers import Installer, _check_program
from .program import Program, Transfer, WithHandler, do
from .recording import RecordedEffect, load_recording

CONTRACTS = ("order_independent", "single_worker", "nondeterministic")


class WorkerPoolHandler(Installer):
    """Runs ``RunInThread`` work on a pool of ``workers`` threads owned by this run.

    With ``workers=1`` blocking work runs one call at a time in the order it was asked for, so
    completions come back in that order; with more, they overlap and may finish in any order,
    which is what ``check-determinism`` uses to expose order-dependent programs.
    """

    native = False
    types = (E.RunInThread,)

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"WorkerPoolHandler(workers={workers}): at least one worker is needed")
        self.workers = workers
        self.pool: ThreadPoolExecutor | None = None
        self.name = f"WorkerPoolHandler({workers})"

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, "WorkerPoolHandler")
        return _pool_session(self, program)

    def fn(self, effect: Any, k: Any):
        promise = yield E.CreateExternalPromise()
        done = self.pool.submit(effect.fn, *effect.args, **effect.kwargs)  # type: ignore[union-attr]

        def deliver(f: Any) -> None:
            err = f.exception()
            if err is not None:
                promise.fail(err)
            else:
                promise.complete(f.result())

        done.add_done_callback(deliver)
        value = yield E.Wait(promise.future)
        return (yield Transfer(k, value))


@do
def _pool_session(owner: WorkerPoolHandler, program: Program):
    owner.pool = ThreadPoolExecutor(max_workers=owner.workers, thread_name_prefix="doeff-worker")
    try:
        return (yield WithHandler(owner, program))
    finally:
        owner.pool.shutdown(wait=False)


@dataclasses.dataclass
class RunOutcome:
    """One run of the check: worker count, exit code, recording path, JSON result, stderr tail."""

    workers: int
    returncode: int
    recording: Path
    result: Any
    stderr: str


@dataclasses.dataclass
class DeterminismReport:
    """What ``check_determinism`` found: the contract, the runs, and the first difference if any."""

    target: str
    contract: str
    runs: list
    difference: str | None = None
    failure: str | None = None

    @property
    def skipped(self) -> bool:
        return self.contract == "nondeterministic"

    @property
    def ok(self) -> bool:
        return self.difference is None and self.failure is None

    def render(self) -> str:
        if self.skipped:
            return f"{self.target}: contract 'nondeterministic': no determinism is claimed, nothing checked"
        counts = ", ".join(str(r.workers) for r in self.runs)
        if self.failure:
            return f"{self.target}: a run failed ({self.failure})"
        if self.difference:
            return f"{self.target}: NOT deterministic under contract '{self.contract}' (workers {counts}): {self.difference}"
        effects = len(load_recording(self.runs[0].recording).records) if self.runs else 0
        return f"{self.target}: deterministic under contract '{self.contract}' (workers {counts}; {effects} recorded effects and the results agree)"


def declared_contract(target: str) -> str:
    """The module's ``__doeff_determinism__`` for ``target`` (default ``order_independent``)."""
    module_name, _, var = target.rpartition(".")
    module = importlib.import_module(module_name)
    declared = getattr(module, "__doeff_determinism__", None)
    if isinstance(declared, dict):
        declared = declared.get(var)
    return declared or "order_independent"


def _one_run(target: str, workers: int, recording: Path, cwd: str) -> RunOutcome:
    cmd = [sys.executable, "-m", "doeff_migrate.runtime", "run", target, "--json", "--record", str(recording), "--workers", str(workers)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [cwd, env.get("PYTHONPATH", "")] if p)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    result = None
    if proc.returncode == 0:
        lines = proc.stdout.strip().splitlines()
        try:
            result = json.loads(lines[-1]) if lines else None
        except ValueError:
            result = lines[-1]
    return RunOutcome(workers, proc.returncode, recording, result, proc.stderr.strip()[-2000:])


def _comparable(rec: RecordedEffect) -> tuple:
    error = None if rec.error is None else (rec.error.get("type"), rec.error.get("message"))
    return (rec.effect, rec.fields, rec.answer, error)


def first_difference(a: Path, b: Path, labels: tuple = ("first run", "second run")) -> str | None:
    """The first effect (in key order) at which two recordings differ, described; ``None`` if equal."""
    ra = load_recording(a).sorted_records()
    rb = load_recording(b).sorted_records()
    for x, y in zip(ra, rb):
        if x.key != y.key:
            first = min(x.key, y.key)
            who = labels[1] if first == x.key else labels[0]
            lone = x if first == x.key else y
            return f"{who} has no effect #{first[1]} of task {list(first[0])}; the other performed {lone.render()} there (at {lone.at})"
        if _comparable(x) != _comparable(y):
            task = "main" if not x.task else f"task {list(x.task)}"
            if x.effect != y.effect or x.fields != y.fields:
                return (
                    f"effect #{x.seq} of {task} differs: {labels[0]} performed {x.render()} at {x.at}, "
                    f"{labels[1]} performed {y.render()} at {y.at}"
                )
            return f"effect #{x.seq} of {task}, {x.render()} at {x.at}: {labels[0]} {x.outcome()}, {labels[1]} {y.outcome()}"
    if len(ra) != len(rb):
        longer, name = (ra, labels[0]) if len(ra) > len(rb) else (rb, labels[1])
        extra = longer[min(len(ra), len(rb))]
        return f"only the {name} performed {extra.render()} (effect #{extra.seq} of task {list(extra.task)}, at {extra.at})"
    return None


def check_determinism(
    target: str,
    workers: Sequence[int] = (1, 4),
    *,
    contract: str | None = None,
    keep: str | os.PathLike | None = None,
    cwd: str | None = None,
) -> DeterminismReport:
    """Run ``target`` twice under different scheduling and compare (see the module docstring)."""
    cwd = cwd or os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    contract = contract or declared_contract(target)
    if contract not in CONTRACTS:
        raise ValueError(f"unknown determinism contract {contract!r}; expected one of {', '.join(CONTRACTS)}")
    report = DeterminismReport(target, contract, [])
    if contract == "nondeterministic":
        return report
    counts = [1, 1] if contract == "single_worker" else list(workers)
    if len(counts) < 2:
        counts = counts * 2
    directory = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="doeff-determinism-"))
    directory.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(counts):
        outcome = _one_run(target, n, directory / f"run{i + 1}-workers{n}.jsonl", cwd)
        report.runs.append(outcome)
        if outcome.returncode != 0:
            report.failure = f"exit code {outcome.returncode} with --workers {n}: {outcome.stderr}"
            return report
    base = report.runs[0]
    for other in report.runs[1:]:
        labels = (f"the run with {base.workers} worker(s)", f"the run with {other.workers} worker(s)")
        diff = first_difference(base.recording, other.recording, labels)
        if diff is None and base.result != other.result:
            diff = f"the results differ: {labels[0]} returned {base.result!r}, {labels[1]} returned {other.result!r}"
        if diff is not None:
            report.difference = diff
            break
    return report


__all__ = [
    "WorkerPoolHandler",
    "check_determinism",
    "first_difference",
    "declared_contract",
    "DeterminismReport",
    "CONTRACTS",
]

"""Metrics as effects: ``LogMetrics`` / ``LogConfig`` / ``LogSummary``, a console/JSONL handler, WandB.

Migrated ``wandb.log(values, step=i)`` becomes ``yield LogMetrics(values, step=i)``; a handler decides
where metrics go: :class:`MetricsLogger` (the default: stderr and/or a JSON Lines file) or
:class:`WandbHandler` (real ``wandb``; ``WANDB_MODE=offline`` works without an account). Metrics
effects touch the world, so a recording holds them and a replay does not log them again.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Mapping, TextIO

from . import effects as E
from .handlers import Installer, NativeHandler, _check_program
from .program import Program, WithHandler, do


@dataclasses.dataclass(frozen=True)
class LogMetrics(E.EffectBase[None]):
    """Log metric values (``wandb.log(metrics, step=step, commit=commit)``)."""

    metrics: Mapping[str, Any]
    step: int | None = None
    commit: bool | None = None
    """As wandb's: ``None`` (not given) is not ``True`` -- an explicit ``commit=True`` closes the step."""


Log = LogMetrics
"""Short name of :class:`LogMetrics` (the name migrated code may use)."""


@dataclasses.dataclass(frozen=True)
class LogConfig(E.EffectBase[None]):
    """Record run configuration (``wandb.config.update(config)``)."""

    config: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class LogSummary(E.EffectBase[None]):
    """Set summary values of the run (``wandb.run.summary.update(values)``)."""

    values: Mapping[str, Any]


METRICS_EFFECTS = (LogMetrics, LogConfig, LogSummary)


class MissingDependencyError(ImportError):
    """An optional dependency a handler needs is not installed; the message says what to install."""


def _plain(value: Any) -> Any:
    """JSON-friendly form of numpy scalars and arrays."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


class MetricsLogger(NativeHandler):
    """The default metrics handler: prints metrics to ``stream`` and/or appends them to a JSONL file.

    ``MetricsLogger(path=None, stream=sys.stderr)``; ``stream=None`` prints nothing. Each effect also
    goes to ``.history`` as ``{"kind": "metrics"|"config"|"summary", ...}``. The JSONL file is
    appended to, one flushed line per effect (a metrics log, unlike a recording, grows over runs).
    """

    types = METRICS_EFFECTS

    def __init__(self, path: str | Path | None = None, *, stream: TextIO | None = sys.stderr) -> None:
        self.path = Path(path) if path is not None else None
        self.stream = stream
        self.history: list = []
        self.name = "MetricsLogger"

    def handle(self, effect: Any, segment: Any) -> Any:
        if isinstance(effect, LogMetrics):
            entry = {"kind": "metrics", "step": effect.step, "metrics": {k: _plain(v) for k, v in effect.metrics.items()}}
            text = (f"step {effect.step}: " if effect.step is not None else "") + " ".join(
                f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry["metrics"].items()
            )
        elif isinstance(effect, LogConfig):
            entry = {"kind": "config", "config": {k: _plain(v) for k, v in effect.config.items()}}
            text = "config: " + json.dumps(entry["config"], default=repr)
        else:
            entry = {"kind": "summary", "values": {k: _plain(v) for k, v in effect.values.items()}}
            text = "summary: " + json.dumps(entry["values"], default=repr)
        entry["time"] = time.time()
        self.history.append(entry)
        if self.stream is not None:
            print(text, file=self.stream, flush=True)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, default=repr) + "\n")
        return None


def import_wandb() -> Any:
    try:
        import wandb
    except ImportError as err:
        raise MissingDependencyError(
            f"WandbHandler needs the wandb package, which cannot be imported ({err}). Install it with "
            "`pip install 'doeff-migrate[wandb]'`, or log metrics with MetricsLogger() instead"
        ) from err
    return wandb


class _WandbAnswer(NativeHandler):
    types = METRICS_EFFECTS

    def __init__(self, run: Any) -> None:
        self.run = run
        self.name = "WandbHandler"

    def handle(self, effect: Any, segment: Any) -> Any:
        if isinstance(effect, LogMetrics):
            self.run.log(dict(effect.metrics), step=effect.step, commit=effect.commit)
        elif isinstance(effect, LogConfig):
            self.run.config.update(dict(effect.config), allow_val_change=True)
        else:
            self.run.summary.update(dict(effect.values))
        return None


class WandbHandler(Installer):
    """Logs metrics effects to a real ``wandb`` run.

    ``WandbHandler(project="exp", name=None, config=None, mode=None, dir=None, **init_kwargs)``
    starts a run with ``wandb.init`` when the program starts and finishes it when the program ends
    (also on error); ``WandbHandler(run=existing_run)`` logs into a run you manage. ``mode="offline"``
    (or ``WANDB_MODE=offline``) writes the run under ``dir/wandb/offline-run-*`` for ``wandb sync``.
    Constructing it without wandb installed raises :class:`MissingDependencyError`. The last run is
    kept in ``.run``. wandb's background service writes the offline ``.wandb`` file asynchronously:
    it is complete once the process exits or after ``wandb.teardown()``.
    """

    def __init__(self, project: str | None = None, *, run: Any = None, **init_kwargs: Any) -> None:
        self.wandb = import_wandb()
        self.project = project
        self.init_kwargs = init_kwargs
        self.external_run = run
        self.run: Any = run
        self.name = f"WandbHandler({project!r})"

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, "WandbHandler")
        return _wandb_session(self, program)

    def start(self) -> Any:
        if self.external_run is not None:
            return self.external_run
        kwargs = dict(self.init_kwargs)
        if self.project is not None:
            kwargs.setdefault("project", self.project)
        # A fresh run per program run, even when a previous one in this process is still active.
        kwargs.setdefault("reinit", "create_new")
        self.run = self.wandb.init(**kwargs)
        return self.run

    def finish(self, failed: bool) -> None:
        if self.external_run is None and self.run is not None:
            self.run.finish(exit_code=1 if failed else 0)


@do
def _wandb_session(owner: WandbHandler, program: Program):
    run = owner.start()
    try:
        value = yield WithHandler(_WandbAnswer(run), program)
    except BaseException:
        owner.finish(failed=True)
        raise
    owner.finish(failed=False)
    return value


__all__ = [
    "LogMetrics",
    "Log",
    "LogConfig",
    "LogSummary",
    "METRICS_EFFECTS",
    "MetricsLogger",
    "WandbHandler",
    "MissingDependencyError",
]

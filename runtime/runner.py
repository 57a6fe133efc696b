"""``python -m doeff_migrate.runtime run pkg.mod.var``: run a migrated entry point.

The counterpart of ``python -m pinjected run pkg.mod.var``. The entry point's env, pre-flight check and the
building of its required keys are ``entry.py``'s; an entry point of a codebase still partly pinjected runs
through the bridge (``bridge.run_mixed_entry``), so pinjected code and migrated code share singletons.

The module's ``__doeff_handlers__`` (see ``entry_handlers``) are the handlers of its own effects, then
those of every generated ``effects_handlers`` module its imports loaded (``generated_handlers``);
metrics effects (``LogMetrics``, ...) that none of them answers are printed to stderr by ``MetricsLogger``.
``--record PATH`` runs it under ``RecordingHandler(PATH)`` (``--overwrite`` to replace a recording,
``--record-exclude T`` to leave effect type ``T`` out), ``--replay PATH`` under ``ReplayHandler(PATH)``
(``--replay-lenient``: ``strict=False``; a recording of another entry point is refused), and
``--workers N`` gives blocking work a pool of N threads. ``check-determinism pkg.mod.var --workers
1,4`` runs the entry point once per worker count and diffs the recordings (``determinism.py``).
The entry point must be a program (a ``@do`` function, a ``Program``, an effect) or a pinjected
``IProxy``/``Injected``; a plain value is refused, as pinjected refuses it.
Exit codes: 0 ok, 1 the program failed (or a replay diverged, or check-determinism found a
difference), 2 entry point, env or recording file unusable, 3 a check-determinism run failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from typing import Any, Sequence

from .effects import EffectBase
from .entry import EntryPointError, import_entry, run_migrated, still_pinjected
from .entry_handlers import entry_handlers, generated_handlers

EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3  # check-determinism: one of the runs failed


def run_entry(
    target: str,
    *,
    lazy: bool = False,
    handlers: Sequence[Any] = (),
    outer_handlers: Sequence[Any] = (),
) -> Any:
    """Import, check and run ``pkg.mod.var``; returns its value.

    The stack, innermost first: ``handlers`` (e.g. a recorder), the module's ``__doeff_handlers__``
    (its real IO handlers), ``outer_handlers`` (e.g. a worker pool), then the design env.
    """
    module, module_name, var = import_entry(target)
    if still_pinjected(module, var):
        # Part of the codebase is still pinjected: one pinjected resolver owns every key, so
        # pinjected code and migrated code share singletons (see runtime/bridge.py).
        from .bridge import run_mixed_entry

        declared = entry_handlers(module, var)
        return run_mixed_entry(target, lazy=lazy, handlers=[*handlers, *declared, *generated_handlers(declared, module_name), *outer_handlers])
    return run_migrated(module, module_name, var, target, lazy=lazy, handlers=handlers, outer_handlers=outer_handlers)


def _json_default(o: Any) -> Any:
    if type(o).__module__.split(".")[0] == "numpy" and hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of workers, got {text}")
    return value


def _worker_counts(text: str) -> list:
    try:
        counts = [_positive_int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected worker counts like 1,4, got {text!r}") from None
    if not counts:
        raise argparse.ArgumentTypeError("expected at least one worker count, e.g. 1,4")
    return counts


def _check_determinism_command(args: argparse.Namespace) -> int:
    from .determinism import check_determinism

    try:
        import_entry(args.target)
        report = check_determinism(args.target, args.workers, contract=args.contract, keep=args.keep)
    except (EntryPointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(report.render())
    if report.skipped or report.ok:
        return EXIT_OK
    if report.failure:
        failed = next(r for r in report.runs if r.returncode != 0)
        return EXIT_USAGE if failed.returncode == EXIT_USAGE else EXIT_RUN_FAILED
    return EXIT_PROGRAM_FAILED


def _effect_type_name(name: str) -> str:
    """The qualified name of an effect type given on the command line: a runtime effect by its short
    name (``Await``), or ``pkg.mod.Effect`` (imported to check it is an effect class)."""
    from . import effects as runtime_effects
    from .recording import type_name

    if "." not in name:
        found = getattr(runtime_effects, name, None)
        if isinstance(found, type) and issubclass(found, EffectBase):
            return type_name(found)
        raise EntryPointError(f"--record-exclude {name}: no runtime effect of that name (give pkg.mod.Effect for your own)")
    module_name, _, attr = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        found = None
    if not (isinstance(found, type) and issubclass(found, EffectBase)):
        raise EntryPointError(f"--record-exclude {name}: not an effect class")
    return type_name(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doeff_migrate.runtime", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a migrated entry point pkg.mod.var")
    p_run.add_argument("target", help="dotted path of the entry point, e.g. pkg.mod.main")
    p_run.add_argument("--json", action="store_true", help="print the result as JSON on the last stdout line")
    p_run.add_argument("--lazy", action="store_true", help="do not build the required instances before running")
    p_run.add_argument("--record", metavar="PATH", help="record the effects that touch the world to PATH (JSON Lines)")
    p_run.add_argument("--overwrite", action="store_true", help="with --record: replace an existing recording")
    p_run.add_argument(
        "--record-exclude", action="append", default=[], metavar="EFFECT",
        help="with --record: leave this effect type out (repeatable; a runtime effect such as Await, or pkg.mod.Effect)",
    )
    p_run.add_argument("--replay", metavar="PATH", help="answer recorded effects from PATH instead of running them")
    p_run.add_argument(
        "--replay-lenient", action="store_true",
        help="with --replay: effects missing from the recording run for real instead of stopping the run",
    )
    p_run.add_argument("--workers", type=_positive_int, metavar="N", help="run blocking work (RunInThread) on N worker threads")
    p_det = sub.add_parser(
        "check-determinism",
        help="run an entry point under different scheduling and diff the recordings",
        description="Run pkg.mod.var once per worker count, record each run, and report the first differing effect.",
    )
    p_det.add_argument("target", help="dotted path of the entry point, e.g. pkg.mod.main")
    p_det.add_argument("--workers", default="1,4", type=_worker_counts, help="worker counts to compare (default 1,4)")
    p_det.add_argument("--contract", choices=("order_independent", "single_worker", "nondeterministic"), help="override the module's __doeff_determinism__")
    p_det.add_argument("--keep", metavar="DIR", help="keep the recordings in DIR (default: a temp directory)")
    args = parser.parse_args(argv)
    # pinjected creates an ``async_identity`` coroutine at import that it never awaits; the warning at
    # exit is its own machinery talking, not the user's program.
    warnings.filterwarnings("ignore", message="coroutine 'async_identity' was never awaited", category=RuntimeWarning)

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.command == "check-determinism":
        return _check_determinism_command(args)
    if args.record and args.replay:
        print("error: --record and --replay exclude each other (a replay touches nothing worth recording)", file=sys.stderr)
        return EXIT_USAGE
    if (args.overwrite and not args.record) or (args.replay_lenient and not args.replay) or (args.record_exclude and not args.record):
        print("error: --overwrite goes with --record (and so does --record-exclude), --replay-lenient with --replay", file=sys.stderr)
        return EXIT_USAGE
    from .recording import (
        RecordingError,
        RecordingExistsError,
        RecordingFormatError,
        RecordingHandler,
        ReplayDivergenceError,
        ReplayHandler,
        entry_version,
    )

    try:
        handlers = []
        if args.record or args.replay:
            _module, module_name, var = import_entry(args.target)
            # The user's code, not the runner's: the entry module and the project modules it imported.
            version = entry_version(_module)
            if args.record:
                excluded = [_effect_type_name(name) for name in args.record_exclude]
                handlers.append(RecordingHandler(args.record, overwrite=args.overwrite, exclude=excluded, program_name=args.target, version=version))
            else:
                replay = ReplayHandler(args.replay, strict=not args.replay_lenient, program_name=args.target, version=version)
                replay.check_program_name()  # a missing or foreign file is an input error, reported before running
                handlers.append(replay)
        from .metrics import MetricsLogger

        # Metrics effects nobody else answers are printed, as wandb.log printed before migration.
        outer: list = [MetricsLogger(stream=sys.stderr)]
        if args.workers:
            from .determinism import WorkerPoolHandler

            outer.append(WorkerPoolHandler(args.workers))
        result = run_entry(args.target, lazy=args.lazy, handlers=handlers, outer_handlers=outer)
    except (EntryPointError, RecordingExistsError, RecordingFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ReplayDivergenceError, RecordingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    if args.json:
        sys.stdout.flush()
        print(json.dumps(result, default=_json_default))
    elif result is not None:
        print(repr(result))
    return EXIT_OK

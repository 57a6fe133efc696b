"""``python -m doeff_migrate.runtime run pkg.mod.var``: run a migrated entry point.

The counterpart of ``python -m pinjected run pkg.mod.var``. The env is, from low to high precedence:

1. the registry of migrated ``@injected``/``@instance`` functions of every module imported by then
   (pinjected's implicit bindings by name),
2. the ``__design__`` dicts of the package hierarchy, root to leaf: ``pkg/__init__.py``, then
   ``pkg/__pinjected__.py``, then the next package down, ..., then the module itself,
3. the module's ``__doeff_overrides__[var]`` (the ``with design()`` block around the entry point).

Before anything runs, every key in the module's ``__doeff_requires__[var]`` is checked (all missing
keys are named at once) and, unless ``--lazy``, the Program-valued ones are built in that order, as
pinjected builds an entry point's dependencies before running it.

The module's ``__doeff_handlers__`` (see ``entry_handlers``) are the handlers of its own effects;
metrics effects (``LogMetrics``, ...) that none of them answers are printed to stderr by ``MetricsLogger``.
``--record PATH`` runs it under ``RecordingHandler(PATH)`` (``--overwrite`` to replace a recording),
``--replay PATH`` under ``ReplayHandler(PATH)`` (``--replay-lenient``: ``strict=False``), and
``--workers N`` gives blocking work a pool of N threads. ``check-determinism pkg.mod.var --workers
1,4`` runs the entry point once per worker count and diffs the recordings (``determinism.py``).
Exit codes: 0 ok, 1 the program failed (or a replay diverged, or check-determinism found a
difference), 2 entry point, env or recording file unusable, 3 a check-determinism run failed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from typing import Any, Sequence

from .effects import EffectBase
from .errors import MissingEnvKeyError
from .program import DoFunction, Program
from .registry import registered_env

EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3  # check-determinism: one of the runs failed


class EntryPointError(Exception):
    """The entry point cannot be found or its env is incomplete (exit code 2)."""


def _import_entry(target: str) -> tuple[Any, str, str]:
    module_name, _, var = target.rpartition(".")
    if not module_name or not var:
        raise EntryPointError(f"expected pkg.module.variable, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise EntryPointError(f"no module named {module_name!r} (looked in {os.getcwd()} and sys.path)") from None
        raise
    if not hasattr(module, var):
        names = [n for n in vars(module) if not n.startswith("_")]
        import difflib

        close = difflib.get_close_matches(var, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise EntryPointError(f"module {module_name!r} has no attribute {var!r}{hint}")
    return module, module_name, var


def _design_of(module_name: str) -> dict:
    try:
        mod = sys.modules.get(module_name) or importlib.import_module(module_name)
    except ModuleNotFoundError:
        return {}
    design = getattr(mod, "__design__", None)
    if design is None:
        return {}
    if not isinstance(design, dict):
        raise EntryPointError(f"{module_name}.__design__ must be a dict after migration, got {type(design).__name__}")
    return design


def _from_pinjected(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "pinjected"


def _design_modules(module_name: str) -> list:
    """The modules whose ``__design__`` make up the env of an entry point in ``module_name``."""
    parts = module_name.split(".")
    names = []
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        names.append(pkg)
        if importlib.util.find_spec(f"{pkg}.__pinjected__") is not None:
            names.append(f"{pkg}.__pinjected__")
    names.append(module_name)
    return names


def still_pinjected(module: Any, var: str) -> bool:
    """Whether the entry point or a design on its path is still pinjected (a partly migrated codebase)."""
    if _from_pinjected(getattr(module, var, None)):
        return True
    for name in _design_modules(module.__name__):
        try:
            mod = sys.modules.get(name) or importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if _from_pinjected(getattr(mod, "__design__", None)):
            return True
    return False


def build_env(module_name: str, var: str) -> dict:
    """The env of entry point ``module_name.var`` (see the module docstring for the order)."""
    layers = [_design_of(name) for name in _design_modules(module_name)]
    module = sys.modules[module_name]
    overrides = getattr(module, "__doeff_overrides__", {}) or {}
    env = registered_env()  # after the imports above, so their registrations are in
    for layer in layers:
        env.update(layer)
    env.update(overrides.get(var, {}))
    return env


def entry_program(value: Any, target: str) -> Program:
    if isinstance(value, (Program, EffectBase)):
        return value
    if isinstance(value, DoFunction):
        return value()
    from .program import Pure

    return Pure(value)


def preflight(module: Any, var: str, env: dict) -> tuple[str, ...]:
    """The required keys of the entry point; raises EntryPointError naming every missing one."""
    requires = getattr(module, "__doeff_requires__", {}) or {}
    keys = tuple(requires.get(var, ()))
    missing = [k for k in keys if k not in env]
    if missing:
        err = MissingEnvKeyError(missing[0], tuple(env))
        listed = ", ".join(repr(k) for k in missing)
        raise EntryPointError(
            f"{module.__name__}.{var} needs {len(missing)} key(s) that no design binds: {listed}. "
            f"Bind them in __design__ (or a __pinjected__.py). {err}"
        )
    return keys


def _eager(keys: Sequence[str], env: dict, program: Program) -> Program:
    """Build the Program-valued required keys, in order, before ``program`` runs."""
    from .effects import Ask
    from .program import do

    eager_keys = [k for k in keys if isinstance(env.get(k), Program)]
    if not eager_keys:
        return program

    @do
    def prebuilt():
        for k in eager_keys:
            yield Ask(k)
        return (yield program)

    return prebuilt()


def entry_handlers(module: Any, var: str) -> list:
    """The handler stack the module declares for its entry points, innermost first.

    ``__doeff_handlers__`` is a list of handler installers, a dict from entry-point name to such a
    list (``"*"`` for every entry point), or a zero-argument function returning a list (for
    handlers that open connections or files when the run starts).
    """
    declared = getattr(module, "__doeff_handlers__", None)
    if declared is None:
        return []
    if isinstance(declared, dict):
        declared = declared.get(var, declared.get("*", []))
    if callable(declared) and not isinstance(declared, (list, tuple)) and not hasattr(declared, "activate"):
        declared = declared()
    if not isinstance(declared, (list, tuple)):
        declared = [declared]
    return list(declared)


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
    module, module_name, var = _import_entry(target)
    if still_pinjected(module, var):
        # Part of the codebase is still pinjected: one pinjected resolver owns every key, so
        # pinjected code and migrated code share singletons (see runtime/bridge.py).
        from .bridge import run_mixed_entry

        return run_mixed_entry(target, lazy=lazy, handlers=[*handlers, *entry_handlers(module, var), *outer_handlers])
    env = build_env(module_name, var)
    keys = preflight(module, var, env)
    program = entry_program(getattr(module, var), target)
    if not lazy:
        program = _eager(keys, env, program)
    from .run import run

    stack = [*handlers, *entry_handlers(module, var), *outer_handlers]
    return run(program, handlers=stack, env=env)


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
        _import_entry(args.target)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doeff_migrate.runtime", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a migrated entry point pkg.mod.var")
    p_run.add_argument("target", help="dotted path of the entry point, e.g. pkg.mod.main")
    p_run.add_argument("--json", action="store_true", help="print the result as JSON on the last stdout line")
    p_run.add_argument("--lazy", action="store_true", help="do not build the required instances before running")
    p_run.add_argument("--record", metavar="PATH", help="record the effects that touch the world to PATH (JSON Lines)")
    p_run.add_argument("--overwrite", action="store_true", help="with --record: replace an existing recording")
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

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.command == "check-determinism":
        return _check_determinism_command(args)
    if args.record and args.replay:
        print("error: --record and --replay exclude each other (a replay touches nothing worth recording)", file=sys.stderr)
        return EXIT_USAGE
    if (args.overwrite and not args.record) or (args.replay_lenient and not args.replay):
        print("error: --overwrite goes with --record, --replay-lenient with --replay", file=sys.stderr)
        return EXIT_USAGE
    from .recording import (
        RecordingExistsError,
        RecordingFormatError,
        RecordingHandler,
        ReplayDivergenceError,
        ReplayHandler,
        program_fingerprint,
    )

    try:
        handlers = []
        if args.record or args.replay:
            _module, module_name, var = _import_entry(args.target)
            _name, version = program_fingerprint(getattr(_module, var))
            if args.record:
                handlers.append(RecordingHandler(args.record, overwrite=args.overwrite, program_name=args.target, version=version))
            else:
                replay = ReplayHandler(args.replay, strict=not args.replay_lenient, program_name=args.target, version=version)
                replay.recording  # a missing or foreign file is an input error, reported before running
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
    except ReplayDivergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    if args.json:
        sys.stdout.flush()
        print(json.dumps(result, default=_json_default))
    elif result is not None:
        print(repr(result))
    return EXIT_OK

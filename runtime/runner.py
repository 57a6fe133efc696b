"""``python -m doeff_migrate.runtime run pkg.mod.var``: run a migrated entry point.

The counterpart of ``python -m pinjected run pkg.mod.var``. The env is, from low to high precedence:

1. the registry of migrated ``@injected``/``@instance`` functions of every module imported by then
   (pinjected's implicit bindings by name),
2. the ``__design__`` dicts of the package hierarchy, root to leaf: a ``__pinjected__.py`` in the project
   root (the folder holding the top-level package), then ``pkg/__init__.py``, then
   ``pkg/__pinjected__.py``, then the next package down, ..., then the module itself; each over its
   module's ``__meta_design__`` (its bindings, then its ``overrides``; runtime/designs.py); the design
   the merged ``overrides`` key holds goes under all of them (above the registry),
3. the module's ``__doeff_overrides__[var]`` (the ``with design()`` block around the entry point).

Before anything runs, every key in the module's ``__doeff_requires__[var]`` is checked (all missing
keys are named at once) and, unless ``--lazy``, the Program-valued ones are built in that order, as
pinjected builds an entry point's dependencies before running it. An entry point missing from
``__doeff_requires__`` (a design on its way is a runtime value) gets the same closure computed from
the env of the run (``eager.py``).

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
import importlib.util
import json
import os
import sys
import warnings
from typing import Any, Callable, NamedTuple, Sequence

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
    from .designs import ProvidedDesign

    if isinstance(design, ProvidedDesign):
        # A design an @instance returns: built now, seeing only the registry, as pinjected does.
        from .run import run

        design = design.resolve(lambda program: run(program, env=registered_env()))
    if not isinstance(design, dict):
        raise EntryPointError(f"{module_name}.__design__ must be a dict after migration, got {type(design).__name__}")
    return design


def _from_pinjected(value: Any) -> bool:
    if type(value).__module__.split(".")[0] == "pinjected":
        return True
    pinjected = sys.modules.get("pinjected")  # (a design class of the bridge's own, bridge_design's)
    return pinjected is not None and isinstance(value, getattr(pinjected, "Design", ()))


_ROOT_PINJECTED = "__pinjected__"


def _root_pinjected_module(top: str) -> bool:
    """Whether the project root (the folder holding the top-level package ``top``) has a
    ``__pinjected__.py``, importable as ``__pinjected__``; pinjected reads it first (C22).

    A root ``__pinjected__.py`` that is not the one ``import __pinjected__`` would find (another
    folder earlier on ``sys.path``) is loaded from its file under that name.
    """
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None or top == _ROOT_PINJECTED:
        return False
    locations = list(spec.submodule_search_locations or [])
    package_or_module = locations[0] if locations else spec.origin
    if not package_or_module or not os.path.exists(package_or_module):
        return False
    path = os.path.join(os.path.dirname(os.path.abspath(package_or_module)), "__pinjected__.py")
    if not os.path.isfile(path):
        return False
    loaded = sys.modules.get(_ROOT_PINJECTED)
    if loaded is not None:
        return os.path.abspath(getattr(loaded, "__file__", "") or "") == path
    found = importlib.util.find_spec(_ROOT_PINJECTED)
    if found is None or os.path.abspath(found.origin or "") != path:
        found = importlib.util.spec_from_file_location(_ROOT_PINJECTED, path)
        if found is None or found.loader is None:
            return False
        module = importlib.util.module_from_spec(found)
        sys.modules[_ROOT_PINJECTED] = module
        found.loader.exec_module(module)
    return True


def _design_modules(module_name: str) -> list:
    """The modules whose ``__design__`` make up the env of an entry point in ``module_name``."""
    parts = module_name.split(".")
    names = [_ROOT_PINJECTED] if _root_pinjected_module(parts[0]) else []
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
    # A migrated entry point that needs keys still provided by @injected/@instance functions of the
    # modules it imported (pinjected's implicit bindings): run_mixed_entry's PinjectedEnv answers them.
    implicit = getattr(sys.modules.get("pinjected.di.implicit_globals"), "IMPLICIT_BINDINGS", None)
    if not implicit:
        return False
    requires = (getattr(module, "__doeff_requires__", None) or {}).get(var)
    if requires is None:
        return True  # what it asks for is not known statically: let pinjected answer what it binds
    names = {getattr(key, "name", key) for key in implicit}
    return any(key in names for key in requires)


def _meta_design_layers(module_name: str) -> list:
    """A module's ``__meta_design__`` (a runtime design) as env layers: its own bindings (its
    ``overrides`` key included, which replaces the one of the designs above), then its ``overrides``
    on top of them; pinjected 0.2.252 puts both under the module's ``__design__``."""
    from .designs import meta_overrides

    meta = getattr(sys.modules.get(module_name), "__meta_design__", None)
    if not isinstance(meta, dict):
        return []
    return [dict(meta), dict(meta_overrides(meta))]


def build_env(module_name: str, var: str) -> dict:
    """The env of entry point ``module_name.var`` (see the module docstring for the order).

    A design's ``overrides`` key is a binding like any other (the deepest one wins), and the design it
    ends up holding goes under every module's design, above the registry: pinjected's legacy
    ``design(overrides=X)`` (checked on 0.2.252).
    """
    merged: dict = {}
    for name in _design_modules(module_name):
        design = _design_of(name)  # imports the module: its meta design is readable after this
        for layer in [*_meta_design_layers(name), design]:
            merged.update(layer)
    module = sys.modules[module_name]
    overrides = getattr(module, "__doeff_overrides__", {}) or {}
    env = registered_env()  # after the imports above, so their registrations are in
    legacy_overrides = merged.get("overrides")
    if isinstance(legacy_overrides, dict):
        env.update(legacy_overrides)
    env.update(merged)
    env.update(overrides.get(var, {}))
    return env


def entry_program(value: Any, target: str) -> Program:
    if isinstance(value, (Program, EffectBase)):
        return value
    if isinstance(value, DoFunction):
        return value()
    # pinjected refuses to run a plain value too ("dep must be either str/type/Callable/Injected"):
    # printing it back would pass a typo'd or unmigrated target off as a successful run.
    raise EntryPointError(
        f"{target} is a value of type {type(value).__name__}, not an entry point: expected a program (a @do function, "
        "a Program, an effect) or a pinjected IProxy/Injected"
    )


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


class _EntryApi(NamedTuple):
    """The names an entry point's wrappers are written with: the runtime's, or doeff's (``--target doeff``)."""

    do: Any
    Ask: Any
    Await: Any
    is_program: Callable[[Any], bool]


def _runtime_api() -> _EntryApi:
    from .effects import Ask, Await
    from .program import do

    return _EntryApi(do, Ask, Await, lambda value: isinstance(value, Program))


def _eager(keys: Sequence[str], env: dict, program: Any, api: _EntryApi) -> Any:
    """Build the Program-valued required keys, in order, before ``program`` runs."""
    eager_keys = [k for k in keys if api.is_program(env.get(k))]
    if not eager_keys:
        return program

    @api.do
    def prebuilt():
        for k in eager_keys:
            yield api.Ask(k)
        return (yield program)

    return prebuilt()


def _awaiting_result(program: Any, api: _EntryApi) -> Any:
    """pinjected's runner awaits an awaitable final value (``run_injected``, semantics C17); so does this one."""
    import inspect

    @api.do
    def awaited():
        value = yield program
        if inspect.isawaitable(value):
            value = yield api.Await(value)
        return value

    return awaited()


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


def generated_handlers(declared: Sequence[Any] = (), module_name: str = "") -> list:
    """The ``HANDLERS`` of every handler module doeff-migrate generated (``<pkg>.effects_handlers``) that the
    entry point's imports loaded, minus those in ``declared``.

    A migrated function yields its package's effects wherever it is called from (another package, a design's
    provider, a method, a helper), so the effects are answered where they are defined rather than only when
    the entry module declares ``__doeff_handlers__`` (review F1/F13/F20). The handler modules of the entry
    module's own packages, and of the project packages its source imports (inside functions too), are imported
    first: their migrated modules may be imported lazily, by a function that runs later (review F1b).
    """
    for package in [module_name.rpartition(".")[0], *_imported_packages(module_name)]:
        parts = package.split(".") if package else []
        for i in range(len(parts), 0, -1):
            candidate = ".".join([*parts[:i], "effects_handlers"])
            try:
                if candidate not in sys.modules and importlib.util.find_spec(candidate) is not None:
                    importlib.import_module(candidate)
            except Exception:  # noqa: BLE001 - not a loadable handler module: nothing to install from it
                continue
    seen = {id(h) for h in declared}
    found: list = []
    for name, module in sorted(sys.modules.items()):
        if name.rpartition(".")[2] != "effects_handlers" or module is None:
            continue
        stack = getattr(module, "HANDLERS", None)
        if not (isinstance(stack, list) and callable(getattr(module, "with_effect_handlers", None))
                and callable(getattr(module, "recording_handlers", None))):
            continue
        for handler in stack:
            if id(handler) not in seen:
                seen.add(id(handler))
                found.append(handler)
    return found


def _imported_packages(module_name: str) -> list[str]:
    """Packages of the project (beside the entry module's top package) that the entry module's source imports
    anywhere, inside functions too (read, not run): their generated handler modules are loaded up front."""
    import ast

    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return []
    own = module_name if path.endswith("__init__.py") else module_name.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = own
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            name = ".".join(p for p in ((base if node.level else ""), node.module or "") if p)
            found += [name, name.rpartition(".")[0]]
        elif isinstance(node, ast.Import):
            found += [alias.name.rpartition(".")[0] for alias in node.names]
    depth = module_name.count(".") + (1 if path.endswith("__init__.py") else 0)
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(depth):
        root = os.path.dirname(root)
    return [p for p in dict.fromkeys(found) if p and _in_project(p.split(".")[0], root)]


def _in_project(top: str, root: str) -> bool:
    """``top`` is a package under ``root`` (locating it imports nothing)."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    return any(os.path.abspath(place).startswith(root + os.sep) for place in places)


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

        declared = entry_handlers(module, var)
        return run_mixed_entry(target, lazy=lazy, handlers=[*handlers, *declared, *generated_handlers(declared, module_name), *outer_handlers])
    env = build_env(module_name, var)
    keys = preflight(module, var, env)
    value = getattr(module, var)
    if _is_doeff_value(value):
        return _run_on_doeff(value, env, keys, lazy=lazy, runtime_handlers=[*handlers, *outer_handlers], module_handlers=entry_handlers(module, var))
    program = entry_program(value, target)
    api = _runtime_api()
    if not lazy:
        from .eager import build_at_first_ask, builds_arguments_first, eager_order

        if var not in (getattr(module, "__doeff_requires__", None) or {}):
            # A design on the way is a runtime value: the closure is computed from the env of this run.
            keys = eager_order(program, env)
        if builds_arguments_first(value):
            program = build_at_first_ask([k for k in keys if isinstance(env.get(k), Program)], program)
        else:
            program = _eager(keys, env, program, api)
    program = _awaiting_result(program, api)
    from .run import run

    declared = entry_handlers(module, var)
    stack = [*handlers, *declared, *generated_handlers(declared, module_name), *outer_handlers]
    return run(program, handlers=stack, env=env)


def _is_doeff_value(value: Any) -> bool:
    """Code migrated with ``--target doeff`` builds doeff's own programs (``doeff_vm`` objects)."""
    if hasattr(value, "__doeff_generator_function__"):
        return True
    return type(value).__module__.split(".")[0] in ("doeff", "doeff_vm", "doeff_core_effects")


def _run_on_doeff(value: Any, env: dict, keys: Sequence[str], *, lazy: bool, runtime_handlers: Sequence[Any], module_handlers: Sequence[Any]) -> Any:
    """Run a ``--target doeff`` entry point on the doeff package, with the same env and build order.

    doeff's ``lazy_ask`` evaluates Program-valued env entries once per key and caches them, which is
    what the runtime's design env does for migrated ``@instance`` functions; ``scheduled`` and
    ``await_handler`` answer Spawn/Gather/Await. The module's ``__doeff_handlers__`` must then be doeff
    installers (innermost first). The runtime's own handlers (recording, replay, worker pools) do
    not run doeff programs: asking for them is an error, not a silent no-op.
    """
    try:
        from doeff import Ask, Await, do, run
        from doeff_core_effects.handlers import await_handler, lazy_ask
        from doeff_core_effects.scheduler import scheduled
    except ImportError as err:
        raise EntryPointError(f"this entry point was migrated with --target doeff but the doeff package is not importable ({err}); pip install doeff") from None
    from .metrics import MetricsLogger

    unsupported = [h for h in runtime_handlers if not isinstance(h, MetricsLogger)]
    if unsupported:
        names = ", ".join(type(h).__name__ for h in unsupported)
        raise EntryPointError(
            f"{names} run(s) only code migrated with --target runtime; this entry point builds doeff programs "
            "(--target doeff). Re-run doeff-migrate with --target runtime to record, replay or use --workers."
        )
    program = value() if hasattr(value, "__doeff_generator_function__") else value
    api = _EntryApi(do, Ask, Await, _is_doeff_value)
    if not lazy:
        program = _eager(keys, env, program, api)
    program = _awaiting_result(program, api)
    for install in module_handlers:
        program = install(program)
    return run(scheduled(await_handler()(lazy_ask(env=env)(program))))


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
            _module, module_name, var = _import_entry(args.target)
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

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
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from typing import Any, Sequence

from .errors import MissingEnvKeyError
from .handlers import design_env
from .program import DoFunction, Program
from .registry import registered_env

EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1
EXIT_USAGE = 2


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


def build_env(module_name: str, var: str) -> dict:
    """The env of entry point ``module_name.var`` (see the module docstring for the order)."""
    parts = module_name.split(".")
    layers: list[dict] = []
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        layers.append(_design_of(pkg))
        pinjected_file = f"{pkg}.__pinjected__"
        if importlib.util.find_spec(pinjected_file) is not None:
            layers.append(_design_of(pinjected_file))
    layers.append(_design_of(module_name))
    module = sys.modules[module_name]
    overrides = getattr(module, "__doeff_overrides__", {}) or {}
    env = registered_env()  # after the imports above, so their registrations are in
    for layer in layers:
        env.update(layer)
    env.update(overrides.get(var, {}))
    return env


def entry_program(value: Any, target: str) -> Program:
    if isinstance(value, Program):
        return value
    if isinstance(value, DoFunction):
        return value()
    return _Value(value)


def _Value(value: Any) -> Program:  # noqa: N802 - a program constructor
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


def run_entry(target: str, *, lazy: bool = False, handlers: Sequence[Any] = ()) -> Any:
    """Import, check and run ``pkg.mod.var``; returns its value."""
    module, module_name, var = _import_entry(target)
    env = build_env(module_name, var)
    keys = preflight(module, var, env)
    program = entry_program(getattr(module, var), target)
    if not lazy:
        program = _eager(keys, env, program)
    from .run import run

    return run(program, handlers=list(handlers), env=env)


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doeff_migrate.runtime", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a migrated entry point pkg.mod.var")
    p_run.add_argument("target", help="dotted path of the entry point, e.g. pkg.mod.main")
    p_run.add_argument("--json", action="store_true", help="print the result as JSON on the last stdout line")
    p_run.add_argument("--lazy", action="store_true", help="do not build the required instances before running")
    args = parser.parse_args(argv)

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        result = run_entry(args.target, lazy=args.lazy)
    except EntryPointError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        sys.stdout.flush()
        print(json.dumps(result, default=_json_default))
    elif result is not None:
        print(repr(result))
    return EXIT_OK

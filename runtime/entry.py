"""A migrated entry point ``pkg.mod.var``: importing it, its env, the pre-flight check, building its keys first, running it.

Shared by the runner (``python -m doeff_migrate.runtime run``), the bridge (a partly migrated codebase) and
``run_injected_test``. The env is, from low to high precedence:

1. the registry of migrated ``@injected``/``@instance`` functions of every module imported by then
   (pinjected's implicit bindings by name),
2. the ``__design__`` dicts of the package hierarchy, root to leaf: a ``__pinjected__.py`` in the project
   root (the folder holding the top-level package), then ``pkg/__init__.py``, then
   ``pkg/__pinjected__.py``, then the next package down, ..., then the module itself; each over its
   module's ``__meta_design__`` (its bindings, then its ``overrides``; runtime/designs.py); the design
   the merged ``overrides`` key holds goes under all of them (above the registry),
3. the module's ``__doeff_overrides__[var]`` (the ``with design()`` block around the entry point).

Before anything runs, every key in the module's ``__doeff_requires__[var]`` is checked (all missing
keys are named at once) and, unless lazy, the Program-valued ones are built in that order, as
pinjected builds an entry point's dependencies before running it. An entry point missing from
``__doeff_requires__`` (a design on its way is a runtime value) gets the same closure computed from
the env of the run (``eager.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Callable, NamedTuple, Sequence

from .effects import EffectBase
from .entry_handlers import entry_handlers, generated_handlers
from .errors import MissingEnvKeyError
from .program import DoFunction, Program
from .registry import registered_env

class EntryPointError(Exception):
    """The entry point cannot be found or its env is incomplete (exit code 2)."""


def import_entry(target: str) -> tuple[Any, str, str]:
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


def design_modules(module_name: str) -> list:
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
    for name in design_modules(module.__name__):
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
    for name in design_modules(module_name):
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


class EntryApi(NamedTuple):
    """The names an entry point's wrappers are written with: the runtime's, or doeff's (``--target doeff``)."""

    do: Any
    Ask: Any
    Await: Any
    is_program: Callable[[Any], bool]


def runtime_api() -> EntryApi:
    from .effects import Ask, Await
    from .program import do

    return EntryApi(do, Ask, Await, lambda value: isinstance(value, Program))


def prebuilt(keys: Sequence[str], env: dict, program: Any, api: EntryApi) -> Any:
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


def _awaiting_result(program: Any, api: EntryApi) -> Any:
    """pinjected's runner awaits an awaitable final value (``run_injected``, semantics C17); so does this one."""
    import inspect

    @api.do
    def awaited():
        value = yield program
        if inspect.isawaitable(value):
            value = yield api.Await(value)
        return value

    return awaited()


def run_migrated(
    module: Any, module_name: str, var: str, target: str, *, lazy: bool, handlers: Sequence[Any], outer_handlers: Sequence[Any]
) -> Any:
    """Check and run the migrated entry point ``var`` of ``module`` (imported as ``module_name``); returns its value.

    The stack, innermost first: ``handlers`` (e.g. a recorder), the module's ``__doeff_handlers__``
    (its real IO handlers), the generated handler modules its imports loaded, ``outer_handlers``
    (e.g. a worker pool), then the design env.
    """
    env = build_env(module_name, var)
    keys = preflight(module, var, env)
    value = getattr(module, var)
    if is_doeff_value(value):
        return run_on_doeff(value, env, keys, lazy=lazy, runtime_handlers=[*handlers, *outer_handlers], module_handlers=entry_handlers(module, var))
    program = entry_program(value, target)
    api = runtime_api()
    if not lazy:
        from .eager import build_at_first_ask, builds_arguments_first, eager_order

        if var not in (getattr(module, "__doeff_requires__", None) or {}):
            # A design on the way is a runtime value: the closure is computed from the env of this run.
            keys = eager_order(program, env)
        if builds_arguments_first(value):
            program = build_at_first_ask([k for k in keys if isinstance(env.get(k), Program)], program)
        else:
            program = prebuilt(keys, env, program, api)
    program = _awaiting_result(program, api)
    from .run import run

    declared = entry_handlers(module, var)
    stack = [*handlers, *declared, *generated_handlers(declared, module_name), *outer_handlers]
    return run(program, handlers=stack, env=env)


def is_doeff_value(value: Any) -> bool:
    """Code migrated with ``--target doeff`` builds doeff's own programs (``doeff_vm`` objects)."""
    if hasattr(value, "__doeff_generator_function__"):
        return True
    return type(value).__module__.split(".")[0] in ("doeff", "doeff_vm", "doeff_core_effects")


def run_on_doeff(value: Any, env: dict, keys: Sequence[str], *, lazy: bool, runtime_handlers: Sequence[Any], module_handlers: Sequence[Any]) -> Any:
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
    api = EntryApi(do, Ask, Await, is_doeff_value)
    if not lazy:
        program = prebuilt(keys, env, program, api)
    program = _awaiting_result(program, api)
    for install in module_handlers:
        program = install(program)
    return run(scheduled(await_handler()(lazy_ask(env=env)(program))))

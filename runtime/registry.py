"""The bindings pinjected made implicitly: every ``@injected``/``@instance`` is bound by its name.

Migrated code marks them with ``@function_binding`` / ``@instance_binding`` above ``@do``; the runner
puts everything registered by the modules imported so far into the env (lowest precedence, under the
``__design__`` dicts), exactly as pinjected resolves an unbound key from the decorated functions.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

from .program import DoFunction

# key -> (module name, kind, object); later registrations of the same key win, as in pinjected.
_REGISTRY: Dict[str, Tuple[str, str, Any]] = {}


def is_do_function(fn: Any) -> bool:
    """A ``@do`` function of this runtime or of doeff (``--target doeff`` output)."""
    return isinstance(fn, DoFunction) or hasattr(fn, "__doeff_generator_function__")


def _register(kind: str, key: str | None, fn: Any) -> Any:
    if not is_do_function(fn):
        raise TypeError(f"@{kind}_binding goes above @do: got {fn!r}")
    name = key or fn.__name__
    _REGISTRY[name] = (fn.__module__, kind, fn)
    return fn


def _decorator(kind: str) -> Callable[..., Any]:
    def deco(arg: Any = None) -> Any:
        if isinstance(arg, str) or arg is None:
            return lambda fn: _register(kind, arg, fn)
        return _register(kind, None, arg)

    deco.__name__ = f"{kind}_binding"
    return deco


function_binding = _decorator("function")
function_binding.__doc__ = "Bind the @do function itself under its name (a migrated ``@injected``)."
instance_binding = _decorator("instance")
instance_binding.__doc__ = "Bind ``fn()`` under its name, evaluated once per run (a migrated ``@instance``)."


def registered_env() -> dict:
    """Env entries for everything registered: functions as values, instances as lazy programs."""
    env: dict = {}
    for key, (_module, kind, fn) in _REGISTRY.items():
        env[key] = fn if kind == "function" else fn()
    return env


def registered_keys() -> dict:
    return {k: (m, kind) for k, (m, kind, _fn) in _REGISTRY.items()}


def register_provider(key: str, module: str, make_program: Callable[[], Any]) -> None:
    """Bind ``key`` to the program ``make_program()`` builds (once per run, like an instance)."""
    _REGISTRY[key] = (module, "instance", make_program)

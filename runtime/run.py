"""``run``: the one boundary call between plain Python and programs."""

from __future__ import annotations

from typing import Any, Iterable

from .handlers import Installer, design_env
from .interpreter import drive
from .effects import EffectBase
from .program import DoFunction, Program


def run(program: Any, handlers: Iterable[Any] | None = None, env: Any = None) -> Any:
    """Run ``program`` and return its value, or raise the exception it raised.

    ``run(program)`` is doeff 0.8.0's form. This form is accepted too:
    ``run(program, handlers=[h1, h2, ...], env={...})`` where an effect reaches ``h1`` first, then
    ``h2``, ... (``h1`` is the innermost), and ``env`` is a design env (``design_env``) outside all
    of them. Note that ``with_handlers([a, b], p)`` lists the OUTERMOST first: the two orders are
    opposite on purpose, each matching the API it comes from.

    Scheduling (``Spawn``/``Wait``/``Gather``/``Race``), ``Await`` and ``RunInThread`` are answered
    by the built-in scheduler, so ``scheduled(...)`` is optional here.
    """
    if handlers is None and env is None and isinstance(program, (Program, EffectBase)):
        return drive(program)
    if isinstance(program, DoFunction):
        raise TypeError(
            f"run() got the @do function {program.__qualname__!r} itself, not a program; "
            f"call it first: run({program.__qualname__}(...))"
        )
    if not isinstance(program, (Program, EffectBase)):
        if callable(program):
            name = getattr(program, "__qualname__", repr(program))
            raise TypeError(f"run() expects a program; {name} is a plain callable — decorate it with @do and call it first")
        raise TypeError(f"run() expects a program (a call of a @do function, Pure(...) or an effect), got {program!r}")
    if handlers is not None:
        if isinstance(handlers, (Installer, Program)) or not hasattr(handlers, "__iter__"):
            raise TypeError("run(program, handlers=[...]): handlers must be a list of handler installers")
        for h in handlers:
            if not callable(h) or isinstance(h, (Program, DoFunction)):
                raise TypeError(f"run(handlers=[...]): {h!r} is not a handler installer")
            program = h(program)
    if env is not None:
        program = design_env(env)(program)
    return drive(program)

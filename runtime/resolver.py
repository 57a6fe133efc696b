"""``__resolver__``: pinjected's resolver handed to an injected function, bound to the running program.

An ``@injected`` function may depend on ``__resolver__`` (pinjected's ``AsyncResolver``) and resolve
values itself while it runs, e.g. an ``Injected`` it was given as an argument (pinjected passes an
argument annotated ``Injected`` unevaluated): ``data = await __resolver__[tgt]``. The migrated
function asks for it with ``__resolver__ = yield AskResolver("__resolver__")`` and gets a
:class:`RunResolver`:

- ``await resolver[target]`` runs ``target``'s program on the same run (``arun_reentrant``: the same
  env, singletons and handlers, as pinjected's resolver shares its scope) and gives its value;
  ``target`` is a key (``str``), a program or a Program expression (an ``Injected`` / IProxy after
  migration);
- ``resolver.to_blocking()[target]`` does the same from synchronous code (``run_reentrant``).

Bound to the run that asked for it: used after that run ended it raises ``ReentrantCallError``, as
dependency callables do (dependencies.py).
"""

from __future__ import annotations

from typing import Any

from .effects import Ask, EffectBase
from .program import Program, do

__all__ = ["AskResolver", "RunResolver"]


def _program_of(target: Any) -> Any:
    if isinstance(target, str):
        return Ask(target)
    if isinstance(target, (Program, EffectBase)):
        return target
    raise TypeError(f"__resolver__[{target!r}]: expected a key or an Injected/IProxy (a program after migration)")


class RunResolver:
    """pinjected's ``AsyncResolver`` as an injected function sees it, on the running program."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def __getitem__(self, target: Any) -> Any:
        from .interpreter import arun_reentrant

        return arun_reentrant(_program_of(target), "__resolver__", self._run)

    def to_blocking(self) -> "BlockingRunResolver":
        return BlockingRunResolver(self._run)


class BlockingRunResolver:
    """``__resolver__.to_blocking()``: ``resolver[target]`` gives the value without ``await``."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def __getitem__(self, target: Any) -> Any:
        from .interpreter import run_reentrant

        return run_reentrant(_program_of(target), "__resolver__", self._run)


@do
def AskResolver(key: str = "__resolver__"):  # noqa: N802 - reads like the effect it stands for
    """``__resolver__ = yield AskResolver("__resolver__")``: the resolver bound to this run. The env is
    never asked: pinjected answers ``__resolver__`` itself, with no design key behind it."""
    from .interpreter import current_run

    del key
    return RunResolver(current_run())
    yield  # a generator function, as every @do body

"""Counterparts of pinjected's value types, for plain code that inspects values.

``isinstance(x, Injected)`` asks whether ``x`` is still an unresolved pinjected value. After migration
every such value (an ``Injected``, an ``IProxy``) is a program of the runtime: a ``Program``, an
effect or an ``Expr``. So ``isinstance`` against these names answers whether a value is a program,
and resolved values (the arguments and dependencies a function receives) are plain values in both
worlds. The one distinction lost is between the two pinjected types themselves: a program is an
instance of both names here, where pinjected keeps ``Injected`` and ``IProxy`` apart.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from .effects import EffectBase
from .program import Program

_PROGRAM_TYPES = (Program, EffectBase)


class _ProgramTypeMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _PROGRAM_TYPES)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return isinstance(sub, type) and issubclass(sub, _PROGRAM_TYPES)

    def __getitem__(cls, item: Any) -> "_ProgramTypeMeta":  # ``IProxy[int]`` in annotations
        return cls


class Injected(metaclass=_ProgramTypeMeta):
    """What ``pinjected.Injected`` names in plain code after migration: any program of the runtime."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Injected is a type to test values against after migration; build programs with the runtime")


class IProxy(metaclass=_ProgramTypeMeta):
    """What ``pinjected.IProxy`` names in plain code after migration: any program of the runtime."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("IProxy is a type to test values against after migration; build programs with the runtime")


# ``pinjected.providable.Providable``: what ``Injected.ensure_injected`` accepts (0.2.252), over the
# runtime's ``Injected``.
Providable = Union[str, type, Injected, Callable]

__all__ = ["Injected", "IProxy", "Providable"]

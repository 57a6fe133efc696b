"""Which effects a recording holds (by type), and where the handler doing the recording sits."""

from __future__ import annotations

from typing import Any, Iterable

from .. import effects as E
from ..handlers import Installer
from .encoding import type_name

UNRECORDED_EFFECTS: tuple = (
    E.Ask,
    E.Local,
    E.Get,
    E.Put,
    E.Tell,
    E.Listen,
    E.Try,
    E.Wait,
    E.Gather,
    E.Race,
    E.CreateExternalPromise,
)
"""Effect types a recording leaves out by default: they do not touch the world (env, state, writer),
only wrap programs whose own effects are recorded (``Try``, ``Local``, ``Listen``), or are scheduling
bookkeeping whose outcome follows from the recorded effects (``Wait``, ``Gather``, ``Race``)."""


class RecordedTypes:
    """Decides, by effect type, what a recording holds; usable as a handler's type filter.

    ``only``: record exactly these types (and subclasses); ``exclude``: never these. Both are also
    accepted as qualified names, which is how a replay rebuilds the recorder's choice from the
    header. ``Spawn`` is always seen (answered remotely it is recorded; locally it passes).
    """

    def __init__(self, only: Iterable[Any] | None = None, exclude: Iterable[Any] = ()) -> None:
        self.only_names = None if only is None else frozenset(_as_name(t) for t in only)
        self.exclude_names = frozenset(_as_name(t) for t in exclude)
        self._cache: dict = {}

    def header(self) -> dict:
        return {
            "only": None if self.only_names is None else sorted(self.only_names),
            "exclude": sorted(self.exclude_names),
        }

    @classmethod
    def from_header(cls, data: Any) -> "RecordedTypes":
        data = data or {}
        return cls(only=data.get("only"), exclude=data.get("exclude") or ())

    def records(self, t: type) -> bool:
        decision = self._cache.get(t)
        if decision is None:
            decision = self._cache[t] = self._decide(t)
        return decision

    def _decide(self, t: type) -> bool:
        if not isinstance(t, type) or not issubclass(t, E.EffectBase):
            return False
        if issubclass(t, E.Spawn):
            return True
        mro_names = {type_name(c) for c in t.__mro__}
        if mro_names & self.exclude_names:
            return False
        if self.only_names is not None:
            return bool(mro_names & self.only_names)
        return not issubclass(t, UNRECORDED_EFFECTS)

    def __instancecheck__(self, obj: Any) -> bool:
        decision = self._cache.get(type(obj))
        if decision is None:
            decision = self.records(type(obj))
        return decision


def _as_name(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, type):
        return type_name(t)
    raise TypeError(f"expected an effect class or its qualified name, got {t!r}")


def _outer_spawn_handler(k: Any) -> bool:
    """Whether a handler outside this one explicitly handles ``Spawn`` (remote work, e.g. Ray)."""
    s = k.hseg.parent
    while s is not None:
        t = s.types
        if t is not None:
            if t is E.Spawn or (isinstance(t, tuple) and any(x is E.Spawn for x in t)):
                return True
        s = s.parent
    return False


class _SessionHandler(Installer):
    """The per-run native handler a recording session installs: ``handle`` (the session's
    ``observe``) answers in place or hands the effect to the generator body ``fn``."""

    native = True

    def __init__(self, name: str, types: Any, handle: Any, fn: Any) -> None:
        self.name = name
        self.types = types
        self.handle = handle
        self.fn = fn

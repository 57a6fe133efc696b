"""``OverrideHandler``: answer chosen ``Ask`` keys and effect types with fixed values.

A sweep over a replay::

    for lr in [0.001, 0.01, 0.1]:
        run(train(), handlers=[ReplayHandler(path, strict=False), OverrideHandler({"learning_rate": lr})])
"""

from __future__ import annotations

from typing import Any, Mapping

from . import effects as E
from .handlers import NativeHandler
from .interpreter import PASS


class OverrideHandler(NativeHandler):
    """Answers ``Ask(key)`` for the keys it overrides and, by effect type, whole effects.

    ``OverrideHandler(mapping)``: a key that is an effect class overrides that effect type (and its
    subclasses); any other key overrides ``Ask(key)``. An effect-type entry's value is a function
    ``effect -> answer`` when callable (wrap a callable answer as ``lambda effect: fn``), else the
    answer itself. ``asks=`` and ``answers=`` give the two kinds separately. Every other effect,
    including ``Ask`` of keys not overridden, passes to the handlers outside. Values are answered as
    they are (a Program value is not run: that is the design env's job).
    """

    def __init__(
        self,
        mapping: Mapping[Any, Any] | None = None,
        *,
        asks: Mapping[Any, Any] | None = None,
        answers: Mapping[type, Any] | None = None,
    ) -> None:
        self.asks: dict = dict(asks or {})
        self.answers: dict = {}
        for key, value in (mapping or {}).items():
            if isinstance(key, type) and issubclass(key, E.EffectBase):
                self.answers[key] = value
            else:
                self.asks[key] = value
        for key, value in (answers or {}).items():
            if not (isinstance(key, type) and issubclass(key, E.EffectBase)):
                raise TypeError(f"OverrideHandler(answers=...): keys must be effect classes, got {key!r}")
            self.answers[key] = value
        if E.Ask in self.answers:
            raise TypeError("OverrideHandler: override Ask keys by name ({'key': value}), not the Ask type")
        self.types = (E.Ask, *self.answers)
        self._by_type: dict = {}
        self.name = "OverrideHandler(" + ", ".join(map(repr, [*self.asks, *(t.__name__ for t in self.answers)])) + ")"

    def handle(self, effect: Any, segment: Any) -> Any:
        if isinstance(effect, E.Ask):
            try:
                return self.asks[effect.key] if effect.key in self.asks else PASS
            except TypeError:  # an unhashable key cannot be overridden
                return PASS
        t = type(effect)
        entry = self._by_type.get(t)
        if entry is None:
            entry = self._by_type[t] = next(self.answers[c] for c in t.__mro__ if c in self.answers)
        return entry(effect) if callable(entry) else entry


__all__ = ["OverrideHandler"]

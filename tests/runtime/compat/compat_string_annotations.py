"""A migrated module written with `from __future__ import annotations`: every annotation, including a
handler's effect filter, is a string that the backend has to resolve in this module's globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def build(api: Any) -> Any:
    """Declare the effects as module globals (the way a real module does) for `api`'s EffectBase,
    then return a program whose handlers filter on the string annotations "Fetch" and "Fetch | Sleep"."""
    global Fetch, Sleep

    @dataclass(frozen=True)
    class Fetch(api.EffectBase[str]):
        url: str

    @dataclass(frozen=True)
    class Sleep(api.EffectBase[None]):
        seconds: float

    @api.handler
    def fetcher(effect: Fetch, k):
        api.trace.append(("fetcher", type(effect).__name__))
        return (yield api.Resume(k, "page"))

    @api.handler
    def both(effect: Fetch | Sleep, k):
        api.trace.append(("both", type(effect).__name__))
        return (yield api.Resume(k, "slept"))

    @api.do
    def main():
        return [(yield Fetch("u")), (yield Sleep(1.0))]

    return both(fetcher(main()))

"""Effects and programs shared by the ML handler tests (importable by Ray workers by name)."""

import os
from dataclasses import dataclass

from doeff_migrate.runtime import EffectBase, Gather, Spawn, do
from doeff_migrate.runtime.handlers import NativeHandler


@dataclass(frozen=True)
class Fetch(EffectBase):
    """A world-touching effect: fetch a resource by name."""

    name: str


@dataclass(frozen=True)
class Square(EffectBase):
    x: int


class SquareHandler(NativeHandler):
    """Answers Square on whichever process runs it, with that process's pid for proof."""

    types = (Square,)
    name = "SquareHandler"

    def handle(self, effect, segment):
        return (effect.x * effect.x, os.getpid())


@do
def square_remote(x):
    value, pid = yield Square(x)
    return value, pid


@do
def plus_one(x):
    return x + 1


@do
def fail_remote(message):
    raise ValueError(message)


@do
def resources_seen():
    import ray

    return ray.get_runtime_context().get_assigned_resources()


@do
def fan_out(n):
    tasks = []
    for i in range(n):
        tasks.append((yield Spawn(square_remote(i))))
    return (yield Gather(*tasks))


@do
def fetch_two(prefix):
    a = yield Fetch(prefix + "a")
    b = yield Fetch(prefix + "b")
    return a + b


@do
def describe_arguments(first, *rest, scale=1, **options):
    """What a spawned call's arguments arrive as on the worker (an ObjectRef stays a reference)."""
    return type(first).__name__, [x * scale for x in rest], sorted(options.items())


@do
def plain_times(x, factor=2):
    """A ``@do`` function without ``yield``: its call is a ``PlainCall``."""
    return x * factor

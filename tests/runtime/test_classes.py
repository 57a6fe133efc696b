"""runtime/classes.py: ``new_C`` constructors resolving dependencies by pinjected's rule, and the
dependencies they hand over bound to the run that built them."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field

import pytest

from doeff_migrate.runtime import Ask, Await, EffectBase, Resume, do, handler, run
from doeff_migrate.runtime.classes import (
    BoundConstructor,
    class_binding,
    class_constructor,
    class_dependencies,
    injected_function,
)
from doeff_migrate.runtime.registry import registered_keys


class Plain:
    def __init__(self, root, /, name, _log, *, mode="r"):
        self.root, self.name, self.log, self.mode = root, name, _log, mode


@dataclass
class Fields:
    _fetch: object
    __resolver__: object
    label: str
    tags: list = field(default_factory=list)


def test_dependencies_follow_the_injected_rule():
    assert class_dependencies(Plain) == [("root", "root"), ("_log", "log")]
    assert class_dependencies(Fields) == [("_fetch", "fetch"), ("__resolver__", "__resolver__")]


def test_bound_constructor_takes_the_other_arguments_positionally_or_by_keyword():
    new = BoundConstructor(Plain, {"root": "/r/", "_log": print})
    made = new("n", mode="w")
    assert (made.root, made.name, made.log, made.mode) == ("/r/", "n", print, "w")
    assert new(name="m").mode == "r"
    with pytest.raises(TypeError):
        new()  # ``name`` is required, as with pinjected's constructor
    assert str(new.signature) == "(name, *, mode='r')"


def test_class_constructor_asks_for_the_dependencies_and_binds_new_c():
    program = class_constructor(Plain)
    assert "new_Plain" in registered_keys()
    new = run(program, env={"root": "/x/", "log": "L"})
    assert new("a").root == "/x/" and new("a").log == "L"


def test_class_binding_returns_the_class_itself():
    @class_binding
    @dataclass
    class Local:
        _fetch: object

    assert isinstance(Local, type)
    assert "new_Local" in registered_keys()
    with pytest.raises(TypeError):
        class_binding(lambda: None)


@dataclass(frozen=True)
class Note(EffectBase[str]):
    text: str


def test_a_dependency_called_from_a_method_shares_singletons_and_handlers_of_the_run():
    built = []

    @do
    def counter():
        built.append(1)
        return {"n": 0}

    @do
    def bump(by):
        c = yield Ask("counter")
        heard = yield Note(f"bump {by}")
        c["n"] += by
        return heard, c["n"]

    @dataclass
    class Tally:
        _bump: object

        def tick(self, by):
            return self._bump(by)

    seen = []

    @handler
    def notes(effect: Note, k):
        seen.append(effect.text)
        return (yield Resume(k, effect.text.upper()))

    @do
    def main():
        new_Tally = yield Ask("new_Tally")
        tally = new_Tally()
        first = tally.tick(2)  # a plain call from a plain method: runs bump's program now
        c = yield Ask("counter")
        return first, tally.tick(3), c["n"]

    result = run(notes(main()), env={"new_Tally": class_constructor(Tally), "counter": counter(), "bump": bump})
    assert result == (("BUMP 2", 2), ("BUMP 3", 5), 5)
    assert seen == ["bump 2", "bump 3"]
    assert built == [1]  # one singleton for the run and the bound calls


def test_an_awaited_dependency_becomes_a_coroutine_function():
    @do
    def a_fetch(path):
        base = yield Ask("base")
        yield Await(asyncio.sleep(0))
        return base + path

    @dataclass
    class Client:
        _a_fetch: object

        async def get(self, path):
            return await self._a_fetch(path)

    @do
    def main():
        new_Client = yield Ask("new_Client")
        client = new_Client()
        assert inspect.iscoroutinefunction(client._a_fetch)
        return (yield Await(client.get("/x")))

    env = {"new_Client": class_constructor(Client, awaited=("a_fetch",)), "a_fetch": a_fetch, "base": "http://h"}
    assert run(main(), env=env) == "http://h/x"


def test_injected_function_runs_program_arguments_first_and_awaits_the_result():
    async def a_join(sep, /, a, b):
        await asyncio.sleep(0)
        return sep.join([a, b])

    @do
    def left():
        return (yield Ask("left"))

    program = injected_function(a_join)(left(), "b")
    assert run(program, env={"sep": "+", "left": "a"}) == "a+b"


def test_a_sync_dependency_that_awaits_from_the_event_loop_fails_clearly_instead_of_hanging():
    from doeff_migrate.runtime.classes import ReentrantAwaitError

    @do
    def lazy_client():
        yield Await(asyncio.sleep(0))  # an async instance built on first use
        return "client"

    @do
    def render(x):
        client = yield Ask("client")
        return f"{client}:{x}"

    @dataclass
    class Page:
        _render: object

        async def show(self):
            return self._render(1)  # a sync dependency, called from a coroutine

    @do
    def main():
        page = (yield Ask("new_Page"))()
        return (yield Await(page.show()))

    env = {"new_Page": class_constructor(Page), "render": render, "client": lazy_client()}
    with pytest.raises(ReentrantAwaitError, match="'render' was called without await"):
        run(main(), env=env)

    @do
    def built_first():
        yield Ask("client")  # built before the coroutine runs, as pinjected's eager build does
        return (yield main())

    assert run(built_first(), env=env) == "client:1"


def test_a_method_calling_a_dependency_after_its_run_ended_fails_naming_the_dependency():
    # pinjected objects keep working after resolution (checked with pinjected 0.2.252: a method of an
    # object from provide() still bumps the resolver's singleton). Migrated code has no such "after":
    # the run is the resolution, and a dependency's calls are effects needing that run's handlers.
    from doeff_migrate.runtime.errors import ReentrantCallError

    @do
    def bump(by):
        return by + (yield Ask("base"))

    @dataclass
    class Tally:
        _bump: object

        def tick(self, by):
            return self._bump(by)

    @do
    def main():
        tally = (yield Ask("new_Tally"))()
        return tally, tally.tick(1)

    tally, inside = run(main(), env={"new_Tally": class_constructor(Tally), "bump": bump, "base": 10})
    assert inside == 11
    with pytest.raises(ReentrantCallError, match="'bump' was called outside any running program: the run that handed it over has ended"):
        tally.tick(2)


def test_a_bound_call_sees_the_handlers_around_the_caller_and_lets_other_tasks_run():
    from doeff_migrate.runtime import Spawn, Wait

    order = []

    @do
    def slow(x):
        order.append("dep starts")
        yield Await(asyncio.sleep(0.05))  # parks: the run's other tasks progress meanwhile
        heard = yield Note(f"slow {x}")
        order.append("dep ends")
        return heard

    @do
    def other():
        order.append("other starts")
        yield Await(asyncio.sleep(0.005))
        order.append("other ends")

    @dataclass
    class Worker:
        _slow: object

        def go(self, x):
            return self._slow(x)

    @handler
    def notes(effect: Note, k):
        return (yield Resume(k, effect.text.upper()))

    @do
    def main():
        worker = (yield Ask("new_Worker"))()  # built outside the handler below
        task = yield Spawn(other())

        @do
        def use():
            return worker.go(1)

        result = yield notes(use())  # called inside it: the call's effects reach it
        yield Wait(task)
        return result

    assert run(main(), env={"new_Worker": class_constructor(Worker), "slow": slow}) == "SLOW 1"
    assert order == ["other starts", "dep starts", "other ends", "dep ends"]


def test_a_callable_object_dependency_keeps_its_attributes_and_class():
    class Model:
        scale = 3

        def __call__(self, x):
            return x * self.scale

        def describe(self):
            return "model"

    @dataclass
    class Uses:
        _model: object

    @do
    def main():
        uses = (yield Ask("new_Uses"))()
        m = uses._model
        return m(2), m.describe(), m.scale, isinstance(m, Model)

    assert run(main(), env={"new_Uses": class_constructor(Uses), "model": Model()}) == (6, "model", 3, True)


def test_an_awaited_dependency_driven_by_asyncio_run_in_a_plain_method_runs_on_the_run():
    @do
    def a_fetch(path):
        return (yield Ask("base")) + path

    @dataclass
    class Client:
        _a_fetch: object

        def get(self, path):  # a sync method driving the async dependency on a loop of its own
            return asyncio.run(self._a_fetch(path))

    @do
    def main():
        return (yield Ask("new_Client"))().get("/y")

    env = {"new_Client": class_constructor(Client, awaited=("a_fetch",)), "a_fetch": a_fetch, "base": "h"}
    assert run(main(), env=env) == "h/y"

"""Direction 1: not-yet-migrated pinjected code calls migrated ``@do`` code (real pinjected 0.2.252).

Names of pinjected-decorated functions here start with ``b1_``: pinjected registers them globally
by name, so they must not collide with other test modules.
"""

from __future__ import annotations

import asyncio

import pytest
from pinjected import AsyncResolver, design, injected, instance
from pinjected.v2.async_resolver import DependencyResolutionError

from doeff_migrate.runtime import (
    Ask,
    Await,
    BridgedFunction,
    Gather,
    Spawn,
    Local,
    PinjectedBridgeError,
    PinjectedFunction,
    Pure,
    as_injected,
    as_instance,
    asked_keys,
    do,
    function_binding,
    instance_binding,
    migrated_design,
)

EVENTS: list[str] = []


@pytest.fixture(autouse=True)
def _clear_events():
    EVENTS.clear()
    yield
    EVENTS.clear()


def provide(d, key):
    """What ``python -m pinjected run`` does: a fresh resolver, ``await resolver.provide(key)``."""

    async def main():
        resolver = AsyncResolver(d)
        return resolver, await resolver.provide(key)

    return asyncio.run(main())


# --- legacy (pinjected) side ---------------------------------------------------------------------


@instance
def b1_database():
    EVENTS.append("build b1_database")
    return {"rows": [1, 2, 3]}


@injected
def b1_legacy_double(x):
    return 2 * x


@injected
async def a_b1_legacy_fetch(b1_database, /, i):
    await asyncio.sleep(0)
    return b1_database["rows"][i]


# --- migrated side ---------------------------------------------------------------------------------


@do
def total(scale):
    db = yield Ask("b1_database")
    EVENTS.append("total body")
    return sum(db["rows"]) * scale


@do
def a_total_plus(name):
    db = yield Ask("b1_database")
    extra = yield Ask(name)  # a key built at run time: not declared, resolved on demand
    yield Await(asyncio.sleep(0))
    return sum(db["rows"]) + extra


@do
def sync_dynamic(name):
    return (yield Ask(name))


@do
def uses_legacy_functions(i):
    double = yield Ask("b1_legacy_double")
    fetch = yield Ask("a_b1_legacy_fetch")
    value = yield fetch(i)
    return (yield double(value))


@do
def helper_scaled(x):
    factor = yield Ask("b1_factor")
    return x * factor


@do
def calls_helper_directly(x):
    return (yield helper_scaled(x)) + 1


@do
def fails(x):
    yield Ask("b1_database")
    raise ValueError(f"bad input {x}")


@do
def config():
    EVENTS.append("build config")
    base = yield Ask("b1_base")
    return {"base": base}


@do
def reads_config():
    cfg = yield Ask("b1_config")
    return cfg


@injected
def b1_report(total, /, n):
    EVENTS.append("report body")
    return total(n)


@injected
async def b1_async_report(a_total_plus, /, name):
    return await a_total_plus(name)


def test_asked_keys_reads_literal_asks_and_the_do_functions_called_directly():
    assert asked_keys(total) == ("b1_database",)
    assert asked_keys(a_total_plus) == ("b1_database",)
    assert asked_keys(calls_helper_directly) == ("b1_factor",)
    assert asked_keys(total(3)) == ("b1_database",)
    with pytest.raises(TypeError, match="expects a @do function"):
        asked_keys(lambda: None)


def test_sync_bridged_function_called_from_injected_code_gets_pinjected_singletons():
    d = design(total=as_injected(total))
    resolver, report = provide(d, "b1_report")
    assert report(2) == 12
    assert report(3) == 18
    # the database was a dependency of `total`, built once, before any body ran
    assert EVENTS == ["build b1_database", "report body", "total body", "report body", "total body"]


def test_bridged_function_sees_the_same_object_pinjected_gives():
    seen = []

    @do
    def grab():
        seen.append((yield Ask("b1_database")))

    async def main():
        resolver = AsyncResolver(design(grab=as_injected(grab)))
        bridged = await resolver.provide("grab")
        bridged()
        return await resolver.provide("b1_database")

    db = asyncio.run(main())
    assert seen == [db] and seen[0] is db
    assert EVENTS == ["build b1_database"]


def test_async_bridged_function_is_awaited_and_resolves_undeclared_keys_on_demand():
    d = design(a_total_plus=as_injected(a_total_plus), b1_bonus=100)

    async def main():
        resolver = AsyncResolver(d)
        a_report = await resolver.provide("b1_async_report")
        return await a_report("b1_bonus")

    assert asyncio.run(main()) == 106


def test_a_bridged_function_kept_after_its_resolver_loop_ended_says_so():
    _resolver, a_fn = provide(design(a_total_plus=as_injected(a_total_plus), b1_bonus=1), "a_total_plus")
    with pytest.raises(PinjectedBridgeError, match="no longer running"):
        asyncio.run(a_fn("b1_bonus"))


def test_concurrent_tasks_of_a_bridged_program_share_one_object_built_on_demand():
    @instance
    def b1_slow_service():
        EVENTS.append("build b1_slow_service")
        return object()

    @do
    def a_fan_out(name):
        tasks = []
        for _ in range(3):
            tasks.append((yield Spawn(sync_dynamic(name))))
        return (yield Gather(*tasks))

    async def main():
        resolver = AsyncResolver(design(a_fan_out=as_injected(a_fan_out)))
        fan_out = await resolver.provide("a_fan_out")
        got = await fan_out("b1_slow_service")
        return got, await resolver.provide("b1_slow_service")

    got, service = asyncio.run(main())
    assert got == [service] * 3 and all(g is service for g in got)
    assert EVENTS == ["build b1_slow_service"]


def test_sync_call_cannot_wait_for_the_resolver_loop_and_says_what_to_declare():
    @injected
    def b1_sync_caller(sync_dynamic, /, name):
        return sync_dynamic(name)

    d = design(sync_dynamic=as_injected(sync_dynamic), b1_bonus=100)

    async def main():
        resolver = AsyncResolver(d)
        caller = await resolver.provide("b1_sync_caller")
        return caller("b1_bonus")

    with pytest.raises(PinjectedBridgeError) as info:
        asyncio.run(main())
    message = str(info.value)
    assert "Ask('b1_bonus')" in message
    assert "keys=[...]" in message and "is_async=True" in message


def test_a_sync_call_may_ask_for_undeclared_keys_the_resolver_already_built():
    async def main():
        resolver = AsyncResolver(design(sync_dynamic=as_injected(sync_dynamic)))
        db = await resolver.provide("b1_database")
        fn = await resolver.provide("sync_dynamic")
        return db, fn("b1_database")

    db, seen = asyncio.run(main())
    assert seen is db
    assert EVENTS == ["build b1_database"]


def test_declared_keys_make_the_sync_call_work():
    d = design(sync_dynamic=as_injected(sync_dynamic, keys=["b1_bonus"]), b1_bonus=100)
    _resolver, fn = provide(d, "sync_dynamic")
    assert isinstance(fn, BridgedFunction) and not fn.is_async
    assert fn("b1_bonus") == 100


def test_migrated_code_calls_pinjected_injected_functions_sync_and_async_with_yield():
    d = design(uses=as_injected(uses_legacy_functions, is_async=True))

    async def main():
        uses = await AsyncResolver(d).provide("uses")
        return await uses(2)

    assert asyncio.run(main()) == 6


def test_a_bridged_key_asked_by_migrated_code_is_the_do_function_again():
    seen = []

    @do
    def outer(x):
        helper = yield Ask("b1_helper")
        seen.append(helper)
        return (yield helper(x))

    d = design(outer=as_injected(outer), b1_helper=as_injected(helper_scaled), b1_factor=10)
    _resolver, fn = provide(d, "outer")
    assert fn(4) == 40
    assert seen == [helper_scaled]


def test_do_functions_called_directly_have_their_keys_resolved_up_front():
    d = design(f=as_injected(calls_helper_directly), b1_factor=7)
    _resolver, fn = provide(d, "f")
    assert fn(2) == 15


def test_exceptions_reach_the_pinjected_caller_unchanged():
    _resolver, report = provide(design(total=as_injected(fails)), "b1_report")
    with pytest.raises(ValueError, match="bad input 5"):
        report(5)


def test_as_instance_runs_once_per_resolver_and_is_shared_by_both_sides():
    d = design(b1_config=as_instance(config), b1_base=1, reads=as_injected(reads_config))

    async def main():
        resolver = AsyncResolver(d)
        a = await resolver.provide("b1_config")
        b = await resolver.provide("b1_config")
        reads = await resolver.provide("reads")
        return a, b, reads()

    a, b, from_migrated = asyncio.run(main())
    assert a == {"base": 1}
    assert a is b is from_migrated
    assert EVENTS == ["build config"]
    asyncio.run(main())
    assert EVENTS == ["build config", "build config"]  # a new resolver builds its own


def test_as_instance_is_built_before_the_body_of_its_dependent_runs():
    @injected
    def b1_entry(b1_config, /):
        EVENTS.append("entry body")
        return b1_config["base"]

    _resolver, entry = provide(design(b1_config=as_instance(config), b1_base=3), "b1_entry")
    assert entry() == 3
    assert EVENTS == ["build config", "entry body"]


def test_as_instance_accepts_a_program_and_local_overrides_win_over_pinjected():
    @do
    def local_view():
        return (yield Local({"b1_base": "local"}, config()))

    _resolver, value = provide(design(b1_v=as_instance(local_view()), b1_base="pinjected"), "b1_v")
    assert value == {"base": "local"}


def test_as_instance_of_a_program_without_source_resolves_its_asks_on_demand():
    _resolver, value = provide(design(b1_v=as_instance(Pure(41)), b1_w=as_instance(Ask("b1_base")), b1_base=1), "b1_w")
    assert value == 1
    assert provide(design(b1_v=as_instance(Pure(41))), "b1_v")[1] == 41


def test_missing_keys_are_reported_by_pinjected_naming_the_key():
    with pytest.raises(DependencyResolutionError, match="b1_base"):
        provide(design(b1_config=as_instance(config)), "b1_config")


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="as_injected expects a @do function"):
        as_injected(lambda x: x)
    with pytest.raises(TypeError, match="as_instance expects a @do function, a program or an effect"):
        as_instance(42)


def test_migrated_design_binds_registered_functions_and_instances_by_name():
    @function_binding
    @do
    def b1_migrated_greet(name):
        greeting = yield Ask("b1_greeting")
        return f"{greeting}, {name}"

    @instance_binding
    @do
    def b1_migrated_greeting():
        EVENTS.append("build greeting")
        return "hello"

    @injected
    def b1_legacy_caller(b1_migrated_greet, b1_migrated_greeting, /, name):
        return b1_migrated_greet(name), b1_migrated_greeting

    d = migrated_design({"b1_greeting": "hi", "b1_twice": b1_migrated_greet})
    _resolver, caller = provide(d, "b1_legacy_caller")
    assert caller("ada") == ("hi, ada", "hello")
    assert EVENTS == ["build greeting"]


def test_a_pinjected_function_seen_by_migrated_code_is_a_program_maker():
    seen = []

    @do
    def grab():
        seen.append((yield Ask("b1_legacy_double")))

    _resolver, fn = provide(design(grab=as_injected(grab)), "grab")
    fn()
    assert isinstance(seen[0], PinjectedFunction)
    assert "b1_legacy_double" in repr(seen[0]) or "PartiallyInjected" in repr(seen[0])

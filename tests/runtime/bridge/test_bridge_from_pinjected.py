"""Direction 2: migrated code asks for keys only pinjected provides (real pinjected 0.2.252).

Pinjected-decorated names start with ``b2_`` (pinjected registers them globally by name).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from pinjected import AsyncResolver, design, injected, instance

from doeff_migrate.runtime import (
    Ask,
    Await,
    Gather,
    Local,
    MissingEnvKeyError,
    PinjectedBridgeError,
    PinjectedEnv,
    PinjectedFunction,
    Spawn,
    UnhandledEffect,
    as_injected,
    do,
    instance_binding,
    pinjected_env,
    run,
)

EVENTS: list[str] = []


@pytest.fixture(autouse=True)
def _clear_events():
    EVENTS.clear()
    yield
    EVENTS.clear()


@instance
def b2_client():
    EVENTS.append("build b2_client")
    return object()


@instance
async def b2_async_settings(b2_client):
    await asyncio.sleep(0)
    EVENTS.append("build b2_async_settings")
    return {"client": b2_client, "retries": 3}


@injected
def b2_format(b2_client, /, text):
    return f"<{text}>"


@injected
async def a_b2_lookup(b2_async_settings, /, key):
    await asyncio.sleep(0)
    return b2_async_settings[key]


@do
def ask(key):
    return (yield Ask(key))


@do
def pipeline():
    EVENTS.append("pipeline start")
    client = yield Ask("b2_client")
    EVENTS.append("got client")
    settings = yield Ask("b2_async_settings")
    return client, settings


def test_design_keys_and_implicit_instances_are_answered_with_the_resolvers_singletons():
    env = PinjectedEnv(design(b2_threshold=0.5))
    client, settings = run(pipeline(), handlers=[env])
    assert run(ask("b2_threshold"), handlers=[env]) == 0.5
    assert settings["client"] is client
    # the same objects pinjected's own resolver hands out
    assert env.resolver.objects  # built into the resolver, not beside it
    from pinjected.v2.keys import StrBindKey

    assert env.resolver.objects[StrBindKey("b2_client")] is client
    assert env.resolver.objects[StrBindKey("b2_async_settings")] is settings


def test_instances_are_built_once_across_runs_and_concurrent_tasks_at_first_ask():
    env = pinjected_env(design())

    @do
    def many():
        tasks = []
        for _ in range(4):
            tasks.append((yield Spawn(ask("b2_client"))))
        return (yield Gather(*tasks))

    clients = run(many(), handlers=[env])
    again = run(ask("b2_client"), handlers=[env])
    assert all(c is again for c in clients)
    assert EVENTS.count("build b2_client") == 1


def test_side_effects_keep_the_order_of_first_use():
    run(pipeline(), handlers=[PinjectedEnv(design())])
    assert EVENTS == ["pipeline start", "build b2_client", "got client", "build b2_async_settings"]


def test_pinjected_functions_become_program_makers_sync_and_async():
    @do
    def uses():
        fmt = yield Ask("b2_format")
        lookup = yield Ask("a_b2_lookup")
        retries = yield lookup("retries")
        return fmt, (yield fmt(str(retries)))

    fmt, text = run(uses(), handlers=[PinjectedEnv(design())])
    assert isinstance(fmt, PinjectedFunction)
    assert text == "<3>"


def test_keys_pinjected_does_not_bind_pass_to_the_env_outside():
    env = PinjectedEnv(design(b2_threshold=0.5))
    assert run(ask("b2_local_only"), handlers=[env], env={"b2_local_only": "mine"}) == "mine"
    with pytest.raises(MissingEnvKeyError, match="b2_nowhere"):
        run(ask("b2_nowhere"), handlers=[env], env={"b2_local_only": "mine"})
    with pytest.raises(UnhandledEffect, match="b2_nowhere"):
        run(ask("b2_nowhere"), handlers=[env])


def test_skip_leaves_keys_to_the_migrated_env_and_local_overrides_win():
    env = PinjectedEnv(design(b2_threshold=0.5), skip=["b2_threshold"])
    assert run(ask("b2_threshold"), handlers=[env], env={"b2_threshold": 0.9}) == 0.9

    @do
    def overridden():
        return (yield Local({"b2_threshold": "local"}, ask("b2_threshold")))

    assert run(overridden(), handlers=[PinjectedEnv(design(b2_threshold=0.5))], env={}) == "local"


def test_sharing_an_existing_resolver_running_on_its_own_loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        resolver = AsyncResolver(design(b2_threshold=0.25))
        theirs = asyncio.run_coroutine_threadsafe(resolver.provide("b2_client"), loop).result(5)
        env = PinjectedEnv(resolver, loop=loop)
        assert run(ask("b2_client"), handlers=[env]) is theirs
        assert run(ask("b2_async_settings"), handlers=[env])["client"] is theirs
        assert env.resolver is resolver
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert EVENTS.count("build b2_client") == 1


def test_pinjected_code_depending_on_a_migrated_instance_shares_it_with_migrated_code():
    @instance_binding
    @do
    def b2_migrated_cache():
        EVENTS.append("build cache")
        yield Await(asyncio.sleep(0))  # runs on the runtime's loop: must not deadlock
        return {"hits": 0}

    @injected
    def b2_legacy_counter(b2_migrated_cache, /):
        return b2_migrated_cache

    @do
    def both():
        counter = yield Ask("b2_legacy_counter")
        cache = yield Ask("b2_migrated_cache")
        return (yield counter()), cache

    from_legacy, from_migrated = run(both(), handlers=[PinjectedEnv(design())])
    assert from_legacy is from_migrated
    assert EVENTS == ["build cache"]


def test_migrated_function_bridged_into_pinjected_and_called_back_from_migrated_code():
    @do
    def scaled(x):
        factor = yield Ask("b2_factor")
        return x * factor

    @injected
    async def a_b2_legacy_twice(b2_scaled, /, x):
        return 2 * (await b2_scaled(x))

    @do
    def main():
        twice = yield Ask("a_b2_legacy_twice")
        return (yield twice(5))

    d = design(b2_scaled=as_injected(scaled, is_async=True), b2_factor=3)
    assert run(main(), handlers=[PinjectedEnv(d)]) == 30


def test_a_sync_bridged_call_on_the_runtime_loop_that_awaits_is_refused_instead_of_deadlocking():
    @do
    def sleepy(x):
        yield Await(asyncio.sleep(0))
        return x

    @injected
    async def a_b2_calls_sleepy(b2_sleepy, /, x):
        return b2_sleepy(x)  # a sync call, on the loop that runs this coroutine

    @do
    def main():
        calls_sleepy = yield Ask("a_b2_calls_sleepy")
        return (yield calls_sleepy(1))

    env = PinjectedEnv(design(b2_sleepy=as_injected(sleepy, is_async=False)))
    with pytest.raises(PinjectedBridgeError, match="performed Await.*is_async=True"):
        run(main(), handlers=[env])
    # bridged as async and awaited, the same call works
    env = PinjectedEnv(design(b2_sleepy=as_injected(sleepy, is_async=True)))

    @injected
    async def a_b2_awaits_sleepy(b2_sleepy, /, x):
        return await b2_sleepy(x)

    @do
    def main_awaiting():
        awaits_sleepy = yield Ask("a_b2_awaits_sleepy")
        return (yield awaits_sleepy(2))

    assert run(main_awaiting(), handlers=[env]) == 2


def test_errors_raised_by_pinjected_providers_reach_the_ask():
    @instance
    def b2_broken():
        raise RuntimeError("no credentials")

    with pytest.raises(RuntimeError, match="no credentials"):
        run(ask("b2_broken"), handlers=[PinjectedEnv(design())])


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="PinjectedEnv expects a pinjected Design or AsyncResolver"):
        PinjectedEnv({"a": 1})

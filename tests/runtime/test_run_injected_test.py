"""``run_injected_test`` (runtime/testing.py): the body of a migrated ``@injected_pytest`` test."""

from __future__ import annotations

import sys
import types

import pytest

from doeff_migrate.runtime import Ask, Await, Pure, do
from doeff_migrate.runtime.testing import run_injected_test


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def test_override_goes_on_top_of_the_module_design_and_an_awaitable_result_is_awaited():
    async def later(x):
        return x

    @do
    def _test_value():
        factor = yield Ask("factor")
        return later(factor * 2)

    _module("dm_testing_override", __design__={"factor": 1})
    assert run_injected_test(_test_value(), "dm_testing_override", {"factor": 5}) == 10


def test_missing_required_key_fails_before_the_body_runs():
    ran = []

    @do
    def _test_needs():
        ran.append(1)
        return (yield Ask("api_key"))

    _module("dm_testing_missing", __design__={}, __doeff_requires__={"_test_needs": ("api_key",)})
    with pytest.raises(Exception, match="api_key"):
        run_injected_test(_test_needs(), "dm_testing_missing")
    assert ran == []


def test_an_override_that_is_not_an_env_mapping_is_refused_clearly():
    _module("dm_testing_bad", __design__={})
    with pytest.raises(TypeError, match="override must be an env mapping"):
        run_injected_test(Pure(1), "dm_testing_bad", object())


def test_await_effects_run_inside_the_test_program():
    async def fetch():
        return "ok"

    @do
    def _test_await():
        return (yield Await(fetch()))

    _module("dm_testing_await", __design__={})
    assert run_injected_test(_test_await(), "dm_testing_await") == "ok"

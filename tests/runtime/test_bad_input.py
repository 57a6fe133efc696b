"""Each misuse of the runtime gets a specific error naming what went wrong and where."""

from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import (
    Ask,
    EffectBase,
    MissingEnvKeyError,
    Resume,
    UnhandledEffect,
    design_env,
    do,
    handler,
    reader,
    run,
    state,
)


@dataclass(frozen=True)
class Ping(EffectBase[int]):
    pass


def test_yielding_a_non_effect_names_the_value_and_the_line():
    @do
    def prog():
        yield 42

    with pytest.raises(TypeError) as info:
        run(prog())
    msg = str(info.value)
    assert "may only yield effects or programs; got 42" in msg
    assert "test_bad_input.py" in msg and "in prog" in msg


def test_yielding_an_uncalled_do_function_says_call_it():
    @do
    def sub():
        return 1

    @do
    def prog():
        return (yield sub)

    with pytest.raises(TypeError, match=r"yielded the function .*sub itself .*call it first"):
        run(prog())


def test_yielding_a_coroutine_points_to_await():
    async def coro():
        return 1

    @do
    def prog():
        c = coro()
        try:
            yield c
        finally:
            c.close()

    with pytest.raises(TypeError, match=r"Await\(coroutine\)"):
        run(prog())


def test_bad_yield_is_raised_at_the_yield_so_the_program_can_catch_it():
    @do
    def prog():
        try:
            yield "nope"
        except TypeError:
            return "caught"

    assert run(prog()) == "caught"


def test_run_on_a_do_function_says_call_it_first():
    @do
    def main():
        return 1

    with pytest.raises(TypeError, match=r"got the @do function .*main.* itself.*call it first"):
        run(main)


def test_run_on_a_plain_function_says_decorate_with_do():
    def plain():
        return 1

    with pytest.raises(TypeError, match="plain callable — decorate it with @do"):
        run(plain)


def test_run_on_a_value():
    with pytest.raises(TypeError, match="run\\(\\) expects a program"):
        run(3)


def test_resuming_twice_is_a_one_shot_violation():
    @handler
    def twice(effect: Ping, k):
        yield Resume(k, 1)
        return (yield Resume(k, 2))

    @do
    def prog():
        return (yield Ping())

    with pytest.raises(RuntimeError, match=r"continuation already consumed \(one-shot violation\).*at .*test_bad_input.py:\d+ in twice"):
        run(twice(prog()))


def test_handler_annotation_that_no_effect_can_match_is_refused_at_install():
    @handler
    def wrong(effect: str, k):
        return (yield Resume(k, 1))

    @do
    def prog():
        return (yield Ping())

    with pytest.raises(TypeError, match=r"wrong \(defined at .*test_bad_input.py:\d+\) filters on str, which no effect can be"):
        wrong(prog())


def test_missing_env_key_names_key_available_keys_and_close_matches():
    @do
    def prog():
        return (yield Ask("learning_rat"))

    with pytest.raises(MissingEnvKeyError) as info:
        run(prog(), env={"learning_rate": 1e-3, "batch_size": 32})
    msg = str(info.value)
    assert "'learning_rat'" in msg
    assert "available keys: ['batch_size', 'learning_rate']" in msg
    assert "did you mean 'learning_rate'" in msg
    assert "asked at " in msg and "test_bad_input.py" in msg and "in prog" in msg
    assert isinstance(info.value, KeyError)


def test_missing_env_key_raised_at_the_yield_is_catchable():
    @do
    def prog():
        try:
            return (yield Ask("missing"))
        except KeyError:
            return "default"

    assert run(reader(env={})(prog())) == "default"
    assert run(design_env({})(prog())) == "default"


def test_exception_inside_a_handler_reaches_the_program_at_its_yield():
    @handler
    def broken(effect: Ping, k):
        raise ValueError("handler failed")
        yield  # pragma: no cover

    @do
    def prog():
        try:
            yield Ping()
        except ValueError as err:
            return f"program saw: {err}"

    assert run(broken(prog())) == "program saw: handler failed"


def test_uncaught_exception_keeps_the_programs_frames_in_the_traceback():
    @do
    def inner():
        yield Ask("x")
        raise RuntimeError("boom")

    @do
    def outer():
        return (yield inner())

    with pytest.raises(RuntimeError, match="boom") as info:
        run(outer(), env={"x": 1})
    names = [entry.name for entry in info.traceback]
    assert "inner" in names and "outer" in names


def test_unhandled_effect_names_effect_location_and_handler_to_install():
    @do
    def prog():
        return (yield Ping())

    with pytest.raises(UnhandledEffect) as info:
        run(prog())
    msg = str(info.value)
    assert "no handler for Ping()" in msg
    assert "test_bad_input.py" in msg and "in prog" in msg
    assert "install a @handler for Ping" in msg


def test_unhandled_standard_effect_hints_the_standard_handler():
    @do
    def prog():
        return (yield Ask("k"))

    with pytest.raises(UnhandledEffect, match=r"reader\(env=\{\.\.\.\}\)"):
        run(prog())


def test_handler_factory_called_with_a_program_names_the_intended_call():
    @do
    def prog():
        return 1

    with pytest.raises(TypeError, match=r"state\(\) got a program.*state\(\.\.\.\)\(program\)"):
        state(prog())


def test_async_def_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"yield Await\(coro\)"):

        @do
        async def fetch():
            return 1


def test_returning_an_unyielded_resume_is_refused():
    @handler
    def lazy(effect: Ping, k):
        return Resume(k, 1)

    @do
    def prog():
        return (yield Ping())

    with pytest.raises(TypeError, match=r"without yielding it"):
        run(lazy(prog()))


def test_a_singleton_that_needs_itself_is_a_named_dependency_cycle():
    from doeff_migrate.runtime.handlers import DependencyCycleError

    @do
    def make_a():
        return (yield Ask("b"))

    @do
    def make_b():
        return (yield Ask("a"))

    @do
    def main():
        return (yield Ask("a"))

    with pytest.raises(DependencyCycleError, match=r"dependency cycle while building 'a': 'a' -> 'b' -> 'a'"):
        run(main(), env={"a": make_a(), "b": make_b()})

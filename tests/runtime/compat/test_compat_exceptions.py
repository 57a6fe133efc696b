"""Python exceptions across yields: try/except/finally in programs around sub-programs and effects,
on doeff 0.8.0 and on the runtime."""

from dataclasses import dataclass

import pytest

from compat_harness import Scenarios, check_scenario, raised, returned

SCENARIOS = Scenarios()


def tick_handler(api):
    """A `Tick` effect and a handler answering it with its argument, so programs have yields."""

    @dataclass(frozen=True)
    class Tick(api.EffectBase[int]):
        n: int

    @api.handler
    def ticks(effect: Tick, k):
        api.trace.append(("tick", effect.n))
        return (yield api.Resume(k, effect.n))

    return Tick, ticks


@SCENARIOS.add(returned(("caught", "ZeroDivisionError"), ("tick", 1)))
def except_catches_a_failing_sub_program(api):
    Tick, ticks = tick_handler(api)

    @api.do
    def divide(n):
        d = yield Tick(n)
        return 1 / (d - 1)

    @api.do
    def main():
        try:
            return (yield divide(1))
        except ZeroDivisionError as exc:
            return ("caught", type(exc).__name__)

    return api.run(ticks(main()))


@SCENARIOS.add(raised("ValueError", "Exception", trace=(("tick", 1), "leaf finally", "mid finally", "top finally")))
def finally_blocks_run_innermost_first(api):
    Tick, ticks = tick_handler(api)

    @api.do
    def leaf():
        try:
            yield Tick(1)
            raise ValueError("leaf")
        finally:
            api.trace.append("leaf finally")

    @api.do
    def mid():
        try:
            return (yield leaf())
        finally:
            api.trace.append("mid finally")

    @api.do
    def top():
        try:
            return (yield mid())
        finally:
            api.trace.append("top finally")

    return api.run(ticks(top()))


@SCENARIOS.add(returned(3, ("tick", 1), "recovered", ("tick", 2)))
def program_continues_with_effects_after_catching(api):
    Tick, ticks = tick_handler(api)

    @api.do
    def failing():
        yield Tick(1)
        raise KeyError("missing")

    @api.do
    def main():
        try:
            yield failing()
        except KeyError:
            api.trace.append("recovered")
        return 1 + (yield Tick(2))

    return api.run(ticks(main()))


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("cause=KeyError",)))
def except_reraises_as_another_type(api):
    @api.do
    def failing():
        raise KeyError("k")
        yield

    @api.do
    def main():
        try:
            yield failing()
        except KeyError as exc:
            raise RuntimeError("wrapped") from exc

    try:
        return api.run(main())
    except RuntimeError as exc:
        api.trace.append(f"cause={type(exc.__cause__).__name__}")
        raise


@SCENARIOS.add(returned(("caught", "ValueError"), ("tick", 1), "finally", ("tick", 2)))
def finally_may_perform_effects_while_unwinding(api):
    Tick, ticks = tick_handler(api)

    @api.do
    def failing():
        try:
            yield Tick(1)
            raise ValueError("v")
        finally:
            api.trace.append("finally")
            yield Tick(2)

    @api.do
    def main():
        try:
            yield failing()
        except ValueError as exc:
            return ("caught", type(exc).__name__)

    return api.run(ticks(main()))


@SCENARIOS.add(returned(["a", ("err", "ValueError"), "c"]))
def exception_in_one_sub_program_does_not_disturb_siblings(api):
    @api.do
    def item(name):
        if name == "b":
            raise ValueError(name)
        return name
        yield

    @api.do
    def main():
        results = []
        for name in "abc":
            try:
                results.append((yield item(name)))
            except ValueError as exc:
                results.append(("err", type(exc).__name__))
        return results

    return api.run(main())


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("cause=StopIteration",)))
def stop_iteration_raised_in_a_program_body(api):
    @api.do
    def main():
        yield api.Pure(None)
        raise StopIteration("explicit")

    try:
        return api.run(main())
    except Exception as exc:
        # PEP 479: a StopIteration raised in a generator body reaches the caller as RuntimeError.
        api.trace.append(f"cause={type(exc.__cause__).__name__}")
        raise


@SCENARIOS.add(returned(("handled at", "outer"), ("tick", 5)))
def exception_passes_through_a_handler_boundary(api):
    Tick, ticks = tick_handler(api)

    @api.do
    def inner():
        yield Tick(5)
        raise ValueError("inside the handled block")

    @api.do
    def main():
        try:
            yield ticks(inner())
        except ValueError:
            return ("handled at", "outer")

    return api.run(main())


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda scenario: scenario.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)

"""Four shapes where differential fuzzing once found the runtime and doeff 0.8.0 apart, and the
order in which an abort closes frames; each pinned to what doeff does."""

from dataclasses import dataclass

import pytest

from compat_harness import Scenarios, check_scenario, returned

SCENARIOS = Scenarios()


def boom_handler(api):
    @dataclass(frozen=True)
    class Boom(api.EffectBase):
        pass

    @api.handler
    def fail(effect: Boom, k):
        api.trace.append("handler raises")
        raise ValueError("x")

    return Boom, fail


# --- a plain-function @handler that raises: the exception arrives at the program's yield


@SCENARIOS.add(returned("caught", "handler raises"))
def plain_handler_raising_is_caught_around_the_yield(api):
    Boom, fail = boom_handler(api)

    @api.do
    def main():
        try:
            yield Boom()
        except ValueError:
            return "caught"
        return "not raised"

    return api.run(fail(main()))


@SCENARIOS.add(returned(("Err", "ValueError"), "handler raises"))
def plain_handler_raising_becomes_err_under_try(api):
    Boom, fail = boom_handler(api)

    @api.do
    def body():
        yield Boom()

    @api.do
    def main():
        result = yield api.Try(body())
        return (type(result).__name__, type(result.error).__name__)

    return api.run(api.try_handler(fail(main())))


@SCENARIOS.add(returned(("task failed", "ValueError", "main goes on"), "handler raises"))
def plain_handler_raising_fails_only_its_spawned_task(api):
    Boom, fail = boom_handler(api)

    @api.do
    def task_body():
        yield Boom()

    @api.do
    def main():
        task = yield api.Spawn(task_body())
        try:
            yield api.Wait(task)
        except ValueError as err:
            return ("task failed", type(err).__name__, "main goes on")
        return "not raised"

    return api.run(api.scheduled(fail(main())))


# --- non-tail Resume reached through `yield from`, next to a tail Resume


def resume_through_helper(api, which):
    @dataclass(frozen=True)
    class Direct(api.EffectBase):
        pass

    @dataclass(frozen=True)
    class Helped(api.EffectBase):
        pass

    def post_process(k, value):
        result = yield api.Resume(k, value)
        api.trace.append(("helper got", result))
        return ("wrapped", result)

    @api.handler
    def h(effect: Direct | Helped, k):
        if isinstance(effect, Direct):
            return (yield api.Resume(k, "a"))
        return (yield from post_process(k, "b"))

    @api.do
    def main():
        return (yield (Direct() if which == "direct" else Helped()))

    return api.run(h(main()))


@SCENARIOS.add(returned(("wrapped", "b"), ("helper got", "b")))
def resume_through_yield_from_helper_keeps_post_processing(api):
    return resume_through_helper(api, "helped")


@SCENARIOS.add(returned("a"))
def tail_resume_next_to_a_helper_resume(api):
    return resume_through_helper(api, "direct")


# --- lazy_ask + Local: entries cached by what they depend on


def model_env(api):
    @api.do
    def build_model():
        lr = yield api.Ask("lr")
        api.trace.append(("model built", lr))
        return ("model", lr)

    @api.do
    def build_optimizer():
        model = yield api.Ask("model")
        api.trace.append(("optimizer built", model[1]))
        return ("optimizer", model)

    def install(program):
        env = {"lr": 0.1, "model": build_model(), "optimizer": build_optimizer()}
        return api.run(api.scheduled(api.lazy_ask(env=env)(program)))

    return install


@SCENARIOS.add(returned((("model", 0.1), ("model", 0.5)), ("model built", 0.1), ("model built", 0.5)))
def local_override_rebuilds_an_entry_that_depends_on_it(api):
    install = model_env(api)

    @api.do
    def main():
        first = yield api.Ask("model")
        return (first, (yield api.Local({"lr": 0.5}, api.Ask("model"))))

    return install(main())


@SCENARIOS.add(returned((("model", 0.1), ("model", 0.1)), ("model built", 0.1)))
def entry_built_under_an_unrelated_override_is_shared(api):
    install = model_env(api)

    @api.do
    def main():
        inside = yield api.Local({"other": 1}, api.Ask("model"))
        return (inside, (yield api.Ask("model")))

    return install(main())


@SCENARIOS.add(
    returned(
        (0.1, 0.5, 0.1),
        ("model built", 0.1), ("optimizer built", 0.1), ("model built", 0.5), ("optimizer built", 0.5),
    )
)
def override_reaches_an_entry_through_another_entry(api):
    install = model_env(api)

    @api.do
    def main():
        before = yield api.Ask("optimizer")
        inside = yield api.Local({"lr": 0.5}, api.Ask("optimizer"))
        after = yield api.Ask("optimizer")
        return (before[1][1], inside[1][1], after[1][1])

    return install(main())


@SCENARIOS.add(returned((0.5, 0.5), ("model built", 0.5), ("model built", 0.5)))
def each_local_scope_builds_its_dependent_entries_again(api):
    install = model_env(api)

    @api.do
    def main():
        a = yield api.Local({"lr": 0.5}, api.Ask("model"))
        b = yield api.Local({"lr": 0.5}, api.Ask("model"))
        return (a[1], b[1])

    return install(main())


@SCENARIOS.add(
    returned((None, None), "built", "built"),
    runtime_expected=returned((None, None), "built"),
    difference=(
        "doeff 0.8.0 treats a cached None as a miss, so an entry whose value is None is built again on "
        "every Ask; the runtime builds every entry once, as a pinjected singleton is"
    ),
)
def lazy_entry_whose_value_is_none_is_built_once(api):
    @api.do
    def build():
        api.trace.append("built")
        return None
        yield

    @api.do
    def main():
        return ((yield api.Ask("svc")), (yield api.Ask("svc")))

    return api.run(api.scheduled(api.lazy_ask(env={"svc": build()})(main())))


# --- writer under a user's state handler


def dict_state(api):
    store = {}

    @api.handler
    def user_state(effect: api.Get | api.Put, k):
        if isinstance(effect, api.Get):
            api.trace.append(("get", effect.key))
            return (yield api.Resume(k, store.get(effect.key)))
        api.trace.append(("put", effect.key))
        store[effect.key] = effect.value
        return (yield api.Resume(k, None))

    return user_state


def tell_two():
    def main(api):
        @api.do
        def body():
            yield api.Tell("a")
            yield api.Tell("b")
            return (yield api.writer_log())

        return body()

    return main


LOG = "__doeff_writer_log__"


@SCENARIOS.add(returned(["a", "b"], ("get", LOG), ("put", LOG), ("get", LOG), ("get", LOG)))
def writer_keeps_its_log_in_a_user_state_handler(api):
    return api.run(dict_state(api)(api.writer(tell_two()(api))))


@SCENARIOS.add(returned(["a", "b"], ("get", LOG), ("put", LOG), ("get", LOG), ("get", LOG)))
def writer_uses_the_nearest_state_handler_not_the_native_one(api):
    return api.run(api.state()(dict_state(api)(api.writer(tell_two()(api)))))


@SCENARIOS.add(returned(["a", "b"]))
def writer_under_native_state_inside_a_user_state_handler(api):
    return api.run(dict_state(api)(api.state()(api.writer(tell_two()(api)))))


# --- an abort closes the abandoned frames in doeff's order


@SCENARIOS.add(returned("aborted", "middle finally", "inner finally", "outer finally"))
def abort_closes_frames_segment_by_segment_outermost_frame_first(api):
    @dataclass(frozen=True)
    class Stop(api.EffectBase):
        pass

    @api.handler
    def stop(effect: Stop, k):
        return "aborted"
        yield

    @api.handler
    def passing(effect: Stop, k):
        return (yield api.Pass(effect, k))

    @api.do
    def inner():
        try:
            yield Stop()
        finally:
            api.trace.append("inner finally")

    @api.do
    def middle():
        try:
            return (yield inner())
        finally:
            api.trace.append("middle finally")

    @api.do
    def outer():
        try:
            return (yield passing(middle()))
        finally:
            api.trace.append("outer finally")

    return api.run(stop(outer()))


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda s: s.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)

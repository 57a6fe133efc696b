"""Handler control flow: type filters, Resume/Transfer/ResumeThrow/TransferThrow/Pass, re-performing,
aborting, one-shot continuations and handler stacking, on doeff 0.8.0 and on the runtime."""

from dataclasses import dataclass

import pytest

from compat_harness import Scenarios, check_scenario, raised, returned

SCENARIOS = Scenarios()


def effect_types(api):
    """Two unrelated user effects, so type filters have something to tell apart."""

    @dataclass(frozen=True)
    class Fetch(api.EffectBase[str]):
        url: str

    @dataclass(frozen=True)
    class Sleep(api.EffectBase[None]):
        seconds: float

    return Fetch, Sleep


@SCENARIOS.add(returned(["page:a", "slept"], ("fetch", "a"), ("sleep", 1.0)))
def type_filter_routes_each_effect(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def fetcher(effect: Fetch, k):
        api.trace.append(("fetch", effect.url))
        return (yield api.Resume(k, "page:" + effect.url))

    @api.handler
    def sleeper(effect: Sleep, k):
        api.trace.append(("sleep", effect.seconds))
        return (yield api.Resume(k, "slept"))

    @api.do
    def main():
        return [(yield Fetch("a")), (yield Sleep(1.0))]

    # fetcher is innermost: Sleep passes it by type without running its body.
    return api.run(sleeper(fetcher(main())))


@SCENARIOS.add(returned(["Fetch", "Sleep"], "Fetch", "Sleep"))
def union_annotation_filters_both_types(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def both(effect: Fetch | Sleep, k):
        api.trace.append(type(effect).__name__)
        return (yield api.Resume(k, type(effect).__name__))

    @api.do
    def main():
        return [(yield Fetch("a")), (yield Sleep(0.0))]

    return api.run(both(main()))


@SCENARIOS.add(returned("x-value", ("saw", "Fetch"), ("saw", "Ask")))
def untyped_handler_sees_every_effect_and_passes(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def spy(effect, k):
        api.trace.append(("saw", type(effect).__name__))
        return (yield api.Pass(effect, k))

    @api.handler
    def fetcher(effect: Fetch, k):
        return (yield api.Resume(k, "ignored"))

    @api.do
    def main():
        yield Fetch("a")
        return (yield api.Ask("x"))

    return api.run(api.reader(env={"x": "x-value"})(fetcher(spy(main()))))


@SCENARIOS.add(returned(("wrapped", "body:cached"), "resume", "body done", "handler got block result"))
def resume_returns_the_block_result_to_the_handler(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def wrap(effect: Fetch, k):
        api.trace.append("resume")
        block_result = yield api.Resume(k, "cached")
        api.trace.append("handler got block result")
        return ("wrapped", block_result)

    @api.do
    def main():
        page = yield Fetch("u")
        api.trace.append("body done")
        return "body:" + page

    return api.run(wrap(main()))


@SCENARIOS.add(returned(("outer saw", ("inner", "body")), "inner after", "outer after"))
def resume_results_nest_through_two_handlers(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def outer(effect: Sleep, k):
        result = yield api.Resume(k, None)
        api.trace.append("outer after")
        return ("outer saw", result)

    @api.handler
    def inner(effect: Fetch, k):
        result = yield api.Resume(k, "page")
        api.trace.append("inner after")
        return ("inner", result)

    @api.do
    def main():
        yield Sleep(0.0)
        yield Fetch("u")
        return "body"

    return api.run(outer(inner(main())))


@SCENARIOS.add(returned("body:page", "transfer"))
def transfer_does_not_return_to_the_handler(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def fetcher(effect: Fetch, k):
        api.trace.append("transfer")
        result = yield api.Transfer(k, "page")
        api.trace.append(("after transfer", result))
        return result

    @api.do
    def main():
        return "body:" + (yield Fetch("u"))

    return api.run(fetcher(main()))


@SCENARIOS.add(returned(("caught", "ValueError", "bad url"), "throw"))
def resume_throw_raises_at_the_yield(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def failing(effect: Fetch, k):
        api.trace.append("throw")
        return (yield api.ResumeThrow(k, ValueError("bad url")))

    @api.do
    def main():
        try:
            yield Fetch("u")
        except ValueError as exc:
            return ("caught", type(exc).__name__, str(exc))
        return "not raised"

    return api.run(failing(main()))


@SCENARIOS.add(returned(("handler got", "recovered"), "program recovered"))
def resume_throw_returns_the_block_result(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def failing(effect: Fetch, k):
        result = yield api.ResumeThrow(k, ValueError("bad url"))
        return ("handler got", result)

    @api.do
    def main():
        try:
            yield Fetch("u")
        except ValueError:
            api.trace.append("program recovered")
            return "recovered"
        return "not raised"

    return api.run(failing(main()))


@SCENARIOS.add(raised("ConnectionError", "OSError", "Exception", trace=("finally",)))
def transfer_throw_uncaught_reaches_run(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def failing(effect: Fetch, k):
        yield api.TransferThrow(k, ConnectionError("down"))
        api.trace.append("after transfer throw")

    @api.do
    def main():
        try:
            yield Fetch("u")
        finally:
            api.trace.append("finally")
        return "not raised"

    return api.run(failing(main()))


@SCENARIOS.add(returned("outer:u", "inner passes", "outer answers"))
def pass_is_terminal(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def outer(effect: Fetch, k):
        api.trace.append("outer answers")
        return (yield api.Resume(k, "outer:" + effect.url))

    @api.handler
    def inner(effect: Fetch, k):
        api.trace.append("inner passes")
        yield api.Pass(effect, k)
        api.trace.append("inner after pass")

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(outer(inner(main())))


@SCENARIOS.add(raised("UnhandledEffect", "RuntimeError", "Exception", trace=("passed",)))
def pass_with_no_outer_handler_is_unhandled(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def only(effect: Fetch, k):
        api.trace.append("passed")
        return (yield api.Pass(effect, k))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(only(main()))


@SCENARIOS.add(returned("body:OUTER:U", ("inner got", "outer:u"), "inner resumes"))
def reperform_from_handler_body_keeps_control(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def outer(effect: Fetch, k):
        return (yield api.Resume(k, "outer:" + effect.url))

    @api.handler
    def upper(effect: Fetch, k):
        answer = yield effect
        api.trace.append(("inner got", answer))
        api.trace.append("inner resumes")
        return (yield api.Resume(k, answer.upper()))

    @api.do
    def main():
        return "body:" + (yield Fetch("u"))

    return api.run(outer(upper(main())))


@SCENARIOS.add(returned("page", ("attempt", 0), ("attempt", 1), ("attempt", 2)))
def reperform_retries_exceptions_from_the_outer_handler(api):
    Fetch, _ = effect_types(api)
    calls = []

    @api.handler
    def flaky(effect: Fetch, k):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("first call fails")
        if len(calls) == 2:
            return (yield api.ResumeThrow(k, OSError("second call fails")))
        return (yield api.Resume(k, "page"))

    @api.handler
    def retry(effect: Fetch, k):
        for attempt in range(3):
            api.trace.append(("attempt", attempt))
            try:
                page = yield effect
            except OSError:
                continue
            return (yield api.Transfer(k, page))
        return (yield api.TransferThrow(k, OSError("gave up")))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(flaky(retry(main())))


@SCENARIOS.add(returned("page+slept", ("outer sleep", 2.0), "fetch resumes"))
def handler_body_effects_go_to_outer_handlers_only(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def outer(effect: Sleep, k):
        api.trace.append(("outer sleep", effect.seconds))
        return (yield api.Resume(k, "slept"))

    @api.handler
    def both(effect: Fetch | Sleep, k):
        if isinstance(effect, Sleep):
            api.trace.append("inner sleep (must not run for the handler's own Sleep)")
            return (yield api.Resume(k, "inner slept"))
        slept = yield Sleep(2.0)
        api.trace.append("fetch resumes")
        return (yield api.Resume(k, "page+" + slept))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(outer(both(main())))


@SCENARIOS.add(returned(7, ("sub program in handler", "u")))
def handler_body_may_yield_a_sub_program(api):
    Fetch, _ = effect_types(api)

    @api.do
    def length_of(url):
        api.trace.append(("sub program in handler", url))
        return len(url) + 6
        yield

    @api.handler
    def fetcher(effect: Fetch, k):
        n = yield length_of(effect.url)
        return (yield api.Resume(k, n))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(fetcher(main()))


@SCENARIOS.add(returned("aborted", "before"))
def abort_by_returning_without_resuming(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def abort(effect: Fetch, k):
        return "aborted"
        yield

    @api.do
    def main():
        api.trace.append("before")
        yield Fetch("u")
        api.trace.append("after (never)")
        return "body"

    return api.run(abort(main()))


@SCENARIOS.add(returned(("outer", "aborted"), "outer resumes"))
def abort_ends_only_the_handled_block(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def abort(effect: Fetch, k):
        return "aborted"
        yield

    @api.do
    def block():
        yield Fetch("u")
        return "block body"

    @api.do
    def main():
        result = yield abort(block())
        yield Sleep(0.0)
        return ("outer", result)

    @api.handler
    def sleeper(effect: Sleep, k):
        api.trace.append("outer resumes")
        return (yield api.Resume(k, None))

    return api.run(sleeper(main()))


@SCENARIOS.add(returned("no yield", "plain handler"))
def handler_without_yield_ends_the_block(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def plain(effect: Fetch, k):
        api.trace.append("plain handler")
        return "no yield"

    @api.do
    def main():
        yield Fetch("u")
        api.trace.append("after (never)")
        return "body"

    return api.run(plain(main()))


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("first resume done",)))
def resuming_twice_is_a_one_shot_violation(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def twice(effect: Fetch, k):
        yield api.Resume(k, "first")
        api.trace.append("first resume done")
        return (yield api.Resume(k, "second"))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(twice(main()))


@SCENARIOS.add(returned(("caught", "LookupError", "no such page")))
def raise_in_handler_body_appears_at_the_yield(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def failing(effect: Fetch, k):
        raise LookupError("no such page")
        yield

    @api.do
    def main():
        try:
            yield Fetch("u")
        except LookupError as exc:
            return ("caught", type(exc).__name__, str(exc))
        return "not raised"

    return api.run(failing(main()))


@SCENARIOS.add(raised("HandlerBug", "Exception", trace=("finally in program",)))
def raise_in_handler_body_uncaught_reaches_run(api):
    Fetch, _ = effect_types(api)

    class HandlerBug(Exception):
        pass

    @api.handler
    def failing(effect: Fetch, k):
        raise HandlerBug("broken handler")
        yield

    @api.do
    def main():
        try:
            return (yield Fetch("u"))
        finally:
            api.trace.append("finally in program")

    return api.run(failing(main()))


@SCENARIOS.add(returned(["inner:a", "outer:b"], ("inner", "a"), ("inner passes", "b"), ("outer", "b")))
def nested_handlers_of_the_same_type(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def outer(effect: Fetch, k):
        api.trace.append(("outer", effect.url))
        return (yield api.Resume(k, "outer:" + effect.url))

    @api.handler
    def inner(effect: Fetch, k):
        if effect.url == "a":
            api.trace.append(("inner", effect.url))
            return (yield api.Resume(k, "inner:" + effect.url))
        api.trace.append(("inner passes", effect.url))
        return (yield api.Pass(effect, k))

    @api.do
    def main():
        return [(yield Fetch("a")), (yield Fetch("b"))]

    return api.run(outer(inner(main())))


def tagging_handlers(api, Fetch):
    """Three untyped handlers that log their name and pass, and one that answers Fetch."""

    def tagger(name):
        @api.handler
        def tag(effect, k):
            api.trace.append(name)
            return (yield api.Pass(effect, k))

        return tag

    @api.handler
    def answer(effect: Fetch, k):
        api.trace.append("answer")
        return (yield api.Resume(k, "page"))

    return tagger("first"), tagger("second"), tagger("third"), answer


@SCENARIOS.add(returned("page", "third", "second", "first", "answer"))
def with_handlers_lists_the_outermost_first(api):
    Fetch, _ = effect_types(api)
    first, second, third, answer = tagging_handlers(api, Fetch)

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(api.with_handlers([answer, first, second, third], main()))


@SCENARIOS.add(returned(["page", "page"], "third", "second", "first", "answer", "third", "second", "first", "answer"))
def stacked_handlers_bundle_is_reusable(api):
    Fetch, _ = effect_types(api)
    first, second, third, answer = tagging_handlers(api, Fetch)
    bundle = api.stacked_handlers(answer, first, second, third)

    @api.do
    def main():
        return (yield Fetch("u"))

    return [api.run(bundle(main())), api.run(bundle(main()))]


@SCENARIOS.add(returned(3, ("handled", 0), ("handled", 1), ("handled", 2)))
def handler_runs_once_per_effect(api):
    Fetch, _ = effect_types(api)
    count = []

    @api.handler
    def counting(effect: Fetch, k):
        api.trace.append(("handled", len(count)))
        count.append(effect)
        return (yield api.Resume(k, len(count)))

    @api.do
    def main():
        last = 0
        for url in "abc":
            last = yield Fetch(url)
        return last

    return api.run(counting(main()))


@SCENARIOS.add(returned(("post", "body", "slept"), "sleep after resume"))
def handler_performs_effects_after_resume(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def sleeper(effect: Sleep, k):
        api.trace.append("sleep after resume")
        return (yield api.Resume(k, "slept"))

    @api.handler
    def post(effect: Fetch, k):
        result = yield api.Resume(k, "page")
        slept = yield Sleep(0.0)
        return ("post", result, slept)

    @api.do
    def main():
        yield Fetch("u")
        return "body"

    return api.run(sleeper(post(main())))


@SCENARIOS.add(returned(("handler caught", "ValueError"), "block raises"))
def block_exception_surfaces_at_the_handlers_resume(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def guard(effect: Fetch, k):
        try:
            return (yield api.Resume(k, "page"))
        except ValueError as exc:
            return ("handler caught", type(exc).__name__)

    @api.do
    def main():
        yield Fetch("u")
        api.trace.append("block raises")
        raise ValueError("after the effect")

    return api.run(guard(main()))


@SCENARIOS.add(returned(("handler caught", "KeyError")))
def uncaught_resume_throw_comes_back_to_the_handler(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def thrower(effect: Fetch, k):
        try:
            return (yield api.ResumeThrow(k, KeyError("k")))
        except KeyError as exc:
            return ("handler caught", type(exc).__name__)

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(thrower(main()))


@SCENARIOS.add(raised("ValueError", "Exception", trace=("handler finally",)))
def handler_finally_runs_when_the_block_raises(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def guarded(effect: Fetch, k):
        try:
            return (yield api.Resume(k, "page"))
        finally:
            api.trace.append("handler finally")

    @api.do
    def main():
        yield Fetch("u")
        raise ValueError("block failed")

    return api.run(guarded(main()))


@SCENARIOS.add(returned("outer aborted", "inner re-performs"))
def outer_abort_during_reperform_ends_the_outer_block(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def outer(effect: Fetch, k):
        return "outer aborted"
        yield

    @api.handler
    def inner(effect: Fetch, k):
        api.trace.append("inner re-performs")
        answer = yield effect
        api.trace.append(("inner got (never)", answer))
        return (yield api.Resume(k, answer))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(outer(inner(main())))


@SCENARIOS.add(returned(("scoped", "outer:late"), ("outer", "late")))
def handler_installed_on_a_sub_program_covers_only_it(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def outer(effect: Fetch, k):
        api.trace.append(("outer", effect.url))
        return (yield api.Resume(k, "outer:" + effect.url))

    @api.handler
    def scoped(effect: Fetch, k):
        return (yield api.Resume(k, "scoped"))

    @api.do
    def sub():
        return (yield Fetch("early"))

    @api.do
    def main():
        first = yield scoped(sub())
        return (first, (yield Fetch("late")))

    return api.run(outer(main()))


@SCENARIOS.add(returned(("Err", "UnhandledEffect")))
def try_turns_an_unhandled_effect_into_err(api):
    Fetch, _ = effect_types(api)

    @api.do
    def main():
        result = yield api.Try(Fetch("u"))
        if isinstance(result, api.Err):
            return ("Err", type(result.error).__name__)
        return ("Ok", result.value)

    return api.run(api.try_handler(main()))


@SCENARIOS.add(returned("page", ("seen", "Sleep"), "passes Fetch", ("seen", "Fetch")))
def handler_performs_an_effect_then_passes(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def outer(effect: Fetch | Sleep, k):
        api.trace.append(("seen", type(effect).__name__))
        if isinstance(effect, Sleep):
            return (yield api.Resume(k, None))
        return (yield api.Resume(k, "page"))

    @api.handler
    def inner(effect: Fetch, k):
        yield Sleep(0.0)
        api.trace.append("passes Fetch")
        return (yield api.Pass(effect, k))

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(outer(inner(main())))


@SCENARIOS.add(returned("aborted", "program finally", ("outer got", "aborted")))
def abort_unwinds_the_abandoned_program_before_going_on(api):
    Fetch, _ = effect_types(api)

    @api.handler
    def abort(effect: Fetch, k):
        return "aborted"
        yield

    @api.do
    def block():
        try:
            yield Fetch("u")
        finally:
            api.trace.append("program finally")

    @api.do
    def main():
        value = yield abort(block())
        api.trace.append(("outer got", value))
        return value

    return api.run(main())


@SCENARIOS.add(returned(["page", "slept"], ("fetcher", "Fetch"), ("both", "Sleep")))
def string_annotations_filter_like_real_ones(api):
    import compat_string_annotations

    return api.run(compat_string_annotations.build(api))


@SCENARIOS.add(returned(("faked:a", "faked:b")))
def user_handler_overrides_standard_ask(api):
    @api.handler
    def fake_env(effect: api.Ask, k):
        return (yield api.Resume(k, "faked:" + effect.key))

    @api.do
    def main():
        return ((yield api.Ask("a")), (yield api.Ask("b")))

    return api.run(api.reader(env={"a": "real"})(fake_env(main())))


@SCENARIOS.add(returned(("ok", ["x", "y"])))
def handler_annotated_with_tell_catches_tells(api):
    told = []

    @api.handler
    def capture(effect: api.Tell, k):
        told.append(effect.msg)
        return (yield api.Resume(k, None))

    @api.do
    def main():
        yield api.Tell("x")
        yield api.Tell("y")
        return "ok"

    return (api.run(capture(main())), told)


@SCENARIOS.add(returned("aborted", "finally starts"))
def effects_yielded_while_an_aborted_program_unwinds_are_dropped(api):
    Fetch, Sleep = effect_types(api)

    @api.handler
    def sleeper(effect: Sleep, k):
        api.trace.append("sleep answered (doeff never answers it)")
        return (yield api.Resume(k, None))

    @api.handler
    def abort(effect: Fetch, k):
        return "aborted"
        yield

    @api.do
    def block():
        try:
            yield Fetch("u")
        finally:
            api.trace.append("finally starts")
            yield Sleep(0.0)
            api.trace.append("finally ends (never)")

    return api.run(sleeper(abort(block())))


def resuming_twice(api, Fetch, recover_in_handler=False):
    @api.handler
    def twice(effect: Fetch, k):
        yield api.Resume(k, "first")
        api.trace.append("first resume returned")
        try:
            return (yield api.Resume(k, "second"))
        except RuntimeError:
            if not recover_in_handler:
                raise
            api.trace.append("handler caught the violation")
            return "handler recovered"

    return twice


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("first resume returned",)))
def one_shot_violation_is_not_catchable_by_the_handler(api):
    Fetch, _ = effect_types(api)

    @api.do
    def main():
        return (yield Fetch("u"))

    return api.run(resuming_twice(api, Fetch, recover_in_handler=True)(main()))


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("first resume returned",)))
def one_shot_violation_is_not_catchable_by_an_outer_program(api):
    Fetch, _ = effect_types(api)

    @api.do
    def main():
        return (yield Fetch("u"))

    @api.do
    def outer():
        try:
            return (yield resuming_twice(api, Fetch)(main()))
        except RuntimeError:
            api.trace.append("outer program caught it")
            return "caught"

    return api.run(outer())


@SCENARIOS.add(raised("RuntimeError", "Exception", trace=("first resume returned",)))
def one_shot_violation_is_not_turned_into_err_by_try(api):
    Fetch, _ = effect_types(api)

    @api.do
    def main():
        return (yield Fetch("u"))

    @api.do
    def tried():
        result = yield api.Try(resuming_twice(api, Fetch)(main()))
        api.trace.append(("Try gave", type(result).__name__))
        return "caught"

    return api.run(api.try_handler(tried()))


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda scenario: scenario.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)

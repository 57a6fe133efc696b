"""Misuse that doeff 0.8.0 refuses, and a few less common but legal forms: the runtime must refuse
(same exception type) or accept exactly the same things."""

from dataclasses import dataclass

import pytest

from compat_harness import Scenarios, check_scenario, raised, returned

SCENARIOS = Scenarios()


def fetch_program(api):
    @dataclass(frozen=True)
    class Fetch(api.EffectBase[str]):
        url: str

    @api.do
    def main():
        return (yield Fetch("u"))

    return Fetch, main


@SCENARIOS.add(raised("TypeError", "Exception"))
def returning_an_unyielded_resume_is_a_type_error(api):
    Fetch, main = fetch_program(api)

    @api.handler
    def unyielded(effect: Fetch, k):
        return api.Resume(k, "page")

    return api.run(unyielded(main()))


@SCENARIOS.add(raised("ValueError", "Exception", trace=(("block gave", "page"),)))
def raise_after_resume_reaches_run(api):
    Fetch, main = fetch_program(api)

    @api.handler
    def post_processing(effect: Fetch, k):
        block_result = yield api.Resume(k, "page")
        api.trace.append(("block gave", block_result))
        raise ValueError("post-processing failed")

    return api.run(post_processing(main()))


@SCENARIOS.add(raised("TypeError", "Exception"))
def with_handlers_refuses_a_plain_function(api):
    _, main = fetch_program(api)
    return api.run(api.with_handlers([lambda program: program], main()))


@SCENARIOS.add(raised("TypeError", "Exception"))
def stacked_handlers_refuses_an_undecorated_do_function(api):
    @api.do
    def not_a_handler(effect, k):
        return (yield api.Pass(effect, k))

    return api.stacked_handlers(not_a_handler)


@SCENARIOS.add(raised("TypeError", "Exception"))
def handler_factory_given_the_program_is_refused(api):
    _, main = fetch_program(api)
    return api.reader(main())


@SCENARIOS.add(raised("TypeError", "Exception"))
def handler_installer_called_without_a_program_is_refused(api):
    return api.writer()


@SCENARIOS.add(raised("TypeError", "Exception"))
def handler_refuses_a_lambda(api):
    return api.handler(lambda effect, k: None)


@SCENARIOS.add(returned(("tuple", "type")))
def reader_keys_may_be_any_hashable(api):
    @api.do
    def main():
        return ((yield api.Ask(("a", 1))), (yield api.Ask(int)))

    return api.run(api.reader(env={("a", 1): "tuple", int: "type"})(main()))


@SCENARIOS.add(returned("outer:rewritten"))
def pass_may_forward_a_rewritten_effect(api):
    Fetch, main = fetch_program(api)

    @api.handler
    def outer(effect: Fetch, k):
        return (yield api.Resume(k, "outer:" + effect.url))

    @api.handler
    def rewrite(effect: Fetch, k):
        return (yield api.Pass(Fetch("rewritten"), k))

    return api.run(outer(rewrite(main())))


@SCENARIOS.add(returned("helped"))
def control_node_yielded_from_a_handler_sub_program(api):
    Fetch, main = fetch_program(api)

    @api.do
    def resume_with(k, value):
        return (yield api.Resume(k, value))

    @api.handler
    def via_helper(effect: Fetch, k):
        return (yield resume_with(k, "helped"))

    return api.run(via_helper(main()))


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda scenario: scenario.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)

"""The ``io`` phase's API clients: calls through a module-level client become effects naming it; untraceable client
calls are flagged (DM317)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def specs(result):
    return {need.spec.effect: need.spec for need in result.effects if need.spec is not None}


def test_calls_through_a_module_level_client_become_effects_naming_the_client_with_a_complete_handler():
    result = check_transformed(
        "from openai import OpenAI\n" + DO + """
client = OpenAI()


@do
def ask(q):
    r = client.chat.completions.create(model="m", messages=[q])
    return r
""",
        ("from openai import OpenAI\n" + DO + "from pkg.effects_handlers import HANDLERS, OpenaiChatCompletionsCreate\n" + """
client = OpenAI()


@do
def ask(q):
    r = yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={"model": "m", "messages": [q]})
    return r
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py",
    )
    # Complete: the same call on the client the effect names, which a user handler can also tell apart.
    spec = specs(result)["OpenaiChatCompletionsCreate"]
    assert not spec.is_stub and [f[0] for f in spec.fields] == ["client", "args", "kwargs"]
    assert "value = _client(effect.client).chat.completions.create(*effect.args, **effect.kwargs)" in spec.body


def test_function_of_the_client_library_itself_is_moved_with_a_complete_handler():
    result = check_transformed(
        "import anthropic as an\n" + DO + "\n@do\ndef f(x):\n    return an.complete(x, model='m')\n",
        ("import anthropic as an\n" + DO + "from pkg.effects_handlers import AnthropicComplete, HANDLERS\n"
        "\n@do\ndef f(x):\n    return (yield AnthropicComplete(args=(x,), kwargs={\"model\": 'm'}))\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert not specs(result)["AnthropicComplete"].is_stub


def test_client_calls_through_unknown_objects_are_flagged_never_rewritten_dm317():
    result = check_transformed(
        "import openai\n" + DO + """
@do
def ask(client, q):
    local = openai.OpenAI()
    a = client.chat.completions.create(messages=[q])
    b = local.messages.create(messages=[q])
    return a, b
""",
        "import openai\n" + DO + """
@do
def ask(client, q):
    local = openai.OpenAI()
    # doeff-migrate: DM317: `client.chat.completions.create(...)` left as it is: `client` is not a client built at module level from an imported library
    a = client.chat.completions.create(messages=[q])
    # doeff-migrate: DM317: `local.messages.create(...)` left as it is: `local` is not a client built at module level from an imported library
    b = local.messages.create(messages=[q])
    return a, b
""",
    )
    assert codes(result) == ["DM317", "DM317"]


def test_a_client_name_bound_twice_or_shadowed_is_not_the_client():
    check_noop(
        "import openai\n" + DO + "\nclient = openai.OpenAI()\nclient = make_other()\n"
        "\n@do\ndef ask(q):\n    return client.complete(q)\n"
    )
    check_noop("import openai\n" + DO + "\nclient = openai.OpenAI()\n\n@do\ndef ask(client, q):\n    return client.complete(q)\n")

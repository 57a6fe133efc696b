"""The ``recording`` phase: handler stacks built by entry points gain ``*recording_handlers()`` (DM4xx)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("recording",))
check_transformed = partial(tools.check_transformed, phases=("recording",), path="pkg/main.py")
recording = partial(tools.check_transformed, phases=("recording",))

HEAD = "from doeff_migrate.runtime import do, run, with_handlers\nfrom doeff_migrate.runtime.metrics import WandbHandler\n"
NEW_HEAD = HEAD + "from pkg.effects_handlers import recording_handlers\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def test_run_with_a_handler_list_gets_the_recorder_first():
    result = check_transformed(
        HEAD + "\ndef main():\n    return run(train(), handlers=[WandbHandler(project='x')])\n",
        NEW_HEAD + "\ndef main():\n    return run(train(), handlers=[*recording_handlers(), WandbHandler(project='x')])\n",
    )
    assert codes(result) == []
    assert [need.spec for need in result.effects] == [None]  # the handler module must exist


def test_run_without_handlers_gets_a_handler_list():
    check_transformed(
        HEAD + "\nif __name__ == '__main__':\n    print(run(train()))\n    run(train(), env={'lr': 1})\n",
        NEW_HEAD + "\nif __name__ == '__main__':\n    print(run(train(), handlers=[*recording_handlers()]))\n"
        "    run(train(), env={'lr': 1}, handlers=[*recording_handlers()])\n",
    )


def test_positional_handler_list_and_empty_list():
    check_transformed(
        HEAD + "\nx = run(train(), [WandbHandler()])\ny = run(train(), handlers=[])\n",
        NEW_HEAD + "\nx = run(train(), [*recording_handlers(), WandbHandler()])\ny = run(train(), handlers=[*recording_handlers()])\n",
    )


def test_with_handlers_gets_the_recorder_innermost_that_is_last():
    check_transformed(
        HEAD + "\nmain = with_handlers([WandbHandler()], train())\n",
        NEW_HEAD + "\nmain = with_handlers([WandbHandler(), *recording_handlers()], train())\n",
    )


def test_aliased_run_is_resolved():
    check_transformed(
        "from doeff_migrate.runtime import run as execute\n\nexecute(train())\n",
        "from doeff_migrate.runtime import run as execute\nfrom pkg.effects_handlers import recording_handlers\n\n"
        "execute(train(), handlers=[*recording_handlers()])\n",
    )


# -- no-ops ---------------------------------------------------------------------------------------------------


def test_already_wired_stack_is_unchanged():
    check_noop(NEW_HEAD + "\nrun(train(), handlers=[*recording_handlers(), WandbHandler()])\n", path="pkg/main.py")


def test_run_of_another_library_is_not_touched():
    check_noop("import subprocess\nfrom mylib import run\n\nrun(['ls'])\nsubprocess.run(['ls'])\n")


def test_nested_run_inside_effectful_code_is_not_an_entry_point():
    check_noop(HEAD + "\n@do\ndef outer():\n    return run(inner())\n")


def test_file_without_run_is_not_touched():
    check_noop(HEAD + "\nx = 1\n")


def test_generated_handler_module_itself_is_not_touched():
    check_noop(HEAD + "\nrun(train())\n", path="pkg/effects_handlers.py")


# -- flagged ------------------------------------------------------------------------------------------------


def test_stack_that_is_not_a_list_literal_is_flagged_dm401():
    result = check_transformed(
        HEAD + "\nstack = [WandbHandler()]\nrun(train(), handlers=stack)\n",
        HEAD + "\nstack = [WandbHandler()]\n"
        "# doeff-migrate: DM401: Handler stack is not a list literal: add `*recording_handlers()` yourself\n"
        "run(train(), handlers=stack)\n",
    )
    assert codes(result) == ["DM401"]


def test_stack_with_its_own_recorder_is_flagged_dm402():
    result = check_transformed(
        HEAD + "from doeff_migrate.runtime.recording import RecordingHandler\n\nrun(train(), handlers=[RecordingHandler('a.jsonl')])\n",
        HEAD + "from doeff_migrate.runtime.recording import RecordingHandler\n\n"
        "# doeff-migrate: DM402: Handler stack already builds a RecordingHandler/ReplayHandler: left as written\n"
        "run(train(), handlers=[RecordingHandler('a.jsonl')])\n",
    )
    assert codes(result) == ["DM402"]


def test_noqa_suppresses_a_recording_flag():
    check_noop(HEAD + "\nrun(train(), handlers=stack)  # noqa: DM401\n")


def test_test_modules_are_not_entry_points():
    for name in ("pkg/test_train.py", "pkg/train_test.py", "pkg/conftest.py"):
        check_noop(HEAD + "\ndef test_it():\n    assert run(train(), handlers=[fake]) == 1\n", path=name)


def test_with_handlers_stack_that_is_not_a_list_is_flagged_dm401():
    result = check_transformed(
        HEAD + "\nmain = with_handlers(STACK, train())\n",
        HEAD + "\n# doeff-migrate: DM401: Handler stack is not a list literal: add `*recording_handlers()` yourself\n"
        "main = with_handlers(STACK, train())\n",
    )
    assert codes(result) == ["DM401"]


def test_doeff_run_is_not_given_handlers_and_is_flagged_dm403():
    result = recording(
        "from doeff import do, run\n\n@do\ndef add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n    print(run(add(1, 2)))\n",
        "from doeff import do, run\n\n@do\ndef add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n"
        "    # doeff-migrate: DM403: doeff's run/with_handlers: not wired for recording (the recorder is the bundled runtime's)\n"
        "    print(run(add(1, 2)))\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM403"]


def test_with_handlers_inside_a_handler_is_not_wired():
    tools.check_noop(
        "from doeff_migrate.runtime import Resume, handler, with_handlers\n\n@handler\ndef outer(effect, k):\n"
        "    v = yield with_handlers([double], sub(effect.x))\n    return (yield Resume(k, v))\n",
        path="pkg/mod.py", phases=("recording",),
    )

"""The ``compute`` transform as a whole: which functions and files it touches, doeff code (DM213), and its rules.

The rewrite families have their own test files: ``test_compute_spawns``, ``test_compute_loops``,
``test_compute_tasks``, ``test_compute_pools``, ``test_compute_body``."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("compute",))
check_transformed = partial(tools.check_transformed, phases=("compute",))

HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"
NEW_HEAD = "import ray\nfrom doeff_migrate.runtime import Gather, Spawn, Wait, do\nfrom doeff_migrate.runtime.ray_backend import ray_task\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def test_doeff_code_keeps_its_ray_tasks_and_is_flagged_dm213():
    # ray_task / call_in_thread are bundled-runtime programs that doeff cannot run.
    source = HEAD.replace("doeff_migrate.runtime", "doeff") + """
def square(x):
    return x * x

@do
def f(x):
    t = ray.remote(square).remote(x)
    return ray.get(t)
"""
    for target in ("doeff", "runtime"):
        result = tools.check_transformed(
            source, source.replace("@do\n", "# doeff-migrate: DM213: doeff code: Ray tasks and thread pools stay (what the compute phase writes needs the bundled runtime)\n@do\n"),
            phases=("compute",), target=target,
        )
        assert codes(result) == ["DM213"]


# -- left as they were: no-ops --------------------------------------------------------------------------------


def test_ray_in_plain_functions_is_not_touched():
    check_noop(HEAD + """
@ray.remote
def _train(cfg):
    return cfg

def sweep(cfgs):
    return ray.get([_train.remote(c) for c in cfgs])
""")


def test_file_without_ray_is_not_touched():
    check_noop("from doeff_migrate.runtime import do\n\n@do\ndef f(x):\n    return x.remote(1)\n")


def test_remote_method_of_unrelated_object_outside_do_is_not_touched():
    check_noop(HEAD + "\ndef f(obj):\n    return obj.remote(1)\n")


def test_already_migrated_code_is_unchanged():
    check_noop(NEW_HEAD + """
def square(x):
    return x * x

@do
def f(x):
    t = yield Spawn(ray_task(square)(x))
    return (yield Wait(t))
""")


def test_asyncio_outside_effectful_code_is_not_touched():
    check_noop("import asyncio\n\ndef f(coro):\n    return asyncio.run(coro)\n")


def test_every_phase_rule_is_documented_and_tested():
    import pathlib

    from doeff_migrate.codemod.rules import phases

    tests = "".join(p.read_text() for p in pathlib.Path(__file__).parent.glob("test_*.py"))
    for rule in [v for v in vars(phases).values() if hasattr(v, "code") and hasattr(v, "fix_safety")]:
        for section in ("message", "what", "why", "example", "use_instead", "fix_safety"):
            assert getattr(rule, section).strip(), f"{rule.code} lacks {section}"
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert f"DM{rule.code[2:]}" in tests and f"_{rule.code.lower()}" in tests, f"{rule.code} has no test"

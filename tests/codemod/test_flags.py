"""What cannot be migrated mechanically is left as it was and flagged (codemod/rules/di/)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from doeff_migrate.codemod.api import Flag, ProjectIndex, migrate_source
from doeff_migrate.codemod.rules import all_rules, di as di_rules, get_rule

from .tools import check_transformed


def flagged(source: str, code: str, *, message: str | None = None, others: dict[str, str] | None = None, **kwargs) -> None:
    """``source`` comes back unchanged except for the rule's comment above the flagged statement."""
    source = dedent(source)
    lines = source.splitlines(keepends=True)
    marker = next(i for i, line in enumerate(lines) if "# <-" in line)
    indent = lines[marker][: len(lines[marker]) - len(lines[marker].lstrip())]
    text = message or get_rule(code).message
    expected = "".join(lines[:marker] + [f"{indent}# doeff-migrate: {code}: {text}\n"] + lines[marker:])
    kwargs["index"] = ProjectIndex.from_sources({"example.py": source, **(others or {})})
    result = migrate_source(source, path="example.py", **kwargs)
    assert result.code == expected, "actual output:\n" + result.code
    assert Flag(code, marker + 1, len(indent), text) in result.flags
    assert migrate_source(result.code, path="example.py", **kwargs).code == result.code


def test_context_manager_above_injected_is_flagged_dm101():
    flagged(
        """\
        from contextlib import contextmanager
        from pinjected import injected

        @contextmanager  # <-
        @injected
        def session(client, /, name):
            yield client
        """,
        "DM101",
    )


def test_injected_class_is_flagged_dm103_for_target_doeff():
    # The class constructor (runtime/classes.py) exists in the bundled runtime only.
    flagged(
        """\
        from dataclasses import dataclass
        from pinjected import injected

        @injected  # <-
        @dataclass
        class Builder:
            _a_system: object
            tag: str
        """,
        "DM103",
        message="`@injected` class left as it is: its constructor (`@class_binding`) exists in the bundled runtime only",
        target="doeff",
    )


def test_instance_creating_a_task_is_flagged_dm105():
    flagged(
        """\
        import asyncio
        from pinjected import instance

        @instance  # <-
        async def worker(queue):
            return asyncio.create_task(queue.get())
        """,
        "DM105",
    )


def test_dependency_default_is_migrated_and_noted_dm106():
    result = check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(timeout=10, /, url=""):
            return timeout, url
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        # doeff-migrate: DM106: dependency `timeout` had a default, which pinjected never used; the key `timeout` is still required
        @function_binding
        @do
        def f(url=""):
            timeout = yield Ask("timeout")
            return timeout, url
        """,
    )
    assert [f.code for f in result.flags] == ["DM106"]


def test_proxy_in_slice_bounds_is_flagged_dm108():
    # pinjected never resolves slice bounds (the run fails); method chains are Program expressions now.
    flagged(
        """\
        from pinjected import IProxy
        from clients import client, start

        result: IProxy = client.rows[start:]  # <-
        """,
        "DM108",
        others={"clients.py": "from pinjected import instance\n\n@instance\ndef client():\n    return object()\n\n@instance\ndef start():\n    return 1\n"},
    )


def test_injected_pytest_with_an_override_built_by_pinjected_is_flagged_dm109():
    flagged(
        """\
        from pinjected import Injected
        from pinjected.test import injected_pytest

        @injected_pytest(Injected.pure(1))  # <-
        def test_it(logger):
            assert logger
        """,
        "DM109",
        message="the override of `@injected_pytest` is not a design the codemod can read: port this by hand",
    )


def test_unawaited_async_dependency_is_migrated_and_noted_dm110():
    result = check_transformed(
        """\
        from pinjected import injected

        @injected
        async def build(a_system, /):
            a_system("tool --version")
            return 1
        """,
        """\
        from doeff_migrate.runtime import AskAsyncFunction, Await, do, function_binding

        # doeff-migrate: DM110: async injected dependency `a_system` is called without `await`: the call does nothing, as under pinjected; fix it consciously
        @function_binding
        @do
        def build():
            a_system = yield AskAsyncFunction("a_system")
            async def body(a_system, /):
                a_system("tool --version")
                return 1
            return (yield Await(body(a_system)))
        """,
        others={"system.py": "from pinjected import injected\n\n@injected\nasync def a_system(cmd):\n    return cmd\n"},
    )
    assert [f.code for f in result.flags] == ["DM110"]


def test_task_group_dependency_is_flagged_dm111():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        async def pick(__task_group__, /, name):
            return await __task_group__[name]
        """,
        "DM111",
    )


def test_decorator_above_injected_is_flagged_dm112():
    flagged(
        """\
        from beartype import beartype
        from pinjected import injected

        @beartype  # <-
        @injected
        def f(dep, /, x: int) -> int:
            return dep + x
        """,
        "DM112",
        message="decorator `beartype` of another package above the pinjected one: it would get the function's IProxy",
    )


def test_method_decorated_with_injected_is_flagged_dm113():
    flagged(
        """\
        from pinjected import injected

        class Jobs:
            @injected  # <-
            def run(self, logger, /):
                return logger
        """,
        "DM113",
    )


def test_design_with_a_combinator_without_runtime_counterpart_is_flagged_dm115():
    flagged(
        """\
        from pinjected import Injected, design

        __design__ = design(pair=Injected.zip(Injected.pure(1), Injected.pure(2)))  # <-
        """,
        "DM115",
        message="design expression the codemod cannot migrate: `Injected.zip` has no runtime design counterpart",
    )


def test_star_parameters_on_instance_are_flagged_dm116():
    flagged(
        """\
        from pinjected import instance

        @instance  # <-
        def pool(*workers):
            return workers
        """,
        "DM116",
    )


def test_noqa_suppresses_the_flag_and_the_code_stays_as_it_was():
    source = dedent(
        """\
        from pinjected import injected

        @injected  # noqa: DM111
        async def a_fetch(__task_group__, /, url):
            return await __task_group__[url]
        """
    )
    result = migrate_source(source, path="example.py")
    assert result.code == source
    assert result.flags == []


def test_noqa_for_another_code_does_not_suppress():
    source = "from pinjected import injected\n\n@injected  # noqa: DM101\nasync def a_fetch(__task_group__, /, url):\n    return await __task_group__[url]\n"
    assert [f.code for f in migrate_source(source).flags] == ["DM111"]


def test_ignore_and_select_choose_which_flags_are_written():
    source = "from pinjected import injected\n\n@injected\nasync def a_fetch(__task_group__, /, url):\n    return await __task_group__[url]\n"
    assert migrate_source(source, ignore=("DM111",)).code == source
    assert migrate_source(source, select=("DM12",)).code == source
    assert "DM111" in migrate_source(source, select=("DM1",)).code


def test_flag_lines_point_into_the_original_source_even_after_earlier_rewrites():
    source = dedent(
        """\
        from pinjected import injected

        @injected
        def ok(a, b, c, /):
            return a

        @injected
        async def bad(__task_group__, /):
            return await __task_group__["x"]
        """
    )
    [flag] = migrate_source(source).flags
    assert (flag.code, flag.line, flag.col) == ("DM111", 7, 0)


def test_index_from_sources_sees_designs_of_other_files():
    app = "from pinjected import injected\n\n@injected\ndef fetch(u):\n    return u\n\n@injected\ndef page(fetch, /, u):\n    return fetch(u)\n"
    index = ProjectIndex.from_sources(
        {"app.py": app, "tests/conftest_design.py": "from pinjected import design\n\nd = design(fetch=lambda u: 'fake')\n"}
    )
    result = migrate_source(app, path="app.py", index=index)
    assert result.flags == []
    assert "fetch = yield Ask(\"fetch\")\n    return (yield call_dependency(fetch, u))" in result.code, result.code


DI_RULES = [r for r in all_rules() if r.code in {v.code for v in vars(di_rules).values() if hasattr(v, "code")}]


@pytest.mark.parametrize("rule", DI_RULES, ids=lambda r: r.code)
def test_every_rule_documents_what_why_example_use_instead_and_fix_safety(rule):
    assert rule.code.startswith("DM") and len(rule.code) == 5
    assert rule.name == rule.name.lower() and " " not in rule.name
    for section in ("message", "what", "why", "example"):
        assert getattr(rule, section).strip(), f"{rule.code} lacks {section}"
    if rule.phase == "di":
        assert rule.use_instead.strip() and rule.fix_safety.strip(), rule.code
    markdown = rule.markdown()
    assert "### What it does" in markdown and "### Why is this bad?" in markdown


def test_every_di_rule_is_emitted_by_some_test_in_this_file():
    text = open(__file__, encoding="utf-8").read()
    for rule in DI_RULES:
        if rule.phase == "di":
            assert f'"{rule.code}"' in text, f"{rule.code} has no test"


def test_async_resolver_use_is_flagged_dm109():
    flagged(
        """\
        from pinjected import AsyncResolver

        def run(d, x):
            return AsyncResolver(d).provide(x)  # <-
        """,
        "DM109",
    )


def test_injected_of_a_key_held_in_a_variable_is_flagged_dm103():
    # At module level the value is an entry point's or a design's; inside a plain function it has a
    # run-time counterpart (``injected_of``, tests/codemod/test_wrapping_decorators.py).
    flagged(
        """\
        from pinjected import injected

        KEY = "a"
        picked = injected(KEY)  # <-
        """,
        "DM103",
    )


def test_injected_dynamic_is_flagged_dm111():
    flagged(
        """\
        from pinjected import Injected

        def pick(name):
            return Injected.dynamic(name)  # <-
        """,
        "DM111",
    )


def test_entry_point_passing_an_injected_function_as_argument_is_flagged_dm108_for_doeff():
    # doeff has no Program expressions; for the runtime it is migrated (tests/codemod/test_stacked_decorators.py).
    flagged(
        """\
        from pinjected import IProxy
        from ops import apply, fetch

        main: IProxy = apply(fetch, "u")  # <-
        """,
        "DM108",
        others={"ops.py": "from pinjected import injected\n\n@injected\ndef fetch(url):\n    return url\n\n@injected\ndef apply(fn, x):\n    return fn(x)\n"},
        message="an injected function is passed as a value here: pinjected resolves it to a callable, a program is not one",
        target="doeff",
    )


def test_entry_point_using_a_function_left_as_pinjected_is_flagged_dm108():
    source = dedent(
        """\
        from pinjected import IProxy, injected

        @injected
        async def crawl(__task_group__, /, urls):
            return await __task_group__["x"]

        main: IProxy = crawl(["a"])
        """
    )
    result = migrate_source(source, path="example.py")
    assert "main: IProxy = crawl([\"a\"])" in result.code
    assert [f.code for f in result.flags] == ["DM111", "DM108"]
    assert "# doeff-migrate: DM108: entry point uses `crawl`, which was left as pinjected: migrate it first" in result.code


def test_design_handed_to_a_flagged_resolver_stays_a_design_dm115():
    source = dedent(
        """\
        from pinjected import AsyncResolver, design

        test_design = design(a=1)

        def resolve(x):
            return AsyncResolver(test_design).provide(x)
        """
    )
    result = migrate_source(source, path="example.py")
    assert "test_design = design(a=1)" in result.code
    assert [f.code for f in result.flags] == ["DM115", "DM109"]


def test_a_flag_from_an_earlier_run_keeps_the_function_as_it_is():
    # A flag written by an earlier run stays authoritative until a human removes it.
    source = (
        "from pinjected import injected\n\n"
        "# doeff-migrate: DM112: decorator above the pinjected one, or pinjected decorator arguments the codemod does not know: port it by hand\n"
        "@injected\ndef build(a_system, /):\n    return a_system('x')\n"
    )
    result = migrate_source(source, path="build.py")
    assert result.code == source
    assert [f.code for f in result.flags] == ["DM112"]


def test_an_earlier_dm110_note_does_not_keep_the_function_from_migrating():
    source = (
        "from pinjected import injected\n\n"
        "# doeff-migrate: DM110: async injected dependency `a_system` is called without `await`: the call does nothing, as under pinjected; fix it consciously\n"
        "@injected\nasync def build(a_system, /):\n    return 1\n"
    )
    assert "@function_binding\n@do\ndef build():" in migrate_source(source, path="build.py").code


# -- references to a provider left as pinjected are left and flagged too (DM117) ----------------
_FLAGGED_LIB = (
    "from pinjected import injected\n\n"
    "# doeff-migrate: DM111: depends on `__task_group__`/`__design__`/`__task_group__` or `Injected.dynamic`: no env key answers it\n"
    "@injected\ndef twice(__task_group__, step, /, x):\n    return list(map(step, [x, x]))\n"
)


def test_dependency_on_a_flagged_provider_in_another_module_is_flagged_dm117():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def combo(twice, /, x):
            return twice(x)
        """,
        "DM117",
        message="dependency `twice` is provided by `lib.twice`, which is left as pinjected (flagged): migrate it first",
        others={"lib.py": _FLAGGED_LIB},
    )


def test_dependency_on_a_flagged_provider_of_the_same_module_is_flagged_dm117_transitively():
    source = dedent(
        """\
        from pinjected import injected

        @injected
        def step(__task_group__, /, x):
            return __task_group__

        @injected
        def combo(step, /, x):
            return step(x)

        @injected
        def top(combo, /, x):
            return combo(x)
        """
    )
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}))
    assert [f.code for f in result.flags] == ["DM111", "DM117", "DM117"]
    kept = [line for line in result.code.splitlines(keepends=True) if not line.startswith("# doeff-migrate:")]
    assert "".join(kept) == source


def test_design_binding_a_flagged_instance_is_flagged_dm117():
    flagged(
        """\
        import asyncio
        from pinjected import design, instance

        # doeff-migrate: DM105: @instance creates a task, future or asyncio primitive: it must start at resolution, keep it by hand
        @instance
        async def lock():
            return asyncio.Lock()

        __design__ = design(the_lock=lock)  # <-
        """,
        "DM117",
        message="design binds `lock`, which is left as pinjected (flagged): migrate it first",
    )


def test_entry_point_using_a_flagged_provider_of_another_module_is_flagged():
    flagged(
        """\
        from pinjected import IProxy
        from lib import twice

        main: IProxy = twice(3)  # <-
        """,
        "DM108",
        message="entry point uses `twice`, which was left as pinjected: migrate it first",
        others={"lib.py": _FLAGGED_LIB},
    )


def test_design_value_computed_by_a_call_goes_through_call_dependency():
    """`design(fetcher=pick_impl())` may bind an injected function or a plain one: calls take either."""
    source = dedent(
        """\
        from pinjected import IProxy, design, injected

        @injected
        def fetch_v2(url):
            return "v2:" + url

        def pick_impl():
            return fetch_v2

        @injected
        def page(fetcher, /, url):
            return fetcher(url)

        __design__ = design(fetcher=pick_impl(), timeout=int("5"))
        """
    )
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}))
    assert result.flags == []
    assert "    fetcher = yield Ask(\"fetcher\")\n    return (yield call_dependency(fetcher, url))\n" in result.code, result.code


# -- designs / index flags (more cases in test_designs.py) ----------------------------------------------------------
def _flag_codes(files: dict[str, str], path: str, **kwargs) -> tuple[list[str], str]:
    files = {p: dedent(s) for p, s in files.items()}
    result = migrate_source(files[path], path=path, index=ProjectIndex.from_sources(files), **kwargs)
    return [f.code for f in result.flags], result.code


def test_with_block_whose_design_cannot_be_read_is_flagged_dm118():
    flagged(
        """\
        from pinjected import Injected, design

        with design(pair=Injected.zip(Injected.pure(1), Injected.pure(2))):  # <-
            pass
        """,
        "DM118",
        message="`with` block not dissolved (its design cannot be read statically): its entry points would lose its bindings",
    )


def test_instance_bound_to_two_keys_through_a_design_variable_is_flagged_dm120():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import design, instance

        @instance
        def conn():
            return object()

        base = design(a=conn)
        __design__ = base + design(b=conn)
    """}, "m.py")
    assert codes == ["DM120"] and "__design__ = base + design(b=conn)" in code


def test_design_binding_a_lifted_entry_point_is_flagged_dm121_for_target_doeff():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def greet(name):
            return "hi " + name

        lifted: IProxy = greet("amy") + "!"
        __design__ = design(shout=lifted)
    """}, "m.py", target="doeff")
    assert codes == ["DM121"] and "__design__ = design(shout=lifted)" in code
    codes, code = _flag_codes({"m.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def greet(name):
            return "hi " + name

        lifted: IProxy = greet("amy") + "!"
        __design__ = design(shout=lifted)
    """}, "m.py")
    assert codes == [] and '__design__ = {"shout": as_program(lifted)}' in code


def test_pinjected_api_through_a_project_module_is_flagged_dm122():
    codes, code = _flag_codes({
        "app/__init__.py": "",
        "app/di.py": "from pinjected import injected\n",
        "app/lib.py": "from app.di import injected\n\n@injected\ndef helper(base, /, x):\n    return base + x\n",
    }, "app/lib.py")
    assert codes == ["DM122"] and "@injected\ndef helper(base, /, x):" in code


def test_dependency_cycle_is_flagged_dm123():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import injected

        @injected
        def fact(fact, /, n):
            return 1 if n == 0 else n * fact(n - 1)
    """}, "m.py")
    assert "DM123" in codes and "@injected\ndef fact(fact, /, n):" in code


def test_new_rules_are_documented():
    # DM137-DM139 are retired: those expressions become Program expressions or bound callables.
    for code in [f"DM{n}" for n in range(130, 140) if n not in (137, 138, 139)]:
        rule = get_rule(code)
        assert rule.phase == "di" and rule.what and rule.why and rule.example and rule.use_instead and rule.fix_safety


def test_runtime_only_counterparts_are_flagged_dm136_for_target_doeff():
    # doeff has no re-entrant run: a dependency used as a plain callable has no doeff form.
    codes, code = _flag_codes({"m.py": """\
        from pinjected import injected

        @injected
        def helper(step, /, xs):
            return [step(x) for x in xs]

        @injected
        def step(n, /, x):
            return x * n
    """}, "m.py", target="doeff")
    assert codes == ["DM136"] and "@injected\ndef helper(step, /, xs):" in code
    assert "@function_binding\n@do\ndef step(x):" in code


def test_proxy_for_a_parameter_annotated_injected_is_flagged_dm134_for_target_doeff():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import IProxy, Injected, injected

        @injected
        def describe(x: Injected):
            return type(x).__name__

        main: IProxy = describe(injected("k"))
    """}, "m.py", target="doeff")
    assert codes == ["DM134"] and 'main: IProxy = describe(injected("k"))' in code

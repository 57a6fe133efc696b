"""What cannot be migrated mechanically is left as it was and flagged (codemod/rules/di.py)."""

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


def test_generator_body_is_flagged_dm101():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def numbers(limit, /):
            yield from range(limit)
        """,
        "DM101",
    )


def test_async_context_manager_is_flagged_dm101():
    flagged(
        """\
        from contextlib import asynccontextmanager
        from pinjected import injected

        @injected  # <-
        @asynccontextmanager
        async def session(client, /, name):
            yield client
        """,
        "DM101",
    )


def test_injected_dependency_passed_as_value_is_flagged_dm102():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def run_all(step, /, xs):
            return list(map(step, xs))
        """,
        "DM102",
        others={"steps.py": "from pinjected import injected\n\n@injected\ndef step(x):\n    return x\n"},
        message="injected dependency `step` is used as a value or inside a nested scope: its calls cannot become `yield`",
    )


def test_injected_dependency_called_in_comprehension_is_flagged_dm102():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def run_all(step, /, xs):
            return [step(x) for x in xs]
        """,
        "DM102",
        others={"steps.py": "from pinjected import injected\n\n@injected\ndef step(x):\n    return x\n"},
        message="injected dependency `step` is used as a value or inside a nested scope: its calls cannot become `yield`",
    )


def test_injected_class_is_flagged_dm103():
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
    )


def test_async_with_is_flagged_dm104():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        async def a_fetch(sem, /, url):
            async with sem:
                return url
        """,
        "DM104",
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


def test_key_bound_to_plain_callable_and_injected_function_is_flagged_dm107():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        def page(fetch, /, url):
            return fetch(url)
        """,
        "DM107",
        others={
            "fetching.py": "from pinjected import injected\n\n@injected\ndef fetch(url):\n    return url\n",
            "test_fetching.py": "from pinjected import design\n\ntest_design = design(fetch=lambda url: 'fake')\n",
        },
        message="dependency `fetch` is bound both to injected functions and to plain values (or defined twice)",
    )


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


def test_injected_pytest_with_a_computed_override_is_flagged_dm109():
    flagged(
        """\
        from pinjected.test import injected_pytest
        from fixtures import make_design

        @injected_pytest(make_design())  # <-
        def test_it(logger):
            assert logger
        """,
        "DM109",
    )


def test_unawaited_async_dependency_is_flagged_dm110():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        async def build(a_system, /):
            a_system("tool --version")
            return 1
        """,
        "DM110",
        others={"system.py": "from pinjected import injected\n\n@injected\nasync def a_system(cmd):\n    return cmd\n"},
        message="async injected dependency `a_system` is called without `await`: latent bug, fix it consciously",
    )


def test_resolver_dependency_is_flagged_dm111():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        async def pick(__resolver__, /, name):
            return await __resolver__[name]
        """,
        "DM111",
    )


def test_stacked_decorator_is_flagged_dm112():
    flagged(
        """\
        from beartype import beartype
        from pinjected import injected

        @injected  # <-
        @beartype
        def f(dep, /, x: int) -> int:
            return dep + x
        """,
        "DM112",
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


def test_await_in_comprehension_is_flagged_dm114():
    flagged(
        """\
        from pinjected import injected

        @injected  # <-
        async def all_(getter, /, ids):
            return [await getter(i) for i in ids]
        """,
        "DM114",
    )


def test_design_built_by_a_function_is_flagged_dm115():
    flagged(
        """\
        from pinjected import design

        def load():
            return {}

        __design__ = design(**load())  # <-
        """,
        "DM115",
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

        @injected  # noqa: DM104
        async def a_fetch(sem, /, url):
            async with sem:
                return url
        """
    )
    result = migrate_source(source, path="example.py")
    assert result.code == source
    assert result.flags == []


def test_noqa_for_another_code_does_not_suppress():
    source = "from pinjected import injected\n\n@injected  # noqa: DM101\nasync def f(sem, /):\n    async with sem:\n        return 1\n"
    assert [f.code for f in migrate_source(source).flags] == ["DM104"]


def test_ignore_and_select_choose_which_flags_are_written():
    source = "from pinjected import injected\n\n@injected\nasync def f(sem, /):\n    async with sem:\n        return 1\n"
    assert migrate_source(source, ignore=("DM104",)).code == source
    assert migrate_source(source, select=("DM11",)).code == source
    assert "DM104" in migrate_source(source, select=("DM1",)).code


def test_flag_lines_point_into_the_original_source_even_after_earlier_rewrites():
    source = dedent(
        """\
        from pinjected import injected

        @injected
        def ok(a, b, c, /):
            return a

        @injected
        async def bad(sem, /):
            async with sem:
                return 1
        """
    )
    [flag] = migrate_source(source).flags
    assert (flag.code, flag.line, flag.col) == ("DM104", 7, 0)


def test_index_from_sources_sees_designs_of_other_files():
    app = "from pinjected import injected\n\n@injected\ndef fetch(u):\n    return u\n\n@injected\ndef page(fetch, /, u):\n    return fetch(u)\n"
    index = ProjectIndex.from_sources(
        {"app.py": app, "tests/conftest_design.py": "from pinjected import design\n\nd = design(fetch=lambda u: 'fake')\n"}
    )
    result = migrate_source(app, path="app.py", index=index)
    assert [f.code for f in result.flags] == ["DM107"]


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


def test_injected_of_a_class_is_flagged_dm103():
    flagged(
        """\
        from pinjected import injected

        class Builder:
            pass

        new_builder = injected(Builder)  # <-
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


def test_entry_point_passing_an_injected_function_as_argument_is_flagged_dm108():
    flagged(
        """\
        from pinjected import IProxy
        from ops import apply, fetch

        main: IProxy = apply(fetch, "u")  # <-
        """,
        "DM108",
        others={"ops.py": "from pinjected import injected\n\n@injected\ndef fetch(url):\n    return url\n\n@injected\ndef apply(fn, x):\n    return fn(x)\n"},
        message="an injected function is passed as a value here: pinjected resolves it to a callable, a program is not one",
    )


def test_entry_point_using_a_function_left_as_pinjected_is_flagged_dm108():
    source = dedent(
        """\
        from pinjected import IProxy, injected

        @injected
        async def crawl(sem, /, urls):
            async with sem:
                return urls

        main: IProxy = crawl(["a"])
        """
    )
    result = migrate_source(source, path="example.py")
    assert "main: IProxy = crawl([\"a\"])" in result.code
    assert [f.code for f in result.flags] == ["DM104", "DM108"]
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
    # After the first run `a_system` is a migrated (plain `def`) function: nothing shows any more that
    # it was async, so only the earlier flag keeps the latent bug from being "fixed" silently.
    system = "from pinjected import injected\n\n@injected\nasync def a_system(cmd):\n    return cmd\n"
    build = "from pinjected import injected\n\n@injected\nasync def build(a_system, /):\n    a_system('x')\n    return 1\n"
    first = migrate_source(build, path="build.py", index=ProjectIndex.from_sources({"build.py": build, "system.py": system}))
    assert [f.code for f in first.flags] == ["DM110"]
    migrated_system = migrate_source(system, path="system.py").code
    second = migrate_source(
        first.code, path="build.py", index=ProjectIndex.from_sources({"build.py": first.code, "system.py": migrated_system})
    )
    assert second.code == first.code
    assert [f.code for f in second.flags] == ["DM110"]


# -- review BUG 10: references to a provider left as pinjected are left and flagged too (DM117) ----------------
_FLAGGED_LIB = (
    "from pinjected import injected\n\n"
    "# doeff-migrate: DM102: injected dependency `step` is used as a value or inside a nested scope: its calls cannot become `yield`\n"
    "@injected\ndef twice(step, /, x):\n    return list(map(step, [x, x]))\n"
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
        def step(scale, /, x):
            yield x * scale

        @injected
        def combo(step, /, x):
            return step(x)

        @injected
        def top(combo, /, x):
            return combo(x)
        """
    )
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}))
    assert [f.code for f in result.flags] == ["DM101", "DM117", "DM117"]
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


def test_design_value_computed_by_a_call_makes_its_callers_dm107():
    """Review BUG 5: `design(fetcher=pick_impl())` may bind an injected function: calls of `fetcher` are flagged."""
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
    assert [f.code for f in result.flags] == ["DM107"]
    assert (
        "# doeff-migrate: DM107: dependency `fetcher` is bound both to injected functions and to plain values (or defined twice)\n"
        "@injected\ndef page(fetcher, /, url):\n    return fetcher(url)\n"
    ) in result.code


# -- designs / index flags of the adversarial review (more cases in test_review_designs.py) -------------
def _flag_codes(files: dict[str, str], path: str) -> tuple[list[str], str]:
    files = {p: dedent(s) for p, s in files.items()}
    result = migrate_source(files[path], path=path, index=ProjectIndex.from_sources(files))
    return [f.code for f in result.flags], result.code


def test_with_block_whose_design_cannot_be_read_is_flagged_dm118():
    flagged(
        """\
        from pinjected import design

        PROFILE = {"a": 1}
        with design(**PROFILE):  # <-
            pass
        """,
        "DM118",
        message="`with` block not dissolved (its design cannot be read statically): its entry points would lose its bindings",
    )


def test_meta_design_between_two_designs_is_flagged_dm119():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import design

        __design__ = design(mode="a")
        __meta_design__ = design(overrides=design(mode="meta"))
        __design__ = design(mode="b")
    """}, "m.py")
    assert codes == ["DM119", "DM119", "DM119"]
    assert '__meta_design__ = design(overrides=design(mode="meta"))' in code


def test_instance_bound_to_two_keys_is_flagged_dm120():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import design, instance

        @instance
        def conn():
            return object()

        __design__ = design(a=conn, b=conn)
    """}, "m.py")
    assert codes == ["DM120"] and "__design__ = design(a=conn, b=conn)" in code


def test_design_binding_a_lifted_entry_point_is_flagged_dm121():
    codes, code = _flag_codes({"m.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def greet(name):
            return "hi " + name

        lifted: IProxy = greet("amy") + "!"
        __design__ = design(shout=lifted)
    """}, "m.py")
    assert codes == ["DM121"] and "__design__ = design(shout=lifted)" in code


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

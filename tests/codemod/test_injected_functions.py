"""``@injected`` / ``@instance`` -> ``@do`` (codemod/transforms/injected_functions.py)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .tools import check_noop, check_transformed

HEADER = "from doeff_migrate.runtime import "


def test_positional_only_dependencies_become_asks_in_parameter_order():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def greet(greeting, punctuation, /, name: str) -> str:
            return greeting + name + punctuation
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def greet(name: str) -> str:
            greeting = yield Ask("greeting")
            punctuation = yield Ask("punctuation")
            return greeting + name + punctuation
        """,
    )


def test_underscore_parameter_is_dependency_with_stripped_key_and_kept_local_name():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(a, /, _b, c):
            return a, _b, c
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(c):
            a = yield Ask("a")
            _b = yield Ask("b")
            return a, _b, c
        """,
    )


def test_double_underscore_dependency_keeps_its_full_key():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(__tag, /, x):
            return __tag, x
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(x):
            __tag = yield Ask("__tag")
            return __tag, x
        """,
    )


def test_without_slash_or_underscore_every_parameter_is_a_runtime_argument():
    # Names that look like keys inject nothing.
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def a_test(logger, client):
            return logger, client
        """,
        """\
        from doeff_migrate.runtime import do, function_binding

        @function_binding
        @do
        def a_test(logger, client):
            return logger, client
        """,
    )


def test_instance_parameters_are_all_dependencies_without_stripping_underscores():
    check_transformed(
        """\
        from pinjected import instance

        @instance
        def database(url, _pool_size):
            return (url, _pool_size)
        """,
        """\
        from doeff_migrate.runtime import Ask, do, instance_binding

        @instance_binding
        @do
        def database():
            url = yield Ask("url")
            _pool_size = yield Ask("_pool_size")
            return (url, _pool_size)

        __doeff_requires__ = {"database": ("url", "_pool_size")}
        """,
    )


def test_async_body_awaits_become_await_effects_and_docstring_stays_first():
    check_transformed(
        '''\
        import asyncio
        from pinjected import injected

        @injected
        async def a_wait(delay, /, label):
            """Waits, then answers."""
            await asyncio.sleep(delay)
            return label
        ''',
        '''\
        import asyncio
        from doeff_migrate.runtime import Ask, Await, do, function_binding

        @function_binding
        @do
        def a_wait(label):
            """Waits, then answers."""
            delay = yield Ask("delay")
            yield Await(asyncio.sleep(delay))
            return label
        ''',
    )


def test_same_module_injected_dependency_is_called_directly_sync_and_async():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def double(x):
            return 2 * x

        @injected
        async def a_inc(x):
            return x + 1

        @injected
        async def both(double, a_inc, /, x):
            y = await a_inc(x)
            return double(y) + (await a_inc(y))
        """,
        """\
        from doeff_migrate.runtime import do, function_binding

        @function_binding
        @do
        def double(x):
            return 2 * x

        @function_binding
        @do
        def a_inc(x):
            return x + 1

        @function_binding
        @do
        def both(x):
            y = yield a_inc(x)
            return (yield double(y)) + (yield a_inc(y))
        """,
    )


def test_underscore_injected_dependency_is_called_by_its_function_name():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def helper(x):
            return x

        @injected
        def user(_helper, /, x):
            return _helper(x)
        """,
        """\
        from doeff_migrate.runtime import do, function_binding

        @function_binding
        @do
        def helper(x):
            return x

        @function_binding
        @do
        def user(x):
            return (yield helper(x))
        """,
    )


def test_rebound_injected_dependency_is_asked_for_and_yielded():
    check_transformed(
        """\
        from pinjected import design, injected

        @injected
        def fetch(url):
            return url

        @injected
        def fake_fetch(url):
            return "fake"

        @injected
        def page(fetch, /, url):
            return fetch(url)

        __design__ = design(fetch=fake_fetch)
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def fetch(url):
            return url

        @function_binding
        @do
        def fake_fetch(url):
            return "fake"

        @function_binding
        @do
        def page(url):
            fetch = yield Ask("fetch")
            return (yield fetch(url))

        __design__ = {"fetch": fake_fetch}
        """,
    )


def test_injected_dependency_defined_in_another_module_is_asked_for():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def user(helper, /, x):
            return helper(x)
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def user(x):
            helper = yield Ask("helper")
            return (yield helper(x))
        """,
        others={"helpers.py": "from pinjected import injected\n\n@injected\ndef helper(x):\n    return x\n"},
    )


def test_instance_dependency_is_a_value_whose_calls_stay_plain():
    check_transformed(
        """\
        from pinjected import injected, instance

        @instance
        def formatter():
            return str.upper

        @injected
        def shout(formatter, /, text):
            return formatter(text)
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding, instance_binding

        @instance_binding
        @do
        def formatter():
            return str.upper

        @function_binding
        @do
        def shout(text):
            formatter = yield Ask("formatter")
            return formatter(text)
        """,
    )


def test_gather_of_injected_calls_becomes_spawn_and_gather_other_awaitables_are_awaited():
    check_transformed(
        """\
        import asyncio
        from pinjected import injected

        @injected
        async def a_get(x):
            return x

        @injected
        async def all_of(a_get, /):
            return await asyncio.gather(a_get(1), a_get(2), asyncio.sleep(0, "z"))
        """,
        """\
        import asyncio
        from doeff_migrate.runtime import Await, Gather, Spawn, do, function_binding

        @function_binding
        @do
        def a_get(x):
            return x

        @function_binding
        @do
        def all_of():
            return (yield Gather((yield Spawn(a_get(1))), (yield Spawn(a_get(2))), (yield Spawn(Await(asyncio.sleep(0, "z"))))))
        """,
    )


def test_runtime_parameters_defaults_star_args_and_keyword_only_stay():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(dep, /, a, b=2, *args, _other, c=3, **kwargs):
            return dep, a, b, args, _other, c, kwargs
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(a, b=2, *args, c=3, **kwargs):
            dep = yield Ask("dep")
            _other = yield Ask("other")
            return dep, a, b, args, _other, c, kwargs
        """,
    )


def test_bare_star_is_dropped_when_only_keyword_dependencies_followed_it():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(x, *, _dep):
            return x, _dep
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(x):
            _dep = yield Ask("dep")
            return x, _dep
        """,
    )


def test_multiline_parameters_keep_their_layout():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(
            logger,
            /,
            x,
            y,
        ):
            return logger, x, y
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(
            x,
            y,
        ):
            logger = yield Ask("logger")
            return logger, x, y
        """,
    )


def test_protocol_argument_and_module_alias_are_understood():
    check_transformed(
        """\
        import pinjected as pj

        @pj.injected(protocol=object)
        def f(dep, /, x):
            return dep + x
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def f(x):
            dep = yield Ask("dep")
            return dep + x
        """,
    )


def test_target_doeff_imports_effects_from_doeff_and_bindings_from_the_runtime():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(dep, /):
            return dep
        """,
        """\
        from doeff import Ask, do
        from doeff_migrate.runtime import function_binding

        @function_binding
        @do
        def f():
            dep = yield Ask("dep")
            return dep
        """,
        target="doeff",
    )


def test_files_without_pinjected_and_plain_functions_are_untouched():
    check_noop(
        """\
        import asyncio

        async def f(x):
            await asyncio.sleep(0)
            return x
        """
    )
    check_noop(
        """\
        from pinjected import IProxy

        def plain(a, /, b):
            return a + b
        """
    )


def test_already_migrated_code_is_untouched():
    check_noop(
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        # pinjected was used here once
        @function_binding
        @do
        def f():
            dep = yield Ask("dep")
            return dep
        """
    )


def test_only_range_limits_the_rewrite_to_the_function_under_it():
    source = (
        "from pinjected import injected\n\n"
        "@injected\ndef a(dep, /):\n    return dep\n\n"
        "@injected\ndef b(dep, /):\n    return dep\n"
    )
    result = migrate_source(source, path="m.py", only_range=(8, 8))
    assert "def a(dep, /):" in result.code
    assert "def b():\n    dep = yield Ask(\"dep\")" in result.code
    assert result.code.count("@injected") == 1


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def flag_above(code: str, line_text: str) -> list[str]:
    """The codes of the ``# doeff-migrate`` comments right above ``line_text`` (which must be unchanged)."""
    lines = code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == line_text.strip())
    codes = []
    i = at - 1
    while i >= 0 and lines[i].strip().startswith("@"):  # the flag sits above the decorators
        i -= 1
    while i >= 0 and lines[i].strip().startswith("# doeff-migrate: "):
        codes.append(lines[i].strip().split(":")[1].strip())
        i -= 1
    return codes


ITEMS = """\
    import asyncio
    from pinjected import IProxy, injected

    @injected
    async def a_item(x):
        return x * 10

"""


def test_a_provider_whose_module_name_is_rebound_is_asked_for():
    check_transformed(
        """\
        from pinjected import IProxy, injected

        @injected
        def score(scale, /, x):
            return x * scale

        @injected
        def report(score, /, x):
            return score(x) + 1

        score: IProxy = score(5)
        """,
        """\
        from doeff_migrate.runtime import Ask, Program, do, function_binding

        @function_binding
        @do
        def score(x):
            scale = yield Ask("scale")
            return x * scale

        @function_binding
        @do
        def report(x):
            score = yield Ask("score")
            return (yield score(x)) + 1

        score: Program = score(5)

        __doeff_requires__ = {"score": ("scale",)}
        """,
    )


def test_a_gather_of_the_project_is_not_asyncio_gather():
    result = migrate({"app/main.py": dedent(ITEMS) + dedent("""\
        async def gather(*coros):
            return list(reversed(await asyncio.gather(*coros)))

        @injected
        async def a_all(a_item, /):
            return await gather(a_item(1), a_item(2))
    """)})
    # Not asyncio.gather: the calls stay coroutines of the bound coroutine function, awaited by `gather`.
    assert (
        '    a_item = yield AskAsyncFunction("a_item")\n    async def body(a_item, /):\n'
        '        return await gather(a_item(1), a_item(2))\n    return (yield Await(body(a_item)))\n'
    ) in result.code, result.code


def test_asyncio_gather_is_found_through_import_aliases():
    result = migrate({"app/main.py": dedent(ITEMS).replace("import asyncio", "import asyncio as aio") + dedent("""\
        @injected
        async def a_all(a_item, /):
            return await aio.gather(a_item(1), a_item(2))
    """)})
    assert "return (yield Gather((yield Spawn(a_item(1))), (yield Spawn(a_item(2)))))" in result.code, result.code


def test_gather_with_return_exceptions_is_flagged_dm131():
    result = migrate({"app/main.py": dedent(ITEMS) + dedent("""\
        @injected
        async def a_all(a_item, /):
            return await asyncio.gather(a_item(1), a_item(2), return_exceptions=True)
    """)})
    assert flag_above(result.code, "async def a_all(a_item, /):") == ["DM131"], result.code


def test_await_of_a_sync_injected_function_awaits_what_it_returns():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def fetch(client, /, url):
            return client.get(url)

        @injected
        async def a_page(fetch, /, url):
            return (await fetch(url)).upper()
        """,
        """\
        from doeff_migrate.runtime import Ask, Await, do, function_binding

        @function_binding
        @do
        def fetch(url):
            client = yield Ask("client")
            return client.get(url)

        @function_binding
        @do
        def a_page(url):
            return (yield Await((yield fetch(url)))).upper()
        """,
    )


def test_sync_injected_function_in_a_gather_is_flagged_dm130():
    result = migrate({"app/main.py": """
        import asyncio
        from pinjected import injected

        @injected
        def fetch(client, /, url):
            return client.get(url)

        @injected
        async def a_pages(fetch, /):
            return await asyncio.gather(fetch("a"), fetch("b"))
    """})
    assert flag_above(result.code, "async def a_pages(fetch, /):") == ["DM130"], result.code


@pytest.mark.parametrize("call", ["asyncio.create_task(plain())", "asyncio.get_running_loop().create_future()"])
def test_event_loop_apis_in_an_async_body_run_it_as_a_coroutine_on_the_loop(call):
    result = migrate({"app/main.py": f"""
        import asyncio
        from pinjected import injected

        async def plain():
            return 1

        @injected
        async def a_run(base, /):
            t = {call}
            return await t
    """})
    assert "# doeff-migrate:" not in result.code, result.code
    assert f"    async def body(base, /):\n        t = {call}\n        return await t\n    return (yield Await(body(base)))" in result.code, result.code


def test_event_loop_apis_in_a_sync_injected_body_are_flagged_dm132():
    result = migrate({"app/main.py": """
        import asyncio
        from pinjected import injected

        @injected
        def run(base, /):
            return asyncio.get_running_loop()
    """})
    assert flag_above(result.code, "def run(base, /):") == ["DM132"], result.code


def test_stop_iteration_escaping_is_flagged_and_callers_wait():
    result = migrate({"app/main.py": """
        from pinjected import injected

        @injected
        def first_match(items, /, pred):
            return next(x for x in items if pred(x))

        @injected
        def safe_first(items, /):
            try:
                return next(iter(items))
            except StopIteration:
                return None

        @injected
        def pick(first_match, /, limit):
            try:
                return first_match(lambda x: x > limit)
            except StopIteration:
                return "none"
    """})
    assert flag_above(result.code, "def first_match(items, /, pred):") == ["DM133"], result.code
    assert "def safe_first():" in result.code, result.code  # a `next` guarded by `try` is migrated
    assert flag_above(result.code, "def pick(first_match, /, limit):") == ["DM117"], result.code


@pytest.mark.parametrize(
    ("imports", "call", "migrated"),
    [
        ("from asyncio import gather", "gather", True),
        ("from asyncio import gather as g", "g", True),
        ("from mylib import gather", "gather", False),
    ],
)
def test_gather_is_resolved_through_from_imports(imports, call, migrated):
    result = migrate({"app/main.py": dedent(ITEMS).replace("import asyncio", imports) + dedent(f"""\
        @injected
        async def a_all(a_item, /):
            return await {call}(a_item(1), a_item(2))
    """)})
    if migrated:
        assert "(yield Gather((yield Spawn(a_item(1))), (yield Spawn(a_item(2)))))" in result.code, result.code
    else:
        assert f"        return await {call}(a_item(1), a_item(2))\n    return (yield Await(body(a_item)))" in result.code, result.code
        assert 'a_item = yield AskAsyncFunction("a_item")' in result.code, result.code


def test_runtime_parameter_annotated_injected_is_flagged_dm134():
    result = migrate({"app/main.py": """
        from pinjected import IProxy, Injected, design, injected

        @injected
        def describe(x: Injected):
            return type(x).__name__

        main: IProxy = describe(injected("k"))
    """})
    assert flag_above(result.code, "def describe(x: Injected):") == ["DM134"], result.code
    assert flag_above(result.code, 'main: IProxy = describe(injected("k"))') == ["DM108"], result.code


def test_generated_names_taken_by_the_module_are_imported_under_an_alias():
    check_transformed(
        """\
        from pinjected import injected

        def do(action):
            return "did " + action

        @injected
        async def a_f(Await, /, x):
            return do(Await + x)
        """,
        """\
        from doeff_migrate.runtime import Ask, do as _dm_do, function_binding

        def do(action):
            return "did " + action

        @function_binding
        @_dm_do
        def a_f(x):
            Await = yield Ask("Await")
            return do(Await + x)
        """,
    )

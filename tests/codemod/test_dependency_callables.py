"""Dependencies used other than as direct calls, async bodies with ``async with`` / ``async for`` /
nested ``await``, injected generators and context managers, stacked decorators and keys bound to
functions and values: before/after strings (runtime/dependencies.py, transforms/dependency_forms.py)."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .tools import check_transformed

STEP = {"steps.py": "from pinjected import injected\n\n@injected\ndef step(x):\n    return x\n"}
A_SYSTEM = {"system.py": "from pinjected import injected\n\n@injected\nasync def a_system(cmd):\n    return cmd\n"}


def test_dependency_in_a_comprehension_becomes_a_bound_callable_where_a_loop_would_rebind_a_name():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def train_loop(step, logger, /, n):
            hist = [step(s) for s in range(n)]
            s = "done"
            logger.info(s)
            return hist
        """,
        """\
        from doeff_migrate.runtime import Ask, AskFunction, do, function_binding

        @function_binding
        @do
        def train_loop(n):
            step = yield AskFunction("step")
            logger = yield Ask("logger")
            hist = [step(s) for s in range(n)]
            s = "done"
            logger.info(s)
            return hist
        """,
        others=STEP,
    )


def test_list_comprehension_of_direct_calls_is_lowered_to_a_loop_of_yields_where_scoping_allows():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def train_loop(step, /, n):
            hist = [step(s) * 2 for s in range(n) if s % 2 if s > 1]
            return hist
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def train_loop(n):
            step = yield Ask("step")
            hist = []
            for s in range(n):
                if s % 2:
                    if s > 1:
                        hist.append((yield step(s)) * 2)
            return hist
        """,
        others=STEP,
    )


def test_a_comprehension_inside_a_try_or_reading_its_target_is_not_lowered():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def f(step, /, xs):
            try:
                ys = [step(x) for x in xs]
            except ValueError:
                ys = None
            xs = [step(x) for x in xs]
            return ys, xs
        """,
        """\
        from doeff_migrate.runtime import AskFunction, do, function_binding

        @function_binding
        @do
        def f(xs):
            step = yield AskFunction("step")
            try:
                ys = [step(x) for x in xs]
            except ValueError:
                ys = None
            xs = [step(x) for x in xs]
            return ys, xs
        """,
        others=STEP,
    )


def test_dependency_passed_as_a_value_is_a_bound_callable_while_direct_calls_elsewhere_stay_static():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def run_all(step, /, xs):
            return list(map(step, xs))

        @injected
        def once(step, /, x):
            return step(x)
        """,
        """\
        from doeff_migrate.runtime import Ask, AskFunction, do, function_binding

        @function_binding
        @do
        def run_all(xs):
            step = yield AskFunction("step")
            return list(map(step, xs))

        @function_binding
        @do
        def once(x):
            step = yield Ask("step")
            return (yield step(x))
        """,
        others=STEP,
    )


def test_dependency_in_a_lambda_and_a_nested_def():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def make(step, /, prefix):
            def macro(word):
                return step(prefix + word)
            return macro, (lambda w: step(w))
        """,
        """\
        from doeff_migrate.runtime import AskFunction, do, function_binding

        @function_binding
        @do
        def make(prefix):
            step = yield AskFunction("step")
            def macro(word):
                return step(prefix + word)
            return macro, (lambda w: step(w))
        """,
        others=STEP,
    )


def test_async_body_with_await_in_a_comprehension_and_async_with_runs_as_a_coroutine():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        async def a_build(a_system, /, tags, *, lock):
            \"\"\"Build every tag.\"\"\"
            async with lock:
                out = [await a_system(t) for t in tags]
            return out
        """,
        """\
        from doeff_migrate.runtime import AskAsyncFunction, Await, do, function_binding

        @function_binding
        @do
        def a_build(tags, *, lock):
            \"\"\"Build every tag.\"\"\"
            a_system = yield AskAsyncFunction("a_system")
            async def body(a_system, /, tags, *, lock):
                async with lock:
                    out = [await a_system(t) for t in tags]
                return out
            return (yield Await(body(a_system, tags, lock=lock)))
        """,
        others=A_SYSTEM,
    )


def test_async_for_with_star_parameters_and_a_taken_body_name():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        async def a_collect(source, step, /, body, *args, **kwargs):
            out = [step(x) async for x in source(body)]
            return out, args, kwargs
        """,
        """\
        from doeff_migrate.runtime import Ask, AskFunction, Await, do, function_binding

        @function_binding
        @do
        def a_collect(body, *args, **kwargs):
            source = yield Ask("source")
            step = yield AskFunction("step")
            async def _body(source, step, /, body, *args, **kwargs):
                out = [step(x) async for x in source(body)]
                return out, args, kwargs
            return (yield Await(_body(source, step, body, *args, **kwargs)))
        """,
        others=STEP,
    )


def test_injected_generator_keeps_the_function_under_pass_dependencies():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def batches(size, step, /, items):
            for i in range(0, len(items), size):
                yield [step(x) for x in items[i:i + size]]
        """,
        """\
        from doeff_migrate.runtime import Ask, AskFunction, function_binding, pass_dependencies

        @function_binding
        @pass_dependencies(size=Ask, step=AskFunction)
        def batches(size, step, /, items):
            for i in range(0, len(items), size):
                yield [step(x) for x in items[i:i + size]]
        """,
        others=STEP,
    )


def test_async_context_manager_provider_keeps_its_decorator():
    check_transformed(
        """\
        from contextlib import asynccontextmanager
        from pinjected import injected

        @injected
        @asynccontextmanager
        async def session(a_system, /, name):
            yield await a_system(name)
        """,
        """\
        from contextlib import asynccontextmanager
        from doeff_migrate.runtime import AskAsyncFunction, function_binding, pass_dependencies

        @function_binding
        @pass_dependencies(a_system=AskAsyncFunction)
        @asynccontextmanager
        async def session(a_system, /, name):
            yield await a_system(name)
        """,
        others=A_SYSTEM,
    )


def test_stacked_decorators_under_injected_and_instance_keep_pinjecteds_calling_convention():
    check_transformed(
        """\
        from beartype import beartype
        from tenacity import retry
        from pinjected import injected, instance

        @injected
        @beartype
        @retry
        def f(dep, /, _suffix, x: int) -> int:
            return dep + x

        @instance
        @retry
        def conn(_url):
            return _url
        """,
        """\
        from beartype import beartype
        from tenacity import retry
        from doeff_migrate.runtime import Ask, function_binding, instance_binding, pass_dependencies

        @function_binding
        @pass_dependencies(dep=Ask, suffix=Ask)
        @beartype
        @retry
        def f(dep, /, _suffix, x: int) -> int:
            return dep + x

        @instance_binding
        @pass_dependencies(_url=Ask)
        @retry
        def conn(_url):
            return _url

        __doeff_requires__ = {"conn": ("_url",)}
        """,
    )


def test_a_key_that_is_not_a_keyword_name_is_passed_through_a_dict():
    check_transformed(
        """\
        from pinjected import injected

        def logged(fn):
            return fn

        @injected
        @logged
        def f(a, /, _class, x):
            return a, _class, x
        """,
        """\
        from doeff_migrate.runtime import Ask, function_binding, pass_dependencies

        def logged(fn):
            return fn

        @function_binding
        @pass_dependencies(a=Ask, **{'class': Ask})
        @logged
        def f(a, /, _class, x):
            return a, _class, x
        """,
    )


MIXED = {
    "fetching.py": "from pinjected import injected\n\n@injected\ndef fetch(url):\n    return url\n",
    "test_fetching.py": "from pinjected import design\n\ntest_design = design(fetch=lambda url: 'fake')\n",
}


def test_key_bound_to_a_function_and_a_value_goes_through_call_dependency_at_statement_level():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def page(fetch, /, url):
            text = fetch(url)
            return text
        """,
        """\
        from doeff_migrate.runtime import Ask, call_dependency, do, function_binding

        @function_binding
        @do
        def page(url):
            fetch = yield Ask("fetch")
            text = yield call_dependency(fetch, url)
            return text
        """,
        others=MIXED,
    )


def test_key_bound_to_a_function_and_a_value_used_as_a_value_is_a_bound_callable():
    check_transformed(
        """\
        from pinjected import injected

        @injected
        def pages(fetch, /, urls):
            return list(map(fetch, urls))
        """,
        """\
        from doeff_migrate.runtime import AskFunction, do, function_binding

        @function_binding
        @do
        def pages(urls):
            fetch = yield AskFunction("fetch")
            return list(map(fetch, urls))
        """,
        others=MIXED,
    )


def test_unawaited_async_dependency_is_migrated_as_the_no_op_it_was_and_noted_dm110():
    result = check_transformed(
        """\
        from pinjected import injected

        @injected
        async def build(a_system, /):
            a_system("tool --version")
            return await a_system("x")
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
                return await a_system("x")
            return (yield Await(body(a_system)))
        """,
        others=A_SYSTEM,
    )
    assert [f.code for f in result.flags] == ["DM110"]


def test_by_name_of_an_injected_function_in_an_entry_point_is_a_bound_callable():
    check_transformed(
        """\
        from pinjected import Injected, injected

        @injected
        def fetch(prefix, /, url):
            return prefix + url

        res = Injected.by_name("fetch").map(lambda f: f("z"))
        """,
        """\
        from doeff_migrate.runtime import Ask, AskFunction, do, function_binding

        @function_binding
        @do
        def fetch(url):
            prefix = yield Ask("prefix")
            return prefix + url

        @do
        def res():
            return (lambda f: f("z"))((yield AskFunction("fetch")))

        __doeff_requires__ = {"res": ("prefix", "fetch")}
        """,
    )


def test_instance_with_async_with_and_its_entry_point_migrate_once():
    check_transformed(
        """\
        from pinjected import IProxy, instance

        @instance
        async def table(logger):
            async with logger.session() as s:
                return await s.get()

        loaded: IProxy = table
        """,
        """\
        from doeff_migrate.runtime import Ask, Await, Program, do, instance_binding

        @instance_binding
        @do
        def table():
            logger = yield Ask("logger")
            async def body(logger):
                async with logger.session() as s:
                    return await s.get()
            return (yield Await(body(logger)))

        loaded: Program = table()

        __doeff_requires__ = {"table": ("logger",), "loaded": ("logger",)}
        """,
    )


def test_async_body_needing_the_running_loop_runs_as_a_coroutine_and_a_sync_one_is_flagged_dm132():
    result = check_transformed(
        """\
        import asyncio
        from pinjected import injected

        @injected
        async def a_spawn(base, /, coro):
            task = asyncio.create_task(coro)
            return base + await task

        @injected
        def loop_of(base, /):
            return asyncio.get_running_loop()
        """,
        """\
        import asyncio
        from pinjected import injected
        from doeff_migrate.runtime import Ask, Await, do, function_binding

        @function_binding
        @do
        def a_spawn(coro):
            base = yield Ask("base")
            async def body(base, /, coro):
                task = asyncio.create_task(coro)
                return base + await task
            return (yield Await(body(base, coro)))

        # doeff-migrate: DM132: `asyncio.get_running_loop` needs the running event loop, which a @do body does not run in: move it behind an effect handler
        @injected
        def loop_of(base, /):
            return asyncio.get_running_loop()
        """,
    )
    assert [f.code for f in result.flags] == ["DM132"]


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def test_mixed_dependency_passed_as_a_value_is_a_bound_callable():
    result = migrate({
        "app/main.py": """
            from pinjected import IProxy, injected

            @injected
            def fetch(url):
                return "real:" + url

            @injected
            def pages(fetch, /, urls):
                return list(map(fetch, urls))

            main: IProxy = pages(["a", "b"])
        """,
        "app/testing.py": """
            from pinjected import design
            __design__ = design(fetch=lambda u: "fake:" + u)
        """,
    })
    assert 'fetch = yield AskFunction("fetch")\n    return list(map(fetch, urls))' in result.code, result.code
    assert "# doeff-migrate:" not in result.code, result.code

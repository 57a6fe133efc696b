"""Dependencies as plain callables bound to the run (runtime/dependencies.py): AskFunction,
AskAsyncFunction, call_dependency and pass_dependencies, on the bundled interpreter."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import pytest

from doeff_migrate.runtime import (
    Ask,
    AskAsyncFunction,
    AskFunction,
    Await,
    EffectBase,
    RecordingHandler,
    ReplayHandler,
    Resume,
    Tell,
    call_dependency,
    do,
    function_binding,
    handler,
    pass_dependencies,
    run,
    state,
    writer,
    writer_log,
)
from doeff_migrate.runtime.errors import ReentrantCallError


@do
def step(x):
    scale = yield Ask("scale")
    return x * scale


@do
def told_step(x):
    yield Tell(f"step {x}")
    return (yield step(x))


@do
def a_fetch(x):
    base = yield Ask("base")
    yield Await(asyncio.sleep(0))
    return base + x


def test_ask_function_gives_a_callable_whose_calls_run_on_the_same_run_and_handlers():
    @do
    def loop(n):
        s = yield AskFunction("step")
        out = [s(i) for i in range(n)]
        return out, (yield writer_log())

    result = run(state()(writer(loop(3))), env={"step": told_step, "scale": 10})
    assert result == ([0, 10, 20], ["step 0", "step 1", "step 2"])


def test_a_bound_callable_called_after_its_run_ended_is_a_clear_error():
    @do
    def leak():
        return (yield AskFunction("step"))

    escaped = run(leak(), env={"step": step, "scale": 1})
    with pytest.raises(ReentrantCallError, match="outside any running program"):
        escaped(1)


def test_ask_function_gives_plain_values_and_plain_callables_as_they_are():
    def plain(x):
        return x + 1

    @do
    def main():
        value = yield AskFunction("value")
        fn = yield AskFunction("plain")
        via_lambda = yield AskFunction("lam")
        return value, fn(1), via_lambda(2)

    env = {"value": 7, "plain": plain, "lam": lambda x: step(x), "scale": 3}
    assert run(main(), env=env) == (7, 2, 6)


def test_ask_async_function_gives_a_coroutine_function_run_through_await():
    @do
    def main(xs):
        fetch = yield AskAsyncFunction("a_fetch")

        async def body():
            return [await fetch(x) for x in xs]

        return (yield Await(body()))

    assert run(main([1, 2]), env={"a_fetch": a_fetch, "base": 100}) == [101, 102]


def test_a_sync_dependency_called_inside_an_awaited_coroutine_runs_on_the_run():
    @do
    def main(xs):
        s = yield AskFunction("step")

        async def body():
            await asyncio.sleep(0)
            return [s(x) for x in xs]

        return (yield Await(body()))

    assert run(main([1, 2]), env={"step": step, "scale": 5}) == [5, 10]


def test_call_dependency_runs_a_program_and_returns_a_plain_result():
    @do
    def main():
        a = yield call_dependency((yield Ask("f")), 2)
        b = yield call_dependency((yield Ask("g")), 2)
        return a, b

    assert run(main(), env={"f": step, "g": lambda x: x * 100, "scale": 4}) == (8, 200)


def _logged(calls):
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls.append((args, kwargs))
            return fn(*args, **kwargs)

        return wrapper

    return deco


def test_pass_dependencies_calls_like_pinjected_leading_dependencies_and_defaults_filled_in():
    calls = []

    @pass_dependencies(greeting=Ask, suffix=Ask)
    @_logged(calls)
    def greet(greeting, /, _suffix, name, n=1, *rest, loud=False, **kw):
        text = (greeting + " " + name + _suffix) * n
        return text.upper() if loud else text

    assert run(greet("amy"), env={"greeting": "hi", "suffix": "!"}) == "hi amy!"
    assert run(greet(name="bob", loud=True), env={"greeting": "hi", "suffix": "?"}) == "HI BOB?"
    # pinjected 0.2.252 (verified): ('hi', '!', 'amy', 1) {'loud': False}
    assert calls == [(("hi", "!", "amy", 1), {"loud": False}), (("hi", "?", "bob", 1), {"loud": True})]


def test_pass_dependencies_returns_generators_and_awaits_coroutines():
    @pass_dependencies(size=Ask)
    def batches(size, /, items):
        for i in range(0, len(items), size):
            yield items[i:i + size]

    @pass_dependencies(base=Ask)
    async def a_plus(base, /, x):
        await asyncio.sleep(0)
        return base + x

    @do
    def main():
        gen = yield batches([1, 2, 3])
        total = yield a_plus(1)
        bound = yield AskFunction("batches")  # pinjected's partially applied function
        return list(gen), total, list(bound([4, 5, 6]))

    assert run(main(), env={"size": 2, "base": 10, "batches": batches}) == ([[1, 2], [3]], 11, [[4, 5], [6]])


def test_pass_dependencies_is_a_do_function_for_the_registry():
    @function_binding("registered_batches_for_test")
    @pass_dependencies(size=Ask)
    def batches(size, /, items):
        yield from items

    assert batches.__name__ == "batches"


def test_pass_dependencies_refuses_an_unknown_ask():
    with pytest.raises(TypeError, match="expected Ask, AskFunction, AskAsyncFunction or AskResolver"):
        pass_dependencies(x=print)


@dataclass(frozen=True)
class Fetch(EffectBase):
    url: str


def test_effects_of_bound_callables_are_recorded_and_replayed(tmp_path):
    """A dependency called in a comprehension performs its IO effect on the run: the recording
    has it, and a replay answers it without the handler."""
    fetched = []

    @handler
    def network(effect: Fetch, k):
        fetched.append(effect.url)
        return (yield Resume(k, f"<{effect.url}>"))

    @do
    def fetch(url):
        return (yield Fetch(url))

    @do
    def crawl(urls):
        f = yield AskFunction("fetch")
        return [f(u) for u in urls]

    path = tmp_path / "run.jsonl"
    first = run(crawl(["a", "b"]), handlers=[RecordingHandler(path), network], env={"fetch": fetch})
    replayed = run(crawl(["a", "b"]), handlers=[ReplayHandler(path), network], env={"fetch": fetch})
    assert first == replayed == ["<a>", "<b>"]
    assert fetched == ["a", "b"]  # the replay did not reach the network handler


LAZY_ASYNC_INSTANCE_PROJECT = {
    "lazyapp/__init__.py": "",
    "lazyapp/main.py": """
        import asyncio

        from doeff_migrate.runtime import Ask, AskFunction, Await, do, function_binding, instance_binding

        async def connect():
            await asyncio.sleep(0)
            return "client"

        @instance_binding
        @do
        def client():
            return (yield Await(connect()))  # an async @instance

        @function_binding
        @do
        def render(x):
            return f"{(yield Ask('client'))}:{x}"

        @do
        def main():
            show = yield AskFunction("render")

            async def body():  # an async body kept as a coroutine: it calls the sync dependency plainly
                await asyncio.sleep(0)
                return show(1)

            return (yield Await(body()))

        __doeff_requires__ = {"main": ("client", "render")}
    """,
}


def _run_entry(cwd, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "doeff_migrate.runtime", "run", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def test_sync_dependency_needing_an_unbuilt_async_instance_under_lazy_fails_clearly_instead_of_hanging(tmp_path):
    import textwrap

    for rel, text in LAZY_ASYNC_INSTANCE_PROJECT.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    eager = _run_entry(tmp_path, "lazyapp.main.main", "--json")
    assert eager.returncode == 0, eager.stderr
    assert eager.stdout.splitlines()[-1] == '"client:1"'  # built first, as pinjected resolves it first

    lazy = _run_entry(tmp_path, "lazyapp.main.main", "--json", "--lazy")  # hung before: the timeout guards it
    assert lazy.returncode != 0
    assert "ReentrantAwaitError" in lazy.stderr
    assert "'render' was called without await" in lazy.stderr
    assert "run without --lazy" in lazy.stderr

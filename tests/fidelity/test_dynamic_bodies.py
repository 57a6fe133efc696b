"""Dependencies used as plain callables, async bodies kept as coroutines, injected generators and
context managers, decorators stacked under ``@injected`` and keys bound to functions and values:
the original under real pinjected and the migrated copy, with pinjected unimportable, must return
equal results and print the same lines in the same order."""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour, migrate_copy, write_project

_LOGGED = """\
    import functools

    def logged(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            print("call", fn.__name__, args, sorted(kwargs))
            return fn(*args, **kwargs)
        return wrapper

    def retry(times):
        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                for attempt in range(times):
                    try:
                        return fn(*args, **kwargs)
                    except ValueError as err:
                        print("retry", attempt, err)
                raise RuntimeError("gave up")
            return wrapper
        return deco

    def aretry(times):
        def deco(fn):
            @functools.wraps(fn)
            async def wrapper(*args, **kwargs):
                for attempt in range(times):
                    try:
                        return await fn(*args, **kwargs)
                    except ValueError as err:
                        print("aretry", attempt, err)
                raise RuntimeError("gave up")
            return wrapper
        return deco
"""

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "dependency_in_list_comprehension": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def train_step(scale, /, s):
                    print("step", s)
                    return s * scale

                @injected
                def train_loop(train_step, /, n):
                    hist = [train_step(s) for s in range(n)]
                    print("done")
                    return hist

                main: IProxy = train_loop(3)
                __design__ = design(scale=10)
            """,
        },
        ["app.main.main"],
    ),
    "dependency_in_lambda_map_and_partial": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import functools
                from pinjected import IProxy, design, injected

                @injected
                def add(offset, /, x, y=0):
                    return x + y + offset

                @injected
                def combine(add, /, xs):
                    plus_one = functools.partial(add, y=1)
                    mapped = list(map(lambda x: add(x, 2), xs))
                    return mapped + [plus_one(x) for x in xs] + sorted(xs, key=lambda x: -add(x))

                main: IProxy = combine([1, 2, 3])
                __design__ = design(offset=100)
            """,
        },
        ["app.main.main"],
    ),
    "closure_returned_as_macro_and_stored_in_data": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def shout(suffix, /, text):
                    print("shout", text)
                    return text.upper() + suffix

                @injected
                def make_macro(shout, /, prefix):
                    def macro(word):
                        return shout(prefix + word)
                    table = {"s": shout}
                    return [macro("a"), macro("b"), table["s"]("c")]

                main: IProxy = make_macro("x-")
                __design__ = design(suffix="!")
            """,
        },
        ["app.main.main"],
    ),
    "callback_sees_the_same_singleton": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def counter():
                    print("counter built")
                    return {"n": 0}

                @injected
                def bump(counter, /, by):
                    counter["n"] += by
                    return counter["n"]

                def apply_all(callback, values):
                    return [callback(v) for v in values]

                @injected
                def run_callbacks(bump, counter, /):
                    out = apply_all(bump, [1, 2, 3])
                    return out + [counter["n"]]

                main: IProxy = run_callbacks()
            """,
        },
        ["app.main.main"],
    ),
    "async_dependency_awaited_in_comprehension": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                async def a_system(prefix, /, cmd):
                    print("run", cmd)
                    return prefix + cmd

                @injected
                async def a_build(a_system, /, tags):
                    out = [await a_system(t) for t in tags]
                    return out

                main: IProxy = a_build(["a", "b", "c"])
                __design__ = design(prefix="$ ")
            """,
        },
        ["app.main.main"],
    ),
    "async_with_lock_and_async_for": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected

                class Gate:
                    async def __aenter__(self):
                        print("enter")
                        return self

                    async def __aexit__(self, *exc):
                        print("exit")

                async def numbers(n):
                    for i in range(n):
                        await asyncio.sleep(0)
                        yield i

                @injected
                async def a_fetch(base, /, i):
                    return base + i

                @injected
                async def a_collect(a_fetch, /, n):
                    \"\"\"Collects n values.\"\"\"
                    out = []
                    async with Gate():
                        async for i in numbers(n):
                            out.append(await a_fetch(i))
                    n = len(out)
                    return out + [n]

                main: IProxy = a_collect(3)
                __design__ = design(base=40)
            """,
        },
        ["app.main.main"],
    ),
    "async_body_calls_sync_dependency_and_gathers": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected

                @injected
                def label(tag, /, x):
                    return f"{tag}{x}"

                @injected
                async def a_square(x):
                    await asyncio.sleep(0)
                    return x * x

                @injected
                async def a_all(label, a_square, /, xs):
                    squares = await asyncio.gather(*[a_square(x) for x in xs])
                    async with asyncio.Lock():
                        names = [label(s) for s in squares]
                    return names

                main: IProxy = a_all([1, 2, 3])
                __design__ = design(tag="#")
            """,
        },
        ["app.main.main"],
    ),
    "injected_generator_function": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def batches(size, /, items):
                    for i in range(0, len(items), size):
                        print("batch", i)
                        yield items[i:i + size]

                @injected
                def total(batches, /, items):
                    return [sum(b) for b in batches(items)]

                main: IProxy = total([1, 2, 3, 4, 5])
                __design__ = design(size=2)
            """,
        },
        ["app.main.main"],
    ),
    "injected_async_generator_and_context_manager": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from contextlib import asynccontextmanager
                from pinjected import IProxy, design, injected

                @injected
                async def a_stream(prefix, /, n):
                    for i in range(n):
                        yield f"{prefix}{i}"

                @injected
                @asynccontextmanager
                async def session(prefix, /, name):
                    print("open", name)
                    yield prefix + name
                    print("close", name)

                @injected
                async def a_use(a_stream, session, /):
                    out = [x async for x in a_stream(2)]
                    async with session("db") as s:
                        out.append(s)
                    return out

                main: IProxy = a_use()
                __design__ = design(prefix="p-")
            """,
        },
        ["app.main.main"],
    ),
    "functools_wraps_logger_under_injected_and_instance": (
        {
            "app/__init__.py": "",
            "app/deco.py": _LOGGED,
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance
                from app.deco import logged

                @instance
                @logged
                def greeting(word):
                    return word * 2

                @injected
                @logged
                def greet(greeting, /, _suffix, name, *, loud=False):
                    text = greeting + " " + name + _suffix
                    return text.upper() if loud else text

                @injected
                def both(greet, /):
                    return [greet("amy"), greet("bob", loud=True)]

                main: IProxy = both()
                __design__ = design(word="hi", suffix="!")
            """,
        },
        ["app.main.main"],
    ),
    "retry_decorator_reruns_the_body": (
        {
            "app/__init__.py": "",
            "app/deco.py": _LOGGED,
            "app/main.py": """\
                from pinjected import IProxy, injected, instance
                from app.deco import aretry, retry

                @instance
                def attempts():
                    return {"sync": 0, "async": 0}

                @injected
                @retry(3)
                def flaky(attempts, /, x):
                    attempts["sync"] += 1
                    if attempts["sync"] < 3:
                        raise ValueError(f"try {attempts['sync']}")
                    return x * 2

                @injected
                @aretry(3)
                async def a_flaky(attempts, /, x):
                    attempts["async"] += 1
                    if attempts["async"] < 2:
                        raise ValueError(f"atry {attempts['async']}")
                    return x + 1

                @injected
                async def a_main(flaky, a_flaky, attempts, /):
                    return [flaky(5), await a_flaky(5), dict(attempts)]

                main: IProxy = a_main()
            """,
        },
        ["app.main.main"],
    ),
    "key_bound_to_function_and_to_value": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def fetch(base, /, url):
                    return base + url

                @injected
                def pages(fetch, /, urls):
                    first = fetch(urls[0])
                    return [first] + [fetch(u) for u in urls[1:]]

                @injected
                def one(fetch, /, url):
                    return fetch(url)

                main: IProxy = pages(["a", "b"])
                single: IProxy = one("c")
                __design__ = design(base="http://")
            """,
            "app/fake.py": """\
                from pinjected import IProxy, design
                from app.main import one, pages

                main: IProxy = pages(["x", "y"])
                single: IProxy = one("z")
                __design__ = design(fetch=lambda url: "fake:" + url)
            """,
        },
        ["app.main.main", "app.main.single", "app.fake.main", "app.fake.single"],
    ),
    "unawaited_async_dependency_stays_a_no_op": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import warnings
                from pinjected import IProxy, injected

                warnings.simplefilter("ignore", RuntimeWarning)

                @injected
                async def a_side(x):
                    print("side effect", x)
                    return x

                @injected
                async def a_caller(a_side, /):
                    a_side(1)
                    return await a_side(2)

                main: IProxy = a_caller()
            """,
        },
        ["app.main.main"],
    ),
    "combined_generator_decorator_comprehension_and_async": (
        {
            "app/__init__.py": "",
            "app/deco.py": _LOGGED,
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected, instance
                from app.deco import logged

                @instance
                def log():
                    return []

                @injected
                @logged
                def score(weight, log, /, x):
                    log.append(x)
                    return x * weight

                @injected
                def windows(score, /, xs):
                    for x in xs:
                        yield score(x)

                @injected
                async def a_rank(score, /, x):
                    await asyncio.sleep(0)
                    return -score(x)

                @injected
                async def a_report(windows, a_rank, log, /, xs):
                    ws = list(windows(xs))
                    ranks = [await a_rank(x) for x in xs]
                    async with asyncio.Lock():
                        pass
                    return [ws, ranks, list(log)]

                main: IProxy = a_report([1, 2])
                __design__ = design(weight=3)
            """,
        },
        ["app.main.main"],
    ),
    "dependency_called_in_nested_def_across_modules": (
        {
            "app/__init__.py": "",
            "app/steps.py": """\
                from pinjected import injected

                @injected
                def normalize(scale, /, x):
                    return x / scale

                @injected
                async def a_load(root, /, name):
                    return f"{root}/{name}"
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                import app.steps

                @injected
                async def a_pipeline(normalize, a_load, /, names):
                    async def load_all():
                        return [await a_load(n) for n in names]
                    paths = await load_all()
                    def norm(values):
                        return [normalize(v) for v in values]
                    return paths + norm([2, 4])

                main: IProxy = a_pipeline(["a", "b"])
                __design__ = design(scale=2, root="/data")
            """,
        },
        ["app.main.main"],
    ),
    "instance_uses_dependency_in_comprehension": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @injected
                def embed(dim, /, word):
                    return [len(word)] * dim

                @instance
                def vocabulary(embed, words):
                    print("building vocabulary")
                    return {w: embed(w) for w in words}

                @injected
                def lookup(vocabulary, /, w):
                    return vocabulary[w]

                main: IProxy = lookup("bb")
                __design__ = design(dim=2, words=["a", "bb"])
            """,
        },
        ["app.main.main"],
    ),
    "beartype_under_injected_checks_the_real_values": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from beartype import beartype
                from pinjected import IProxy, design, injected

                @injected
                @beartype
                def scale(factor: int, /, x: int) -> int:
                    return x * factor

                @injected
                def run_all(scale, /, xs):
                    out = [scale(x) for x in xs]
                    try:
                        scale("not an int")
                    except Exception as err:
                        out.append(type(err).__name__)
                    return out

                main: IProxy = run_all([1, 2])
                __design__ = design(factor=3)
            """,
        },
        ["app.main.main"],
    ),
    "retry_under_instance_reruns_the_provider": (
        {
            "app/__init__.py": "",
            "app/deco.py": _LOGGED,
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance
                from app.deco import retry

                TRIES = []

                @instance
                @retry(3)
                def connection(url):
                    TRIES.append(url)
                    if len(TRIES) < 2:
                        raise ValueError("refused")
                    return {"url": url, "tries": len(TRIES)}

                @injected
                def use(connection, /):
                    return connection

                main: IProxy = use()
                __design__ = design(url="db://x")
            """,
        },
        ["app.main.main"],
    ),
    "sync_context_manager_and_generator_used_at_statement_level": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from contextlib import contextmanager
                from pinjected import IProxy, design, injected

                @injected
                @contextmanager
                def opened(prefix, /, name):
                    print("open", name)
                    yield prefix + name
                    print("close", name)

                @injected
                def counting(prefix, /, n):
                    for i in range(n):
                        yield prefix + str(i)

                @injected
                def main_flow(opened, counting, /):
                    out = []
                    with opened("f") as handle:
                        out.append(handle)
                    for item in counting(2):
                        out.append(item)
                    return out

                main: IProxy = main_flow()
                __design__ = design(prefix="p:")
            """,
        },
        ["app.main.main"],
    ),
    "async_key_bound_to_injected_function_and_to_plain_coroutine_function": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected

                @injected
                async def a_fetch(base, /, x):
                    await asyncio.sleep(0)
                    return base + x

                @injected
                async def a_all(a_fetch, /, xs):
                    first = await a_fetch(xs[0])
                    rest = await asyncio.gather(*[a_fetch(x) for x in xs[1:]])
                    return [first, *rest]

                main: IProxy = a_all(["a", "b", "c"])
                __design__ = design(base="real:")
            """,
            "app/fake.py": """\
                from pinjected import IProxy, design
                from app.main import a_all

                async def fake_fetch(x):
                    return "fake:" + x

                main: IProxy = a_all(["x", "y"])
                __design__ = design(a_fetch=fake_fetch)
            """,
        },
        ["app.main.main", "app.fake.main"],
    ),
    "partial_of_async_dependency_gathered_with_return_exceptions": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                import functools
                from pinjected import IProxy, injected

                @injected
                async def a_div(a, b):
                    await asyncio.sleep(0)
                    return a / b

                @injected
                async def a_ratios(a_div, /, xs):
                    by_ten = functools.partial(a_div, 10)
                    results = await asyncio.gather(*map(by_ten, xs), return_exceptions=True)
                    return [r if not isinstance(r, Exception) else type(r).__name__ for r in results]

                main: IProxy = a_ratios([1, 0, 4])
            """,
        },
        ["app.main.main"],
    ),
    "dependency_callbacks_registered_and_called_later_in_the_run": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def bus():
                    print("bus built")
                    return {"handlers": [], "log": []}

                @injected
                def on_event(bus, /, name):
                    bus["log"].append(name)
                    return len(bus["log"])

                @injected
                def subscribe(bus, on_event, /):
                    bus["handlers"].append(on_event)
                    bus["handlers"].append(lambda n: on_event(n.upper()))
                    return len(bus["handlers"])

                @injected
                def publish(bus, subscribe, /, names):
                    subscribe()
                    counts = [h(n) for n in names for h in bus["handlers"]]
                    return counts, bus["log"]

                main: IProxy = publish(["a", "b"])
            """,
        },
        ["app.main.main"],
    ),
    "sync_dependency_on_an_async_instance_called_inside_a_coroutine_body": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected, instance

                @instance
                async def vocab():
                    await asyncio.sleep(0)
                    print("vocab built")
                    return {"a": 1, "b": 2}

                @injected
                def encode(vocab, /, word):
                    return [vocab[c] for c in word]

                @injected
                async def a_encode_all(encode, /, words):
                    async with asyncio.Lock():
                        return [encode(w) for w in words]

                main: IProxy = a_encode_all(["ab", "ba"])
            """,
        },
        ["app.main.main"],
    ),
    "comprehension_whose_variable_is_reused_keeps_the_bound_callable": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def train_step(scale, /, s):
                    print("step", s)
                    return s * scale

                @injected
                def train_loop(train_step, /, n):
                    s = "before"
                    hist = [train_step(s) for s in range(n) if s != 1]
                    print("s is still", s)
                    return hist

                main: IProxy = train_loop(3)
                __design__ = design(scale=10)
            """,
        },
        ["app.main.main"],
    ),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_same_behaviour(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_a_second_run_changes_nothing(tmp_path, name):
    files, _targets = PROJECTS[name]
    write_project(tmp_path / "original", files)
    migrate_copy(tmp_path / "original", tmp_path / "once")
    first = {str(p.relative_to(tmp_path / "once")): p.read_text() for p in sorted((tmp_path / "once").rglob("*.py"))}
    migrate_copy(tmp_path / "once", tmp_path / "twice")
    second = {str(p.relative_to(tmp_path / "twice")): p.read_text() for p in sorted((tmp_path / "twice").rglob("*.py"))}
    assert second == first

"""Fidelity of the ``di`` phase on function bodies and entry points whose rewrite is easy to get subtly wrong.

``MIGRATED``: the codemod rewrites each project faithfully; the
migrated copy must carry no flag and give pinjected's result and printed lines. ``FLAGGED``: the
construct is left as pinjected with the expected ``# doeff-migrate: DM###`` codes; whatever the partly
migrated project does at run time must then never be a *different* result: it either matches pinjected
(through the runner's pinjected bridge) or fails loudly.

All runs (real pinjected, the bundled runtime) start together from one module-scoped fixture.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from .harness import migrate_copy, run_migrated, run_pinjected, write_project

INIT = {"app/__init__.py": ""}

MIGRATED: dict[str, tuple[dict[str, str], list[str]]] = {
    # One IProxy / @instance object used twice in one expression is resolved once.
    "same_leaf_twice": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected, instance

        @injected
        def f(x):
            print("f", x)
            return x

        @injected
        def g(a, b=0):
            print("g", a, b)
            return a + b

        @instance
        def ckpt():
            print("ckpt loaded")
            return {"w": 1}

        @injected
        def same(a, b):
            return a is b

        main: IProxy = f(1)
        twice: IProxy = g(main, main)
        same_ckpt: IProxy = same(ckpt, ckpt)
        """}, ["app.main.twice", "app.main.same_ckpt"]),
    # Plain arguments of a lifted entry point are evaluated once, at import.
    "plain_args_at_import": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, Injected, design, injected

        CONFIG = {"x": 1}

        def stamp():
            print("stamp")
            return "S"

        @injected
        def g(x):
            print("g", x)
            return x

        @injected
        def f(a, b, c):
            print("f")
            return [a, b, c]

        main: IProxy = f(g(1), stamp(), CONFIG["x"])
        zipped = Injected.mzip(g(2), Injected.pure(CONFIG["x"]))
        CONFIG["x"] = 2
        """}, ["app.main.main", "app.main.zipped"]),
    # Leaves inside a subscript index are yielded.
    "leaf_in_subscript_index": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def f(x):
            print("f", x)
            return x

        kw: IProxy = f(x=injected("k"))["a"][(f(2) == 2) + 0]
        idx: IProxy = f([10, 20])[f(1)]
        __design__ = design(k={"a": [1, 2]})
        """}, ["app.main.kw", "app.main.idx"]),
    # A provider whose module name is rebound is asked for, not called directly.
    "rebound_provider_name": ({**INIT, "app/main.py": """\
        import functools
        from pinjected import IProxy, design, injected

        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*a, **k):
                print("logged call")
                return fn(*a, **k)
            return wrapper

        @injected
        def step(scale, /, x):
            return x * scale

        step = logged(step)

        @injected
        def combo(step, /, x):
            return step(x)

        @injected
        def score(scale, /, x):
            return x * scale

        @injected
        def report(score, /, x):
            return score(x) + 1

        score: IProxy = score(5)
        main: IProxy = combo(3)
        rep: IProxy = report(2)
        __design__ = design(scale=2)
        """}, ["app.main.main", "app.main.rep", "app.main.score"]),
    # A project's own `gather` is not asyncio.gather (the async deps it gets are then flagged:
    # see FLAGGED); asyncio.gather through `import asyncio as aio` / `from asyncio import gather as g` is.
    "gather_resolved_through_imports": ({**INIT, "app/main.py": """\
        import asyncio as aio
        from asyncio import gather as g
        from pinjected import IProxy, injected

        @injected
        async def a_item(x):
            print("item", x)
            return x * 10

        @injected
        async def a_all(a_item, /):
            first = await aio.gather(a_item(1), a_item(2))
            second = await g(a_item(3))
            return [*first, *second]

        main: IProxy = a_all()
        """}, ["app.main.main"]),
    # Same module: a lifted entry point passed as an argument is run (`(yield lifted())`).
    "same_module_entry_points_as_arguments": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, injected

        @injected
        def greet(name):
            print("greet", name)
            return "hi " + name

        @injected
        def pair(a, b):
            return [a, b]

        plain: IProxy = greet("bob")
        lifted: IProxy = greet("amy") + "!"
        main: IProxy = pair(plain, lifted)
        """}, ["app.main.main"]),
    # The final awaitable value is awaited by the runner, as pinjected's does.
    "final_awaitable": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, injected, instance

        async def plain(x):
            await asyncio.sleep(0)
            return x + 1

        @instance
        def client():
            return plain

        @injected
        def sync_ret(client, /, x):
            return client(x)

        @injected
        async def async_ret(x):
            return plain(x)

        m1: IProxy = sync_ret(1)
        m2: IProxy = async_ret(2)
        """}, ["app.main.m1", "app.main.m2"]),
    # `await dep(x)` of a *sync* injected function returning an awaitable awaits its result.
    "await_of_sync_dependency": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, design, injected, instance

        class Client:
            async def get(self, url):
                await asyncio.sleep(0)
                return "got:" + url

        @instance
        def client():
            return Client()

        @injected
        def fetch(client, /, url):
            return client.get(url)

        @injected
        async def a_page(fetch, /, url):
            body = await fetch(url)
            return body.upper()

        main: IProxy = a_page("x")
        """}, ["app.main.main"]),
    # `.proxy` of an Injected is the Injected itself.
    "proxy_of_injected": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, Injected, design, injected

        a_plus: IProxy = Injected.by_name("a").proxy + 1
        zipped: IProxy = Injected.mzip(Injected.by_name("a"), Injected.pure(5)).proxy[1]
        pure_times: IProxy = Injected.pure(3).proxy * 2
        pure_list: IProxy = Injected.pure([1, 2]).proxy[0]
        __design__ = design(a=10)
        """}, ["app.main.a_plus", "app.main.zipped", "app.main.pure_times", "app.main.pure_list"]),
    # Generated imports do not collide with the module's own `do`, `Ask`, `Await`.
    "name_collisions": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, design, injected

        def do(action):
            return "did " + action

        def Ask(q):
            return "asked " + q

        @injected
        def run_task(prefix, /, name):
            return prefix + do(name) + Ask(name)

        @injected
        async def a_f(Await, /, x):
            await asyncio.sleep(0)
            return Await + x

        main: IProxy = run_task("x")
        af: IProxy = a_f("y")
        __design__ = design(prefix="P-", Await="A-")
        """}, ["app.main.main", "app.main.af"]),
    # Formerly flagged (DM107, DM110, DM137): dependencies bound as callables to the run.
    "mixed_dependency_used_as_value": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, injected

        @injected
        def fetch(url):
            return "real:" + url

        @injected
        def pages(fetch, /, urls):
            return list(map(fetch, urls))

        main: IProxy = pages(["a", "b"])
        """, "app/testing.py": """\
        from pinjected import IProxy, design
        from app.main import pages

        fake: IProxy = pages(["t"])
        __design__ = design(fetch=lambda u: "fake:" + u)
        """}, ["app.main.main", "app.testing.fake"]),
    "own_gather_helper": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, injected

        async def gather(*coros):
            results = await asyncio.gather(*coros)
            return {"n": len(results), "values": list(reversed(results))}

        @injected
        async def a_item(x):
            return x * 10

        @injected
        async def a_all(a_item, /):
            return await gather(a_item(1), a_item(2))

        main: IProxy = a_all()
        """}, ["app.main.main"]),
    "by_name_of_injected_function": ({**INIT, "app/main.py": """\
        from pinjected import Injected, design, injected

        @injected
        def fetch(prefix, /, url):
            return prefix + url

        res = Injected.by_name("fetch").map(lambda f: f("z"))
        __design__ = design(prefix="P-")
        """}, ["app.main.res"]),
    # Formerly flagged DM132: the async body runs as a coroutine on the runtime's loop.
    "event_loop_api": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, design, injected

        async def plain(x):
            await asyncio.sleep(0.01)
            print("plain", x)
            return x * 2

        @injected
        async def a_run(base, /, x):
            t = asyncio.create_task(plain(x))
            print("spawned")
            r = await t
            return r + base

        main: IProxy = a_run(3)
        __design__ = design(base=1)
        """}, ["app.main.main"]),
    "imported_entry_point_as_argument": ({**INIT, "app/jobs.py": """\
        from pinjected import IProxy, injected

        @injected
        def greet(name):
            print("greet", name)
            return "hi " + name

        plain: IProxy = greet("bob")
        lifted: IProxy = greet("amy") + "!"
        """, "app/main.py": """\
        from pinjected import IProxy, injected
        from app.jobs import plain, lifted

        @injected
        def pair(a, b):
            return [a, b]

        main: IProxy = pair(plain, lifted)
        """}, ["app.main.main"]),  # the other module's entry points (a program, a lifted @do) through as_program
    "map_of_imported_async_function": ({**INIT, "app/util.py": """\
        import asyncio

        async def a_double(x):
            await asyncio.sleep(0)
            return x * 2
        """, "app/main.py": """\
        from pinjected import Injected, design
        from app.util import a_double
        from app import util

        res = Injected.by_name("a").map(a_double)
        res2 = Injected.by_name("a").map(util.a_double)
        __design__ = design(a=21)
        """}, ["app.main.res", "app.main.res2"]),
    # pinjected hands a parameter annotated ``Injected`` its IProxy argument unevaluated (a
    # ``DelegatedVar``); the migrated function gets the Program expression it became.
    "runtime_param_annotated_injected": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, Injected, design, injected

        @injected
        def describe(x: Injected):
            return type(x).__name__ in ("DelegatedVar", "Expr")

        main: IProxy = describe(injected("k"))
        __design__ = design(k=1)
        """}, ["app.main.main"]),
    # ... and builds nothing for it: an instance handed over that way is not built before the call
    # (nor at all, unless the function resolves it), by keyword as by position.
    "unevaluated_argument_is_not_built": ({**INIT, "app/main.py": """        from pinjected import IProxy, Injected, design, injected, instance

        @instance
        def model():
            print("model built")
            return "m"

        @instance
        def tokenizer():
            print("tokenizer built")
            return "t"

        @injected
        def describe(tokenizer, /, x: Injected, label="", y: Injected = None):
            print("describe runs", tokenizer)
            return [type(x).__name__ in ("DelegatedVar", "Expr"), label, type(y).__name__ in ("DelegatedVar", "Expr")]

        main: IProxy = describe(injected("model"), "first", y=model)
        """}, ["app.main.main"]),
}

# name -> (files, {path: expected codes (a subset of the flags written)}, targets)
FLAGGED: dict[str, tuple[dict[str, str], dict[str, set[str]], list[str]]] = {
    "injected_in_plain_helper": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def train(lr, /, epochs):
            return ["train", lr, epochs]

        def make_job_lr():
            return train(injected("alt_lr"))

        job3 = make_job_lr()
        __design__ = design(lr=0.1, alt_lr=0.5)
        """}, {"app/main.py": {"DM135"}}, []),
    "gather_return_exceptions": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, injected

        @injected
        async def a_item(x):
            print("item", x)
            return x * 10

        @injected
        async def a_all(a_item, /):
            res = await asyncio.gather(a_item(1), a_item(2), return_exceptions=True)
            return list(res)

        main: IProxy = a_all()
        """}, {"app/main.py": {"DM131"}}, ["app.main.main"]),
    "stop_iteration": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def first_match(items, /, pred):
            return next(x for x in items if pred(x))

        @injected
        def pick(first_match, /, limit):
            try:
                return first_match(lambda x: x > limit)
            except StopIteration:
                return "none"

        found: IProxy = pick(2)
        missing: IProxy = pick(100)
        __design__ = design(items=[1, 2, 3, 4])
        """}, {"app/main.py": {"DM133", "DM117"}}, ["app.main.found", "app.main.missing"]),
}

_FLAG = re.compile(r"doeff-migrate: (DM\d+)")


@pytest.fixture(scope="module")
def behaviour(tmp_path_factory) -> dict[str, object]:
    outcome: dict[str, object] = {}
    jobs = []
    for name, (files, targets) in MIGRATED.items():
        outcome[name] = _prepare(tmp_path_factory, name, files, targets, jobs)
    for name, (files, _codes, targets) in FLAGGED.items():
        outcome[name] = _prepare(tmp_path_factory, name, files, targets, jobs)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [(name, target, fn, pool.submit(fn, root, target)) for name, target, fn, root in jobs]
        for name, target, fn, future in futures:
            outcome[name]["runs"].setdefault(target, {})[fn.__name__] = future.result()  # type: ignore[index]
    return outcome


def _prepare(factory, name, files, targets, jobs) -> dict:
    root = factory.mktemp(name)
    original, migrated = root / "original", root / "migrated"
    write_project(original, files)
    migrate_copy(original, migrated)
    flags = {
        str(p.relative_to(migrated)): set(_FLAG.findall(p.read_text())) - {"DM106", "DM110"} for p in migrated.rglob("*.py")
    }
    code = {str(p.relative_to(migrated)): p.read_text() for p in migrated.rglob("*.py")}
    for target in targets:
        jobs.append((name, target, run_pinjected, original))
        jobs.append((name, target, run_migrated, migrated))
    return {"flags": flags, "code": code, "runs": {}}


def _listing(code: dict[str, str]) -> str:
    return "\n".join(f"--- {p}\n{text}" for p, text in sorted(code.items()))


@pytest.mark.parametrize("name", sorted(MIGRATED))
def test_case_is_migrated_faithfully(behaviour, name):
    found = behaviour[name]
    flagged = {p: c for p, c in found["flags"].items() if c}
    assert not flagged, f"unexpected flags {flagged}\n{_listing(found['code'])}"
    for target, runs in found["runs"].items():
        before, after = runs["run_pinjected"], runs["run_migrated"]
        assert before.returncode == 0, f"{target}: pinjected failed:\n{before.stderr[-2000:]}"
        assert after.returncode == 0, f"{target}: runtime failed:\n{after.stderr[-2000:]}\n{_listing(found['code'])}"
        assert after.result == before.result, f"{target}: {after.result!r} != pinjected's {before.result!r}\n{_listing(found['code'])}"
        assert after.stdout == before.stdout, f"{target}: output {after.stdout!r} != {before.stdout!r}\n{_listing(found['code'])}"


@pytest.mark.parametrize("name", sorted(FLAGGED))
def test_case_is_flagged_and_never_silently_different(behaviour, name):
    found = behaviour[name]
    _files, expected, _targets = FLAGGED[name]
    for path, codes in expected.items():
        assert codes <= found["flags"].get(path, set()), f"{path}: flags {found['flags'].get(path)} lack {codes}\n{_listing(found['code'])}"
    for target, runs in found["runs"].items():
        before, after = runs["run_pinjected"], runs["run_migrated"]
        assert before.returncode == 0, f"{target}: pinjected failed:\n{before.stderr[-2000:]}"
        if after.returncode == 0:
            assert after.result == before.result, f"{target}: {after.result!r} != pinjected's {before.result!r}\n{_listing(found['code'])}"

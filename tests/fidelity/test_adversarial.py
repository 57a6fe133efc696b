"""Adversarial fidelity cases for the ``di`` codemod (regression tests for what already works).

Two kinds of cases, both built with :mod:`tests.fidelity.harness`:

* ``PROJECTS``: pinjected projects exercising constructs that ``test_projects.py`` does not cover
  (control flow around dependency calls, ``await`` in conditions, keyword-only dependencies, IProxy
  operators, nested package designs, aliased pinjected imports, ...). The migrated copy must carry no
  flag and behave exactly like the original: same result, same printed lines.
* ``FLAGGED``: constructs the codemod must leave exactly as they were, with a ``# doeff-migrate: DM###``
  comment. For the files listed, removing the flag comment lines must give back the original text, and the
  flag codes must be the expected ones, in order.

The subprocess runs (real pinjected vs. the bundled runtime) of every project are started together from one
module-scoped fixture so the file stays fast on a small machine.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from textwrap import dedent

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate

from .harness import Run, migrate_copy, run_migrated, run_pinjected, write_project

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "control_flow_around_dependency_calls": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                COUNT = 0

                @injected
                def inc(step_size, /, x):
                    global COUNT
                    COUNT += 1
                    return x + step_size

                @injected
                def run(inc, /, limit, *, verbose=False):
                    x = 0
                    while inc(x) < limit:
                        x = inc(x)
                        if verbose:
                            print(f"x={x} next={inc(x)}")
                    try:
                        bad = inc(None)
                    except TypeError:
                        bad = "err"
                    label = "big" if inc(x) > 5 else "small"
                    return [x, bad, label, COUNT, inc(x) if False else -1]

                main: IProxy = run(7, verbose=True)
                __design__ = design(step_size=2)
            """,
        },
        ["app.main.main"],
    ),
    "dependency_calls_in_every_expression_position": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def fetch(base, /, x):
                    return base + x

                @injected
                def bag(fetch, /, x):
                    out = []
                    if (r := fetch(x)) > 0:
                        out.append(r)
                    match fetch(x):
                        case 11:
                            out.append("eleven")
                        case _:
                            out.append("other")
                    total = 0
                    total += fetch(1)
                    y: int = fetch(2)
                    xs = list(range(20))
                    out.append(xs[fetch(0):fetch(3)])
                    out.append([*range(fetch(-8))])
                    out.append(f"{fetch(x)}-{fetch(x) * 2!r:>5}")
                    out.append(0 < fetch(x) < 100)
                    assert fetch(0) == 10, fetch(0)
                    try:
                        raise ValueError(fetch(5))
                    except ValueError as e:
                        out.append(e.args[0])
                    d = {fetch(0): "k"}
                    del d[fetch(0)]
                    out.append(total + y)
                    out.append(fetch(x) if x else fetch(0))
                    out.append(x and fetch(x))
                    return out, fetch(0)

                main: IProxy = bag(1)
                __design__ = design(base=10)
            """,
        },
        ["app.main.main"],
    ),
    "awaits_in_expressions_and_handlers": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                import contextvars
                from pinjected import IProxy, design, injected

                var = contextvars.ContextVar("var", default="unset")

                async def read_var():
                    await asyncio.sleep(0)
                    return var.get()

                @injected
                async def a_fetch(base, /, x):
                    await asyncio.sleep(0)
                    return base + x

                @injected
                async def bag(a_fetch, /, x):
                    out = [f"{await a_fetch(x)}"]
                    if (r := await a_fetch(x)) > 0:
                        out.append(r)
                    try:
                        out.append(await a_fetch(None))
                    except TypeError:
                        out.append("te")
                    finally:
                        out.append(await a_fetch(0))
                    out.append([await a_fetch(1), await a_fetch(2)])
                    var.set("ctx")
                    out.append([await read_var(), var.get()])
                    return out

                main: IProxy = bag(1)
                __design__ = design(base=10)
            """,
        },
        ["app.main.main"],
    ),
    "await_in_conditions_and_gather_variants": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected

                @injected
                async def a_check(x):
                    await asyncio.sleep(0)
                    return x < 3

                @injected
                async def a_inc(x):
                    return x + 1

                async def plain_coro(v):
                    await asyncio.sleep(0)
                    return v * 100

                async def slow():
                    await asyncio.sleep(1)
                    return "late"

                @injected
                async def a_loop(a_check, a_inc, /, start):
                    x = start
                    while await a_check(x):
                        x = await a_inc(x)
                    if await a_check(0) and not await a_check(10):
                        tag = "ok"
                    else:
                        tag = "no"
                    pair = await asyncio.gather(a_inc(x), plain_coro(x))
                    total = await a_inc(1) + await a_inc(2)
                    both = await asyncio.gather(a_inc(0), a_inc(0))
                    try:
                        late = await asyncio.wait_for(slow(), 0.05)
                    except asyncio.TimeoutError:
                        late = "timeout"
                    return [x, tag, list(pair), total, sum(both), both == [1, 1], isinstance(both, list), late]

                main: IProxy = a_loop(0)
            """,
        },
        ["app.main.main"],
    ),
    "gather_failure_empty_and_single": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected

                @injected
                async def a_fail(x):
                    await asyncio.sleep(0)
                    print("fail", x)
                    raise ValueError(x)

                @injected
                async def a_ok(x):
                    await asyncio.sleep(0.02)
                    print("ok", x)
                    return x

                @injected
                async def a_all(a_fail, a_ok, /):
                    e = await asyncio.gather()
                    s = await asyncio.gather(a_ok(1))
                    try:
                        return await asyncio.gather(a_fail(1), a_ok(2))
                    except ValueError as exc:
                        print("caught", exc)
                    await asyncio.sleep(0.05)
                    return [e, s, type(e).__name__, type(s).__name__]

                main: IProxy = a_all()
            """,
        },
        ["app.main.main"],
    ),
    "async_combinator_members_interleave": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import Injected, injected

                @injected
                async def a_step(x):
                    print("start", x)
                    await asyncio.sleep(0.05 * (4 - x))
                    print("end", x)
                    return x

                steps = Injected.procedure(a_step(1), a_step(2), a_step(3))
            """,
        },
        ["app.main.steps"],
    ),
    "keyword_only_and_star_forwarding": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                DEFAULT_SEP = "-"

                @injected
                def f(x, *, _cfg, y=1):
                    return [x, _cfg, y]

                @injected
                def join(sep, /, *parts, upper=False, **kw):
                    s = sep.join(parts)
                    return [s.upper() if upper else s, sorted(kw.items())]

                @injected
                def under(_a, b, /, c):
                    return [_a, b, c]

                @injected
                def wrap(join, f, under, /, *args, sep2=DEFAULT_SEP, **kwargs):
                    return [join(*args, **kwargs), sep2, f(5, y=2), f(x=6), under(c=7)]

                forwarded: IProxy = wrap("a", "b", upper=True, z=1)
                __design__ = design(cfg="C", sep="+", a="A", _a="UA", b="B")
            """,
        },
        ["app.main.forwarded"],
    ),
    "aliased_pinjected_imports": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy as IP, design as d, injected as inj, instance as inst

                @inst
                def base():
                    return 10

                @inj
                def add(base, /, x):
                    return base + x

                @inj
                def total(add, k, /, x):
                    return add(x) * k

                main: IP = total(1)
                __design__ = d(k=3)
            """,
        },
        ["app.main.main"],
    ),
    "pinjected_module_alias": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import pinjected as pj

                @pj.instance
                def base():
                    print("base built")
                    return 10

                @pj.injected
                def add(base, /, x):
                    return base + x

                @pj.injected
                async def a_total(add, k, /, xs):
                    out = []
                    for x in xs:
                        out.append(add(x) * k)
                    return out

                main: pj.IProxy = a_total([1, 2])
                __design__ = pj.design(k=3)
            """,
        },
        ["app.main.main"],
    ),
    "future_import_docstring_type_checking_and_falsy_values": (
        {
            "app/__init__.py": "",
            "app/main.py": '''\
                #!/usr/bin/env python
                """Module docstring."""
                from __future__ import annotations

                from typing import TYPE_CHECKING
                from pinjected import IProxy, Injected, design, injected, instance

                if TYPE_CHECKING:
                    from pinjected import Design


                def is_injected(x) -> bool:
                    return isinstance(x, Injected)


                @instance
                def nothing():
                    print("nothing built")
                    return None


                @injected
                def greet(greeting: str, nothing, opt, empty, falsy, /, name: str) -> str:
                    """Greets."""
                    return f"{greeting} {name} {is_injected(name)} {[nothing, opt, empty, falsy]}"


                main: IProxy[str] = greet("Ada")
                __design__: Design = design(greeting="Hello", opt=None, empty={}, falsy=0)
            ''',
        },
        ["app.main.main"],
    ),
    "iproxy_operators_and_chains": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def f(x):
                    print("f", x)
                    return x

                s: IProxy = f(1) + f(2) * f(3)
                kw: IProxy = f(x=injected("k"))["a"][1] + 10
                __design__ = design(k={"a": [1, 2]})
            """,
        },
        ["app.main.s", "app.main.kw"],
    ),
    "entry_points_through_import_aliases": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import injected

                @injected
                def fetch(prefix, /, url):
                    print("fetch", url)
                    return prefix + url
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                from app.lib import fetch as get
                import app.lib

                main: IProxy = get("x")
                main2: IProxy = app.lib.fetch("y")
                __design__ = design(prefix="P-")
            """,
        },
        ["app.main.main", "app.main.main2"],
    ),
    "deep_package_designs_ignore_siblings": (
        {
            "app/__init__.py": """\
                from pinjected import design
                __design__ = design(a="root", b="root", c="root", d="root")
            """,
            "app/sub/__init__.py": """\
                from pinjected import design
                __design__ = design(b="sub", c="sub", d="sub")
            """,
            "app/sub/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(c="subpin")
            """,
            "app/sub/deep/__init__.py": "",
            "app/sub/deep/mod.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(a, b, c, d, /):
                    return [a, b, c, d]

                main: IProxy = show()
                __design__ = design(d="mod")
            """,
            "app/other/__init__.py": """\
                from pinjected import design
                __design__ = design(a="WRONG")
            """,
        },
        ["app.sub.deep.mod.main"],
    ),
    "conditional_and_augmented_designs": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import os
                from pinjected import IProxy, design, injected

                @injected
                def show(mode, a, b, /):
                    return [mode, a, b]

                main: IProxy = show()
                if os.environ.get("DOEFF_MIGRATE_ADVERSARIAL_NOPE"):
                    __design__ = design(mode="env", a=1, b=1)
                else:
                    __design__ = design(mode="default", a=1, b=1)
                __design__ += design(a=2)
            """,
        },
        ["app.main.main"],
    ),
    "with_design_of_a_design_variable": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def label(prefix, /, x):
                    return prefix + x

                __design__ = design(prefix="module-")
                override = design(prefix="var-")
                with override:
                    v: IProxy = label("v")
                with override + design(prefix="sum-"):
                    s: IProxy = label("s")
            """,
        },
        ["app.main.s"],
    ),
    "with_design_overrides_instance_and_function_keys": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def dataset(seed):
                    print("dataset", seed)
                    return [seed]

                @injected
                def real_step(x):
                    return "real" + str(x)

                @injected
                def fake_step(x):
                    return "fake" + str(x)

                @injected
                def use(dataset, step, /):
                    return [dataset, step(1)]

                plain: IProxy = use()
                with design(seed=2, step=fake_step):
                    t: IProxy = use()
                __design__ = design(seed=1, step=real_step)
            """,
        },
        ["app.main.t"],
    ),
    "design_value_is_a_variable_aliasing_an_injected_function": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def fetch_v1(prefix, /, url):
                    return prefix + "v1:" + url

                @injected
                def fetch_v2(prefix, /, url):
                    return prefix + "v2:" + url

                @injected
                def page(fetcher, /, url):
                    return fetcher(url)

                impl = fetch_v2
                main: IProxy = page("x")
                __design__ = design(fetcher=impl, prefix="P-")
            """,
        },
        ["app.main.main"],
    ),
    "small_ml_pipeline_with_debug_override": (
        {
            "mlapp/__init__.py": "",
            "mlapp/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(batch_size=2, lr=0.1, run_name="default")
            """,
            "mlapp/data.py": """\
                import asyncio
                from pinjected import injected, instance

                @instance
                def config(batch_size, lr, run_name):
                    print("config", run_name)
                    return {"batch_size": batch_size, "lr": lr, "run": run_name}

                @instance
                async def dataset(config):
                    await asyncio.sleep(0.01)
                    print("dataset loaded")
                    return list(range(config["batch_size"] * 3))

                @injected
                def batches(dataset, config, /):
                    bs = config["batch_size"]
                    return [dataset[i:i + bs] for i in range(0, len(dataset), bs)]
            """,
            "mlapp/train.py": """\
                import asyncio
                from pinjected import IProxy, design, injected, instance
                from mlapp.data import batches

                @injected
                async def a_step(config, /, batch, w):
                    await asyncio.sleep(0)
                    return w - config["lr"] * sum(batch)

                @injected
                async def a_evaluate(dataset, /, w, split):
                    await asyncio.sleep(0)
                    return {"split": split, "loss": round(abs(w) * len(dataset), 3)}

                @injected
                async def a_train(batches, a_step, a_evaluate, logger, /, epochs=2):
                    w = 1.0
                    for epoch in range(epochs):
                        for b in batches():
                            w = await a_step(b, w)
                        logger(f"epoch {epoch} w={w:.3f}")
                    val, test = await asyncio.gather(a_evaluate(w, "val"), a_evaluate(w, "test"))
                    return {"w": round(w, 3), "val": val, "test": test}

                @instance
                def logger(run_name):
                    return lambda msg: print(f"[{run_name}] {msg}")

                run: IProxy = a_train()
                with design(run_name="debug", batch_size=3):
                    debug_run: IProxy = a_train(epochs=1)
            """,
        },
        ["mlapp.train.debug_run"],
    ),
    "instances_calling_injected_dependencies": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected, instance

                @injected
                def fetch(prefix, /, url):
                    print("fetch", url)
                    return prefix + url

                @instance
                def table(fetch):
                    print("table")
                    return {"x": fetch("x"), "y": fetch("y")}

                @injected
                async def a_load(root, /, name):
                    await asyncio.sleep(0)
                    print("load", name)
                    return root + name

                @instance
                async def bundle(a_load):
                    first = await a_load("a")
                    rest = await asyncio.gather(a_load("b"), asyncio.sleep(0, result="s"))
                    return [first, *rest]

                @injected
                def look(table, /, k):
                    return table[k]

                @injected
                async def a_main(bundle, /):
                    print("body")
                    return bundle

                main: IProxy = look("y")
                loaded: IProxy = a_main()
                __design__ = design(prefix="P-", root="/r/")
            """,
        },
        ["app.main.main", "app.main.loaded"],
    ),
    "design_alias_to_an_instance_shares_it": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def db():
                    print("db built")
                    return {"n": 0}

                @injected
                def use(store, db, /):
                    store["n"] += 1
                    return [store is db, db["n"]]

                main: IProxy = use()
                __design__ = design(store=injected("db"))
            """,
        },
        ["app.main.main"],
    ),
    # Formerly flagged (DM102, DM110): dependencies bound as callables to the run.
    "dependency_call_in_comprehension_with_module_alias": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import injected

                @injected
                def add(base, /, x):
                    return base + x
            """,
            "app/main.py": """\
                import pinjected as pj
                import app.lib

                @pj.injected
                async def a_total(add, k, /, xs):
                    return [add(x) * k for x in xs]

                main = a_total([1, 2])
                __design__ = pj.design(base=10, k=2)
            """,
        },
        ["app.main.main"],
    ),
    "async_dependency_passed_to_wait_for": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import injected

                @injected
                async def a_slow(x):
                    return x + 1
            """,
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected
                import app.lib

                @injected
                async def a_run(a_slow, /, x):
                    return await asyncio.wait_for(a_slow(x), 5)

                main: IProxy = a_run(1)
            """,
        },
        ["app.main.main"],
    ),
    "gather_of_a_list_built_in_a_loop": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import injected

                @injected
                async def a_item(x):
                    print("item", x)
                    return x * 10
            """,
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected
                import app.lib

                @injected
                async def a_all(a_item, /, n):
                    coros = []
                    for i in range(n):
                        coros.append(a_item(i))
                    return list(await asyncio.gather(*coros))

                main: IProxy = a_all(3)
            """,
        },
        ["app.main.main"],
    ),
    "iproxy_method_chain_list_argument_and_conditional": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import injected

                @injected
                def f(xs):
                    return [xs, xs, 10]

                @injected
                def g(x):
                    return x * 10
            """,
            "app/main.py": """\
                from pinjected import IProxy, Injected
                from app.lib import f, g

                FLAG = True
                shout: IProxy = Injected.pure("ab").proxy.upper()
                chosen: IProxy = g(1) if FLAG else g(2)
                called: IProxy = f(g(1)).count(10)
            """,
        },
        # A method chain on a pure value and on a call's result, and a conditional choosing between
        # proxies at import: Program expressions.
        ["app.main.shout", "app.main.chosen", "app.main.called"],
    ),
}

FLAGGED: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {
    "functools_wraps_decorators_above_and_below": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import functools
                from pinjected import injected

                def logged(fn):
                    @functools.wraps(fn)
                    def wrapper(*a, **k):
                        return fn(*a, **k)
                    return wrapper

                @logged
                @injected
                def step2(scale, /, x):
                    return x * scale
            """,
        },
        # A decorator *under* @injected is migrated (test_dynamic_bodies.py); one above wraps the IProxy.
        {"app/main.py": ["DM112"]},
    ),
    "methods_classmethods_staticmethods_and_nested_defs": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import injected, instance

                class Svc:
                    @injected
                    def m(cfg, /, x):
                        return cfg + x

                    @classmethod
                    @injected
                    def c(cls, cfg, /):
                        return cfg

                    @staticmethod
                    @instance
                    def s(cfg):
                        return cfg

                def factory():
                    @injected
                    def inner(cfg, /):
                        return cfg
                    return inner
            """,
        },
        {"app/main.py": ["DM113", "DM113", "DM113", "DM113"]},
    ),
    "instances_with_loop_bound_values": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import instance

                @instance
                async def lock():
                    return asyncio.Lock()

                @instance
                async def worker(queue):
                    return asyncio.create_task(queue.get())

                @instance
                def pool(*workers):
                    return len(workers)
            """,
        },
        {"app/main.py": ["DM105", "DM105", "DM116"]},
    ),
    # Generators, context-manager providers and `async with` bodies are migrated (test_dynamic_bodies.py).
    "resolver_dependency": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import injected

                @injected
                async def pick(__resolver__, /, name):
                    return await __resolver__[name]
            """,
        },
        {"app/main.py": ["DM111"]},
    ),
    # Class injection is migrated now (tests/fidelity/test_classes.py).
    # `aio.gather` through `import asyncio as aio` is migrated now (tests/fidelity/test_bodies_and_entry_points.py).
    "meta_design_extras": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import design

                __meta_design__ = design(overrides=design(a=2), default_design_paths=["x.y"])
            """,
        },
        {"app/main.py": ["DM115"]},
    ),
}

_FLAG_LINE = re.compile(r"^\s*# doeff-migrate: (DM\d{3}):.*$")


@pytest.fixture(scope="module")
def behaviour(tmp_path_factory) -> dict[str, object]:
    """Migrate every project, then run all (project, target) pairs at once: name -> runs or an error."""
    outcome: dict[str, object] = {}
    jobs = []
    for name, (files, targets) in PROJECTS.items():
        root = tmp_path_factory.mktemp(name)
        original, migrated = root / "original", root / "migrated"
        write_project(original, files)
        try:
            migrate_copy(original, migrated)
        except AssertionError as exc:  # reported by the test of this project
            outcome[name] = f"doeff-migrate failed: {exc}"
            continue
        leftover = [p for p in migrated.rglob("*.py") if re.search(r"doeff-migrate: DM(?!106|110)", p.read_text())]
        if leftover:
            outcome[name] = f"unexpected flags in {leftover}"
            continue
        outcome[name] = {}
        for target in targets:
            jobs.append((name, target, run_pinjected, original))
            jobs.append((name, target, run_migrated, migrated))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(name, target, fn, pool.submit(fn, root, target)) for name, target, fn, root in jobs]
        for name, target, fn, future in futures:
            outcome[name].setdefault(target, {})[fn.__name__] = future.result()  # type: ignore[union-attr]
    return outcome


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_adversarial_project_behaves_like_the_original(behaviour, name):
    runs = behaviour[name]
    assert isinstance(runs, dict), runs
    for target in PROJECTS[name][1]:
        before: Run = runs[target]["run_pinjected"]
        after: Run = runs[target]["run_migrated"]
        assert before.returncode == 0, f"{target}: pinjected failed:\n{before.stderr[-3000:]}"
        assert after.returncode == 0, f"{target}: runtime failed:\n{after.stderr[-3000:]}"
        assert after.result == before.result, f"{target}: result {after.result!r} != pinjected's {before.result!r}"
        assert after.stdout == before.stdout, f"{target}: output {after.stdout!r} != pinjected's {before.stdout!r}"


@pytest.mark.parametrize("name", sorted(FLAGGED))
def test_flagged_construct_is_left_untouched(tmp_path, name):
    files, expected = FLAGGED[name]
    write_project(tmp_path, files)
    assert doeff_migrate([str(tmp_path), "-q"]) == 0
    for rel, codes in expected.items():
        text = (tmp_path / rel).read_text(encoding="utf-8")
        found = [m.group(1) for line in text.splitlines() if (m := _FLAG_LINE.match(line))]
        assert found == codes, f"{rel}: flags {found} != expected {codes}\n{text}"
        kept = [line for line in text.splitlines(keepends=True) if not _FLAG_LINE.match(line)]
        assert "".join(kept) == dedent(files[rel]), f"{rel} was changed beyond the flag comments:\n{text}"


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}


# Every flagged case: a second run must leave the files alone (earlier flags stay authoritative, the env
# dicts of the first run are indexed as designs, migrated async providers stay async).
_IDEMPOTENT_FLAGGED = sorted(FLAGGED)


@pytest.mark.parametrize("name", sorted(PROJECTS) + _IDEMPOTENT_FLAGGED)
def test_second_run_changes_nothing(tmp_path, name):
    files = PROJECTS[name][0] if name in PROJECTS else FLAGGED[name][0]
    write_project(tmp_path, files)
    assert doeff_migrate([str(tmp_path), "-q"]) == 0
    first = _tree(tmp_path)
    assert doeff_migrate([str(tmp_path), "-q"]) == 0
    assert _tree(tmp_path) == first

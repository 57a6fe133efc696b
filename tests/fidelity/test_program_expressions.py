"""IProxy expressions migrated to Program expressions behave as under real pinjected (strict runs).

Each project is run with pinjected 0.2.252 and, migrated, with pinjected unimportable
(harness.assert_same_behaviour): results and stdout must be identical.
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

CLIENT = """\
import asyncio


class Client:
    def __init__(self, name):
        self.name = name
        self.calls = []

    def fetch(self, path):
        print("fetch", path)
        self.calls.append(path)
        return {"path": path, "by": self.name, "rows": [1, 2, 3, 4, 5]}

    async def a_send(self, text):
        # No print here: the runtime awaits on its loop thread while other tasks go on, so output
        # from both sides would interleave by chance (pinjected has one loop).
        await asyncio.sleep(0)
        self.calls.append(text)
        return text.upper()

    def count(self):
        return len(self.calls)
"""

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "method_call_on_an_instance": ({**INIT, "app/client.py": CLIENT, "app/main.py": """\
        from pinjected import IProxy, design, instance
        from app.client import Client

        @instance
        def client(client_name):
            print("build client")
            return Client(client_name)

        main: IProxy = client.fetch("users")
        rows: IProxy = client.fetch("users")["rows"][1:4]
        __design__ = design(client_name="c1")
        """}, ["app.main.main", "app.main.rows"]),
    "bound_async_method_with_await": ({**INIT, "app/client.py": CLIENT, "app/main.py": """\
        from pinjected import IProxy, design, instance
        from app.client import Client

        @instance
        def client():
            return Client("c")

        sent: IProxy = client.a_send("hello").await__()
        shouted: IProxy = client.a_send("hi").await__().lower()
        final_awaitable: IProxy = client.a_send("last")
        """}, ["app.main.sent", "app.main.shouted", "app.main.final_awaitable"]),
    "attribute_chains_on_an_injected_call": ({**INIT, "app/main.py": """\
        from types import SimpleNamespace
        from pinjected import IProxy, design, injected

        @injected
        def fit(lr, /, epochs):
            print("fit", epochs)
            return SimpleNamespace(history=[lr * e for e in range(epochs)], name="model")

        last: IProxy = fit(3).history[-1]
        label: IProxy = fit(2).name.upper().replace("M", "m")
        __design__ = design(lr=2)
        """}, ["app.main.last", "app.main.label"]),
    "async_injected_call_then_method": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, design, injected

        @injected
        async def a_load(prefix, /, name):
            await asyncio.sleep(0)
            print("load", name)
            return prefix + name

        loaded: IProxy = a_load("x").upper()
        parts: IProxy = a_load("a-b").split("-")
        __design__ = design(prefix="p:")
        """}, ["app.main.loaded", "app.main.parts"]),
    "operators_of_iproxy": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected, instance

        @instance
        def base():
            print("base")
            return 7

        total: IProxy = injected("a") + injected("b") * 10
        ratio: IProxy = base / 2
        rest: IProxy = base % 4
        same: IProxy = base == 7
        inverted: IProxy = ~base
        formatted: IProxy = injected("fmt") % base
        __design__ = design(a=1, b=2, fmt="n=%d")
        """}, ["app.main.total", "app.main.ratio", "app.main.rest", "app.main.same", "app.main.inverted", "app.main.formatted"]),
    "by_name_items_and_methods": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, Injected, design, injected

        name: IProxy = injected("cfg")["user"]["name"].title()
        keys: IProxy = Injected.by_name("cfg").proxy.keys().__len__()
        __design__ = design(cfg={"user": {"name": "ada lovelace"}, "x": 1})
        """}, ["app.main.name", "app.main.keys"]),
    "imported_entry_points_in_expressions": ({**INIT, "app/jobs.py": """\
        from pinjected import IProxy, injected

        @injected
        def greet(name):
            print("greet", name)
            return "hi " + name

        plain: IProxy = greet("bob")
        shouted: IProxy = greet("amy").upper()
        """, "app/main.py": """\
        from pinjected import IProxy, injected
        from app.jobs import plain, shouted

        @injected
        def pair(a, b):
            return [a, b]

        both: IProxy = pair(plain, shouted)
        joined: IProxy = plain + " / " + shouted
        """}, ["app.main.both", "app.main.joined"]),
    "entry_points_selected_from_a_dict": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def train(scale, /, name):
            print("train", name)
            return {"name": name, "loss": len(name) * scale}

        RUNS = {k: train(k) for k in ("a", "bb", "ccc")}
        run_a: IProxy = RUNS["a"]
        loss_bb: IProxy = RUNS["bb"]["loss"]
        LOSSES = {k: train(k)["loss"] for k in ("x", "yy")}
        loss_yy: IProxy = LOSSES["yy"]
        __design__ = design(scale=10)
        """}, ["app.main.run_a", "app.main.loss_bb", "app.main.loss_yy"]),
    "entry_points_built_in_a_loop": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def train(scale, /, n):
            print("train", n)
            return n * scale

        for _n in (1, 2, 3):
            globals()[f"run_{_n}"] = train(_n)

        __design__ = design(scale=5)
        """}, ["app.main.run_1", "app.main.run_3"]),
    "bind_of_imported_functions": ({**INIT, "app/util.py": """\
        import asyncio

        def join(a, b):
            return f"{a}+{b}"

        async def a_join(a, b):
            await asyncio.sleep(0)
            return f"{a}&{b}"
        """, "app/main.py": """\
        from pinjected import Injected, design
        from app.util import a_join, join

        plain = Injected.bind(join)
        renamed = Injected.bind(join, b="c")
        awaited = Injected.bind(a_join, a=Injected.pure("P"))
        __design__ = design(a="A", b="B", c="C")
        """}, ["app.main.plain", "app.main.renamed", "app.main.awaited"]),
    "map_of_imported_functions_on_combinators": ({**INIT, "app/util.py": """\
        import asyncio

        async def a_total(pair):
            await asyncio.sleep(0)
            return sum(pair)

        def describe(d):
            return sorted(d.items())
        """, "app/main.py": """\
        from pinjected import IProxy, Injected, design
        from app.util import a_total, describe

        total = Injected.mzip(Injected.by_name("a"), Injected.by_name("b")).map(a_total)
        described = Injected.mzip(Injected.by_name("a"), Injected.pure(9)).map(dict.fromkeys).map(describe)
        picked: IProxy = Injected.dict(x=Injected.by_name("a"), y=Injected.pure(9))["y"]
        __design__ = design(a=1, b=2)
        """}, ["app.main.total", "app.main.described", "app.main.picked"]),
    "partial_application": ({**INIT, "app/util.py": """\
        def add(base, x, scale=1):
            return (base + x) * scale
        """, "app/main.py": """\
        from pinjected import IProxy, Injected, design
        from app.util import add

        adder = Injected.partial(Injected.pure(add), Injected.by_name("base"))
        eleven: IProxy = adder.proxy(10)
        scaled: IProxy = Injected.partial(Injected.pure(add), Injected.by_name("base"), scale=3).proxy(2)
        __design__ = design(base=1)
        """}, ["app.main.eleven", "app.main.scaled"]),
    "instance_used_as_a_value_runs_again": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, Injected, design, injected, instance

        @instance
        def counter():
            print("build counter")
            return [0]

        @injected
        def bump(counter, /, by):
            counter[0] += by
            return counter[0]

        first: IProxy = counter.copy()
        twice: IProxy = Injected.mzip(counter.copy(), bump(5))
        """}, ["app.main.first", "app.main.twice"]),
    "proxy_attribute_of_an_instance_value": ({**INIT, "app/main.py": """\
        from types import SimpleNamespace
        from pinjected import IProxy, instance

        @instance
        def settings():
            return SimpleNamespace(proxy="http://proxy:3128", port=8080)

        proxy_url: IProxy = settings.proxy
        port_text: IProxy = settings.proxy + ":" + "x"
        """}, ["app.main.proxy_url", "app.main.port_text"]),
    "procedure_with_awaited_bound_methods": ({**INIT, "app/client.py": CLIENT, "app/main.py": """\
        from pinjected import IProxy, Injected, instance
        from app.client import Client

        @instance
        def client():
            return Client("p")

        steps = Injected.procedure(client.a_send("one").await__(), client.fetch("two"), Injected.pure("done"))
        sent = Injected.procedure(client.fetch("three"), client.a_send("four").await__())
        """}, ["app.main.steps", "app.main.sent"]),
    "conditional_and_method_on_call": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, injected

        FLAG = False

        @injected
        def g(x):
            print("g", x)
            return [x, x * 2, x]

        chosen: IProxy = g(1) if FLAG else g(2)
        counted: IProxy = g(3).count(3)
        indexed: IProxy = g(4).index(8)
        """}, ["app.main.chosen", "app.main.counted", "app.main.indexed"]),
    "plain_arguments_are_evaluated_at_import": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, instance

        STATE = {"n": 1}

        @instance
        def box():
            return {"items": []}

        added: IProxy = box["items"].__add__([STATE["n"]])
        STATE["n"] = 99
        """}, ["app.main.added"]),
    "expressions_over_other_entry_points": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, injected, instance

        @instance
        def words():
            print("words")
            return ["b", "a", "c"]

        first: IProxy = words.copy()
        joined: IProxy = first.__len__()
        """}, ["app.main.joined"]),
    "chains_stored_from_a_loop": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def train(scale, /, name):
            print("train", name)
            return {"name": name, "loss": len(name) * scale}

        LOSSES = {}
        JOBS = []
        for _name in ("a", "bb"):
            LOSSES[_name] = train(_name)["loss"]
            JOBS.append(train(_name)["name"].upper())

        loss_bb: IProxy = LOSSES["bb"]
        first_job: IProxy = JOBS[0]
        BY_CALL = dict(a=train("a"), c=train("ccc"))
        loss_c: IProxy = BY_CALL["c"]["loss"]
        __design__ = design(scale=3)
        """}, ["app.main.loss_bb", "app.main.first_job", "app.main.loss_c"]),
    "async_instance_with_items_and_methods": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, instance

        @instance
        async def store():
            await asyncio.sleep(0)
            print("store built")
            return {"k": [3, 1, 2], "name": "s"}

        size: IProxy = store["k"].__len__()
        title: IProxy = store["name"].upper() + "!"
        """}, ["app.main.size", "app.main.title"]),
    "entry_point_from_a_function_object_ignores_a_rebound_key": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def fetch(url):
            print("real", url)
            return "real:" + url

        @injected
        def fake(url):
            return "fake:" + url

        @injected
        def page(fetch, /, url):
            return fetch(url)

        direct: IProxy = fetch("a").upper()
        via_key: IProxy = page("b")
        __design__ = design(fetch=fake)
        """}, ["app.main.direct", "app.main.via_key"]),
    "async_combined_chains_in_a_dict_and_arguments": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import IProxy, Injected, design, injected, instance

        class Service:
            async def a_get(self, key):
                await asyncio.sleep(0)
                return {"key": key, "size": len(key)}

        @instance
        async def service():
            await asyncio.sleep(0)
            print("service built")
            return Service()

        @injected
        async def a_score(weight, /, size):
            await asyncio.sleep(0)
            return size * weight

        SIZES = {k: service.a_get(k).await__()["size"] for k in ("x", "yyy")}
        best: IProxy = SIZES["yyy"] * 2
        scored: IProxy = a_score(service.a_get("zz").await__()["size"]) + 1
        summed = Injected.mzip(Injected.by_name("weight"), Injected.pure(2)).map(sum)
        __design__ = design(weight=10)
        """}, ["app.main.best", "app.main.scored", "app.main.summed"]),
}


def test_there_are_at_least_15_projects():
    assert len(PROJECTS) >= 15


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_program_expression_behaves_like_the_iproxy(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)

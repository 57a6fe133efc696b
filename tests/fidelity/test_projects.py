"""Small pinjected projects: the original under real pinjected and the migrated copy under the bundled
runtime must return equal results and print the same lines in the same order."""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "positional_only_dependencies": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def greet(greeting, punctuation, /, name: str) -> str:
                    print("greeting", name)
                    return greeting + ", " + name + punctuation

                main: IProxy[str] = greet("Ada")
                __design__ = design(greeting="Hello", punctuation="!")
            """,
        },
        ["app.main.main"],
    ),
    "underscore_and_runtime_parameters": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def describe(a, /, _b, c, *extra, d=4, **kw):
                    return [a, _b, c, list(extra), d, sorted(kw)]

                main: IProxy = describe(3, 5, 6, d=7, z=1)
                __design__ = design(a="A", b="B")
            """,
        },
        ["app.main.main"],
    ),
    "zero_dependency_function_takes_all_arguments": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def add(logger, client):
                    return [logger, client]

                main: IProxy = add("l", "c")
                __design__ = design(logger="LOGGER", client="CLIENT")
            """,
        },
        ["app.main.main"],
    ),
    "instance_is_a_singleton": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def counter():
                    print("counter built")
                    return {"n": 0}

                @injected
                def bump(counter, /):
                    counter["n"] += 1
                    return counter["n"]

                @injected
                def twice(bump, counter, /):
                    bump()
                    bump()
                    return counter["n"]

                main: IProxy = twice()
            """,
        },
        ["app.main.main", "app.main.counter"],
    ),
    "instance_underscore_parameter_keeps_its_key": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import design, instance

                @instance
                def settings(_secret, name):
                    return _secret + "/" + name

                __design__ = design(_secret="s3cr3t", name="n")
            """,
        },
        ["app.main.settings"],
    ),
    "async_functions_await_each_other": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, design, injected

                @injected
                async def a_double(factor, /, x):
                    await asyncio.sleep(0.01)
                    print("double", x)
                    return x * factor

                @injected
                async def a_pipeline(a_double, /, x):
                    y = await a_double(x)
                    z = await a_double(y)
                    return [y, z]

                main: IProxy = a_pipeline(3)
                __design__ = design(factor=2)
            """,
        },
        ["app.main.main"],
    ),
    "gather_of_injected_calls": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected

                @injected
                async def a_item(x):
                    print("start", x)
                    return x * 10

                @injected
                async def a_all(a_item, /):
                    return await asyncio.gather(a_item(1), a_item(2), a_item(3))

                main: IProxy = a_all()
            """,
        },
        ["app.main.main"],
    ),
    "design_lambda_is_a_value": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def apply(transform, /, x):
                    return transform(x)

                main: IProxy = apply(20)
                __design__ = design(transform=lambda x: x + 1)
            """,
        },
        ["app.main.main"],
    ),
    "design_plus_later_wins": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def pair(a, b, /):
                    return [a, b]

                base = design(a=1, b=2)
                __design__ = base + design(b=20)
                main: IProxy = pair()
            """,
        },
        ["app.main.main"],
    ),
    "design_hierarchy_init_pinjected_module": (
        {
            "app/__init__.py": """\
                from pinjected import design
                __design__ = design(a="init", b="init", c="init")
            """,
            "app/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(b="pinjected", c="pinjected")
            """,
            "app/sub/__init__.py": "",
            "app/sub/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(a, b, c, /):
                    return [a, b, c]

                main: IProxy = show()
                __design__ = design(c="module")
            """,
        },
        ["app.sub.main.main"],
    ),
    "with_design_overrides_entry_points": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def label(prefix, /, x):
                    return prefix + x

                plain: IProxy = label("p")
                with design(prefix="outer-"):
                    outer: IProxy = label("o")
                    with design(prefix="inner-"):
                        inner: IProxy = label("i")

                __design__ = design(prefix="module-")
            """,
        },
        ["app.main.plain", "app.main.outer", "app.main.inner"],
    ),
    "rebound_injected_function": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def fetch(url):
                    return "real:" + url

                @injected
                def fake_fetch(url):
                    return "fake:" + url

                @injected
                def page(fetch, /, url):
                    return fetch(url)

                main: IProxy = page("x")
                __design__ = design(fetch=fake_fetch)
            """,
        },
        ["app.main.main"],
    ),
    "dependency_from_another_module": (
        {
            "app/__init__.py": "",
            "app/helpers.py": """\
                from pinjected import injected

                @injected
                async def a_shout(suffix, /, text):
                    return text.upper() + suffix
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                from app import helpers  # registers a_shout

                @injected
                async def a_run(a_shout, /, text):
                    return await a_shout(text)

                main: IProxy = a_run("hey")
                __design__ = design(suffix="!!")
            """,
        },
        ["app.main.main"],
    ),
    "mzip_of_instances_in_order": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, instance

                @instance
                def first():
                    print("first built")
                    return 1

                @instance
                def second():
                    print("second built")
                    return 2

                both = Injected.mzip(first, second)
            """,
        },
        ["app.main.both"],
    ),
    "mzip_member_with_dependencies_runs_later": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, design, instance

                @instance
                def dataset(seed):
                    print("dataset built")
                    return [seed]

                @instance
                def weights():
                    print("weights built")
                    return 0.5

                inputs = Injected.mzip(dataset, weights)
                __design__ = design(seed=3)
            """,
        },
        ["app.main.inputs"],
    ),
    "shallow_instances_are_built_before_deep_ones": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def dataset(seed):
                    print("dataset built")
                    return [seed, seed]

                @injected
                def load(dataset, /, i):
                    return dataset[i]

                @instance
                def weights():
                    print("weights built")
                    return 2

                @injected
                def train(load, weights, /):
                    print("training")
                    return load(0) * weights

                main: IProxy = train()
                __design__ = design(seed=5)
            """,
        },
        ["app.main.main"],
    ),
    "bind_with_rename": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, design

                total = Injected.bind(lambda a, b: a * 100 + b, b="offset")
                __design__ = design(a=3, offset=7)
            """,
        },
        ["app.main.total"],
    ),
    "dict_and_list_combinators": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, design, injected

                @injected
                def item(base, /, x):
                    print("item", x)
                    return base + x

                as_dict = Injected.dict(one=item(1), two=item(2))
                as_list = Injected.list(item(3), item(4), Injected.pure(5))
                __design__ = design(base=100)
            """,
        },
        ["app.main.as_dict", "app.main.as_list"],
    ),
    "procedure_runs_in_order": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, injected

                @injected
                def step(x):
                    print("step", x)
                    return x

                # pinjected runs these as step 4, step 3, step 1, step 2 (nested tuples).
                steps = Injected.procedure(step(1), step(2), step(3), step(4))
            """,
        },
        ["app.main.steps"],
    ),
    "procedure_log_binding": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, design, injected

                @injected
                def record(sink, /, x):
                    sink.append(x)
                    return len(sink)

                last = Injected.procedure(record(1), record(2))
                __design__ = design(sink=[])
            """,
        },
        ["app.main.last"],
    ),
    "by_name_operators_and_subscripts": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                label: IProxy = injected("cfg")["name"] + "!"
                total: IProxy = injected("a") + injected("b") * 10
                __design__ = design(cfg={"name": "run"}, a=1, b=2)
            """,
        },
        ["app.main.label", "app.main.total"],
    ),
    "map_on_injected": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import Injected, design

                doubled = Injected.by_name("count").map(lambda c: c * 2)
                __design__ = design(count=21)
            """,
        },
        ["app.main.doubled"],
    ),
    "async_instance": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import asyncio
                from pinjected import IProxy, injected, instance

                @instance
                async def connection(url):
                    await asyncio.sleep(0.01)
                    print("connected", url)
                    return {"url": url}

                @injected
                async def a_query(connection, /, q):
                    await asyncio.sleep(0)
                    return connection["url"] + "?" + q

                main: IProxy = a_query("x=1")
                url = "db://local"
            """,
            "app/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(url="db://local")
            """,
        },
        ["app.main.main"],
    ),
    "instance_chain_builds_dependencies_first": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def root_config():
                    print("root_config")
                    return 2

                @instance
                def model(root_config):
                    print("model")
                    return root_config * 10

                @injected
                def predict(model, /, x):
                    print("predict", x)
                    return model + x

                main: IProxy = predict(1)
            """,
        },
        ["app.main.main"],
    ),
    "unused_branch_instance_is_built_eagerly": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def expensive():
                    print("expensive built")
                    return "E"

                @injected
                def choose(expensive, use, /):
                    print("choosing")
                    return expensive if use else "cheap"

                main: IProxy = choose()
                __design__ = design(use=False)
            """,
        },
        ["app.main.main"],
    ),
    "meta_design_overrides": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(mode, /):
                    return mode

                main: IProxy = show()
                __meta_design__ = design(overrides=design(mode="meta"))
            """,
        },
        ["app.main.main"],
    ),
    "design_alias_and_pure_values": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, Injected, design, injected

                @injected
                def show(alias, items, /):
                    return [alias, items]

                main: IProxy = show()
                __design__ = design(name="target", alias=injected("name"), items=Injected.pure([1, 2]))
            """,
        },
        ["app.main.main"],
    ),
    "design_binds_instance_and_function_objects": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def token():
                    print("token made")
                    return "T"

                @injected
                def sign(secret, /, text):
                    return text + ":" + secret

                @injected
                def run(signer, auth, /, text):
                    return signer(text) + "|" + auth

                main: IProxy = run("doc")
                __design__ = design(signer=sign, auth=token, secret="k")
            """,
        },
        ["app.main.main"],
    ),
    "dependency_default_is_dead": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def f(timeout=10, /, url="u"):
                    return [timeout, url]

                main: IProxy = f()
                __design__ = design(timeout=99)
            """,
        },
        ["app.main.main"],
    ),
    "docstrings_and_keyword_only_runtime_arguments": (
        {
            "app/__init__.py": "",
            "app/main.py": '''\
                from pinjected import IProxy, design, injected

                @injected
                def fmt(sep, /, *parts, upper=False):
                    """Joins parts."""
                    text = sep.join(parts)
                    return text.upper() if upper else text

                main: IProxy = fmt("a", "b", upper=True)
                __design__ = design(sep="-")
            ''',
        },
        ["app.main.main"],
    ),
    "instance_passed_as_value_runs_again": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def checkpoint():
                    print("checkpoint loaded")
                    return {"w": 1}

                @injected
                def compare(checkpoint, /, other):
                    return checkpoint is other

                main: IProxy = compare(checkpoint)
            """,
        },
        ["app.main.main"],
    ),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_migrated_project_behaves_like_the_original(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)


def test_there_are_at_least_25_projects():
    assert len(PROJECTS) >= 25

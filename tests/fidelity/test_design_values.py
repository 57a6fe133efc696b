"""Designs that are not literal migrate to runtime design values (runtime/designs.py) and behave as under
pinjected: each project runs with real pinjected, then migrated with pinjected unimportable (strict
harness), with the same result and the same printed lines."""

from __future__ import annotations

import pytest

from doeff_migrate.codemod.cli import main as doeff_migrate

from .harness import assert_same_behaviour, write_project

SHOW = """\
    from pinjected import IProxy, design, injected

    @injected
    def show(a, b, c, /):
        print("show", a, b, c)
        return [a, b, c]

    main: IProxy = show()
"""

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "star_design_combined_with_a_literal": (
        {
            "app/__init__.py": "",
            "app/main.py": SHOW + """
    PROFILE = {"a": 1, "b": 2}
    __design__ = design(**PROFILE) + design(c=3, b=20)
""",
        },
        ["app.main.main"],
    ),
    "design_built_by_a_helper": (
        {
            "app/__init__.py": "",
            "app/main.py": SHOW + """
    def make(v):
        return design(a=v) + design(b=v * 2)

    __design__ = make(5) + design(c="lit")
""",
        },
        ["app.main.main"],
    ),
    "providers_classes_instances": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, classes, design, injected, instances, providers

                class Svc:
                    def __init__(self, host, port):
                        print("Svc built")
                        self.v = f"{host}:{port}"

                async def a_total(host, port):
                    return f"{host}-{port}"

                @injected
                def show(total, svc, atotal, /, suffix):
                    return [total, svc.v, atotal, suffix]

                main: IProxy = show("!")
                __design__ = (
                    providers(total=lambda host, port: f"{host}/{port}", atotal=a_total)
                    + classes(svc=Svc)
                    + instances(host="h", port=80)
                )
            """,
        },
        ["app.main.main"],
    ),
    "injected_key_expressions_in_a_helper_design": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pathlib import Path
                from pinjected import IProxy, design, injected

                def derived():
                    # (``**``: a key bound to an expression the index cannot classify is DM107's, whatever
                    # the design form; here the design is built where the index does not look.)
                    return design(**dict(item=injected("cfg")["key"], sub=injected("root") / "x", size=injected("cfg")["n"] * 2 + 1))

                @injected
                def show(item, sub, size, /):
                    return [item, str(sub), size]

                main: IProxy = show()
                __design__ = design(cfg={"key": "K", "n": 4}, root=Path("/r")) + derived()
            """,
        },
        ["app.main.main"],
    ),
    "injected_combinators_in_a_helper_design": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, Injected, design, injected

                def extras():
                    return design(**dict(
                        other=Injected.bind(lambda greeting: greeting + "?"),
                        by=Injected.by_name("greeting"),
                        pure=Injected.pure(7),
                    ))

                @injected
                def show(other, by, pure, /):
                    return [other, by, pure]

                main: IProxy = show()
                __design__ = design(greeting="hi") + extras()
            """,
        },
        ["app.main.main"],
    ),
    "meta_design_between_two_designs": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(mode, extra, /):
                    return [mode, extra]

                main: IProxy = show()
                __design__ = design(mode="a")
                __meta_design__ = design(overrides=design(mode="meta", extra="meta"))
                __design__ = design(mode="b")
            """,
        },
        ["app.main.main"],
    ),
    "meta_designs_in_a_package_hierarchy": (
        {
            "app/__init__.py": """\
                from pinjected import design
                __meta_design__ = design(overrides=design(p="init-meta", q="init-meta", r="init-meta", s="init-meta"))
                __design__ = design(q="init-design")
            """,
            "app/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(r="pinjected-design")
            """,
            "app/sub/__init__.py": "",
            "app/sub/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(p, q, r, s, t, /):
                    return [p, q, r, s, t]

                __design__ = design(t="main-design-1")
                __meta_design__ = design(overrides=design(s="main-meta", t="main-meta", q="main-meta"))
                __design__ = design(t="main-design-2")
                main: IProxy = show()
            """,
        },
        ["app.sub.main.main"],
    ),
    "instance_bound_to_two_keys_is_shared": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def conn():
                    print("conn built")
                    return object()

                @injected
                def use(a, b, conn, /):
                    return [a is b, a is conn, b is conn]

                main: IProxy = use()
                __design__ = design(a=conn, b=conn)
            """,
        },
        ["app.main.main"],
    ),
    "with_star_design_block": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def label(prefix, /, x):
                    print("label", x)
                    return prefix + x

                __design__ = design(prefix="module-")
                PROFILE = {"prefix": "p-"}
                with design(**PROFILE):
                    prof: IProxy = label("p")
                    with design(prefix="inner-"):
                        inner: IProxy = label("i")
                plain: IProxy = label("m")
            """,
        },
        ["app.main.prof", "app.main.inner", "app.main.plain"],
    ),
    "with_block_of_a_helper_design_variable": (
        {
            "app/__init__.py": "",
            "app/designs.py": """\
                from pinjected import design

                def profile(name):
                    return design(prefix=name + "-")

                TEST = profile("test") + design(suffix="!")
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                from app.designs import TEST

                @injected
                def label(prefix, suffix, /, x):
                    return prefix + x + suffix

                __design__ = design(prefix="module-", suffix=".")
                with TEST:
                    t: IProxy = label("t")
                m: IProxy = label("m")
            """,
        },
        ["app.main.t", "app.main.m"],
    ),
    "design_variables_combined_and_rebound": (
        {
            "app/__init__.py": "",
            "app/main.py": SHOW + """
    DEFAULTS = {"a": "default-a", "b": "default-b"}
    base = design(**DEFAULTS)
    test = base + design(b="test-b")
    base += design(c="late-c")
    __design__ = test + base + design(**{"a": "final-a"})
""",
        },
        ["app.main.main"],
    ),
    "runtime_designs_in_pinjected_hierarchy": (
        {
            "__pinjected__.py": """\
                from pinjected import design
                ROOT = {"a": "root-a", "b": "root-b", "c": "root-c"}
                __design__ = design(**ROOT)
            """,
            "app/__init__.py": """\
                from pinjected import design

                def layer(**kw):
                    return design(**{k: "init-" + v for k, v in kw.items()})

                __design__ = layer(b="b")
            """,
            "app/__pinjected__.py": """\
                from pinjected import design
                __design__ = design(c="pinjected-c")
            """,
            "app/main.py": SHOW,
        },
        ["app.main.main"],
    ),
    "lambda_in_a_runtime_design_is_a_value": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                FUNCS = {"inc": lambda x: x + 1}

                @injected
                def apply(inc, twice, /, v):
                    return [inc(v), twice(v)]

                main: IProxy = apply(3)
                __design__ = design(**FUNCS) + design(twice=lambda v: v * 2)
            """,
        },
        ["app.main.main"],
    ),
    "empty_design_plus_runtime_design": (
        {
            "app/__init__.py": "",
            "app/main.py": SHOW + """
    from pinjected import EmptyDesign

    VALUES = dict(a=1, b=2, c=3)
    __design__ = EmptyDesign + design(**VALUES)
""",
        },
        ["app.main.main"],
    ),
    "instance_and_injected_function_in_a_star_design": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def db(url):
                    print("db built", url)
                    return {"url": url}

                @injected
                def fetch_impl(db, /, k):
                    return db["url"] + "/" + k

                @injected
                def run(store, fetcher, /):
                    print("run")
                    return [store["url"], fetcher("x")]

                main: IProxy = run()
                __design__ = design(url="mem://", fetcher=fetch_impl) + design(**{"store": db})
            """,
        },
        ["app.main.main"],
    ),
    "providers_with_instance_dependency_built_once": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance, providers

                @instance
                def counter():
                    print("counter built")
                    return [0]

                def make_client(counter, name):
                    counter[0] += 1
                    return f"{name}#{counter[0]}"

                @injected
                def use(client, counter, /):
                    return [client, counter[0]]

                main: IProxy = use()
                __design__ = design(name="svc") + providers(client=make_client)
            """,
        },
        ["app.main.main"],
    ),
    "legacy_overrides_key_of_package_designs": (
        {
            "app/__init__.py": """\
                from pinjected import design
                __design__ = design(a="init", b="init", overrides=design(a="init-ov", c="init-ov"))
            """,
            "app/sub/__init__.py": """\
                from pinjected import design
                __design__ = design(d="sub", overrides=design(d="sub-ov", b="sub-ov", f="sub-ov"))
            """,
            "app/sub/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def reg():
                    print("reg built")
                    return "registry"

                @injected
                def show(a, b, d, m, reg, /):
                    return [a, b, d, m, reg]

                main: IProxy = show()
                __design__ = design(m="main", overrides=design(m="main-ov", reg="main-ov-reg"))
            """,
        },
        ["app.sub.main.main"],
    ),
    "meta_design_bindings_under_its_overrides": (
        {
            "app/__init__.py": """\
                from pinjected import design
                __design__ = design(a="init", overrides=design(c="init-ov"))
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def reg():
                    return "registry"

                @injected
                def show(a, g, h, reg, /):
                    return [a, g, h, reg]

                main: IProxy = show()
                __meta_design__ = design(g="meta-kv", h="meta-kv", overrides=design(h="meta-ov", reg="meta-ov-reg"))
            """,
        },
        ["app.main.main"],
    ),
    "meta_design_built_with_instances_over_a_helper_design": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instances, providers

                def defaults(root):
                    return design(root=root) + providers(label=lambda root: root + "/label")

                @injected
                def show(root, label, /):
                    return [root, label]

                main: IProxy = show()
                default_design = defaults("/r")
                __meta_design__ = instances(overrides=default_design)
            """,
        },
        ["app.main.main"],
    ),
    "design_returned_by_an_instance": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def base_name():
                    print("base_name built")
                    return "reg"

                @instance
                def env_design(base_name):
                    print("env_design built")
                    return design(x=base_name + "-x", y="from-instance")

                @injected
                def show(x, y, z, base_name, /):
                    print("show body")
                    return [x, y, z, base_name]

                main: IProxy = show()
                __design__ = env_design + design(y="literal", z="z", base_name="design")
            """,
        },
        ["app.main.main"],
    ),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_runtime_design_project_behaves_like_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)


# Eager building: every @instance of an entry point's graph is built before any
# body runs, and an @instance passed as an argument is built (separately from its key) before the
# dependencies of the function it is passed to.
EAGER_ORDER = {
    "instance_passed_as_argument_and_depended_on": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected, instance

                @instance
                def a():
                    print("a built")
                    return 1

                @instance
                def b():
                    print("b built")
                    return 2

                @instance
                def c(b):
                    print("c built")
                    return 3

                @instance
                def d():
                    print("d built")
                    return 4

                @injected
                def greet(x):
                    print("greet", x)
                    return "g" + x

                @injected
                def use(a, c, /, x):
                    print("use body", x)
                    return [x, a, c]

                @injected
                def only_c(c, /, x):
                    print("only_c body", x)
                    return [x, c]

                @injected
                def pair(c, /, x, y):
                    print("pair body")
                    return [x, y, c]

                both: IProxy = use(a)
                arg_then_deps: IProxy = only_c(a)
                dependency_as_argument: IProxy = use(b)
                two_arguments: IProxy = pair(a, d)
                keyword_argument: IProxy = only_c(x=a)
                call_argument: IProxy = only_c(greet("x"))
            """,
        },
        ["app.main.both", "app.main.arg_then_deps", "app.main.dependency_as_argument", "app.main.two_arguments",
         "app.main.keyword_argument", "app.main.call_argument"],
    ),
    "runtime_design_builds_its_instances_eagerly": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def conn(url):
                    print("conn built", url)
                    return "conn:" + url

                @instance
                def unused_branch(conn):
                    print("unused_branch built")
                    return "never used"

                @injected
                def run(conn, unused_branch, /, flag):
                    print("run body")
                    return conn if flag else unused_branch

                SETTINGS = {"url": "mem://"}
                main: IProxy = run(True)
                __design__ = design(**SETTINGS)
            """,
        },
        ["app.main.main"],
    ),
}


@pytest.mark.parametrize("name", sorted(EAGER_ORDER))
def test_eager_build_order_is_pinjected_order(tmp_path, name):
    files, targets = EAGER_ORDER[name]
    assert_same_behaviour(tmp_path, files, targets)


@pytest.mark.parametrize("name", sorted(PROJECTS) + sorted(EAGER_ORDER))
def test_second_run_changes_nothing(tmp_path, name):
    files = PROJECTS[name][0] if name in PROJECTS else EAGER_ORDER[name][0]
    write_project(tmp_path, files)
    assert doeff_migrate([str(tmp_path), "-q"]) == 0
    first = {p: p.read_text() for p in sorted(tmp_path.rglob("*.py"))}
    assert doeff_migrate([str(tmp_path), "-q"]) == 0
    assert {p: p.read_text() for p in sorted(tmp_path.rglob("*.py"))} == first


# Known gap: an @instance passed as an argument that has dependencies of its own. pinjected resolves the
# arguments and the callee's dependencies as concurrent tasks, so their builds interleave hop by hop
# (here: `a`, `a`, `d`, `b`, `e`, `c`); the migrated entry point builds the argument `e` (and, at its first
# Ask, the whole closure) before the argument `a`. Results are the same; the printed order is not.
@pytest.mark.xfail(strict=True, reason="arguments with dependencies of their own interleave with the callee's dependencies in pinjected")
def test_instance_argument_with_its_own_dependencies_is_built_in_pinjected_order(tmp_path):
    assert_same_behaviour(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """\
            from pinjected import IProxy, injected, instance

            @instance
            def a():
                print("a built")
                return 1

            @instance
            def b():
                print("b built")
                return 2

            @instance
            def c(b):
                print("c built")
                return 3

            @instance
            def d():
                print("d built")
                return 4

            @instance
            def e(d):
                print("e built")
                return 5

            @injected
            def use(a, c, /, x, y=0):
                print("use body")
                return [x, y, a, c]

            main: IProxy = use(e, y=a)
        """,
    }, ["app.main.main"])

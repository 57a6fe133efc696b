"""Fidelity of the ``di`` phase on designs: ``with`` blocks, designs under ``if``/``try``, meta designs, star imports.

``FIXED``: each construct as a tiny project; the migrated copy carries no flag and behaves like the original
under real pinjected (same result, same printed lines). ``FLAGGED``: constructs whose faithful rewrite is not
mechanical; the construct is left as it was, with the expected ``# doeff-migrate: DM###``
comments, and the migrated project never silently succeeds where pinjected fails.

The subprocess runs of every project start together from one module-scoped fixture (2 workers).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .harness import Run, migrate_copy, run_migrated, run_pinjected, write_project

LABEL = """\
    from pinjected import IProxy, design, injected

    @injected
    def label(prefix, /, x):
        return prefix + x

    __design__ = design(prefix="module-")
"""

FIXED: dict[str, tuple[dict[str, str], list[str]]] = {
    # ``as``, several items, blocks under module-level ``if``/``try``.
    "with_variants": (
        {
            "app/__init__.py": "",
            "app/main.py": LABEL + """
    with design(prefix="outer-") as d:
        outer: IProxy = label("o")

    with design(prefix="a-"), design(prefix="b-"):
        both: IProxy = label("o")

    import sys
    if sys.version_info >= (3, 8):
        with design(prefix="cond-"):
            cond: IProxy = label("c")
    else:
        cond: IProxy = label("never")

    try:
        with design(prefix="try-"):
            tried: IProxy = label("t")
    except ImportError:
        pass

    if sys.version_info < (3, 0):
        with design(prefix="old-"):
            plain: IProxy = label("p")
    else:
        plain: IProxy = label("p")
""",
        },
        ["app.main.outer", "app.main.both", "app.main.cond", "app.main.tried", "app.main.plain"],
    ),
    # The block's design is a design variable of another module.
    "with_imported_design": (
        {
            "app/__init__.py": "",
            "app/designs.py": 'from pinjected import design\ntest_design = design(prefix="test-")\n',
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                from app.designs import test_design

                @injected
                def label(prefix, /, x):
                    return prefix + x

                with test_design:
                    t: IProxy = label("t")
                __design__ = design(prefix="module-")
            """,
        },
        ["app.main.t"],
    ),
    # Providers under module-level ``if``/``try`` (and an @instance bound in a design).
    "providers_under_if_and_try": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import os
                import sys
                from pinjected import IProxy, design, injected, instance

                if sys.platform.startswith("linux"):
                    @injected
                    def run_cmd(shell, /, cmd):
                        return shell + " -c " + cmd
                else:
                    @injected
                    def run_cmd(shell, /, cmd):
                        return shell + " /c " + cmd

                try:
                    import json

                    @injected
                    def encode(x):
                        return json.dumps(x)
                except ImportError:
                    @injected
                    def encode(x):
                        return str(x)

                if os.name == "posix":
                    @instance
                    def settings():
                        print("settings built")
                        return {"root": "/srv"}

                @injected
                def build(run_cmd, encode, conf, /, tag):
                    return run_cmd("build " + tag) + encode([1]) + conf["root"]

                main: IProxy = build("v1")
                __design__ = design(shell="sh", conf=settings)
            """,
        },
        ["app.main.main"],
    ),
    # Design values through ``import pkg.mod as alias``.
    "design_values_through_a_module_alias": (
        {
            "app/__init__.py": "",
            "app/helpers.py": """\
                from pinjected import injected, instance

                @injected
                def fetch_impl(prefix, /, url):
                    return prefix + url

                @instance
                def settings():
                    return {"root": "/srv"}
            """,
            "app/main.py": """\
                import app.helpers as h
                from pinjected import IProxy, design, injected

                @injected
                def page(fetcher, /, url):
                    return fetcher(url)

                @injected
                def show(conf, /):
                    return conf["root"]

                main: IProxy = page("x")
                conf_main: IProxy = show()
                __design__ = design(fetcher=h.fetch_impl, prefix="P-", conf=h.settings)
            """,
        },
        ["app.main.main", "app.main.conf_main"],
    ),
    # Design side: ``fn.proxy`` in a design is ``fn``.
    "proxy_of_a_provider_in_a_design": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def fetch_impl(prefix, /, url):
                    return prefix + url

                @injected
                def page(fetcher, /, url):
                    return fetcher(url)

                main: IProxy = page("x")
                __design__ = design(fetcher=fetch_impl.proxy, prefix="P-")
            """,
        },
        ["app.main.main"],
    ),
    # ``+=`` rebinds (no aliasing), a ``with`` layer is evaluated where the block is.
    "design_rebinding": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def label(prefix, /, x):
                    return prefix + x

                base = design(prefix="base-")
                with base:
                    b: IProxy = label("b")
                base += design(prefix="later-")

                shared = design(prefix="shared-")
                extra = shared
                extra += design(prefix="extra-")
                m: IProxy = label("m")

                PREFIX = "first-"
                with design(prefix=PREFIX):
                    a: IProxy = label("a")
                PREFIX = "second-"

                import types
                CONFIG = types.SimpleNamespace(p="cfg-")
                with design(prefix=CONFIG.p):
                    g: IProxy = label("g")
                CONFIG.p = "mutated-"

                override = design(prefix="one-")
                with override:
                    c: IProxy = label("c")
                override = design(prefix="two-")
                with override:
                    e: IProxy = label("e")
                __design__ = shared
            """,
        },
        ["app.main.b", "app.main.m", "app.main.a", "app.main.g", "app.main.c", "app.main.e"],
    ),
    # ``__meta_design__`` and ``__design__`` in one module, both orders.
    "meta_design_and_design": (
        {
            "app/__init__.py": "",
            "app/one.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def show(mode, /):
                    return mode

                main: IProxy = show()
                __design__ = design(mode="design")
                __meta_design__ = design(overrides=design(mode="meta"))
            """,
            "app/two.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def both(mode, other, /):
                    return [mode, other]

                main: IProxy = both()
                __meta_design__ = design(overrides=design(mode="meta", other="meta"))
                __design__ = design(mode="design")
            """,
        },
        ["app.one.main", "app.two.main"],
    ),
    # An alias in a ``with`` header.
    "alias_in_a_with_header": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def label(prefix, /, x):
                    return prefix + x

                with design(prefix=injected("alt")):
                    o: IProxy = label("o")
                plain: IProxy = label("p")
                __design__ = design(prefix="module-", alt="ALT-")
            """,
        },
        ["app.main.o", "app.main.plain"],
    ),
    # A ``__pinjected__.py`` at the project root.
    "root_pinjected_module": (
        {
            "__pinjected__.py": 'from pinjected import design\n__design__ = design(base="root-level", over="root")\n',
            "app/__init__.py": "",
            "app/__pinjected__.py": 'from pinjected import design\n__design__ = design(over="package")\n',
            "app/main.py": """\
                from pinjected import IProxy, injected

                @injected
                def show(base, over, /):
                    return [base, over]

                main: IProxy = show()
            """,
        },
        ["app.main.main"],
    ),
    # ``from pinjected import *``.
    "star_import": (
        {
            "app/__init__.py": "",
            "app/lib.py": """\
                from pinjected import *

                @injected
                def helper(base, /, x):
                    return base + x
            """,
            "app/main.py": """\
                from pinjected import IProxy, design, injected
                from app.lib import helper

                @injected
                def run(helper, /, x):
                    return helper(x) * 2

                main: IProxy = run(1)
                __design__ = design(base=10)
            """,
        },
        ["app.main.main"],
    ),
    # Eager build order on a diamond with a side branch.
    "diamond_build_order": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected, instance

                @instance
                def leaf():
                    print("leaf"); return 1

                @instance
                def mid_a(leaf):
                    print("mid_a"); return leaf + 1

                @instance
                def mid_b(leaf, other):
                    print("mid_b"); return leaf + other

                @instance
                def other():
                    print("other"); return 5

                @instance
                def top(mid_a, mid_b):
                    print("top"); return mid_a + mid_b

                @injected
                def use(top, helper, /, x):
                    print("use", x); return helper(x) + top

                @injected
                def helper(mid_a, zed, /, x):
                    print("helper", x); return mid_a * x + zed

                main: IProxy = use(3)
                __design__ = design(zed=100)
            """,
        },
        ["app.main.main"],
    ),
}

FLAGGED: dict[str, tuple[dict[str, str], dict[str, list[str]], list[str]]] = {
    # name: (files, {file: expected flag codes in order}, statements that must stay verbatim)
    "design_binds_lifted_entry_point": (  # design side
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, design, injected

                @injected
                def greet(name):
                    return "hi " + name

                @injected
                def show(shout, /):
                    return shout

                lifted: IProxy = greet("amy") + "!"
                main: IProxy = show()
                __design__ = design(shout=lifted)
            """,
        },
        # (the binding is opaque to the index too: ``show`` asks ``shout`` through ``AskFunction``, which
        # gives a plain value as it is)
        {"app/main.py": ["DM121"]},
        ["__design__ = design(shout=lifted)"],
    ),
    "api_through_a_project_facade": (
        {
            "app/__init__.py": "",
            "app/di.py": "from pinjected import injected, design, IProxy\n",
            "app/lib.py": """\
                from app.di import injected

                @injected
                def helper(base, /, x):
                    return base + x
            """,
            "app/main.py": """\
                import app.lib
                from pinjected import IProxy, design, injected

                @injected
                def run(helper, /, x):
                    return helper(x) * 2

                main: IProxy = run(1)
                __design__ = design(base=10)
            """,
        },
        {"app/lib.py": ["DM122"], "app/main.py": ["DM117", "DM108"]},
        ["@injected\ndef helper(base, /, x):", "@injected\ndef run(helper, /, x):"],
    ),
    "dependency_cycle": (
        {
            "app/__init__.py": "",
            "app/main.py": """\
                from pinjected import IProxy, injected

                @injected
                def fact(fact, /, n):
                    return 1 if n == 0 else n * fact(n - 1)

                main: IProxy = fact(4)
            """,
        },
        {"app/main.py": ["DM117", "DM123", "DM108"]},
        ["@injected\ndef fact(fact, /, n):", "main: IProxy = fact(4)"],
    ),
}

_FLAG = re.compile(r"^\s*# doeff-migrate: (DM\d+):", re.M)


def _prepare(root: Path, files: dict[str, str]) -> tuple[Path, Path]:
    original, migrated = root / "original", root / "migrated"
    write_project(original, files)
    migrate_copy(original, migrated)
    return original, migrated


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, str], tuple[Run, Run]]:
    jobs = []
    for name, (files, targets) in FIXED.items():
        original, migrated = _prepare(tmp_path_factory.mktemp(name), files)
        jobs += [(name, target, original, migrated) for target in targets]
    for name, (files, _, _) in FLAGGED.items():
        original, migrated = _prepare(tmp_path_factory.mktemp(name), files)
        jobs.append((name, "app.main.main", original, migrated))

    def run(job):
        name, target, original, migrated = job
        return (name, target), (run_pinjected(original, target), run_migrated(migrated, target))

    with ThreadPoolExecutor(2) as pool:
        found = dict(pool.map(run, jobs))
    found["_roots"] = {job[0]: job[3] for job in jobs}  # type: ignore[assignment]
    return found


@pytest.mark.parametrize(
    "name,target", [(name, target) for name, (_, targets) in FIXED.items() for target in targets]
)
def test_migrated_project_behaves_like_pinjected(runs, name, target):
    migrated = runs["_roots"][name]
    leftover = {str(p.relative_to(migrated)): _FLAG.findall(p.read_text()) for p in migrated.rglob("*.py")}
    assert not any(codes for codes in leftover.values()), f"unexpected flags: {leftover}"
    before, after = runs[(name, target)]
    assert before.returncode == 0, before.stderr[-2000:]
    assert after.returncode == 0, after.stderr[-2000:] + "\n" + "\n".join(
        f"--- {p.relative_to(migrated)}\n{p.read_text()}" for p in sorted(migrated.rglob("*.py"))
    )
    assert after.result == before.result
    assert after.stdout == before.stdout


@pytest.mark.parametrize("name", list(FLAGGED))
def test_untranslatable_construct_is_left_as_it_was_and_flagged(runs, name):
    files, expected, verbatim = FLAGGED[name]
    migrated = runs["_roots"][name]
    for rel, codes in expected.items():
        text = (migrated / rel).read_text()
        assert _FLAG.findall(text) == codes, text
    everything = "\n".join(p.read_text() for p in migrated.rglob("*.py"))
    for statement in verbatim:
        assert statement in everything
    before, after = runs[(name, "app.main.main")]
    if before.returncode != 0:
        # pinjected fails (e.g. a dependency cycle): the migration must not turn that into a result.
        assert after.returncode != 0

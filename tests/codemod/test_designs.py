"""Designs -> env dicts (codemod/transforms/designs.py)."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .tools import check_noop, check_transformed


def test_design_literals_become_a_dict_and_lambdas_stay_values():
    # Trap 1: design(k=lambda) binds the lambda itself as a value, never as a provider.
    check_transformed(
        """\
        from pinjected import design

        __design__ = design(batch_size=32, scale=lambda x: x * 2, name="run")
        """,
        """\
        __design__ = {"batch_size": 32, "scale": lambda x: x * 2, "name": "run"}
        """,
    )


def test_plus_becomes_union_and_design_variables_are_followed():
    check_transformed(
        """\
        from pinjected import design

        base = design(a=1, b=2)
        test_overrides = design(b=20)
        __design__ = base + test_overrides + design(c=3)
        """,
        """\
        base = {"a": 1, "b": 2}
        test_overrides = {"b": 20}
        __design__ = base | test_overrides | {"c": 3}
        """,
    )


def test_augmented_plus_rebinds_to_a_new_dict():
    # Designs are immutable values: ``+=`` rebinds the name; ``|=`` would update a dict other names share.
    check_transformed(
        """\
        from pinjected import design

        __design__ = design(a=1)
        __design__ += design(b=2)
        """,
        """\
        __design__ = {"a": 1}
        __design__ = __design__ | {"b": 2}
        """,
    )


def test_injected_function_is_bound_as_the_do_function_and_instance_as_its_program():
    check_transformed(
        """\
        from pinjected import design, injected, instance

        @injected
        def fetch(url):
            return url

        @instance
        def client():
            return "c"

        __design__ = design(fetcher=fetch, main_client=client)
        """,
        """\
        from doeff_migrate.runtime import do, function_binding, instance_binding

        @function_binding
        @do
        def fetch(url):
            return url

        @instance_binding
        @do
        def client():
            return "c"

        __design__ = {"fetcher": fetch, "main_client": client()}
        """,
    )


def test_by_name_and_pure_values():
    check_transformed(
        """\
        from pinjected import Injected, design, injected

        __design__ = design(alias=injected("name"), other=Injected.by_name("name"), p=Injected.pure([1, 2]))
        """,
        """\
        from doeff_migrate.runtime import Ask, do

        @do
        def _ask_name():
            return (yield Ask("name"))

        __design__ = {"alias": _ask_name(), "other": _ask_name(), "p": [1, 2]}
        """,
    )


def test_meta_design_overrides_become_the_module_design():
    check_transformed(
        """\
        from pinjected import design

        __meta_design__ = design(overrides=design(a=1))
        """,
        """\
        __design__ = {"a": 1}
        """,
    )


def test_with_design_block_is_dissolved_into_overrides_of_its_entry_points():
    check_transformed(
        """\
        from pinjected import IProxy, design, injected

        @injected
        def show(prefix, /, x):
            return prefix + x

        with design(prefix="outer:"):
            a: IProxy = show("a")
            with design(prefix="inner:"):
                b: IProxy = show("b")
        """,
        """\
        from doeff_migrate.runtime import Ask, Program, do, function_binding

        @function_binding
        @do
        def show(x):
            prefix = yield Ask("prefix")
            return prefix + x

        a: Program = show("a")
        b: Program = show("b")

        __doeff_overrides__ = {"a": {"prefix": "outer:"}, "b": {"prefix": "outer:"} | {"prefix": "inner:"}}

        __doeff_requires__ = {"a": ("prefix",), "b": ("prefix",)}
        """,
    )


def test_already_migrated_env_dict_is_untouched():
    check_noop(
        """\
        # migrated from pinjected
        __design__ = {"a": 1}
        """
    )


def test_design_built_in_a_helper_becomes_a_runtime_design():
    check_transformed(
        """\
        from pinjected import design

        def make():
            return design(a=1)
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design

        def make():
            return _dm_design(a=1)
        """,
    )


LABEL = """\
from pinjected import IProxy, design, injected

@injected
def label(prefix, /, x):
    return prefix + x

__design__ = design(prefix="module-")
"""


LABEL_MIGRATED = """\
from doeff_migrate.runtime import Ask, Program, do, function_binding

@function_binding
@do
def label(x):
    prefix = yield Ask("prefix")
    return prefix + x

__design__ = {"prefix": "module-"}
"""


def _migrate(files: dict[str, str], path: str):
    files = {p: dedent(s) for p, s in files.items()}
    return migrate_source(files[path], path=path, index=ProjectIndex.from_sources(files))


def test_with_as_and_multi_item_with_are_dissolved():
    """``with design(...) as d`` binds ``d`` to the env dict; ``with a, b`` merges left to right."""
    check_transformed(
        LABEL + """
with design(prefix="outer-") as d:
    outer: IProxy = label("o")

with design(prefix="a-"), design(prefix="b-"):
    both: IProxy = label("o")
""",
        LABEL_MIGRATED + """
d = {"prefix": "outer-"}
outer: Program = label("o")

both: Program = label("o")

__doeff_overrides__ = {"outer": d, "both": {"prefix": "a-"} | {"prefix": "b-"}}

__doeff_requires__ = {"outer": ("prefix",), "both": ("prefix",)}
""",
    )


def test_with_under_module_level_if_and_try_records_its_override_where_the_block_runs():
    """a block under ``if``/``try`` is recorded only when it runs (pinjected records it at exit)."""
    check_transformed(
        LABEL + """
import sys
if sys.version_info >= (3, 8):
    with design(prefix="cond-"):
        cond: IProxy = label("c")

try:
    with design(prefix="try-"):
        tried: IProxy = label("t")
except ImportError:
    pass
""",
        LABEL_MIGRATED + """
import sys
__doeff_overrides__ = {}
if sys.version_info >= (3, 8):
    cond: Program = label("c")
    __doeff_overrides__.setdefault("cond", {"prefix": "cond-"})

try:
    tried: Program = label("t")
    __doeff_overrides__.setdefault("tried", {"prefix": "try-"})
except ImportError:
    pass

__doeff_requires__ = {"cond": ("prefix",), "tried": ("prefix",)}
""",
    )


def test_with_design_imported_from_another_module_is_used_as_its_env_dict():
    """``with test_design:`` where ``test_design`` is a design of another module."""
    check_transformed(
        """\
        from pinjected import IProxy, injected
        from app.designs import test_design

        @injected
        def label(prefix, /, x):
            return prefix + x

        with test_design:
            t: IProxy = label("t")
        """,
        """\
        from app.designs import test_design
        from doeff_migrate.runtime import Ask, Program, do, function_binding

        @function_binding
        @do
        def label(x):
            prefix = yield Ask("prefix")
            return prefix + x

        t: Program = label("t")

        __doeff_overrides__ = {"t": test_design}
        """,
        path="app/main.py",
        others={"app/__init__.py": "", "app/designs.py": 'from pinjected import design\ntest_design = design(prefix="test-")\n'},
    )


def test_with_design_that_cannot_be_read_is_flagged_with_its_entry_points():
    """an undissolvable block (a combinator with no runtime design counterpart) is left as it
    is, flagged, and so is every entry point inside it."""
    result = _migrate(
        {
            "app/__init__.py": "",
            "app/main.py": LABEL.replace("import IProxy,", "import Injected, IProxy,") + """
with design(pair=Injected.zip(Injected.pure(1), Injected.pure(2))):
    prof: IProxy = label("p")
""",
        },
        "app/main.py",
    )
    assert [f.code for f in result.flags] == ["DM118", "DM118"]
    assert "with design(pair=Injected.zip(Injected.pure(1), Injected.pure(2))):\n" in result.code
    assert "__doeff_overrides__" not in result.code


def test_providers_under_module_level_if_and_try_are_indexed():
    """callers of a provider defined under ``if``/``try`` yield its calls."""
    result = _migrate(
        {
            "app/__init__.py": "",
            "app/main.py": """\
                import sys
                from pinjected import IProxy, design, injected

                if sys.platform.startswith("linux"):
                    @injected
                    def run_cmd(shell, /, cmd):
                        return shell + " -c " + cmd
                else:
                    @injected
                    def run_cmd(shell, /, cmd):
                        return shell + " /c " + cmd

                @injected
                def build(run_cmd, /, tag):
                    return run_cmd("build " + tag)

                main: IProxy = build("v1")
                __design__ = design(shell="sh")
            """,
        },
        "app/main.py",
    )
    assert 'return (yield run_cmd("build " + tag))' in result.code
    assert not result.flags


def test_augmented_design_rebinds_and_with_layers_naming_rebound_variables_are_snapshotted():
    """``+=`` is a rebinding; a ``with`` layer naming a variable rebound later is evaluated at the block."""
    check_transformed(
        LABEL + """
base = design(prefix="base-")
with base:
    b: IProxy = label("b")
base += design(prefix="later-")
extra = base
extra += design(prefix="extra-")
""",
        LABEL_MIGRATED + """
base = {"prefix": "base-"}
__doeff_with_1__ = base
b: Program = label("b")
base = base | {"prefix": "later-"}
extra = base
extra = extra | {"prefix": "extra-"}

__doeff_overrides__ = {"b": __doeff_with_1__}

__doeff_requires__ = {"b": ("prefix",)}
""",
    )


def test_meta_design_and_design_are_merged_with_design_on_top():
    """both orders give ``__meta_design__``'s overrides first, ``__design__`` on top."""
    check_transformed(
        """\
        from pinjected import design

        __design__ = design(mode="design")
        __meta_design__ = design(overrides=design(mode="meta"))
        """,
        """\
        __design__ = {"mode": "design"}
        __design__ = {"mode": "meta"} | __design__
        """,
    )
    check_transformed(
        """\
        from pinjected import design

        __meta_design__ = design(overrides=design(mode="meta", other="meta"))
        __design__ = design(mode="design")
        """,
        """\
        __design__ = {"mode": "meta", "other": "meta"}
        __design__ = __design__ | {"mode": "design"}
        """,
    )


def test_meta_design_and_design_that_cannot_be_merged_stays_a_runtime_design():
    """two plain ``__design__`` assignments around the meta design: the meta design stays a
    runtime design value, which the runner puts under the module's final ``__design__``."""
    result = _migrate(
        {"m.py": """\
            from pinjected import design

            __design__ = design(mode="a")
            __meta_design__ = design(overrides=design(mode="meta"))
            __design__ = design(mode="b")
        """},
        "m.py",
    )
    assert [f.code for f in result.flags] == []
    assert '__design__ = {"mode": "a"}\n' in result.code and '__design__ = {"mode": "b"}\n' in result.code
    assert '__meta_design__ = _dm_design(overrides=_dm_design(mode="meta"))\n' in result.code
    assert "from doeff_migrate.runtime.designs import design as _dm_design\n" in result.code


def test_index_merges_meta_design_under_design():
    """The index: ``requires`` sees the merged design whatever the order."""
    index = ProjectIndex.from_sources({"m.py": dedent("""\
        from pinjected import design
        __meta_design__ = design(overrides=design(mode="meta", other="meta"))
        __design__ = design(mode="design")
    """)})
    design = index.modules["m"].design
    assert design is not None and set(design) == {"mode", "other"}


def test_one_instance_bound_to_two_keys_is_flagged():
    """pinjected shares the object between the keys; two env programs would not."""
    result = _migrate(
        {"m.py": """\
            from pinjected import design, instance

            @instance
            def conn():
                return object()

            base = design(a=conn)
            __design__ = base + design(b=conn)
        """},
        "m.py",
    )
    assert [f.code for f in result.flags] == ["DM120"]
    assert "__design__ = base + design(b=conn)" in result.code


def test_one_instance_bound_to_two_keys_of_one_design_is_a_runtime_design():
    """within runtime ``design(...)`` calls the instance object is built once for all its keys."""
    result = _migrate(
        {"m.py": """\
            from pinjected import design, instance

            @instance
            def conn():
                return object()

            __design__ = design(a=conn, b=conn)
        """},
        "m.py",
    )
    assert [f.code for f in result.flags] == []
    assert "__design__ = _dm_design(a=conn, b=conn)\n" in result.code


def test_design_binding_a_lifted_entry_point_is_flagged():
    """On the design side, a lifted entry point is a ``@do`` function after migration, not its value."""
    result = _migrate(
        {
            "app/__init__.py": "",
            "app/jobs.py": """\
                from pinjected import IProxy, injected

                @injected
                def greet(name):
                    return "hi " + name

                plain: IProxy = greet("bob")
                lifted: IProxy = greet("amy") + "!"
            """,
            "app/main.py": """\
                from pinjected import design
                from app.jobs import lifted, plain

                __design__ = design(greeting=plain, shout=lifted)
            """,
        },
        "app/main.py",
    )
    assert [f.code for f in result.flags] == ["DM121"]
    assert "`lifted`" in result.flags[0].message


def test_alias_helper_of_a_with_header_is_defined_before_its_use():
    """``with design(prefix=injected("alt")):`` used to reference ``_ask_alt`` without defining it."""
    check_transformed(
        LABEL + """
with design(prefix=injected("alt")):
    o: IProxy = label("o")
""",
        LABEL_MIGRATED + """
@do
def _ask_alt():
    return (yield Ask("alt"))

o: Program = label("o")

__doeff_overrides__ = {"o": {"prefix": _ask_alt()}}

__doeff_requires__ = {"o": ("alt", "prefix")}
""",
    )


def test_design_computed_by_a_helper_is_a_runtime_design():
    """``__design__ = make_design(5)``: the helper builds a runtime design value."""
    result = _migrate(
        {"m.py": """\
            from pinjected import design

            def make_design(v):
                return design(a=v)

            __design__ = make_design(5)
        """},
        "m.py",
    )
    assert [f.code for f in result.flags] == []
    assert "__design__ = make_design(5)" in result.code and "return _dm_design(a=v)" in result.code


def test_root_pinjected_module_is_part_of_every_env():
    """The index: a project-root ``__pinjected__.py`` is read before the packages' designs."""
    index = ProjectIndex.from_sources({
        "__pinjected__.py": 'from pinjected import design\n__design__ = design(base="root")\n',
        "app/__init__.py": "",
        "app/main.py": "from pinjected import IProxy, injected\n\n@injected\ndef show(base, /):\n    return base\n\nmain: IProxy = show()\n",
    })
    assert index.env_for("app.main")["base"].kind == "value"
    assert index.requires("app.main", "main") == ("base",)


def test_self_dependency_cycle_is_flagged():
    """pinjected fails on the cycle; the migrated direct recursion would succeed."""
    result = _migrate(
        {"app/__init__.py": "", "app/main.py": """\
            from pinjected import IProxy, injected

            @injected
            def fact(fact, /, n):
                return 1 if n == 0 else n * fact(n - 1)

            main: IProxy = fact(4)
        """},
        "app/main.py",
    )
    assert "DM123" in [f.code for f in result.flags]
    assert "@injected\ndef fact(fact, /, n):" in result.code


def test_with_layer_reading_a_plain_variable_is_snapshotted_where_the_block_starts():
    """pinjected evaluates ``design(prefix=CONFIG.p)`` when the block is entered."""
    check_transformed(
        LABEL + """
import types
CONFIG = types.SimpleNamespace(p="cfg-")
with design(prefix=CONFIG.p):
    g: IProxy = label("g")
CONFIG.p = "mutated-"
""",
        LABEL_MIGRATED + """
import types
CONFIG = types.SimpleNamespace(p="cfg-")
__doeff_with_1__ = {"prefix": CONFIG.p}
g: Program = label("g")
CONFIG.p = "mutated-"

__doeff_overrides__ = {"g": __doeff_with_1__}

__doeff_requires__ = {"g": ("prefix",)}
""",
    )


def test_proxy_of_a_provider_in_a_design_is_the_provider_and_other_attributes_are_flagged():
    """On the design side, ``fn.proxy`` binds ``fn``; ``settings.db_url`` of an @instance is flagged."""
    check_transformed(
        """\
        from pinjected import design, injected

        @injected
        def fetch_impl(prefix, /, url):
            return prefix + url

        __design__ = design(fetcher=fetch_impl.proxy, prefix="P-")
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def fetch_impl(url):
            prefix = yield Ask("prefix")
            return prefix + url

        __design__ = {"fetcher": fetch_impl, "prefix": "P-"}
        """,
    )
    result = _migrate({"m.py": """\
        from types import SimpleNamespace
        from pinjected import design, instance

        @instance
        def settings():
            return SimpleNamespace(db_url="db://x")

        __design__ = design(db_url=settings.db_url)
    """}, "m.py")
    assert [f.code for f in result.flags] == ["DM115"] and "`settings.db_url`" in result.flags[0].message
    assert "__design__ = design(db_url=settings.db_url)" in result.code


def test_one_instance_bound_to_keys_of_the_package_and_the_module_design_is_flagged():
    """Across the design hierarchy: ``app/__init__.py`` binds ``a=conn``, the module ``b=conn``."""
    files = {
        "app/__init__.py": "from pinjected import design\nfrom app.conns import conn\n__design__ = design(a=conn)\n",
        "app/conns.py": "from pinjected import instance\n\n@instance\ndef conn():\n    return object()\n",
        "app/main.py": "from pinjected import design\nfrom app.conns import conn\n__design__ = design(b=conn)\n",
    }
    result = _migrate(files, "app/main.py")
    assert [f.code for f in result.flags] == ["DM120"]
    assert "__design__ = design(b=conn)" in result.code
    assert not _migrate(files, "app/__init__.py").flags  # the package alone binds it once


def test_one_instance_bound_by_a_with_block_and_the_module_design_is_flagged():
    """With an override: the block binds ``b=conn`` over a module design binding ``a=conn``."""
    result = _migrate({"m.py": """\
        from pinjected import IProxy, design, injected, instance

        @instance
        def conn():
            return object()

        @injected
        def same(a, b, /):
            return a is b

        __design__ = design(a=conn)
        with design(b=conn):
            main: IProxy = same()
    """}, "m.py")
    assert [f.code for f in result.flags] == ["DM118", "DM118"]
    assert any("`conn` would be bound to several keys" in f.message for f in result.flags)
    assert "with design(b=conn):\n" in result.code


def test_entry_points_of_a_with_block_left_flagged_stay_pinjected():
    """An entry point in a ``with`` block that is not dissolved (DM118) is not turned into a program: as one
    it would run without the block's bindings. Entry points using it are flagged DM108."""
    result = _migrate(
        {
            "app/__init__.py": "",
            "app/main.py": LABEL.replace("import IProxy,", "import Injected, IProxy,") + """
with design(pair=Injected.zip(Injected.pure(1), Injected.pure(2))):
    prof: IProxy = label("p")
both: IProxy = prof + label("q")
""",
        },
        "app/main.py",
    )
    assert [f.code for f in result.flags] == ["DM118", "DM118", "DM108"]
    assert '    prof: IProxy = label("p")\n' in result.code
    assert 'both: IProxy = prof + label("q")\n' in result.code
    # the block's own statement and the entry point each carry their flag once
    assert result.code.count("DM118") == 2


def test_entry_point_of_a_with_block_flagged_for_another_reason_stays_pinjected():
    """Same when the block is readable but cannot be dissolved (one ``@instance`` bound to two keys)."""
    result = _migrate({"m.py": """\
        from pinjected import IProxy, design, injected, instance

        @instance
        def conn():
            return object()

        @injected
        def same(a, b, /):
            return a is b

        __design__ = design(a=conn)
        with design(b=conn):
            main: IProxy = same()
    """}, "m.py")
    assert "    main: IProxy = same()\n" in result.code
    assert "Program" not in result.code


def test_plain_modules_are_parsed_when_a_name_is_resolved_through_them(tmp_path):
    """The index parses a module without pinjected only when it may borrow pinjected's API (it names an
    indexed module in an import, or imports relatively) or when a lookup reaches it; answers are the same."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "lib.py").write_text("from pinjected import injected\n\n@injected\ndef fetch(url):\n    return url\n")
    (app / "consts.py").write_text("from app.lib import fetch as DEFAULT_FETCH\n")
    (app / "other.py").write_text("import math\nFACTOR = math.pi\n")
    (app / "main.py").write_text("from pinjected import design\nfrom app.consts import DEFAULT_FETCH\n__design__ = design(fetch=DEFAULT_FETCH)\n")
    index = ProjectIndex.build([tmp_path])
    assert "app.consts" in dict.keys(index.modules)  # names ``app.lib``: read with the pinjected modules
    assert "app.other" in index.modules.pending and "app.other" not in dict.keys(index.modules)
    assert index.key_kind("fetch") == "function"
    assert index.modules.get("app.other") is not None  # read on demand
    assert index.modules["app.other"].variables == {"FACTOR": "math.pi"}
    assert index.facts_for(str(app / "other.py")) is index.modules["app.other"]

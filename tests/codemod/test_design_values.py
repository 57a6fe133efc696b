"""Before/after of designs the codemod cannot turn into dict literals: they become runtime design values
(``doeff_migrate.runtime.designs``) with pinjected's rules; constructs without a runtime counterpart stay flagged.
Each case also checks that a second run changes nothing (``check_transformed``). Fidelity runs of the same
constructs against real pinjected: tests/fidelity/test_design_values.py."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .tools import _index, check_transformed


def test_star_design_becomes_a_runtime_design():
    check_transformed(
        """\
        from pinjected import IProxy, design, injected

        @injected
        def show(a, /):
            return a

        PROFILE = {"a": 1}
        main: IProxy = show()
        __design__ = design(**PROFILE) + design(b=2)
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design
        from doeff_migrate.runtime import Ask, Program, do, function_binding

        @function_binding
        @do
        def show():
            a = yield Ask("a")
            return a

        PROFILE = {"a": 1}
        main: Program = show()
        __design__ = _dm_design(**PROFILE) + _dm_design(b=2)
        """,
    )


def test_providers_classes_instances_become_runtime_builders():
    check_transformed(
        """\
        from pinjected import classes, instances, providers

        class Svc:
            def __init__(self, host):
                self.host = host

        __design__ = providers(total=lambda a, b: a + b) + classes(svc=Svc) + instances(host="h")
        """,
        """\
        from doeff_migrate.runtime.designs import classes as _dm_classes, instances as _dm_instances, providers as _dm_providers

        class Svc:
            def __init__(self, host):
                self.host = host

        __design__ = _dm_providers(total=lambda a, b: a + b) + _dm_classes(svc=Svc) + _dm_instances(host="h")
        """,
    )


def test_injected_key_expressions_and_combinators_in_a_helper_design():
    check_transformed(
        """\
        from pathlib import Path
        from pinjected import Injected, design, injected

        def derived():
            return design(item=injected("cfg")["key"], sub=injected("root") / "x", by=Injected.by_name("cfg"), p=Injected.pure(1), b=Injected.bind(lambda cfg: len(cfg)))

        __design__ = design(cfg={"key": "K"}, root=Path("/r")) + derived()
        """,
        """\
        from pathlib import Path
        from doeff_migrate.runtime.designs import Injected as _dm_Injected, design as _dm_design, injected as _dm_injected

        def derived():
            return _dm_design(item=_dm_injected("cfg")["key"], sub=_dm_injected("root") / "x", by=_dm_Injected.by_name("cfg"), p=_dm_Injected.pure(1), b=_dm_Injected.bind(lambda cfg: len(cfg)))

        __design__ = _dm_design(cfg={"key": "K"}, root=Path("/r")) + derived()
        """,
    )


def test_meta_design_between_two_designs_stays_a_runtime_meta_design():
    check_transformed(
        """\
        from pinjected import design

        __design__ = design(mode="a")
        __meta_design__ = design(overrides=design(mode="meta"))
        __design__ = design(mode="b")
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design

        __design__ = {"mode": "a"}
        __meta_design__ = _dm_design(overrides=_dm_design(mode="meta"))
        __design__ = {"mode": "b"}
        """,
    )


def test_with_block_of_a_star_design_is_dissolved_with_a_runtime_layer():
    check_transformed(
        """\
        from pinjected import IProxy, design, injected

        @injected
        def label(prefix, /, x):
            return prefix + x

        PROFILE = {"prefix": "p-"}
        with design(**PROFILE):
            prof: IProxy = label("p")
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design
        from doeff_migrate.runtime import Ask, Program, do, function_binding

        @function_binding
        @do
        def label(x):
            prefix = yield Ask("prefix")
            return prefix + x

        PROFILE = {"prefix": "p-"}
        __doeff_with_1__ = _dm_design(**PROFILE)
        prof: Program = label("p")

        __doeff_overrides__ = {"prof": __doeff_with_1__}
        """,
    )


def test_design_api_through_a_module_alias():
    check_transformed(
        """\
        import pinjected as pj

        BASE = {"a": 1}
        __design__ = pj.design(**BASE) + pj.providers(c=lambda a: a + 1)
        """,
        """\
        from doeff_migrate.runtime.designs import design, providers

        BASE = {"a": 1}
        __design__ = design(**BASE) + providers(c=lambda a: a + 1)
        """,
    )


def test_augmented_assignment_with_a_runtime_design():
    check_transformed(
        """\
        from pinjected import design

        EXTRA = {"b": 2}
        d = design(a=1)
        d += design(**EXTRA)
        __design__ = d
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design

        EXTRA = {"b": 2}
        d = {"a": 1}
        d += _dm_design(**EXTRA)
        __design__ = d
        """,
    )


def test_instance_bound_to_two_keys_of_one_runtime_design():
    check_transformed(
        """\
        from pinjected import design, instance

        @instance
        def conn():
            return object()

        __design__ = design(a=conn, b=conn)
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design
        from doeff_migrate.runtime import do, instance_binding

        @instance_binding
        @do
        def conn():
            return object()

        __design__ = _dm_design(a=conn, b=conn)
        """,
    )

def _flags(source: str) -> tuple[list[str], str]:
    source = dedent(source)
    result = migrate_source(source, path="example.py", index=_index("example.py", source, None))
    return [f.code for f in result.flags], result.code


def test_combinator_without_runtime_counterpart_stays_flagged_dm115():
    codes, code = _flags("""\
        from pinjected import Injected, design

        __design__ = design(pair=Injected.zip(Injected.pure(1), Injected.pure(2)))
    """)
    assert codes == ["DM115"]
    assert "`Injected.zip` has no runtime design counterpart" in code
    assert "__design__ = design(pair=Injected.zip(Injected.pure(1), Injected.pure(2)))\n" in code
    assert "doeff_migrate.runtime.designs" not in code  # nothing imported for a rewrite that was dropped


def test_attribute_of_a_provider_in_a_runtime_design_stays_flagged_dm115():
    codes, code = _flags("""\
        from types import SimpleNamespace
        from pinjected import design, instance

        @instance
        def settings():
            return SimpleNamespace(db_url="db://x")

        EXTRA = {}
        __design__ = design(db_url=settings.db_url, **EXTRA)
    """)
    assert codes == ["DM115"] and "`settings.db_url` (an attribute of a provider)" in code


def test_with_design_inside_a_function_is_not_turned_into_a_design_value():
    codes, code = _flags("""\
        from pinjected import design

        def scoped():
            with design(base=10):
                return 1
    """)
    assert codes == ["DM135"] and "    with design(base=10):\n" in code


def test_meta_design_with_runner_keys_stays_flagged_dm115():
    codes, code = _flags("""\
        from pinjected import design

        __meta_design__ = design(overrides=design(a=2), default_design_paths=["x.y"])
    """)
    assert codes == ["DM115"] and "`__meta_design__` with `default_design_paths=` configures pinjected's runner" in code


def test_star_import_of_pinjected_gets_aliased_runtime_names():
    codes, code = _flags("""\
        from pinjected import *

        __meta_design__ = design(

        )
    """)
    assert codes == []
    assert "from doeff_migrate.runtime.designs import design as _dm_design\n" in code
    assert "__meta_design__ = _dm_design(\n" in code


def test_design_handed_to_a_meta_design_builder_is_migrated_with_it():
    codes, code = _flags("""\
        from pathlib import Path
        from pinjected import design, instances, providers

        default_design = design(root=Path("/r")) + providers(logger=lambda: "log")
        __meta_design__ = instances(overrides=default_design)
    """)
    assert codes == []
    assert "default_design = _dm_design(root=Path(\"/r\")) + _dm_providers(logger=lambda: \"log\")\n" in code
    assert "__meta_design__ = _dm_instances(overrides=default_design)\n" in code


def test_design_returned_by_an_instance_and_combined_with_a_literal():
    check_transformed(
        """\
        from pinjected import design, instance

        @instance
        def env_design(base_name):
            return design(x=base_name + "-x")

        __design__ = env_design + design(y="literal")
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design
        from doeff_migrate.runtime import Ask, do, instance_binding

        @instance_binding
        @do
        def env_design():
            base_name = yield Ask("base_name")
            return _dm_design(x=base_name + "-x")

        __design__ = env_design + _dm_design(y="literal")
        """,
    )


def test_runtime_design_of_an_earlier_run_binding_a_provider_is_not_an_entry_point():
    check_transformed(
        """\
        from pinjected import design, instance, providers

        @instance
        def client():
            return "c"

        default_design = design(root="/r") + providers(client=client)
        """,
        """\
        from doeff_migrate.runtime.designs import design as _dm_design, providers as _dm_providers
        from doeff_migrate.runtime import do, instance_binding

        @instance_binding
        @do
        def client():
            return "c"

        default_design = _dm_design(root="/r") + _dm_providers(client=client)
        """,
    )


def test_target_doeff_keeps_plain_runtime_designs_and_flags_ones_that_build_programs():
    plain = dedent("""\
        from pinjected import design

        BASE = {"a": 1}
        __design__ = design(**BASE)
    """)
    result = migrate_source(plain, path="example.py", index=_index("example.py", plain, None), target="doeff")
    assert [f.code for f in result.flags] == [] and "__design__ = _dm_design(**BASE)\n" in result.code
    built = dedent("""\
        from pinjected import design, providers

        BASE = {"a": 1}
        __design__ = design(**BASE) + providers(b=lambda a: a + 1)
    """)
    result = migrate_source(built, path="example.py", index=_index("example.py", built, None), target="doeff")
    assert "DM115" in [f.code for f in result.flags] and "not with `--target doeff`" in result.code


def _migrate(files: dict[str, str], path: str):
    files = {p: dedent(s) for p, s in files.items()}
    return migrate_source(files[path], path=path, index=ProjectIndex.from_sources(files))


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def flagged(result, line_text: str) -> bool:
    """A ``# doeff-migrate: DM###`` comment sits right above the (unchanged) line."""
    lines = result.code.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == line_text.strip():
            above = lines[i - 1].strip() if i else ""
            return above.startswith("# doeff-migrate: DM")
    return False


def test_design_value_that_is_a_variable_holding_an_injected_function():
    # pinjected: 'P-v2:x'. A plain `fetcher(url)` call of the migrated function returns a Program.
    files = {
        "app/main.py": """
            from pinjected import IProxy, design, injected

            @injected
            def fetch_v2(prefix, /, url):
                return prefix + "v2:" + url

            @injected
            def page(fetcher, /, url):
                return fetcher(url)

            impl = fetch_v2
            main: IProxy = page("x")
            __design__ = design(fetcher=impl, prefix="P-")
        """
    }
    result = migrate(files, "app/main.py")
    assert "(yield fetcher(url))" in result.code or flagged(result, "def page(fetcher, /, url):") or any(
        f.code.startswith("DM1") for f in result.flags
    ), result.code


def test_design_value_through_a_module_alias_is_resolved():
    """``import app.helpers as h`` + ``design(fetcher=h.fetch_impl, conf=h.settings)``."""
    files = {
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

            main: IProxy = page("x")
            __design__ = design(fetcher=h.fetch_impl, prefix="P-", conf=h.settings)
        """,
    }
    result = _migrate(files, "app/main.py")
    assert "return (yield fetcher(url))" in result.code
    assert '__design__ = {"fetcher": h.fetch_impl, "prefix": "P-", "conf": h.settings()}' in result.code

"""Designs -> env dicts (codemod/transforms/designs.py)."""

from __future__ import annotations

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

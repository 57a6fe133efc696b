"""IProxy entry points and Injected combinators (codemod/transforms/entry_points.py)."""

from __future__ import annotations

from .tools import check_transformed

PRELUDE_BEFORE = """\
from pinjected import IProxy, Injected, injected, instance

@instance
def config():
    return {"k": 2}

@injected
def scale(config, /, x):
    return x * config["k"]
"""

PRELUDE_AFTER = """\
from doeff_migrate.runtime import Ask, Gather, Program, Spawn, do, function_binding, instance_binding

@instance_binding
@do
def config():
    return {"k": 2}

@function_binding
@do
def scale(x):
    config = yield Ask("config")
    return x * config["k"]
"""


def test_call_of_injected_function_with_plain_arguments_stays_a_program():
    check_transformed(
        PRELUDE_BEFORE + "\nmain: IProxy[int] = scale(3)\n",
        PRELUDE_AFTER.replace("Ask, Gather, Program, Spawn,", "Ask, Program,")
        + '\nmain: Program[int] = scale(3)\n\n__doeff_requires__ = {"main": ("config",)}\n',
    )


def test_instance_argument_is_lifted_into_a_do_function():
    check_transformed(
        PRELUDE_BEFORE + "\nmain: IProxy = scale(config)\n",
        PRELUDE_AFTER.replace("Ask, Gather, Program, Spawn,", "Ask,")
        + '\n@do\ndef main():\n    return (yield scale((yield config())))\n\n__doeff_requires__ = {"main": ("config",)}\n',
    )


def test_mzip_spawns_each_member_in_order_and_gathers():
    check_transformed(
        PRELUDE_BEFORE + "\npair = Injected.mzip(config, Injected.by_name(\"name\"))\n",
        PRELUDE_AFTER.replace("Gather, Program, Spawn,", "Gather, Spawn,")
        + '\n@do\ndef pair():\n    return tuple((yield Gather((yield Spawn(config())), (yield Spawn(Ask("name"))))))\n\n'
        + '__doeff_requires__ = {"pair": ("name",)}\n',
    )


def test_dict_and_list_combinators():
    check_transformed(
        PRELUDE_BEFORE + "\nboth = Injected.dict(a=scale(1), b=Injected.pure(5))\nitems = Injected.list(scale(1), scale(2))\n",
        PRELUDE_AFTER.replace("Gather, Program, Spawn,", "Gather, Pure, Spawn,")
        + '\n@do\ndef both():\n    return dict(zip(("a", "b"), (yield Gather((yield Spawn(scale(1))), (yield Spawn(Pure(5)))))))\n'
        + '\n@do\ndef items():\n    return list((yield Gather((yield Spawn(scale(1))), (yield Spawn(scale(2))))))\n\n'
        + '__doeff_requires__ = {"both": ("config",), "items": ("config",)}\n',
    )


def test_bind_with_rename_asks_the_mapped_key_and_ignores_defaults():
    check_transformed(
        'from pinjected import Injected\n\ntotal = Injected.bind(lambda a, b=1: a + b, b="offset")\n',
        'from doeff_migrate.runtime import Ask, do\n\n@do\ndef total():\n'
        '    return (lambda a, b=1: a + b)(a=(yield Ask("a")), b=(yield Ask("offset")))\n\n'
        '__doeff_requires__ = {"total": ("a", "offset")}\n',
    )


def test_operators_and_subscripts_on_proxies_are_evaluated_on_values():
    check_transformed(
        'from pinjected import IProxy, injected\n\nlabel: IProxy = injected("cfg")["name"] + "!"\n',
        'from doeff_migrate.runtime import Ask, do\n\n@do\ndef label():\n    return (yield Ask("cfg"))["name"] + "!"\n\n'
        '__doeff_requires__ = {"label": ("cfg",)}\n',
    )


def test_map_on_injected_applies_the_function_to_the_value():
    check_transformed(
        'from pinjected import Injected\n\nn = Injected.by_name("count").map(lambda c: c + 1)\n',
        'from doeff_migrate.runtime import Ask, do\n\n@do\ndef n():\n    return (lambda c: c + 1)((yield Ask("count")))\n\n'
        '__doeff_requires__ = {"n": ("count",)}\n',
    )


def test_procedure_runs_members_in_pinjecteds_nested_tuple_order_and_returns_the_last():
    check_transformed(
        PRELUDE_BEFORE + "\nsteps = Injected.procedure(scale(1), scale(2), scale(3))\n",
        PRELUDE_AFTER.replace("Gather, Program, Spawn,", "Gather, Spawn,")
        + '\n@do\ndef steps():\n    return (yield Gather((yield Spawn(scale(3))), (yield Spawn(scale(1))), (yield Spawn(scale(2)))))[0]\n\n'
        + '__doeff_requires__ = {"steps": ("config",)}\n',
    )


def test_members_with_deeper_dependencies_are_spawned_later_and_gathered_in_order():
    check_transformed(
        """\
        from pinjected import Injected, instance

        @instance
        def dataset(seed):
            return [seed]

        @instance
        def weights():
            return 0.5

        inputs = Injected.mzip(dataset, weights)
        """,
        """\
        from doeff_migrate.runtime import Ask, Gather, Spawn, do, instance_binding

        @instance_binding
        @do
        def dataset():
            seed = yield Ask("seed")
            return [seed]

        @instance_binding
        @do
        def weights():
            return 0.5

        @do
        def inputs():
            _task0 = yield Spawn(weights())
            _task1 = yield Spawn(dataset())
            return tuple((yield Gather(_task1, _task0)))

        __doeff_requires__ = {"dataset": ("seed",), "inputs": ("seed",)}
        """,
    )


def test_attribute_of_a_translated_literal_is_parenthesised():
    """``Injected.pure(1).proxy.real`` is ``1`` then ``.real``: ``(1).real`` (``1.real`` does not compile)."""
    check_transformed(
        """\
        from pinjected import IProxy, Injected

        main: IProxy = Injected.pure(1).proxy.real
        """,
        """\
        from doeff_migrate.runtime import do

        @do
        def main():
            return (1).real
        """,
    )

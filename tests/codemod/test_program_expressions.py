"""IProxy expressions the lifting cannot prove become Program expressions (transforms/program_expressions.py)."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

from .tools import check_transformed

BEFORE = """\
from pinjected import IProxy, Injected, injected, instance

@instance
def client():
    return object()

@injected
def train(k):
    return {"loss": k}
"""

AFTER = """\
from doeff_migrate.runtime import {imports}

@instance_binding
@do
def client():
    return object()

@function_binding
@do
def train(k):
    return {{"loss": k}}
"""


def check(before: str, after: str, imports: str, *, others: dict[str, str] | None = None) -> None:
    check_transformed(BEFORE + "\n" + before, AFTER.format(imports=imports) + "\n" + after, others=others)


def test_bound_async_method_awaited_explicitly():
    check(
        'main: IProxy = client.fetch("x").await__()\n',
        'main: Program = expr(client()).fetch("x").await__()\n',
        "Program, do, expr, function_binding, instance_binding",
    )


def test_method_on_the_result_of_an_injected_call():
    check(
        "x: IProxy = train(1).upper()\n",
        "x: Program = expr(train(1)).upper()\n",
        "Program, do, expr, function_binding, instance_binding",
    )


def test_programs_in_a_dict_stay_selectable_and_chainable():
    check(
        'runs = {k: train(k) for k in ("a", "b")}\npick: IProxy = runs["a"]["loss"]\n',
        'runs = {k: expr(train(k)) for k in ("a", "b")}\npick: Program = runs["a"]["loss"]\n',
        "Program, do, expr, function_binding, instance_binding",
    )


def test_proxy_of_an_instance_is_an_attribute_of_its_value():
    check(
        "p: IProxy = client.proxy\n",
        "p: Program = expr(client()).proxy\n",
        "Program, do, expr, function_binding, instance_binding",
    )


def test_partial_held_in_a_variable_keeps_proxy_as_the_injected_itself():
    check(
        'adder = Injected.partial(Injected.pure(len), Injected.by_name("xs"))\nn: IProxy = adder.proxy()\n',
        'adder = partial_of(pure_value(len), by_name("xs"))\nn: Program = expr(adder)()\n\n'
        '__doeff_requires__ = {"adder": ("xs",)}\n',
        "Program, by_name, do, expr, function_binding, instance_binding, partial_of, pure_value",
    )


def test_procedure_over_an_awaited_method_runs_members_in_pinjected_order():
    # procedure(a, b) is tuple(a, b)[1] in pinjected: gathered in that order, the last value taken.
    check(
        "pair = Injected.procedure(client.send().await__(), train(2))\n",
        "pair = list_of(expr(client()).send().await__(), train(2))[1]\n",
        "do, expr, function_binding, instance_binding, list_of",
    )


def test_bind_and_map_of_functions_defined_elsewhere_decide_at_run_time():
    check(
        'from app.util import a_double\nb = Injected.bind(a_double, x="xs")\nm = Injected.by_name("xs").map(a_double)\n',
        'from app.util import a_double\nb = bind(a_double, x="xs")\nm = map_value(by_name("xs"), a_double)\n\n'
        '__doeff_requires__ = {"m": ("xs",)}\n',
        "bind, by_name, do, function_binding, instance_binding, map_value",
        others={"app/util.py": "async def a_double(x):\n    return x * 2\n"},
    )


def test_entry_point_of_another_module_is_a_leaf_through_as_program():
    check(
        "from app.jobs import plain\nboth: IProxy = train(plain)\n",
        "from app.jobs import plain\n\n@do\ndef both():\n    return (yield train((yield as_program(plain))))\n",
        "as_program, do, function_binding, instance_binding",
        others={"app/__init__.py": "", "app/jobs.py": "from pinjected import IProxy, injected\n\n@injected\ndef g(x):\n    return x\n\nplain: IProxy = g(1)\n"},
    )


def test_annotated_value_without_proxies_only_changes_its_annotation():
    check(
        "RUNS = {}\nselected: IProxy = RUNS.get('a')\n",
        "RUNS = {}\nselected: Program = RUNS.get('a')\n",
        "Program, do, function_binding, instance_binding",
    )


def test_dict_of_injected_is_an_iproxy_so_items_are_lifted():
    # Injected.dict is built as an IProxy call on 0.2.252: ``[...]`` selects from the value.
    check(
        'd: IProxy = Injected.dict(a=train(1))["a"]\n',
        '@do\ndef d():\n    return dict(zip(("a",), (yield Gather((yield Spawn(train(1)))))))["a"]\n',
        "Gather, Spawn, do, function_binding, instance_binding",
    )


def test_expressions_over_migrated_bindings_are_left_alone_on_a_second_run():
    # A first run leaves ``client()`` (the migrated @instance's program) in flagged designs and
    # bridges; read again, it is not a pinjected call of the instance's value.
    from .tools import check_noop

    check_noop(
        """\
        from doeff_migrate.runtime import do, instance_binding

        @instance_binding
        @do
        def client():
            return object()

        clients = dict(client=client())
        first = client().fetch()
        """
    )


def test_proxies_built_in_loops_become_program_expressions():
    check(
        'RUNS = {}\nJOBS = []\nfor k in ("a", "b"):\n    RUNS[k] = train(k)["loss"]\n    JOBS.append(client.run(k))\n',
        'RUNS = {}\nJOBS = []\nfor k in ("a", "b"):\n    RUNS[k] = expr(train(k))["loss"]\n    JOBS.append(expr(client()).run(k))\n',
        "do, expr, function_binding, instance_binding",
    )


def test_target_doeff_flags_what_only_the_runtime_can_express():
    from .tools import _index, migrate_source

    source = BEFORE + '\nmain: IProxy = client.fetch("x")\nRUNS = {k: train(k)["loss"] for k in "ab"}\n'
    result = migrate_source(source, path="example.py", index=_index("example.py", source, None), target="doeff")
    assert "# doeff-migrate: DM108: IProxy expression with no doeff form" in result.code, result.code
    assert 'main: IProxy = client.fetch("x")\n' in result.code
    assert 'RUNS = {k: train(k)["loss"] for k in "ab"}\n' in result.code
    assert "expr(" not in result.code and "as_program" not in result.code.split("# doeff-migrate")[0]


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def test_bind_of_a_plain_function_whose_parameter_is_an_injected_function():
    # pinjected: 'P-3'. Plain code cannot yield the program the migrated `fetch` returns.
    files = {
        "app/main.py": """
            from pinjected import Injected, design, injected

            @injected
            def fetch(prefix, /, url):
                return prefix + url

            def compute(fetch, n):
                return fetch(str(n))

            total = Injected.bind(compute)
            __design__ = design(prefix="P-", n=3)
        """
    }
    result = migrate(files, "app/main.py")
    assert 'compute(fetch=(yield Ask("fetch"))' not in result.code, result.code


def test_by_name_of_an_injected_function_is_a_bound_callable():
    result = migrate({"app/main.py": """
        from pinjected import Injected, injected

        @injected
        def fetch(prefix, /, url):
            return prefix + url

        res = Injected.by_name("fetch").map(lambda f: f("z"))
        arg = fetch(injected("fetch"))
    """})
    assert "# doeff-migrate:" not in result.code, result.code
    assert 'return (lambda f: f("z"))((yield AskFunction("fetch")))' in result.code, result.code
    assert 'return (yield fetch((yield AskFunction("fetch"))))' in result.code, result.code


def test_map_of_a_function_defined_elsewhere_is_awaited_when_it_is_async_at_run_time():
    result = migrate({
        "app/util.py": "async def a_double(x):\n    return x * 2\n",
        "app/main.py": """
            from pinjected import Injected
            from app.util import a_double

            res = Injected.by_name("a").map(a_double)
            ok = Injected.by_name("a").map(str)
        """,
    })
    assert '\nres = map_value(by_name("a"), a_double)\n' in result.code, result.code
    assert "return str((yield Ask(\"a\")))" in result.code, result.code

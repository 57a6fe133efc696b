"""IProxy entry points and Injected combinators (codemod/transforms/entry_points.py)."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source

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


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def flag_above(code: str, line_text: str) -> list[str]:
    """The codes of the ``# doeff-migrate`` comments right above ``line_text`` (which must be unchanged)."""
    lines = code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == line_text.strip())
    codes = []
    i = at - 1
    while i >= 0 and lines[i].strip().startswith("@"):  # the flag sits above the decorators
        i -= 1
    while i >= 0 and lines[i].strip().startswith("# doeff-migrate: "):
        codes.append(lines[i].strip().split(":")[1].strip())
        i -= 1
    return codes


PROVIDERS = """\
    from pinjected import IProxy, Injected, design, injected, instance

    @injected
    def f(x):
        return x

    @instance
    def ckpt():
        return {"w": 1}

    CONFIG = {"x": 1}
"""


def _entry(before: str, after: str, imports: str) -> None:
    """The statements generated for ``before`` (after the providers), the runtime imports, idempotency."""
    source = dedent(PROVIDERS) + dedent(before)
    result = migrate({"app/main.py": source})
    code = result.code
    assert dedent(after) in code, "actual output:\n" + code
    assert f"from doeff_migrate.runtime import {imports}\n" in code, code
    again = migrate({"app/main.py": code})
    assert again.code == code, "a second run must change nothing"


def test_injected_function_passed_as_an_argument_of_an_entry_point():
    # pinjected resolves the Injected argument first: apply gets a callable returning 'P-u'.
    files = {
        "app/main.py": """
            from pinjected import IProxy, design, injected

            @injected
            def fetch(prefix, /, url):
                return prefix + url

            @injected
            def apply(fn, x):
                return fn(x)

            main: IProxy = apply(fetch, "u")
            __design__ = design(prefix="P-")
        """
    }
    result = migrate(files, "app/main.py")
    assert "main: Program = apply(fetch," not in result.code, result.code


def test_entry_point_calling_a_flagged_function_stays_pinjected():
    files = {
        "app/main.py": """
            import asyncio
            from pinjected import IProxy, injected

            @injected
            async def fetch(client, /, url):
                return client + url

            @injected
            async def crawl(fetch, /, urls):
                return await asyncio.gather(*[fetch(u) for u in urls])

            main: IProxy = crawl(["a", "b"])
        """
    }
    result = migrate(files, "app/main.py")
    if "async def crawl" in result.code:  # crawl was left as pinjected (flagged)
        assert "main: Program = crawl(" not in result.code, result.code


def test_a_leaf_used_twice_in_one_expression_is_resolved_once():
    _entry(
        """\
        pair: IProxy = f(ckpt) + f(ckpt)
        once: IProxy = f(ckpt) + 1
        """,
        """\
        @do
        def pair():
            return (yield f((_ckpt_value := (yield ckpt())))) + (yield f(_ckpt_value))

        @do
        def once():
            return (yield f((yield ckpt()))) + 1
        """,
        "do, function_binding, instance_binding",
    )


def test_plain_sub_expressions_of_a_lifted_entry_point_are_evaluated_at_import():
    _entry(
        """\
        main: IProxy = f(1) + CONFIG["x"] + len([1]) + 2
        zipped = Injected.mzip(f(2), Injected.pure(CONFIG["x"]))
        """,
        """\
        _main_arg1 = CONFIG["x"]
        _main_arg2 = len([1])
        @do
        def main():
            return (yield f(1)) + _main_arg1 + _main_arg2 + 2

        _zipped_arg1 = CONFIG["x"]
        @do
        def zipped():
            return tuple((yield Gather((yield Spawn(f(2))), (yield Spawn(Pure(_zipped_arg1))))))
        """,
        "Gather, Pure, Spawn, do, function_binding, instance_binding",
    )


def test_leaves_inside_a_subscript_index_are_yielded():
    _entry(
        """\
        idx: IProxy = f([10, 20])[f(1)]
        """,
        """\

        @do
        def idx():
            return (yield f([10, 20]))[(yield f(1))]
        """,
        "do, function_binding, instance_binding",
    )


def test_a_leaf_in_slice_bounds_is_flagged_as_pinjected_cannot_resolve_it():
    result = migrate({"app/main.py": dedent(PROVIDERS) + "sliced: IProxy = f([1, 2, 3])[f(0):f(2)]\n"})
    assert flag_above(result.code, "sliced: IProxy = f([1, 2, 3])[f(0):f(2)]") == ["DM108"]


def test_proxy_of_an_injected_is_the_injected_itself():
    _entry(
        """\
        a_plus: IProxy = Injected.by_name("a").proxy + 1
        pure_times: IProxy = Injected.pure(3).proxy * 2
        """,
        """\

        @do
        def a_plus():
            return (yield Ask("a")) + 1

        @do
        def pure_times():
            return 3 * 2

        __doeff_requires__ = {"a_plus": ("a",)}
        """,
        "Ask, do, function_binding, instance_binding",
    )


def test_proxy_of_anything_else_is_an_attribute_of_the_value():
    result = migrate({"app/main.py": dedent(PROVIDERS) + "p: IProxy = ckpt.proxy + 1\n"})
    assert "\np: Program = expr(ckpt()).proxy + 1\n" in result.code, result.code


def test_an_entry_point_of_another_module_in_an_expression_is_flagged_dm136():
    result = migrate({
        "app/jobs.py": """
            from pinjected import IProxy, injected

            @injected
            def greet(name):
                return "hi " + name

            plain: IProxy = greet("bob")
        """,
        "app/main.py": """
            from pinjected import IProxy, injected
            from app.jobs import plain

            @injected
            def pair(a, b):
                return [a, b]

            main: IProxy = pair(plain, 1)
            later: IProxy = pair(main, 2)
        """,
    })
    # The other module's entry point is a program or a lifted @do function: as_program runs either.
    assert "return (yield pair((yield as_program(plain)), 1))" in result.code, result.code
    assert "return (yield pair((yield main()), 2))" in result.code, result.code


def test_eager_build_order_puts_leaves_before_their_dependants_on_ties():
    """``leaf, other`` (no dependencies) before ``mid_a``, as pinjected's concurrent resolution."""
    index = ProjectIndex.from_sources({"app/__init__.py": "", "app/main.py": dedent("""\
        from pinjected import IProxy, design, injected, instance

        @instance
        def leaf():
            return 1

        @instance
        def mid_a(leaf):
            return leaf + 1

        @instance
        def mid_b(leaf, other):
            return leaf + other

        @instance
        def other():
            return 5

        @instance
        def top(mid_a, mid_b):
            return mid_a + mid_b

        @injected
        def use(top, helper, /, x):
            return helper(x) + top

        @injected
        def helper(mid_a, zed, /, x):
            return mid_a * x + zed

        main: IProxy = use(3)
        __design__ = design(zed=100)
    """)})
    order = index.requires("app.main", "main")
    assert order.index("other") < order.index("mid_a") and order.index("leaf") < order.index("mid_a")
    assert order.index("mid_b") < order.index("top")


def test_a_leaf_handed_to_a_parameter_annotated_injected_is_not_built_up_front():
    """pinjected hands such an argument over unevaluated: the runner's eager build leaves it out, whether it
    is given by position or by keyword, in this module's callee or an imported one."""
    index = ProjectIndex.from_sources({"app/__init__.py": "", "app/lib.py": dedent("""\
        from pinjected import Injected, injected

        @injected
        def describe(tokenizer, /, x: Injected, label="", y: Injected = None):
            return x, label, y
    """), "app/main.py": dedent("""\
        from pinjected import IProxy, injected, instance
        from app.lib import describe

        @instance
        def model():
            return "m"

        @instance
        def vocab():
            return "v"

        @injected
        def show(x):
            return x

        main: IProxy = describe(injected("model"), show(vocab), y=model)
        both: IProxy = show(describe(injected("model"), injected("vocab")))
    """)})
    assert index.requires("app.main", "main") == ("tokenizer",)
    assert set(index.requires("app.main", "both")) == {"tokenizer", "vocab"}

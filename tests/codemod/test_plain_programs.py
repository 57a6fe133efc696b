"""Plain functions building ``Injected`` values build runtime programs (codemod/transforms/plain_programs.py)."""

from __future__ import annotations

from doeff_migrate.codemod.api import ProjectIndex, migrate_source
from doeff_migrate.runtime import Expr, Program, ensure_injected, function_binding, instance_binding, do, run

from .tools import check_noop, check_transformed


def test_combinators_in_a_decorator_factory_become_runtime_calls():
    check_transformed(
        """\
        from pinjected import Injected

        def provide(cache, func, key):
            return (cache, func, key)

        def cached(cache, *keys):
            key = Injected.mzip(*[Injected.ensure_injected(k) for k in keys])

            def _impl(func):
                assert isinstance(func, Injected)
                return Injected.bind(provide, cache=cache, func=func, key=key)

            return _impl
        """,
        """\
        from doeff_migrate.runtime import bind, ensure_injected, mzip
        from doeff_migrate.runtime.pinjected_types import Injected

        def provide(cache, func, key):
            return (cache, func, key)

        def cached(cache, *keys):
            key = mzip(*[ensure_injected(k) for k in keys])

            def _impl(func):
                assert isinstance(func, Injected)
                return bind(provide, cache=cache, func=func, key=key)

            return _impl
        """,
    )


def test_keys_pure_values_lists_and_dicts():
    check_transformed(
        """\
        from pinjected import Injected, injected

        def parts(extra):
            return Injected.list(injected("a"), Injected.by_name("b")), Injected.dict(c=Injected.pure(extra), **{})
        """,
        """\
        from doeff_migrate.runtime import by_name, dict_of, list_of, pure_value

        def parts(extra):
            return list_of(by_name("a"), by_name("b")), dict_of(c=pure_value(extra), **{})
        """,
    )


def test_injected_argument_to_a_plain_callee_of_the_module_is_translated():
    check_transformed(
        """\
        from pinjected import Injected

        def gather(*items):
            return Injected.mzip(*items)

        def parts():
            return gather(Injected.by_name("a"), Injected.pure(1))
        """,
        """\
        from doeff_migrate.runtime import by_name, mzip, pure_value

        def gather(*items):
            return mzip(*items)

        def parts():
            return gather(by_name("a"), pure_value(1))
        """,
    )


def _flags(source: str) -> list[tuple[str, str]]:
    """(code, line below the flag) of each flag in the migrated ``source``."""
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}))
    lines = result.code.splitlines()
    return [(line.split(":")[1].strip(), lines[i + 1].strip()) for i, line in enumerate(lines) if "doeff-migrate: DM" in line]


def test_a_member_with_no_counterpart_leaves_the_whole_function_flagged():
    # ``.proxy`` / ``.add_dynamic_dependencies`` / ``Injected.procedure`` have no counterpart: the function
    # keeps pinjected's calls (none half-translated), the nested one included.
    source = (
        "from pinjected import Injected\n\n"
        "def pickled(x):\n"
        "    x = Injected.ensure_injected(x)\n"
        "    def _impl(y):\n"
        "        return Injected.bind(y)\n"
        "    return Injected.bind(_impl).add_dynamic_dependencies('k').proxy\n\n"
        "def steps(a, b):\n"
        "    return Injected.procedure(a, b)\n"
    )
    flags = _flags(source)
    assert flags == [("DM135", "def pickled(x):"), ("DM135", "def _impl(y):"), ("DM135", "def steps(a, b):")]
    migrated = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source})).code
    assert "Injected.ensure_injected(x)" in migrated and "ensure_injected(" not in migrated.replace("Injected.ensure_injected(", "")


def test_injected_argument_to_an_injected_function_stays_flagged():
    # pinjected resolves ``Injected.by_name("alt")`` before calling ``train`` (checked on 0.2.252);
    # the migrated ``train`` would get the program itself.
    flags = _flags(
        "from pinjected import Injected, injected\n\n"
        "@injected\ndef train(lr, /, epochs):\n    return lr, epochs\n\n"
        "def job():\n    return train(Injected.by_name('alt'))\n"
    )
    assert flags == [("DM135", "def job():")]


def test_plain_callee_left_with_pinjected_api_gets_no_translated_values():
    flags = _flags(
        "from pinjected import Injected\n\n"
        "def wrap(x):\n    return Injected.bind(x).proxy\n\n"
        "def make():\n    return wrap(Injected.pure(1))\n"
    )
    assert flags == [("DM135", "def wrap(x):"), ("DM135", "def make():")]


def test_plain_code_without_pinjected_calls_is_unchanged():
    check_noop(
        """\
        def injected_count(items):
            return len(items)
        """
    )


def test_doeff_target_keeps_the_flag():
    # The combinators are the bundled runtime's; doeff has no counterpart of them.
    source = "from pinjected import Injected\n\ndef lazy(x):\n    return Injected.pure(x)\n"
    result = migrate_source(source, path="example.py", index=ProjectIndex.from_sources({"example.py": source}), target="doeff")
    assert [f.code for f in result.flags] == ["DM135"]


# -- runtime counterpart ---------------------------------------------------------------------------


def test_ensure_injected_follows_pinjected():
    @instance_binding
    @do
    def conn():
        return {"host": (yield from _ask("host"))}

    @function_binding
    @do
    def greet(name):
        return name

    env = {"host": "db", "k": 3, "a": 1}
    assert run(ensure_injected("k"), env=env) == 3
    program = ensure_injected(Expr(("leaf", 5)))
    assert run(ensure_injected(program), env=env) == 5
    assert run(ensure_injected(conn), env=env) == {"host": "db"}
    greet_bound = run(ensure_injected(greet), env=env)
    assert greet_bound is not greet and greet_bound.__name__ == "greet"  # a plain callable bound to the run
    assert run(ensure_injected(lambda a: a + 1), env=env) == 2
    assert isinstance(ensure_injected("k"), Program)
    try:
        ensure_injected(5)
    except RuntimeError as error:
        assert "not an injected object" in str(error)
    else:
        raise AssertionError("ensure_injected(5) must fail as in pinjected")


def _ask(key):
    from doeff_migrate.runtime import Ask

    return (yield Ask(key))


def test_underscored_mapping_keys_are_translated_but_attributes_set_on_built_values_are_not():
    # ``_deps`` is a key of bind's mapping (only ``_dynamic_dependencies_`` is bind's own); a program
    # takes no attributes, where pinjected's value takes any.
    check_transformed(
        """\
        from pinjected import Injected

        def wired(f, *deps):
            return Injected.bind(f, _deps=Injected.mzip(*deps))
        """,
        """\
        from doeff_migrate.runtime import bind, mzip

        def wired(f, *deps):
            return bind(f, _deps=mzip(*deps))
        """,
    )
    flags = _flags(
        "from pinjected import Injected\n\n"
        "def marked(f):\n    res = Injected.bind(f)\n    res.label = 'x'\n    return res\n"
    )
    assert flags == [("DM135", "def marked(f):")]


def test_pinjected_async_mark_on_a_built_value_is_kept():
    # ``__is_async_function__`` is pinjected's own mark (calls of the value are awaited); the
    # runtime's ``Expr`` keeps it with the same meaning.
    check_transformed(
        """\
        from pinjected import Injected

        def marked(f):
            res = Injected.bind(f)
            res.__is_async_function__ = True
            return res
        """,
        """\
        from doeff_migrate.runtime import bind

        def marked(f):
            res = bind(f)
            res.__is_async_function__ = True
            return res
        """,
    )


def test_caller_of_a_flagged_helper_stays_flagged():
    # ``ensure(i)`` returns pinjected's value (``.add_dynamic_dependencies`` has no counterpart):
    # mzip-ing it with the runtime's would mix both.
    flags = _flags(
        "from pinjected import Injected\n\n"
        "def ensure(i):\n    return Injected.ensure_injected(i).add_dynamic_dependencies('k')\n\n"
        "def keys(*items):\n    return Injected.mzip(*[ensure(i) for i in items])\n"
    )
    assert flags == [("DM135", "def ensure(i):"), ("DM135", "def keys(*items):")]


def test_module_alias_and_a_module_name_taken_by_the_counterpart():
    # The module defines its own ``ensure_injected``: the runtime's is imported under an alias.
    check_transformed(
        """\
        import pinjected as pj

        def ensure_injected(x):
            return x

        def keyed(k):
            return pj.Injected.ensure_injected(ensure_injected(k))
        """,
        """\
        from doeff_migrate.runtime import ensure_injected as _dm_ensure_injected

        def ensure_injected(x):
            return x

        def keyed(k):
            return _dm_ensure_injected(ensure_injected(k))
        """,
    )

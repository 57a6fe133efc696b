"""Class injection -> the runtime's class constructor (codemod/transforms/classes.py)."""

from __future__ import annotations

from doeff_migrate.codemod.api import ProjectIndex

from .tools import check_noop, check_transformed


def test_injected_dataclass_becomes_class_binding_and_its_body_stays():
    check_transformed(
        """\
        from dataclasses import dataclass
        from typing import Callable
        from pinjected import injected

        @injected
        @dataclass
        class Builder:
            _compile: Callable
            tag: str

            def build(self):
                return self._compile(self.tag)
        """,
        """\
        from dataclasses import dataclass
        from typing import Callable
        from doeff_migrate.runtime.classes import class_binding

        @class_binding
        @dataclass
        class Builder:
            _compile: Callable
            tag: str

            def build(self):
                return self._compile(self.tag)
        """,
    )


def test_async_dependencies_of_a_class_are_listed_as_awaited():
    check_transformed(
        """\
        from dataclasses import dataclass
        from pinjected import injected

        @injected
        async def a_fetch(base, /, path):
            return base + path

        @injected
        def render(x):
            return str(x)

        @injected
        @dataclass
        class Client:
            _a_fetch: object
            _render: object
            name: str

            async def get(self):
                return self._render(await self._a_fetch(self.name))
        """,
        """\
        from dataclasses import dataclass
        from doeff_migrate.runtime import Ask, do, function_binding
        from doeff_migrate.runtime.classes import class_binding

        @function_binding
        @do
        def a_fetch(path):
            base = yield Ask("base")
            return base + path

        @function_binding
        @do
        def render(x):
            return str(x)

        @class_binding(awaited=("a_fetch",))
        @dataclass
        class Client:
            _a_fetch: object
            _render: object
            name: str

            async def get(self):
                return self._render(await self._a_fetch(self.name))
        """,
    )


def test_injected_with_protocol_on_a_class_drops_the_protocol():
    check_transformed(
        """\
        from pinjected import injected

        @injected(protocol=object)
        class Greeter:
            def __init__(self, greeting, /, name):
                self.text = greeting + name
        """,
        """\
        from doeff_migrate.runtime.classes import class_binding

        @class_binding
        class Greeter:
            def __init__(self, greeting, /, name):
                self.text = greeting + name
        """,
    )


def test_injected_of_a_class_in_a_design_becomes_class_constructor():
    check_transformed(
        """\
        from pinjected import design, injected

        class Store:
            def __init__(self, root, /, name):
                self.path = root + name

        __design__ = design(root="/tmp/", new_Store=injected(Store))
        """,
        """\
        from doeff_migrate.runtime.classes import class_constructor

        class Store:
            def __init__(self, root, /, name):
                self.path = root + name

        __design__ = {"root": "/tmp/", "new_Store": class_constructor(Store)}
        """,
    )


def test_injected_of_a_plain_function_becomes_injected_function_and_its_call_an_entry_point():
    check_transformed(
        """\
        from pinjected import IProxy, injected

        def shout(text):
            return text.upper()

        run: IProxy = injected(shout)("hi")
        """,
        """\
        from doeff_migrate.runtime import Program
        from doeff_migrate.runtime.classes import injected_function

        def shout(text):
            return text.upper()

        run: Program = injected_function(shout)("hi")
        """,
    )


def test_injected_of_a_value_held_in_a_variable_is_decided_at_run_time():
    # A key, a class or a migrated injected function: ``injected_of`` (runtime/decoration.py).
    check_transformed(
        """\
        from pinjected import injected

        def pick(key):
            return injected(key)
        """,
        """\
        from doeff_migrate.runtime import injected_of

        def pick(key):
            return injected_of(key)
        """,
    )


def test_index_binds_new_class_with_the_constructor_dependencies():
    index = ProjectIndex.from_sources({
        "app/models.py": (
            "from dataclasses import dataclass\n"
            "from pinjected import design, injected\n"
            "@injected\n@dataclass\nclass Ctx:\n    _fetch: object\n    __resolver__: object\n    label: str\n"
            "class Plain:\n    def __init__(self, root, /, name, _log, *, tag='t'):\n        pass\n"
            "__design__ = design(new_Plain=injected(Plain))\n"
        ),
    })
    (ctx,) = index.providers_for_key("new_Ctx")
    assert ctx.deps == ("fetch", "__resolver__")
    (plain,) = index.providers_for_key("new_Plain")
    assert plain.deps == ("root", "log")
    assert index.key_kind("new_Plain") == "value"  # asked for, then called as a plain constructor


def test_migrated_classes_are_left_alone():
    check_noop(
        """\
        from dataclasses import dataclass
        from doeff_migrate.runtime.classes import class_binding, class_constructor

        @class_binding(awaited=("a_fetch",))
        @dataclass
        class Client:
            _a_fetch: object

        __design__ = {"new_Other": class_constructor(Client)}
        """
    )


def test_injected_class_called_right_away_builds_an_instance_program():
    check_transformed(
        """\
        from pinjected import IProxy, injected

        class Store:
            def __init__(self, root, /, name):
                self.path = root + name

        store: IProxy = injected(Store)("db")
        """,
        """\
        from doeff_migrate.runtime import Program
        from doeff_migrate.runtime.classes import injected_function

        class Store:
            def __init__(self, root, /, name):
                self.path = root + name

        store: Program = injected_function(Store)("db")
        """,
    )


def test_injected_of_a_plain_function_used_as_a_value_stays_flagged():
    check_transformed(
        """\
        from pinjected import design, injected

        def shout(text):
            return text.upper()

        __design__ = design(loud=injected(shout))
        """,
        """\
        from pinjected import design, injected

        def shout(text):
            return text.upper()

        # doeff-migrate: DM115: design expression the codemod cannot migrate: `injected(...)` of a class or function has no runtime design counterpart
        # doeff-migrate: DM103: `injected(...)` of a value the codemod cannot classify (a key held in a variable, an expression): port it by hand
        __design__ = design(loud=injected(shout))
        """,
    )

"""Class injection runs the same under pinjected and, migrated, with pinjected unimportable.

Each project is run with ``python -m pinjected run`` semantics and with the runtime's runner (strict:
importing pinjected fails in the child process); results and stdout must be identical.
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

DATACLASS_SYNC = {
    "app/__init__.py": "",
    "app/main.py": """\
        from dataclasses import dataclass
        from typing import Callable
        from pinjected import IProxy, design, injected, instance

        @injected
        def compile_step(prefix, /, text):
            print("compile", text)
            return prefix + text

        @injected
        @dataclass
        class Builder:
            _compile_step: Callable
            tag: str

            def build(self, parts):
                return [self._compile_step(f"{self.tag}:{p}") for p in parts]

        @instance
        def prefix():
            print("prefix built")
            return ">"

        @injected
        def make(new_Builder, /, n):
            b = new_Builder("t")
            return b.build(range(n))

        run: IProxy = make(3)
    """,
}

DATACLASS_ASYNC = {
    "app/__init__.py": "",
    "app/main.py": """\
        import asyncio
        from dataclasses import dataclass
        from typing import Callable
        from pinjected import IProxy, injected, instance

        @injected
        async def a_fetch(base, /, path):
            await asyncio.sleep(0)
            print("fetch", path)
            return base + path

        @injected
        def render(x):
            return f"<{x}>"

        @instance
        def base():
            return "http://h/"

        @injected
        @dataclass
        class Client:
            _a_fetch: Callable
            _render: Callable
            name: str

            async def get(self, path):
                return self._render(await self._a_fetch(self.name + path))

        @injected
        async def a_main(new_Client, /, paths):
            client = new_Client("svc")
            out = []
            for p in paths:
                out.append(await client.get(p))
            return out

        run: IProxy = a_main(["/a", "/b"])
    """,
}

PLAIN_CLASS_IN_DESIGN = {
    "app/__init__.py": """\
        from pinjected import design
        __design__ = design(root="/data/", suffix="!")
    """,
    "app/store.py": """\
        from pinjected import IProxy, design, injected

        @injected
        def decorate(suffix, /, text):
            return text + suffix

        class Store:
            def __init__(self, root, /, name, _decorate, *, mode="r"):
                self.root, self.name, self.decorate, self.mode = root, name, _decorate, mode

            def describe(self):
                return [self.root + self.name, self.decorate(self.mode)]

        __design__ = design(new_Store=injected(Store))

        @injected
        def open_all(new_Store, /, names):
            return [new_Store(n, mode="w").describe() for n in names] + [new_Store("x").describe()]

        run: IProxy = open_all(["a", "b"])
    """,
}

SHARED_SINGLETON = {
    "app/__init__.py": "",
    "app/main.py": """\
        from dataclasses import dataclass
        from pinjected import IProxy, injected, instance

        @instance
        def counter():
            print("counter built")
            return {"n": 0}

        @injected
        def bump(counter, /, by):
            counter["n"] += by
            return counter["n"]

        @injected
        @dataclass
        class Tally:
            _bump: object
            _counter: dict
            step: int

            def tick(self):
                return self._bump(self.step)

        @injected
        def use(new_Tally, counter, /):
            t = new_Tally(2)
            first, second = t.tick(), t.tick()
            return [first, second, counter["n"], t._counter is counter]

        run: IProxy = use()
    """,
}

CONSTRUCTED_AT_MODULE_LEVEL = {
    "app/__init__.py": "",
    "app/main.py": """\
        from pinjected import IProxy, design, injected

        class Greeter:
            def __init__(self, greeting, /, name):
                self.text = f"{greeting}, {name}"

        new_greeter = injected(Greeter)  # binds new_Greeter, as pinjected does once this runs

        @injected
        def greet_all(new_Greeter, /, names):
            return [new_Greeter(n).text for n in names]

        __design__ = design(greeting="hello")
        run: IProxy = greet_all(["a", "b"])
    """,
}

NESTED_CONSTRUCTORS = {
    "app/__init__.py": "",
    "app/main.py": """\
        from dataclasses import dataclass
        from pinjected import IProxy, injected, instance

        @injected
        def scale(factor, /, x):
            return x * factor

        @instance
        def factor():
            print("factor built")
            return 10

        @injected
        @dataclass
        class Inner:
            _scale: object
            x: int

            def value(self):
                return self._scale(self.x)

        @injected
        @dataclass
        class Outer:
            _new_Inner: object
            xs: list

            def values(self):
                return [self._new_Inner(x).value() for x in self.xs]

        @injected
        def main(new_Outer, /):
            return new_Outer([1, 2, 3]).values()

        run: IProxy = main()
    """,
}

INJECTED_PLAIN_FUNCTION = {
    "app/__init__.py": "",
    "app/main.py": """\
        import asyncio
        from pinjected import IProxy, injected

        def load(name):
            print("load", name)
            return {"name": name, "size": len(name)}

        def describe(item, unit):
            return f"{item['name']}={item['size']}{unit}"

        async def a_double(x):
            await asyncio.sleep(0)
            return x * 2

        sample = injected(load)("weights")
        run: IProxy = injected(describe)(sample, "B")
        doubled: IProxy = injected(a_double)(21)
    """,
}

CLASS_CALLED_AT_MODULE_LEVEL = {
    "app/__init__.py": "",
    "app/main.py": """\
        from pinjected import IProxy, design, injected, instance

        @injected
        def label(prefix, /, text):
            return prefix + text

        @instance
        def prefix():
            print("prefix built")
            return "#"

        class Report:
            def __init__(self, _label, /, title):
                self.label, self.title = _label, title

            def render(self):
                return self.label(self.title)

        @injected
        def publish(report, /, suffix):
            return report.render().upper() + suffix

        __design__ = design(report=injected(Report)("daily"))
        published: IProxy = publish("!")
    """,
}

INHERITED_CONSTRUCTOR = {
    "app/__init__.py": """\
        from pinjected import design
        __design__ = design(greeting="hello")
    """,
    "app/main.py": """\
        from pinjected import IProxy, injected

        class Base:
            def __init__(self, greeting, /, name, *extra):
                self.text = " ".join([greeting, name, *extra])

        @injected
        class Child(Base):
            def shout(self):
                return self.text.upper()

        @injected
        def main(new_Child, /):
            return [new_Child("bob").shout(), new_Child("ann", "and", "co").shout()]

        run: IProxy = main()
    """,
}

INJECTED_FUNCTION_WITH_DEPENDENCIES = {
    "app/__init__.py": """\
        from pinjected import design
        __design__ = design(unit="kg")
    """,
    "app/main.py": """\
        from pinjected import IProxy, injected

        def weigh(unit, /, x, _scale=None):
            return f"{x * _scale}{unit}"

        def scale():
            return 3

        from pinjected import design
        __design__ = design(scale=4)
        run: IProxy = injected(weigh)(5)
    """,
}


@pytest.mark.parametrize(
    "files,targets",
    [
        pytest.param(DATACLASS_SYNC, ["app.main.run"], id="dataclass-sync"),
        pytest.param(DATACLASS_ASYNC, ["app.main.run"], id="dataclass-async"),
        pytest.param(PLAIN_CLASS_IN_DESIGN, ["app.store.run"], id="plain-class-in-design"),
        pytest.param(SHARED_SINGLETON, ["app.main.run"], id="shared-singleton"),
        pytest.param(CONSTRUCTED_AT_MODULE_LEVEL, ["app.main.run"], id="constructed-at-module-level"),
        pytest.param(NESTED_CONSTRUCTORS, ["app.main.run"], id="nested-constructors"),
        pytest.param(INJECTED_PLAIN_FUNCTION, ["app.main.run", "app.main.doubled"], id="injected-plain-function"),
        pytest.param(CLASS_CALLED_AT_MODULE_LEVEL, ["app.main.published"], id="class-called-in-a-design"),
        pytest.param(INHERITED_CONSTRUCTOR, ["app.main.run"], id="inherited-constructor-with-varargs"),
        pytest.param(INJECTED_FUNCTION_WITH_DEPENDENCIES, ["app.main.run"], id="injected-function-with-dependencies"),
    ],
)
def test_class_injection_behaves_as_under_pinjected(tmp_path, files, targets):
    assert_same_behaviour(tmp_path, files, targets)

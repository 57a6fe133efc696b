"""Injected functions (sync and async) used as values behave as under real pinjected (strict runs).

pinjected resolves the IProxy of an ``@injected`` function used as a value (an argument of
``Injected.partial``, of a plain function, of a decorator applied by hand) to the function with its
dependencies bound, whatever a design binds to its key; the migrated code builds the same callable
with ``bound_dependency(f)`` inside a Program expression. Each project is run with pinjected 0.2.252
and, migrated, with pinjected unimportable (harness.assert_same_behaviour).
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

GREET = """\
from pinjected import IProxy, Injected, design, injected


@injected
def greet(prefix, /, name: str, punct: str = "!"):
    print("greet", name)
    return f"{prefix} {name}{punct}"
"""

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "partial_of_an_injected_function_called": ({**INIT, "app/main.py": GREET + """
shout = Injected.partial(greet, punct="!!!")
main: IProxy = shout("amy")
twice: IProxy = shout("bob") + shout("cy")
__design__ = design(prefix="hi")
"""}, ["app.main.main", "app.main.twice"]),
    "design_rebinding_the_key_does_not_change_the_value": ({**INIT, "app/main.py": GREET + """
shout = Injected.partial(greet, punct="?")
main: IProxy = shout("amy")
__design__ = design(prefix="hey", greet=lambda name, punct="!": "rebound")
"""}, ["app.main.main"]),
    "injected_function_handed_to_a_plain_decorator": ({**INIT, "app/main.py": GREET + """

def logged(fn):
    def wrapper(*args, **kwargs):
        print("calling with", args)
        return fn(*args, **kwargs).upper()
    return wrapper


logged_greet = Injected.partial(greet).map(logged).proxy
main: IProxy = logged_greet("dee")
__design__ = design(prefix="yo")
"""}, ["app.main.main"]),
    "partial_with_positional_and_injected_arguments": ({**INIT, "app/main.py": GREET + """

@injected
def suffix(mark, /):
    return mark * 2


greet_amy = Injected.partial(greet, "amy")
main: IProxy = greet_amy(punct=suffix())
__design__ = design(prefix="hello", mark="~")
"""}, ["app.main.main"]),
    "bound_callable_used_by_another_injected_function": ({**INIT, "app/main.py": GREET + """

@injected
def greet_all(prefix, /, fn, names):
    print("greet_all with", prefix)
    return [fn(n) for n in names]


shout = Injected.partial(greet, punct="!!")
main: IProxy = greet_all(shout, ["a", "b"])
__design__ = design(prefix="hi")
"""}, ["app.main.main"]),
    "injected_function_passed_directly_to_an_injected_call": ({**INIT, "app/main.py": GREET + """

@injected
def apply_twice(fn, /, value):
    return fn(fn(value, punct="?"), punct="!")


@injected
def call_with(prefix, /, fn, name):
    print("call_with", prefix)
    return fn(name)


main: IProxy = call_with(greet, "zed")
__design__ = design(prefix="hi", fn=lambda v, punct: v + punct)
"""}, ["app.main.main"]),
    "dependency_of_the_passed_function_is_an_instance": ({**INIT, "app/main.py": """\
from pinjected import IProxy, Injected, design, injected, instance


@instance
def counter():
    print("build counter")
    return {"n": 0}


@injected
def tick(counter, /, step: int):
    counter["n"] += step
    return counter["n"]


ticker = Injected.partial(tick)
main: IProxy = ticker(2) + ticker(3)
__design__ = design()
"""}, ["app.main.main"]),
    "passed_function_imported_from_another_module": ({**INIT, "app/greeting.py": GREET, "app/main.py": """\
from pinjected import IProxy, Injected, design
from app.greeting import greet

polite = Injected.partial(greet, punct=".")
main: IProxy = polite("eve")
__design__ = design(prefix="dear")
"""}, ["app.main.main"]),
    "partial_of_an_async_injected_function_is_awaited_when_called": ({**INIT, "app/main.py": """\
from pinjected import IProxy, Injected, design, injected


@injected
async def a_ask(model_prefix, /, prompt: str, model: str = "base"):
    return f"{model_prefix}:{model}:{prompt}"


a_ask_big = Injected.partial(a_ask, model="big")
main: IProxy = a_ask_big("hello")
both: IProxy = Injected.mzip(a_ask_big("a"), a_ask_big("b"))
__design__ = design(model_prefix="m")
"""}, ["app.main.main", "app.main.both"]),
    "async_partial_imported_from_another_module": ({**INIT, "app/llm.py": """\
from pinjected import Injected, injected


@injected
async def a_llm(api_key, /, prompt: str, model: str):
    return f"{api_key}/{model}: {prompt}"


a_llm__small = Injected.partial(a_llm, model="small")
""", "app/main.py": """\
from pinjected import IProxy, design
from app.llm import a_llm__small

main: IProxy = a_llm__small("hi there")
__design__ = design(api_key="k1")
"""}, ["app.main.main"]),
}


def test_there_are_at_least_6_projects():
    assert len(PROJECTS) >= 6


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_injected_function_as_value_behaves_like_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)

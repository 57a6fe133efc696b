"""runtime/expressions.py: Program expressions with IProxy's operators, run on the runtime."""

from __future__ import annotations

import asyncio

import pytest

from doeff_migrate.runtime import Ask, do, run
from doeff_migrate.runtime.expressions import (
    as_program,
    bind,
    by_name,
    dict_of,
    expr,
    list_of,
    map_value,
    mzip,
    partial_of,
    procedure,
    pure_value,
)

LOG: list[str] = []


@do
def fit(n):
    LOG.append(f"fit {n}")
    return {"history": [n, n * 2], "name": "m"}


class Client:
    value = 5

    async def send(self, x):
        await asyncio.sleep(0)
        return x + self.value

    def add(self, x):
        return x + self.value


@pytest.fixture(autouse=True)
def _clear_log():
    LOG.clear()


def test_items_slices_attributes_and_calls():
    assert run(expr(fit(3))["history"][-1]) == 6
    assert run(expr(fit(3))["history"][0:1]) == [3]
    assert run(expr(fit(2))["name"].upper()) == "M"
    assert run(by_name("c").add(1), env={"c": Client()}) == 6


def test_await_of_a_bound_async_method():
    assert run(by_name("c").send(1).await__(), env={"c": Client()}) == 6


def test_operators_are_exactly_iproxys():
    assert run(by_name("a") + by_name("b") * 10, env={"a": 1, "b": 2}) == 21
    assert run(expr(fit(4))["history"][0] / 2) == 2.0
    assert run(expr(fit(5))["history"][0] % 3) == 2
    assert run(expr(fit(2)) == {"history": [2, 4], "name": "m"}) is True
    assert run(~expr(fit(1))["history"][0]) == -2
    for operation in (lambda e: e - 1, lambda e: e ** 2, lambda e: e // 2, lambda e: e < 1, lambda e: 1 + e):
        with pytest.raises(TypeError):
            operation(expr(fit(1)))  # pinjected 0.2.252 raises TypeError for these too


def test_a_call_returning_a_program_runs_it_and_each_leaf_runs_once():
    assert run(expr(fit)(7)["name"]) == "m"
    assert LOG == ["fit 7"]


def test_containers_of_programs_are_passed_as_they_are():
    listed = run(expr(len)([fit(1), fit(2)]))
    assert listed == 2 and LOG == []  # pinjected hands the list of proxies to the callee unresolved


def test_yielded_inside_a_do_function():
    @do
    def user():
        return (yield expr(fit(7))["name"])

    assert run(user()) == "m"


def test_combinators():
    assert run(mzip(fit(1), pure_value(3))) == ({"history": [1, 2], "name": "m"}, 3)
    assert run(list_of(by_name("a"), 2), env={"a": 1}) == [1, 2]
    assert run(dict_of(a=by_name("a"), b=pure_value(fit)), env={"a": 1}) == {"a": 1, "b": fit}
    assert run(procedure(fit(1), fit(2))) == {"history": [2, 4], "name": "m"}
    assert LOG == ["fit 1", "fit 1", "fit 2"]
    assert run(map_value(fit(4), lambda d: d["name"])) == "m"


def test_bind_asks_every_parameter_and_awaits_async_functions():
    async def a_sub(a, b=100):
        return a - b

    assert run(bind(a_sub, b="a2"), env={"a": 5, "a2": 1}) == 4
    assert run(bind(lambda a, b: a + b, b=pure_value(2)), env={"a": 1}) == 3
    with pytest.raises(TypeError, match="not parameters"):
        bind(a_sub, c="x")


def test_partial_resolves_its_arguments():
    assert run(expr(partial_of(pure_value(lambda x, y: x + y), by_name("a")))(3), env={"a": 1}) == 4


def test_as_program_accepts_programs_do_functions_and_values():
    @do
    def lifted():
        return (yield Ask("a")) + 1

    assert run(as_program(lifted), env={"a": 1}) == 2
    assert run(as_program(fit(1)))["name"] == "m"
    assert run(as_program(3)) == 3


def test_dunder_attributes_of_the_value_but_not_protocol_probes():
    assert run(expr(fit(1))["history"].__len__()) == 2
    assert not hasattr(expr(1), "__doeff_generator_function__")
    assert not hasattr(expr(1), "__await__")
    assert repr(expr(1)["x"].y(2)) == "expr(1['x'].y(2))"


def test_an_expression_survives_pickling():
    import pickle

    expression = by_name("a")["k"] + 1
    assert run(pickle.loads(pickle.dumps(expression)), env={"a": {"k": 2}}) == 3

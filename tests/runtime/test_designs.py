"""runtime/designs.py: design values with pinjected's rules, run on the runtime's design env."""

from __future__ import annotations

from pathlib import Path

import pytest

from doeff_migrate.runtime import Ask, do, instance_binding, run
from doeff_migrate.runtime.designs import Design, EmptyDesign, Injected, ProvidedDesign, classes, design, injected, instances, meta_overrides, providers


def _resolve(env: dict, *keys: str):
    @do
    def asked():
        values = []
        for key in keys:
            values.append((yield Ask(key)))
        return values

    return run(asked(), env=dict(env))


def test_plus_is_right_biased_and_never_changes_either_side():
    base = design(a=1, b=2)
    top = design(b=20)
    merged = base + top
    assert merged == {"a": 1, "b": 20} and isinstance(merged, Design)
    assert base == {"a": 1, "b": 2} and top == {"b": 20}
    assert {"a": 0} + top == {"a": 0, "b": 20}  # an env dict on the left
    rebound = base
    rebound += design(c=3)
    assert base == {"a": 1, "b": 2} and rebound == {"a": 1, "b": 2, "c": 3}
    assert EmptyDesign + base == base


def test_callables_in_design_are_values_but_providers_call_them():
    fn = lambda a, b: a + b  # noqa: E731
    env = design(a=1, b=2, as_value=fn) + providers(as_provider=fn)
    as_value, as_provider = _resolve(env, "as_value", "as_provider")
    assert as_value is fn and as_provider == 3


def test_async_provider_is_awaited_and_classes_get_their_keys():
    class Svc:
        def __init__(self, host, port):
            self.v = f"{host}:{port}"

    async def total(host, port):
        return f"{host}-{port}"

    env = instances(host="h", port=80) + classes(svc=Svc) + providers(total=total)
    svc, value = _resolve(env, "svc", "total")
    assert svc.v == "h:80" and value == "h-80"
    with pytest.raises(TypeError, match="needs a class"):
        classes(svc=lambda: 1)


def test_key_expressions_are_computed_from_the_bound_values():
    env = design(cfg={"key": "K", "n": 4}, root=Path("/r"), name="x") + design(
        item=injected("cfg")["key"],
        sub=injected("root") / "x",
        size=injected("cfg")["n"] * 2 + 1,
        upper=injected("name").upper(),
        rsub=10 - injected("cfg")["n"],
        by=Injected.by_name("name"),
        pure=Injected.pure(print),
        bound=Injected.bind(lambda name: name * 2),
    )
    assert _resolve(env, "item", "sub", "size", "upper", "rsub", "by", "pure", "bound") == [
        "K", Path("/r/x"), 9, "X", 6, "x", print, "xx",
    ]


def test_an_instance_bound_to_several_keys_is_built_once_per_run_apart_from_its_own_key():
    built = []

    @instance_binding
    @do
    def conn_for_designs_test():
        built.append(1)
        return object()

    env = design(a=conn_for_designs_test) + design(b=conn_for_designs_test)
    env["conn_for_designs_test"] = conn_for_designs_test()
    a, b, own = _resolve(env, "a", "b", "conn_for_designs_test")
    assert a is b and a is not own and len(built) == 2


def test_meta_overrides_and_design_provided_by_an_instance():
    assert meta_overrides(design(overrides=design(a=1), b=2)) == {"a": 1}
    assert meta_overrides(None) == {}

    @instance_binding
    @do
    def env_design_for_designs_test():
        return design(x=1, y=1)

    provided = env_design_for_designs_test + design(y=2)
    assert isinstance(provided, ProvidedDesign)
    assert provided.resolve(lambda program: run(program)) == {"x": 1, "y": 2}
    with pytest.raises(TypeError):
        design(y=2) + env_design_for_designs_test  # pinjected refuses Design + IProxy too

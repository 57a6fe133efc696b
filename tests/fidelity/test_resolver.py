"""``__resolver__`` and ``Injected``-annotated parameters behave as under real pinjected (strict runs).

pinjected-wandb's ``wandb_artifact`` shape: an ``@injected`` function takes an ``Injected`` argument,
which pinjected hands over unevaluated because the parameter is annotated ``Injected`` (without the
annotation it is resolved, as an IProxy argument is),
and resolves it itself with ``await __resolver__[tgt]``. The migrated function asks for
``AskResolver`` (runtime/resolver.py), and the entry point hands over the Program expression the
``Injected`` became. Each project runs with pinjected 0.2.252 and, migrated, with pinjected
unimportable (harness.assert_same_behaviour).
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "injected_argument_resolved_by_the_function": ({**INIT, "app/main.py": """
from pinjected import *


@injected
async def cloudpickle_reader(path):
    return f"read {path}"


@injected
async def stored(logger_name, __resolver__: AsyncResolver, cloudpickle_reader, /, tgt: Injected, name: str, reader=None):
    assert isinstance(tgt, (Injected, IProxy))
    if reader is None:
        reader = cloudpickle_reader
    print(logger_name, "resolving", name)
    data = await __resolver__[tgt]
    print(logger_name, "resolved", data)
    return {name: data, "check": await reader(name)}


@instance
def greeting(prefix):
    return prefix + " world"


@injected
def kind(x, y: Injected = None, z: IProxy = None):
    return type(x).__name__, type(y).__name__ in ("DelegatedVar", "Expr"), type(z).__name__


main: IProxy = stored(tgt=Injected.pure("hello artifact"), name="a")
# Without the annotation an Injected argument is resolved; annotated ``Injected``, even an IProxy is
# not; annotated ``IProxy``, it is (pinjected compares the annotation with ``Injected``).
kinds: IProxy = kind(Injected.pure(1), y=injected("prefix"), z=injected("prefix"))
by_key: IProxy = stored(tgt=Injected.by_name("greeting"), name="b")
by_string: IProxy = stored(tgt=Injected.pure("prefix"), name="c")
__design__ = design(logger_name="log", prefix="hi")
"""}, ["app.main.main", "app.main.by_key", "app.main.by_string", "app.main.kinds"]),
    "resolver_of_a_key_in_a_sync_function_called_from_an_async_one": ({**INIT, "app/main.py": """
from pinjected import *


@injected
async def a_lookup(__resolver__, /, keys):
    out = {}
    for k in keys:
        out[k] = await __resolver__[k]
    return out


@instance
def size():
    return 3


main: IProxy = a_lookup(["size", "unit"])
__design__ = design(unit="cm")
"""}, ["app.main.main"]),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_resolver_behaves_as_under_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)

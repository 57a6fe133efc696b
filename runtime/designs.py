"""Designs as runtime values with pinjected's rules, for design code the codemod cannot turn into a dict literal.

Migrated code writes ``from doeff_migrate.runtime.designs import design, providers, ...`` where the
original built a pinjected design at run time (``design(**PROFILE)``, a helper returning a design,
``base + design(...)`` over variables, ``__meta_design__``). A :class:`Design` is an env dict (the
runner reads it like any migrated ``__design__``) with pinjected's algebra
(each fact below was checked with pinjected 0.2.252):

- ``design(k=v)`` binds ``v`` as a plain value, functions, lambdas and classes included (trap 1);
  a migrated ``@injected`` function is bound as the function (pinjected binds the provider that
  resolves to it); a migrated ``@instance`` is built once per run *for all keys bound to that object*
  (``design(a=conn, b=conn)`` gives ``a is b``), separately from the key ``conn`` itself;
- ``d1 + d2``: the right-hand side wins per key; designs are never changed in place;
- ``providers(k=f)`` and ``classes(k=C)``: ``f``/``C`` is called with the keys its parameters name;
  ``instances(k=v)``: plain values;
- ``injected("k")`` / ``Injected.by_name("k")``: the value bound to ``k``, and an expression over it
  (``injected("cfg")["key"]``, ``injected("root") / "x"``, attributes, calls, operators) is computed
  from that value when the env is built; ``Injected.pure(v)`` is ``v``;
- ``__meta_design__ = design(overrides=d)``: the runner puts ``d`` under the module's ``__design__``
  (``meta_overrides``);
- ``env_design + design(...)`` where the ``@instance env_design`` returns a design: a
  :class:`ProvidedDesign` the runner resolves before it builds the env.

An env entry whose value is a Program is run once per run by the runner's design env; everything
here that needs the run (a dependency, an instance) is such a Program.
"""

from __future__ import annotations

import inspect
import operator
from typing import Any, Callable, Mapping

from .effects import Ask, Await
from .program import Program, do
from .registry import _REGISTRY

__all__ = [
    "Design",
    "EmptyDesign",
    "ProvidedDesign",
    "Injected",
    "KeyExpr",
    "classes",
    "design",
    "injected",
    "instances",
    "meta_overrides",
    "providers",
]

_SHARED_PREFIX = "__doeff_instance__:"


class Design(dict):
    """An env dict with pinjected's design algebra: ``+`` (right wins), ``|`` the same."""

    def __add__(self, other: Mapping[str, Any]) -> "Design":
        if not isinstance(other, Mapping):
            return NotImplemented  # (pinjected refuses ``design(...) + an_instance`` too)
        return Design({**self, **other})

    def __radd__(self, other: Any) -> "Design | ProvidedDesign":
        if _instance_of(other) is not None:
            return ProvidedDesign([other, self])
        if not isinstance(other, Mapping):
            return NotImplemented
        return Design({**other, **self})

    __or__ = __add__
    __ror__ = __radd__

    def __iadd__(self, other: Mapping[str, Any]) -> "Design":
        # ``d += design(...)`` rebinds ``d``: other names holding the old design keep it unchanged.
        return self + other

    __ior__ = __iadd__

    def __repr__(self) -> str:
        return f"Design({dict.__repr__(self)})"


EmptyDesign = Design()


class ProvidedDesign:
    """A design an ``@instance`` returns, combined with designs on its right (``env_design +
    design(...)``, an ``IProxy[Design]`` in pinjected). The runner builds the instance when it
    builds the env, in a run of its own that sees only the registry (pinjected resolves it against an
    empty design), then merges the parts left to right (``resolve``)."""

    def __init__(self, parts: list) -> None:
        self.parts = parts

    def __add__(self, other: Any) -> "ProvidedDesign":
        if not isinstance(other, Mapping) and _instance_of(other) is None:
            return NotImplemented
        return ProvidedDesign([*self.parts, other])

    def resolve(self, build: Callable[[Program], Any]) -> Design:
        """The design, each ``@instance`` part built with ``build(program)``."""
        merged: dict = {}
        for part in self.parts:
            value = part if isinstance(part, Mapping) else build(part())
            if not isinstance(value, Mapping):
                raise TypeError(f"{part!r} returned {type(value).__name__}, not a design")
            merged.update(value)
        return Design(merged)

    def __repr__(self) -> str:
        return f"ProvidedDesign({self.parts!r})"


def _instance_of(value: Any) -> tuple[str, Any] | None:
    """``(module.name, fn)`` when ``value`` is a migrated ``@instance`` function (its registry entry)."""
    for key, (module, kind, fn) in list(_REGISTRY.items()):
        if fn is value and kind == "instance":
            return f"{module}.{getattr(fn, '__qualname__', key)}", fn
    return None


@do
def _asked(key: str):
    return (yield Ask(key))


def _bind(name: str, value: Any, into: dict) -> None:
    """Bind ``value`` under ``name`` the way ``design(name=value)`` does (into ``into``)."""
    if isinstance(value, KeyExpr):
        into[name] = value.program()
        return
    instance = _instance_of(value)
    if instance is not None:
        # pinjected builds one object per run for the instance *object*, whatever keys it is bound to.
        shared, fn = instance
        into[_SHARED_PREFIX + shared] = fn()
        into[name] = _asked(_SHARED_PREFIX + shared)
        return
    into[name] = value


def design(**bindings: Any) -> Design:
    """pinjected's ``design(**kw)``: every value is bound as it is, except migrated providers and
    ``injected("k")`` expressions (see the module docstring)."""
    out: dict = {}
    for name, value in bindings.items():
        _bind(name, value, out)
    return Design(out)


def instances(**bindings: Any) -> Design:
    """pinjected's ``instances(**kw)``: plain values."""
    return design(**bindings)


@do
def _provided(factory: Callable[..., Any]):
    params = inspect.signature(factory).parameters
    kwargs = {}
    for name, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        kwargs[name] = yield Ask(name)
    value = factory(**kwargs)
    if inspect.isawaitable(value):
        value = yield Await(value)
    return value


def providers(**bindings: Any) -> Design:
    """pinjected's ``providers(**kw)``: a plain callable is a provider whose parameters name its keys."""
    out: dict = {}
    for name, value in bindings.items():
        if isinstance(value, KeyExpr) or _instance_of(value) is not None or isinstance(value, Program) or _is_do(value):
            _bind(name, value, out)
        elif callable(value):
            out[name] = _provided(value)
        else:
            raise TypeError(f"providers({name}=...) needs a callable, got {value!r}")
    return Design(out)


def classes(**bindings: Any) -> Design:
    """pinjected's ``classes(**kw)``: the class is constructed with the keys its ``__init__`` names."""
    for name, value in bindings.items():
        if not isinstance(value, type):
            raise TypeError(f"classes({name}=...) needs a class, got {value!r}")
    return providers(**bindings)


def _is_do(value: Any) -> bool:
    from .registry import is_do_function

    return is_do_function(value)


def meta_overrides(meta: Any) -> Mapping[str, Any]:
    """The design a module's ``__meta_design__`` puts under its ``__design__`` (its ``overrides``)."""
    if not isinstance(meta, Mapping):
        return {}
    overrides = meta.get("overrides", {})
    if not isinstance(overrides, Mapping):
        raise TypeError(f"__meta_design__'s overrides must be a design, got {type(overrides).__name__}")
    return overrides


# -- injected("k") expressions -----------------------------------------------------------------------


class KeyExpr:
    """The value of a key, or an expression over it, computed when the env is built (an IProxy in
    pinjected). Operators, items, attributes and calls build a bigger expression."""

    __slots__ = ("_eval",)

    def __init__(self, evaluate: Callable[[], Program]) -> None:
        object.__setattr__(self, "_eval", evaluate)

    def program(self) -> Program:
        return self._eval()

    def _derive(self, combine: Callable[..., Any], *others: Any) -> "KeyExpr":
        parts = (self, *others)

        @do
        def derived():
            values = []
            for part in parts:
                values.append((yield part.program()) if isinstance(part, KeyExpr) else part)
            return combine(*values)

        return KeyExpr(derived)

    def __getitem__(self, key: Any) -> "KeyExpr":
        return self._derive(operator.getitem, key)

    def __getattr__(self, name: str) -> "KeyExpr":
        if name.startswith("__"):
            raise AttributeError(name)
        return self._derive(lambda value: getattr(value, name))

    def __call__(self, *args: Any, **kwargs: Any) -> "KeyExpr":
        keys = list(kwargs)
        return self._derive(
            lambda f, *values: f(*values[: len(args)], **dict(zip(keys, values[len(args):]))), *args, *kwargs.values()
        )

    def __repr__(self) -> str:
        return "KeyExpr(...)"


def _binary(op: Callable[[Any, Any], Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def left(self: KeyExpr, other: Any) -> KeyExpr:
        return self._derive(op, other)

    def right(self: KeyExpr, other: Any) -> KeyExpr:
        return self._derive(lambda value, o: op(o, value), other)

    return left, right


for _name, _op in {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow, "matmul": operator.matmul,
    "and": operator.and_, "or": operator.or_, "xor": operator.xor, "lshift": operator.lshift, "rshift": operator.rshift,
}.items():
    _left, _right = _binary(_op)
    setattr(KeyExpr, f"__{_name}__", _left)
    setattr(KeyExpr, f"__r{_name}__", _right)
for _name, _op in {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}.items():
    setattr(KeyExpr, f"__{_name}__", _binary(_op)[0])
KeyExpr.__hash__ = object.__hash__  # type: ignore[assignment]
KeyExpr.__neg__ = lambda self: self._derive(operator.neg)  # type: ignore[attr-defined]
KeyExpr.__invert__ = lambda self: self._derive(operator.invert)  # type: ignore[attr-defined]


def injected(key: str) -> KeyExpr:
    """pinjected's ``injected("k")`` in a design: the value bound to ``k``."""
    if not isinstance(key, str):
        raise TypeError(f"injected(...) in a design takes a key name, got {key!r}")
    return KeyExpr(lambda: _asked(key))


class Injected:
    """The ``Injected`` combinators a design value uses: ``by_name``, ``pure``, ``bind``."""

    @staticmethod
    def by_name(key: str) -> KeyExpr:
        return injected(key)

    @staticmethod
    def pure(value: Any) -> Any:
        return value

    @staticmethod
    def bind(factory: Callable[..., Any]) -> KeyExpr:
        return KeyExpr(lambda: _provided(factory))

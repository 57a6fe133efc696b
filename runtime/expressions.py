"""Program expressions: the runtime counterpart of pinjected's IProxy expression graph.

``expr(program)`` wraps a program (or any value) in an :class:`Expr`: attribute access, items and
slices, calls, ``+ * / %``, ``==``, ``~`` and ``.await__()`` build a lazy expression, exactly the
operations pinjected's ``DelegatedVar`` defines (pinjected/di/proxiable.py on 0.2.252; ``-``, ``**``,
``//``, ``<``, reflected operators and ``len`` raise ``TypeError`` there and here). An ``Expr`` is a
:class:`Program`: yielding or running it evaluates the graph, running every program it holds.

Evaluation follows pinjected's ``eval_applicative`` (pinjected/di/static_proxy.py):

- a leaf that is a program (or an ``Expr``) is run; anything else, containers of programs too, is a
  plain value (pinjected hands a list of proxies to the callee as it is);
- a call's callee, then its arguments, are evaluated, then the callee is called. A call returning a
  program (a migrated ``@injected`` function, whose pinjected call returned its value) is run;
- ``.await__()`` awaits the value through ``Await`` (pinjected's explicit await for bound async
  methods, which it never awaits by itself).

Sub-expressions are evaluated left to right; pinjected resolves them concurrently, which only shows
when they block. The ``Injected.*`` combinators used as values have counterparts here too:
``pure_value``, ``by_name``, ``mzip``, ``list_of``, ``dict_of``, ``procedure``, ``map_value``, ``bind``
and ``partial_of``; ``async_function_value`` is an async injected function used as a value; ``as_program`` turns an entry point of another module (a program, or a lifted
``@do`` function) into its program; ``bind`` reads the function's parameters when it runs, so it also serves functions the
codemod cannot see (defined in another module or package).
"""

from __future__ import annotations

import inspect
import operator
from typing import Any, Callable

from .dependencies import bound_dependency
from .effects import Ask, Await, EffectBase, Gather, Spawn
from .program import Program, do

# Attributes Python's protocols and the runner look up on instances; any other name (``x.__len__()`` too,
# as in pinjected) is an attribute of the value.
_PROBES = frozenset(
    "__await__ __aiter__ __anext__ __copy__ __deepcopy__ __getnewargs__ __getnewargs_ex__ __wrapped__ "
    "__signature__ __func__ __self__ __length_hint__ __fspath__ __index__ __array__ __array_interface__ __setstate__".split()
)

_BINARY = {"+": operator.add, "*": operator.mul, "/": operator.truediv, "%": operator.mod, "==": operator.eq}


class Expr(Program):
    """A lazy expression over programs, with the operators an IProxy has; a program itself."""

    __slots__ = ("__doeff_expr__", "__doeff_awaits__")

    def __init__(self, node: tuple) -> None:
        object.__setattr__(self, "__doeff_expr__", node)
        object.__setattr__(self, "__doeff_awaits__", False)

    def __setattr__(self, name: str, value: Any) -> None:
        # pinjected's decorators mark the value they build as an async function
        # (``res.__is_async_function__ = True``): calls of it in an expression are then awaited
        # (app_injected.await_awaitables on 0.2.252). Any other attribute has no meaning here.
        if name.startswith("__doeff"):  # the expression's own slots (``pickle`` restores them so)
            object.__setattr__(self, name, value)
            return
        if name != _ASYNC_MARK:
            raise AttributeError(f"cannot set {name!r} on a Program expression (only {_ASYNC_MARK!r}, pinjected's async mark)")
        object.__setattr__(self, "__doeff_awaits__", bool(value))

    # Only the operations pinjected's DelegatedVar defines (proxiable.py): the others raise TypeError.
    def __getattr__(self, name: str) -> "Expr":
        if name in _PROBES or name.startswith("__doeff"):
            raise AttributeError(name)  # protocol probes of Python and the runner are not value attributes
        if name == _ASYNC_MARK:
            return object.__getattribute__(self, "__doeff_awaits__")
        return Expr(("attr", self, name))

    def __call__(self, *args: Any, **kwargs: Any) -> "Expr":
        return Expr(("call", self, args, kwargs))

    def __getitem__(self, key: Any) -> "Expr":
        return Expr(("item", self, key))

    def __add__(self, other: Any) -> "Expr":
        return Expr(("binary", "+", self, other))

    def __mul__(self, other: Any) -> "Expr":
        return Expr(("binary", "*", self, other))

    def __truediv__(self, other: Any) -> "Expr":
        return Expr(("binary", "/", self, other))

    def __mod__(self, other: Any) -> "Expr":
        return Expr(("binary", "%", self, other))

    def __eq__(self, other: Any) -> "Expr":  # type: ignore[override]
        return Expr(("binary", "==", self, other))

    def __invert__(self) -> "Expr":
        return Expr(("invert", self))

    def await__(self) -> "Expr":
        return Expr(("await", self))

    def eval(self) -> "Expr":
        """pinjected's ``Injected.eval()`` / ``DelegatedVar.eval()`` (its own methods, not attributes of
        the value) convert between an ``Injected`` and its IProxy: both are this expression here."""
        return self

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"expr({_show(self)})"

    def __doeff_lower__(self) -> Program:
        """The program that evaluates this expression (the interpreter runs it in the expression's place)."""
        return _evaluate(self)


def expr(value: Any) -> Expr:
    """``value`` (a program, an ``Expr`` or a plain value) as an expression with IProxy's operators."""
    if isinstance(value, Expr):
        return value
    return Expr(("leaf", value))


def as_program(value: Any) -> Any:
    """An entry point's program: a migrated entry point is a program, or a ``@do`` function without
    parameters (an expression lifted by the codemod), or a plain value (run as ``Pure``)."""
    from .program import DoFunction, Pure

    if isinstance(value, DoFunction):
        return value()
    if _is_program(value):
        return value
    return Pure(value)


def _is_program(value: Any) -> bool:
    return isinstance(value, (Program, EffectBase))


def _show(e: Any) -> str:
    if not isinstance(e, Expr):
        return repr(e)
    node = e.__doeff_expr__
    kind = node[0]
    if kind == "leaf":
        return repr(node[1])
    if kind == "attr":
        return f"{_show(node[1])}.{node[2]}"
    if kind == "item":
        return f"{_show(node[1])}[{_show(node[2])}]"
    if kind == "call":
        parts = [_show(a) for a in node[2]] + [f"{k}={_show(v)}" for k, v in node[3].items()]
        return f"{_show(node[1])}({', '.join(parts)})"
    if kind == "binary":
        return f"({_show(node[2])} {node[1]} {_show(node[3])})"
    if kind == "invert":
        return f"~{_show(node[1])}"
    return f"{_show(node[1])}.await__()"


@do
def _resolve(value: Any):
    """A leaf's value: a program is run; anything else, containers too, is the value itself.

    Verified on 0.2.252: ``f([g(1), 2])`` and ``obj.m([g(1)])`` hand the list with the proxy objects
    in it to the callee; only a proxy that is itself the argument is resolved."""
    if isinstance(value, Expr):
        return (yield _evaluate(value))
    if _is_program(value):
        return (yield value)
    return value


@do
def _arguments(args: tuple, kwargs: dict):
    resolved_args = []
    for a in args:
        resolved_args.append((yield _resolve(a)))
    resolved_kwargs = {}
    for k, v in kwargs.items():
        resolved_kwargs[k] = yield _resolve(v)
    return resolved_args, resolved_kwargs


@do
def _evaluate(e: Expr):
    node = e.__doeff_expr__
    kind = node[0]
    if kind == "leaf":
        return (yield _resolve(node[1]))
    if kind == "attr":
        return getattr((yield _evaluate(node[1])), node[2])
    if kind == "item":
        target = yield _evaluate(node[1])
        return target[(yield _resolve(node[2]))]
    if kind == "call":
        function = yield _evaluate(node[1])
        args, kwargs = yield _arguments(node[2], node[3])
        value = function(*args, **kwargs)
        if _is_program(value):
            value = yield value  # a migrated injected function: pinjected's call gave its value
        elif (getattr(function, _AWAITS_CALLS, False) or _marked_async(node[1])) and inspect.isawaitable(value):
            # pinjected awaits a proxy call whose callee is an async injected function (its
            # ``__is_async_function__``, app_injected.await_awaitables on 0.2.252).
            value = yield Await(value)
        return value
    if kind == "binary":
        left = yield _resolve(node[2])
        right = yield _resolve(node[3])
        return _BINARY[node[1]](left, right)
    if kind == "invert":
        return ~(yield _evaluate(node[1]))
    return (yield Await((yield _evaluate(node[1]))))


# The mark of a callable whose calls in an expression are awaited, as pinjected awaits proxy calls of
# an async injected function used as a value.
_AWAITS_CALLS = "__doeff_awaits_calls__"
# pinjected's own mark on an ``Injected`` / IProxy whose calls are awaited.
_ASYNC_MARK = "__is_async_function__"


def _marked_async(callee: Any) -> bool:
    return isinstance(callee, Expr) and object.__getattribute__(callee, "__doeff_awaits__")


@do
def async_function_value(function: Any):
    """An async injected function used as a value (``Injected.partial(a_f)``): the coroutine function
    with its dependencies bound (``bound_dependency``), whose calls in an expression are awaited."""
    bound = yield bound_dependency(function, asynchronous=True)
    setattr(bound, _AWAITS_CALLS, True)
    return bound


# -- ``Injected.*`` combinators used as values ---------------------------------------------------
def pure_value(value: Any) -> Expr:
    """``Injected.pure(v)``: the value itself, never run even if it is a program."""
    from .program import Pure

    return Expr(("leaf", Pure(value)))


def by_name(key: str) -> Expr:
    """``Injected.by_name(k)`` / ``injected("k")``: the value the design binds to ``k``."""
    return Expr(("leaf", Ask(key)))


@do
def _gathered(members: tuple):
    """Each member spawned in order, gathered in order (pinjected resolves them concurrently)."""
    tasks = []
    for member in members:
        tasks.append((yield Spawn(_resolve(member))))
    return list((yield Gather(*tasks)))


def mzip(*members: Any) -> Expr:
    """``Injected.mzip/zip/tuple(*xs)``: the tuple of the members' values."""
    return expr(tuple).__call__(Expr(("leaf", _gathered(members))))


def list_of(*members: Any) -> Expr:
    """``Injected.list(*xs)``."""
    return Expr(("leaf", _gathered(members)))


def dict_of(**members: Any) -> Expr:
    """``Injected.dict(**xs)``."""
    keys = tuple(members)
    return expr(dict).__call__(expr(zip).__call__(keys, Expr(("leaf", _gathered(tuple(members.values()))))))


@do
def _in_sequence(members: tuple):
    value = None
    for member in members:
        value = yield _resolve(member)
    return value


def procedure(*members: Any) -> Expr:
    """``Injected.procedure(*xs)``: the members run one after the other; the value is the last one's.

    The order is the one the members are given in; the codemod emits pinjected's nesting order for
    the members it sees (entry_points.py) and calls this only with that order.
    """
    return Expr(("leaf", _in_sequence(members)))


@do
def _mapped(member: Any, function: Callable[..., Any]):
    value = function((yield _resolve(member)))
    if inspect.isawaitable(value):
        value = yield Await(value)  # Injected.map awaits an async function's result (C12)
    elif _is_program(value):
        value = yield value
    return value


def map_value(member: Any, function: Callable[..., Any]) -> Expr:
    """``injected_value.map(f)`` on an ``Injected`` (not on an IProxy, where ``.map`` is an attribute)."""
    return Expr(("leaf", _mapped(member, function)))


@do
def _bound(function: Callable[..., Any], mapping: dict):
    kwargs = {}
    for name in inspect.signature(function).parameters:
        source = mapping.get(name, name)
        # Verified on 0.2.252: a mapped value goes through ``Injected.ensure_injected`` (a plain callable
        # is called with its parameters asked, an injected function is handed over bound).
        kwargs[name] = (yield Ask(source)) if isinstance(source, str) else (yield _resolve(ensure_injected(source)))
    value = function(**kwargs)
    if inspect.isawaitable(value):
        value = yield Await(value)  # pinjected wraps the function into an async one and awaits it
    elif _is_program(value):
        value = yield value
    return value


def bind(function: Callable[..., Any], **mapping: Any) -> Expr:
    """``Injected.bind(f, **mapping)``: ``f`` called with every parameter asked by name.

    Defaults are ignored (a missing key is an error, as in pinjected); ``mapping[name]`` is a key to
    ask instead (a string) or a program / expression giving the value.
    """
    unknown = set(mapping) - set(inspect.signature(function).parameters)
    if unknown:
        raise TypeError(f"bind: {sorted(unknown)} are not parameters of {getattr(function, '__qualname__', function)!r}")
    return Expr(("leaf", _bound(function, dict(mapping))))


@do
def _partially_applied(function: Callable[..., Any], args: tuple, kwargs: dict):
    resolved_args, resolved_kwargs = yield _arguments(args, kwargs)

    def applied(*more: Any, **more_kwargs: Any) -> Any:
        return function(*resolved_args, *more, **{**resolved_kwargs, **more_kwargs})

    # ``Injected.partial`` keeps the function's ``__is_async_function__``: calls of it are awaited too.
    setattr(applied, _AWAITS_CALLS, getattr(function, _AWAITS_CALLS, False))
    return applied


def partial_of(function: Any, *args: Any, **kwargs: Any) -> Expr:
    """``Injected.partial(f, *args, **kwargs)``: ``f`` (a value or program) with the resolved arguments applied."""
    return Expr(("leaf", _partially_applied_of(function, args, kwargs)))


@do
def _partially_applied_of(function: Any, args: tuple, kwargs: dict):
    resolved = yield _resolve(function)
    return (yield _partially_applied(resolved, args, kwargs))


def ensure_injected(value: Any) -> Any:
    """``Injected.ensure_injected(v)`` (pinjected/di/injected.py on 0.2.252): a key is asked by name, a
    program (pinjected's ``Injected`` / ``IProxy``) is itself, a migrated ``@instance`` function runs its
    provider, a migrated ``@injected`` function is a plain callable bound to the run, any other callable
    is bound by its parameter names; anything else is an error, as in pinjected."""
    from .registry import _REGISTRY, is_do_function

    if isinstance(value, str):
        return by_name(value)
    if _is_program(value):
        return value
    if is_do_function(value):
        if any(fn is value and kind == "instance" for _module, kind, fn in list(_REGISTRY.values())):
            return expr(value())
        from .dependencies import bound_dependency

        # A synchronous callable running the function's program on the run, as pinjected hands over an
        # injected function with its dependencies resolved (an async one would need ``asynchronous=True``:
        # which it was is not known here).
        return Expr(("leaf", bound_dependency(value)))
    if callable(value):
        return bind(value)
    raise RuntimeError(f"not an injected object: {value},type(value)={type(value)}")

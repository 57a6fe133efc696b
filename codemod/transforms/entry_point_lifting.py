"""The body of a lifted entry point: an IProxy expression evaluated inside a ``@do`` (entry_points.py).

pinjected-semantics.md §2 C7-C13. ``value_of`` gives the expression with every pinjected leaf ``yield``ed;
plain sub-expressions are captured at import (``capture``), as pinjected evaluates them then; what it cannot
prove raises ``Untranslatable``. ``Injected`` combinators are entry_point_combinators.py, reached through
``entry.combinator``. Each function reads and extends the state of ``entry``, the ``EntryPoints`` transformer.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..rules.di import UNTRANSLATABLE_IPROXY
from ..rules.di_calls import INJECTED_ANNOTATED_PARAMETER
from ..cst_walk import names_in
from .base import single_string
from .entry_point_leaves import has_leaf, imported_entry_point, injected_class_call, is_leaf, provider, returns_injected
from .program_expressions import ExpressionLowering, NotAnExpression, primary as _primary

NO_DOEFF_EXPRESSIONS = (
    "IProxy expression with no doeff form: Program expressions (`expr`) and `as_program` run on the bundled "
    "runtime only; migrate with --target runtime or lift it into a @do by hand"
)


class Untranslatable(Exception):
    """The expression cannot be lifted faithfully: the statement is flagged (``code``, default DM108)."""

    def __init__(self, code: str = UNTRANSLATABLE_IPROXY.code, message: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


# Plain callees that are never coroutine functions (``.map(str)``): called as they are.
_SYNC_BUILTINS = frozenset(
    "str int float bool bytes list tuple dict set frozenset len sorted reversed min max sum abs round repr "
    "type id print any all enumerate zip range".split()
)


def _is_static(node: cst.BaseExpression) -> bool:
    """A literal whose evaluation has no effect and reads no module state (same at import and at run)."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _is_static(node.left) and _is_static(node.right)
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _is_static(node.expression)
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and _is_static(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _is_static(e.key) and _is_static(e.value) for e in node.elements)
    return False


def yield_(expr: cst.BaseExpression) -> cst.Yield:
    return cst.Yield(value=expr, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _unevaluated_args(call: cst.Call, params: tuple[tuple[int, str], ...]) -> set[int]:
    """Indexes of ``call``'s arguments given to parameters pinjected hands their argument unevaluated."""
    positions = {p for p, _name in params if p >= 0}
    names = {name for _p, name in params}
    found = set()
    for i, arg in enumerate(call.args):
        if arg.star:
            continue
        if (arg.keyword is None and i in positions) or (arg.keyword is not None and arg.keyword.value in names):
            found.add(i)
    return found


def program_of(entry, node: cst.BaseExpression) -> cst.BaseExpression:
    """A program computing ``node`` (for ``Spawn``): leaves keep their program form."""
    target = provider(entry, node)
    if target is not None and target.kind == "instance":
        return cst.Call(node.with_changes(lpar=[], rpar=[]))
    if isinstance(node, cst.Name) and node.value in entry.programs:
        return node if entry.programs[node.value] == "program" else cst.Call(node)
    if isinstance(node, cst.Name) and imported_entry_point(entry, node.value):
        if entry.state.target != "runtime":
            raise Untranslatable(UNTRANSLATABLE_IPROXY.code, NO_DOEFF_EXPRESSIONS)
        # A program or a lifted @do function, depending on how the other module was rewritten.
        return cst.Call(cst.Name(entry.state.need("as_program")), [cst.Arg(node)])
    if isinstance(node, cst.Call):
        target = provider(entry, node.func)
        if target is not None and target.kind == "injected" and not any(has_leaf(entry, a.value) for a in node.args):
            return node
        if entry.state.canonical(node.func) == pn.INJECTED and single_string(node):
            return ask(entry, node)
        if injected_class_call(entry, node) == "by_name" and single_string(node):
            return ask(entry, node)
        if injected_class_call(entry, node) == "pure" and len(node.args) == 1 and not node.args[0].keyword:
            return cst.Call(cst.Name(entry.state.need("Pure")), [cst.Arg(capture(entry, node.args[0].value))])
    if not has_leaf(entry, node):
        return cst.Call(cst.Name(entry.state.need("Pure")), [cst.Arg(capture(entry, node))])
    raise Untranslatable


def fresh_name(entry, base: str) -> str:
    if entry.module_names is None:
        entry.module_names = names_in(entry.module_node) if entry.module_node is not None else set()
    name, n = base, 1
    while name in entry.module_names:
        n += 1
        name = f"{base}{n}"
    entry.module_names.add(name)
    return name


def capture(entry, node: cst.BaseExpression) -> cst.BaseExpression:
    """A plain sub-expression of a lifted entry point, evaluated once at import as pinjected does.

    pinjected evaluates the plain arguments of an IProxy expression when the module is imported;
    inside the ``@do`` they would run at each run, after the leaves before them, and see later
    module state. Literals stay in place.
    """
    if _is_static(node):
        return node
    name = fresh_name(entry, f"_{entry.entry}_arg{len(entry.captured) + 1}")
    entry.captured.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], node.with_changes(lpar=[], rpar=[]))]))
    return cst.Name(name)


def yield_leaf(entry, node: cst.BaseExpression) -> cst.BaseExpression:
    """``(yield leaf)``; a leaf object used twice in one expression is resolved once, as in pinjected."""
    key = pn.dotted_cst(node) or ""
    if key in entry.yielded:
        return cst.Name(entry.yielded[key])
    value = yield_(program_of(entry, node))
    if key not in entry.repeated:
        return value
    local = fresh_name(entry, f"_{key.replace('.', '_')}_value")
    entry.yielded[key] = local
    return cst.NamedExpr(cst.Name(local), value, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def repeated_leaves(entry, node: cst.BaseExpression) -> set[str]:
    counts: dict[str, int] = {}

    class _Counter(cst.CSTVisitor):
        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def visit_Call(self, n: cst.Call) -> bool:
            if injected_class_call(entry, n) is not None:
                return False  # combinator members are programs of their own (run once each)
            return True

        def _leaf(self, n: cst.BaseExpression) -> None:
            if is_leaf(entry, n):
                key = pn.dotted_cst(n) or ""
                counts[key] = counts.get(key, 0) + 1

        def visit_Name(self, n: cst.Name) -> None:
            self._leaf(n)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            self._leaf(n)
            return True

    node.visit(_Counter())
    return {k for k, c in counts.items() if c > 1}


def ask(entry, node: cst.Call) -> cst.Call:
    """``Ask(k)`` for ``injected("k")`` / ``Injected.by_name("k")``; where ``k`` is (or may be) an
    injected function, ``AskFunction(k)`` / ``AskAsyncFunction(k)``: pinjected resolves it to a
    callable returning values, which the bound callable is (runtime/dependencies.py)."""
    key = node.args[0].value.evaluated_value  # type: ignore[attr-defined]
    index = entry.state.index
    if index.key_kind(key) == "value":
        name = "Ask"
    else:
        targets = [*index.providers_for_key(key), *filter(None, (index.resolve_ref(s) for s in index.bindings_for_key(key)))]
        name = "AskAsyncFunction" if any(t.is_async for t in targets) else "AskFunction"
    return cst.Call(cst.Name(entry.state.need(name)), [cst.Arg(node.args[0].value)])


def value_of(entry, node: cst.BaseExpression) -> cst.BaseExpression:
    """An expression evaluating ``node`` inside a ``@do`` body (leaves ``yield``ed)."""
    if not has_leaf(entry, node):
        return capture(entry, node)
    if is_leaf(entry, node):
        return yield_leaf(entry, node)
    if isinstance(node, cst.Call):
        attr = injected_class_call(entry, node)
        if attr is not None:
            return entry.combinator(attr, node)
        if entry.state.canonical(node.func) == pn.INJECTED and single_string(node):
            return yield_(program_of(entry, node))
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "map":
            inner = func.value
            if not returns_injected(entry, inner):
                raise Untranslatable  # ``.map`` on an IProxy is an attribute of the value (trap 6)
            if len(node.args) != 1 or node.args[0].keyword:
                raise Untranslatable
            return apply(entry, node.args[0].value, [cst.Arg(value_of(entry, inner))])
        target = provider(entry, func)
        if target is not None and target.kind == "injected":
            unevaluated = _unevaluated_args(node, getattr(target, "unevaluated", ()))
            args = [a.with_changes(value=argument_of(entry, a.value, i in unevaluated)) for i, a in enumerate(node.args)]
            return yield_(node.with_changes(args=args))
        raise Untranslatable  # a method call / call on an injected value: type unknown (DM108)
    if isinstance(node, cst.Attribute):
        if node.attr.value == "proxy":
            inner = node.value
            if returns_injected(entry, inner):
                return value_of(entry, inner)  # C13: ``.proxy`` turns an Injected into an IProxy of the same value
            raise Untranslatable  # an attribute of the value: a Program expression
        return node.with_changes(value=_primary(value_of(entry, node.value)))
    if isinstance(node, cst.Subscript):
        value = _primary(value_of(entry, node.value))
        elements = []
        for element in node.slice:
            inner = element.slice
            if isinstance(inner, cst.Index):
                inner = inner.with_changes(value=value_of(entry, inner.value))
            elif isinstance(inner, cst.Slice):
                if has_leaf(entry, inner):
                    raise Untranslatable  # pinjected does not resolve slice bounds: it fails at run time
                inner = inner.with_changes(**{
                    part: value_of(entry, getattr(inner, part))
                    for part in ("lower", "upper", "step") if getattr(inner, part) is not None
                })
            elements.append(element.with_changes(slice=inner))
        return node.with_changes(value=value, slice=elements)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Multiply, cst.Divide, cst.Modulo)):
        return node.with_changes(left=value_of(entry, node.left), right=value_of(entry, node.right))
    if isinstance(node, cst.Comparison) and all(isinstance(c.operator, cst.Equal) for c in node.comparisons):
        return node.with_changes(
            left=value_of(entry, node.left),
            comparisons=[c.with_changes(comparator=value_of(entry, c.comparator)) for c in node.comparisons],
        )
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
        return node.with_changes(expression=value_of(entry, node.expression))
    raise Untranslatable


def argument_of(entry, node: cst.BaseExpression, unevaluated: bool = False) -> cst.BaseExpression:
    """An argument of an injected function's call: resolved (an IProxy or an ``Injected`` alike),
    except for a parameter annotated ``Injected`` (``unevaluated``, index.unevaluated_params), which pinjected hands
    the argument as it is (verified on 0.2.252: ``f(Injected.pure(1))`` gets ``1``, and gets the
    ``Injected`` object when the parameter is annotated, which the function may resolve with
    ``__resolver__``). What is handed over unevaluated is its Program expression."""
    if unevaluated and (returns_injected(entry, node) or has_leaf(entry, node)):
        if entry.state.target != "runtime":
            raise Untranslatable(INJECTED_ANNOTATED_PARAMETER.code)
        try:
            return ExpressionLowering(entry).as_expr(node)
        except NotAnExpression:
            raise Untranslatable from None
    return value_of(entry, node)


def apply(entry, func: cst.BaseExpression, args: list[cst.Arg]) -> cst.BaseExpression:
    """Call a plain function on resolved values; async functions of this module are awaited."""
    if isinstance(func, cst.Lambda):
        func = func.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    call = cst.Call(func, args)
    name = pn.dotted_cst(func)
    defined = entry.plain_functions.get(name or "")
    if defined is not None and defined.asynchronous is not None:
        return yield_(cst.Call(cst.Name(entry.state.need("Await")), [cst.Arg(call)]))
    if defined is None and not isinstance(func, cst.Lambda) and name not in _SYNC_BUILTINS:
        # pinjected awaits a coroutine function (C12); this one is defined elsewhere: unknown.
        raise Untranslatable  # defined elsewhere: the Program expression checks at run time
    return call

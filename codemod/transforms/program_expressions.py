"""IProxy expressions the entry-point lifting cannot prove -> Program expressions (runtime ``expr``).

pinjected-semantics.md C17 and §4.4 item 9. ``entry_points.py`` lifts an entry point into a ``@do``
function when every operation in it is known statically (calls of injected functions, operators on
values). What it cannot prove (a method call on an injected value, ``.await__()``, ``.proxy`` of an
``@instance``, ``.map``/``Injected.bind`` of a function defined elsewhere, an entry point of another
module, IProxy chains inside dicts and comprehensions) keeps pinjected's own form: the expression is
built when the module is imported, over the runtime's ``Expr`` (runtime/expressions.py), which has
exactly IProxy's operators and evaluates the graph as pinjected does when the program runs:

    main: IProxy = client.fetch("x").await__()   ->   main: Program = expr(client()).fetch("x").await__()
    runs = {k: train(k).loss for k in KS}        ->   runs = {k: expr(train(k)).loss for k in KS}

Leaves keep their meaning: an ``@instance`` object runs its provider again (``client()``), a call of
an injected function is its program, an injected function passed as a value is the callable with its
dependencies bound (``bound_dependency(f)``, ``async_function_value(a_f)`` whose calls are awaited), ``injected("k")`` is ``by_name("k")``, an entry point of another
module is ``as_program(x)``; plain sub-expressions are evaluated at import, as pinjected does.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from .pinjected_uses import PinjectedUses

# The forms lowered as a whole; anything else (containers, comprehensions) is searched for them.
_FORMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.BinaryOperation, cst.Comparison, cst.UnaryOperation)


class NotAnExpression(Exception):
    """The node uses a construct with no Program-expression counterpart (the caller flags it)."""


class ExpressionLowering:
    """Lowers the IProxy sub-expressions of a node for one entry point of ``entry`` (an EntryPoints)."""

    def __init__(self, entry) -> None:
        self.entry = entry
        self.state = entry.state

    def need(self, name: str) -> cst.Name:
        return cst.Name(self.state.need(name))

    def call(self, name: str, *args: cst.Arg) -> cst.Call:
        return cst.Call(self.need(name), list(args))

    # -- the whole node ---------------------------------------------------------------------------
    def lower(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, str]:
        """``node`` with its IProxy parts lowered, and what it evaluates to: "plain", "program" or "expr"."""
        if isinstance(node, (cst.Name, cst.Attribute)):
            target = self.entry.provider(node)
            if target is not None and target.kind == "injected":
                # An injected function as a value: pinjected resolves it to the function with its
                # dependencies bound (not by its key: a design rebinding the key does not change it);
                # proxy calls of an async one are awaited.
                return self.call("async_function_value" if target.is_async else "bound_dependency", cst.Arg(node)), "program"
        if not isinstance(node, _FORMS) and self.entry.passes_injected_function(node):
            raise NotAnExpression  # pinjected hands a container over with the proxy objects in it
        if not self.entry.has_leaf(node) or isinstance(node, cst.Lambda):
            return node, "plain"
        if isinstance(node, _FORMS):
            return self.form(node)
        outer = self
        lowered: dict[int, cst.BaseExpression] = {}

        class _Parts(cst.CSTTransformer):
            def on_visit(self, n: cst.CSTNode) -> bool:
                if isinstance(n, cst.Lambda):
                    return False
                if isinstance(n, _FORMS) and outer.entry.has_leaf(n):
                    # Inside a container a program is an ``Expr``: whoever selects it (``RUNS["a"].loss``)
                    # may chain IProxy operations on it, as on the proxy it stands for.
                    value, kind = outer.form(n)
                    lowered[id(n)] = outer.call("expr", cst.Arg(value)) if kind == "program" else value
                    return False
                return True

            def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
                return lowered.pop(id(original), updated)

        return node.visit(_Parts()), "plain"

    def as_expr(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``node`` as an ``Expr`` (so IProxy's operators apply); plain values are wrapped too."""
        return self.expr_of(*self.lower(node))

    def expr_of(self, value: cst.BaseExpression, kind: str) -> cst.BaseExpression:
        """A lowered ``value`` of ``kind`` as an ``Expr``."""
        if kind == "expr":
            return value
        return self.call("expr", cst.Arg(value.with_changes(lpar=[], rpar=[]) if kind == "program" else value))

    def argument(self, arg: cst.Arg, *, as_proxy: bool = False) -> cst.Arg:
        """``arg`` lowered; with ``as_proxy`` a program stays a proxy-like ``Expr`` (a plain callee gets the
        IProxy object itself in pinjected, and may select from it or chain on it later)."""
        value, kind = self.lower(arg.value)
        if as_proxy and kind == "program":
            value = self.call("expr", cst.Arg(value))
        return arg.with_changes(value=value)

    # -- one form ---------------------------------------------------------------------------------
    def form(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, str]:
        entry = self.entry
        if entry.is_leaf(node):
            return entry.program_of(node), "program"
        if isinstance(node, cst.Call):
            return self.call_form(node)
        if isinstance(node, cst.Attribute):
            inner = node.value
            if node.attr.value == "proxy" and entry.returns_injected(inner):
                return self.lower(inner)  # C13: ``.proxy`` of an Injected is the same value as an IProxy
            return node.with_changes(value=primary(self.as_expr(inner))), "expr"
        if isinstance(node, cst.Subscript):
            elements = []
            for element in node.slice:
                inner = element.slice
                if isinstance(inner, cst.Index):
                    inner = inner.with_changes(value=self.lower(inner.value)[0])
                elif entry.has_leaf(inner):
                    raise NotAnExpression  # pinjected never resolves slice bounds: it fails when run
                elements.append(element.with_changes(slice=inner))
            return node.with_changes(value=primary(self.as_expr(node.value)), slice=elements), "expr"
        if isinstance(node, cst.BinaryOperation):
            left = self.as_expr(node.left) if entry.has_leaf(node.left) else node.left
            return node.with_changes(left=left, right=self.lower(node.right)[0]), "expr"
        if isinstance(node, cst.Comparison):
            left = self.as_expr(node.left) if entry.has_leaf(node.left) else node.left
            comparisons = [c.with_changes(comparator=self.lower(c.comparator)[0]) for c in node.comparisons]
            return node.with_changes(left=left, comparisons=comparisons), "expr"
        if isinstance(node, cst.UnaryOperation):
            return node.with_changes(expression=primary(self.as_expr(node.expression))), "expr"
        raise NotAnExpression

    def call_form(self, node: cst.Call) -> tuple[cst.BaseExpression, str]:
        entry = self.entry
        func = node.func
        if _by_name(entry, node):
            return self.call("by_name", cst.Arg(node.args[0].value)), "expr"
        attr = entry.injected_class_call(node)
        if attr is not None:
            return self.combinator(attr, node), "expr"
        if isinstance(func, cst.Attribute) and func.attr.value == "map" and entry.returns_injected(func.value):
            # ``Injected.map`` (not IProxy's, which is an attribute of the value: trap 6)
            if len(node.args) != 1 or node.args[0].keyword or node.args[0].star:
                raise NotAnExpression
            inner = self.lower(func.value)[0]
            return self.call("map_value", cst.Arg(inner), cst.Arg(node.args[0].value)), "expr"
        target = entry.provider(func)
        if target is not None and target.kind == "injected":
            if not any(entry.has_leaf(a.value) or entry.passes_injected_function(a.value) for a in node.args):
                return node, "program"  # the call of a migrated injected function is its program
            return cst.Call(self.call("expr", cst.Arg(func)), [self.argument(a) for a in node.args]), "expr"
        if entry.has_leaf(func):
            callee, kind = self.lower(func)
            if kind == "plain" and (any(entry.has_leaf(a.value) for a in node.args) or entry.passes_injected_function(node)):
                # pinjected calls the plain callable at import with the proxy objects (the decorator
                # ``async_cached(cache)`` applied to ``Injected.partial(f)``), not with their values:
                # so does the migrated code, with their counterparts, when the callee is migrated too.
                if not self.migrated_callee(func):
                    raise NotAnExpression
                return node.with_changes(func=callee, args=[self.proxy_argument(a) for a in node.args]), "plain"
            if kind == "plain":
                self.no_function_for_plain_callee(node)
            return node.with_changes(func=primary(self.expr_of(callee, kind)), args=[self.argument(a) for a in node.args]), "expr"
        # A plain callee given proxies: pinjected calls it at import with the proxy objects.
        if self.migrated_callee(func):
            args = [self.proxy_argument(a) for a in node.args]
            if self.external(func):
                # An injected function of another package would make an IProxy call: decided at import.
                return cst.Call(self.need("call_at_import"), [cst.Arg(func), *args]), "plain"
            return node.with_changes(args=args), "plain"
        self.no_function_for_plain_callee(node)
        return node.with_changes(args=[self.argument(a, as_proxy=True) for a in node.args]), "plain"

    def proxy_argument(self, arg: cst.Arg) -> cst.Arg:
        """``arg`` as pinjected hands it to a plain callable at import: an injected function is its IProxy
        (``injected_proxy``: a decorator may rebind its key), anything else as in :meth:`argument`."""
        target = self.entry.provider(arg.value) if isinstance(arg.value, (cst.Name, cst.Attribute)) else None
        if target is not None and target.kind == "injected":
            return arg.with_changes(value=self.call("injected_proxy", cst.Arg(arg.value)))
        return self.argument(arg, as_proxy=True)

    def external(self, func: cst.BaseExpression) -> bool:
        """Whether ``func``'s head is imported from outside the project (its code is not indexed)."""
        state = self.state
        head = (pn.dotted_cst(func) or "").split(".")[0]
        imported = state.facts.imports.get(head)
        return imported is not None and imported[0] not in state.index.sources and not imported[0].startswith("doeff_migrate")

    def migrated_callee(self, func: cst.BaseExpression) -> bool:
        """Whether the plain callable ``func`` (or the factory ``func`` calls, ``deco(cache)``) takes the
        counterparts of pinjected's values: a function of another package (migrated with it), or one of
        this module whose pinjected code is translated (plain_programs.py)."""
        head = func.func if isinstance(func, cst.Call) else func
        dotted = pn.dotted_cst(head)
        if dotted is None or self.state.canonical(head) is not None:
            return False
        if self.external(head):
            return True
        defined = self.entry.plain_functions.get(dotted)
        return defined is not None and not PinjectedUses(self.state).scan(defined)[1]

    def no_function_for_plain_callee(self, node: cst.Call) -> None:
        """A plain callee (a decorator applied by hand, ``async_cached(cache)(Injected.partial(f))``) given
        an injected function gets pinjected's proxy or ``Injected`` of it at import, and may build on
        pinjected's API; no runtime value is provably the same: the statement stays flagged."""
        entry = self.entry
        for a in node.args:
            if entry.passes_injected_function(a.value) or (isinstance(a.value, cst.Name) and a.value.value in entry.function_values):
                raise NotAnExpression

    def combinator(self, attr: str, node: cst.Call) -> cst.BaseExpression:
        if any(a.star for a in node.args):
            raise NotAnExpression
        positional = [a for a in node.args if a.keyword is None]
        keywords = [a for a in node.args if a.keyword is not None]
        if attr == "pure" and len(positional) == 1 and not keywords:
            target = self.entry.provider(positional[0].value)
            if target is not None and target.kind == "injected":
                raise NotAnExpression  # pinjected keeps the IProxy object itself, which has no counterpart
            return self.call("pure_value", cst.Arg(positional[0].value))
        if attr == "by_name" and len(positional) == 1 and not keywords:
            return self.call("by_name", cst.Arg(positional[0].value))
        if attr in ("mzip", "zip", "tuple", "list", "procedure") and not keywords:
            members = [cst.Arg(self.lower(a.value)[0]) for a in positional]
            if attr == "procedure":
                # pinjected's nesting order (entry_points.EntryPoints.combinator): c.., b.., then a, b.
                order = [*reversed(members[2:]), *members[:2]] if len(members) > 1 else members
                index = order.index(members[-1])
                gathered = self.call("list_of", *order)
                return cst.Subscript(gathered, [cst.SubscriptElement(cst.Index(cst.Integer(str(index))))])
            return self.call("list_of" if attr == "list" else "mzip", *members)
        if attr == "dict" and not positional:
            return self.call("dict_of", *[a.with_changes(value=self.lower(a.value)[0]) for a in keywords])
        if attr == "bind" and len(positional) == 1:
            mapping = [a if isinstance(a.value, cst.SimpleString) else a.with_changes(value=self.lower(a.value)[0]) for a in keywords]
            if any(a.keyword.value.startswith("_") and a.keyword.value.endswith("_") for a in mapping):
                raise NotAnExpression  # ``_dynamic_dependencies_``: resolver internals
            return self.call("bind", cst.Arg(positional[0].value), *mapping)
        if attr == "partial" and positional:
            return self.call("partial_of", *[self.argument(a) for a in node.args])
        raise NotAnExpression


def _by_name(entry, node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and entry.state.canonical(node.func) == pn.INJECTED
        and len(node.args) == 1
        and node.args[0].keyword is None
        and isinstance(node.args[0].value, cst.SimpleString)
    )


def primary(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` as the object of an attribute, a subscript or a call: a translated value may be a literal
    or an operation (``Injected.pure(1).proxy.real`` -> ``(1).real``, not ``1.real``)."""
    if getattr(node, "lpar", None) or isinstance(node, (
        cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
        cst.List, cst.Dict, cst.Set, cst.ListComp, cst.SetComp, cst.DictComp,
    )):
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

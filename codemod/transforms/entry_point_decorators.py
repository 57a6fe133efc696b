"""IProxy arguments of decorators kept above a migrated injected function -> Program expressions.

pinjected evaluates those arguments at import, so an IProxy in them
(``async_cached(sqlite_dict(injected("root") / "x"))``) is handed over as the proxy object; the counterpart
is the same expression over ``expr`` (runtime/decoration.py ``injected_proxy``). Used by
``EntryPoints.leave_FunctionDef`` (entry_points.py); ``entry`` is that transformer.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..rules.di import UNTRANSLATABLE_IPROXY
from .entry_point_leaves import has_leaf
from .program_expressions import ExpressionLowering, NotAnExpression


class _ExternalCalls(cst.CSTTransformer):
    """Calls of functions imported from another package, in lowered decorator arguments, whose
    arguments hold a Program expression: ``call_at_import`` decides at import whether the callee is a
    migrated injected function (an IProxy call) or a plain one (called with the proxy objects)."""

    def __init__(self, entry) -> None:
        super().__init__()
        self.entry = entry

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        state = self.entry.state
        head = (pn.dotted_cst(updated_node.func) or "").split(".")[0]
        imported = state.facts.imports.get(head)
        if imported is None or imported[0] in state.index.sources or imported[0].startswith("doeff_migrate"):
            return updated_node
        if not any(_builds_expression(a.value) for a in updated_node.args):
            return updated_node
        return updated_node.with_changes(func=cst.Name(state.need("call_at_import")), args=[cst.Arg(updated_node.func), *updated_node.args])


def _builds_expression(node: cst.CSTNode) -> bool:
    """Whether ``node`` (lowered) builds a Program expression (``by_name``, ``expr``, the combinators)."""
    names = {"by_name", "expr", "pure_value", "mzip", "list_of", "dict_of", "bind", "partial_of", "map_value", "procedure", "as_program"}
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            nonlocal found
            if isinstance(n.func, cst.Name) and n.func.value.removeprefix("_dm_") in names:
                found = True

    node.visit(_Finder())
    return found


def with_lowered_decorator_arguments(entry, function: cst.FunctionDef) -> cst.FunctionDef:
    """``function`` with the IProxy arguments of the decorators above its ``injected_proxy`` lowered."""
    decorators = list(function.decorators)
    position = next((i for i, d in enumerate(decorators) if pn.dotted_cst(d.decorator) in ("injected_proxy", "_dm_injected_proxy")), None)
    if not position:
        return function
    lowering = ExpressionLowering(entry)
    for i, deco in enumerate(decorators[:position]):
        call = deco.decorator
        if not isinstance(call, cst.Call) or not any(has_leaf(entry, a.value) for a in call.args):
            continue
        try:
            args = [lowering.argument(a, as_proxy=True) for a in call.args]
        except NotAnExpression:
            return entry.state.flag(function, UNTRANSLATABLE_IPROXY.code, "decorator argument with no Program-expression counterpart: port it by hand")
        args = [a.with_changes(value=a.value.visit(_ExternalCalls(entry))) for a in args]
        decorators[i] = deco.with_changes(decorator=call.with_changes(args=args))
    return function.with_changes(decorators=decorators)

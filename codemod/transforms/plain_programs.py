"""Plain functions that build pinjected values -> plain functions that build runtime programs.

Library code builds ``Injected`` values in undecorated helpers (cached wrappers, key factories):

    def cached(cache, *keys):                      def cached(cache, *keys):
        key = Injected.mzip(*[Injected              ->      key = mzip(*[ensure_injected(k) for k in keys])
              .ensure_injected(k) for k in keys])           def _impl(func):
        def _impl(func):                                        return bind(provide, cache=cache, func=func, key=key)
            return Injected.bind(provide, cache=cache,      return _impl
                                 func=func, key=key)
        return _impl

Each ``Injected.*`` combinator has a runtime counterpart building the same value lazily
(runtime/expressions.py): ``pure`` -> ``pure_value``, ``by_name`` and ``injected("k")`` -> ``by_name``,
``ensure_injected``, ``mzip``/``zip``/``tuple`` -> ``mzip``, ``list`` -> ``list_of``, ``dict`` ->
``dict_of``, ``bind`` -> ``bind``. The built values are programs, which the runtime resolves where
pinjected resolves an ``Injected`` (design values, entry points, ``bind`` arguments).

A function is translated only as a whole (with the functions it nests; pinjected_uses.py scans it): when anything in it uses
pinjected beyond those calls and ``Injected``/``IProxy`` as types (``.proxy``, ``.eval()``,
``add_dynamic_dependencies``, ``DelegatedVar``, resolver internals, ``Injected.procedure``...), it is
left as it is and ``leftovers.py`` flags it DM135: a half-translated function would mix both worlds.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register
from .base import pinjected_words
from .leftovers import clean_functions, is_generated_program
from .pinjected_uses import UPDATE_IF_REGISTERED, PinjectedUses, plain_callees, without_metadata


class PlainPrograms(MigrationTransformer):
    def __init__(self, state) -> None:
        super().__init__(state)
        # One entry per enclosing function: whether it is translated (nested functions share their
        # outermost function's decision, which covers them).
        self.translating: list[bool] = []
        self.uses = PinjectedUses(state)
        self.clean: frozenset[str] = frozenset()  # functions whose bodies never name pinjected's API

    def visit_Module(self, node: cst.Module) -> bool:
        source = self.state.source
        if self.state.target != "runtime" or (source and "Injected." not in source and "injected(" not in source):
            return False
        if not self.state.names.names and not self.state.names.modules:
            return False
        # A function of the module left with pinjected's API (flagged) takes and returns pinjected's values:
        # a function calling it is translated only if it does not (fixpoint over the module's functions).
        plain, factories = plain_callees(self.state.ast_tree())
        self.uses.module_functions = plain
        self.clean = clean_functions(self.state)
        functions = [n for n in node.body if isinstance(n, cst.FunctionDef) and not n.decorators and n.name.value not in self.clean]
        while True:
            self.uses.callees = (plain, factories)
            left = {f.name.value for f in functions if f.name.value in plain and self.uses.scan(f)[1]}
            if not left:
                return True
            plain, factories = plain - left, factories - left

    def statement_words(self) -> set[str]:
        # A function is translated only when it has a call with a runtime counterpart, a use of pinjected's
        # API (``PinjectedUses.counterpart``: ``state.canonical``); nothing outside such functions changes.
        return pinjected_words(self.state)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if self.translating:
            self.translating.append(self.translating[-1])
        else:
            decorated = any(self.state.canonical(d) is not None for d in node.decorators)
            self.translating.append(
                not decorated and node.name.value not in self.clean and not is_generated_program(node) and self.translatable(node)
            )
        return self.translating[-1]

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.translating.pop()
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self.translating or not self.translating[-1]:
            return updated_node
        if self.injected_call(original_node.func):
            # ``deco(cache=c)(f)``: pinjected's call of an injected function is an IProxy, which the
            # next call extends lazily; the runtime's ``Expr`` does the same.
            inner = updated_node.func
            assert isinstance(inner, cst.Call)
            wrapped = cst.Call(cst.Name(self.state.need("expr")), [cst.Arg(inner.func)])
            updated_node = updated_node.with_changes(func=inner.with_changes(func=wrapped))
        name = self.uses.counterpart(original_node)
        if name is None:
            return updated_node
        if name == UPDATE_IF_REGISTERED:
            return cst.Call(cst.Name(self.state.need(name)), without_metadata(updated_node.args))
        return cst.Call(cst.Name(self.state.need(name)), updated_node.args)

    def injected_call(self, func: cst.BaseExpression) -> bool:
        """Whether ``func`` is the call of a migrated injected function of the project (``deco(...)`` in
        ``deco(...)(f)``)."""
        if not isinstance(func, cst.Call):
            return False
        dotted = pn.dotted_cst(func.func)
        if dotted is None:
            return False
        index = self.state.index
        target = index.resolve_ref(ValueSpec("ref", self.state.module, dotted))
        return target is not None and target.kind == "injected" and not index.is_unmigrated(target)

    # -- what can be translated ---------------------------------------------------------------------
    def translatable(self, node: cst.FunctionDef) -> bool:
        """Whether every pinjected use in ``node`` has a counterpart, and there is at least one call to translate."""
        calls, blocked = self.uses.scan(node)
        return bool(calls) and not blocked


transform = register(
    Transform(
        __name__,
        phase="di",
        order=35,
        transformer=PlainPrograms,
        description="plain functions building Injected values build the runtime's programs instead",
        # Only functions whose body names pinjected's API are translated (a clean one is not even walked).
        needed=lambda facts: facts.mentioning_functions is None or bool(facts.mentioning_functions),
    )
)

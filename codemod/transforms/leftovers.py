"""Flags pinjected machinery no transform translates: runner/IDE/test hooks, class injection, dynamic keys.

pinjected-semantics.md §4.4 items 3, 9 and C15: ``AsyncResolver``, ``test_tree()``, ``_to_pytest``,
``register_fixtures_from_design``, the deprecated ``providers/instances/classes/destructors/injecteds``
builders (DM109), ``injected(SomeClass)`` (DM103) and ``Injected.dynamic`` (DM111) are left as they
are with a flag on the statement that uses them.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from . import MigrationTransformer, Transform, register


class Leftovers(MigrationTransformer):
    def __init__(self, state) -> None:
        super().__init__(state)
        self.inside_pinjected_def = 0

    def visit_Module(self, node: cst.Module) -> bool:
        return self.state.facts.leftover_calls  # the index saw no such call: nothing to walk

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if any(self.state.canonical(d) is not None for d in node.decorators):
            self.inside_pinjected_def += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if any(self.state.canonical(d) is not None for d in original_node.decorators):
            self.inside_pinjected_def -= 1
        return updated_node

    def codes_in(self, node: cst.CSTNode) -> list[str]:
        found: list[str] = []
        state = self.state

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                canonical = state.canonical(call.func)
                dotted = pn.dotted_cst(call.func) or ""
                head, _, attr = dotted.rpartition(".")
                if canonical in pn.RUNNER_SPECIFIC or attr in ("to_graph", "to_resolver") and head in state.facts.design_vars:
                    found.append("DM109")
                elif canonical == pn.INJECTED and call.args and not isinstance(call.args[0].value, cst.SimpleString):
                    found.append("DM103")
                elif state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS and attr == "dynamic":
                    found.append("DM111")

        node.visit(_Finder())
        return list(dict.fromkeys(found))

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if self.inside_pinjected_def:
            return updated_node
        for code in self.codes_in(updated_node):
            updated_node = self.state.flag(updated_node, code)
        return updated_node


transform = register(
    Transform(
        __name__,
        phase="di",
        order=40,
        transformer=Leftovers,
        description="flag pinjected runner/IDE hooks, class injection and dynamic keys that stay as they are",
    )
)

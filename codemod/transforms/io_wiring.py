"""Entry points run under the package's handlers: ``run(p)`` -> ``run(with_effect_handlers(p))``.

A recorder already in ``run``'s stack moves inside the handlers, where it sees the effects they answer; one
after another handler cannot, and the call is flagged (DM321).
"""

from __future__ import annotations

import libcst as cst

from ..rules.phases import RUN_WITH_INNER_RECORDER
from .effectful_code import is_effectful
from .recording import HELPER, is_recording_inside, is_with_effect_handlers, recorder_inside

def before_main_block(body: list, stmt: cst.SimpleStatementLine) -> list:
    """Insert ``stmt`` before a trailing ``if __name__ == "__main__":`` block, else at the end."""
    if body and isinstance(body[-1], cst.If) and "__name__" in cst.Module([]).code_for_node(body[-1].test):
        last = body[-1]
        return [*body[:-1], stmt.with_changes(leading_lines=last.leading_lines), last.with_changes(leading_lines=[cst.EmptyLine()])]
    return [*body, stmt]


class RunWiring(cst.CSTTransformer):
    """``run(p, ...)`` in a module whose programs yield the package's effects -> ``run(with_effect_handlers(p), ...)``.

    Every ``run`` of the bundled runtime outside ``@do`` functions is wired, in plain functions too (a script's
    ``main()``, a test), whatever its program expression: the handlers answer only the package's
    effects, so a program without them is unaffected. A recorder already in ``run``'s stack
    (``*recording_handlers()``) moves inside the handlers, where it sees the effects they answer.
    """

    def __init__(self, owner) -> None:
        super().__init__()
        self.owner = owner
        self.refused = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return not is_effectful(node, self.owner.imports)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if self.refused:
            self.refused = False
            return self.owner.state.flag(updated_node, RUN_WITH_INNER_RECORDER.code)
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        imports = self.owner.imports
        if imports.qualify(original_node.func) != "doeff_migrate.runtime.run":
            return updated_node  # doeff's run cannot run the bundled runtime's handlers
        if not updated_node.args or updated_node.args[0].keyword or updated_node.args[0].star:
            return updated_node
        program = updated_node.args[0].value
        if is_with_effect_handlers(program, imports) or (isinstance(program, cst.Call) and isinstance(program.func, cst.Name)
                                                         and program.func.value == "with_effect_handlers"):
            return updated_node
        args = list(updated_node.args)
        for i, arg in enumerate(args[1:], 1):
            stack = arg.value
            if not ((arg.keyword is None and i == 1) or (arg.keyword is not None and arg.keyword.value == "handlers")):
                continue
            if not isinstance(stack, cst.List):
                continue
            # Recorders first in `run`'s stack (innermost) must stay inside the package's handlers to see the
            # effects they answer: they move into the program, right around it.
            elements = list(stack.elements)
            recorders = [self.is_recorder(e) for e in elements]
            first = next((n for n, r in enumerate(recorders) if not r), len(elements))
            if any(recorders[first:]):
                self.refused = True
                return updated_node
            if first:
                moved, kept = elements[:first], elements[first:]
                if kept:
                    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                args[i] = arg.with_changes(value=stack.with_changes(elements=kept))
                if all(isinstance(e, cst.StarredElement) and _names_call(e.value, HELPER) for e in moved):
                    if not is_recording_inside(program, imports):
                        program = recorder_inside(self.owner.state, program)
                else:  # the user's own RecordingHandler/ReplayHandler (with_handlers lists the outermost first)
                    ordered = [e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for e in reversed(moved)]
                    ordered[-1] = ordered[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    program = cst.Call(cst.Name(self.owner.state.need("with_handlers")), [
                        cst.Arg(cst.List(ordered), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(program)])
        args[0] = args[0].with_changes(value=self.owner.wrapped(program))
        return updated_node.with_changes(args=args)

    def is_recorder(self, element: cst.BaseElement) -> bool:
        if isinstance(element, cst.StarredElement):
            return _names_call(element.value, HELPER)
        value = element.value
        if not isinstance(value, cst.Call):
            return False
        qualified = self.owner.imports.qualify(value.func) or ""
        return qualified.startswith("doeff_migrate.runtime") and qualified.rpartition(".")[2] in ("RecordingHandler", "ReplayHandler")


def _names_call(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == name

"""Handler stacks that entry points build themselves gain the recording wiring: ``*recording_handlers()``.

``run(program, handlers=[a, b])`` becomes ``run(program, handlers=[*recording_handlers(), a, b])`` (first =
innermost, so it records what ``a`` and ``b`` answer), ``run(program)`` / ``run(program, env=...)`` gets
``handlers=[*recording_handlers()]``, and ``with_handlers([a, b], program)`` (first = outermost) becomes
``with_handlers([a, b, *recording_handlers()], program)``. A program the ``io`` phase wrapped,
``run(with_effect_handlers(p), ...)``, gets the recorder inside the package's handlers instead:
``run(with_effect_handlers(with_handlers([*recording_handlers()], p)), ...)``, so it records what they answer.
``recording_handlers()`` comes from the package's
generated ``effects_handlers.py`` and returns ``[]`` unless ``$DOEFF_MIGRATE_RECORD`` (record) or
``$DOEFF_MIGRATE_REPLAY`` (replay) is set, so nothing changes until a run asks for it. Entry points run by
``python -m doeff_migrate.runtime run pkg.mod.var --record PATH`` need no wiring: the runner installs the
recorder itself. Test modules (``test_*.py``, ``*_test.py``, ``conftest.py``) are not entry points and are left
alone. Stacks that are not list literals (DM401) or already record or replay (DM402) are flagged.
"""

from __future__ import annotations

import os

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from ..handler_stubs import HANDLER_MODULE, record_need
from ..state import FileState
from . import MigrationTransformer, Transform, register
from .effectful_code import ImportTable, is_effectful
from ..rules.phases import DOEFF_RUN_NOT_WIRED, HANDLER_STACK_NOT_LITERAL, HANDLER_STACK_WITH_OWN_RECORDING

# The bundled runtime's only: doeff's `run` takes no `handlers=` and cannot run the generated recorder.
_RUN = {"doeff_migrate.runtime.run", "doeff_migrate.runtime.run.run"}
_WITH_HANDLERS = {"doeff_migrate.runtime.with_handlers", "doeff_migrate.runtime.handlers.with_handlers"}
_HANDLER_DECORATORS = {"doeff_migrate.runtime.handler", "doeff_migrate.runtime.handlers.handler"}
_RECORDERS = {"RecordingHandler", "ReplayHandler"}
HELPER = "recording_handlers"


def _mentions(node: cst.CSTNode, names: set[str]) -> bool:
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal found
            found = found or n.value in names

    node.visit(_Finder())
    return found


def _star_helper() -> cst.StarredElement:
    return cst.StarredElement(cst.Call(cst.Name(HELPER)))


def is_with_effect_handlers(node: cst.BaseExpression, imports: ImportTable) -> bool:
    """``with_effect_handlers(program)`` of a generated handler module (what the io phase wraps programs in)."""
    if not (isinstance(node, cst.Call) and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star):
        return False
    qualified = imports.qualify(node.func) or ""
    return qualified == f"{HANDLER_MODULE}.with_effect_handlers" or qualified.endswith(f".{HANDLER_MODULE}.with_effect_handlers")


def is_recording_inside(node: cst.BaseExpression, imports: ImportTable) -> bool:
    """``with_handlers([*recording_handlers()], program)``: a recorder already wired inside."""
    return (isinstance(node, cst.Call) and imports.qualify(node.func) in _WITH_HANDLERS and bool(node.args)
            and _mentions(node.args[0].value, {HELPER}))


def recorder_inside(state: FileState, program: cst.BaseExpression) -> cst.Call:
    """``with_handlers([*recording_handlers()], program)``: the recorder right around the program, inside the
    package's handlers (``with_effect_handlers``), so it records the effects those handlers answer."""
    module = record_need(state)
    AddImportsVisitor.add_needed_import(state.context, module, HELPER)
    return cst.Call(cst.Name(state.need("with_handlers")), [
        cst.Arg(cst.List([_star_helper()]), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        cst.Arg(program),
    ])


class RecordingTransformer(MigrationTransformer):
    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.frames: list[list[str]] = []

    def visit_Module(self, node: cst.Module) -> bool:
        self.imports = ImportTable(node, self.state)
        # The generated module itself defines the helper, and tests are not entry points: a recorder in every
        # test's run would make them all write the one file named by the environment.
        name = os.path.basename(self.state.path)
        is_test = name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
        return self.state.module.rpartition(".")[2] != HANDLER_MODULE and not is_test

    def statement_words(self) -> set[str]:
        # Only calls of ``run`` / ``with_handlers`` are wired or flagged (``leave_Call``).
        return self.imports.heads_of({*_RUN, *_WITH_HANDLERS, "doeff.run", "doeff.with_handlers"})

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        # A run inside effectful code, or a stack a handler installs to answer an effect, is nested in a run
        # that is wired already: a second recorder there would record the same effects again.
        return not is_effectful(node, self.imports) and not any(
            self.imports.qualify(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator) in _HANDLER_DECORATORS
            for d in node.decorators
        )

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.frames.append([])

    def leave_SimpleStatementLine(self, original_node, updated_node):
        for code in dict.fromkeys(self.frames.pop()):
            updated_node = self.state.flag(updated_node, code)
        return updated_node

    def helper(self) -> str:
        module = record_need(self.state)
        AddImportsVisitor.add_needed_import(self.state.context, module, HELPER)
        return HELPER

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        qualified = self.imports.qualify(original_node.func)
        if qualified in _RUN:
            return self.wire_run(updated_node)
        if qualified in _WITH_HANDLERS:
            return self.wire_with_handlers(updated_node)
        if qualified in ("doeff.run", "doeff.with_handlers"):
            self.note(DOEFF_RUN_NOT_WIRED.code)
        return updated_node

    def note(self, code: str) -> None:
        if self.frames:
            self.frames[-1].append(code)

    def wire_run(self, call: cst.Call) -> cst.Call:
        handlers = next((a for a in call.args if a.keyword is not None and a.keyword.value == "handlers"), None)
        first = call.args[0] if call.args and call.args[0].keyword is None and not call.args[0].star else None
        if first is not None and is_with_effect_handlers(first.value, self.imports):
            # run(with_effect_handlers(p), ...): the package's handlers answer p's effects before any handler
            # of `run` sees them, so the recorder goes inside them: with_effect_handlers(with_handlers([rec], p)).
            # (through every layer: a script may run programs of several packages, each wrapping the program)
            layers = [first.value]
            while is_with_effect_handlers(layers[-1].args[0].value, self.imports):  # type: ignore[attr-defined]
                layers.append(layers[-1].args[0].value)  # type: ignore[attr-defined]
            inner = layers[-1].args[0].value  # type: ignore[attr-defined]
            stack = handlers.value if handlers is not None else (call.args[1].value if len(call.args) > 1 and call.args[1].keyword is None else None)
            if is_recording_inside(inner, self.imports) or (stack is not None and _mentions(stack, {HELPER})):
                return call  # already wired
            if stack is not None and _mentions(stack, _RECORDERS):
                self.note(HANDLER_STACK_WITH_OWN_RECORDING.code)
                return call
            rebuilt: cst.BaseExpression = recorder_inside(self.state, inner)
            for layer in reversed(layers):
                rebuilt = layer.with_changes(args=[layer.args[0].with_changes(value=rebuilt)])  # type: ignore[attr-defined]
            return call.with_changes(args=[first.with_changes(value=rebuilt), *call.args[1:]])
        if handlers is None:
            positional = [a for a in call.args if a.keyword is None]
            if len(positional) != 1 or positional[0].star:
                if len(positional) > 1:  # run(program, [h1, h2]) positionally
                    return self.wire_list_arg(call, call.args.index(positional[1]), first=True)
                return call
            self.helper()
            args = list(call.args)
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            new = cst.Arg(cst.List([_star_helper()]),
                          keyword=cst.Name("handlers"),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            return call.with_changes(args=[*args, new])
        return self.wire_list_arg(call, call.args.index(handlers), first=True)

    def wire_with_handlers(self, call: cst.Call) -> cst.Call:
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return call
        return self.wire_list_arg(call, 0, first=False)

    def wire_list_arg(self, call: cst.Call, index: int, *, first: bool) -> cst.Call:
        arg = call.args[index]
        value = arg.value
        if not isinstance(value, cst.List):
            self.note(HANDLER_STACK_NOT_LITERAL.code)
            return call
        if _mentions(value, {HELPER}):
            return call  # already wired
        if _mentions(value, _RECORDERS):
            self.note(HANDLER_STACK_WITH_OWN_RECORDING.code)
            return call
        self.helper()
        elements = list(value.elements)
        star = _star_helper()
        if first:
            if elements:
                star = star.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            elements = [star, *elements]
        else:
            if elements and not isinstance(elements[-1].comma, cst.Comma):
                elements[-1] = elements[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            elements = [*elements, star]
        args = list(call.args)
        args[index] = arg.with_changes(value=value.with_changes(elements=elements))
        return call.with_changes(args=args)


transform = register(
    Transform(
        __name__,
        phase="recording",
        order=70,
        transformer=RecordingTransformer,
        description="handler stacks built by entry points (run(..., handlers=[...]), with_handlers) gain *recording_handlers()",
        # run/with_handlers come from the runtime (or doeff), possibly aliased (``import ... as`` keeps the name)
        prefilter=(("doeff", r"\brun\b|\bwith_handlers\b"),),
    )
)

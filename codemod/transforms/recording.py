"""Handler stacks that entry points build themselves gain the recording wiring: ``*recording_handlers()``.

Seed 000's killer demo: ``run(train(), handlers=[RecordingHandler(path), GPUHandler(), WandBHandler()])``.
``run(program, handlers=[a, b])`` becomes ``run(program, handlers=[*recording_handlers(), a, b])`` (first =
innermost, so it records what ``a`` and ``b`` answer), ``run(program)`` / ``run(program, env=...)`` gets
``handlers=[*recording_handlers()]``, and ``with_handlers([a, b], program)`` (first = outermost) becomes
``with_handlers([a, b, *recording_handlers()], program)``. ``recording_handlers()`` comes from the package's
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
from .compute import ImportTable, is_effectful

_RUN = {"doeff_migrate.runtime.run", "doeff_migrate.runtime.run.run", "doeff.run"}
_WITH_HANDLERS = {"doeff_migrate.runtime.with_handlers", "doeff_migrate.runtime.handlers.with_handlers", "doeff.with_handlers"}
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

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        # A run inside effectful code is a nested run, not an entry point: a second recorder there would
        # write over the first one's file.
        return not is_effectful(node, self.imports)

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
        return updated_node

    def note(self, code: str) -> None:
        if self.frames:
            self.frames[-1].append(code)

    def wire_run(self, call: cst.Call) -> cst.Call:
        handlers = next((a for a in call.args if a.keyword is not None and a.keyword.value == "handlers"), None)
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
            self.note("DM401")
            return call
        if _mentions(value, {HELPER}):
            return call  # already wired
        if _mentions(value, _RECORDERS):
            self.note("DM402")
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
        prefilter=("doeff",),  # run/with_handlers come from the runtime (or doeff), possibly aliased
    )
)

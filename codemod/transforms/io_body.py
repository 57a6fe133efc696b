"""The io body rewriter: one ``@do`` function's own scope, its IO calls, and the flags collected per statement.

Calls are dispatched to the families mixed in (metrics, movable calls, clients, whole-file blocks); what no
family moves is flagged on the statement that holds it.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..handler_stubs import record_need, spec_for_file
from ..rules.phases import (
    EXPLICIT_CACHE_CALL,
    IO_CALL_NOT_MOVABLE,
    IO_HANDLE_IN_EFFECTFUL_CODE,
    IO_NAME_BOUND_SEVERAL_WAYS,
    NPZ_LOAD_NOT_MOVABLE,
)
from ..rules.side_effects import CATEGORY_RULES, DIRECT_FILE_IO
from ..side_effects import IO_CATEGORIES, MovableCall
from .effectful_code import bare_yields, local_names
from .io_clients import ClientCalls, camel, is_constructor
from .io_files import WholeFileBlocks, with_handles_only
from .io_metrics import MetricsCalls
from .io_movable import MovableCalls, npz_path
from .io_siblings import calls_in

_HANDLE_OPENERS = {"h5py.File", "lmdb.open"}

def _is_cache_name(node: cst.BaseExpression) -> bool:
    dotted = pn.dotted_cst(node) or ""
    last = dotted.rpartition(".")[2].lower()
    return last == "cache" or last.endswith("_cache")


class BodyRewriter(MetricsCalls, MovableCalls, ClientCalls, WholeFileBlocks, cst.CSTTransformer):
    def __init__(self, owner, func: cst.FunctionDef) -> None:
        super().__init__()
        self.owner = owner
        self.state = owner.state
        self.shadowed = local_names(func)
        self.frames: list[list[tuple[str, str | None]]] = [[]]
        self.nested = 0
        self.handles = with_handles_only(func)
        self.whole_file: dict[int, tuple[str, cst.SimpleStatementLine]] = {}
        self.with_items: set[int] = set()  # ids of the (original) context expressions of `with` statements

    def qualify(self, node: cst.CSTNode) -> str | None:
        return self.owner.imports.qualify(node, self.shadowed)

    # nested scopes are not this function's body; comprehensions and lambdas cannot hold a ``yield``. What of them
    # runs as part of this function (a nested def's defaults and decorators, a class body) is flagged, not moved.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.frames.append([])
        parts = [p.default for p in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params] if p.default]
        self._note_nested_io([*parts, *(d.decorator for d in node.decorators)], "a nested function's defaults or decorators")
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.frames.append([])
        body = [s for s in getattr(node.body, "body", ()) if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
        self._note_nested_io([*body, *(d.decorator for d in node.decorators)], "a class body")
        return False

    def _note_nested_io(self, parts: list, where: str) -> None:
        for part in parts:
            for call in calls_in(part):
                qualified = self.qualify(call.func)
                if qualified and (self.owner.catalogue.movable(qualified) or qualified.startswith(("wandb.", "mlflow."))
                                  or (self.owner.catalogue.lookup(qualified) is not None
                                      and self.owner.catalogue.lookup(qualified).category in IO_CATEGORIES)):
                    self.note(IO_CALL_NOT_MOVABLE.code, f"`{qualified}(...)` in {where} inside effectful code: left as it is, where `yield` cannot go")
                    return

    def _enter_nested(self, node: cst.CSTNode) -> None:
        self.nested += 1

    def _leave_nested(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        self.nested -= 1
        return updated_node

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter_nested  # type: ignore[assignment]
    leave_Lambda = leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_nested  # type: ignore[assignment]

    # flags are written on the statement that holds the call
    def _enter(self, node: cst.CSTNode) -> None:
        self.frames.append([])

    def _leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        if isinstance(updated_node, cst.SimpleStatementLine) and updated_node is not original_node:
            updated_node = bare_yields(updated_node)
        seen: set[str] = set()
        for code, message in self.frames.pop():
            if code not in seen:
                seen.add(code)
                updated_node = self.state.flag(updated_node, code, message)
        return updated_node

    visit_SimpleStatementLine = visit_If = visit_For = visit_While = visit_Try = _enter  # type: ignore[assignment]
    leave_SimpleStatementLine = leave_If = leave_For = leave_While = leave_Try = _leave  # type: ignore[assignment]
    leave_FunctionDef = leave_ClassDef = _leave  # type: ignore[assignment]  # (frames pushed in visit_*Def)

    # -- whole-file reads and writes: ``with open(p) as f: x = f.read()`` -> ``x = yield ReadText(p)`` ----------
    def visit_With(self, node: cst.With) -> bool:
        self.frames.append([])
        planned = None if self.nested else self.whole_file_plan(node)
        if planned is None:
            self.with_items |= {id(item.item) for item in node.items}
            return True
        self.whole_file[id(node)] = planned
        return False  # built from the original parts in leave_With

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        planned = self.whole_file.pop(id(original_node), None)
        if planned is None:
            return self._leave(original_node, updated_node)
        effect, stmt = planned
        # Arguments may hold IO of their own (``f.write(requests.get(u).text)``): rewrite them too.
        stmt = stmt.visit(self)
        module = record_need(self.state, spec_for_file(effect))
        AddImportsVisitor.add_needed_import(self.state.context, module, effect)
        self.owner.introduced = True
        stmt = stmt.with_changes(leading_lines=original_node.leading_lines)
        return self._leave(original_node, stmt)

    def note(self, code: str, message: str | None = None) -> None:
        self.frames[-1].append((code, message))

    # -- calls ------------------------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        qualified = self.qualify(original_node.func)
        catalogue = self.owner.catalogue
        if qualified is None:
            choices = self.ambiguous_io(original_node.func)
            if choices:
                shown = " or ".join(f"`{c}`" for c in choices) if len(choices) > 1 else f"`{choices[0]}` or to another object"
                self.note(IO_NAME_BOUND_SEVERAL_WAYS.code, f"`{pn.dotted_cst(original_node.func)}(...)` left as it is: the name is bound to "
                                   f"{shown} depending on how the module was loaded")
                return updated_node
            builtin = self.owner.imports.builtin(original_node.func, self.shadowed | self.owner.module_names)
            if builtin == "open":
                self.note(DIRECT_FILE_IO.code, "`open(...)` left as it is: only whole-file `with open(...)` reads and writes are moved")
            elif self.is_cache_call(original_node):
                self.note(EXPLICIT_CACHE_CALL.code)
            else:
                return self.client_call(original_node, updated_node)
            return updated_node
        movable = catalogue.movable(qualified)
        if movable is not None:
            if qualified == "numpy.load" and (id(original_node) in self.with_items or npz_path(original_node)):
                # An `.npz` archive loads as a lazy NpzFile (a context manager over an open file): neither
                # recordable nor replayable, so `--record` would fail at it.
                self.note(NPZ_LOAD_NOT_MOVABLE.code)
                return updated_node
            return self.moved_call(movable, updated_node)
        if qualified.startswith(("wandb.", "mlflow.")):
            return self.metrics_call(qualified, updated_node)
        entry = catalogue.lookup(qualified)
        if entry is None:
            return updated_node
        if entry.category == "llm" and not is_constructor(qualified):
            # A function of the library itself (``openai.ChatCompletion.create``): a plain call, moved whole.
            return self.moved_call(MovableCall(qualified, camel(qualified.split(".")), None), updated_node)
        if qualified in _HANDLE_OPENERS:
            self.note(IO_HANDLE_IN_EFFECTFUL_CODE.code, f"`{qualified}(...)` left as it is: the handle it opens is read and written by the code after it")
        elif entry.category in IO_CATEGORIES and not (entry.category == "llm" and is_constructor(qualified)):
            rule = CATEGORY_RULES[entry.category]
            self.note(rule.code, f"`{qualified}(...)` left as it is: {rule.message.lower()}; it becomes {entry.becomes}")
        return updated_node

    def ambiguous_io(self, func: cst.BaseExpression) -> list[str]:
        """What a call through a name bound several ways at module level may be, when one of them is IO."""
        dotted = pn.dotted_cst(func)
        if dotted is None:
            return []
        head, _, rest = dotted.partition(".")
        bases = self.owner.imports.ambiguous.get(head)
        if not bases or head in self.shadowed:
            return []
        choices = [f"{b}.{rest}" if rest else b for b in dict.fromkeys(bases)]
        catalogue = self.owner.catalogue
        if any(catalogue.movable(c) or catalogue.lookup(c) or c.startswith(("wandb.", "mlflow.")) for c in choices):
            return choices
        return []

    def is_cache_call(self, call: cst.Call) -> bool:
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("get", "set", "put")
            and _is_cache_name(func.value)
            and self.qualify(func.value) is None
        )

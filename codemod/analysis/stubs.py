"""DM60x: handler stubs (``rules/stubs.py``): unimplemented stubs (DM601), effects handled only by a stub
(DM602) or by no handler (DM603, with a stub generated as its fix), and the handler facts they read."""

from __future__ import annotations

import ast
import re

from doeff_migrate.codemod.rules.stubs import STUB_MARKER

from .findings import Edit, Fix, Range
from .module import EFFECT_LIBS, ModuleReader
from ..rules.stubs import EFFECT_ANSWERED_BY_STUB, EFFECT_WITHOUT_HANDLER, UNIMPLEMENTED_HANDLER_STUB

__all__ = ["StubChecks"]


class StubChecks(ModuleReader):
    def _check_yielded_effect(self, call: ast.Call) -> None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name is None:
            return
        is_project_effect = name in self.facts.effect_classes or (self.project is not None and self.project.declares_effect(name))
        if not is_project_effect:
            return
        handlers = list(self.facts.handlers.get(name, ()))
        if self.project is not None:
            handlers += [h for h in self.project.handlers_for(name) if h.path != self.path]
        if handlers and all(h.is_stub for h in handlers):
            names = ", ".join(sorted({f"`{h.name}` ({h.path}:{h.line})" for h in handlers}))
            self.add(
                EFFECT_ANSWERED_BY_STUB.code,
                f"`{name}` is handled only by the unimplemented stub {names}: running this fails with "
                "NotImplementedError until the stub is written",
                call,
            )
        elif not handlers:
            self.add(
                EFFECT_WITHOUT_HANDLER.code,
                f"no `@handler` in the project handles `{name}`: the program stops here with an unhandled effect",
                call,
                fix=self._stub_fix(name),
            )

    def _stub_fix(self, effect: str) -> Fix:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", effect).lower()
        last = len(self.lines)
        needs_blank = bool(self.lines) and self.lines[-1].strip() != ""
        handler_ref = next((local for local, q in self.aliases.items() if q.split(".")[0] in EFFECT_LIBS and q.endswith(".handler")), None)
        edits = []
        if handler_ref is None:
            module = next((q.rsplit(".", 1)[0] for q in self.aliases.values() if q.split(".")[0] in EFFECT_LIBS and q.count(".") >= 1), "doeff_migrate.runtime")
            last_import = self.last_import_line()
            edits.append(Edit(Range(last_import, 0, last_import, 0), f"from {module} import handler\n"))
            handler_ref = "handler"
        text = ("\n" if needs_blank else "") + (
            f"\n\n@{handler_ref}\ndef handle_{snake}(effect: {effect}, k):\n"
            f"    {STUB_MARKER}\n"
            f"    raise NotImplementedError(\"handler stub for {effect}: answer with `return (yield Resume(k, value))`\")\n"
        )
        end_col = len(self.lines[-1]) if self.lines else 0
        edits.append(Edit(Range(max(last - 1, 0), end_col, max(last - 1, 0), end_col), text))
        return Fix(f"Generate a handler stub for `{effect}`", tuple(edits), safe=False)

    # -- DM601: stubs ----------------------------------------------------------------------------------------
    def _check_handler(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        info = self.facts.handler_info(fn.name)
        if info is not None and info.is_stub:
            effects = ", ".join(f"`{e}`" for e in info.effects) or "its effects"
            self.add(
                UNIMPLEMENTED_HANDLER_STUB.code,
                f"handler stub `{fn.name}` for {effects} is not implemented: programs yielding it fail with "
                f"NotImplementedError (write it, then delete the `{STUB_MARKER}` marker)",
                self.def_name_range(fn),
            )
        self._check_discarded_programs(fn, in_generator=True)

    def _record_handler(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        effects: list[str] = []
        params = fn.args.posonlyargs + fn.args.args
        if params and params[0].annotation is not None:
            effects = [e for e in _annotation_names(params[0].annotation) if e not in _GENERIC_EFFECT_NAMES]
        if params and not effects:
            # An untyped (or ``EffectBase``-typed) handler dispatches in its body: ``isinstance(effect, X)``
            # or ``match effect: case X(...)`` name what it handles.
            effects = self._dispatched_effects(fn, params[0].arg)
        first, last = self.span(fn)
        marker = any(STUB_MARKER in self.lines[i] for i in range(max(first - 2, 0), min(last, len(self.lines))))
        raises = any(
            isinstance(n, ast.Raise) and n.exc is not None and _raised_name(n.exc) == "NotImplementedError"
            for n in self._walk_body(fn)
        )
        self.facts.add_handler(fn.name, tuple(effects), self.path, fn.lineno, is_stub=marker and raises)

    def _dispatched_effects(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> list[str]:
        found: list[str] = []
        for node in self._walk_body(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == param
            ):
                found += _annotation_names(node.args[1])
            elif isinstance(node, ast.Match) and isinstance(node.subject, ast.Name) and node.subject.id == param:
                for case in node.cases:
                    for pattern in ast.walk(case.pattern):
                        if isinstance(pattern, ast.MatchClass):
                            found += _annotation_names(pattern.cls)
        return [name for name in found if name not in _GENERIC_EFFECT_NAMES]

_GENERIC_EFFECT_NAMES = frozenset({"EffectBase", "Effect", "Any", "object"})


def _annotation_names(node: ast.expr) -> list[str]:
    """Class names in an annotation or an ``isinstance`` class argument (``A | B``, ``Union[A, B]``, ``(A, B)``)."""
    if isinstance(node, ast.Tuple):
        return [n for item in node.elts for n in _annotation_names(item)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotation_names(node.left) + _annotation_names(node.right)
    if isinstance(node, ast.Subscript):  # Union[A, B]
        inner = node.slice
        items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return [n for item in items for n in _annotation_names(item)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value.split(".")[-1]]
    return []


def _raised_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None

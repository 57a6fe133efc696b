"""Flags pathlib file IO inside ``@do`` functions (DM303): ``path.write_text(...)``, ``Path(p).mkdir()``, ...

The io phase moves catalogued calls into effects; a pathlib method is called on an object, so only a
receiver known to be a path is recognised (``codemod/pathlib_calls.py``). The call is left as it is (it
keeps running where it ran) and its statement gets the flag: a human decides whether it becomes an effect.
"""

from __future__ import annotations

import libcst as cst

from .. import pathlib_calls as pc
from . import EFFECTFUL_FILE, MigrationTransformer, Transform, register
from .compute import ImportTable, is_effectful
from .effectful_code import effectful_words
from ..rules.side_effects import DIRECT_FILE_IO

__all__ = ["PathlibIo"]


class PathlibIo(MigrationTransformer):
    def visit_Module(self, node: cst.Module) -> None:
        self.imports = ImportTable(node, self.state)
        self.frames: list[set[str] | None] = []
        """Per function: the names bound to paths when it is effectful code, None otherwise."""

    def statement_words(self) -> set[str]:
        # Only statements of effectful functions are flagged: each such function shows its ``@do``.
        return effectful_words(self.imports)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not is_effectful(node, self.imports):
            self.frames.append(None)
            return
        names = {p.name.value for p in node.params.params + node.params.kwonly_params + node.params.posonly_params
                 if p.annotation is not None and self.imports.qualify(p.annotation.annotation) in pc.PATH_TYPES}
        self.frames.append(names)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.frames.pop()
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.frames.pop()
        return updated_node

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        names = self.frames[-1] if self.frames else None
        if names is None:
            return updated_node
        found = None
        for small in original_node.body:
            for call in _calls(small):
                if _is_pathlib_io(call, names, self.imports):
                    found = found or call
            if isinstance(small, cst.Assign) and _is_path(small.value, names, self.imports):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        names.add(target.target.value)
        if found is None or not self.state.in_range(original_node):
            return updated_node
        spelled = cst.Module([]).code_for_node(found.func)
        return self.state.flag(updated_node, DIRECT_FILE_IO.code, pc.MESSAGE.format(call=spelled))


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

        def visit_Lambda(self, lam: cst.Lambda) -> bool:
            return False

    node.visit(_Calls())
    return found


def _is_pathlib_io(call: cst.Call, names: set[str], imports: ImportTable) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in pc.IO_METHODS and _is_path(func.value, names, imports)


def _is_path(node: cst.BaseExpression, names: set[str], imports: ImportTable) -> bool:
    if isinstance(node, cst.Name):
        return node.value in names
    if isinstance(node, cst.Call):
        if imports.qualify(node.func) in pc.PATH_TYPES:
            return True
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value in pc.PATH_FACTORIES and imports.qualify(func.value) in pc.PATH_TYPES
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return _is_path(node.left, names, imports)
    return False


transform = register(
    Transform(
        __name__,
        phase="io",
        order=62,
        transformer=PathlibIo,
        description="flag pathlib file IO (write_text, read_bytes, mkdir, ...) inside @do functions",
        prefilter=((EFFECTFUL_FILE, r"\bpathlib\b"),),
    )
)

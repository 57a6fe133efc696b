"""Designs -> env dicts: ``design(k=v)`` -> ``{"k": v}``, ``+`` -> ``|``, ``with design()`` -> overrides.

pinjected-semantics.md §2 C18-C23 and §4.2: every non-Injected value, **including lambdas and other
callables**, is bound as a plain value (trap 1), an ``@injected`` function as the ``@do`` function
object, an ``@instance`` as its lazy program ``inst()`` (evaluated once per run by the runtime's design
env), ``injected("k")`` / ``Injected.by_name("k")`` as ``Ask("k")``, ``Injected.pure(v)`` as ``v``.
``__meta_design__ = design(overrides=d)`` becomes ``__design__ = d``. A module-level
``with design(**o):`` block is dissolved; the runner finds its bindings for every variable assigned
inside it in ``__doeff_overrides__`` (nested blocks merge, inner wins).
"""

from __future__ import annotations

import json

import libcst as cst

from .. import pinjected_names as pn
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register


class DesignTranslator:
    """Turns design expressions into env-dict expressions; ``None`` means "not statically readable"."""

    def __init__(self, transformer: MigrationTransformer, design_vars: set[str]) -> None:
        self.t = transformer
        self.state = transformer.state
        self.design_vars = design_vars
        self.blocked: str | None = None
        """A provider left as pinjected that the last untranslatable design binds (DM117)."""

    def design(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        state = self.state
        if isinstance(node, cst.Call) and state.canonical(node.func) == pn.DESIGN:
            elements = []
            for arg in node.args:
                if arg.keyword is None or arg.star:
                    return None
                value = self.value(arg.value)
                if value is None:
                    return None
                elements.append(cst.DictElement(cst.SimpleString(json.dumps(arg.keyword.value)), value))
            return cst.Dict(elements)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.BitOr)):
            left, right = self.design(node.left), self.design(node.right)
            if left is None or right is None:
                return None
            return node.with_changes(left=left, right=right, operator=cst.BitOr(
                whitespace_before=node.operator.whitespace_before, whitespace_after=node.operator.whitespace_after))
        if isinstance(node, cst.Name) and node.value in self.design_vars:
            return node
        if isinstance(node, cst.Dict) and all(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString) for e in node.elements):
            # An already migrated env dict (combined with a design variable): kept as it is.
            if not any(n in state.names.names or n in state.names.modules for n in _plain_names(node)):
                return node
        return None

    def value(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        state = self.state
        dotted = pn.dotted_cst(node)
        if dotted is not None:
            if state.names.canonical_of_dotted(dotted) is not None:
                return None  # a pinjected API object itself as a value
            target = state.index.resolve_ref(ValueSpec("ref", state.module, dotted))
            if state.index.is_unmigrated(target):
                self.blocked = dotted
                return None
            if target is not None and target.kind == "instance":
                return cst.Call(node)
            return node
        if isinstance(node, cst.Call):
            func = pn.dotted_cst(node.func) or ""
            head, _, attr = func.rpartition(".")
            is_injected_class = state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS
            if (state.canonical(node.func) == pn.INJECTED or (is_injected_class and attr == "by_name")) and _single_string(node):
                return cst.Call(cst.Name(self.t.alias(node.args[0].value)))
            if is_injected_class and attr == "pure" and len(node.args) == 1 and not node.args[0].keyword:
                return node.args[0].value
            if is_injected_class or state.canonical(node.func) is not None:
                return None
            # A call of an injected function with plain arguments is a program (an IProxy before).
            target = state.index.resolve_ref(ValueSpec("ref", state.module, func)) if func else None
            if state.index.is_unmigrated(target):
                self.blocked = func
                return None
            if target is not None and target.kind == "injected" and not _mentions_pinjected(node, self.state):
                return node
        if _mentions_pinjected(node, state):
            return None
        return node


def _is_env_dict(node: cst.BaseExpression) -> bool:
    """An already migrated env: a dict literal, or ``|`` of dicts and names."""
    if isinstance(node, cst.Dict):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return all(isinstance(side, cst.Name) or _is_env_dict(side) for side in (node.left, node.right))
    return False


def _plain_names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_Names())
    return found


def _single_string(node: cst.Call) -> bool:
    return len(node.args) == 1 and node.args[0].keyword is None and isinstance(node.args[0].value, cst.SimpleString)


def _mentions_pinjected(node: cst.CSTNode, state) -> bool:
    """Whether ``node`` refers to a pinjected name or an indexed provider (so it is not a plain value)."""
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal found
            if n.value in state.names.names or n.value in state.names.modules:
                found = True
            elif state.index.resolve_ref(ValueSpec("ref", state.module, n.value)) is not None:
                found = True

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False  # a lambda is a value: its body runs only if someone calls it

    node.visit(_Finder())
    return found


class Designs(MigrationTransformer):
    """Env values that are effects are returned as they are (doeff's reader semantics), so an alias
    ``injected("k")`` becomes a call of a small generated ``@do`` function that asks for ``k``."""

    def __init__(self, state) -> None:
        super().__init__(state)
        self.aliases: dict[str, str] = {}
        self.pending: list[cst.FunctionDef] = []
        self.depth = 0
        self.design_vars: set[str] = {name for name, d in state.facts.design_vars.items() if d is not None}
        self.translator = DesignTranslator(self, self.design_vars)
        self.overrides: list[tuple[str, list[cst.BaseExpression]]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def alias(self, key_literal: cst.SimpleString) -> str:
        key = key_literal.evaluated_value
        if key not in self.aliases:
            name = "_ask_" + "".join(c if c.isalnum() else "_" for c in str(key))
            self.aliases[key] = name
            ask = self.state.need("Ask")
            body = cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(
                cst.Yield(cst.Call(cst.Name(ask), [cst.Arg(key_literal)]), lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))])])
            self.pending.append(cst.FunctionDef(
                cst.Name(name), cst.Parameters(), body,
                decorators=[cst.Decorator(cst.Name(self.state.need("do")))],
                leading_lines=[cst.EmptyLine()],
            ))
        return self.aliases[key]

    def on_leave(self, original_node, updated_node):
        result = super().on_leave(original_node, updated_node)
        if self.pending and isinstance(original_node, cst.SimpleStatementLine) and not isinstance(result, cst.RemovalSentinel):
            hoisted, self.pending = self.pending, []
            if isinstance(result, cst.FlattenSentinel):
                return cst.FlattenSentinel([*hoisted, *result.nodes])
            return cst.FlattenSentinel([*hoisted, result.with_changes(leading_lines=[cst.EmptyLine(), *result.leading_lines]) if not result.leading_lines else result])
        return result

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        if len(updated_node.body) != 1:
            return updated_node
        stmt = updated_node.body[0]
        if isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and stmt.value is not None:
            target = _target_name(stmt)
            is_design = self.is_design_expr(stmt.value) or (
                target in ("__design__", "__meta_design__")
                and _mentions_pinjected(stmt.value, self.state)
                and not _is_env_dict(stmt.value)
            )
            if not is_design:
                return updated_node
            if target in self.state.facts.runner_args:
                return self.state.flag(
                    updated_node, "DM115", f"design `{target}` is used by pinjected machinery that stays (flagged): kept as a Design"
                )
            if target == "__meta_design__":
                return self.meta_design(updated_node, stmt)
            self.translator.blocked = None
            translated = self.translator.design(stmt.value)
            if translated is None and self.translator.blocked:
                return self.state.flag(
                    updated_node, "DM117", f"design binds `{self.translator.blocked}`, which is left as pinjected (flagged): migrate it first"
                )
            if translated is None:
                return self.state.flag(updated_node, "DM115")
            new = stmt.with_changes(value=translated)
            if isinstance(stmt, cst.AugAssign) and isinstance(stmt.operator, cst.AddAssign):
                new = new.with_changes(operator=cst.BitOrAssign(
                    whitespace_before=stmt.operator.whitespace_before, whitespace_after=stmt.operator.whitespace_after))
            if isinstance(stmt, cst.AnnAssign):
                new = cst.Assign([cst.AssignTarget(stmt.target)], translated)
            return updated_node.with_changes(body=[new])
        return updated_node

    def is_design_expr(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call) and self.state.canonical(node.func) == pn.DESIGN:
            return True
        if isinstance(node, cst.BinaryOperation):
            return self.is_design_expr(node.left) or self.is_design_expr(node.right)
        return isinstance(node, cst.Name) and node.value in self.design_vars

    def meta_design(self, line: cst.SimpleStatementLine, stmt) -> cst.SimpleStatementLine:
        value = stmt.value
        if isinstance(value, cst.Call) and self.state.canonical(value.func) == pn.DESIGN:
            if all(a.keyword is not None and a.keyword.value == "overrides" for a in value.args) and len(value.args) == 1:
                translated = self.translator.design(value.args[0].value)
                if translated is not None:
                    return line.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name("__design__"))], translated)])
        return self.state.flag(line, "DM115")

    # -- with design(...) blocks --------------------------------------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body: list[cst.BaseStatement] = []
        for stmt in updated_node.body:
            body += self.dissolve(stmt, [])
        if self.overrides:
            entries = []
            for name, layers in self.overrides:
                merged = layers[0] if len(layers) == 1 else cst.BinaryOperation(layers[0], cst.BitOr(), layers[1])
                for layer in layers[2:]:
                    merged = cst.BinaryOperation(merged, cst.BitOr(), layer)
                entries.append(cst.DictElement(cst.SimpleString(json.dumps(name)), merged))
            body.append(
                cst.SimpleStatementLine(
                    [cst.Assign([cst.AssignTarget(cst.Name("__doeff_overrides__"))], cst.Dict(entries))],
                    leading_lines=[cst.EmptyLine()],
                )
            )
        return updated_node.with_changes(body=body)

    def dissolve(self, stmt: cst.BaseStatement, layers: list[cst.BaseExpression]) -> list[cst.BaseStatement]:
        if isinstance(stmt, cst.With) and len(stmt.items) == 1 and stmt.items[0].asname is None and stmt.asynchronous is None:
            item = stmt.items[0].item
            if self.is_design_expr(item):
                translated = self.translator.design(item)
                if translated is None:
                    return [self.state.flag(stmt, "DM115")]
                inner: list[cst.BaseStatement] = []
                for child in stmt.body.body:  # type: ignore[attr-defined]
                    inner += self.dissolve(child, [*layers, translated])
                if inner and stmt.leading_lines:
                    inner[0] = inner[0].with_changes(leading_lines=[*stmt.leading_lines, *inner[0].leading_lines])
                return inner
        if layers and isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    name = _target_name(small)
                    if name is not None:
                        self.overrides.append((name, layers))
        return [stmt]


def _target_name(stmt) -> str | None:
    if isinstance(stmt, cst.Assign):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
            return stmt.targets[0].target.value
        return None
    target = getattr(stmt, "target", None)
    return target.value if isinstance(target, cst.Name) else None


transform = register(
    Transform(
        __name__,
        phase="di",
        order=20,
        transformer=Designs,
        description="design(...) -> env dicts, + -> |, __meta_design__ -> __design__, with design() -> __doeff_overrides__",
    )
)

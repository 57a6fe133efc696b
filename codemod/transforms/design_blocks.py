"""Module-level ``with design(...)`` blocks of ``designs.py`` dissolved into ``__doeff_overrides__`` (or left
flagged, DM118). Functions over the ``Designs`` transformer ``designs``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import libcst as cst

from ..cst_walk import nodes
from ..rules.di import UNDISSOLVED_WITH_DESIGN
from .design_statements import (
    is_design_expr,
    opaque_design_value,
    runtime_form_keeps_meaning,
    shared_instance_in_env,
)
from .design_syntax import Bindings, assigns, target_name
from .design_translation import mentions_pinjected
from .design_values import runtime_design

OVERRIDES = "__doeff_overrides__"
DM118_ENTRY_MESSAGE = "entry point inside a `with` block whose bindings are not migrated: move it out or migrate the block by hand"


def dissolve_module(designs, updated_node: cst.Module) -> cst.Module:
    """The module with its top-level ``with design`` blocks dissolved and their bindings recorded."""
    body: list[cst.BaseStatement] = []
    initialised = any(assigns(s, OVERRIDES) for s in updated_node.body)
    designs.init_line = None

    def initialised_here(stmt) -> bool:
        return stmt is designs.init_line
    for stmt in updated_node.body:
        recorded = designs.recorded_overrides
        designs.pending = []
        out = dissolve(designs, stmt, [])
        # ``_ask_k`` helpers the with headers needed, at module level before their first use.
        if designs.pending and out:
            # The helpers take the block's place; the block's statements follow after a blank line.
            helpers = [designs.pending[0].with_changes(leading_lines=out[0].leading_lines or [cst.EmptyLine()]), *designs.pending[1:]]
            out = [*helpers, out[0].with_changes(leading_lines=[cst.EmptyLine()]), *out[1:]]
        designs.pending = []
        if designs.recorded_overrides and not recorded and not initialised:
            designs.init_line = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(OVERRIDES))], cst.Dict([]))],
                                                  leading_lines=out[0].leading_lines if out else [])
            out = [designs.init_line, *([out[0].with_changes(leading_lines=[]), *out[1:]] if out else [])]
            initialised = True
        body += out
    if designs.entries and not designs.conditional_overrides:
        # Every block ran unconditionally: one table at the end of the module reads the same (the
        # layers are snapshotted where needed, the first block of a variable wins as in pinjected).
        generated = {id(line) for _, _, line in designs.entries}
        kept: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []
        for stmt in body:
            if id(stmt) in generated or initialised_here(stmt):
                carried += list(stmt.leading_lines)
                continue
            if carried:
                stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
                carried = []
            kept.append(stmt)
        body = kept
        first: dict[str, cst.BaseExpression] = {}
        for name, merged, _ in designs.entries:
            first.setdefault(name, merged)
        order = {name: i for i, name in enumerate(designs.bindings)}  # source order of first binding
        first = dict(sorted(first.items(), key=lambda item: order.get(item[0], len(order))))
        body.append(cst.SimpleStatementLine(
            [cst.Assign([cst.AssignTarget(cst.Name(OVERRIDES))], cst.Dict(
                [cst.DictElement(cst.SimpleString(json.dumps(n)), m) for n, m in first.items()]))],
            leading_lines=[cst.EmptyLine()],
        ))
    return updated_node.with_changes(body=body)


def item_kind(designs, item: cst.WithItem, assigned: Sequence[str]) -> str:
    """``"design"`` (translatable header item), ``"unknown"`` (may be a design we cannot read) or ``"other"``;
    ``assigned``: the names the block's body binds."""
    node = item.item
    if is_design_expr(designs, node):
        return "design"
    if opaque_design_value(designs, node) or mentions_pinjected(node, designs.state):
        return "unknown" if set(assigned) & set(designs.state.facts.entry_points) or designs.state.canonical(node) else "other"
    return "other"


def dissolve(designs, stmt: cst.BaseStatement, layers: list[cst.BaseExpression]) -> list[cst.BaseStatement]:
    if isinstance(stmt, cst.With) and stmt.asynchronous is None:
        assigned = _assigned_in_order(stmt.body)  # walked once: the header's kinds and the overrides use it
        kinds = [item_kind(designs, item, assigned) for item in stmt.items]
        if all(k == "other" for k in kinds):
            designs.conditional += 1  # (a context manager may swallow an exception: body may not complete)
            try:
                return [dissolve_blocks(designs, stmt, layers)]
            finally:
                designs.conditional -= 1
        if any(k != "design" for k in kinds):
            return [flag_block(designs, stmt, "a `with` mixing designs with other context managers, or a design the codemod cannot read")]
        pre: list[cst.BaseStatement] = []
        new_layers = list(layers)
        for item in stmt.items:
            translated = designs.translator.translate(item.item)
            if translated is None and not designs.translator.blocked and runtime_form_keeps_meaning(designs, item.item):
                translated = runtime_design(designs.state, item.item)[0]
            if translated is None:
                reason = designs.translator.problem[1] if designs.translator.problem else (
                    f"its design binds `{designs.translator.blocked}`, which is left as pinjected" if designs.translator.blocked
                    else "its design cannot be read statically")
                return [flag_block(designs, stmt, reason)]
            layer: cst.BaseExpression = translated
            if item.asname is not None:
                if not isinstance(item.asname.name, cst.Name):
                    return [flag_block(designs, stmt, "`with ... as` a target other than a name")]
                # ``Design.__enter__`` returns the design itself: ``d`` becomes the env dict.
                pre.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(item.asname.name)], translated)]))
                layer = item.asname.name
            if needs_snapshot(designs, layer):
                designs.snapshots += 1
                name = cst.Name(f"__doeff_with_{designs.snapshots}__")
                pre.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(name)], layer)]))
                layer = name
            new_layers.append(layer)
        for name in assigned:
            shared = shared_instance_in_env(designs, name)
            if shared is not None:
                return [flag_block(designs, stmt, f"`{shared}` would be bound to several keys of `{name}`'s env, which pinjected builds once")]
        inner: list[cst.BaseStatement] = []
        for child in stmt.body.body:  # type: ignore[attr-defined]
            inner += dissolve(designs, child, new_layers)
        merged = new_layers[0]
        for layer in new_layers[1:]:
            merged = cst.BinaryOperation(merged, cst.BitOr(), layer)
        post = []
        for name in assigned:
            line = cst.SimpleStatementLine([cst.Expr(cst.Call(
                cst.Attribute(cst.Name(OVERRIDES), cst.Name("setdefault")),
                [cst.Arg(cst.SimpleString(json.dumps(name))), cst.Arg(merged)],
            ))])
            post.append(line)
            designs.entries.append((name, merged, line))
        if post:
            designs.recorded_overrides = True
            if designs.conditional:
                # Recorded only if the block runs, as pinjected records it when the block exits.
                designs.conditional_overrides = True
        out = [*pre, *inner, *post]
        if out and stmt.leading_lines:
            out[0] = out[0].with_changes(leading_lines=[*stmt.leading_lines, *out[0].leading_lines])
        return out
    if isinstance(stmt, (cst.If, cst.Try, cst.TryStar, cst.For, cst.While, cst.With)):
        designs.conditional += not isinstance(stmt, cst.With)
        try:
            return [dissolve_blocks(designs, stmt, layers)]
        finally:
            designs.conditional -= not isinstance(stmt, cst.With)
    return [stmt]


def dissolve_blocks(designs, stmt: cst.CSTNode, layers: list[cst.BaseExpression]) -> cst.BaseStatement:
    """``stmt`` with the ``with design`` blocks in its (module-level) bodies dissolved."""
    changes = {}
    for field in ("body", "orelse", "finalbody"):
        block = getattr(stmt, field, None)
        if isinstance(block, cst.IndentedBlock):
            new = []
            for child in block.body:
                new += dissolve(designs, child, layers)
            changes[field] = block.with_changes(body=new)
        elif isinstance(block, (cst.If, cst.Else, cst.Finally)):
            changes[field] = dissolve_blocks(designs, block, layers)
    if isinstance(stmt, (cst.Try, cst.TryStar)):
        changes["handlers"] = [dissolve_blocks(designs, h, layers) for h in stmt.handlers]
    return stmt.with_changes(**changes) if changes else stmt  # type: ignore[return-value]


def needs_snapshot(designs, layer: cst.BaseExpression) -> bool:
    """Whether the layer must be evaluated where the block starts, as pinjected does: it names something
    rebound in the module, or a plain variable whose object later code may mutate (``CONFIG["x"]``).
    Functions, classes, imports and design variables bound once read the same at the end of the module."""
    for name in _names_outside_lambdas(layer):
        count = designs.bindings[name]
        if count > 1 or (count == 1 and name not in designs.stable and name not in designs.design_vars):
            return True
    return False


def flag_block(designs, stmt: cst.With, reason: str) -> cst.With:
    """Leave an undissolvable ``with`` as it is, flagged, and flag every entry point inside it: the
    migrated entry point would silently run without the block's bindings."""
    entries = set(designs.state.facts.entry_points)
    state = designs.state

    class _FlagEntries(cst.CSTTransformer):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def leave_SimpleStatementLine(self, original_node, updated_node):
            assigned = {target_name(s) for s in updated_node.body if isinstance(s, (cst.Assign, cst.AnnAssign))}
            if assigned & entries:
                # Stays pinjected (entry_points leaves it, flagged or not): as a program it would
                # run without the block's bindings.
                state.unmigrated_entries.update(assigned & entries)
                return state.flag(updated_node, UNDISSOLVED_WITH_DESIGN.code, DM118_ENTRY_MESSAGE)
            return updated_node

    body = stmt.body.visit(_FlagEntries())
    return designs.state.flag(stmt.with_changes(body=body), UNDISSOLVED_WITH_DESIGN.code, f"`with` block not dissolved ({reason}): its entry points would lose its bindings")


def _names_outside_lambdas(node: cst.CSTNode) -> set[str]:
    """The names ``node`` reads, outside lambdas (read later) and without attribute names."""
    return {n.value for n in nodes(node, skip=(cst.Lambda,), only=_ATTRIBUTE_HEAD) if type(n) is cst.Name}


_ATTRIBUTE_HEAD = {cst.Attribute: ("value",)}


def _assigned_in_order(block: cst.CSTNode) -> list[str]:
    """Names a ``with`` body binds at module level (what pinjected's override store looks at)."""
    collector = Bindings()
    block.visit(collector)
    return [n for n in dict.fromkeys(collector.names) if not (n.startswith("__doeff_") or n == OVERRIDES)]

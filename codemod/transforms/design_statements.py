"""Design statements of ``designs.py``: ``x = design(...)`` / ``d += ...`` / ``__design__`` / ``__meta_design__``
rewritten to env dicts or runtime designs, or flagged. Functions over the ``Designs`` transformer ``designs``."""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..cst_walk import names_in
from ..rules.di import (
    DEPENDS_ON_UNMIGRATED,
    REEXPORTED_PINJECTED_API,
    SHARED_INSTANCE_IN_DESIGN,
    UNTRANSLATABLE_DESIGN,
)
from .design_syntax import assigns, earlier_flag, target_name
from .design_translation import (
    imported_design,
    is_env_dict,
    mentions_pinjected,
)
from .design_values import DESIGN_NAMES, blocked_provider, runtime_design


def plan_meta_designs(designs, node: cst.Module) -> None:
    """How each top-level ``__design__``/``__meta_design__`` statement is merged (``designs.meta_plan``)."""
    own = [s for s in node.body if assigns(s, "__design__")]
    meta = [s for s in node.body if assigns(s, "__meta_design__")]
    if own and meta:
        # pinjected merges __meta_design__'s overrides first and the module's __design__ on top,
        # whatever the statement order (C23): one meta and one plain __design__ can be merged.
        position = {id(s): i for i, s in enumerate(node.body)}
        plain = [s for s in own if not isinstance(s.body[0], cst.AugAssign)]  # type: ignore[attr-defined]
        if len(meta) == 1 and len(plain) == 1 and plain[0] is own[0] and position[id(meta[0])] > position[id(own[-1])]:
            designs.meta_plan[id(meta[0])] = "under"  # __design__ = meta | __design__
        elif len(meta) == 1 and len(plain) == 1 and plain[0] is own[0] and position[id(meta[0])] < position[id(own[0])]:
            designs.meta_plan[id(meta[0])] = "first"
            designs.meta_plan[id(own[0])] = "over"  # __design__ = __design__ | own
        else:
            for stmt in [*own, *meta]:
                designs.meta_plan[id(stmt)] = "flag"


def rewrite_design_statement(designs, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """A design statement as an env dict or a runtime design, or flagged; any other statement as it is."""
    if len(updated_node.body) != 1:
        return updated_node
    stmt = updated_node.body[0]
    if earlier_flag(updated_node) or (original_node is designs.first_statement and designs.header_flagged):
        # A flag from an earlier run stays authoritative until a human removes it: what it was based
        # on (an entry point that was lifted since, a provider migrated since) may be gone.
        return updated_node
    if isinstance(stmt, cst.ImportFrom) and designs.state.facts.reexported_api and borrows_api(designs, stmt):
        return designs.state.flag(updated_node, REEXPORTED_PINJECTED_API.code)
    if isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and stmt.value is not None:
        target = target_name(stmt)
        special = target in ("__design__", "__meta_design__")
        is_design = is_design_expr(designs, stmt.value) or (
            special and mentions_pinjected(stmt.value, designs.state) and not is_env_dict(stmt.value)
        )
        if not is_design:
            pinjected_file = designs.state.names.used or designs.state.facts.reexported_api
            if special and pinjected_file and opaque_design_value(designs, stmt.value):
                # ``__design__ = make_design(5)``: built by code the codemod does not read. Its helpers'
                # ``design(...)`` calls become runtime designs (``leave_FunctionDef``), so the value
                # is one too, unless the expression itself needs pinjected.
                rewritten, why = runtime_design(designs.state, stmt.value)
                if rewritten is None:
                    return designs.state.flag(updated_node, UNTRANSLATABLE_DESIGN.code, f"`{target}` is computed by code the codemod does not read ({why or 'it binds a provider left as pinjected'}): convert it to an env dict by hand")
                return updated_node.with_changes(body=[stmt.with_changes(value=rewritten)])
            return updated_node
        if target in designs.state.facts.runner_args:
            return designs.state.flag(
                updated_node, UNTRANSLATABLE_DESIGN.code, f"design `{target}` is used by pinjected machinery that stays (flagged): kept as a Design"
            )
        plan = designs.meta_plan.get(id(original_node))
        if target == "__meta_design__":
            if plan == "flag":
                # Several ``__design__`` assignments around it: the runner puts the meta design's
                # ``overrides`` under the module's final ``__design__``, as pinjected does.
                return runtime_meta_design(designs, updated_node, stmt)
            return meta_design(designs, updated_node, stmt, under=plan == "under")
        if plan == "over" and designs.meta_runtime:
            plan = None  # the meta design stayed a runtime value: the runner merges it
        translated = designs.translator.translate(stmt.value)
        if translated is None:
            return flag_untranslated(designs, updated_node)
        shared = shared_instance_in_env(designs) if target == "__design__" else None
        if shared is not None:
            return designs.state.flag(updated_node, SHARED_INSTANCE_IN_DESIGN.code, f"`{shared}` is bound to several keys of this module's env (with the package designs): pinjected builds it once for all of them")
        if plan == "over":
            translated = cst.BinaryOperation(cst.Name("__design__"), cst.BitOr(), translated)
        if isinstance(stmt, cst.AugAssign):
            # ``d += design(...)`` rebinds ``d`` to a new design; ``|=`` would update in place a dict
            # that other names (``__design__ = d``, a ``with d:`` override) may share.
            if not isinstance(stmt.operator, (cst.AddAssign, cst.BitOrAssign)):
                return designs.state.flag(updated_node, UNTRANSLATABLE_DESIGN.code)
            value = cst.BinaryOperation(stmt.target, cst.BitOr(), translated)
            return updated_node.with_changes(body=[cst.Assign([cst.AssignTarget(stmt.target)], value, semicolon=stmt.semicolon)])
        new = stmt.with_changes(value=translated)
        if isinstance(stmt, cst.AnnAssign):
            new = cst.Assign([cst.AssignTarget(stmt.target)], translated)
        return updated_node.with_changes(body=[new])
    return updated_node


def shared_instance_in_env(designs, override: str | None = None) -> str | None:
    """An ``@instance`` bound to two keys of the merged env of this module (package designs included,
    and the ``with`` bindings of the entry point ``override``)."""
    index = designs.state.index
    env = {**(index.env_for(designs.state.module) or {}), **(designs.state.facts.overrides.get(override, {}) if override else {})}
    seen: dict[tuple[str, str], int] = {}
    for spec in env.values():
        target = index.resolve_ref(spec) if spec.kind == "ref" else index.instance_of_call(spec) if spec.kind == "call" else None
        if target is not None and target.kind == "instance":
            ref = (target.module, target.name)
            seen[ref] = seen.get(ref, 0) + 1
            if seen[ref] > 1:
                return target.name
    return None


def flag_untranslated(designs, line):
    """The runtime design form of an untranslatable design statement, or its flag."""
    stmt = line.body[0] if len(line.body) == 1 else None
    if not designs.translator.blocked and runtime_form_keeps_meaning(designs, getattr(stmt, "value", None)):
        value = getattr(stmt, "value", None)
        rewritten, why = runtime_design(designs.state, value) if value is not None else (None, None)
        if rewritten is not None:
            if isinstance(stmt, cst.AugAssign) and not isinstance(stmt.operator, (cst.AddAssign, cst.BitOrAssign)):
                return designs.state.flag(line, UNTRANSLATABLE_DESIGN.code)
            # (``d += ...`` rebinds ``d``: a runtime Design's ``+=`` returns a new design, as in pinjected.)
            return line.with_changes(body=[stmt.with_changes(value=rewritten)])
        blocked = blocked_provider(designs.state, value) if value is not None else None
        if blocked:
            return designs.state.flag(line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{blocked}`, which is left as pinjected (flagged): migrate it first")
        if why:
            return designs.state.flag(line, UNTRANSLATABLE_DESIGN.code, f"design expression the codemod cannot migrate: {why}")
    if designs.translator.blocked:
        return designs.state.flag(
            line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{designs.translator.blocked}`, which is left as pinjected (flagged): migrate it first"
        )
    if designs.translator.problem:
        return designs.state.flag(line, *designs.translator.problem)
    return designs.state.flag(line, UNTRANSLATABLE_DESIGN.code)


def runtime_form_keeps_meaning(designs, node: cst.BaseExpression | None) -> bool:
    """Whether the design the translator refused means the same as a runtime design value. An
    ``@instance`` bound to several keys is shared by a runtime design only among its own
    ``design(...)`` calls, not with design variables already translated to dicts (DM120)."""
    problem = designs.translator.problem
    if node is None or (problem is not None and problem[0] not in (UNTRANSLATABLE_DESIGN.code, SHARED_INSTANCE_IN_DESIGN.code)):
        return False
    if problem is not None and problem[0] == SHARED_INSTANCE_IN_DESIGN.code:
        names = names_in(node)
        return not any(n in designs.design_vars or imported_design(designs.state, n) is not None for n in names)
    return True


def borrows_api(designs, stmt: cst.ImportFrom) -> bool:
    if isinstance(stmt.names, cst.ImportStar):
        return False
    for alias in stmt.names:
        local = alias.evaluated_alias or alias.evaluated_name
        if local in designs.state.facts.names.names and local not in designs.state.names.names:
            return True
    return False


def opaque_design_value(designs, node: cst.BaseExpression) -> bool:
    """A ``__design__`` value that may be a pinjected Design the codemod cannot read."""
    if isinstance(node, cst.Call):
        return pn.dotted_cst(node.func) != "dict"
    if isinstance(node, cst.Name):
        return imported_design(designs.state, node.value) == "unreadable"
    if isinstance(node, cst.BinaryOperation):
        return opaque_design_value(designs, node.left) or opaque_design_value(designs, node.right)
    return False


def is_design_expr(designs, node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call) and designs.state.canonical(node.func) == pn.DESIGN:
        return True
    if isinstance(node, cst.BinaryOperation):
        return is_design_expr(designs, node.left) or is_design_expr(designs, node.right)
    return isinstance(node, cst.Name) and (
        node.value in designs.state.facts.design_vars or imported_design(designs.state, node.value) is not None)


def meta_design(designs, line: cst.SimpleStatementLine, stmt, under: bool = False) -> cst.SimpleStatementLine:
    value = stmt.value
    if isinstance(value, cst.Call) and designs.state.canonical(value.func) == pn.DESIGN:
        if all(a.keyword is not None and a.keyword.value == "overrides" for a in value.args) and len(value.args) == 1:
            translated = designs.translator.translate(value.args[0].value)
            if translated is None:
                return flag_untranslated(designs, line)
            if under:  # the module's __design__ (assigned above) stays on top
                translated = cst.BinaryOperation(translated, cst.BitOr(), cst.Name("__design__"))
            return line.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name("__design__"))], translated)])
    return runtime_meta_design(designs, line, stmt)


def runtime_meta_design(designs, line: cst.SimpleStatementLine, stmt) -> cst.SimpleStatementLine:
    """``__meta_design__`` kept as a runtime design: the runner puts its bindings and then its
    ``overrides`` under the module's ``__design__``. ``default_design_paths`` configures
    pinjected's own runner: flagged."""
    value = stmt.value
    if isinstance(value, cst.Call) and designs.state.canonical(value.func) is None and (
            pn.dotted_cst(value.func) or "").removeprefix("_dm_") in DESIGN_NAMES:
        return line  # already a runtime design (an earlier run)
    if not (isinstance(value, cst.Call) and designs.state.canonical(value.func) in DESIGN_NAMES
            and all(a.keyword is None or a.keyword.value != "default_design_paths" for a in value.args)):
        return designs.state.flag(line, UNTRANSLATABLE_DESIGN.code, "`__meta_design__` with `default_design_paths=` configures pinjected's runner: port by hand")
    rewritten, why = runtime_design(designs.state, value)
    if rewritten is None:
        blocked = blocked_provider(designs.state, value)
        if blocked:
            return designs.state.flag(line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{blocked}`, which is left as pinjected (flagged): migrate it first")
        return designs.state.flag(line, UNTRANSLATABLE_DESIGN.code, f"design expression the codemod cannot migrate: {why}")
    designs.meta_runtime = True
    if isinstance(stmt, cst.AnnAssign):
        return line.with_changes(body=[cst.Assign([cst.AssignTarget(stmt.target)], rewritten)])
    return line.with_changes(body=[stmt.with_changes(value=rewritten)])

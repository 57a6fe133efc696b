"""Designs -> env dicts: ``design(k=v)`` -> ``{"k": v}``, ``+`` -> ``|``, ``with design()`` -> overrides.

pinjected-semantics.md §2 C18-C23 and §4.2: every non-Injected value, **including lambdas and other
callables**, is bound as a plain value (trap 1), an ``@injected`` function as the ``@do`` function
object, an ``@instance`` as its lazy program ``inst()`` (evaluated once per run by the runtime's design
env), ``injected("k")`` / ``Injected.by_name("k")`` as ``Ask("k")``, ``Injected.pure(v)`` as ``v``.
``__meta_design__ = design(overrides=d)`` becomes ``__design__ = d`` (merged under the module's own
``__design__`` when it has both, C23). ``d += design(...)`` becomes ``d = d | {...}``: designs are values,
so a rebinding, never an in-place update of a dict other names may share.

A module-level ``with design(**o):`` block (also ``with a, b:``, ``with ... as d:``, and blocks under
module-level ``if``/``try``/loops) is dissolved: its statements stay where they were and, where the
block ended, ``__doeff_overrides__.setdefault("var", layers)`` records the bindings for every variable
assigned inside it (nested blocks merge, inner wins; the first block a variable was assigned in wins,
as in pinjected's ``DesignOverridesStore``). A layer that names a variable rebound elsewhere in the
module is snapshotted where the block starts (``__doeff_with_1__ = ...``), since pinjected evaluates
the design when the block is entered. A block whose design cannot be read is left as it is and
flagged with every entry point inside it (DM118).

A design that is not a literal combination (``design(**kw)``, a helper's design, ``providers(...)``,
``injected("cfg")["key"]``, a ``__meta_design__`` the codemod cannot merge, an ``@instance`` returning
a design) keeps its shape as a runtime design value (``design_values.py``, ``runtime/designs.py``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

import libcst as cst

from .. import pinjected_names as pn
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register
from .design_values import DESIGN_NAMES, blocked_provider, rewrite_helper_designs, runtime_design
from ..rules.di import DEPENDENCY_CYCLE, DEPENDS_ON_UNMIGRATED, ENTRY_POINT_IN_DESIGN, REEXPORTED_PINJECTED_API, SHARED_INSTANCE_IN_DESIGN, UNDISSOLVED_WITH_DESIGN, UNTRANSLATABLE_DESIGN

OVERRIDES = "__doeff_overrides__"
_REEXPORT_IMPORT = r"^[ \t]*from[ \t]+[\w.]+[ \t]+import\b[^\n]*\b(?:injected|instance|injected_instance|design|IProxy|Injected)\b"


class DesignTranslator:
    """Turns design expressions into env-dict expressions; ``None`` means "not statically readable"."""

    def __init__(self, transformer: MigrationTransformer, design_vars: set[str]) -> None:
        self.t = transformer
        self.state = transformer.state
        self.design_vars = design_vars
        self.blocked: str | None = None
        """A provider left as pinjected that the last untranslatable design binds (DM117)."""
        self.problem: tuple[str, str] | None = None
        """Why the last design could not be translated, as (code, message), when it is not DM115/DM117."""
        self.instances: list[tuple[str, str]] = []
        """``@instance`` providers bound by the design being translated, one entry per binding."""

    def translate(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """A whole design expression; ``None`` with ``blocked``/``problem`` telling why."""
        self.blocked, self.problem, self.instances = None, None, []
        translated = self.design(node)
        shared = [ref for ref, n in Counter(self.instances).items() if n > 1]
        if translated is not None and shared:
            module, name = shared[0]
            self.problem = (SHARED_INSTANCE_IN_DESIGN.code, f"`{name}` ({module}) is bound to several keys: pinjected builds it once for all of them")
            return None
        return translated

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
            for spec in (self.state.facts.design_vars.get(node.value) or {}).values():
                self.note_instance(self.state.index.resolve_ref(spec) if spec.kind == "ref" else self.state.index.instance_of_call(spec) if spec.kind == "call" else None)
            return node
        if isinstance(node, cst.Name) and imported_design(self.state, node.value) == "readable":
            return node  # a design variable of another module: an env dict there too
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
                self.note_instance(target)
                return cst.Call(node)
            if target is None and lifted_entry_point(state, dotted):
                if state.target != "runtime":
                    self.problem = (ENTRY_POINT_IN_DESIGN.code, f"design binds the entry point `{dotted}`, which is not a plain program after migration")
                    return None
                # A lifted ``@do`` function or a Program expression: ``as_program`` gives its program,
                # which the env evaluates once, as pinjected resolves an IProxy bound in a design.
                return cst.Call(cst.Name(state.need("as_program")), [cst.Arg(node)])
            if target is None and isinstance(node, cst.Attribute):
                # ``fn.proxy`` / ``settings.db_url``: an attribute of a provider (design side).
                parts = dotted.split(".")
                for i in range(len(parts) - 1, 0, -1):
                    owner = state.index.resolve_ref(ValueSpec("ref", state.module, ".".join(parts[:i])))
                    if owner is None:
                        continue
                    if parts[i:] == ["proxy"]:
                        return self.value(node.value)  # ``.proxy`` is the provider itself (C13)
                    self.problem = (UNTRANSLATABLE_DESIGN.code, f"design binds `{dotted}`, an attribute of the provider `{'.'.join(parts[:i])}`: bind a program computing it by hand")
                    return None
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

    def note_instance(self, target) -> None:
        if target is not None and target.kind == "instance":
            self.instances.append((target.module, target.name))


def imported_design(state, name: str) -> str | None:
    """``"readable"`` / ``"unreadable"`` when ``name`` is imported from a module where it is a design
    variable the index could / could not read; ``None`` when it is not an imported design."""
    origin = state.facts.imports.get(name)
    facts = state.index.modules.get(origin[0]) if origin else None
    if facts is None or origin[1] not in facts.design_vars:
        return None
    return "readable" if facts.design_vars[origin[1]] is not None else "unreadable"


def lifted_entry_point(state, dotted: str) -> bool:
    """An entry point (here or imported) that migration turns into a ``@do`` function or leaves pinjected."""
    facts, name = state.facts, dotted
    head, _, rest = dotted.partition(".")
    for _ in range(5):
        if "." not in name and name in facts.lifted_entry_points:
            return True
        origin = facts.imports.get(head)
        if origin is None:
            return False
        module_name = ".".join(p for p in origin if p) if rest else origin[0]
        name = rest or origin[1]
        facts = state.index.modules.get(module_name)
        if facts is None:
            return False
        head, _, rest = name.partition(".")
    return False


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
        self._bindings: tuple[Counter[str], set[str]] | None = None
        self._module: cst.Module | None = None
        self.snapshots = 0
        self.recorded_overrides = False
        self.conditional = 0
        """Depth of module-level ``if``/``try``/loop bodies around the statement being dissolved."""
        self.conditional_overrides = False
        self.entries: list[tuple[str, cst.BaseExpression, cst.SimpleStatementLine]] = []
        """(variable, merged layers, the ``setdefault`` statement recording them) per dissolved block."""
        self.meta_plan: dict[int, str] = {}
        """id of a top-level ``__design__``/``__meta_design__`` statement -> how to merge it."""
        self.meta_runtime = False
        """``__meta_design__`` was kept as a runtime design (the runner merges it, not the codemod)."""

    def visit_Module(self, node: cst.Module) -> None:
        self._module, self._bindings = node, None
        # Comments above the first statement belong to the module's header in LibCST.
        self.first_statement = node.body[0] if node.body else None
        self.header_flagged = _earlier_flag(cst.EmptyLine(), node.header)
        own = [s for s in node.body if _assigns(s, "__design__")]
        meta = [s for s in node.body if _assigns(s, "__meta_design__")]
        if own and meta:
            # pinjected merges __meta_design__'s overrides first and the module's __design__ on top,
            # whatever the statement order (C23): one meta and one plain __design__ can be merged.
            position = {id(s): i for i, s in enumerate(node.body)}
            plain = [s for s in own if not isinstance(s.body[0], cst.AugAssign)]  # type: ignore[attr-defined]
            if len(meta) == 1 and len(plain) == 1 and plain[0] is own[0] and position[id(meta[0])] > position[id(own[-1])]:
                self.meta_plan[id(meta[0])] = "under"  # __design__ = meta | __design__
            elif len(meta) == 1 and len(plain) == 1 and plain[0] is own[0] and position[id(meta[0])] < position[id(own[0])]:
                self.meta_plan[id(meta[0])] = "first"
                self.meta_plan[id(own[0])] = "over"  # __design__ = __design__ | own
            else:
                for stmt in [*own, *meta]:
                    self.meta_plan[id(stmt)] = "flag"

    @property
    def bindings(self) -> Counter[str]:
        """How often each name is bound at module level (computed when a ``with`` block needs it)."""
        return self._module_bindings()[0]

    @property
    def stable(self) -> set[str]:
        """Module-level functions, classes and imports."""
        return self._module_bindings()[1]

    def _module_bindings(self) -> tuple[Counter[str], set[str]]:
        if self._bindings is None:
            self._bindings = _module_bindings(self._module) if self._module is not None else (Counter(), set())
        return self._bindings

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        # (Only module-level definitions get here: bodies are not visited.)
        if (self.state.module, updated_node.name.value) in self.state.index.cyclic_providers():
            return self.state.flag(updated_node, DEPENDENCY_CYCLE.code)
        return rewrite_helper_designs(self.state, updated_node)

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
        if _earlier_flag(updated_node) or (original_node is self.first_statement and self.header_flagged):
            # A flag from an earlier run stays authoritative until a human removes it: what it was based
            # on (an entry point that was lifted since, a provider migrated since) may be gone.
            return updated_node
        if isinstance(stmt, cst.ImportFrom) and self.state.facts.reexported_api and self.borrows_api(stmt):
            return self.state.flag(updated_node, REEXPORTED_PINJECTED_API.code)
        if isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and stmt.value is not None:
            target = _target_name(stmt)
            special = target in ("__design__", "__meta_design__")
            is_design = self.is_design_expr(stmt.value) or (
                special and _mentions_pinjected(stmt.value, self.state) and not _is_env_dict(stmt.value)
            )
            if not is_design:
                pinjected_file = self.state.names.used or self.state.facts.reexported_api
                if special and pinjected_file and self.opaque_design_value(stmt.value):
                    # ``__design__ = make_design(5)``: built by code the codemod does not read. Its helpers'
                    # ``design(...)`` calls become runtime designs (``leave_FunctionDef``), so the value
                    # is one too, unless the expression itself needs pinjected.
                    rewritten, why = runtime_design(self.state, stmt.value)
                    if rewritten is None:
                        return self.state.flag(updated_node, UNTRANSLATABLE_DESIGN.code, f"`{target}` is computed by code the codemod does not read ({why or 'it binds a provider left as pinjected'}): convert it to an env dict by hand")
                    return updated_node.with_changes(body=[stmt.with_changes(value=rewritten)])
                return updated_node
            if target in self.state.facts.runner_args:
                return self.state.flag(
                    updated_node, UNTRANSLATABLE_DESIGN.code, f"design `{target}` is used by pinjected machinery that stays (flagged): kept as a Design"
                )
            plan = self.meta_plan.get(id(original_node))
            if target == "__meta_design__":
                if plan == "flag":
                    # Several ``__design__`` assignments around it: the runner puts the meta design's
                    # ``overrides`` under the module's final ``__design__``, as pinjected does.
                    return self.runtime_meta_design(updated_node, stmt)
                return self.meta_design(updated_node, stmt, under=plan == "under")
            if plan == "over" and self.meta_runtime:
                plan = None  # the meta design stayed a runtime value: the runner merges it
            translated = self.translator.translate(stmt.value)
            if translated is None:
                return self.flag_untranslated(updated_node)
            shared = self.shared_instance_in_env() if target == "__design__" else None
            if shared is not None:
                return self.state.flag(updated_node, SHARED_INSTANCE_IN_DESIGN.code, f"`{shared}` is bound to several keys of this module's env (with the package designs): pinjected builds it once for all of them")
            if plan == "over":
                translated = cst.BinaryOperation(cst.Name("__design__"), cst.BitOr(), translated)
            if isinstance(stmt, cst.AugAssign):
                # ``d += design(...)`` rebinds ``d`` to a new design; ``|=`` would update in place a dict
                # that other names (``__design__ = d``, a ``with d:`` override) may share.
                if not isinstance(stmt.operator, (cst.AddAssign, cst.BitOrAssign)):
                    return self.state.flag(updated_node, UNTRANSLATABLE_DESIGN.code)
                value = cst.BinaryOperation(stmt.target, cst.BitOr(), translated)
                return updated_node.with_changes(body=[cst.Assign([cst.AssignTarget(stmt.target)], value, semicolon=stmt.semicolon)])
            new = stmt.with_changes(value=translated)
            if isinstance(stmt, cst.AnnAssign):
                new = cst.Assign([cst.AssignTarget(stmt.target)], translated)
            return updated_node.with_changes(body=[new])
        return updated_node

    def shared_instance_in_env(self, override: str | None = None) -> str | None:
        """An ``@instance`` bound to two keys of the merged env of this module (package designs included,
        and the ``with`` bindings of the entry point ``override``)."""
        index = self.state.index
        env = {**(index.env_for(self.state.module) or {}), **(self.state.facts.overrides.get(override, {}) if override else {})}
        seen: dict[tuple[str, str], int] = {}
        for spec in env.values():
            target = index.resolve_ref(spec) if spec.kind == "ref" else index.instance_of_call(spec) if spec.kind == "call" else None
            if target is not None and target.kind == "instance":
                ref = (target.module, target.name)
                seen[ref] = seen.get(ref, 0) + 1
                if seen[ref] > 1:
                    return target.name
        return None

    def flag_untranslated(self, line):
        """The runtime design form of an untranslatable design statement, or its flag."""
        stmt = line.body[0] if len(line.body) == 1 else None
        if not self.translator.blocked and self.runtime_form_keeps_meaning(getattr(stmt, "value", None)):
            value = getattr(stmt, "value", None)
            rewritten, why = runtime_design(self.state, value) if value is not None else (None, None)
            if rewritten is not None:
                if isinstance(stmt, cst.AugAssign) and not isinstance(stmt.operator, (cst.AddAssign, cst.BitOrAssign)):
                    return self.state.flag(line, UNTRANSLATABLE_DESIGN.code)
                # (``d += ...`` rebinds ``d``: a runtime Design's ``+=`` returns a new design, as in pinjected.)
                return line.with_changes(body=[stmt.with_changes(value=rewritten)])
            blocked = blocked_provider(self.state, value) if value is not None else None
            if blocked:
                return self.state.flag(line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{blocked}`, which is left as pinjected (flagged): migrate it first")
            if why:
                return self.state.flag(line, UNTRANSLATABLE_DESIGN.code, f"design expression the codemod cannot migrate: {why}")
        if self.translator.blocked:
            return self.state.flag(
                line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{self.translator.blocked}`, which is left as pinjected (flagged): migrate it first"
            )
        if self.translator.problem:
            return self.state.flag(line, *self.translator.problem)
        return self.state.flag(line, UNTRANSLATABLE_DESIGN.code)

    def runtime_form_keeps_meaning(self, node: cst.BaseExpression | None) -> bool:
        """Whether the design the translator refused means the same as a runtime design value. An
        ``@instance`` bound to several keys is shared by a runtime design only among its own
        ``design(...)`` calls, not with design variables already translated to dicts (DM120)."""
        problem = self.translator.problem
        if node is None or (problem is not None and problem[0] not in (UNTRANSLATABLE_DESIGN.code, SHARED_INSTANCE_IN_DESIGN.code)):
            return False
        if problem is not None and problem[0] == SHARED_INSTANCE_IN_DESIGN.code:
            names = _plain_names(node)
            return not any(n in self.design_vars or imported_design(self.state, n) is not None for n in names)
        return True

    def borrows_api(self, stmt: cst.ImportFrom) -> bool:
        if isinstance(stmt.names, cst.ImportStar):
            return False
        for alias in stmt.names:
            local = alias.evaluated_alias or alias.evaluated_name
            if local in self.state.facts.names.names and local not in self.state.names.names:
                return True
        return False

    def opaque_design_value(self, node: cst.BaseExpression) -> bool:
        """A ``__design__`` value that may be a pinjected Design the codemod cannot read."""
        if isinstance(node, cst.Call):
            return pn.dotted_cst(node.func) != "dict"
        if isinstance(node, cst.Name):
            return imported_design(self.state, node.value) == "unreadable"
        if isinstance(node, cst.BinaryOperation):
            return self.opaque_design_value(node.left) or self.opaque_design_value(node.right)
        return False

    def is_design_expr(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call) and self.state.canonical(node.func) == pn.DESIGN:
            return True
        if isinstance(node, cst.BinaryOperation):
            return self.is_design_expr(node.left) or self.is_design_expr(node.right)
        return isinstance(node, cst.Name) and (
            node.value in self.state.facts.design_vars or imported_design(self.state, node.value) is not None)

    def meta_design(self, line: cst.SimpleStatementLine, stmt, under: bool = False) -> cst.SimpleStatementLine:
        value = stmt.value
        if isinstance(value, cst.Call) and self.state.canonical(value.func) == pn.DESIGN:
            if all(a.keyword is not None and a.keyword.value == "overrides" for a in value.args) and len(value.args) == 1:
                translated = self.translator.translate(value.args[0].value)
                if translated is None:
                    return self.flag_untranslated(line)
                if under:  # the module's __design__ (assigned above) stays on top
                    translated = cst.BinaryOperation(translated, cst.BitOr(), cst.Name("__design__"))
                return line.with_changes(body=[cst.Assign([cst.AssignTarget(cst.Name("__design__"))], translated)])
        return self.runtime_meta_design(line, stmt)

    def runtime_meta_design(self, line: cst.SimpleStatementLine, stmt) -> cst.SimpleStatementLine:
        """``__meta_design__`` kept as a runtime design: the runner puts its bindings and then its
        ``overrides`` under the module's ``__design__``. ``default_design_paths`` configures
        pinjected's own runner: flagged."""
        value = stmt.value
        if isinstance(value, cst.Call) and self.state.canonical(value.func) is None and (
                pn.dotted_cst(value.func) or "").removeprefix("_dm_") in DESIGN_NAMES:
            return line  # already a runtime design (an earlier run)
        if not (isinstance(value, cst.Call) and self.state.canonical(value.func) in DESIGN_NAMES
                and all(a.keyword is None or a.keyword.value != "default_design_paths" for a in value.args)):
            return self.state.flag(line, UNTRANSLATABLE_DESIGN.code, "`__meta_design__` with `default_design_paths=` configures pinjected's runner: port by hand")
        rewritten, why = runtime_design(self.state, value)
        if rewritten is None:
            blocked = blocked_provider(self.state, value)
            if blocked:
                return self.state.flag(line, DEPENDS_ON_UNMIGRATED.code, f"design binds `{blocked}`, which is left as pinjected (flagged): migrate it first")
            return self.state.flag(line, UNTRANSLATABLE_DESIGN.code, f"design expression the codemod cannot migrate: {why}")
        self.meta_runtime = True
        if isinstance(stmt, cst.AnnAssign):
            return line.with_changes(body=[cst.Assign([cst.AssignTarget(stmt.target)], rewritten)])
        return line.with_changes(body=[stmt.with_changes(value=rewritten)])

    # -- with design(...) blocks --------------------------------------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body: list[cst.BaseStatement] = []
        initialised = any(_assigns(s, OVERRIDES) for s in updated_node.body)
        self.init_line = None

        def initialised_here(stmt) -> bool:
            return stmt is self.init_line
        for stmt in updated_node.body:
            recorded = self.recorded_overrides
            self.pending = []
            out = self.dissolve(stmt, [])
            # ``_ask_k`` helpers the with headers needed, at module level before their first use.
            if self.pending and out:
                # The helpers take the block's place; the block's statements follow after a blank line.
                helpers = [self.pending[0].with_changes(leading_lines=out[0].leading_lines or [cst.EmptyLine()]), *self.pending[1:]]
                out = [*helpers, out[0].with_changes(leading_lines=[cst.EmptyLine()]), *out[1:]]
            self.pending = []
            if self.recorded_overrides and not recorded and not initialised:
                self.init_line = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(OVERRIDES))], cst.Dict([]))],
                                                         leading_lines=out[0].leading_lines if out else [])
                out = [self.init_line, *([out[0].with_changes(leading_lines=[]), *out[1:]] if out else [])]
                initialised = True
            body += out
        if self.entries and not self.conditional_overrides:
            # Every block ran unconditionally: one table at the end of the module reads the same (the
            # layers are snapshotted where needed, the first block of a variable wins as in pinjected).
            generated = {id(line) for _, _, line in self.entries}
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
            for name, merged, _ in self.entries:
                first.setdefault(name, merged)
            order = {name: i for i, name in enumerate(self.bindings)}  # source order of first binding
            first = dict(sorted(first.items(), key=lambda item: order.get(item[0], len(order))))
            body.append(cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name(OVERRIDES))], cst.Dict(
                    [cst.DictElement(cst.SimpleString(json.dumps(n)), m) for n, m in first.items()]))],
                leading_lines=[cst.EmptyLine()],
            ))
        return updated_node.with_changes(body=body)

    def item_kind(self, item: cst.WithItem, assigned: Sequence[str]) -> str:
        """``"design"`` (translatable header item), ``"unknown"`` (may be a design we cannot read) or ``"other"``;
        ``assigned``: the names the block's body binds."""
        node = item.item
        if self.is_design_expr(node):
            return "design"
        if self.opaque_design_value(node) or _mentions_pinjected(node, self.state):
            return "unknown" if set(assigned) & set(self.state.facts.entry_points) or self.state.canonical(node) else "other"
        return "other"

    def dissolve(self, stmt: cst.BaseStatement, layers: list[cst.BaseExpression]) -> list[cst.BaseStatement]:
        if isinstance(stmt, cst.With) and stmt.asynchronous is None:
            assigned = _assigned_in_order(stmt.body)  # walked once: the header's kinds and the overrides use it
            kinds = [self.item_kind(item, assigned) for item in stmt.items]
            if all(k == "other" for k in kinds):
                self.conditional += 1  # (a context manager may swallow an exception: body may not complete)
                try:
                    return [self.dissolve_blocks(stmt, layers)]
                finally:
                    self.conditional -= 1
            if any(k != "design" for k in kinds):
                return [self.flag_block(stmt, "a `with` mixing designs with other context managers, or a design the codemod cannot read")]
            pre: list[cst.BaseStatement] = []
            new_layers = list(layers)
            for item in stmt.items:
                translated = self.translator.translate(item.item)
                if translated is None and not self.translator.blocked and self.runtime_form_keeps_meaning(item.item):
                    translated = runtime_design(self.state, item.item)[0]
                if translated is None:
                    reason = self.translator.problem[1] if self.translator.problem else (
                        f"its design binds `{self.translator.blocked}`, which is left as pinjected" if self.translator.blocked
                        else "its design cannot be read statically")
                    return [self.flag_block(stmt, reason)]
                layer: cst.BaseExpression = translated
                if item.asname is not None:
                    if not isinstance(item.asname.name, cst.Name):
                        return [self.flag_block(stmt, "`with ... as` a target other than a name")]
                    # ``Design.__enter__`` returns the design itself: ``d`` becomes the env dict.
                    pre.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(item.asname.name)], translated)]))
                    layer = item.asname.name
                if self.needs_snapshot(layer):
                    self.snapshots += 1
                    name = cst.Name(f"__doeff_with_{self.snapshots}__")
                    pre.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(name)], layer)]))
                    layer = name
                new_layers.append(layer)
            for name in assigned:
                shared = self.shared_instance_in_env(name)
                if shared is not None:
                    return [self.flag_block(stmt, f"`{shared}` would be bound to several keys of `{name}`'s env, which pinjected builds once")]
            inner: list[cst.BaseStatement] = []
            for child in stmt.body.body:  # type: ignore[attr-defined]
                inner += self.dissolve(child, new_layers)
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
                self.entries.append((name, merged, line))
            if post:
                self.recorded_overrides = True
                if self.conditional:
                    # Recorded only if the block runs, as pinjected records it when the block exits.
                    self.conditional_overrides = True
            out = [*pre, *inner, *post]
            if out and stmt.leading_lines:
                out[0] = out[0].with_changes(leading_lines=[*stmt.leading_lines, *out[0].leading_lines])
            return out
        if isinstance(stmt, (cst.If, cst.Try, cst.TryStar, cst.For, cst.While, cst.With)):
            self.conditional += not isinstance(stmt, cst.With)
            try:
                return [self.dissolve_blocks(stmt, layers)]
            finally:
                self.conditional -= not isinstance(stmt, cst.With)
        return [stmt]

    def dissolve_blocks(self, stmt: cst.CSTNode, layers: list[cst.BaseExpression]) -> cst.BaseStatement:
        """``stmt`` with the ``with design`` blocks in its (module-level) bodies dissolved."""
        changes = {}
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if isinstance(block, cst.IndentedBlock):
                new = []
                for child in block.body:
                    new += self.dissolve(child, layers)
                changes[field] = block.with_changes(body=new)
            elif isinstance(block, (cst.If, cst.Else, cst.Finally)):
                changes[field] = self.dissolve_blocks(block, layers)
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            changes["handlers"] = [self.dissolve_blocks(h, layers) for h in stmt.handlers]
        return stmt.with_changes(**changes) if changes else stmt  # type: ignore[return-value]

    def needs_snapshot(self, layer: cst.BaseExpression) -> bool:
        """Whether the layer must be evaluated where the block starts, as pinjected does: it names something
        rebound in the module, or a plain variable whose object later code may mutate (``CONFIG["x"]``).
        Functions, classes, imports and design variables bound once read the same at the end of the module."""
        for name in _names_outside_lambdas(layer):
            count = self.bindings[name]
            if count > 1 or (count == 1 and name not in self.stable and name not in self.design_vars):
                return True
        return False

    def flag_block(self, stmt: cst.With, reason: str) -> cst.With:
        """Leave an undissolvable ``with`` as it is, flagged, and flag every entry point inside it: the
        migrated entry point would silently run without the block's bindings."""
        entries = set(self.state.facts.entry_points)
        state = self.state

        class _FlagEntries(cst.CSTTransformer):
            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def leave_SimpleStatementLine(self, original_node, updated_node):
                assigned = {_target_name(s) for s in updated_node.body if isinstance(s, (cst.Assign, cst.AnnAssign))}
                if assigned & entries:
                    # Stays pinjected (entry_points leaves it, flagged or not): as a program it would
                    # run without the block's bindings.
                    state.unmigrated_entries.update(assigned & entries)
                    return state.flag(updated_node, UNDISSOLVED_WITH_DESIGN.code, DM118_ENTRY_MESSAGE)
                return updated_node

        body = stmt.body.visit(_FlagEntries())
        return self.state.flag(stmt.with_changes(body=body), UNDISSOLVED_WITH_DESIGN.code, f"`with` block not dissolved ({reason}): its entry points would lose its bindings")


DM118_ENTRY_MESSAGE = "entry point inside a `with` block whose bindings are not migrated: move it out or migrate the block by hand"

# The flags this transform writes on design statements (other transforms' flags there, e.g. the bridges'
# DM161, say nothing about whether the design itself can be translated).
_EARLIER_FLAG = re.compile(r"# doeff-migrate: DM(115|117|118|119|120|121|122): ")


def _earlier_flag(stmt: cst.CSTNode, lines=None) -> bool:
    """A design flag of an earlier run above ``stmt``."""
    return any(
        line.comment is not None and _EARLIER_FLAG.match(line.comment.value)
        for line in (getattr(stmt, "leading_lines", ()) if lines is None else lines)
    )


def _assigns(stmt: cst.CSTNode, name: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], (cst.Assign, cst.AnnAssign, cst.AugAssign))
        and _target_name(stmt.body[0]) == name
    )


def _names_outside_lambdas(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

    node.visit(_Names())
    return found


class _Bindings(cst.CSTVisitor):
    """Module-level name bindings (statements nested in module-level compound statements included)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.stable: set[str] = set()
        """Names bound by ``def``/``class``/``import`` (their objects are not mutated by plain code)."""

    def _target(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.append(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._target(element.value)
        elif isinstance(node, cst.StarredElement):
            self._target(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.append(node.name.value)
        self.stable.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.append(node.name.value)
        self.stable.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Import(self, node: cst.Import) -> None:
        self._imported(node.names)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            self._imported(node.names)

    def _imported(self, aliases) -> None:
        for alias in aliases:
            local = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
            self.stable.add(local)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:
            self.names.append((pn.dotted_cst(node.name) or "").split(".")[0])


def _module_bindings(module: cst.Module) -> tuple[Counter[str], set[str]]:
    collector = _Bindings()
    module.visit(collector)
    return Counter(collector.names), collector.stable


def _assigned_in_order(block: cst.CSTNode) -> list[str]:
    """Names a ``with`` body binds at module level (what pinjected's override store looks at)."""
    collector = _Bindings()
    block.visit(collector)
    return [n for n in dict.fromkeys(collector.names) if not (n.startswith("__doeff_") or n == OVERRIDES)]


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
        # Also files importing pinjected's API through a project module (flagged DM122).
        prefilter=("from pinjected", "import pinjected", _REEXPORT_IMPORT),
    )
)

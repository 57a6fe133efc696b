"""Design expressions -> env-dict expressions (the static form of ``designs.py``), and the facts about
names (imported designs, lifted entry points, pinjected mentions) the design rewrites read."""

from __future__ import annotations

import json
from collections import Counter

import libcst as cst

from .. import pinjected_names as pn
from ..cst_walk import names_in
from ..index import ValueSpec
from ..rules.di import (
    ENTRY_POINT_IN_DESIGN,
    SHARED_INSTANCE_IN_DESIGN,
    UNTRANSLATABLE_DESIGN,
)
from . import MigrationTransformer
from .base import single_string


class DesignTranslator:
    """Turns design expressions into env-dict expressions; ``None`` means "not statically readable"."""

    def __init__(self, transformer: MigrationTransformer, design_vars: set[str]) -> None:
        self.transformer = transformer
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
            if not any(n in state.names.names or n in state.names.modules for n in names_in(node)):
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
            if (state.canonical(node.func) == pn.INJECTED or (is_injected_class and attr == "by_name")) and single_string(node):
                return cst.Call(cst.Name(self.transformer.alias(node.args[0].value)))
            if is_injected_class and attr == "pure" and len(node.args) == 1 and not node.args[0].keyword:
                return node.args[0].value
            if is_injected_class or state.canonical(node.func) is not None:
                return None
            # A call of an injected function with plain arguments is a program (an IProxy before).
            target = state.index.resolve_ref(ValueSpec("ref", state.module, func)) if func else None
            if state.index.is_unmigrated(target):
                self.blocked = func
                return None
            if target is not None and target.kind == "injected" and not mentions_pinjected(node, self.state):
                return node
        if mentions_pinjected(node, state):
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


def is_env_dict(node: cst.BaseExpression) -> bool:
    """An already migrated env: a dict literal, or ``|`` of dicts and names."""
    if isinstance(node, cst.Dict):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return all(isinstance(side, cst.Name) or is_env_dict(side) for side in (node.left, node.right))
    return False


def mentions_pinjected(node: cst.CSTNode, state) -> bool:
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

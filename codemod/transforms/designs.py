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

from collections import Counter

import libcst as cst

from ..rules.di import DEPENDENCY_CYCLE
from . import MigrationTransformer, Transform, register
from .base import pinjected_words
from .design_blocks import DM118_ENTRY_MESSAGE, OVERRIDES, dissolve_module
from .design_statements import plan_meta_designs, rewrite_design_statement
from .design_syntax import earlier_flag, module_bindings
from .design_translation import DesignTranslator, imported_design, lifted_entry_point
from .design_values import rewrite_helper_designs

__all__ = ["DM118_ENTRY_MESSAGE", "OVERRIDES", "DesignTranslator", "Designs", "imported_design", "lifted_entry_point", "transform"]

_REEXPORT_IMPORT = r"^[ \t]*from[ \t]+[\w.]+[ \t]+import\b[^\n]*\b(?:injected|instance|injected_instance|design|IProxy|Injected)\b"


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
        self.header_flagged = earlier_flag(cst.EmptyLine(), node.header)
        plan_meta_designs(self, node)

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
            self._bindings = module_bindings(self._module) if self._module is not None else (Counter(), set())
        return self._bindings

    def statement_words(self) -> set[str] | None:
        # A statement is rewritten or flagged when it uses pinjected's API (``design(...)``, ``injected``), a
        # design variable of this module or one imported (``is_design_expr``), ``__design__`` /
        # ``__meta_design__``, or defines a provider in a dependency cycle. Imports that borrow pinjected's API
        # through a project module are flagged by what they import: every statement is visited then.
        facts = self.state.facts
        if facts.reexported_api:
            return None
        cyclic = {name for module, name in self.state.index.cyclic_providers() if module == self.state.module}
        return {
            *pinjected_words(self.state), *facts.design_vars, *(name.split(".")[0] for name in facts.imports),
            "__design__", "__meta_design__", *cyclic,
        }

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
        return rewrite_design_statement(self, original_node, updated_node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return dissolve_module(self, updated_node)


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

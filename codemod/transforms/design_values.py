"""Design expressions that are not literal become runtime design values (``runtime/designs.py``).

The static form (an env dict literal, ``design_translation.DesignTranslator``) is kept where the expression is a
literal ``design(k=v)`` combination. Anything else pinjected computes at run time (``design(**PROFILE)``,
a helper returning ``design(...)``, ``providers(...)``/``classes(...)``/``instances(...)``,
``injected("cfg")["key"]``, ``Injected.bind(...)``, ``__meta_design__`` the codemod cannot merge) keeps
its shape, with pinjected's design API replaced by the runtime's counterparts, which follow
pinjected's rules when the runner builds the env::

    __design__ = design(**PROFILE) + providers(total=lambda a, b: a + b)
    # becomes
    __design__ = design(**PROFILE) + providers(total=lambda a, b: a + b)   # from doeff_migrate.runtime.designs

Names the module binds itself get a ``_dm_`` alias, as every generated import does.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..index import ValueSpec
from .leftovers import clean_functions

DESIGNS_MODULE = "doeff_migrate.runtime.designs"

# pinjected's design API with a runtime counterpart of the same name.
DESIGN_NAMES = {"design", "providers", "instances", "classes", "EmptyDesign", "Design"}
INJECTED_METHODS = {"by_name", "pure", "bind"}
_PROGRAM_BUILDERS = {"providers", "classes", "injected", "Injected"}


def _local_name(state, name: str) -> str:
    """The name the runtime's ``name`` is written as (a ``_dm_`` alias when the module binds ``name``)."""
    # (``from pinjected import *`` binds it without an import statement naming it.)
    return f"_dm_{name}" if state.binds(name) or name in state.names.names else name


def _import(state, names: set[str]) -> None:
    for name in sorted(names):
        local = _local_name(state, name)
        AddImportsVisitor.add_needed_import(state.context, DESIGNS_MODULE, name, local if local != name else None)


class _Rewriter(cst.CSTTransformer):
    """Replaces pinjected design API references; records what it cannot replace."""

    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
        self.left: str | None = None
        """A pinjected name, or a provider left as pinjected, the expression still needs."""
        self.blocked: str | None = None
        self.builds_programs = False
        """The design binds something computed in the run (an instance, a provider, a key expression)."""
        self.needed: set[str] = set()
        """Runtime names the rewritten expression uses (imported only if the rewrite is kept)."""
        self.not_references: set[int] = set()
        """Names that are attribute names or keywords, not references (``cfg.design``, ``f(design=1)``)."""

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_references.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.not_references.add(id(node.keyword))

    def _runtime(self, name: str) -> str:
        self.needed.add(name)
        if name in _PROGRAM_BUILDERS:
            self.builds_programs = True
        return _local_name(self.state, name)

    def _canonical(self, node: cst.CSTNode) -> str | None:
        return self.state.names.canonical_of_dotted(pn.dotted_cst(node))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        canonical = self._canonical(func)
        if canonical == pn.INJECTED:
            if len(original_node.args) == 1 and isinstance(original_node.args[0].value, cst.SimpleString) and not original_node.args[0].keyword:
                return updated_node.with_changes(func=cst.Name(self._runtime("injected")))
            self.left = self.left or "`injected(...)` of a class or function"
            return updated_node
        if isinstance(func, cst.Attribute) and self._canonical(func.value) == pn.INJECTED_CLASS:
            if func.attr.value in INJECTED_METHODS:
                return updated_node.with_changes(
                    func=cst.Attribute(cst.Name(self._runtime("Injected")), func.attr))
            self.left = self.left or f"`Injected.{func.attr.value}`"
        return updated_node

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        head = pn.dotted_cst(original_node.value)
        if head is not None and head not in self.state.names.modules and self.state.names.canonical_of_dotted(head) is None:
            # ``settings.db_url`` of an ``@instance settings``: an IProxy attribute in pinjected, an
            # attribute of the ``@do`` function after migration.
            if self.state.index.resolve_ref(ValueSpec("ref", self.state.module, head)) is not None:
                self.left = self.left or f"`{head}.{original_node.attr.value}` (an attribute of a provider)"
        # ``pj.design`` (``import pinjected as pj``)
        if head is not None and head in self.state.names.modules:
            if original_node.attr.value in DESIGN_NAMES:
                return cst.Name(self._runtime(original_node.attr.value))
            if original_node.attr.value not in (pn.INJECTED, pn.INJECTED_CLASS):
                self.left = self.left or f"`{head}.{original_node.attr.value}`"
        return updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        if id(original_node) in self.not_references:
            return updated_node
        canonical = self.state.names.names.get(original_node.value)
        if canonical in DESIGN_NAMES:
            return cst.Name(self._runtime(canonical))
        if canonical is not None and canonical not in (pn.INJECTED, pn.INJECTED_CLASS):
            self.left = self.left or f"`{original_node.value}`"
        elif canonical is None:
            target = self.state.index.resolve_ref(ValueSpec("ref", self.state.module, original_node.value))
            if self.state.index.is_unmigrated(target):
                self.blocked = self.blocked or original_node.value
            elif target is not None and target.kind == "instance":
                self.builds_programs = True
        return updated_node


class _Leftover(cst.CSTVisitor):
    """Whether a rewritten expression still names pinjected's ``injected``/``Injected``."""

    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.state.names.names:
            self.found = True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        head = pn.dotted_cst(node.value)
        if head is not None and head in self.state.names.modules:
            self.found = True
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


def runtime_design(state, node: cst.BaseExpression) -> tuple[cst.BaseExpression | None, str | None]:
    """``node`` with pinjected's design API replaced by the runtime's; ``(None, why)`` when it needs
    something without a runtime counterpart (``why`` names it), ``(None, None)`` if nothing is wrong
    but a provider it binds is left as pinjected (DM117, reported by the caller)."""
    rewriter = _Rewriter(state)
    rewritten = node.visit(rewriter)
    if rewriter.blocked:
        return None, None
    if rewriter.left:
        return None, f"{rewriter.left} has no runtime design counterpart"
    if rewriter.builds_programs and state.target == "doeff":
        return None, "a runtime design that builds programs (instances, providers, `injected(...)` values) runs on the bundled runtime only, not with `--target doeff`"
    leftover = _Leftover(state)
    rewritten.visit(leftover)
    if leftover.found:
        return None, "it uses pinjected's `injected`/`Injected` in a way a design value cannot express"
    _import(state, rewriter.needed)
    return rewritten, None  # type: ignore[return-value]


def blocked_provider(state, node: cst.BaseExpression) -> str | None:
    """A provider left as pinjected that ``node`` names (its design cannot bind it yet: DM117)."""
    rewriter = _Rewriter(state)
    node.visit(rewriter)
    return rewriter.blocked


class _DesignCalls(cst.CSTTransformer):
    """Rewrites design API calls (and the ``injected("k")`` values inside them) in a plain function."""

    def __init__(self, state) -> None:
        super().__init__()
        self.state = state
        self.changed = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return True

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        # ``with design(...):`` inside a function scopes pinjected's resolution (DM135), a Design
        # value has no such meaning: left for that rule.
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        canonical = self.state.names.canonical_of_dotted(pn.dotted_cst(original_node.func))
        if canonical not in DESIGN_NAMES:
            return updated_node
        rewritten, _why = runtime_design(self.state, updated_node)
        if rewritten is None:
            return updated_node
        self.changed = True
        return rewritten


def rewrite_helper_designs(state, node: cst.FunctionDef) -> cst.FunctionDef:
    """A module-level function's ``design(...)`` calls as runtime design values (a helper, or an
    ``@instance`` returning a design, migrated before this transform runs): the function returns a
    design the runner reads, as pinjected's runner read the original."""
    if any(state.canonical(d) is not None for d in node.decorators):
        return node  # still a pinjected provider (flagged): its designs stay pinjected Designs
    if node.name.value in clean_functions(state):
        return node  # its body never names pinjected's API: no design call to find
    visitor = _DesignCalls(state)
    body = node.body.visit(visitor)
    return node.with_changes(body=body) if visitor.changed else node

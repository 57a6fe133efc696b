"""Module-level IProxy entry points and ``Injected`` combinators -> programs, plus their required keys.

pinjected-semantics.md §2 C7-C14, C17 and §4.2. ``main: IProxy[int] = f(3)`` becomes
``main: Program[int] = f(3)`` (calling the ``@do`` function builds the same lazy computation); an
expression over injected values is lifted into a ``@do`` function of the same name in which every
pinjected leaf is ``yield``ed: calls of injected functions, ``@instance`` objects (run again, as a
value passed by object is in pinjected), ``injected("k")`` -> ``Ask("k")``, ``Injected.pure(v)`` -> ``v``,
``Injected.bind(f, **m)`` -> ``f`` called with asked keys (defaults ignored, renames honoured),
``Injected.mzip/zip/tuple/list/dict`` -> ``Spawn`` each + ``Gather`` (members run in order when they
do not block, as in pinjected), ``Injected.procedure`` -> one ``yield`` after the other, ``.map(f)`` on an
``Injected`` -> ``f(value)``. Per entry point and ``@instance``, the keys it can ``Ask`` for (transitive,
dependencies first) go to ``__doeff_requires__`` for the runner's pre-flight check and eager build.
What the lifting cannot prove (method calls on values, ``.await__()``, functions defined elsewhere)
stays an expression over the runtime's ``Expr`` (program_expressions.py); an entry point of another
module is a leaf through ``as_program``.

The parts are functions over this transformer's state: the leaves (entry_point_leaves.py), the lifted
body (entry_point_lifting.py), the combinators (entry_point_combinators.py), decorator arguments
(entry_point_decorators.py) and ``__doeff_requires__`` (entry_point_requires.py).
"""

from __future__ import annotations

import dataclasses

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register
from .base import pinjected_words
from . import entry_point_combinators as combinators
from . import entry_point_leaves as leaves
from . import entry_point_lifting as lifting
from .entry_point_decorators import with_lowered_decorator_arguments
from ..cst_walk import names_in
from .entry_point_lifting import NO_DOEFF_EXPRESSIONS as _NO_DOEFF_EXPRESSIONS, Untranslatable
from .entry_point_requires import with_requires_written
from .effectful_code import assigned_names
from .program_expressions import ExpressionLowering, NotAnExpression
from ..rules.di import UNDISSOLVED_WITH_DESIGN, UNTRANSLATABLE_IPROXY

# Refusals of the lifting that a Program expression (program_expressions.py) resolves at run time.
_LOWERED_AS_EXPRESSION = frozenset({UNTRANSLATABLE_IPROXY.code})
_PASSED_AS_VALUE = "an injected function is passed as a value here: pinjected resolves it to a callable, a program is not one"


class EntryPoints(MigrationTransformer):
    """The transformer of the family; its parts (leaves, lifting, combinators, decorator arguments,
    ``__doeff_requires__``) are functions of the ``entry_point_*`` modules over its state, reached through
    the methods below (program_expressions.py's ``ExpressionLowering`` asks it through them too)."""

    def __init__(self, state) -> None:
        super().__init__(state)
        self.programs: dict[str, str] = {}  # migrated entry point -> "program" | "function"
        self.function_values: set[str] = set()  # entry points whose value holds an injected function
        self.plain_functions: dict[str, cst.FunctionDef] = {}
        self.prelude: list[cst.SimpleStatementLine] = []  # statements of the @do being lifted
        self.captured: list[cst.SimpleStatementLine] = []  # module-level temporaries placed before it
        self.entry = ""  # the entry point being lifted
        self.repeated: set[str] = set()  # leaves that occur more than once in it: yielded once
        self.yielded: dict[str, str] = {}  # leaf -> local holding its value
        self.module_names: set[str] | None = None
        self.module_node: cst.Module | None = None
        self.injected_names: set[str] = set()  # migrated module variables that held an ``Injected``

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return with_lowered_decorator_arguments(self, updated_node)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef):
                if not stmt.decorators:
                    self.plain_functions[stmt.name.value] = stmt

    def statement_words(self) -> set[str]:
        # A statement is lifted or lowered only when it holds a leaf or an annotation of pinjected's
        # (``has_leaf``, ``is_iproxy``): a use of pinjected's API, a name the index resolves to a provider
        # (defined, aliased or imported here, or a dotted name under a package of the project), or an entry point
        # of this module; a function only when it has the ``injected_proxy`` decorator the di phase writes.
        facts, index = self.state.facts, self.state.index
        return {
            *pinjected_words(self.state), *facts.providers, *facts.variables, *(name.split(".")[0] for name in facts.imports),
            *{module.split(".")[0] for module in (*index.modules, *getattr(index.modules, "pending", ()))},
            *_assigned_names(self.module_node),
            "injected_proxy", "_dm_injected_proxy",
        }

    # -- leaves (entry_point_leaves.py) --------------------------------------------------------
    def provider(self, node: cst.BaseExpression):
        return leaves.provider(self, node)

    def injected_class_call(self, node: cst.BaseExpression) -> str | None:
        return leaves.injected_class_call(self, node)

    def returns_injected(self, node: cst.BaseExpression) -> bool:
        return leaves.returns_injected(self, node)

    def uses_pinjected(self, node: cst.CSTNode) -> bool:
        return leaves.uses_pinjected(self, node)

    def has_leaf(self, node: cst.CSTNode) -> bool:
        return leaves.has_leaf(self, node)

    def has_leaf_in_args(self, call: cst.Call) -> bool:
        return leaves.has_leaf_in_args(self, call)

    def is_leaf(self, node: cst.BaseExpression) -> bool:
        return leaves.is_leaf(self, node)

    def imported_entry_point(self, name: str) -> bool:
        return leaves.imported_entry_point(self, name)

    def passes_injected_function(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` references an injected function other than as the callee of a call."""
        return bool(leaves.passed_injected_functions(self, node))

    def passed_injected_functions(self, node: cst.BaseExpression) -> list:
        return leaves.passed_injected_functions(self, node)

    def is_iproxy(self, annotation: cst.BaseExpression) -> bool:
        return leaves.is_iproxy(self, annotation)

    def is_program(self, annotation: cst.BaseExpression) -> bool:
        return leaves.is_program(self, annotation)

    # -- lifting (entry_point_lifting.py, entry_point_combinators.py) ---------------------------
    def program_of(self, node: cst.BaseExpression) -> cst.BaseExpression:
        return lifting.program_of(self, node)

    def value_of(self, node: cst.BaseExpression) -> cst.BaseExpression:
        return lifting.value_of(self, node)

    def repeated_leaves(self, node: cst.BaseExpression) -> set[str]:
        return lifting.repeated_leaves(self, node)

    def combinator(self, attr: str, node: cst.Call) -> cst.BaseExpression:
        return combinators.combinator(self, attr, node)

    # -- statements ---------------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if len(updated_node.body) != 1:
            return updated_node
        stmt = updated_node.body[0]
        if isinstance(stmt, cst.Expr) or (
            isinstance(stmt, cst.Assign) and (len(stmt.targets) != 1 or not isinstance(stmt.targets[0].target, cst.Name))
        ):
            return self.lowered_statement(updated_node, stmt)
        if not isinstance(stmt, (cst.Assign, cst.AnnAssign)) or stmt.value is None:
            return updated_node
        name = stmt.targets[0].target.value if isinstance(stmt, cst.Assign) else getattr(stmt.target, "value", None)
        if name is None or (name.startswith("__") and name.endswith("__")) or name in self.state.facts.design_vars:
            return updated_node
        annotated = isinstance(stmt, cst.AnnAssign) and self.is_iproxy(stmt.annotation.annotation)
        if not annotated and not (self.has_leaf(stmt.value) and self.uses_pinjected(stmt.value)):
            # Over migrated bindings only: already programs (a second run, or code written for them).
            return updated_node
        if isinstance(stmt, cst.AnnAssign) and self.is_program(stmt.annotation.annotation):
            return updated_node  # written by an earlier run (``x: Program = inst()``): already a program
        if name in self.state.unmigrated_entries:
            # In a ``with`` block whose design is not migrated (designs.py flags the block): as a
            # program it would run without the block's bindings, silently.
            from .designs import DM118_ENTRY_MESSAGE

            return self.left_as_is(updated_node, name, UNDISSOLVED_WITH_DESIGN.code, DM118_ENTRY_MESSAGE)
        value = stmt.value
        if self.returns_injected(value):
            self.injected_names.add(name)
        self.prelude, self.captured, self.yielded = [], [], {}
        self.entry = name
        index = self.state.index
        names = names_in(value)
        left = sorted(
            n for n in names
            if n in self.state.unmigrated or index.is_unmigrated(index.resolve_ref(ValueSpec("ref", self.state.module, n)))
        )
        if left:
            return self.left_as_is(
                updated_node, name, UNTRANSLATABLE_IPROXY.code, f"entry point uses `{left[0]}`, which was left as pinjected: migrate it first"
            )
        passed = self.passed_injected_functions(value)
        if passed and self.state.target != "runtime":
            return self.left_as_is(updated_node, name, UNTRANSLATABLE_IPROXY.code, _PASSED_AS_VALUE)
        if not self.has_leaf(value) and not passed:
            # Annotated but built from plain values (a dict of programs, a value): only the annotation changes.
            return self.as_program(updated_node, stmt, name, value, register=False)
        imports = list(AddImportsVisitor._get_imports_from_context(self.state.context))
        try:
            if passed:
                self.function_values.add(name)
                # An injected function as a value is the callable with its dependencies bound
                # (``bound_dependency``), which only the expression form builds.
                raise Untranslatable(UNTRANSLATABLE_IPROXY.code, _PASSED_AS_VALUE)
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Call) and pn.dotted_cst(value.func.func) == "injected_function":
                return self.as_program(updated_node, stmt, name, value)  # already a program (runtime/classes.py)
            if isinstance(value, cst.Call) and not self.has_leaf_in_args(value):
                target = self.provider(value.func)
                if target is not None and target.kind == "injected":
                    return self.as_program(updated_node, stmt, name, value)
            if self.provider(value) is not None and self.provider(value).kind == "instance":
                return self.as_program(updated_node, stmt, name, cst.Call(value))
            self.repeated = self.repeated_leaves(value)
            body = self.value_of(value)
        except Untranslatable as exc:
            if exc.code not in _LOWERED_AS_EXPRESSION:
                return self.left_as_is(updated_node, name, exc.code, exc.message)
            if self.state.target != "runtime":
                return self.left_as_is(updated_node, name, exc.code, _NO_DOEFF_EXPRESSIONS)
            # The imports the abandoned lifting asked for are not used by the expression.
            self.state.context.scratch[AddImportsVisitor.CONTEXT_KEY] = imports
            try:
                lowered, kind = ExpressionLowering(self).lower(value)
            except NotAnExpression:
                return self.left_as_is(updated_node, name, exc.code, exc.message)
            return self.as_program(updated_node, stmt, name, lowered, register=kind != "plain")
        self.programs[name] = "function"
        captured = self.captured
        if captured:
            captured[0] = captured[0].with_changes(leading_lines=updated_node.leading_lines or [cst.EmptyLine()])
        func = cst.FunctionDef(
            name=cst.Name(name),
            params=cst.Parameters(),
            body=cst.IndentedBlock([*self.prelude, cst.SimpleStatementLine([cst.Return(_bare_return(body))])]),
            decorators=[cst.Decorator(cst.Name(self.state.need("do")))],
            leading_lines=[] if captured else (updated_node.leading_lines or [cst.EmptyLine()]),
        )
        return cst.FlattenSentinel([*captured, func])

    def lowered_statement(self, line: cst.SimpleStatementLine, stmt: cst.Expr | cst.Assign):
        """Proxies built outside a named entry point (``RUNS[k] = train(k).loss``, ``JOBS.append(...)`` in
        a loop): their IProxy operations become Program expressions; nothing else changes."""
        value = stmt.value
        if self.state.target != "runtime" or not (self.has_leaf(value) and self.uses_pinjected(value)):
            return line
        try:
            lowered, _kind = ExpressionLowering(self).lower(value)
        except NotAnExpression:
            return line
        return line.with_changes(body=[stmt.with_changes(value=lowered)])

    def left_as_is(self, line: cst.SimpleStatementLine, name: str, code: str, message: str | None = None):
        """Flag an entry point left as pinjected; later entry points using it are flagged too."""
        self.state.unmigrated.add(name)
        return self.state.flag(line, code, message)

    def as_program(self, line: cst.SimpleStatementLine, stmt, name: str, value: cst.BaseExpression, register: bool = True):
        if register:
            self.programs[name] = "program"
        if isinstance(stmt, cst.AnnAssign):
            annotation = stmt.annotation.annotation
            head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            if self.is_iproxy(annotation) or self.state.canonical(head) == pn.INJECTED_CLASS:  # the value is a program now
                program = cst.Name(self.state.need("Program"))
                annotation = annotation.with_changes(value=program) if isinstance(annotation, cst.Subscript) else program
            new = stmt.with_changes(value=value, annotation=stmt.annotation.with_changes(annotation=annotation))
        else:
            new = stmt.with_changes(value=value)
        return line.with_changes(body=[new])


    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return with_requires_written(updated_node, self.state, [*self.state.migrated_instances, *self.programs])


def with_requires(tree: cst.Module, state) -> cst.Module:
    """``tree`` with the ``__doeff_requires__`` entries of the instances and tests this run migrated
    (``state.migrated_instances``), written and merged as the transform writes them at the end of a file."""
    return EntryPoints(state).leave_Module(tree, tree)


def _assigned_names(module: cst.Module) -> set[str]:
    """Names assigned outside functions and classes (in ``with``/``if`` blocks too): the entry points the
    pass may lift, which later statements may use."""
    names: set[str] = set()
    blocks = [module.body]
    while blocks:
        for stmt in blocks.pop():
            if isinstance(stmt, cst.SimpleStatementLine):
                names |= assigned_names(stmt)
            elif not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                blocks.extend(_blocks(stmt))
    return names


_CLAUSES = (cst.If, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase)


def _blocks(node: cst.CSTNode):
    """The statement lists of the indented blocks of a compound statement (``if``/``with``/``for``/``while``/
    ``try``/``match``), its ``elif``/``else``/``except``/``finally``/``case`` clauses included."""
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for item in value if type(value) in (list, tuple) else (value,):
            if isinstance(item, cst.IndentedBlock):
                yield item.body
            elif isinstance(item, _CLAUSES):
                yield from _blocks(item)


def _bare_return(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr


transform = register(
    Transform(
        __name__,
        phase="di",
        order=30,
        transformer=EntryPoints,
        description="IProxy entry points and Injected combinators -> programs; __doeff_requires__ per entry point",
    )
)

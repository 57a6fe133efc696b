"""Per-file facts and the helpers every transform shares: flag comments, ``# noqa``, imports.

A transform never decides on its own how a flag looks or whether it is suppressed: it calls
:meth:`FileState.flag`, which applies ``--select/--ignore``, honours ``# noqa: DM###`` on the
statement, and writes ``# doeff-migrate: DM###: <message>`` above it exactly once (so a second run
changes nothing).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import libcst as cst

from . import pinjected_names as pn
from .comments import FLAG_PREFIX, noqa_suppresses
from .index import ModuleFacts, ProjectIndex
from .rules import get_rule

if TYPE_CHECKING:
    from libcst.codemod import CodemodContext

# LibCST's codemod machinery (``AddImportsVisitor``/``RemoveImportsVisitor``, which import its matchers: a third
# of a second) is loaded by the methods that request imports, when a transform first needs one: importing this
# module does not load it.

RUNTIME_MODULE = "doeff_migrate.runtime"
TARGET_MODULES = {"runtime": RUNTIME_MODULE, "doeff": "doeff"}
# The implicit-binding registry has no doeff counterpart: it always comes from the bundled runtime.
REGISTRY_NAMES = {"function_binding", "instance_binding"}

Stmt = TypeVar("Stmt", bound=cst.CSTNode)


@dataclass(frozen=True)
class FlagRecord:
    code: str
    message: str

    @property
    def comment(self) -> str:
        return f"{FLAG_PREFIX}{self.code}: {self.message}"


@dataclass
class FileState:
    path: str
    module: str
    index: ProjectIndex
    facts: ModuleFacts
    names: pn.PinjectedNames
    context: CodemodContext
    target: str = "runtime"
    selected: Callable[[str], bool] = lambda code: True
    in_range: Callable[[cst.CSTNode], bool] = lambda node: True
    flags: list[FlagRecord] = field(default_factory=list)
    unmigrated: set[str] = field(default_factory=set)
    """Decorated functions of this file left as pinjected (flagged): nothing may call them as programs."""
    unmigrated_entries: set[str] = field(default_factory=set)
    """Entry points inside a ``with`` block the codemod cannot dissolve: they stay pinjected (DM118)."""
    migrated_instances: list[str] = field(default_factory=list)
    """``@instance`` functions migrated in this run (entry points for ``__doeff_requires__``)."""
    source: str = ""
    """The file's text, to find the names it binds itself (generated imports must not collide with them)."""
    migrate: Callable[..., object] | None = None
    """``engine.migrate_text``, for a transform that must know how another file of the project migrates
    (the io phase's sibling modules); transforms do not import the engine that runs them."""
    _bound: set[str] | None = field(default=None, repr=False)
    _binds: dict[str, bool] = field(default_factory=dict, repr=False)
    _tree: ast.Module | None | bool = field(default=False, repr=False)

    # -- pinjected names ------------------------------------------------------------------------
    def canonical(self, node: cst.CSTNode) -> str | None:
        """Canonical pinjected name of ``node`` (a name, attribute or the callee of a call)."""
        if isinstance(node, cst.Call):
            node = node.func
        if isinstance(node, cst.Decorator):
            return self.canonical(node.decorator)
        return self.names.canonical_of_dotted(pn.dotted_cst(node))

    # -- imports ------------------------------------------------------------------------------
    def need(self, name: str) -> str:
        """Import ``name`` from the target runtime; returns the name to write.

        When the module binds ``name`` itself (``def do(...)``, ``class Program``, a parameter called
        ``Await``), the import gets an alias (``from doeff_migrate.runtime import do as _dm_do``):
        the generated code must never reach the user's object.
        """
        from libcst.codemod.visitors import AddImportsVisitor

        module = RUNTIME_MODULE if name in REGISTRY_NAMES else TARGET_MODULES[self.target]
        if self.binds(name):
            alias = f"_dm_{name}"
            AddImportsVisitor.add_needed_import(self.context, module, name, alias)
            return alias
        AddImportsVisitor.add_needed_import(self.context, module, name)
        return name

    def binds(self, name: str) -> bool:
        """Whether the module binds ``name``; a name its text never mentions is not parsed for."""
        # Asked once per generated name use (thousands per file): answer each name once.
        known = self._binds.get(name)
        if known is None:
            if self._bound is None and re.search(rf"\b{re.escape(name)}\b", self.source) is None:
                known = False
            else:
                known = name in self.bound_names()
            self._binds[name] = known
        return known

    def bound_names(self) -> set[str]:
        """Names the module binds anywhere (definitions, assignments, parameters, imports not from the
        target runtime), from Python's own parser (fast); computed once, when a name is first needed."""
        if self._bound is None:
            bound: set[str] = set()
            tree = self.ast_tree()
            targets = {RUNTIME_MODULE, "doeff", *TARGET_MODULES.values()}
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    bound.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound.add(node.name)
                elif isinstance(node, ast.arg):
                    bound.add(node.arg)
                elif isinstance(node, ast.ExceptHandler) and node.name:
                    bound.add(node.name)
                elif isinstance(node, (ast.Global, ast.Nonlocal)):
                    bound.update(node.names)
                elif isinstance(node, ast.Import):
                    bound.update((a.asname or a.name).split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level == 0 and node.module in targets:
                        # ``from doeff_migrate.runtime import do`` (an earlier run): the runtime's own name.
                        bound.update(a.asname for a in node.names if a.asname and a.asname != f"_dm_{a.name}")
                        continue
                    bound.update(a.asname or a.name for a in node.names if a.name != "*")
            self._bound = bound
        return self._bound

    def ast_tree(self) -> ast.Module | None:
        """``source`` parsed by Python's own parser (fast), once; ``None`` without a source or if it fails."""
        if self._tree is False:
            # The index's tree of this very text, when it kept it (read-only here, like the index's).
            kept = self.index.ast_tree(self.module, self.source) if self.source else None
            try:
                self._tree = kept if kept is not None else ast.parse(self.source) if self.source else None
            except (SyntaxError, ValueError, RecursionError):
                self._tree = None
        return self._tree  # type: ignore[return-value]

    def drop_pinjected_imports(self) -> None:
        """Remove pinjected imports that nothing uses any more (kept when still referenced)."""
        from libcst.codemod.visitors import RemoveImportsVisitor

        for local, canonical in self.names.names.items():
            module = self._pinjected_module_of(local)
            if module is not None:
                RemoveImportsVisitor.remove_unused_import(
                    self.context, module, canonical, None if local == canonical else local
                )
        for local, module in self.names.module_origins.items():
            RemoveImportsVisitor.remove_unused_import(self.context, module, None, None if local == module else local)

    def _pinjected_module_of(self, local: str) -> str | None:
        return self.names.origins.get(local)

    # -- flags --------------------------------------------------------------------------------
    def flag(self, stmt: Stmt, code: str, message: str | None = None) -> Stmt:
        """Write the rule's comment above ``stmt`` (once), unless not selected or suppressed."""
        if not self.selected(code) or is_suppressed(stmt, code):
            return stmt
        record = FlagRecord(code, message or get_rule(code).message)
        self.flags.append(record)
        leading = list(getattr(stmt, "leading_lines", ()))
        if any(line.comment is not None and line.comment.value == record.comment for line in leading):
            return stmt
        leading.append(cst.EmptyLine(comment=cst.Comment(record.comment)))
        return stmt.with_changes(leading_lines=leading)  # type: ignore[return-value]


def statement_comments(stmt: cst.CSTNode) -> list[str]:
    """Comments attached to a statement: lines above it, trailing comments of its first line(s)."""
    found = [line.comment.value for line in getattr(stmt, "leading_lines", ()) if line.comment]
    for deco in getattr(stmt, "decorators", ()):
        if deco.trailing_whitespace.comment:
            found.append(deco.trailing_whitespace.comment.value)
        found += [line.comment.value for line in deco.leading_lines if line.comment]
    trailing = getattr(stmt, "trailing_whitespace", None)
    if isinstance(trailing, cst.TrailingWhitespace) and trailing.comment:
        found.append(trailing.comment.value)
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock) and body.header.comment:
        found.append(body.header.comment.value)
    return found


def is_suppressed(stmt: cst.CSTNode, code: str) -> bool:
    return any(noqa_suppresses(comment, code) for comment in statement_comments(stmt))

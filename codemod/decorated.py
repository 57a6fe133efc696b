"""How many pinjected-decorated definitions a module still has, and how many the codemod migrated.

The one count behind the "migrated share" of ``doeff-migrate status`` and ``benchmarks/bench_pypi.py``
(both sum :func:`decorated_in_module` over the files ``status.collect`` walks), so the two always agree.

* **left** — functions decorated with pinjected's ``@injected`` / ``@instance`` / ``@injected_instance``
  (plain or called, any import alias, ``@pj.injected``, nested definitions included) and classes
  decorated with ``@injected``;
* **migrated** — definitions carrying the registration the codemod writes on what it migrated:
  ``@function_binding`` (was ``@injected``, also above ``@pass_dependencies``), ``@instance_binding``
  (was ``@instance``) and ``@class_binding`` (was an ``@injected`` class), imported from the bundled
  runtime or ``doeff`` under any alias (``_dm_function_binding`` when the module binds the name).

``@injected_pytest`` tests are not counted: they become a ``@do`` program plus a plain test, with no
registration to recognise (``status`` still reports them among the pinjected constructs).

The share of a tree is ``migrated / (migrated + left)``: a tree never migrated has only pinjected
definitions (0%), a tree with neither has no share (``None``). The module is only parsed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from . import pinjected_names as pn

PINJECTED_DECORATORS = frozenset({pn.INJECTED, *pn.INSTANCE_DECORATORS})
"""Canonical pinjected names whose decorated definitions are migration work."""

MIGRATED_DECORATORS = frozenset({"function_binding", "instance_binding", "class_binding"})
"""The runtime's registrations the codemod puts on every definition it migrated."""

_RUNTIME_MODULES = ("doeff_migrate.runtime", "doeff")


@dataclass(frozen=True)
class DecoratedCount:
    """Labels (``path:qualname``) of the pinjected-decorated definitions left and of the migrated ones."""

    left: tuple[str, ...] = ()
    migrated: tuple[str, ...] = ()

    def __add__(self, other: DecoratedCount) -> DecoratedCount:
        return DecoratedCount(self.left + other.left, self.migrated + other.migrated)

    @property
    def share(self) -> float | None:
        """``migrated / (migrated + left)``; ``None`` when there is neither."""
        total = len(self.left) + len(self.migrated)
        return len(self.migrated) / total if total else None


def format_share(share: float | None) -> str:
    """``"75%"``, or ``"-"`` for a tree with nothing to migrate."""
    return "-" if share is None else f"{share:.0%}"


def _is_runtime_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in _RUNTIME_MODULES)


def _runtime_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local name -> runtime registration name (``from doeff_migrate.runtime import x as y``), and the
    local names of the runtime modules themselves (``import doeff_migrate.runtime as rt``)."""
    names: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_runtime_module(node.module):
            for alias in node.names:
                if alias.name in MIGRATED_DECORATORS:
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_runtime_module(alias.name):
                    modules.add(alias.asname or alias.name)
    return names, modules


def decorated_in_module(tree: ast.Module, path: str) -> DecoratedCount:
    """The pinjected-decorated definitions left in one parsed module and the migrated ones."""
    pinjected = pn.from_ast(tree)
    runtime_names, runtime_modules = _runtime_names(tree)

    def kind(definition: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str | None:
        for deco in definition.decorator_list:
            dotted = pn.dotted_ast(deco.func if isinstance(deco, ast.Call) else deco)
            if dotted is None:
                continue
            canonical = pinjected.canonical_of_dotted(dotted)
            if canonical == pn.INJECTED or (canonical in PINJECTED_DECORATORS and not isinstance(definition, ast.ClassDef)):
                return "left"
            head, _, attr = dotted.rpartition(".")
            registration = (attr if head in runtime_modules else None) if head else runtime_names.get(dotted)
            if registration in MIGRATED_DECORATORS:
                return "migrated"
        return None

    left: list[str] = []
    migrated: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found = kind(node)
                if found is not None:
                    (left if found == "left" else migrated).append(f"{path}:{prefix}{node.name}")
                visit(node.body, f"{prefix}{node.name}.")
            else:
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit([n for n in inner if isinstance(n, ast.AST)], prefix)

    visit(tree.body, "")
    return DecoratedCount(tuple(left), tuple(migrated))


__all__ = ["DecoratedCount", "decorated_in_module", "format_share", "MIGRATED_DECORATORS", "PINJECTED_DECORATORS"]

"""What the index knows of one module (:class:`ModuleFacts`), of one provider and of one bound value."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import pinjected_names as pn

@dataclass(frozen=True)
class ProviderDef:
    """One ``@injected`` / ``@instance`` function, registered by pinjected under ``key``."""

    key: str
    name: str
    kind: str  # "injected" | "instance"
    module: str
    deps: tuple[str, ...]
    is_async: bool
    lineno: int
    migrated: bool = False  # already a @do binding (a second run, a partly migrated project)
    wrapped: bool = False  # decorated above the pinjected decorator: its key is bound to what they build
    unevaluated: tuple[tuple[int, str], ...] = ()
    """(position among the call's positional parameters or -1, name) of the runtime parameters annotated
    ``Injected``/``IProxy``: pinjected hands them the argument unevaluated, even an IProxy."""


@dataclass(frozen=True)
class ValueSpec:
    """What a design binds a key to, as far as parsing can tell.

    kind: ``"ref"`` (a name that may be an injected function / instance; ``ref`` is the dotted name as
    written in ``module``), ``"alias"`` (``injected("k")`` / ``Injected.by_name("k")``; ``ref`` = key),
    ``"value"`` (literal, lambda, any other plain object: bound as a value, trap 1) or ``"unknown"``;
    ``"opaque"``: a value computed by a call, a conditional or a subscript (``pick_impl()``): maybe an
    injected function, so callers of the key are flagged (DM107), but no dependencies are known;
    ``"call"``: ``inst()`` in an already migrated env dict (an ``@instance``'s program if ``ref`` is an
    instance provider, otherwise a value parsing cannot know).
    """

    kind: str
    module: str = ""
    ref: str = ""
    inside: tuple[tuple[str, int, str], ...] = ()
    """For a leaf of an entry point: the calls whose arguments hold it, ``(callee as written, positional index or
    -1, keyword or "")``. pinjected does not resolve a leaf handed to a parameter annotated ``Injected``."""


@dataclass
class ModuleFacts:
    module: str
    path: str
    names: pn.PinjectedNames
    providers: dict[str, ProviderDef] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Local name -> (module, name) for ``from m import name [as local]`` (relative imports resolved)."""
    design_vars: dict[str, dict[str, ValueSpec] | None] = field(default_factory=dict)
    """Module-level variables holding a statically known design (``None``: a design we cannot read)."""
    overrides: dict[str, dict[str, ValueSpec]] = field(default_factory=dict)
    """Entry point variable -> bindings of the ``with design(...)`` blocks around it."""
    entry_points: dict[str, list[ValueSpec]] = field(default_factory=dict)
    """Module-level ``x: IProxy[...] = expr`` -> the pinjected leaves of ``expr`` in evaluation order."""
    bound_keys: dict[str, list[ValueSpec]] = field(default_factory=dict)
    """Every key bound by any design call in the file (module level, tests, functions)."""
    variables: dict[str, str | None] = field(default_factory=dict)
    """Module-level variables that are not designs: the dotted name they alias, or ``None`` (unknown value)."""
    runner_args: set[str] = field(default_factory=set)
    """Names passed to pinjected machinery the codemod leaves as is (``AsyncResolver(d)``)."""
    nested_decorated: bool = False
    """A pinjected-decorated function or class inside a function or class body (DM113)."""
    class_injection: bool = False
    """A class decorated with pinjected's ``injected`` or a call of ``injected`` (``injected(C)``) anywhere in
    the file: what ``transforms/classes.py`` rewrites (without either, its pass changes nothing)."""
    leftover_calls: bool = False
    """Calls of runner machinery, ``injected(Class)`` or ``Injected.dynamic`` (flagged by ``leftovers``)."""
    lifted_entry_points: set[str] = field(default_factory=set)
    """Entry points that are not a plain call of one provider (``greet("amy") + "!"``): after migration
    a ``@do`` function or left as pinjected, never a program a design could bind as it is."""
    opaque_overrides: set[str] = field(default_factory=set)
    """Entry points inside a ``with`` block whose design the index cannot read (imported, computed)."""
    clean_definitions: tuple[frozenset[str], frozenset[str]] | None = None
    """Names of the functions / classes whose every definition never mentions a local pinjected name
    inside its body (:func:`clean_definitions`; ``transforms/leftovers.py`` skips them)."""
    mentioning_functions: frozenset[str] | None = None
    """Names of the functions some definition of which mentions a local pinjected name inside its body
    (``None``: not known); the others are the clean ones."""
    top_functions: list[tuple[str, str | None, int]] | None = None
    """``(name, kind of its bridge decorator, line)`` of the module-level functions (:func:`top_functions`)."""
    reexported_api: bool = False
    """The module gets pinjected's API through a project module re-exporting it (``from app.di import
    injected``): the transforms cannot see it, so its providers stay pinjected (DM128)."""

    @property
    def design(self) -> dict[str, ValueSpec] | None:
        return self.design_vars.get("__design__", {})


def module_name_for(path: str | os.PathLike[str]) -> str:
    """Dotted module name from the package folders around ``path`` (folders with ``__init__.py``)."""
    p = Path(path).resolve()
    parts = [] if p.stem == "__init__" else [p.stem]
    folder = p.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    return ".".join(parts) or p.stem


BRIDGE_DECORATORS = {"function_binding": "injected", "instance_binding": "instance"}
"""The runtime's registering decorators -> the pinjected decorator whose provider they bind."""


def top_function_nodes(body: list[ast.stmt]) -> Iterable[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.With):  # providers defined inside a module-level ``with design()``
            yield from top_function_nodes(node.body)


def _migrated_decorator(node: ast.FunctionDef | ast.AsyncFunctionDef, imports: Mapping[str, tuple[str, str]]) -> str | None:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute):
            name = target.attr
        elif isinstance(target, ast.Name):
            name = imports.get(target.id, ("", target.id))[1]
        else:
            continue
        if name in BRIDGE_DECORATORS:
            return BRIDGE_DECORATORS[name]
    return None


def top_functions(tree: ast.Module, imports: Mapping[str, tuple[str, str]]) -> list[tuple[str, str | None, int]]:
    """``(name, bridge kind or None, line)`` of the module-level functions (``ModuleFacts.top_functions``: the
    bridge planning, ``bridges.needed_bridges``, reads them without parsing the module again)."""
    return [(node.name, _migrated_decorator(node, imports), node.lineno) for node in top_function_nodes(tree.body)]


def module_from_plain_path(path: str) -> str:
    """Module name of a path that is not on disk (editor buffers, tests): relative parts are packages."""
    p = Path(path)
    parts = list(p.parts[:-1]) if not p.is_absolute() else [p.parent.name] if p.stem == "__init__" else []
    if p.stem != "__init__":
        parts.append(p.stem)
    return ".".join(x for x in parts if x not in ("", ".", "..")) or p.stem

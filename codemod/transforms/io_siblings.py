"""Sibling modules: does the package do IO that an entry point of this module reaches?

Files are read and parsed, never imported; a sibling not yet migrated is probed by migrating its text (phases
``di`` and ``io``) in memory. The answer is the same before and after the io phase ran on them, so wiring an
entry point on it is idempotent.
"""

from __future__ import annotations

import ast
import contextvars
import os

import libcst as cst

from .. import pinjected_names as pn
from ..cst_walk import nodes
from ..errors import MigrationError
from ..handler_stubs import HANDLER_MODULE, handler_module_for
from . import clause_matches
from .effectful_code import ImportTable
from .io_catalogue import PREFILTER, SIBLING_IMPORTS, extra_prefilter
from .io_metrics import METRICS_MODULE

PROBING: contextvars.ContextVar[bool] = contextvars.ContextVar("doeff_migrate_io_probing", default=False)
"""True while sibling modules are probed (their own entry points are not wired then)."""

_HELPERS = {"call_in_thread", "recording_handlers", "with_effect_handlers", "HANDLERS"}


def _yields_generated_effects(text: str) -> bool:
    """The module imports an effect the io phase introduces (it was migrated already)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        bound = _bound_through_importlib(node)
        if bound is not None and bound[0].rpartition(".")[2] == HANDLER_MODULE and bound[1] not in _HELPERS:
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module.rpartition(".")[2] == HANDLER_MODULE and names - _HELPERS:
                return True
            if node.module == METRICS_MODULE and any(n.startswith("Log") for n in names):
                return True
    return False


def _bound_through_importlib(node: ast.stmt) -> tuple[str, str] | None:
    """``(module, name)`` of ``name = importlib.import_module("module").name``: how migrated code imports from
    a module whose dotted name no import statement can spell (a package folder ``01_app``)."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Call)):
        return None
    call = node.value.value
    if (isinstance(call.func, ast.Attribute) and call.func.attr == "import_module" and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "importlib" and len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)):
        return call.args[0].value, node.value.attr
    return None


def project_imports(module: cst.Module, dotted: str, path: str) -> tuple[dict[str, str], dict[str, str]]:
    """Local name -> file of the project it is imported from (``from .train import f``, ``from pkg.train import f``,
    ``from other_pkg.io import load``), found on disk next to the importing file or under one of its ancestors
    (never imported); and file -> the dotted name of its package's handler module."""
    is_package = os.path.basename(path) == "__init__.py"
    package = dotted if is_package else dotted.rpartition(".")[0]
    directory = os.path.dirname(os.path.abspath(path))
    found: dict[str, str] = {}
    packages: dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            name = pn.dotted_cst(small.module) if small.module is not None else ""
            if name is None or name.rpartition(".")[2] == HANDLER_MODULE:
                continue
            if small.relative:
                base, anchor = directory, package
                for _ in range(len(small.relative) - 1):
                    base, anchor = os.path.dirname(base), anchor.rpartition(".")[0]
                file = _module_file(base, name) if name else None
                imported = ".".join(p for p in (anchor, name) if p)
            else:
                file = _find_in_ancestors(directory, name, package)
                imported = name
            if file is None:
                continue
            packages[file] = handler_module_for(file, imported)[1]
            for alias in small.names:
                found[alias.evaluated_alias or alias.evaluated_name] = file
    return found, packages


def _module_file(base: str, dotted: str) -> str | None:
    parts = dotted.split(".")
    candidate = os.path.join(base, *parts)
    for file in (candidate + ".py", os.path.join(candidate, "__init__.py")):
        if os.path.isfile(file):
            return file
    return None


def _find_in_ancestors(directory: str, dotted: str, package: str) -> str | None:
    """The file of ``dotted`` under the directory holding this file's top package (or its ancestors, up to 4)."""
    depth = len(package.split(".")) if package else 0
    root = directory
    for _ in range(depth):
        root = os.path.dirname(root)
    for _ in range(4):
        file = _module_file(root, dotted)
        if file is not None:
            return file
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return None


def entry_calls(module: cst.Module, imports: ImportTable) -> list[cst.Call]:
    """Calls that build programs an entry point runs: at module level, and in plain functions when the module
    calls the runtime's ``run`` itself (in no particular order)."""
    found = [c for stmt in module.body if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) for c in _calls(stmt)]
    # (Walking the whole module is skipped when no import can name the runtime's ``run``.)
    if not any(_RUN.startswith(f"{target}.") or target == _RUN for name, target in imports.names.items() if name not in imports.ambiguous):
        return found
    everywhere = _calls(module)
    if any(imports.qualify(c.func) == _RUN for c in everywhere):
        found = everywhere
    return found


_RUN = "doeff_migrate.runtime.run"


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    """The calls in ``node``, in no particular order (what :func:`entry_calls` gives is read as a set)."""
    return [n for n in nodes(node) if isinstance(n, cst.Call)]


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Finder())
    return found


def siblings_do_io(files: list[str], migrate) -> bool:
    """Whether any of ``files`` (paths) yields the io phase's effects, or would once migrated.

    Reads the files (never imports them). The answer is the same before and after the phase ran on them,
    so wiring an entry point on it is idempotent. Cached per file and modification time.
    """
    return any(_does_io(path, migrate) for path in files)


_DOES_IO: dict[tuple[str, float], bool] = {}


def _does_io(path: str, migrate_text) -> bool:
    """``migrate_text``: the engine's (``FileState.migrate``)."""
    try:
        key = (os.path.abspath(path), os.stat(path).st_mtime)
    except OSError:
        return False
    if key in _DOES_IO:
        return _DOES_IO[key]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    answer = _yields_generated_effects(text)
    if not answer and may_yield_effects(text, path):
        token = PROBING.set(True)
        try:
            # With ``di`` too: in a full run the sibling's @injected functions become @do ones first.
            result = migrate_text(text, path=path, phases=("di", "io"))
            answer = any(need.spec is not None for need in result.effects)
        except (MigrationError, ValueError, RecursionError):
            answer = False
        finally:
            PROBING.reset(token)
    _DOES_IO[key] = answer
    return answer


def may_yield_effects(text: str, path: str) -> bool:
    """Whether the io phase can find anything to rewrite in a probed module: its pre-filter without the clause
    for imports of sibling modules (those only wire the module's own entry points, which a probe skips). A
    module matching none of the other clauses is not migrated to be probed."""
    clauses = tuple(c for c in PREFILTER if c is not SIBLING_IMPORTS)
    return any(clause_matches(c, text) for c in (*clauses, *extra_prefilter(path)))

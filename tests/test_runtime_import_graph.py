"""The modules of ``doeff_migrate.runtime`` import each other without cycles, counting imports inside functions.

The graph is read from the source with ``ast`` (nothing is imported): an edge ``a -> b`` for every ``import`` or
``from ... import`` in ``a`` that names module ``b`` of the package, wherever the statement stands (module level,
inside a function, under ``if TYPE_CHECKING``). ``from . import x`` names the submodule ``x`` when there is one,
else the package itself. Importing a submodule runs its package's ``__init__`` first; that implicit step is not an
edge, since every module of a package would otherwise depend on the package's ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import doeff_migrate.runtime as runtime_package

PACKAGE = "doeff_migrate.runtime"


def _modules(package: str, folder: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (sub-packages included)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the package that ``module`` (at ``path``) imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    edges.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = ".".join(p for p in (base, node.module or "") if p)
            else:
                target = node.module or ""
            if target not in modules:
                continue
            submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
            edges.update(submodules)
            if len(submodules) < len(node.names):  # names defined in ``target`` itself
                edges.add(target)
    edges.discard(module)
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def runtime_import_graph() -> dict[str, set[str]]:
    modules = _modules(PACKAGE, Path(runtime_package.__file__).parent)
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def test_the_runtime_package_has_no_import_cycles():
    assert _cycles(runtime_import_graph()) == []


def test_the_graph_sees_imports_inside_functions():
    graph = runtime_import_graph()
    # ``runner`` runs a still-pinjected entry point through the bridge, imported only when one is run.
    assert f"{PACKAGE}.bridge" in graph[f"{PACKAGE}.runner"]
    assert f"{PACKAGE}.entry" in graph[f"{PACKAGE}.bridge"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_cycle_finder(graph, expected):
    assert _cycles(graph) == expected

"""The distribution's packages (``doeff_migrate.codemod``, ``.runtime``, ``.lsp``) have no import cycles.

Every ``import``/``from ... import`` statement counts, at module level, inside functions and under
``if TYPE_CHECKING:`` alike: an import moved into a function to dodge a cycle is still a cycle between the
modules. Read with ``ast``: nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "doeff_migrate.codemod": ROOT / "codemod",
    "doeff_migrate.runtime": ROOT / "runtime",
    "doeff_migrate.lsp": ROOT / "lsp",
}


def _modules() -> dict[str, Path]:
    found = {}
    for dotted, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([dotted, *parts])] = path
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                # ``from pkg import mod`` imports the module ``pkg.mod`` when there is one
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                # ``import a.b.c`` runs ``a``, ``a.b`` and ``a.b.c``: the deepest one in the package is the edge
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
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


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "doeff_migrate.codemod.engine" in graph
    assert "doeff_migrate.codemod.index" in graph["doeff_migrate.codemod.engine"]


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # ``runner`` runs a still-pinjected entry point through the bridge, imported only when one is run;
    # both take the entry point's import, env layers and eager build from ``entry``.
    assert "doeff_migrate.runtime.bridge" in graph["doeff_migrate.runtime.runner"]
    assert "doeff_migrate.runtime.entry" in graph["doeff_migrate.runtime.bridge"]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_cycle_finder(graph, expected):
    assert cycles(graph) == expected


def test_no_import_cycle_in_codemod_runtime_and_lsp():
    graph = import_graph()
    assert {"doeff_migrate.runtime.runner", "doeff_migrate.lsp.server", "doeff_migrate.codemod.analysis"} <= set(graph)
    assert cycles(graph) == []


def _transform_modules() -> set[str]:
    """Modules of ``codemod.transforms`` that define a transform (``register(Transform(...))``), and the base."""
    found = {"doeff_migrate.codemod.transforms.base"}
    for name, path in _modules().items():
        if name.startswith("doeff_migrate.codemod.transforms.") and "register(" in path.read_text(encoding="utf-8"):
            found.add(name)
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for target in graph.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


@pytest.mark.parametrize("module", ["provider_decisions", "body_scan", "decisions", "indexing.decision_cache"])
def test_the_di_decisions_depend_on_no_transform(module):
    """The migrate/refuse decisions read the index and the tree; the transforms follow them, never the reverse."""
    graph = import_graph()
    transforms = _transform_modules()
    assert "doeff_migrate.codemod.transforms.injected_functions" in transforms
    reached = _reachable(graph, f"doeff_migrate.codemod.{module}")
    assert "doeff_migrate.codemod.pinjected_names" in reached or module == "indexing.decision_cache"
    assert reached & transforms == set()

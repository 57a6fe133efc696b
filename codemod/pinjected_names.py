"""Which local names of a module refer to pinjected's API (parse only, nothing is imported).

pinjected is used as ``from pinjected import injected, instance as inst`` or ``import pinjected as pj``
(``@pj.injected``). Both the index (stdlib ``ast``, fast) and the transforms (LibCST) need the same
answer to "is this decorator/call pinjected's ``injected``?", so the alias table is computed here from
the module's top-level imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

# Canonical names of the pinjected API the codemod understands.
INJECTED = "injected"
INSTANCE = "instance"
DESIGN = "design"
IPROXY = "IProxy"
INJECTED_CLASS = "Injected"

INSTANCE_DECORATORS = {"instance", "injected_instance"}
RUNNER_SPECIFIC = {
    "injected_pytest",
    "test_tree",
    "test_current_file",
    "test_tagged",
    "_to_pytest",
    "register_fixtures_from_design",
    "AsyncResolver",
    "custom_idea_config_creator",
    "idea_config_creator_from_envs",
    "providers",
    "instances",
    "classes",
    "destructors",
    "injecteds",
}
# ``pinjected.__all__`` (0.2.252): what ``from pinjected import *`` binds in a module.
STAR_EXPORTS = (
    "AsyncResolver", "DelegatedVar", "Design", "DesignSpec", "Designed", "EmptyDesign", "IProxy", "Injected",
    "SimpleBindSpec", "classes", "design", "destructors", "injected", "injected_instance", "instance", "instances",
    "providers", "register", "reload",
)
# Parameters pinjected answers itself; no design key corresponds to them.
RESOLVER_SPECIAL_KEYS = {"__resolver__", "__design__", "__task_group__"}


def is_pinjected_module(module: str) -> bool:
    return module == "pinjected" or module.startswith("pinjected.")


@dataclass
class PinjectedNames:
    """Local name -> canonical pinjected name (``from pinjected import x as y``), plus module aliases."""

    names: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)
    origins: dict[str, str] = field(default_factory=dict)
    """Local name -> the pinjected module it was imported from."""
    module_origins: dict[str, str] = field(default_factory=dict)
    """Local alias -> pinjected module for ``import pinjected [as pj]``."""
    star: bool = False
    """``from pinjected import *``: the star import stays (other names of the module may need it)."""

    def canonical_of_dotted(self, dotted: str | None) -> str | None:
        """``"inj"`` -> ``"injected"``; ``"pj.injected"`` -> ``"injected"``; else ``None``."""
        if dotted is None:
            return None
        if "." not in dotted:
            return self.names.get(dotted)
        head, _, attr = dotted.rpartition(".")
        if head in self.modules:
            return attr
        return None

    @property
    def used(self) -> bool:
        return bool(self.names or self.modules)


def _star(found: PinjectedNames, module: str) -> None:
    """``from pinjected import *``: the names of ``pinjected.__all__`` (a submodule's are not known)."""
    if module == "pinjected":
        for name in STAR_EXPORTS:
            found.names.setdefault(name, name)
            found.origins.setdefault(name, module)
        found.star = True


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _top_level_ast(body: list) -> list:
    """Module statements, with those of ``if TYPE_CHECKING:`` blocks: type-only imports are imports too."""
    out = []
    for node in body:
        if isinstance(node, ast.If) and not node.orelse and dotted_ast(node.test) in _TYPE_CHECKING:
            out += node.body
        else:
            out.append(node)
    return out


def top_level_statements(body) -> list:
    out = []
    for stmt in body:
        if (
            isinstance(stmt, cst.If) and stmt.orelse is None and isinstance(stmt.body, cst.IndentedBlock)
            and dotted_cst(stmt.test) in _TYPE_CHECKING
        ):
            out += stmt.body.body
        else:
            out.append(stmt)
    return out


def from_ast(tree: ast.Module) -> PinjectedNames:
    found = PinjectedNames()
    for node in _top_level_ast(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and is_pinjected_module(node.module):
            for alias in node.names:
                if alias.name == "*":
                    _star(found, node.module)
                    continue
                found.names[alias.asname or alias.name] = alias.name
                found.origins[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if is_pinjected_module(alias.name):
                    found.modules.add(alias.asname or alias.name)
    return found


def dotted_ast(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted_ast(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def dotted_cst(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_cst(node.value)
        return f"{head}.{node.attr.value}" if head else None
    return None


def _module_name_cst(node: cst.BaseExpression) -> str:
    return dotted_cst(node) or ""


def from_cst(module: cst.Module) -> PinjectedNames:
    found = PinjectedNames()
    for stmt in top_level_statements(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                name = _module_name_cst(small.module)
                if is_pinjected_module(name) and isinstance(small.names, cst.ImportStar):
                    _star(found, name)
                elif is_pinjected_module(name):
                    for alias in small.names:
                        local = alias.evaluated_alias or alias.evaluated_name
                        found.names[local] = alias.evaluated_name
                        found.origins[local] = name
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if is_pinjected_module(alias.evaluated_name):
                        found.modules.add(alias.evaluated_alias or alias.evaluated_name)
                        found.module_origins[alias.evaluated_alias or alias.evaluated_name] = alias.evaluated_name
    return found


def dependency_key(param_name: str) -> str:
    """The design key of an ``@injected`` dependency parameter.

    ``_x`` is answered by key ``x``; ``__x`` keeps its full name (``__resolver__``); other names are
    their own key. ``@instance`` parameters never strip the underscore (see :func:`instance_key`).
    """
    if param_name.startswith("__"):
        return param_name
    if param_name.startswith("_"):
        return param_name[1:]
    return param_name

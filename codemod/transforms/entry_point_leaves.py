"""What the entry-point lifting (entry_points.py) reads of an IProxy expression: its pinjected leaves.

A leaf is a pinjected computation the lifted ``@do`` must ``yield`` (an ``@instance``, a migrated entry point
of this module or another); ``has_leaf`` says whether an expression holds one, and so is an IProxy rather
than a value. Each function reads the state of ``entry``, the ``EntryPoints`` transformer of the file.
"""

from __future__ import annotations

import libcst as cst

from .. import pinjected_names as pn
from ..cst_walk import nodes
from ..index import ValueSpec
from .base import single_string

_ATTRIBUTE_VALUE = {cst.Attribute: ("value",)}
"""Below an attribute (``x.attr``) only its value is searched (``has_leaf``)."""


def provider(entry, node: cst.BaseExpression):
    dotted = pn.dotted_cst(node)
    if dotted is None:
        return None
    return entry.state.index.resolve_ref(ValueSpec("ref", entry.state.module, dotted))


def injected_class_call(entry, node: cst.BaseExpression) -> str | None:
    if not isinstance(node, cst.Call):
        return None
    dotted = pn.dotted_cst(node.func) or ""
    head, _, attr = dotted.rpartition(".")
    if entry.state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS:
        return attr
    return None


def returns_injected(entry, node: cst.BaseExpression) -> bool:
    """Whether ``node`` is an ``Injected`` (whose ``.map``/``.proxy`` are its own), not an IProxy.

    On 0.2.252 ``Injected.tuple/list/dict`` and ``procedure`` of two or more are built as IProxy
    calls, and ``injected("k")`` is ``by_name("k").proxy``: on those, ``.map`` and ``.proxy`` are
    attributes of the value (pinjected/di/injected.py).
    """
    if isinstance(node, cst.Name):
        return node.value in entry.injected_names
    if not isinstance(node, cst.Call):
        return False
    attr = injected_class_call(entry, node)
    if attr in ("by_name", "pure", "mzip", "zip", "bind", "partial", "dynamic"):
        return True
    if attr == "procedure":
        return len(node.args) == 1 and returns_injected(entry, node.args[0].value)
    func = node.func
    return isinstance(func, cst.Attribute) and func.attr.value in ("map", "zip") and returns_injected(entry, func.value)


def uses_pinjected(entry, node: cst.CSTNode) -> bool:
    """Whether ``node`` refers to a pinjected provider or API (not only to already migrated bindings)."""
    for n in nodes(node):
        if not isinstance(n, (cst.Name, cst.Attribute)):
            continue
        target = provider(entry, n)
        if target is not None and not getattr(target, "migrated", False):
            return True
        if entry.state.canonical(n) in (pn.INJECTED, pn.INJECTED_CLASS):
            return True
        if isinstance(n, cst.Name) and (n.value in entry.programs or imported_entry_point(entry, n.value)):
            return True
    return False


def has_leaf(entry, node: cst.CSTNode) -> bool:
    """Whether ``node`` contains a pinjected computation (so it is an IProxy, not a value): a lambda's
    body does not count, nor the name of an attribute (``x.attr``)."""
    for n in nodes(node, skip=(cst.Lambda,), only=_ATTRIBUTE_VALUE):
        if isinstance(n, cst.Call):
            if provider(entry, n.func) is not None:
                return True
            if entry.state.canonical(n.func) == pn.INJECTED and single_string(n):
                return True
            if injected_class_call(entry, n) not in (None, "dynamic"):
                return True
        elif isinstance(n, cst.Name) and is_leaf(entry, n):
            return True
    return False


def has_leaf_in_args(entry, call: cst.Call) -> bool:
    return any(has_leaf(entry, a.value) for a in call.args)


def is_leaf(entry, node: cst.BaseExpression) -> bool:
    """A node the entry point must ``yield``: an ``@instance``, or a migrated entry point of this module or another."""
    target = provider(entry, node)
    if target is not None and target.kind == "instance":
        return True
    return isinstance(node, cst.Name) and (node.value in entry.programs or imported_entry_point(entry, node.value))


def imported_entry_point(entry, name: str) -> bool:
    origin = entry.state.facts.imports.get(name)
    if origin is None:
        return False
    facts = entry.state.index.modules.get(origin[0])
    return facts is not None and origin[1] in facts.entry_points


def passed_injected_functions(entry, node: cst.BaseExpression) -> list:
    """The injected functions ``node`` references other than as the callee of a call (an argument, a value)."""
    callees: set[int] = set()
    found: list = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            callees.add(id(n.func))

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

        def _check(self, n: cst.BaseExpression) -> bool:
            if id(n) not in callees:
                target = provider(entry, n)
                if target is not None and target.kind == "injected":
                    found.append(target)
                    return False
            return True

        def visit_Name(self, n: cst.Name) -> None:
            self._check(n)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            if self._check(n):
                n.value.visit(self)  # ``mod.fetch``: check the whole name, then its head
            return False

    node.visit(_Finder())
    return found


def is_iproxy(entry, annotation: cst.BaseExpression) -> bool:
    if isinstance(annotation, cst.Subscript):
        annotation = annotation.value
    return entry.state.names.canonical_of_dotted(pn.dotted_cst(annotation)) == pn.IPROXY


def is_program(entry, annotation: cst.BaseExpression) -> bool:
    """``Program`` / ``Program[T]`` imported from the runtime (or doeff): the annotation the codemod writes."""
    if isinstance(annotation, cst.Subscript):
        annotation = annotation.value
    origin = entry.state.facts.imports.get(pn.dotted_cst(annotation) or "", ("", ""))[0]
    return origin.startswith("doeff_migrate.runtime") or origin == "doeff"



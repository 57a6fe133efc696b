"""Which pinjected uses in a plain function have runtime counterparts: the scan behind plain_programs.py.

``PinjectedUses(state).scan(function)`` lists the translatable ``Injected.*``/``injected(...)``/
``update_if_registered`` calls of a function, and its uses of pinjected that have no counterpart. The
plain-programs transform translates a function only when nothing blocks it; decorators_above.py and
program_expressions.py ask the same question of a module's own decorator. It registers no transform, so
the migrate/refuse decisions can ask it without depending on a transform.
"""

from __future__ import annotations

import ast

import libcst as cst

from .. import pinjected_names as pn
from ..state import FileState
from .pinjected_utilities import has_runtime_counterpart

# ``Injected.<attr>(...)`` -> runtime function, for the call shapes ``PinjectedUses.counterpart`` accepts.
COMBINATORS = {
    "pure": "pure_value",
    "by_name": "by_name",
    "ensure_injected": "ensure_injected",
    "mzip": "mzip",
    "zip": "mzip",
    "tuple": "mzip",
    "list": "list_of",
    "dict": "dict_of",
    "bind": "bind",
}

# ``Injected.bind``'s own parameters (pinjected/di/injected.py), not keys of the mapping.
_BIND_PARAMETERS = frozenset({"_target_function_", "_dynamic_dependencies_"})

# Attributes only pinjected's values have: on a runtime program they would mean something else
# (an ``Expr`` turns any attribute into a lazy attribute of the value).
_INJECTED_ONLY_ATTRIBUTES = frozenset(
    "proxy map zip add_dynamic_dependencies complete_dependencies dependencies dynamic_dependencies "
    "get_provider desync apply_injected_function __resolver__".split()
)

# pinjected's classes of IProxy objects (pinjected/di/proxiable.py, di/injected.py on 0.2.252): as types
# they name an IProxy, whose counterpart is a runtime program (``IProxy`` of pinjected_types).
PROXY_TYPE_NAMES = frozenset({"DelegatedVar", "PartialInjectedFunction"})
# pinjected's type aliases with a counterpart of the same name in the runtime's pinjected_types.
TYPE_ALIASES = frozenset({"Providable"})

UPDATE_IF_REGISTERED = "update_if_registered"
# ``pinjected.decoration.update_if_registered(func, updated, meta=Nothing, binding_key=None)`` (0.2.252).
_UPDATE_PARAMETERS = ("func", "updated", "meta", "binding_key")


class PinjectedUses:
    """The scan of one file's plain functions for pinjected uses and their runtime counterparts."""

    def __init__(self, state: FileState) -> None:
        self.state = state
        # The module's plain functions and decorator factories taken as plain callees (computed when first asked).
        self.callees: tuple[frozenset[str], frozenset[str]] | None = None
        # The module's plain functions: a call of one not in ``callees`` is a helper left with pinjected's API.
        self.module_functions: frozenset[str] = frozenset()

    def counterpart(self, call: cst.Call) -> str | None:
        """The runtime function standing for ``call`` when it is a translatable pinjected call."""
        state = self.state
        canonical = state.canonical(call.func)
        if canonical == pn.INJECTED:
            single = len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star
            if not single:
                return None
            # ``injected(x)`` of a value known only at run time (``case str(): return injected(i)``).
            return "by_name" if isinstance(call.args[0].value, cst.SimpleString) else "injected_of"
        if canonical == UPDATE_IF_REGISTERED:
            return UPDATE_IF_REGISTERED if _update_arguments(call.args) is not None else None
        dotted = pn.dotted_cst(call.func) or ""
        head, _, attr = dotted.rpartition(".")
        if not head or state.names.canonical_of_dotted(head) != pn.INJECTED_CLASS or attr not in COMBINATORS:
            return None
        positional = [a for a in call.args if a.keyword is None and a.star != "**"]
        keywords = [a for a in call.args if a.keyword is not None or a.star == "**"]
        if attr in ("pure", "by_name", "ensure_injected"):
            ok = len(call.args) == 1 and not call.args[0].star and call.args[0].keyword is None
        elif attr in ("mzip", "zip", "tuple", "list"):
            ok = not keywords
        elif attr == "dict":
            ok = not positional
        else:  # bind: one function, keys or values by keyword (``_dynamic_dependencies_`` is resolver internals)
            ok = (
                len(positional) == 1 and not positional[0].star
                and all(a.keyword is not None and a.keyword.value not in _BIND_PARAMETERS for a in keywords)
            )
        return COMBINATORS[attr] if ok else None

    def plain_callee(self, func: cst.BaseExpression) -> bool:
        """Whether ``func`` is a plain function of this module, or the call of a decorator factory of this
        module (a plain function returning only plain functions it defines): it gets Injected values as they are."""
        if self.callees is None:
            self.callees = plain_callees(self.state.ast_tree())
        plain, factories = self.callees
        if isinstance(func, cst.Name):
            return func.value in plain
        return isinstance(func, cst.Call) and isinstance(func.func, cst.Name) and func.func.value in factories

    def scan(self, node: cst.FunctionDef) -> tuple[list[cst.Call], list[str]]:
        """The translatable calls in ``node``, and the pinjected uses in it that have no counterpart."""
        outer = self
        calls: list[cst.Call] = []
        blocked: list[str] = []
        built: set[str] = set()  # names assigned a translated value
        attributes: list[cst.Attribute] = []  # attributes assigned to

        class _Uses(cst.CSTVisitor):
            def visit_Decorator(self, d: cst.Decorator) -> None:
                if outer.state.canonical(d) is not None:
                    blocked.append("decorator")

            def visit_Call(self, call: cst.Call) -> bool:
                if outer.state.canonical(call.func) in PROXY_TYPE_NAMES:
                    blocked.append(f"{pn.dotted_cst(call.func)}(...)")  # only a type test has a counterpart
                if isinstance(call.func, cst.Name) and call.func.value in outer.module_functions and not outer.plain_callee(call.func):
                    # A helper of the module left with pinjected's API returns pinjected's values.
                    blocked.append(f"{call.func.value}(...)")
                if (
                    outer.counterpart(call) is None and not outer.plain_callee(call.func)
                    and any(isinstance(a.value, cst.Call) and outer.counterpart(a.value) for a in call.args)
                ):
                    # ``train(Injected.by_name("k"))``: pinjected resolves an Injected argument of an injected
                    # function's call, and hands it as it is to a plain function; only the latter is proven here.
                    blocked.append("Injected argument")
                if outer.counterpart(call) is not None:
                    calls.append(call)
                    if outer.state.canonical(call.func) == pn.INJECTED:
                        return False
                    update = outer.counterpart(call) == UPDATE_IF_REGISTERED
                    for arg in without_metadata(call.args) if update else call.args:
                        arg.visit(self)
                    return False
                return True

            def visit_Assign(self, assign: cst.Assign) -> None:
                if isinstance(assign.value, cst.Call) and outer.counterpart(assign.value):
                    built.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))
                attributes.extend(t.target for t in assign.targets if isinstance(t.target, cst.Attribute))

            def visit_With(self, w: cst.With) -> None:
                if any(isinstance(i.item, cst.Call) and outer.state.canonical(i.item.func) == pn.DESIGN for i in w.items):
                    blocked.append("with design")

            def visit_Attribute(self, a: cst.Attribute) -> bool:
                if a.attr.value in _INJECTED_ONLY_ATTRIBUTES:
                    blocked.append(a.attr.value)
                head = pn.dotted_cst(a.value)
                if head and outer.state.names.canonical_of_dotted(head) in (pn.INJECTED_CLASS, pn.IPROXY):
                    blocked.append(pn.dotted_cst(a) or a.attr.value)  # a member with no counterpart here
                    return False
                canonical = outer.state.canonical(a)
                if canonical is not None and canonical not in (pn.INJECTED_CLASS, pn.IPROXY):
                    blocked.append(canonical)
                    return False
                return True

            def visit_Name(self, n: cst.Name) -> None:
                if n.value == "__resolver__":  # a variable called ``proxy`` is not pinjected's ``.proxy``
                    blocked.append(n.value)
                canonical = outer.state.names.canonical_of_dotted(n.value)
                if (
                    canonical is not None and canonical not in (pn.INJECTED_CLASS, pn.IPROXY)
                    and canonical not in PROXY_TYPE_NAMES | TYPE_ALIASES and not has_runtime_counterpart(outer.state, n.value)
                ):
                    blocked.append(canonical)

        node.visit(_Uses())
        # ``res = Injected.bind(...); res.flag = True``: pinjected's values take any attribute, programs do not,
        # except pinjected's own async mark, which ``Expr`` keeps (its calls are awaited).
        blocked += [
            a.attr.value for a in attributes
            if isinstance(a.value, cst.Name) and a.value.value in built and a.attr.value != "__is_async_function__"
        ]
        return calls, blocked


def _update_arguments(args) -> dict[str, cst.Arg] | None:
    """``update_if_registered``'s arguments by parameter name, or None for a call shape not handled."""
    named: dict[str, cst.Arg] = {}
    for i, arg in enumerate(args):
        if arg.star:
            return None
        name = arg.keyword.value if arg.keyword is not None else (_UPDATE_PARAMETERS[i] if i < len(_UPDATE_PARAMETERS) else None)
        if name not in _UPDATE_PARAMETERS or name in named:
            return None
        named[name] = arg
    return named if "func" in named and "updated" in named else None


def without_metadata(args) -> list[cst.Arg]:
    """The arguments of an ``update_if_registered`` call without pinjected's binding metadata (code
    locations for its IDE tools, which the runtime has no use for); other calls' arguments unchanged."""
    named = _update_arguments(args)
    if named is None or "meta" not in named:
        return list(args)
    kept = [named["func"], named["updated"]]
    if "binding_key" in named:
        kept.append(named["binding_key"].with_changes(keyword=cst.Name("binding_key"), equal=cst.AssignEqual()))
    last = kept[-1]
    return [*kept[:-1], last.with_changes(comma=cst.MaybeSentinel.DEFAULT)]


def plain_callees(tree: ast.Module | None) -> tuple[frozenset[str], frozenset[str]]:
    """The module's undecorated (non-async) functions, and those of them that return only undecorated
    functions defined in their own body (decorator factories)."""
    plain: set[str] = set()
    factories: set[str] = set()
    for node in tree.body if tree is not None else ():
        if not isinstance(node, ast.FunctionDef) or node.decorator_list:
            continue
        plain.add(node.name)
        nested = {n.name for n in node.body if isinstance(n, ast.FunctionDef) and not n.decorator_list}
        returns = list(_own_returns(node))
        if returns and all(isinstance(r.value, ast.Name) and r.value.id in nested for r in returns):
            factories.add(node.name)
    return frozenset(plain), frozenset(factories)


def _own_returns(function: ast.FunctionDef):
    """The ``return`` statements of ``function`` itself (not of the functions and lambdas it nests)."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))

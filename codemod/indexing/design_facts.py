"""The collector's reading of designs: what ``design(...)``, env dicts and entry point expressions bind."""

from __future__ import annotations

import ast

from .. import pinjected_names as pn
from .ast_helpers import asked_key, constructed_class
from .facts import ValueSpec

# Calls whose result is never an injected function: a design value built by them is a plain value.
_PLAIN_VALUE_CALLS = frozenset(
    "dict list tuple set frozenset int float str bool bytes complex range object len sorted min max sum "
    "Path pathlib.Path os.getenv os.environ.get".split()
)

_RUNTIME_DESIGNS = "doeff_migrate.runtime.designs"
MIGRATED_BUILDERS = {"injected_pytest", "providers", "instances", "classes"}
"""Runner-specific calls whose arguments are migrated with them (designs stay designs, not pinjected Designs)."""


class DesignReader:
    """Part of :class:`collector.Collector`: reads designs, env dicts and entry point expressions into :class:`ValueSpec`."""

    def builds_design(self, node: ast.expr) -> bool:
        """A design the codemod cannot read but pinjected builds (``design(**kw) + make()``): a design
        variable whose bindings are unknown (``None``), migrated as a runtime design value."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
            return self.builds_design(node.left) or self.builds_design(node.right)
        builders = (pn.DESIGN, "providers", "instances", "classes")
        if isinstance(node, ast.Call):
            # (a runtime design of an earlier run counts too: ``_dm_design(**kw)``)
            runtime = self.facts.imports.get(pn.dotted_ast(node.func) or "", ("", ""))
            return self.canonical(node.func) in builders or (runtime[0] == _RUNTIME_DESIGNS and runtime[1] in builders)
        return isinstance(node, ast.Name) and self.names.names.get(node.id) == "EmptyDesign"

    def meta_design(self, node: ast.expr) -> dict[str, ValueSpec] | None:
        if isinstance(node, ast.Call) and self.canonical(node.func) == pn.DESIGN:
            merged: dict[str, ValueSpec] = {}
            for kw in node.keywords:
                if kw.arg == "overrides":
                    inner = self.design_of(kw.value)
                    if inner is None:
                        return None
                    merged.update(inner)
            return merged
        return None

    def design_of(self, node: ast.expr, env: bool = False) -> dict[str, ValueSpec] | None:
        """Statically read a design expression: ``design(...)``, ``a + b``, names of design variables,
        and env dicts (``{"k": v}``) in ``__design__`` (``env``) or anywhere in a migrated module."""
        if isinstance(node, ast.Call) and self.canonical(node.func) == pn.DESIGN:
            if node.args or any(kw.arg is None for kw in node.keywords):
                return None
            return {kw.arg: self.value_spec(kw.value) for kw in node.keywords if kw.arg}
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
            left, right = self.design_of(node.left, env), self.design_of(node.right, env)
            if left is None or right is None:
                return None
            return {**left, **right}
        if isinstance(node, ast.Name) and node.id in self.facts.design_vars:
            return self.facts.design_vars[node.id]
        if (
            isinstance(node, ast.Dict)
            and (self.migrated or env)
            and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys)
        ):
            # An env dict the codemod produced: index it like the design it was, so a second run
            # sees the same bindings the first did.
            design = {k.value: self.env_value_spec(v) for k, v in zip(node.keys, node.values)}  # type: ignore[union-attr]
            for key, spec in design.items():
                self.facts.bound_keys.setdefault(key, []).append(spec)
            return design
        return None

    def env_value_spec(self, node: ast.expr) -> ValueSpec:
        """A value of an already migrated env dict (see ``DesignTranslator.value``)."""
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            dotted = pn.dotted_ast(node.func)
            if dotted in self.ask_helpers:
                return ValueSpec("alias", self.facts.module, self.ask_helpers[dotted])
            if dotted and (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
                return ValueSpec("call", self.facts.module, dotted)
        if isinstance(node, ast.Call) and (pn.dotted_ast(node.func) or "").rpartition(".")[2] == "Ask":
            key = asked_key(ast.Assign(targets=[], value=ast.Yield(value=node)))
            if key is not None:
                return ValueSpec("alias", self.facts.module, key)
        return self.value_spec(node)

    def value_spec(self, node: ast.expr) -> ValueSpec:
        dotted = pn.dotted_ast(node)
        if dotted is not None:
            if dotted.endswith(".proxy"):  # ``fn.proxy`` is ``fn`` as an IProxy (C13)
                dotted = dotted[: -len(".proxy")]
            return ValueSpec("ref", self.facts.module, dotted)
        if isinstance(node, ast.Call):
            canonical = self.canonical(node.func)
            dotted_func = pn.dotted_ast(node.func) or ""
            # (``injected(f)("x")`` is a call of ``injected(f)``, not ``injected("x")``.)
            is_by_name = (canonical == pn.INJECTED and not isinstance(node.func, ast.Call)) or (
                self.names.canonical_of_dotted(dotted_func.rpartition(".")[0]) == pn.INJECTED_CLASS
                and dotted_func.endswith(".by_name")
            )
            if is_by_name and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                return ValueSpec("alias", self.facts.module, node.args[0].value)
            constructed = constructed_class(node, self.canonical)
            if constructed is not None and constructed[:1].isupper():  # a class, by its name
                return ValueSpec("ref", self.facts.module, f"new_{constructed}")
            if isinstance(node.func, ast.Call) and constructed_class(node.func, self.canonical, called=True) is not None:
                return ValueSpec("value")  # ``injected(C)("x")``: an instance built by the constructor
            if self.names.canonical_of_dotted(dotted_func.rpartition(".")[0]) == pn.INJECTED_CLASS:
                if dotted_func.endswith(".pure"):
                    return ValueSpec("value")
                return ValueSpec("unknown")
            if dotted_func in self.facts.providers or dotted_func in self.facts.imports:
                return ValueSpec("unknown")
            if dotted_func not in _PLAIN_VALUE_CALLS:
                return ValueSpec("opaque")  # ``pick_impl()`` may return an injected function
        elif isinstance(node, (ast.IfExp, ast.Subscript, ast.BoolOp, ast.NamedExpr)):
            return ValueSpec("opaque")
        return ValueSpec("value")

    def leaves(self, node: ast.expr) -> list[ValueSpec]:
        """Pinjected leaves of an IProxy expression, in source order, each with the calls whose arguments
        hold it (``ValueSpec.inside``)."""
        found: list[ValueSpec] = []
        inside: dict[int, tuple[tuple[str, int, str], ...]] = {}
        for sub in ast.walk(node):
            where = inside.get(id(sub), ())
            if isinstance(sub, ast.Call):
                spec = self.value_spec(sub)
                if spec.kind == "alias":
                    found.append(ValueSpec(spec.kind, spec.module, spec.ref, where))
                found += [ValueSpec(leaf.kind, leaf.module, leaf.ref, where) for leaf in self.bind_leaves(sub)]
                callee = pn.dotted_ast(sub.func)
                if callee and (callee in self.facts.providers or callee.split(".")[0] in self.facts.imports):
                    arguments = [(arg, i, "") for i, arg in enumerate(sub.args)] + [(kw.value, -1, kw.arg or "") for kw in sub.keywords]
                    for arg, index, keyword in arguments:
                        for part in ast.walk(arg):
                            inside[id(part)] = (*where, (callee, index, keyword))
            dotted = pn.dotted_ast(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
            if dotted and (dotted in self.facts.providers or dotted.split(".")[0] in self.facts.imports):
                found.append(ValueSpec("ref", self.facts.module, dotted, where))
        return found


    def bind_leaves(self, call: ast.Call) -> list[ValueSpec]:
        """``Injected.bind(lambda a, b: ..., b="k")`` asks for ``a`` and ``k`` (C7; defaults ignored)."""
        dotted = pn.dotted_ast(call.func) or ""
        head, _, attr = dotted.rpartition(".")
        if attr != "bind" or self.names.canonical_of_dotted(head) != pn.INJECTED_CLASS or not call.args:
            return []
        func = call.args[0]
        if not isinstance(func, ast.Lambda):
            return []
        mapping = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        found = []
        for arg in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
            source = mapping.get(arg.arg)
            if source is None:
                found.append(ValueSpec("alias", self.facts.module, arg.arg))
            elif isinstance(source, ast.Constant) and isinstance(source.value, str):
                found.append(ValueSpec("alias", self.facts.module, source.value))
        return found


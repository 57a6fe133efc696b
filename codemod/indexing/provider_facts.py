"""The collector's reading of providers: ``@injected`` / ``@instance`` functions, migrated ``@do`` bindings, ``injected(C)``."""

from __future__ import annotations

import ast

from .. import pinjected_names as pn
from .ast_helpers import asked_key, constructed_class, walk_breadth_first
from .facts import ProviderDef


class ProviderReader:
    """Part of :class:`collector.Collector`: fills ``ModuleFacts.providers``."""

    def provider(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        migrated = self.migrated_kind(node)
        if migrated is not None:
            # Already migrated (a second run, or a partly migrated project): still a provider, with
            # the keys it asks for at the top of its body as dependencies.
            deps = _passed_keys(node)
            for stmt in node.body if not deps else ():
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    continue
                key = asked_key(stmt)
                if key is None:
                    break
                deps.append(key)
            self.facts.providers[node.name] = ProviderDef(
                key=node.name, name=node.name, kind=migrated, module=self.facts.module,
                deps=tuple(deps), is_async=_was_async(node), lineno=node.lineno, migrated=True,
                wrapped=any((pn.dotted_ast(d) or "").rpartition(".")[2] == "injected_proxy" for d in node.decorator_list),
            )
            return
        for position, deco in enumerate(node.decorator_list):
            canonical = self.canonical(deco)
            if canonical == pn.INJECTED:
                kind = "injected"
            elif canonical in pn.INSTANCE_DECORATORS:
                kind = "instance"
            elif canonical == "injected_pytest":
                # ``instance(test)`` resolved per test; indexed under its migrated program's name
                # (``_test_x``) so that its dependency closure is known (``__doeff_requires__``).
                deps = tuple(key for _, key in dependency_params(node.args, "instance"))
                name = f"_{node.name}"
                self.facts.providers[name] = ProviderDef(
                    key=name, name=name, kind="instance", module=self.facts.module, deps=deps,
                    is_async=isinstance(node, ast.AsyncFunctionDef), lineno=node.lineno,
                )
                override = [*deco.args, *(kw.value for kw in deco.keywords)] if isinstance(deco, ast.Call) else []
                if override:  # the test's design on top of the module's, as a ``with design()`` block's
                    bound = self.design_of(override[0])
                    if bound is None:
                        self.facts.opaque_overrides.add(name)
                    else:
                        self.facts.overrides[name] = bound
                return
            else:
                continue
            deps = tuple(key for _, key in dependency_params(node.args, kind))
            self.facts.providers[node.name] = ProviderDef(
                key=node.name,
                name=node.name,
                kind=kind,
                module=self.facts.module,
                deps=deps,
                is_async=isinstance(node, ast.AsyncFunctionDef),
                lineno=node.lineno,
                wrapped=position > 0,
                unevaluated=self.unevaluated_params(node.args) if kind == "injected" else (),
            )
            return

    def unevaluated_params(self, args: ast.arguments) -> tuple[tuple[int, str], ...]:
        """pinjected keeps an argument unevaluated when the annotation *is* ``Injected`` (``==``, in
        ``Injected._get_args_keeper`` on 0.2.252): not ``Injected[T]``, not ``IProxy``, not the string
        a ``from __future__ import annotations`` module leaves."""
        if any(
            isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
            for n in self.tree.body
        ):
            return ()
        positional = [a for a in args.args if not a.arg.startswith("_")]
        found = []
        for arg in [*positional, *(a for a in args.kwonlyargs if not a.arg.startswith("_"))]:
            if arg.annotation is not None and self.canonical(arg.annotation) == pn.INJECTED_CLASS:
                found.append((positional.index(arg) if arg in positional else -1, arg.arg))
        return tuple(found)

    def injected_class(self, node: ast.ClassDef) -> None:
        """``@injected`` on a class (``@class_binding`` once migrated): pinjected binds ``new_<C>`` to its
        constructor, whose dependencies come from the constructor's signature (semantics C4)."""
        for deco in node.decorator_list:
            func = deco.func if isinstance(deco, ast.Call) else deco
            if self.canonical(func) == pn.INJECTED or pn.dotted_ast(func) == "class_binding":
                self.class_provider(node)
                return

    def constructed_classes(self) -> None:
        """``injected(C)`` / ``class_constructor(C)`` evaluated at import time binds ``new_C`` too."""
        if self.source is not None and "injected(" not in self.source and "class_constructor(" not in self.source:
            return
        classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        if not classes:
            return
        pending = [n for n in self.tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in walk_breadth_first(pending):
            name = constructed_class(node, self.canonical)
            if name in classes and f"new_{name}" not in self.facts.providers:
                self.class_provider(classes[name])

    def class_provider(self, node: ast.ClassDef) -> None:
        key = f"new_{node.name}"
        self.facts.providers[key] = ProviderDef(
            key=key, name=key, kind="instance", module=self.facts.module,
            deps=tuple(k for _, k in class_dependency_params(node)), is_async=False, lineno=node.lineno,
        )

    def migrated_kind(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            name = (pn.dotted_ast(target) or "").rpartition(".")[2]
            origin = self.facts.imports.get(name, ("", ""))[0]
            if origin.startswith("doeff_migrate.runtime") or origin == "doeff_migrate":
                if name == "function_binding":
                    return "injected"
                if name == "instance_binding":
                    return "instance"
        return None


def _was_async(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether an already migrated provider was an ``async def`` (its calls had to be awaited).

    The ``@do`` form keeps no ``async``: its body ``yield``-ing ``Await``/``Spawn``/``Gather`` (only
    generated for awaits) or the ``a_`` naming convention of async providers tells.
    """
    if isinstance(node, ast.AsyncFunctionDef) or node.name.startswith("a_"):
        return True
    for sub in ast.walk(node):
        if isinstance(sub, ast.Yield) and isinstance(sub.value, ast.Call):
            if (pn.dotted_ast(sub.value.func) or "").rpartition(".")[2] in ("Await", "Spawn", "Gather"):
                return True
    return False


def _passed_keys(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The keys of ``@pass_dependencies(key=Ask, ...)`` (a migrated function kept as written)."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and (pn.dotted_ast(deco.func) or "").rpartition(".")[2] == "pass_dependencies":
            keys = []
            for kw in deco.keywords:
                if kw.arg is not None:
                    keys.append(kw.arg)
                elif isinstance(kw.value, ast.Dict):
                    keys += [k.value for k in kw.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            return keys
    return []


def class_dependency_params(node: ast.ClassDef) -> list[tuple[str, str]]:
    """(parameter name, key) of ``injected(C)``'s dependencies: the ``@injected`` rule applied to
    ``__init__`` (``self`` aside) or, for a ``@dataclass`` without one, to its annotated fields."""
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            args = stmt.args
            trimmed = ast.arguments(
                posonlyargs=args.posonlyargs[1:], args=args.args if args.posonlyargs else args.args[1:],
                vararg=None, kwonlyargs=args.kwonlyargs, kw_defaults=[], kwarg=None, defaults=[],
            )
            return dependency_params(trimmed, "injected")
    if not any((pn.dotted_ast(d.func if isinstance(d, ast.Call) else d) or "").rpartition(".")[2] == "dataclass" for d in node.decorator_list):
        return []  # an inherited or generated ``__init__``: its parameters are not visible here
    return [
        (stmt.target.id, pn.dependency_key(stmt.target.id))
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id.startswith("_")
        and "ClassVar" not in ast.dump(stmt.annotation)
    ]


def dependency_params(args: ast.arguments, kind: str) -> list[tuple[str, str]]:
    """(parameter name, key) of the dependencies of an ``@injected`` / ``@instance`` function, in order."""
    found: list[tuple[str, str]] = []
    if kind == "instance":
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            found.append((arg.arg, arg.arg))
        return found
    for arg in args.posonlyargs:
        found.append((arg.arg, pn.dependency_key(arg.arg)))
    for arg in [*args.args, *args.kwonlyargs]:
        if arg.arg.startswith("_"):
            found.append((arg.arg, pn.dependency_key(arg.arg)))
    return found

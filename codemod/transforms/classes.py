"""Class injection: ``@injected`` classes and ``injected(C)`` -> the runtime's class constructor.

pinjected-semantics.md C4, §4.4 item 3. ``@injected`` on a class becomes ``@class_binding``, which binds
``new_<C>`` as pinjected does and leaves the class itself as it was; ``injected(C)`` (a class, not a
key string) becomes ``class_constructor(C)``, the env value building ``new_<C>`` once per run (see
``runtime/classes.py``). The class body is not touched: its methods keep calling ``self._dep(...)``,
because the constructor hands a migrated injected function over as a plain callable bound to the run
(a coroutine function for an ``async`` one). Which dependencies were ``async`` is known here only, from
the project index, so it is written out: ``@class_binding(awaited=("a_fetch",))``.

``injected(f)`` of a plain function (one the module defines undecorated, or an attribute of an imported
module such as ``Image.open``) becomes ``injected_function(f)``: ``f`` as an ``@injected`` function
whose calls are programs. Other arguments (a key held in a variable, an expression) are left to
``leftovers`` (DM103).
"""

from __future__ import annotations

import json

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register
from .base import pinjected_words

CLASSES_MODULE = "doeff_migrate.runtime.classes"


class ClassInjection(MigrationTransformer):
    def __init__(self, state) -> None:
        super().__init__(state)
        self.classes: set[str] = set()
        self.functions: set[str] = set()
        self.imported_modules: set[str] = set()
        self.function_depth = 0
        self.called: set[int] = set()

    def visit_Module(self, node: cst.Module) -> bool:
        self.classes = {s.name.value for s in node.body if isinstance(s, cst.ClassDef)}
        self.functions = {
            s.name.value for s in node.body
            if isinstance(s, cst.FunctionDef) and not any(self.state.canonical(d) is not None for d in s.decorators)
        }
        self.imported_modules = {
            (a.asname.name.value if a.asname else pn.dotted_cst(a.name).partition(".")[0])
            for s in node.body if isinstance(s, cst.SimpleStatementLine)
            for i in s.body if isinstance(i, cst.Import)
            for a in i.names
        }
        return True

    def statement_words(self) -> set[str]:
        # Only ``@injected`` classes and ``injected(...)`` calls are rewritten (``state.canonical``).
        return pinjected_words(self.state)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.function_depth += 1
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.function_depth -= 1
        return updated_node

    def runtime_target(self) -> bool:
        """Only the bundled runtime has the class constructor: ``--target doeff`` keeps DM103."""
        return self.state.target == "runtime"

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        if not self.runtime_target():
            return updated_node
        decorators = list(updated_node.decorators)
        for i, deco in enumerate(decorators):
            func = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
            if self.state.canonical(func) != pn.INJECTED or not self.state.in_range(original_node):
                continue
            if isinstance(deco.decorator, cst.Call) and any(
                a.keyword is None or a.keyword.value != "protocol" for a in deco.decorator.args
            ):
                return updated_node  # ``@injected("key")`` on a class: not class injection (DM103 stays)
            awaited = self.awaited_keys(f"new_{updated_node.name.value}")
            name = self.need("class_binding")
            expr: cst.BaseExpression = cst.Name(name)
            if awaited:
                expr = cst.Call(expr, [_awaited_arg(awaited)])
            decorators[i] = deco.with_changes(decorator=expr)
            return updated_node.with_changes(decorators=decorators)
        return updated_node

    def visit_Call(self, node: cst.Call) -> bool:
        if isinstance(node.func, cst.Call):
            self.called.add(id(node.func))  # ``injected(C)(args)``: an IProxy call of the constructor
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.function_depth or self.state.canonical(updated_node.func) != pn.INJECTED or not self.runtime_target():
            return updated_node
        if len(updated_node.args) != 1 or updated_node.args[0].keyword or updated_node.args[0].star:
            return updated_node
        arg = updated_node.args[0].value
        dotted = pn.dotted_cst(arg)
        if dotted is None or self.state.names.canonical_of_dotted(dotted) is not None:
            return updated_node
        if not (isinstance(arg, cst.Name) and self.is_class(arg.value)):
            # Only called right away: as a value it is an injected function, which callers of its
            # key would have to call as a program (not known from the key here).
            if id(original_node) in self.called and self.is_plain_callable(dotted):
                return updated_node.with_changes(func=cst.Name(self.need("injected_function")))
            return updated_node
        awaited = self.awaited_keys(f"new_{arg.value}")
        args = [cst.Arg(arg)]
        if awaited:
            args.append(_awaited_arg(awaited))
        # Called right away, it builds an instance (a program, as the IProxy was); as a value it is
        # the ``new_C`` constructor.
        helper = "injected_function" if id(original_node) in self.called else "class_constructor"
        return cst.Call(cst.Name(self.need(helper)), args)

    # -- analysis ------------------------------------------------------------------------------
    def is_class(self, name: str) -> bool:
        """A class this module defines, or an imported CamelCase name (``injected(f)`` of a function
        is ``@injected`` applied by hand, which ``injected_functions`` does not rewrite)."""
        if name in self.classes:
            return True
        index = self.state.index
        if index.resolve_ref(ValueSpec("ref", self.state.module, name)) is not None:
            return False
        return name in self.state.facts.imports and name[:1].isupper()

    def is_plain_callable(self, dotted: str) -> bool:
        """A function the module defines without a pinjected decorator, or an attribute of an imported
        module (``Image.open``): ``injected(f)`` of it is ``f`` made an ``@injected`` function."""
        index, module = self.state.index, self.state.module
        if index.resolve_ref(ValueSpec("ref", module, dotted)) is not None:
            return False  # already a provider: ``injected(provider)`` is left as it is
        head = dotted.partition(".")[0]
        if "." in dotted:
            return head in self.state.facts.imports or head in self.imported_modules
        return dotted in self.functions

    def awaited_keys(self, key: str) -> list[str]:
        """Dependencies of ``new_<C>`` every binding of which is an ``async`` injected function."""
        index = self.state.index
        providers = index.providers_for_key(key)
        if not providers:
            return []
        found = []
        for dep in providers[0].deps:
            targets = [*index.providers_for_key(dep), *filter(None, (index.resolve_ref(s) for s in index.bindings_for_key(dep)))]
            if targets and all(t.kind == "injected" and t.is_async for t in targets):
                found.append(dep)
        return found

    def need(self, name: str) -> str:
        AddImportsVisitor.add_needed_import(self.state.context, CLASSES_MODULE, name)
        return name


def _awaited_arg(keys: list[str]) -> cst.Arg:
    elements = [cst.Element(cst.SimpleString(json.dumps(k))) for k in keys]
    if len(elements) == 1:
        elements = [elements[0].with_changes(comma=cst.Comma())]
    return cst.Arg(
        cst.Tuple(elements),
        keyword=cst.Name("awaited"),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


transform = register(
    Transform(
        __name__,
        phase="di",
        order=5,
        transformer=ClassInjection,
        description="`injected(C)` / `@injected` classes -> `class_constructor(C)` / `@class_binding` (key `new_C`)",
        needed=lambda facts: facts.class_injection,
    )
)

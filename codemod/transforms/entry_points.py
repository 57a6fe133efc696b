"""Module-level IProxy entry points and ``Injected`` combinators -> programs, plus their required keys.

pinjected-semantics.md §2 C7-C14, C17 and §4.2. ``main: IProxy[int] = f(3)`` becomes
``main: Program[int] = f(3)`` (calling the ``@do`` function builds the same lazy computation); an
expression over injected values is lifted into a ``@do`` function of the same name in which every
pinjected leaf is ``yield``ed: calls of injected functions, ``@instance`` objects (run again, as a
value passed by object is in pinjected), ``injected("k")`` -> ``Ask("k")``, ``Injected.pure(v)`` -> ``v``,
``Injected.bind(f, **m)`` -> ``f`` called with asked keys (defaults ignored, renames honoured),
``Injected.mzip/zip/tuple/list/dict`` -> ``Spawn`` each + ``Gather`` (members run in order when they
do not block, as in pinjected), ``Injected.procedure`` -> one ``yield`` after the other, ``.map(f)`` on an
``Injected`` -> ``f(value)``. Per entry point and ``@instance``, the keys it can ``Ask`` for (transitive,
dependencies first) go to ``__doeff_requires__`` for the runner's pre-flight check and eager build.
What the lifting cannot prove (method calls on values, ``.await__()``, functions defined elsewhere)
stays an expression over the runtime's ``Expr`` (program_expressions.py); an entry point of another
module is a leaf through ``as_program``.
"""

from __future__ import annotations

import json

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..cst_walk import nodes
from ..index import ValueSpec
from . import MigrationTransformer, Transform, register
from .program_expressions import ExpressionLowering, NotAnExpression, primary as _primary
from ..rules.di import UNDISSOLVED_WITH_DESIGN, UNTRANSLATABLE_IPROXY
from ..rules.di_calls import INJECTED_ANNOTATED_PARAMETER

# Refusals of the lifting that a Program expression (program_expressions.py) resolves at run time.
_LOWERED_AS_EXPRESSION = frozenset({UNTRANSLATABLE_IPROXY.code})
_ATTRIBUTE_VALUE = {cst.Attribute: ("value",)}
"""Below an attribute (``x.attr``) only its value is searched (``has_leaf``)."""
_PASSED_AS_VALUE = "an injected function is passed as a value here: pinjected resolves it to a callable, a program is not one"
_NO_DOEFF_EXPRESSIONS = (
    "IProxy expression with no doeff form: Program expressions (`expr`) and `as_program` run on the bundled "
    "runtime only; migrate with --target runtime or lift it into a @do by hand"
)


class Untranslatable(Exception):
    """The expression cannot be lifted faithfully: the statement is flagged (``code``, default DM108)."""

    def __init__(self, code: str = UNTRANSLATABLE_IPROXY.code, message: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


# Plain callees that are never coroutine functions (``.map(str)``): called as they are.
_SYNC_BUILTINS = frozenset(
    "str int float bool bytes list tuple dict set frozenset len sorted reversed min max sum abs round repr "
    "type id print any all enumerate zip range".split()
)


def _is_static(node: cst.BaseExpression) -> bool:
    """A literal whose evaluation has no effect and reads no module state (same at import and at run)."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _is_static(node.left) and _is_static(node.right)
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _is_static(node.expression)
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and _is_static(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _is_static(e.key) and _is_static(e.value) for e in node.elements)
    return False


def _yield(expr: cst.BaseExpression) -> cst.Yield:
    return cst.Yield(value=expr, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


class _ExternalCalls(cst.CSTTransformer):
    """Calls of functions imported from another package, in lowered decorator arguments, whose
    arguments hold a Program expression: ``call_at_import`` decides at import whether the callee is a
    migrated injected function (an IProxy call) or a plain one (called with the proxy objects)."""

    def __init__(self, entry: "EntryPoints") -> None:
        super().__init__()
        self.entry = entry

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        state = self.entry.state
        head = (pn.dotted_cst(updated_node.func) or "").split(".")[0]
        imported = state.facts.imports.get(head)
        if imported is None or imported[0] in state.index.sources or imported[0].startswith("doeff_migrate"):
            return updated_node
        if not any(_builds_expression(a.value) for a in updated_node.args):
            return updated_node
        return updated_node.with_changes(func=cst.Name(state.need("call_at_import")), args=[cst.Arg(updated_node.func), *updated_node.args])


def _unevaluated_args(call: cst.Call, params: tuple[tuple[int, str], ...]) -> set[int]:
    """Indexes of ``call``'s arguments given to parameters pinjected hands their argument unevaluated."""
    positions = {p for p, _name in params if p >= 0}
    names = {name for _p, name in params}
    found = set()
    for i, arg in enumerate(call.args):
        if arg.star:
            continue
        if (arg.keyword is None and i in positions) or (arg.keyword is not None and arg.keyword.value in names):
            found.add(i)
    return found


def _builds_expression(node: cst.CSTNode) -> bool:
    """Whether ``node`` (lowered) builds a Program expression (``by_name``, ``expr``, the combinators)."""
    names = {"by_name", "expr", "pure_value", "mzip", "list_of", "dict_of", "bind", "partial_of", "map_value", "procedure", "as_program"}
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            nonlocal found
            if isinstance(n.func, cst.Name) and n.func.value.removeprefix("_dm_") in names:
                found = True

    node.visit(_Finder())
    return found


class EntryPoints(MigrationTransformer):
    def __init__(self, state) -> None:
        super().__init__(state)
        self.programs: dict[str, str] = {}  # migrated entry point -> "program" | "function"
        self.function_values: set[str] = set()  # entry points whose value holds an injected function
        self.plain_functions: dict[str, cst.FunctionDef] = {}
        self.prelude: list[cst.SimpleStatementLine] = []  # statements of the @do being lifted
        self.captured: list[cst.SimpleStatementLine] = []  # module-level temporaries placed before it
        self.entry = ""  # the entry point being lifted
        self.repeated: set[str] = set()  # leaves that occur more than once in it: yielded once
        self.yielded: dict[str, str] = {}  # leaf -> local holding its value
        self.module_names: set[str] | None = None
        self.module_node: cst.Module | None = None
        self.injected_names: set[str] = set()  # migrated module variables that held an ``Injected``

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        """The arguments of decorators kept above a migrated injected function (``injected_proxy``,
        runtime/decoration.py): pinjected evaluates them at import, so an IProxy in them
        (``async_cached(sqlite_dict(injected("root") / "x"))``) is handed over as the proxy object; the
        counterpart is the same expression over ``expr``."""
        decorators = list(updated_node.decorators)
        position = next((i for i, d in enumerate(decorators) if pn.dotted_cst(d.decorator) in ("injected_proxy", "_dm_injected_proxy")), None)
        if not position:
            return updated_node
        lowering = ExpressionLowering(self)
        for i, deco in enumerate(decorators[:position]):
            call = deco.decorator
            if not isinstance(call, cst.Call) or not any(self.has_leaf(a.value) for a in call.args):
                continue
            try:
                args = [lowering.argument(a, as_proxy=True) for a in call.args]
            except NotAnExpression:
                return self.state.flag(updated_node, UNTRANSLATABLE_IPROXY.code, "decorator argument with no Program-expression counterpart: port it by hand")
            args = [a.with_changes(value=a.value.visit(_ExternalCalls(self))) for a in args]
            decorators[i] = deco.with_changes(decorator=call.with_changes(args=args))
        return updated_node.with_changes(decorators=decorators)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node
        for stmt in node.body:
            if isinstance(stmt, cst.FunctionDef):
                if not stmt.decorators:
                    self.plain_functions[stmt.name.value] = stmt

    # -- leaves -------------------------------------------------------------------------------
    def provider(self, node: cst.BaseExpression):
        dotted = pn.dotted_cst(node)
        if dotted is None:
            return None
        return self.state.index.resolve_ref(ValueSpec("ref", self.state.module, dotted))

    def injected_class_call(self, node: cst.BaseExpression) -> str | None:
        if not isinstance(node, cst.Call):
            return None
        dotted = pn.dotted_cst(node.func) or ""
        head, _, attr = dotted.rpartition(".")
        if self.state.names.canonical_of_dotted(head) == pn.INJECTED_CLASS:
            return attr
        return None

    def returns_injected(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` is an ``Injected`` (whose ``.map``/``.proxy`` are its own), not an IProxy.

        On 0.2.252 ``Injected.tuple/list/dict`` and ``procedure`` of two or more are built as IProxy
        calls, and ``injected("k")`` is ``by_name("k").proxy``: on those, ``.map`` and ``.proxy`` are
        attributes of the value (pinjected/di/injected.py).
        """
        if isinstance(node, cst.Name):
            return node.value in self.injected_names
        if not isinstance(node, cst.Call):
            return False
        attr = self.injected_class_call(node)
        if attr in ("by_name", "pure", "mzip", "zip", "bind", "partial", "dynamic"):
            return True
        if attr == "procedure":
            return len(node.args) == 1 and self.returns_injected(node.args[0].value)
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value in ("map", "zip") and self.returns_injected(func.value)

    def uses_pinjected(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` refers to a pinjected provider or API (not only to already migrated bindings)."""
        for n in nodes(node):
            if not isinstance(n, (cst.Name, cst.Attribute)):
                continue
            target = self.provider(n)
            if target is not None and not getattr(target, "migrated", False):
                return True
            if self.state.canonical(n) in (pn.INJECTED, pn.INJECTED_CLASS):
                return True
            if isinstance(n, cst.Name) and (n.value in self.programs or self.imported_entry_point(n.value)):
                return True
        return False

    def has_leaf(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` contains a pinjected computation (so it is an IProxy, not a value): a lambda's
        body does not count, nor the name of an attribute (``x.attr``)."""
        for n in nodes(node, skip=(cst.Lambda,), only=_ATTRIBUTE_VALUE):
            if isinstance(n, cst.Call):
                if self.provider(n.func) is not None:
                    return True
                if self.state.canonical(n.func) == pn.INJECTED and _single_string(n):
                    return True
                if self.injected_class_call(n) not in (None, "dynamic"):
                    return True
            elif isinstance(n, cst.Name) and self.is_leaf(n):
                return True
        return False

    def is_leaf(self, node: cst.BaseExpression) -> bool:
        """A node the entry point must ``yield``: an ``@instance``, or a migrated entry point of this module or another."""
        target = self.provider(node)
        if target is not None and target.kind == "instance":
            return True
        return isinstance(node, cst.Name) and (node.value in self.programs or self.imported_entry_point(node.value))

    def program_of(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A program computing ``node`` (for ``Spawn``): leaves keep their program form."""
        target = self.provider(node)
        if target is not None and target.kind == "instance":
            return cst.Call(node.with_changes(lpar=[], rpar=[]))
        if isinstance(node, cst.Name) and node.value in self.programs:
            return node if self.programs[node.value] == "program" else cst.Call(node)
        if isinstance(node, cst.Name) and self.imported_entry_point(node.value):
            if self.state.target != "runtime":
                raise Untranslatable(UNTRANSLATABLE_IPROXY.code, _NO_DOEFF_EXPRESSIONS)
            # A program or a lifted @do function, depending on how the other module was rewritten.
            return cst.Call(cst.Name(self.state.need("as_program")), [cst.Arg(node)])
        if isinstance(node, cst.Call):
            target = self.provider(node.func)
            if target is not None and target.kind == "injected" and not any(self.has_leaf(a.value) for a in node.args):
                return node
            if self.state.canonical(node.func) == pn.INJECTED and _single_string(node):
                return self.ask(node)
            if self.injected_class_call(node) == "by_name" and _single_string(node):
                return self.ask(node)
            if self.injected_class_call(node) == "pure" and len(node.args) == 1 and not node.args[0].keyword:
                return cst.Call(cst.Name(self.state.need("Pure")), [cst.Arg(self.capture(node.args[0].value))])
        if not self.has_leaf(node):
            return cst.Call(cst.Name(self.state.need("Pure")), [cst.Arg(self.capture(node))])
        raise Untranslatable

    def fresh_name(self, base: str) -> str:
        if self.module_names is None:
            self.module_names = _names(self.module_node) if self.module_node is not None else set()
        name, n = base, 1
        while name in self.module_names:
            n += 1
            name = f"{base}{n}"
        self.module_names.add(name)
        return name

    def capture(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """A plain sub-expression of a lifted entry point, evaluated once at import as pinjected does.

        pinjected evaluates the plain arguments of an IProxy expression when the module is imported;
        inside the ``@do`` they would run at each run, after the leaves before them, and see later
        module state. Literals stay in place.
        """
        if _is_static(node):
            return node
        name = self.fresh_name(f"_{self.entry}_arg{len(self.captured) + 1}")
        self.captured.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], node.with_changes(lpar=[], rpar=[]))]))
        return cst.Name(name)

    def yield_leaf(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``(yield leaf)``; a leaf object used twice in one expression is resolved once, as in pinjected."""
        key = pn.dotted_cst(node) or ""
        if key in self.yielded:
            return cst.Name(self.yielded[key])
        value = _yield(self.program_of(node))
        if key not in self.repeated:
            return value
        local = self.fresh_name(f"_{key.replace('.', '_')}_value")
        self.yielded[key] = local
        return cst.NamedExpr(cst.Name(local), value, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def repeated_leaves(self, node: cst.BaseExpression) -> set[str]:
        counts: dict[str, int] = {}
        outer = self

        class _Counter(cst.CSTVisitor):
            def visit_Lambda(self, n: cst.Lambda) -> bool:
                return False

            def visit_Call(self, n: cst.Call) -> bool:
                if outer.injected_class_call(n) is not None:
                    return False  # combinator members are programs of their own (run once each)
                return True

            def _leaf(self, n: cst.BaseExpression) -> None:
                if outer.is_leaf(n):
                    key = pn.dotted_cst(n) or ""
                    counts[key] = counts.get(key, 0) + 1

            def visit_Name(self, n: cst.Name) -> None:
                self._leaf(n)

            def visit_Attribute(self, n: cst.Attribute) -> bool:
                self._leaf(n)
                return True

        node.visit(_Counter())
        return {k for k, c in counts.items() if c > 1}

    def ask(self, node: cst.Call) -> cst.Call:
        """``Ask(k)`` for ``injected("k")`` / ``Injected.by_name("k")``; where ``k`` is (or may be) an
        injected function, ``AskFunction(k)`` / ``AskAsyncFunction(k)``: pinjected resolves it to a
        callable returning values, which the bound callable is (runtime/dependencies.py)."""
        key = node.args[0].value.evaluated_value  # type: ignore[attr-defined]
        index = self.state.index
        if index.key_kind(key) == "value":
            name = "Ask"
        else:
            targets = [*index.providers_for_key(key), *filter(None, (index.resolve_ref(s) for s in index.bindings_for_key(key)))]
            name = "AskAsyncFunction" if any(t.is_async for t in targets) else "AskFunction"
        return cst.Call(cst.Name(self.state.need(name)), [cst.Arg(node.args[0].value)])

    def value_of(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """An expression evaluating ``node`` inside a ``@do`` body (leaves ``yield``ed)."""
        if not self.has_leaf(node):
            return self.capture(node)
        if self.is_leaf(node):
            return self.yield_leaf(node)
        if isinstance(node, cst.Call):
            attr = self.injected_class_call(node)
            if attr is not None:
                return self.combinator(attr, node)
            if self.state.canonical(node.func) == pn.INJECTED and _single_string(node):
                return _yield(self.program_of(node))
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "map":
                inner = func.value
                if not self.returns_injected(inner):
                    raise Untranslatable  # ``.map`` on an IProxy is an attribute of the value (trap 6)
                if len(node.args) != 1 or node.args[0].keyword:
                    raise Untranslatable
                return self.apply(node.args[0].value, [cst.Arg(self.value_of(inner))])
            target = self.provider(func)
            if target is not None and target.kind == "injected":
                unevaluated = _unevaluated_args(node, getattr(target, "unevaluated", ()))
                args = [a.with_changes(value=self.argument_of(a.value, i in unevaluated)) for i, a in enumerate(node.args)]
                return _yield(node.with_changes(args=args))
            raise Untranslatable  # a method call / call on an injected value: type unknown (DM108)
        if isinstance(node, cst.Attribute):
            if node.attr.value == "proxy":
                inner = node.value
                if self.returns_injected(inner):
                    return self.value_of(inner)  # C13: ``.proxy`` turns an Injected into an IProxy of the same value
                raise Untranslatable  # an attribute of the value: a Program expression
            return node.with_changes(value=_primary(self.value_of(node.value)))
        if isinstance(node, cst.Subscript):
            value = _primary(self.value_of(node.value))
            elements = []
            for element in node.slice:
                inner = element.slice
                if isinstance(inner, cst.Index):
                    inner = inner.with_changes(value=self.value_of(inner.value))
                elif isinstance(inner, cst.Slice):
                    if self.has_leaf(inner):
                        raise Untranslatable  # pinjected does not resolve slice bounds: it fails at run time
                    inner = inner.with_changes(**{
                        part: self.value_of(getattr(inner, part))
                        for part in ("lower", "upper", "step") if getattr(inner, part) is not None
                    })
                elements.append(element.with_changes(slice=inner))
            return node.with_changes(value=value, slice=elements)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Multiply, cst.Divide, cst.Modulo)):
            return node.with_changes(left=self.value_of(node.left), right=self.value_of(node.right))
        if isinstance(node, cst.Comparison) and all(isinstance(c.operator, cst.Equal) for c in node.comparisons):
            return node.with_changes(
                left=self.value_of(node.left),
                comparisons=[c.with_changes(comparator=self.value_of(c.comparator)) for c in node.comparisons],
            )
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
            return node.with_changes(expression=self.value_of(node.expression))
        raise Untranslatable

    def argument_of(self, node: cst.BaseExpression, unevaluated: bool = False) -> cst.BaseExpression:
        """An argument of an injected function's call: resolved (an IProxy or an ``Injected`` alike),
        except for a parameter annotated ``Injected`` (``unevaluated``, index.unevaluated_params), which pinjected hands
        the argument as it is (verified on 0.2.252: ``f(Injected.pure(1))`` gets ``1``, and gets the
        ``Injected`` object when the parameter is annotated, which the function may resolve with
        ``__resolver__``). What is handed over unevaluated is its Program expression."""
        if unevaluated and (self.returns_injected(node) or self.has_leaf(node)):
            if self.state.target != "runtime":
                raise Untranslatable(INJECTED_ANNOTATED_PARAMETER.code)
            try:
                return ExpressionLowering(self).as_expr(node)
            except NotAnExpression:
                raise Untranslatable from None
        return self.value_of(node)

    def apply(self, func: cst.BaseExpression, args: list[cst.Arg]) -> cst.BaseExpression:
        """Call a plain function on resolved values; async functions of this module are awaited."""
        if isinstance(func, cst.Lambda):
            func = func.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        call = cst.Call(func, args)
        name = pn.dotted_cst(func)
        defined = self.plain_functions.get(name or "")
        if defined is not None and defined.asynchronous is not None:
            return _yield(cst.Call(cst.Name(self.state.need("Await")), [cst.Arg(call)]))
        if defined is None and not isinstance(func, cst.Lambda) and name not in _SYNC_BUILTINS:
            # pinjected awaits a coroutine function (C12); this one is defined elsewhere: unknown.
            raise Untranslatable  # defined elsewhere: the Program expression checks at run time
        return call

    def member_height(self, node: cst.BaseExpression) -> int | None:
        """How many resolution hops pinjected needs before a combinator member's body runs.

        ``None`` for members without a body of their own (pure values, aliases): their position
        does not matter, so they keep the one of the member before them."""
        target = self.provider(node)
        if target is not None and target.kind == "instance":
            return self.state.index.provider_height(target, self.state.module)
        if isinstance(node, cst.Call):
            target = self.provider(node.func)
            if target is not None and target.kind == "injected":
                return self.state.index.provider_height(target, self.state.module) + 1
        return None

    def gathered(self, members: list[cst.BaseExpression]) -> cst.BaseExpression:
        """``Gather`` of spawned members; spawned in the order pinjected runs them, gathered in order.

        Members that do not block run one after another in spawn order; pinjected starts them
        together and a member whose dependencies need more resolution hops runs later (verified:
        ``mzip(dataset, weights)`` builds ``weights`` first when only ``dataset`` has dependencies).
        """
        spawn, gather = self.state.need("Spawn"), self.state.need("Gather")
        heights: list[int] = []
        for m in members:
            found = self.member_height(m)
            heights.append(found if found is not None else (heights[-1] if heights else 0))
        programs = [self.program_of(m) for m in members]
        if heights == sorted(heights):
            tasks = [cst.Arg(_yield(cst.Call(cst.Name(spawn), [cst.Arg(p)]))) for p in programs]
            return _yield(cst.Call(cst.Name(gather), tasks))
        names = []
        for i in sorted(range(len(members)), key=lambda i: (heights[i], i)):
            name = f"_task{len(self.prelude)}"
            names.append((i, name))
            self.prelude.append(cst.SimpleStatementLine([cst.Assign(
                [cst.AssignTarget(cst.Name(name))], cst.Yield(cst.Call(cst.Name(spawn), [cst.Arg(programs[i])])))]))
        by_index = dict(names)
        return _yield(cst.Call(cst.Name(gather), [cst.Arg(cst.Name(by_index[i])) for i in range(len(members))]))

    def combinator(self, attr: str, node: cst.Call) -> cst.BaseExpression:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = [(a.keyword.value, a.value) for a in node.args if a.keyword is not None]
        if any(a.star for a in node.args):
            raise Untranslatable
        if attr in ("pure",) and len(positional) == 1:
            return self.capture(positional[0])
        if attr == "by_name" and _single_string(node):
            return _yield(self.program_of(node))
        if attr in ("mzip", "zip", "tuple") and not keywords:
            return cst.Call(cst.Name("tuple"), [cst.Arg(self.gathered(positional))])
        if attr == "list" and not keywords:
            return cst.Call(cst.Name("list"), [cst.Arg(self.gathered(positional))])
        if attr == "dict" and not positional:
            keys = cst.Tuple([cst.Element(cst.SimpleString(json.dumps(k))) for k, _ in keywords] + ([] if len(keywords) != 1 else []))
            zipped = cst.Call(cst.Name("zip"), [cst.Arg(keys), cst.Arg(self.gathered([v for _, v in keywords]))])
            return cst.Call(cst.Name("dict"), [cst.Arg(zipped)])
        if attr == "procedure" and positional and not keywords:
            # Injected.procedure(a, b, c, ...) is tuple(tuple(tuple(a, b), c), ...)[1] in pinjected: the
            # shallow members resolve first, so members run in the order c.., b.., then a, b (verified
            # on 0.2.252: procedure(s1, s2, s3, s4) prints s4, s3, s1, s2). The value is the last one's.
            if len(positional) == 1:
                return self.value_of(positional[0])
            order = [*reversed(positional[2:]), *positional[:2]]
            index = order.index(positional[-1])
            return cst.Subscript(self.gathered(order), [cst.SubscriptElement(cst.Index(cst.Integer(str(index))))])
        if attr == "bind" and positional:
            return self.bind(positional[0], positional[1:], keywords)
        raise Untranslatable

    def bind(self, func: cst.BaseExpression, extra: list, mapping: list[tuple[str, cst.BaseExpression]]) -> cst.BaseExpression:
        if extra:
            raise Untranslatable
        if isinstance(func, cst.Lambda):
            params = func.params
        else:
            defined = self.plain_functions.get(pn.dotted_cst(func) or "")
            if defined is None:  # its parameters (the keys) and whether it is async are unknown here
                raise Untranslatable  # parameters known only at run time: the Program expression's ``bind``
            params = defined.params
        if params.star_arg is not cst.MaybeSentinel.DEFAULT and isinstance(params.star_arg, cst.Param) or params.star_kwarg:
            raise Untranslatable
        renames = dict(mapping)
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
            source = renames.get(p.name.value)
            key = source.evaluated_value if isinstance(source, cst.SimpleString) else p.name.value if source is None else None
            if key is not None and self.state.index.key_kind(key) != "value":
                # The plain function would call an injected function: it would get a program back.
                raise Untranslatable
        ask = self.state.need("Ask")
        args = []
        for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
            name = p.name.value
            source = renames.pop(name, None)
            if source is None:
                value: cst.BaseExpression = _yield(cst.Call(cst.Name(ask), [cst.Arg(cst.SimpleString(json.dumps(name)))]))
            elif isinstance(source, cst.SimpleString):
                value = _yield(cst.Call(cst.Name(ask), [cst.Arg(source)]))
            else:
                value = self.value_of(source)
            args.append(cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
        if renames:
            raise Untranslatable
        return self.apply(func, args)

    # -- statements ---------------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if len(updated_node.body) != 1:
            return updated_node
        stmt = updated_node.body[0]
        if isinstance(stmt, cst.Expr) or (
            isinstance(stmt, cst.Assign) and (len(stmt.targets) != 1 or not isinstance(stmt.targets[0].target, cst.Name))
        ):
            return self.lowered_statement(updated_node, stmt)
        if not isinstance(stmt, (cst.Assign, cst.AnnAssign)) or stmt.value is None:
            return updated_node
        name = stmt.targets[0].target.value if isinstance(stmt, cst.Assign) else getattr(stmt.target, "value", None)
        if name is None or (name.startswith("__") and name.endswith("__")) or name in self.state.facts.design_vars:
            return updated_node
        annotated = isinstance(stmt, cst.AnnAssign) and self.is_iproxy(stmt.annotation.annotation)
        if not annotated and not (self.has_leaf(stmt.value) and self.uses_pinjected(stmt.value)):
            # Over migrated bindings only: already programs (a second run, or code written for them).
            return updated_node
        if isinstance(stmt, cst.AnnAssign) and self.is_program(stmt.annotation.annotation):
            return updated_node  # written by an earlier run (``x: Program = inst()``): already a program
        if name in self.state.unmigrated_entries:
            # In a ``with`` block whose design is not migrated (designs.py flags the block): as a
            # program it would run without the block's bindings, silently.
            from .designs import DM118_ENTRY_MESSAGE

            return self.left_as_is(updated_node, name, UNDISSOLVED_WITH_DESIGN.code, DM118_ENTRY_MESSAGE)
        value = stmt.value
        if self.returns_injected(value):
            self.injected_names.add(name)
        self.prelude, self.captured, self.yielded = [], [], {}
        self.entry = name
        index = self.state.index
        names = _names(value)
        left = sorted(
            n for n in names
            if n in self.state.unmigrated or index.is_unmigrated(index.resolve_ref(ValueSpec("ref", self.state.module, n)))
        )
        if left:
            return self.left_as_is(
                updated_node, name, UNTRANSLATABLE_IPROXY.code, f"entry point uses `{left[0]}`, which was left as pinjected: migrate it first"
            )
        passed = self.passed_injected_functions(value)
        if passed and self.state.target != "runtime":
            return self.left_as_is(updated_node, name, UNTRANSLATABLE_IPROXY.code, _PASSED_AS_VALUE)
        if not self.has_leaf(value) and not passed:
            # Annotated but built from plain values (a dict of programs, a value): only the annotation changes.
            return self.as_program(updated_node, stmt, name, value, register=False)
        imports = list(AddImportsVisitor._get_imports_from_context(self.state.context))
        try:
            if passed:
                self.function_values.add(name)
                # An injected function as a value is the callable with its dependencies bound
                # (``bound_dependency``), which only the expression form builds.
                raise Untranslatable(UNTRANSLATABLE_IPROXY.code, _PASSED_AS_VALUE)
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Call) and pn.dotted_cst(value.func.func) == "injected_function":
                return self.as_program(updated_node, stmt, name, value)  # already a program (runtime/classes.py)
            if isinstance(value, cst.Call) and not self.has_leaf_in_args(value):
                target = self.provider(value.func)
                if target is not None and target.kind == "injected":
                    return self.as_program(updated_node, stmt, name, value)
            if self.provider(value) is not None and self.provider(value).kind == "instance":
                return self.as_program(updated_node, stmt, name, cst.Call(value))
            self.repeated = self.repeated_leaves(value)
            body = self.value_of(value)
        except Untranslatable as exc:
            if exc.code not in _LOWERED_AS_EXPRESSION:
                return self.left_as_is(updated_node, name, exc.code, exc.message)
            if self.state.target != "runtime":
                return self.left_as_is(updated_node, name, exc.code, _NO_DOEFF_EXPRESSIONS)
            # The imports the abandoned lifting asked for are not used by the expression.
            self.state.context.scratch[AddImportsVisitor.CONTEXT_KEY] = imports
            try:
                lowered, kind = ExpressionLowering(self).lower(value)
            except NotAnExpression:
                return self.left_as_is(updated_node, name, exc.code, exc.message)
            return self.as_program(updated_node, stmt, name, lowered, register=kind != "plain")
        self.programs[name] = "function"
        captured = self.captured
        if captured:
            captured[0] = captured[0].with_changes(leading_lines=updated_node.leading_lines or [cst.EmptyLine()])
        func = cst.FunctionDef(
            name=cst.Name(name),
            params=cst.Parameters(),
            body=cst.IndentedBlock([*self.prelude, cst.SimpleStatementLine([cst.Return(_bare_return(body))])]),
            decorators=[cst.Decorator(cst.Name(self.state.need("do")))],
            leading_lines=[] if captured else (updated_node.leading_lines or [cst.EmptyLine()]),
        )
        return cst.FlattenSentinel([*captured, func])

    def lowered_statement(self, line: cst.SimpleStatementLine, stmt: cst.Expr | cst.Assign):
        """Proxies built outside a named entry point (``RUNS[k] = train(k).loss``, ``JOBS.append(...)`` in
        a loop): their IProxy operations become Program expressions; nothing else changes."""
        value = stmt.value
        if self.state.target != "runtime" or not (self.has_leaf(value) and self.uses_pinjected(value)):
            return line
        try:
            lowered, _kind = ExpressionLowering(self).lower(value)
        except NotAnExpression:
            return line
        return line.with_changes(body=[stmt.with_changes(value=lowered)])

    def left_as_is(self, line: cst.SimpleStatementLine, name: str, code: str, message: str | None = None):
        """Flag an entry point left as pinjected; later entry points using it are flagged too."""
        self.state.unmigrated.add(name)
        return self.state.flag(line, code, message)

    def imported_entry_point(self, name: str) -> bool:
        origin = self.state.facts.imports.get(name)
        if origin is None:
            return False
        facts = self.state.index.modules.get(origin[0])
        return facts is not None and origin[1] in facts.entry_points

    def passes_injected_function(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` references an injected function other than as the callee of a call."""
        return bool(self.passed_injected_functions(node))

    def passed_injected_functions(self, node: cst.BaseExpression) -> list:
        """The injected functions ``node`` references other than as the callee of a call (an argument, a value)."""
        callees: set[int] = set()
        found: list = []
        outer = self

        class _Finder(cst.CSTVisitor):
            def visit_Call(self, n: cst.Call) -> None:
                callees.add(id(n.func))

            def visit_Lambda(self, n: cst.Lambda) -> bool:
                return False

            def _check(self, n: cst.BaseExpression) -> bool:
                if id(n) not in callees:
                    target = outer.provider(n)
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

    def has_leaf_in_args(self, call: cst.Call) -> bool:
        return any(self.has_leaf(a.value) for a in call.args)

    def is_iproxy(self, annotation: cst.BaseExpression) -> bool:
        if isinstance(annotation, cst.Subscript):
            annotation = annotation.value
        return self.state.names.canonical_of_dotted(pn.dotted_cst(annotation)) == pn.IPROXY

    def is_program(self, annotation: cst.BaseExpression) -> bool:
        """``Program`` / ``Program[T]`` imported from the runtime (or doeff): the annotation the codemod writes."""
        if isinstance(annotation, cst.Subscript):
            annotation = annotation.value
        origin = self.state.facts.imports.get(pn.dotted_cst(annotation) or "", ("", ""))[0]
        return origin.startswith("doeff_migrate.runtime") or origin == "doeff"

    def as_program(self, line: cst.SimpleStatementLine, stmt, name: str, value: cst.BaseExpression, register: bool = True):
        if register:
            self.programs[name] = "program"
        if isinstance(stmt, cst.AnnAssign):
            annotation = stmt.annotation.annotation
            head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            if self.is_iproxy(annotation) or self.state.canonical(head) == pn.INJECTED_CLASS:  # the value is a program now
                program = cst.Name(self.state.need("Program"))
                annotation = annotation.with_changes(value=program) if isinstance(annotation, cst.Subscript) else program
            new = stmt.with_changes(value=value, annotation=stmt.annotation.with_changes(annotation=annotation))
        else:
            new = stmt.with_changes(value=value)
        return line.with_changes(body=[new])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        entries = [*self.state.migrated_instances, *self.programs]
        if not entries:
            return updated_node
        elements = []
        for entry in entries:
            keys = self.state.index.requires(self.state.module, entry)
            if not keys:  # unknown, or nothing to check: the runner resolves lazily
                continue
            items = [cst.Element(cst.SimpleString(json.dumps(k))) for k in keys]
            value = cst.Tuple(items) if len(items) != 1 else cst.Tuple(items, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            elements.append(cst.DictElement(cst.SimpleString(json.dumps(entry)), value))
        if not elements:
            return updated_node
        body = list(updated_node.body)
        for i, stmt in enumerate(body):
            existing = _requires_dict(stmt)
            if existing is not None:
                # A second run (a file left partly unmigrated) merges instead of appending again.
                new_by_key = {e.key.evaluated_value: e for e in elements}  # type: ignore[union-attr]
                merged_elements = []
                for e in existing.elements:
                    key = e.key.evaluated_value if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString) else None
                    merged_elements.append(new_by_key.pop(key, e) if key is not None else e)
                merged = existing.with_changes(elements=[*merged_elements, *new_by_key.values()])
                if merged.deep_equals(existing):
                    return updated_node
                assign = stmt.body[0]  # type: ignore[union-attr]
                body[i] = stmt.with_changes(body=[assign.with_changes(value=merged)])  # type: ignore[union-attr]
                return updated_node.with_changes(body=body)
        requires = cst.SimpleStatementLine(
            [cst.Assign([cst.AssignTarget(cst.Name("__doeff_requires__"))], cst.Dict(elements))],
            leading_lines=[cst.EmptyLine()],
        )
        return updated_node.with_changes(body=[*body, requires])


def with_requires(tree: cst.Module, state) -> cst.Module:
    """``tree`` with the ``__doeff_requires__`` entries of the instances and tests this run migrated
    (``state.migrated_instances``), written and merged as the transform writes them at the end of a file."""
    return EntryPoints(state).leave_Module(tree, tree)


def _requires_dict(stmt: cst.CSTNode) -> cst.Dict | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if (
            len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == "__doeff_requires__"
            and isinstance(assign.value, cst.Dict)
        ):
            return assign.value
    return None


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_Names())
    return found


def _bare_return(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr


def _single_string(node: cst.Call) -> bool:
    return len(node.args) == 1 and node.args[0].keyword is None and isinstance(node.args[0].value, cst.SimpleString)


transform = register(
    Transform(
        __name__,
        phase="di",
        order=30,
        transformer=EntryPoints,
        description="IProxy entry points and Injected combinators -> programs; __doeff_requires__ per entry point",
    )
)

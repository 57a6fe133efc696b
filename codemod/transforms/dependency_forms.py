"""The faithful forms of ``@injected`` / ``@instance`` bodies that cannot become ``yield`` statements.

DESIGN.md "Translation principle: faithful first, static where proven" and pinjected-semantics.md
§4.4 items 1, 2, 4 and 7. Used by ``injected_functions`` once it has chosen a form:

* **pass form** (generators, ``@contextmanager`` / ``@asynccontextmanager`` providers, other
  decorators stacked under ``@injected``): the function stays exactly as written, decorators
  included, under ``@pass_dependencies(key=Ask, ...)``, which asks the keys and passes the values as
  leading positional arguments, pinjected's calling convention (§3: a ``functools.wraps`` wrapper
  receives the resolved dependencies first; a retry decorator re-runs the body).
* **coroutine form** (``async with``, ``async for``, ``await`` inside a comprehension or lambda): the
  dependencies are asked at the top of a ``@do`` body and the original body runs unchanged as a
  nested coroutine, ``return (yield Await(body(...)))``. The nested coroutine takes the original
  parameters, so every name keeps the scope it had.
"""

from __future__ import annotations

import keyword

import libcst as cst

from ..cst_walk import name_counts
from ..state import FileState


# The one key pinjected answers itself that has a counterpart: its resolver, bound to the run.
RESOLVER_KEY = "__resolver__"


def ask_name(state: FileState, is_async: bool, binding: str, key: str = "") -> str:
    """The runtime's ask for one dependency: ``Ask`` for values, a bound callable otherwise, and the
    resolver bound to the run for pinjected's ``__resolver__`` (runtime/resolver.py)."""
    if key == RESOLVER_KEY:
        return state.need("AskResolver")
    if binding != "callable":
        return state.need("Ask")
    return state.need("AskAsyncFunction" if is_async else "AskFunction")


def pass_decorator(state: FileState, asks: list[tuple[str, str]]) -> cst.Decorator:
    """``@pass_dependencies(key=Ask, ...)`` for ``(key, ask name)`` pairs in parameter order."""
    args: list[cst.Arg] = []
    odd: list[cst.DictElement] = []
    for key, ask in asks:
        if key.isidentifier() and not keyword.iskeyword(key) and not odd:
            args.append(cst.Arg(cst.Name(ask), keyword=cst.Name(key), equal=_tight_equal()))
        else:  # a key that is not a keyword name (``_class`` -> ``class``), and every key after it
            odd.append(cst.DictElement(cst.SimpleString(repr(key)), cst.Name(ask)))
    if odd:
        args.append(cst.Arg(cst.Dict(odd), star="**"))
    return cst.Decorator(cst.Call(cst.Name(state.need("pass_dependencies")), args))


def _tight_equal() -> cst.AssignEqual:
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def free_name(taken: set[str], base: str = "body") -> str:
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"_{base}{n if n > 1 else ''}"
    return name


def coroutine_body(
    state: FileState,
    node: cst.FunctionDef,
    body_name: str,
    head: list[cst.BaseStatement],
    asks: list[cst.BaseStatement],
) -> cst.IndentedBlock:
    """``asks; async def body(<original params>): <original body>; return (yield Await(body(...)))``.

    ``head`` is the docstring (kept on the outer function). Defaults and annotations are dropped from
    the nested coroutine's parameters: every argument is passed explicitly.
    """
    assert isinstance(node.body, cst.IndentedBlock)
    params = node.params
    bare = lambda p: p.with_changes(default=None, equal=cst.MaybeSentinel.DEFAULT, annotation=None)  # noqa: E731
    inner_params = params.with_changes(
        posonly_params=[bare(p) for p in params.posonly_params],
        params=[bare(p) for p in params.params],
        kwonly_params=[bare(p) for p in params.kwonly_params],
        star_arg=bare(params.star_arg) if isinstance(params.star_arg, cst.Param) else params.star_arg,
        star_kwarg=bare(params.star_kwarg) if params.star_kwarg is not None else None,
    )
    call_args: list[cst.Arg] = [cst.Arg(cst.Name(p.name.value)) for p in [*params.posonly_params, *params.params]]
    if isinstance(params.star_arg, cst.Param):
        call_args.append(cst.Arg(cst.Name(params.star_arg.name.value), star="*"))
    call_args += [cst.Arg(cst.Name(p.name.value), keyword=cst.Name(p.name.value), equal=_tight_equal()) for p in params.kwonly_params]
    if params.star_kwarg is not None:
        call_args.append(cst.Arg(cst.Name(params.star_kwarg.name.value), star="**"))
    original = list(node.body.body)[len(head):]
    inner = cst.FunctionDef(
        name=cst.Name(body_name),
        params=inner_params,
        body=node.body.with_changes(body=original),
        asynchronous=cst.Asynchronous(),
    )
    awaited = cst.Call(cst.Name(state.need("Await")), [cst.Arg(cst.Call(cst.Name(body_name), call_args))])
    ret = cst.SimpleStatementLine([cst.Return(cst.Yield(awaited, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))])
    return node.body.with_changes(body=[*head, *asks, inner, ret])


# -- a list comprehension of dependency calls, lowered to a loop with ``yield`` ------------------------


def lowerable(assign: cst.Assign, in_function: dict[str, int]) -> bool:
    """``x = [f(i) for i in xs if c]`` in a body's own scope, where a loop means the same thing.

    One ``for``, not async, no nested lambda / comprehension / ``await``; ``x`` is not read by the
    comprehension; its loop variables are used nowhere else in the function (the loop binds them in
    the function's scope, the comprehension did not).
    """
    comp = assign.value
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name) or not isinstance(comp, cst.ListComp):
        return False
    loop = comp.for_in
    if loop.inner_for_in is not None or loop.asynchronous is not None:
        return False
    inner = name_counts(comp)
    if assign.targets[0].target.value in inner:
        return False
    for name in name_counts(loop.target):
        if inner.get(name, 0) != in_function.get(name, 0):
            return False
    found = False

    class _Nested(cst.CSTVisitor):
        def visit_Lambda(self, n: cst.Lambda) -> None:
            nonlocal found
            found = True

        visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Await = visit_Lambda  # type: ignore[assignment]

    for part in (comp.elt, *loop.ifs, loop.target):
        part.visit(_Nested())
    return not found


def lowered(line: cst.SimpleStatementLine, append: str = "append") -> cst.FlattenSentinel:
    """``x = [e for t in it if c]`` -> ``x = []`` and ``for t in it: if c: x.append(e)``."""
    assign = line.body[0]
    assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.ListComp)
    comp, target = assign.value, assign.targets[0].target
    loop = comp.for_in
    inner: cst.BaseStatement = cst.SimpleStatementLine([cst.Expr(cst.Call(
        cst.Attribute(target, cst.Name(append)), [cst.Arg(comp.elt)]
    ))])
    for cond in reversed(loop.ifs):
        inner = cst.If(test=cond.test, body=cst.IndentedBlock([inner]))
    start = line.with_changes(body=[assign.with_changes(value=cst.List([]))])
    for_stmt = cst.For(target=loop.target, iter=loop.iter, body=cst.IndentedBlock([inner]))
    return cst.FlattenSentinel([start, for_stmt])

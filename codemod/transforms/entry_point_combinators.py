"""``Injected`` combinators inside a lifted entry point (entry_points.py): ``mzip/zip/tuple/list/dict``,
``procedure``, ``pure``, ``by_name`` and ``bind``.

pinjected-semantics.md §2 C9-C11. Members become ``Spawn``s gathered in order, spawned in the order
pinjected runs them (``gathered``); ``Injected.bind(f, **m)`` calls ``f`` with asked keys. Each function
reads and extends the state of ``entry``, the ``EntryPoints`` transformer.
"""

from __future__ import annotations

import json

import libcst as cst

from .. import pinjected_names as pn
from .base import single_string
from .entry_point_leaves import provider
from .entry_point_lifting import Untranslatable, apply, capture, program_of, value_of, yield_


def member_height(entry, node: cst.BaseExpression) -> int | None:
    """How many resolution hops pinjected needs before a combinator member's body runs.

    ``None`` for members without a body of their own (pure values, aliases): their position
    does not matter, so they keep the one of the member before them."""
    target = provider(entry, node)
    if target is not None and target.kind == "instance":
        return entry.state.index.provider_height(target, entry.state.module)
    if isinstance(node, cst.Call):
        target = provider(entry, node.func)
        if target is not None and target.kind == "injected":
            return entry.state.index.provider_height(target, entry.state.module) + 1
    return None


def gathered(entry, members: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``Gather`` of spawned members; spawned in the order pinjected runs them, gathered in order.

    Members that do not block run one after another in spawn order; pinjected starts them
    together and a member whose dependencies need more resolution hops runs later (verified:
    ``mzip(dataset, weights)`` builds ``weights`` first when only ``dataset`` has dependencies).
    """
    spawn, gather = entry.state.need("Spawn"), entry.state.need("Gather")
    heights: list[int] = []
    for m in members:
        found = member_height(entry, m)
        heights.append(found if found is not None else (heights[-1] if heights else 0))
    programs = [program_of(entry, m) for m in members]
    if heights == sorted(heights):
        tasks = [cst.Arg(yield_(cst.Call(cst.Name(spawn), [cst.Arg(p)]))) for p in programs]
        return yield_(cst.Call(cst.Name(gather), tasks))
    names = []
    for i in sorted(range(len(members)), key=lambda i: (heights[i], i)):
        name = f"_task{len(entry.prelude)}"
        names.append((i, name))
        entry.prelude.append(cst.SimpleStatementLine([cst.Assign(
            [cst.AssignTarget(cst.Name(name))], cst.Yield(cst.Call(cst.Name(spawn), [cst.Arg(programs[i])])))]))
    by_index = dict(names)
    return yield_(cst.Call(cst.Name(gather), [cst.Arg(cst.Name(by_index[i])) for i in range(len(members))]))


def combinator(entry, attr: str, node: cst.Call) -> cst.BaseExpression:
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    keywords = [(a.keyword.value, a.value) for a in node.args if a.keyword is not None]
    if any(a.star for a in node.args):
        raise Untranslatable
    if attr in ("pure",) and len(positional) == 1:
        return capture(entry, positional[0])
    if attr == "by_name" and single_string(node):
        return yield_(program_of(entry, node))
    if attr in ("mzip", "zip", "tuple") and not keywords:
        return cst.Call(cst.Name("tuple"), [cst.Arg(gathered(entry, positional))])
    if attr == "list" and not keywords:
        return cst.Call(cst.Name("list"), [cst.Arg(gathered(entry, positional))])
    if attr == "dict" and not positional:
        keys = cst.Tuple([cst.Element(cst.SimpleString(json.dumps(k))) for k, _ in keywords] + ([] if len(keywords) != 1 else []))
        zipped = cst.Call(cst.Name("zip"), [cst.Arg(keys), cst.Arg(gathered(entry, [v for _, v in keywords]))])
        return cst.Call(cst.Name("dict"), [cst.Arg(zipped)])
    if attr == "procedure" and positional and not keywords:
        # Injected.procedure(a, b, c, ...) is tuple(tuple(tuple(a, b), c), ...)[1] in pinjected: the
        # shallow members resolve first, so members run in the order c.., b.., then a, b (verified
        # on 0.2.252: procedure(s1, s2, s3, s4) prints s4, s3, s1, s2). The value is the last one's.
        if len(positional) == 1:
            return value_of(entry, positional[0])
        order = [*reversed(positional[2:]), *positional[:2]]
        index = order.index(positional[-1])
        return cst.Subscript(gathered(entry, order), [cst.SubscriptElement(cst.Index(cst.Integer(str(index))))])
    if attr == "bind" and positional:
        return bind(entry, positional[0], positional[1:], keywords)
    raise Untranslatable


def bind(entry, func: cst.BaseExpression, extra: list, mapping: list[tuple[str, cst.BaseExpression]]) -> cst.BaseExpression:
    if extra:
        raise Untranslatable
    if isinstance(func, cst.Lambda):
        params = func.params
    else:
        defined = entry.plain_functions.get(pn.dotted_cst(func) or "")
        if defined is None:  # its parameters (the keys) and whether it is async are unknown here
            raise Untranslatable  # parameters known only at run time: the Program expression's ``bind``
        params = defined.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and isinstance(params.star_arg, cst.Param) or params.star_kwarg:
        raise Untranslatable
    renames = dict(mapping)
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        source = renames.get(p.name.value)
        key = source.evaluated_value if isinstance(source, cst.SimpleString) else p.name.value if source is None else None
        if key is not None and entry.state.index.key_kind(key) != "value":
            # The plain function would call an injected function: it would get a program back.
            raise Untranslatable
    ask = entry.state.need("Ask")
    args = []
    for p in [*params.posonly_params, *params.params, *params.kwonly_params]:
        name = p.name.value
        source = renames.pop(name, None)
        if source is None:
            value: cst.BaseExpression = yield_(cst.Call(cst.Name(ask), [cst.Arg(cst.SimpleString(json.dumps(name)))]))
        elif isinstance(source, cst.SimpleString):
            value = yield_(cst.Call(cst.Name(ask), [cst.Arg(source)]))
        else:
            value = value_of(entry, source)
        args.append(cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    if renames:
        raise Untranslatable
    return apply(entry, func, args)

"""Whole-file ``with open(...)`` blocks in ``@do`` functions -> ``ReadText`` / ``WriteJson`` / ... effects.

A block whose only statement reads or writes the whole file (``x = f.read()``, ``f.write(s)``, ``x = json.load(f)``,
``json.dump(o, f)``, ``pickle.load/dump``) and where ``f`` is used nowhere else becomes ``x = yield ReadText(p)`` /
``yield WriteJson(p, o)`` / ...: a write only when what it writes is a name or a literal, since ``open(p, "w")``
truncates the file before a failing ``render()`` would run.
"""

from __future__ import annotations

import libcst as cst

from .effectful_code import name_counts, yielded
from .io_movable import as_dict, keyword_arg

def _inert(node: cst.BaseExpression) -> bool:
    """A name or a plain literal: evaluating it neither fails nor has effects."""
    if isinstance(node, (cst.Name, cst.SimpleString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _inert(node.left) and _inert(node.right)  # type: ignore[arg-type]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return isinstance(node.expression, (cst.Integer, cst.Float))
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(isinstance(e, cst.Element) and _inert(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):  # literal keys only: a name as a key may be unhashable
        return all(isinstance(e, cst.DictElement) and isinstance(e.key, (cst.SimpleString, cst.Integer)) and _inert(e.value)
                   for e in node.elements)
    return False

_MODES = {"r": "r", "rt": "r", "tr": "r", "rb": "rb", "br": "rb", "w": "w", "wt": "w", "tw": "w", "wb": "wb", "bw": "wb"}


def _open_arguments(call: cst.Call) -> tuple[cst.BaseExpression, str, list[cst.Arg]] | None:
    """``open(path[, mode], encoding=...)`` -> ``(path, mode, keyword options)``; ``None`` for other shapes.

    Only plain read (``r``/``rb``) and truncating write (``w``/``wb``) modes, a literal mode, and the keyword
    options ``encoding``/``errors``/``newline`` are accepted (the handler passes them to the same ``open``).
    """
    positional = [a for a in call.args if a.keyword is None]
    keywords = [a for a in call.args if a.keyword is not None]
    if any(a.star for a in call.args) or not 1 <= len(positional) <= 2:
        return None
    mode_node: cst.BaseExpression | None = positional[1].value if len(positional) == 2 else None
    options: list[cst.Arg] = []
    for arg in keywords:
        if arg.keyword.value == "mode" and mode_node is None:  # type: ignore[union-attr]
            mode_node = arg.value
        elif arg.keyword.value in ("encoding", "errors", "newline"):  # type: ignore[union-attr]
            options.append(arg)
        else:
            return None
    mode = "r"
    if mode_node is not None:
        if not isinstance(mode_node, cst.SimpleString):
            return None
        mode = _MODES.get(str(mode_node.evaluated_value), "")
        if not mode:
            return None
    return positional[0].value, mode, options


def with_handles_only(func: cst.FunctionDef) -> set[str]:
    """Names that occur in ``func`` only inside ``with ... as <name>`` blocks that bind them."""
    inside: dict[str, int] = {}

    class _Withs(cst.CSTVisitor):
        def visit_With(self, node: cst.With) -> None:
            counts = name_counts(node)
            for item in node.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    name = item.asname.name.value
                    inside[name] = inside.get(name, 0) + counts.get(name, 0)

    func.body.visit(_Withs())
    if not inside:
        return set()  # (most functions: no need to count every name of the function)
    totals = name_counts(func)
    return {name for name, n in inside.items() if n == totals.get(name)}


class WholeFileBlocks:
    """The file-block half of the io body rewriter (mixed into it; it owns the state used here)."""

    def whole_file_plan(self, node: cst.With) -> tuple[str, cst.SimpleStatementLine] | None:
        """The statement a whole-file ``with open(...)`` block becomes, or ``None`` when it is another shape."""
        if len(node.items) != 1 or node.asynchronous is not None or not isinstance(node.body, cst.IndentedBlock):
            return None
        item = node.items[0]
        call = item.item
        if not (isinstance(call, cst.Call) and item.asname is not None and isinstance(item.asname.name, cst.Name)):
            return None
        if self.owner.imports.builtin(call.func, self.shadowed | self.owner.module_names) != "open":
            return None
        handle = item.asname.name.value
        opened = _open_arguments(call)
        if opened is None or len(node.body.body) != 1 or node.body.header.comment is not None:
            return None
        path, mode, options = opened
        stmt = node.body.body[0]
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or stmt.leading_lines or stmt.trailing_whitespace.comment:
            return None
        # ``f`` appears only as the handle of ``with`` blocks, here the ``as`` and the one call: nothing else
        # in the function sees this file object.
        if handle not in self.handles or name_counts(node).get(handle, 0) != 2:
            return None
        small = stmt.body[0]
        target: cst.BaseAssignTargetExpression | None = None
        value: cst.BaseExpression | None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.Return):
            value = small.value
        elif isinstance(small, cst.Expr):
            value = small.value
        else:
            return None
        if not isinstance(value, cst.Call) or any(a.star for a in value.args):
            return None
        func = value.func
        effect: str | None = None
        args: list[cst.Arg] = [cst.Arg(path)]
        dump_options: list[cst.Arg] = []
        positional = [a for a in value.args if a.keyword is None]
        keywords = [a for a in value.args if a.keyword is not None]
        is_handle = lambda e: isinstance(e, cst.Name) and e.value == handle  # noqa: E731
        if isinstance(func, cst.Attribute) and is_handle(func.value) and not keywords:
            if func.attr.value == "read" and not positional and not isinstance(small, cst.Expr):
                effect = "ReadBytes" if "b" in mode else "ReadText"
            elif func.attr.value == "write" and len(positional) == 1 and isinstance(small, cst.Expr):
                effect = "WriteBytes" if "b" in mode else "WriteText"
                args.append(cst.Arg(positional[0].value))
        else:
            qualified = self.qualify(func)
            library = {"json.load": "json", "json.dump": "json", "pickle.load": "pickle", "pickle.dump": "pickle"}.get(qualified or "")
            if library is None or ("b" in mode) != (library == "pickle"):
                return None
            if qualified.endswith(".load") and len(positional) == 1 and is_handle(positional[0].value) and not isinstance(small, cst.Expr):
                effect = "ReadJson" if library == "json" else "ReadPickle"
            elif qualified.endswith(".dump") and len(positional) == 2 and is_handle(positional[1].value) and isinstance(small, cst.Expr):
                effect = "WriteJson" if library == "json" else "WritePickle"
                args.append(cst.Arg(positional[0].value))
            dump_options = keywords
        if effect is None or ("w" in mode) != effect.startswith("Write"):
            return None
        # The handle must appear nowhere else in the moved expressions (``f.write(f.name)``).
        moved = [a.value for a in args[1:]] + [a.value for a in dump_options] + ([target] if target is not None else [])
        if any(name_counts(e).get(handle) for e in moved):
            return None
        # ``open(p, "w")`` truncates the file before the body computes what it writes; the effect computes it
        # first. Only values whose evaluation cannot fail nor act (names, literals) keep the order unobservable:
        # ``f.write(render(rows))`` with a failing ``render`` must still leave an empty file.
        if effect.startswith("Write") and not all(_inert(e) for e in [*(a.value for a in args[1:]), *(a.value for a in dump_options)]):
            return None
        if options:
            args.append(keyword_arg("options", as_dict(options)))
        if dump_options:
            args.append(keyword_arg("dump_options", as_dict(dump_options)))
        produced = yielded(cst.Call(cst.Name(effect), args))
        if target is not None:
            new_small: cst.BaseSmallStatement = cst.Assign([cst.AssignTarget(target)], produced.with_changes(lpar=[], rpar=[]))
        elif isinstance(small, cst.Return):
            new_small = cst.Return(produced)
        else:
            new_small = cst.Expr(produced.with_changes(lpar=[], rpar=[]))
        return effect, cst.SimpleStatementLine([new_small])

"""Movable calls in ``@do`` functions -> declared effects with complete generated handlers.

A catalogued call (``torch.load(p)``, ``np.save(p, a)``, ``requests.get(url, timeout=5)``, the project's own
``extra-side-effects`` with an ``effect``) becomes ``yield LoadTorchCheckpoint(p)`` / ``yield RequestsGet(url,
options={"timeout": 5})`` / ``yield Upload(args=(p,), kwargs={...})``; the handler performs the original call.
"""

from __future__ import annotations

import json

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from ..handler_stubs import record_need, spec_for_movable
from ..rules.phases import IO_CALL_NOT_MOVABLE
from ..side_effects import MovableCall
from .effectful_code import yielded

def npz_path(call: cst.Call) -> bool:
    """``np.load("x.npz")``: a literal path naming an archive."""
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    return isinstance(first, cst.SimpleString) and str(first.evaluated_value).lower().endswith(".npz")

def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def as_dict(keywords: list[cst.Arg]) -> cst.Dict:
    return cst.Dict([cst.DictElement(cst.SimpleString(json.dumps(a.keyword.value)), a.value) for a in keywords])  # type: ignore[union-attr]


class MovableCalls:
    """The movable-call half of the io body rewriter (mixed into it; it owns the state used here)."""

    def moved_call(self, movable: MovableCall, call: cst.Call) -> cst.BaseExpression:
        positional = [a for a in call.args if a.keyword is None]
        keywords = [a for a in call.args if a.keyword is not None]
        if movable.params is None:
            if any(a.star for a in call.args):
                self.note(IO_CALL_NOT_MOVABLE.code, f"`{movable.call}(...)` left as it is: `*args`/`**kwargs` cannot be moved into the effect's fields")
                return call
            if self.nested:
                self.note(IO_CALL_NOT_MOVABLE.code, f"`{movable.call}(...)` inside a comprehension or lambda, where `yield` cannot go")
                return call
            args: list[cst.Arg] = []
            if positional:
                args.append(keyword_arg("args", cst.Tuple([cst.Element(a.value) for a in positional]) if len(positional) > 1
                                     else cst.Tuple([cst.Element(positional[0].value, comma=cst.Comma())])))
            if keywords:
                args.append(keyword_arg("kwargs", as_dict(keywords)))
            module = record_need(self.state, spec_for_movable(movable))
            AddImportsVisitor.add_needed_import(self.state.context, module, movable.effect)
            self.owner.introduced = True
            return yielded(cst.Call(cst.Name(movable.effect), args))
        if any(a.star for a in call.args) or len(positional) != len(movable.params):
            self.note(IO_CALL_NOT_MOVABLE.code, f"`{movable.call}(...)` left as it is: the codemod moves it only with exactly "
                      f"{len(movable.params)} positional argument(s) ({', '.join(movable.params)}) and plain keywords")
            return call
        if self.nested:
            self.note(IO_CALL_NOT_MOVABLE.code, f"`{movable.call}(...)` inside a comprehension or lambda, where `yield` cannot go")
            return call
        args = [cst.Arg(a.value) for a in positional]
        if keywords:
            options = cst.Dict([
                cst.DictElement(cst.SimpleString(json.dumps(a.keyword.value)), a.value) for a in keywords  # type: ignore[union-attr]
            ])
            args.append(cst.Arg(options, keyword=cst.Name("options"), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
        module = record_need(self.state, spec_for_movable(movable))
        AddImportsVisitor.add_needed_import(self.state.context, module, movable.effect)
        self.owner.introduced = True
        return yielded(cst.Call(cst.Name(movable.effect), args))

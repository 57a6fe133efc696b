"""``only_range`` for the phase transforms (``compute``, ``io``, ...): keep only what the given lines need.

The ``di`` phase's ``injected_functions`` follows the range itself (``FileState.in_range``). The other phases'
transformers analyse the whole file (which tasks a function spawns and waits for, which names are shadowed)
and rewrite every effectful function; :func:`restricted` wraps such a transformer so that it still sees the
whole file but keeps only the rewrites inside the range:

* a function that does not overlap the range gets its original body back (a changed decorator is kept: the
  ``compute`` phase drops ``@ray.remote`` from a task whose every use it rewrote);
* in the ``io`` phase, where each call becomes its own effect, the unit is the statement: inside a function
  that overlaps the range, statements outside it are put back as they were. In the ``compute`` phase the unit
  is the function: a spawn and the wait for its result are rewritten together or not at all, so nothing ever
  waits with ``Wait`` on a Ray ``ObjectRef``;
* module-level additions (``__doeff_handlers__ = HANDLERS``, ``run(with_effect_handlers(...))``) are kept when
  something in the range changed, as the whole-file run would write them; nothing is kept otherwise;
* the imports and handler-module needs (``handler_stubs.NEEDS_KEY``) requested for rewrites that were put back
  are withdrawn, so the result imports only what it uses and the handler module gets only its effects.

When keeping only the range would leave the file inconsistent (a task's ``@ray.remote`` removed while a
function outside the range still calls ``.remote`` on it) :class:`RangeConflict` is raised: migrate the whole
file instead. Positions are those of the parsed input, so a restricted transform must see the original tree
(the language server runs one phase per quick fix).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .errors import MigrationError
from .handler_stubs import NEEDS_KEY

__all__ = ["restricted", "RangeConflict", "STATEMENT_SCOPED_PHASES"]

STATEMENT_SCOPED_PHASES = frozenset({"io"})
"""Phases whose rewrites are independent per statement; the others are kept or dropped per function."""

_COMPOUND = (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar)
_HEADER_FIELDS = {cst.If: ("test",), cst.For: ("target", "iter"), cst.While: ("test",), cst.With: ("items",)}
_BLOCK_FIELDS = ("body", "orelse", "handlers", "finalbody")


class RangeConflict(MigrationError):
    """Keeping only the range's rewrites would leave the file half-migrated; nothing is changed."""


class _Restriction:
    """Mixin put before a phase transformer's class (see :func:`restricted`)."""

    statement_scoped = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Module):
            scratch = self.state.context.scratch  # type: ignore[attr-defined]
            self._imports_before = len(scratch.get(AddImportsVisitor.CONTEXT_KEY, ()))
            self._needs_before = len(scratch.get(NEEDS_KEY, ()))
            self._changed_in_range = False
            self._altered_defs: set[str] = set()
            self._reverted_names: set[str] = set()
            self._kept_names: set[str] = set()
        return super().on_visit(node)  # type: ignore[misc]

    def on_leave(self, original_node, updated_node):
        result = super().on_leave(original_node, updated_node)  # type: ignore[misc]
        if isinstance(original_node, cst.FunctionDef) and isinstance(result, cst.FunctionDef):
            return self._restrict_function(original_node, result)
        if isinstance(original_node, cst.Module) and isinstance(result, cst.Module):
            return self._finish(original_node, result)
        return result

    # -- functions ---------------------------------------------------------------------------------------------
    def _restrict_function(self, original: cst.FunctionDef, result: cst.FunctionDef) -> cst.FunctionDef:
        in_range = self.state.in_range  # type: ignore[attr-defined]
        if result.deep_equals(original):
            return result
        if _decorators_differ(original, result):
            self._altered_defs.add(original.name.value)
        if not in_range(original):
            if not result.body.deep_equals(original.body):
                self._reverted_names |= _names(original.body)
            if _decorators_differ(original, result):
                return original.with_changes(decorators=result.decorators)
            return original
        if not self.statement_scoped:
            return self._keep(original, result)
        body = self._merge_block(original.body, result.body)
        return result.with_changes(body=body)

    def _merge_block(self, original, result):
        """``result`` (an indented block) with the statements outside the range put back."""
        if not isinstance(original, cst.IndentedBlock) or not isinstance(result, cst.IndentedBlock) or len(original.body) != len(result.body):
            # A one-line suite, or the transform added or removed statements here: the block is one unit.
            return self._whole(original, result)
        merged = [self._merge_statement(a, b) for a, b in zip(original.body, result.body)]
        return result.with_changes(body=merged)

    def _whole(self, original, result):
        if result.deep_equals(original):
            return result
        if self.state.in_range(original):  # type: ignore[attr-defined]
            return self._keep(original, result)
        self._reverted_names |= _names(original)
        return original

    def _keep(self, original, result):
        """``result`` is a rewrite inside the range: it is kept, with what it uses. A flag comment alone
        (the call left as it is) is no change of the range."""
        if not _only_comments_differ(original, result):
            self._changed_in_range = True
        self._kept_names |= _names(result)
        return result

    def _merge_statement(self, original: cst.CSTNode, result: cst.CSTNode) -> cst.CSTNode:
        in_range = self.state.in_range  # type: ignore[attr-defined]
        if result.deep_equals(original):
            return result
        if not in_range(original):
            self._reverted_names |= _names(original)
            return original
        if isinstance(original, _COMPOUND) and type(result) is type(original):
            header_in_range = any(in_range(node) for node in _header_nodes(original))
            base = result if header_in_range else _with_header_of(original, result)
            if header_in_range and not _same_header(original, result):
                for before, after in zip(_header_nodes(original), _header_nodes(result)):
                    self._keep(before, after)
            blocks = {}
            for name in _BLOCK_FIELDS:
                a, b = getattr(original, name, None), getattr(result, name, None)
                if a is None or b is None:
                    continue
                if name == "handlers":
                    if len(a) != len(b):
                        blocks[name] = self._whole_seq(a, b)
                    else:
                        blocks[name] = [hb.with_changes(body=self._merge_block(ha.body, hb.body)) for ha, hb in zip(a, b)]
                elif isinstance(a, (cst.Else, cst.Finally)) and type(b) is type(a):
                    blocks[name] = b.with_changes(body=self._merge_block(a.body, b.body))
                elif isinstance(a, cst.If) and isinstance(b, cst.If):  # elif
                    blocks[name] = self._merge_statement(a, b)
                else:
                    blocks[name] = self._merge_block(a, b) if name == "body" else self._whole(a, b)
            return base.with_changes(**blocks)
        # A simple statement (or a nested definition) overlapping the range: its rewrite is kept as a whole.
        return self._keep(original, result)

    def _whole_seq(self, old, new):
        if any(self.state.in_range(h) for h in old):  # type: ignore[attr-defined]
            if len(old) == len(new):
                return [self._keep(a, b) for a, b in zip(old, new)]
            self._changed_in_range = True
            for h in new:
                self._kept_names |= _names(h)
            return new
        for h in old:
            self._reverted_names |= _names(h)
        return old

    # -- the module: withdraw what put-back rewrites asked for -------------------------------------------------
    def _finish(self, original: cst.Module, result: cst.Module) -> cst.Module:
        scratch = self.state.context.scratch  # type: ignore[attr-defined]
        imports = list(scratch.get(AddImportsVisitor.CONTEXT_KEY, ()))
        needs = list(scratch.get(NEEDS_KEY, ()))
        if not self._changed_in_range:
            # Nothing in the range changed: module-level wiring alone is no migration of these lines.
            scratch[AddImportsVisitor.CONTEXT_KEY] = imports[: self._imports_before]
            scratch[NEEDS_KEY] = needs[: self._needs_before]
            return original
        # A definition the transform changed for its callers (``@ray.remote`` dropped once every ``.remote``
        # call is rewritten) stays as it was when only callers outside the range use it.
        half = self._altered_defs & self._reverted_names
        conflict = sorted(half & self._kept_names)
        if conflict:
            names = ", ".join(f"`{n}`" for n in conflict)
            raise RangeConflict(
                f"converting only these lines would change the definition of {names}, which code outside them "
                "still uses as before: migrate the whole function or file instead"
            )
        if half:
            result = _restore_decorators(original, result, half)
        used = _names(result)
        kept_imports = [
            item for item in imports[self._imports_before :]
            if (item.alias or item.obj_name or item.module_name.partition(".")[0]) in used
        ]
        scratch[AddImportsVisitor.CONTEXT_KEY] = imports[: self._imports_before] + kept_imports
        kept_needs = [
            need for need in needs[self._needs_before :]
            if (need.spec.effect in used if need.spec is not None else bool(kept_imports))
        ]
        scratch[NEEDS_KEY] = needs[: self._needs_before] + kept_needs
        return result


def restricted(transformer: type, phase: str) -> type:
    """``transformer``'s class, keeping only the rewrites inside ``state.in_range`` (see the module doc)."""
    return type(
        f"RangeRestricted{transformer.__name__}",
        (_Restriction, transformer),
        {"statement_scoped": phase in STATEMENT_SCOPED_PHASES},
    )


# -- helpers ---------------------------------------------------------------------------------------------------


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    node.visit(_Collect())
    return found


def _restore_decorators(original: cst.Module, result: cst.Module, names: set[str]) -> cst.Module:
    before = {s.name.value: s for s in original.body if isinstance(s, cst.FunctionDef) and s.name.value in names}
    body = [
        s.with_changes(decorators=before[s.name.value].decorators)
        if isinstance(s, cst.FunctionDef) and s.name.value in before else s
        for s in result.body
    ]
    return result.with_changes(body=body)


def _only_comments_differ(original: cst.CSTNode, result: cst.CSTNode) -> bool:
    """The transform only wrote comment lines above the node (its flags)."""
    if not hasattr(original, "leading_lines") or type(original) is not type(result):
        return False
    return result.with_changes(leading_lines=original.leading_lines).deep_equals(original)  # type: ignore[attr-defined]


def _decorators_differ(a: cst.FunctionDef, b: cst.FunctionDef) -> bool:
    return len(a.decorators) != len(b.decorators) or not all(x.deep_equals(y) for x, y in zip(a.decorators, b.decorators))


def _header_fields(node: cst.CSTNode) -> tuple[str, ...]:
    return _HEADER_FIELDS.get(type(node), ())


def _header_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    for name in _header_fields(node):
        value = getattr(node, name)
        found.extend(value if isinstance(value, (list, tuple)) else [value])
    return found


def _same_header(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    x, y = _header_nodes(a), _header_nodes(b)
    return len(x) == len(y) and all(p.deep_equals(q) for p, q in zip(x, y))


def _with_header_of(original: cst.CSTNode, result: cst.CSTNode) -> cst.CSTNode:
    """``result`` with ``original``'s header (condition, iterable, ``with`` items, leading comments)."""
    changes = {name: getattr(original, name) for name in _header_fields(original)}
    changes["leading_lines"] = original.leading_lines  # type: ignore[attr-defined]
    return result.with_changes(**changes)

"""Applies the import requests transforms leave in the codemod context, editing top-level imports only.

Transforms ask for imports the LibCST way (``AddImportsVisitor.add_needed_import`` /
``RemoveImportsVisitor.remove_unused_import`` on ``context.scratch``). Running those two visitors
costs two more passes over the whole tree plus scope analysis, which tripled the time per file in
``benchmarks/bench_codemod.py``; the requests the codemod makes (``from M import name`` added at the
top, unused pinjected imports dropped) only touch top-level import statements, so they are applied
here directly. Anything else (relative imports, ``import M``, aliases) is handed to LibCST's own
visitors unchanged. A module no ``import`` statement can spell (the package folder ``01_app`` or ``my-app``)
is reached through ``importlib`` instead: ``Name = importlib.import_module("01_app.effects_handlers").Name``.
"""

from __future__ import annotations

import ast
import keyword
import re

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from . import pinjected_names as pn
from .import_adder import add_from_imports


def apply_import_requests(module: cst.Module, context: CodemodContext, code: str | None = None) -> cst.Module:
    """``code``: ``module.code`` if the caller has it already (saves a code generation)."""
    adds = list(context.scratch.get(AddImportsVisitor.CONTEXT_KEY, ()))
    removes = list(context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY, ()))
    unspellable = [item for item in adds if item.obj_name and not item.relative and not spellable(item.module_name)]
    if unspellable:
        context.scratch[AddImportsVisitor.CONTEXT_KEY] = [item for item in adds if item not in unspellable]
        try:
            module = apply_import_requests(module, context)
        finally:
            context.scratch[AddImportsVisitor.CONTEXT_KEY] = adds
        return _add_through_importlib(module, unspellable)
    if not adds and not removes:
        return module
    simple_adds = all(item.obj_name and not item.alias and not item.relative for item in adds)
    simple_removes = all(pn.is_pinjected_module(mod) for mod, _, _ in removes)
    if not (simple_adds and simple_removes):
        if adds:
            # LibCST writes a repeated aliased request twice (``Ask as _dm_Ask, Ask as _dm_Ask``).
            context.scratch[AddImportsVisitor.CONTEXT_KEY] = list(dict.fromkeys(adds))
            module = _add_with_libcst(module, context)
        if removes and simple_removes:
            # Unused pinjected imports go as in the simple case: LibCST's remover copies the tree and runs
            # its scope analysis, which was most of the time of a file that needs an aliased import. (Like
            # LibCST's, this keeps a ``from pinjected import *``, which the simple case drops once unused.)
            module = _remove_unused(module, {(mod, obj, alias) for mod, obj, alias in removes}, None, keep_star=True)
        elif removes:
            module = RemoveImportsVisitor(context).transform_module(module)
        return module
    if removes:
        module = _remove_unused(module, {(mod, obj, alias) for mod, obj, alias in removes}, code)
    if adds:
        wanted: dict[str, list[str]] = {}
        for item in adds:
            names = wanted.setdefault(item.module_name, [])
            if item.obj_name not in names:
                names.append(item.obj_name)  # type: ignore[arg-type]
        module = _add(module, wanted)
    return module


def _add_with_libcst(module: cst.Module, context: CodemodContext) -> cst.Module:
    """LibCST's ``AddImportsVisitor`` over the statements it reads and edits, the rest appended unchanged.

    It reads the imports at the top of the module (after a docstring), merges into those, inserts after them
    and gives the first statement after them a blank line; a statement further down is never looked at. Run
    over the whole module it walked, and first copied, every node (most of the time of a file that needs an
    aliased import). Plain ``from M import name [as alias]`` requests are added by the same edit made directly
    (``import_adder``), without the visitor."""
    direct = add_from_imports(module, context.scratch.get(AddImportsVisitor.CONTEXT_KEY, ()), context.full_package_name)
    if direct is not None:
        return direct
    body = list(module.body)
    end = 1  # the first statement (a docstring or an import), the import block after it, and the statement after that
    while end < len(body) and isinstance(body[end], cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in body[end].body
    ):
        end += 1
    if end >= len(body):
        return AddImportsVisitor(context).transform_module(module)
    # Of the statement after the imports only its leading lines are read (and maybe given a blank line): a
    # ``pass`` stands in for it, so that a long class or function there is not walked either.
    after = body[end]
    stand_in = cst.SimpleStatementLine([cst.Pass()], leading_lines=after.leading_lines)
    head = AddImportsVisitor(context).transform_module(module.with_changes(body=[*body[:end], stand_in]))
    *edited, stood_in = head.body
    return head.with_changes(body=[*edited, after.with_changes(leading_lines=stood_in.leading_lines), *body[end + 1 :]])


def _used_names(code: str) -> set[str]:
    """Identifiers the module uses outside import statements (from Python's own parser: fast).

    Names in string annotations (``x: "Design"``, ``list["IProxy[int]"]``) count as uses; other strings
    (``Ask("design")``, a dict key ``"injected"``) do not.
    """
    tree = ast.parse(code)
    used: set[str] = set()
    annotations: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    for annotation in annotations:
        for sub in ast.walk(annotation):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                used |= _names_in_string_annotation(sub.value)
    return used


def _names_in_string_annotation(text: str) -> set[str]:
    try:
        parsed = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    found = set()
    for sub in ast.walk(parsed):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):  # ``"list['Design']"``
            found |= _names_in_string_annotation(sub.value)
    return found


def _mentioned_outside_imports(module: cst.Module, code: str, names: set[str]) -> bool:
    """Whether any of ``names`` occurs in ``code`` as a word outside its top-level import statements
    (a superset of the uses: the parse of :func:`_used_names` is needed only then)."""
    imports = "".join(module.code_for_node(stmt) for stmt in module.body if _is_import(stmt))
    for name in names:
        word = re.compile(rf"\b{re.escape(name)}\b")
        if len(word.findall(code)) > len(word.findall(imports)):
            return True
    return False


def _remove_unused(
    module: cst.Module, requests: set[tuple[str, str | None, str | None]], code: str | None, keep_star: bool = False,
) -> cst.Module:
    code = code if code is not None else module.code
    locals_ = {alias or (obj if obj is not None else mod.split(".")[0]) for mod, obj, alias in requests}
    used = _used_names(code) if _mentioned_outside_imports(module, code, locals_) else set()
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for stmt in module.body:
        new = _pruned(stmt, requests, used, keep_star)
        if new is not None and _is_type_checking_block(stmt):
            # ``if TYPE_CHECKING:`` imports are imports too: drop the unused ones, and the block once empty.
            kept = [n for n in (_pruned(inner, requests, used, keep_star) for inner in stmt.body.body) if n is not None]
            new = stmt.with_changes(body=stmt.body.with_changes(body=kept)) if kept else None
        if new is None:
            # Comments above a removed import stay with the statement that follows.
            carried += [line for line in stmt.leading_lines if line.comment is not None]
            continue
        if carried:
            new = new.with_changes(leading_lines=[*carried, *new.leading_lines])
            carried = []
        body.append(new)
    return module.with_changes(body=body)


def _is_type_checking_block(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.If) and pn.top_level_statements([stmt]) != [stmt]


def _pruned(
    stmt: cst.BaseStatement, requests: set[tuple[str, str | None, str | None]], used: set[str], keep_star: bool = False,
) -> cst.BaseStatement | None:
    """``stmt`` without the requested imports nothing uses; ``None`` when nothing of it is left."""
    new = stmt
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.ImportFrom) and not small.relative and isinstance(small.names, cst.ImportStar):
            # ``from pinjected import *`` binds ``pinjected.__all__`` only: unused once none of it is.
            if (
                not keep_star
                and small.module is not None and pn.dotted_cst(small.module) == "pinjected"
                and all(("pinjected", name, None) in requests and name not in used for name in pn.STAR_EXPORTS)
            ):
                new = None
        elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
            mod = pn.dotted_cst(small.module) or ""
            new = without_names(stmt, lambda a: (mod, a.evaluated_name, a.evaluated_alias) in requests and (a.evaluated_alias or a.evaluated_name) not in used)
        elif isinstance(small, cst.Import):
            new = without_names(
                stmt,
                lambda a: (a.evaluated_name, None, a.evaluated_alias) in requests and (a.evaluated_alias or a.evaluated_name.split(".")[0]) not in used,
            )
    return new


def without_names(stmt: cst.SimpleStatementLine, drop) -> cst.SimpleStatementLine | None:
    """The one-import statement ``stmt`` without the names ``drop(alias)`` is true of; ``None`` when none is left."""
    small = stmt.body[0]
    kept = [a for a in small.names if not drop(a)]
    if len(kept) == len(small.names):
        return stmt
    if not kept:
        return None
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return stmt.with_changes(body=[small.with_changes(names=kept)])


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _add(module: cst.Module, wanted: dict[str, list[str]]) -> cst.Module:
    body = list(module.body)
    # Merge into an existing ``from M import ...`` at the top level.
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            continue
        small = stmt.body[0]
        if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None and not isinstance(small.names, cst.ImportStar):
            mod = pn.dotted_cst(small.module) or ""
            if mod in wanted:
                have = {a.evaluated_name for a in small.names if not a.asname}
                missing = [n for n in wanted.pop(mod) if n not in have]
                if missing:
                    names = sorted({*(a.evaluated_name for a in small.names), *missing}) if all(not a.asname for a in small.names) else None
                    if names is not None:
                        aliases = [cst.ImportAlias(cst.Name(n)) for n in names]
                        body[i] = stmt.with_changes(body=[small.with_changes(names=aliases, lpar=None, rpar=None)])
    if not wanted:
        return module.with_changes(body=body)
    at = 0
    if body and _is_docstring(body[0]):
        at = 1
    last_import = None
    for i in range(at, len(body)):
        if _is_import(body[i]):
            last_import = i
        else:
            break
    if last_import is not None:
        at = last_import + 1
    new_statements = [
        cst.SimpleStatementLine(
            [cst.ImportFrom(module=_dotted(mod), names=[cst.ImportAlias(cst.Name(n)) for n in sorted(names)])]
        )
        for mod, names in sorted(wanted.items())
    ]
    return module.with_changes(body=[*body[:at], *new_statements, *body[at:]])


def spellable(module: str) -> bool:
    """``import module`` is valid Python (``app.01_train`` or ``my-app.io`` is not: ``importlib`` reaches those)."""
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in module.split("."))


def importlib_binding(module: str, name: str, alias: str | None = None) -> str:
    """The statement binding ``name`` of a module no ``from ... import`` can spell."""
    return f"{alias or name} = importlib.import_module({module!r}).{name}"


def _add_through_importlib(module: cst.Module, requests: list) -> cst.Module:
    """``module`` with ``import importlib`` and one :func:`importlib_binding` per request it lacks, after its imports."""
    body = list(module.body)
    present = {cst.Module([stmt]).code.strip() for stmt in body if isinstance(stmt, cst.SimpleStatementLine)}
    wanted = list(dict.fromkeys(importlib_binding(r.module_name, r.obj_name, r.alias) for r in requests))
    lines = ([] if "import importlib" in present else ["import importlib"]) + [line for line in wanted if line not in present]
    if lines == ["import importlib"] or not lines:
        return module
    at = 1 if body and _is_docstring(body[0]) else 0
    while at < len(body) and _is_import(body[at]):
        at += 1
    added = [cst.parse_statement(f"{line}\n") for line in lines]
    return module.with_changes(body=[*body[:at], *added, *body[at:]])


def _dotted(name: str) -> cst.Attribute | cst.Name:
    parts = name.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node

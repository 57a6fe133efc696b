"""IO in ``@do`` functions -> effects: wandb -> metrics effects, checkpoints and HTTP calls -> declared effects.

Seed 000: ``wandb.log(metrics) -> yield Tell(metrics)``, ``torch.load(path) -> ckpt = yield Await(load_ckpt(path))``.
Inside ``@do`` functions (names resolved through the file's imports; shadowed names are not the library's):

* ``wandb.log(d, step=..., commit=...)`` -> ``yield LogMetrics(d, step=..., commit=...)``;
  ``wandb.config.update(d)`` -> ``yield LogConfig(d)``; ``wandb.summary.update(d)`` /
  ``wandb.run.summary.update(d)`` -> ``yield LogSummary(d)`` (``doeff_migrate.runtime.metrics``);
* a call of :data:`~doeff_migrate.codemod.side_effects.MOVABLE_CALLS` (``torch.load(p)``, ``np.save(p, a)``,
  ``requests.get(url, timeout=5)``, ...) -> ``yield LoadTorchCheckpoint(p)`` / ``yield RequestsGet(url,
  options={"timeout": 5})``, declared in the package's ``effects_handlers.py``.

Each introduced effect gets a complete generated handler (``codemod/handler_stubs.py``) that performs the
original call. So that the code keeps running, a file with entry points (module-level ``x = f(...)`` of its
``@do`` functions, or of ``@do`` functions imported from sibling modules that do such IO) gets
``__doeff_handlers__ = HANDLERS``, which the runner installs outside its recorder, and ``run(f(...))`` calls of
those functions become ``run(with_effect_handlers(f(...)))``. Other
catalogued IO (``wandb.init``, ``open``, ``pickle.load``, ``h5py``/``lmdb`` opens, HTTP through client objects,
caches) is left as it is and flagged.
"""

from __future__ import annotations

import ast
import contextvars
import json
import os

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..handler_stubs import HANDLER_MODULE, record_need, spec_for_metrics, spec_for_movable
from ..rules.side_effects import CATEGORY_RULES
from ..side_effects import MOVABLE_CALLS, Catalogue
from ..state import FileState
from . import MigrationTransformer, Transform, register
from .compute import ImportTable, bare_yields, is_effectful, local_names, yielded

METRICS_MODULE = "doeff_migrate.runtime.metrics"
_FLAGGED_CATEGORIES = {"metrics", "checkpoint", "file", "http"}
_CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}
_CATALOGUE = Catalogue.default()


def _is_cache_name(node: cst.BaseExpression) -> bool:
    dotted = pn.dotted_cst(node) or ""
    last = dotted.rpartition(".")[2].lower()
    return last == "cache" or last.endswith("_cache")


class _BodyRewriter(cst.CSTTransformer):
    def __init__(self, owner: IoTransformer, func: cst.FunctionDef) -> None:
        super().__init__()
        self.owner = owner
        self.state = owner.state
        self.shadowed = local_names(func)
        self.frames: list[list[tuple[str, str | None]]] = [[]]
        self.nested = 0

    def qualify(self, node: cst.CSTNode) -> str | None:
        return self.owner.imports.qualify(node, self.shadowed)

    # nested scopes are not this function's body; comprehensions and lambdas cannot hold a ``yield``
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def _enter_nested(self, node: cst.CSTNode) -> None:
        self.nested += 1

    def _leave_nested(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        self.nested -= 1
        return updated_node

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter_nested  # type: ignore[assignment]
    leave_Lambda = leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_nested  # type: ignore[assignment]

    # flags are written on the statement that holds the call
    def _enter(self, node: cst.CSTNode) -> None:
        self.frames.append([])

    def _leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        if isinstance(updated_node, cst.SimpleStatementLine) and updated_node is not original_node:
            updated_node = bare_yields(updated_node)
        seen: set[str] = set()
        for code, message in self.frames.pop():
            if code not in seen:
                seen.add(code)
                updated_node = self.state.flag(updated_node, code, message)
        return updated_node

    visit_SimpleStatementLine = visit_If = visit_For = visit_While = visit_With = visit_Try = _enter  # type: ignore[assignment]
    leave_SimpleStatementLine = leave_If = leave_For = leave_While = leave_With = leave_Try = _leave  # type: ignore[assignment]

    def note(self, code: str, message: str | None = None) -> None:
        self.frames[-1].append((code, message))

    # -- calls ------------------------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        qualified = self.qualify(original_node.func)
        if qualified is None:
            builtin = self.owner.imports.builtin(original_node.func, self.shadowed | self.owner.module_names)
            if builtin == "open":
                self.note("DM303", "`open(...)` left as it is: reads and writes of files need a declared effect you choose")
            elif self.is_cache_call(original_node):
                self.note("DM313")
            return updated_node
        if qualified.startswith(("wandb.", "mlflow.")):
            return self.metrics_call(qualified, updated_node)
        movable = MOVABLE_CALLS.get(qualified)
        if movable is not None:
            return self.moved_call(movable, updated_node)
        entry = _CATALOGUE.lookup(qualified)
        if entry is not None and entry.category in _FLAGGED_CATEGORIES:
            rule = CATEGORY_RULES[entry.category]
            self.note(rule.code, f"`{qualified}(...)` left as it is: {rule.message.lower()}; it becomes {entry.becomes}")
        return updated_node

    def is_cache_call(self, call: cst.Call) -> bool:
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("get", "set", "put")
            and _is_cache_name(func.value)
            and self.qualify(func.value) is None
        )

    def metrics_call(self, qualified: str, call: cst.Call) -> cst.BaseExpression:
        effect: str | None = None
        args: list[cst.Arg] = []
        if qualified == "wandb.log":
            effect, args = "LogMetrics", self.wandb_log_args(call)
        elif qualified in ("wandb.config.update", "wandb.summary.update", "wandb.run.summary.update"):
            if len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
                effect = "LogConfig" if qualified == "wandb.config.update" else "LogSummary"
                args = [call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        if effect is None or not args:
            self.note("DM301", f"`{qualified}(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)")
            return call
        if self.nested:
            self.note("DM301", f"`{qualified}(...)` inside a comprehension or lambda, where `yield` cannot go")
            return call
        AddImportsVisitor.add_needed_import(self.state.context, METRICS_MODULE, effect)
        record_need(self.state, spec_for_metrics(effect))
        self.owner.introduced = True
        return yielded(cst.Call(cst.Name(effect), args))

    def wandb_log_args(self, call: cst.Call) -> list[cst.Arg]:
        """``wandb.log(data, step=None, commit=None)``'s arguments as ``LogMetrics``'s; [] when another shape."""
        names = ("metrics", "step", "commit")
        out: list[cst.Arg] = []
        for i, arg in enumerate(call.args):
            if arg.star:
                return []
            if arg.keyword is None:
                if i >= len(names):
                    return []
                keyword = names[i]
            else:
                keyword = {"data": "metrics"}.get(arg.keyword.value, arg.keyword.value)
                if keyword not in names:
                    return []
            value = arg.value
            if keyword == "metrics":
                out.insert(0, cst.Arg(value))
            else:
                out.append(cst.Arg(value, keyword=cst.Name(keyword), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
        if not out or out[0].keyword is not None:
            return []
        return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in out]

    def moved_call(self, movable, call: cst.Call) -> cst.BaseExpression:
        positional = [a for a in call.args if a.keyword is None]
        keywords = [a for a in call.args if a.keyword is not None]
        if any(a.star for a in call.args) or len(positional) != len(movable.params):
            self.note("DM314", f"`{movable.call}(...)` left as it is: the codemod moves it only with exactly "
                      f"{len(movable.params)} positional argument(s) ({', '.join(movable.params)}) and plain keywords")
            return call
        if self.nested:
            self.note("DM314", f"`{movable.call}(...)` inside a comprehension or lambda, where `yield` cannot go")
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


class IoTransformer(MigrationTransformer):
    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.introduced = False
        self.do_functions: set[str] = set()
        self.module_names: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
        from .compute import module_bound_names

        self.imports = ImportTable(node, self.state)
        self.module_names = module_bound_names(node)
        self.do_functions = {
            s.name.value for s in node.body if isinstance(s, cst.FunctionDef) and is_effectful(s, self.imports)
        }
        self.entry_callables = set(self.do_functions)
        self.sibling_functions = _sibling_imports(node, self.state.module, os.path.basename(self.state.path) == "__init__.py")

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef):
        if not is_effectful(original_node, self.imports):
            return updated_node
        for deco in original_node.decorators:
            expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
            if self.imports.qualify(expr) in _CACHE_DECORATORS:
                updated_node = self.state.flag(updated_node, "DM312")
        return updated_node.with_changes(body=updated_node.body.visit(_BodyRewriter(self, updated_node)))

    # -- entry points: install the package's handlers where a program starts -------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.state.module.rpartition(".")[2] == HANDLER_MODULE or _PROBING.get():
            return updated_node
        # Entry points calling @do functions of sibling modules need the handlers when those modules do IO.
        used = {m for name, m in self.sibling_functions.items() if _calls_at_module_level(updated_node, name)}
        if used and _siblings_do_io(os.path.dirname(os.path.abspath(self.state.path)), sorted(used)):
            self.entry_callables |= {n for n, m in self.sibling_functions.items() if m in used}
        elif not self.introduced:
            return updated_node
        body = [stmt.visit(_RunWiring(self)) for stmt in updated_node.body]
        has_entry = any(
            isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], (cst.Assign, cst.AnnAssign)) and self.is_entry(stmt.body[0])
            for stmt in body
        )
        if has_entry and "__doeff_handlers__" not in self.module_names:
            # The runner installs these outside its recorder, so `--record` records the effects themselves.
            module = record_need(self.state)
            AddImportsVisitor.add_needed_import(self.state.context, module, "HANDLERS")
            declare = cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name("__doeff_handlers__"))], cst.Name("HANDLERS"))],
                leading_lines=[cst.EmptyLine(), cst.EmptyLine()] if isinstance(body[-1], (cst.FunctionDef, cst.ClassDef)) else [],
            )
            body = _before_main_block(body, declare)
        return updated_node.with_changes(body=body)

    def is_entry(self, small: cst.Assign | cst.AnnAssign) -> bool:
        value = small.value
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
            return False
        if value.func.value not in self.entry_callables:
            return False
        if isinstance(small, cst.Assign):
            return len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        return isinstance(small.target, cst.Name)

    def wrapped(self, program: cst.BaseExpression) -> cst.BaseExpression:
        module = record_need(self.state)
        AddImportsVisitor.add_needed_import(self.state.context, module, "with_effect_handlers")
        return cst.Call(cst.Name("with_effect_handlers"), [cst.Arg(program)])


# -- sibling modules: does the package do IO that an entry point here reaches? -----------------------------------

_PROBING: contextvars.ContextVar[bool] = contextvars.ContextVar("doeff_migrate_io_probing", default=False)
"""True while sibling modules are probed (their own entry points are not wired then)."""

_HELPERS = {"call_in_thread", "recording_handlers", "with_effect_handlers", "HANDLERS"}


def _yields_generated_effects(text: str) -> bool:
    """The module imports an effect the io phase introduces (it was migrated already)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module.rpartition(".")[2] == HANDLER_MODULE and names - _HELPERS:
                return True
            if node.module == METRICS_MODULE and any(n.startswith("Log") for n in names):
                return True
    return False


def _sibling_imports(module: cst.Module, dotted: str, is_package: bool) -> dict[str, str]:
    """Local name -> sibling module file (``train.py``) for ``from .train import f`` / ``from pkg.train import f``."""
    package = dotted if is_package else dotted.rpartition(".")[0]
    found: dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar) or small.module is None:
                continue
            name = pn.dotted_cst(small.module) or ""
            if len(small.relative) == 1 and "." not in name:
                sibling = name
            elif not small.relative and package and name.rpartition(".")[0] == package:
                sibling = name.rpartition(".")[2]
            else:
                continue
            if sibling == HANDLER_MODULE:
                continue
            for alias in small.names:
                found[alias.evaluated_alias or alias.evaluated_name] = f"{sibling}.py"
    return found


def _calls_at_module_level(module: cst.Module, name: str) -> bool:
    """``name(...)`` called outside functions and classes (an entry point or a script's run)."""
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        for call in _calls(stmt):
            if isinstance(call.func, cst.Name) and call.func.value == name:
                return True
    return False


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Finder())
    return found


def _siblings_do_io(directory: str, files: list[str]) -> bool:
    """Whether any of ``files`` (in ``directory``) yields the io phase's effects, or would once migrated.

    Reads the files (never imports them). The answer is the same before and after the phase ran on them,
    so wiring an entry point on it is idempotent.
    """
    from ..engine import MigrationError, migrate_text

    for file in files:
        path = os.path.join(directory, file)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        if _yields_generated_effects(text):
            return True
        token = _PROBING.set(True)
        try:
            # With ``di`` too: in a full run the sibling's @injected functions become @do ones first.
            result = migrate_text(text, path=path, phases=("di", "io"))
        except (MigrationError, ValueError, RecursionError):
            continue
        finally:
            _PROBING.reset(token)
        if any(need.spec is not None for need in result.effects):
            return True
    return False


def _before_main_block(body: list, stmt: cst.SimpleStatementLine) -> list:
    """Insert ``stmt`` before a trailing ``if __name__ == "__main__":`` block, else at the end."""
    if body and isinstance(body[-1], cst.If) and "__name__" in cst.Module([]).code_for_node(body[-1].test):
        last = body[-1]
        return [*body[:-1], stmt.with_changes(leading_lines=last.leading_lines), last.with_changes(leading_lines=[cst.EmptyLine()])]
    return [*body, stmt]


class _RunWiring(cst.CSTTransformer):
    """``run(f(...), ...)`` of a ``@do`` function of this file -> ``run(with_effect_handlers(f(...)), ...)``."""

    def __init__(self, owner: IoTransformer) -> None:
        super().__init__()
        self.owner = owner

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if self.owner.imports.qualify(original_node.func) not in ("doeff_migrate.runtime.run", "doeff.run"):
            return updated_node
        if not updated_node.args or updated_node.args[0].keyword or updated_node.args[0].star:
            return updated_node
        program = updated_node.args[0].value
        if isinstance(program, cst.Call) and isinstance(program.func, cst.Name) and program.func.value in self.owner.entry_callables:
            first = updated_node.args[0].with_changes(value=self.owner.wrapped(program))
            return updated_node.with_changes(args=[first, *updated_node.args[1:]])
        return updated_node


transform = register(
    Transform(
        __name__,
        phase="io",
        order=60,
        transformer=IoTransformer,
        description="wandb -> metrics effects; torch/numpy/joblib/HTTP calls -> declared effects with generated handlers",
        prefilter=("wandb", "mlflow", "torch", "numpy", "np.", "pickle", "joblib", "open(", "requests", "httpx",
                   "h5py", "lmdb", "lru_cache", "cache",
                   # entry points reaching sibling modules' IO: migrated ones, and pinjected ones the di phase migrates
                   "doeff", "pinjected"),
    )
)

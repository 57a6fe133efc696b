"""IO in ``@do`` functions -> effects: wandb -> metrics effects, checkpoints, files and HTTP/API calls -> declared effects.

Seed 000: ``wandb.log(metrics) -> yield Tell(metrics)``, ``torch.load(path) -> ckpt = yield Await(load_ckpt(path))``.
Inside ``@do`` functions (names resolved through the file's imports; shadowed names are not the library's):

* ``wandb.log(d, step=..., commit=...)`` -> ``yield LogMetrics(d, step=..., commit=...)``;
  ``wandb.config.update(d)`` -> ``yield LogConfig(d)``; ``wandb.summary.update(d)`` /
  ``wandb.run.summary.update(d)`` -> ``yield LogSummary(d)`` (``doeff_migrate.runtime.metrics``);
* a movable call (:meth:`~doeff_migrate.codemod.side_effects.Catalogue.movable`: ``torch.load(p)``, ``np.save(p, a)``,
  ``pickle.load(f)``, ``mlflow.log_metric(k, v)``, ``requests.get(url, timeout=5)``, and the project's own
  ``extra-side-effects`` entries that name an ``effect``) -> ``yield LoadTorchCheckpoint(p)`` / ``yield
  RequestsGet(url, options={"timeout": 5})`` / ``yield Upload(args=(p,), kwargs={...})``, declared in the
  package's ``effects_handlers.py``;
* a whole-file ``with open(p[, mode], encoding=...) as f:`` block whose only statement reads or writes the whole
  file (``x = f.read()``, ``f.write(s)``, ``x = json.load(f)``, ``json.dump(o, f)``, ``pickle.load/dump``) and
  where ``f`` is used nowhere else -> ``x = yield ReadText(p)`` / ``yield WriteJson(p, o)`` / ... (a write only
  when what it writes is a name or a literal: ``open(p, "w")`` truncates before a failing ``render()`` runs);
* calls of an LLM/API client library (category ``llm``: ``openai``, ``anthropic``, ... and configured ones):
  functions of the library itself (``openai.Completion.create(...)``) are moved with a complete handler; calls
  through a client built at module level (``client = OpenAI()`` ... ``client.chat.completions.create(...)``)
  become ``yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={...})``, whose generated handler
  makes the same call on the client the effect names (two clients of one library stay apart: review F28).

Each other introduced effect gets a complete generated handler (``codemod/handler_stubs.py``) that performs the
original call. So that the code keeps running, a file with entry points (module-level ``x = f(...)`` of its
``@do`` functions, or of ``@do`` functions imported from sibling modules that do such IO) gets
``__doeff_handlers__ = HANDLERS``, which the runner installs outside its recorder, and ``run(f(...))`` calls of
those functions become ``run(with_effect_handlers(f(...)))``. Other catalogued IO (``wandb.init``, other
``open`` uses, ``h5py``/``lmdb`` handles (DM316), client calls through objects the codemod cannot trace
(DM317), caches (DM312/DM313)) is left as it is and flagged.
"""

from __future__ import annotations

import ast
import contextvars
import dataclasses
import json
import os
import re

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from ..errors import MigrationError
from ..handler_stubs import HANDLER_MODULE, handler_module_for, record_need, spec_for_client, spec_for_file, spec_for_metrics, spec_for_movable
from ..rules.side_effects import CATEGORY_RULES
from ..side_effects import Catalogue, CatalogueError, MovableCall
from ..state import FileState
from . import EFFECTFUL_FILE, MigrationTransformer, Transform, imports_any, register
from .compute import DO_DECORATORS, ImportTable, bare_yields, is_doeff_code, is_effectful, local_names, name_counts, yielded

METRICS_MODULE = "doeff_migrate.runtime.metrics"
_FLAGGED_CATEGORIES = {"metrics", "checkpoint", "file", "http", "llm", "custom"}
_IO_CATEGORIES = _FLAGGED_CATEGORIES
_HANDLE_OPENERS = {"h5py.File", "lmdb.open"}
# Attribute names that make a call through an unknown object look like an API client's (DM317).
_CLIENT_WORDS = {"chat", "completions", "messages", "embeddings", "responses", "generate_content"}
_CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}
_CATALOGUE = Catalogue.default()
_PYPROJECTS: dict[str, object] = {}
_CATALOGUES: dict[tuple[str, float], Catalogue] = {}


def catalogue_for(path: str | None) -> Catalogue:
    """The side-effect catalogue of the project ``path`` belongs to: the defaults plus its
    ``extra-side-effects`` (nearest ``pyproject.toml``; a malformed one was reported by the CLI: defaults).
    Cached per configuration file and its modification time, so a long-lived language server sees edits."""
    from pathlib import Path

    from ..config import ConfigError, find_pyproject, load_settings

    if not path or path.startswith("<"):
        return _CATALOGUE
    directory = os.path.dirname(os.path.abspath(path))
    pyproject = _PYPROJECTS.get(directory, _PYPROJECTS)
    if pyproject is _PYPROJECTS:
        pyproject = _PYPROJECTS[directory] = find_pyproject(Path(directory)) if os.path.isdir(directory) else None
    if pyproject is None:
        return _CATALOGUE
    try:
        key = (str(pyproject), os.stat(pyproject).st_mtime)
    except OSError:
        return _CATALOGUE
    found = _CATALOGUES.get(key)
    if found is None:
        try:
            extra = load_settings(pyproject.parent, pyproject).extra_side_effects  # type: ignore[union-attr]
            found = Catalogue.default(extra) if extra else _CATALOGUE
        except (ConfigError, CatalogueError):
            found = _CATALOGUE
        _CATALOGUES[key] = found
    return found


def _camel(parts) -> str:
    """``("openai", "chat", "generate_content")`` -> ``OpenaiChatGenerateContent``."""
    return "".join(w[:1].upper() + w[1:] for part in parts for w in part.split("_") if w)


def _is_constructor(qualified: str) -> bool:
    return qualified.rpartition(".")[2][:1].isupper()


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
        self.handles = _with_handles_only(func)
        self.whole_file: dict[int, tuple[str, cst.SimpleStatementLine]] = {}
        self.with_items: set[int] = set()  # ids of the (original) context expressions of `with` statements

    def qualify(self, node: cst.CSTNode) -> str | None:
        return self.owner.imports.qualify(node, self.shadowed)

    # nested scopes are not this function's body; comprehensions and lambdas cannot hold a ``yield``. What of them
    # runs as part of this function (a nested def's defaults and decorators, a class body) is flagged, not moved.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.frames.append([])
        parts = [p.default for p in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params] if p.default]
        self._note_nested_io([*parts, *(d.decorator for d in node.decorators)], "a nested function's defaults or decorators")
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.frames.append([])
        body = [s for s in getattr(node.body, "body", ()) if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
        self._note_nested_io([*body, *(d.decorator for d in node.decorators)], "a class body")
        return False

    def _note_nested_io(self, parts: list, where: str) -> None:
        for part in parts:
            for call in _calls(part):
                qualified = self.qualify(call.func)
                if qualified and (self.owner.catalogue.movable(qualified) or qualified.startswith(("wandb.", "mlflow."))
                                  or (self.owner.catalogue.lookup(qualified) is not None
                                      and self.owner.catalogue.lookup(qualified).category in _IO_CATEGORIES)):
                    self.note("DM314", f"`{qualified}(...)` in {where} inside effectful code: left as it is, where `yield` cannot go")
                    return

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

    visit_SimpleStatementLine = visit_If = visit_For = visit_While = visit_Try = _enter  # type: ignore[assignment]
    leave_SimpleStatementLine = leave_If = leave_For = leave_While = leave_Try = _leave  # type: ignore[assignment]
    leave_FunctionDef = leave_ClassDef = _leave  # type: ignore[assignment]  # (frames pushed in visit_*Def)

    # -- whole-file reads and writes: ``with open(p) as f: x = f.read()`` -> ``x = yield ReadText(p)`` ----------
    def visit_With(self, node: cst.With) -> bool:
        self.frames.append([])
        planned = None if self.nested else self.whole_file_plan(node)
        if planned is None:
            self.with_items |= {id(item.item) for item in node.items}
            return True
        self.whole_file[id(node)] = planned
        return False  # built from the original parts in leave_With

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        planned = self.whole_file.pop(id(original_node), None)
        if planned is None:
            return self._leave(original_node, updated_node)
        effect, stmt = planned
        # Arguments may hold IO of their own (``f.write(requests.get(u).text)``): rewrite them too.
        stmt = stmt.visit(self)
        module = record_need(self.state, spec_for_file(effect))
        AddImportsVisitor.add_needed_import(self.state.context, module, effect)
        self.owner.introduced = True
        stmt = stmt.with_changes(leading_lines=original_node.leading_lines)
        return self._leave(original_node, stmt)

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
        # ``f.write(render(rows))`` with a failing ``render`` must still leave an empty file (review F26).
        if effect.startswith("Write") and not all(_inert(e) for e in [*(a.value for a in args[1:]), *(a.value for a in dump_options)]):
            return None
        if options:
            args.append(_keyword("options", _as_dict(options)))
        if dump_options:
            args.append(_keyword("dump_options", _as_dict(dump_options)))
        produced = yielded(cst.Call(cst.Name(effect), args))
        if target is not None:
            new_small: cst.BaseSmallStatement = cst.Assign([cst.AssignTarget(target)], produced.with_changes(lpar=[], rpar=[]))
        elif isinstance(small, cst.Return):
            new_small = cst.Return(produced)
        else:
            new_small = cst.Expr(produced.with_changes(lpar=[], rpar=[]))
        return effect, cst.SimpleStatementLine([new_small])

    def note(self, code: str, message: str | None = None) -> None:
        self.frames[-1].append((code, message))

    # -- calls ------------------------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        qualified = self.qualify(original_node.func)
        catalogue = self.owner.catalogue
        if qualified is None:
            choices = self.ambiguous_io(original_node.func)
            if choices:
                shown = " or ".join(f"`{c}`" for c in choices) if len(choices) > 1 else f"`{choices[0]}` or to another object"
                self.note("DM318", f"`{pn.dotted_cst(original_node.func)}(...)` left as it is: the name is bound to "
                                   f"{shown} depending on how the module was loaded")
                return updated_node
            builtin = self.owner.imports.builtin(original_node.func, self.shadowed | self.owner.module_names)
            if builtin == "open":
                self.note("DM303", "`open(...)` left as it is: only whole-file `with open(...)` reads and writes are moved")
            elif self.is_cache_call(original_node):
                self.note("DM313")
            else:
                return self.client_call(original_node, updated_node)
            return updated_node
        movable = catalogue.movable(qualified)
        if movable is not None:
            if qualified == "numpy.load" and (id(original_node) in self.with_items or _npz_path(original_node)):
                # An `.npz` archive loads as a lazy NpzFile (a context manager over an open file): neither
                # recordable nor replayable, so `--record` would fail at it (review F18).
                self.note("DM320")
                return updated_node
            return self.moved_call(movable, updated_node)
        if qualified.startswith(("wandb.", "mlflow.")):
            return self.metrics_call(qualified, updated_node)
        entry = catalogue.lookup(qualified)
        if entry is None:
            return updated_node
        if entry.category == "llm" and not _is_constructor(qualified):
            # A function of the library itself (``openai.ChatCompletion.create``): a plain call, moved whole.
            return self.moved_call(MovableCall(qualified, _camel(qualified.split(".")), None), updated_node)
        if qualified in _HANDLE_OPENERS:
            self.note("DM316", f"`{qualified}(...)` left as it is: the handle it opens is read and written by the code after it")
        elif entry.category in _FLAGGED_CATEGORIES and not (entry.category == "llm" and _is_constructor(qualified)):
            rule = CATEGORY_RULES[entry.category]
            self.note(rule.code, f"`{qualified}(...)` left as it is: {rule.message.lower()}; it becomes {entry.becomes}")
        return updated_node

    def ambiguous_io(self, func: cst.BaseExpression) -> list[str]:
        """What a call through a name bound several ways at module level may be, when one of them is IO."""
        dotted = pn.dotted_cst(func)
        if dotted is None:
            return []
        head, _, rest = dotted.partition(".")
        bases = self.owner.imports.ambiguous.get(head)
        if not bases or head in self.shadowed:
            return []
        choices = [f"{b}.{rest}" if rest else b for b in dict.fromkeys(bases)]
        catalogue = self.owner.catalogue
        if any(catalogue.movable(c) or catalogue.lookup(c) or c.startswith(("wandb.", "mlflow.")) for c in choices):
            return choices
        return []

    def client_call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``client.chat.completions.create(...)`` through a module-level ``client = openai.OpenAI(...)``
        -> ``yield OpenaiChatCompletionsCreate(client="pkg.mod.client", kwargs={...})``, whose generated handler
        makes the same call on that client (named, so that two clients of one library stay apart)."""
        chain: list[str] = []
        node: cst.BaseExpression = original.func
        while isinstance(node, cst.Attribute):
            chain.insert(0, node.attr.value)
            node = node.value
        if not chain:
            return updated
        if isinstance(node, cst.Name) and node.value not in self.shadowed and node.value in self.owner.clients:
            constructor = self.owner.clients[node.value]
            library = constructor.split(".")[0]
            effect = _camel([library, *chain])
            if any(a.star for a in updated.args) or self.nested:
                self.note("DM314", f"`{node.value}.{'.'.join(chain)}(...)` left as it is: "
                                   + ("inside a comprehension or lambda, where `yield` cannot go" if self.nested
                                      else "`*args`/`**kwargs` cannot be moved into the effect's fields"))
                return updated
            positional = [a for a in updated.args if a.keyword is None]
            keywords = [a for a in updated.args if a.keyword is not None]
            args = [_keyword("client", cst.SimpleString(json.dumps(f"{self.state.module}.{node.value}")))]
            if positional:
                args.append(_keyword("args", cst.Tuple([cst.Element(a.value) for a in positional]) if len(positional) > 1
                                     else cst.Tuple([cst.Element(positional[0].value, comma=cst.Comma())])))
            if keywords:
                args.append(_keyword("kwargs", _as_dict(keywords)))
            module = record_need(self.state, spec_for_client(effect, constructor, tuple(chain)))
            AddImportsVisitor.add_needed_import(self.state.context, module, effect)
            self.owner.introduced = True
            return yielded(cst.Call(cst.Name(effect), args))
        if self.owner.imports_client_library and _CLIENT_WORDS & set(chain):
            shown = ".".join([pn.dotted_cst(node) or "<expression>", *chain])
            self.note("DM317", f"`{shown}(...)` left as it is: `{shown.split('.')[0]}` is not a client built at module level from an imported library")
        return updated

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

    def moved_call(self, movable: MovableCall, call: cst.Call) -> cst.BaseExpression:
        positional = [a for a in call.args if a.keyword is None]
        keywords = [a for a in call.args if a.keyword is not None]
        if movable.params is None:
            if any(a.star for a in call.args):
                self.note("DM314", f"`{movable.call}(...)` left as it is: `*args`/`**kwargs` cannot be moved into the effect's fields")
                return call
            if self.nested:
                self.note("DM314", f"`{movable.call}(...)` inside a comprehension or lambda, where `yield` cannot go")
                return call
            args: list[cst.Arg] = []
            if positional:
                args.append(_keyword("args", cst.Tuple([cst.Element(a.value) for a in positional]) if len(positional) > 1
                                     else cst.Tuple([cst.Element(positional[0].value, comma=cst.Comma())])))
            if keywords:
                args.append(_keyword("kwargs", _as_dict(keywords)))
            module = record_need(self.state, spec_for_movable(movable))
            AddImportsVisitor.add_needed_import(self.state.context, module, movable.effect)
            self.owner.introduced = True
            return yielded(cst.Call(cst.Name(movable.effect), args))
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
        self.catalogue = catalogue_for(self.state.path)
        # Module-level ``client = openai.OpenAI(...)``: calls through it are the library's.
        self.clients: dict[str, str] = {}
        for stmt in node.body:
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], (cst.Assign, cst.AnnAssign)):
                small = stmt.body[0]
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                value = small.value
                if len(targets) == 1 and isinstance(targets[0], cst.Name) and isinstance(value, cst.Call):
                    qualified = self.imports.qualify(value.func)
                    entry = self.catalogue.lookup(qualified) if qualified else None
                    if entry is not None and entry.category == "llm" and _is_constructor(qualified):
                        self.clients[targets[0].value] = qualified
        # A name bound twice at module level is not known to be the client everywhere.
        self.clients = {n: c for n, c in self.clients.items() if name_bindings(node, n) == 1}
        llm_roots = self.catalogue.roots_of({"llm"})
        self.imports_client_library = any(q.split(".")[0] in llm_roots for q in self.imports.names.values())
        self.do_functions = {
            s.name.value for s in node.body if isinstance(s, cst.FunctionDef) and is_effectful(s, self.imports)
            and not is_doeff_code(s, self.imports, self.state)
        }
        self.entry_callables = set(self.do_functions)
        self.module_functions = {id(s) for s in node.body if isinstance(s, cst.FunctionDef)}
        self.handler_modules: set[str] = set()  # handler modules (dotted) of the packages whose programs run here

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef):
        if not is_effectful(original_node, self.imports):
            return updated_node
        if is_doeff_code(original_node, self.imports, self.state):
            return self.left_for_doeff(updated_node)
        updated_node = updated_node.with_changes(body=updated_node.body.visit(_BodyRewriter(self, updated_node)))
        cached = [
            i for i, deco in enumerate(original_node.decorators)
            if self.imports.qualify(deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator) in _CACHE_DECORATORS
        ]
        if not cached:
            return updated_node
        # Left as it is (review F25): the cache hands out the same *program*, whose body runs again at every
        # ``yield``; caching results (CacheGet/CachePut) would run it once and share one result object.
        return self.state.flag(updated_node, "DM312")

    def left_for_doeff(self, node: cst.FunctionDef) -> cst.FunctionDef:
        """doeff code is left as it is (the effects and handlers written here are the bundled runtime's, which doeff
        cannot run: review F23); flagged DM319 when the phase would have touched it. The trial rewrite's imports,
        handler-module needs and flags are dropped."""
        scratch = self.state.context.scratch
        saved = {key: list(value) if isinstance(value, list) else value for key, value in scratch.items()}
        flags, introduced = len(self.state.flags), self.introduced
        trial = node.body.visit(_BodyRewriter(self, node))
        scratch.clear()
        scratch.update(saved)
        del self.state.flags[flags:]
        self.introduced = introduced
        return node if trial.deep_equals(node.body) else self.state.flag(node, "DM319")

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.state.module.rpartition(".")[2] == HANDLER_MODULE or _PROBING.get():
            return updated_node
        # Entry points calling @do functions of other modules of the project need the handlers when those modules
        # do IO: calls at module level, and, in a module that runs programs itself (`run(...)`), calls anywhere
        # outside effectful code (a script's `main()`: review F6).
        # (after the early return: looking the imported modules up on disk is wasted on probes and handler modules)
        sibling_functions, sibling_packages = _project_imports(original_node, self.state.module, self.state.path)
        called = {c.func.value for c in _entry_calls(updated_node, self.imports) if isinstance(c.func, cst.Name)}
        used = {m for name, m in sibling_functions.items() if name in called}
        if used and self.state.migrate is not None and _siblings_do_io(sorted(used), self.state.migrate):
            self.entry_callables |= {n for n, m in sibling_functions.items() if m in used}
            self.handler_modules |= {sibling_packages[m] for m in used}
        elif not self.introduced:
            return updated_node
        body = [stmt.visit(_RunWiring(self)) for stmt in updated_node.body]
        has_entry = any(
            isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], (cst.Assign, cst.AnnAssign)) and self.is_entry(stmt.body[0])
            for stmt in body
        )
        # (A quick fix of a few lines, `only_range`, declares nothing beyond them but for an entry point.)
        whole_file = all(self.state.in_range(stmt) for stmt in original_node.body)
        if (has_entry or (self.introduced and whole_file)) and "__doeff_handlers__" not in self.module_names:
            # The runner installs these outside its recorder, so `--record` records the effects themselves.
            # Declared by every module that yields the package's effects, not only by recognised entry points
            # (`main = Trainer(3).fit()` is one too: review F20); importing the handler module also lets the
            # runner find these handlers when the entry point is in another module (F1).
            module = record_need(self.state)
            handlers = "HANDLERS"
            if handlers in self.module_names or self.imports.names.get(handlers, f"{module}.HANDLERS") != f"{module}.HANDLERS":
                handlers = "_dm_HANDLERS"  # the module's own `HANDLERS` is not the package's (review F16)
                AddImportsVisitor.add_needed_import(self.state.context, module, "HANDLERS", handlers)
            else:
                AddImportsVisitor.add_needed_import(self.state.context, module, "HANDLERS")
            declare = cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name("__doeff_handlers__"))], cst.Name(handlers))],
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
        """``program`` under the handlers of the packages whose effects it yields: this file's own package's (when
        it introduced effects or uses modules of its package that do IO) and those of other packages it imports
        programs from (a script in `scripts/` running `proj` code: review F6)."""
        _, own = handler_module_for(self.state.path, self.state.module)
        others = sorted(m for m in self.handler_modules if m != own)
        if self.introduced or own in self.handler_modules or not others:
            record_need(self.state)
            AddImportsVisitor.add_needed_import(self.state.context, own, "with_effect_handlers")
            program = cst.Call(cst.Name("with_effect_handlers"), [cst.Arg(program)])
        for module in others:
            package = re.sub(r"\W", "_", module.rpartition(".")[0]) or "top"  # `my-app` too: an alias is an identifier
            alias = f"with_{package}_effect_handlers"
            AddImportsVisitor.add_needed_import(self.state.context, module, "with_effect_handlers", alias)
            program = cst.Call(cst.Name(alias), [cst.Arg(program)])
        return program


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
        bound = _bound_through_importlib(node)
        if bound is not None and bound[0].rpartition(".")[2] == HANDLER_MODULE and bound[1] not in _HELPERS:
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module.rpartition(".")[2] == HANDLER_MODULE and names - _HELPERS:
                return True
            if node.module == METRICS_MODULE and any(n.startswith("Log") for n in names):
                return True
    return False


def _bound_through_importlib(node: ast.stmt) -> tuple[str, str] | None:
    """``(module, name)`` of ``name = importlib.import_module("module").name``: how migrated code imports from
    a module whose dotted name no import statement can spell (a package folder ``01_app``)."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Call)):
        return None
    call = node.value.value
    if (isinstance(call.func, ast.Attribute) and call.func.attr == "import_module" and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "importlib" and len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)):
        return call.args[0].value, node.value.attr
    return None


def _project_imports(module: cst.Module, dotted: str, path: str) -> tuple[dict[str, str], dict[str, str]]:
    """Local name -> file of the project it is imported from (``from .train import f``, ``from pkg.train import f``,
    ``from other_pkg.io import load``), found on disk next to the importing file or under one of its ancestors
    (never imported); and file -> the dotted name of its package's handler module."""
    is_package = os.path.basename(path) == "__init__.py"
    package = dotted if is_package else dotted.rpartition(".")[0]
    directory = os.path.dirname(os.path.abspath(path))
    found: dict[str, str] = {}
    packages: dict[str, str] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            name = pn.dotted_cst(small.module) if small.module is not None else ""
            if name is None or name.rpartition(".")[2] == HANDLER_MODULE:
                continue
            if small.relative:
                base, anchor = directory, package
                for _ in range(len(small.relative) - 1):
                    base, anchor = os.path.dirname(base), anchor.rpartition(".")[0]
                file = _module_file(base, name) if name else None
                imported = ".".join(p for p in (anchor, name) if p)
            else:
                file = _find_in_ancestors(directory, name, package)
                imported = name
            if file is None:
                continue
            packages[file] = handler_module_for(file, imported)[1]
            for alias in small.names:
                found[alias.evaluated_alias or alias.evaluated_name] = file
    return found, packages


def _module_file(base: str, dotted: str) -> str | None:
    parts = dotted.split(".")
    candidate = os.path.join(base, *parts)
    for file in (candidate + ".py", os.path.join(candidate, "__init__.py")):
        if os.path.isfile(file):
            return file
    return None


def _find_in_ancestors(directory: str, dotted: str, package: str) -> str | None:
    """The file of ``dotted`` under the directory holding this file's top package (or its ancestors, up to 4)."""
    depth = len(package.split(".")) if package else 0
    root = directory
    for _ in range(depth):
        root = os.path.dirname(root)
    for _ in range(4):
        file = _module_file(root, dotted)
        if file is not None:
            return file
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return None


def _entry_calls(module: cst.Module, imports: ImportTable) -> list[cst.Call]:
    """Calls that build programs an entry point runs: at module level, and in plain functions when the module
    calls the runtime's ``run`` itself."""
    found = [c for stmt in module.body if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) for c in _calls(stmt)]
    # (Walking the whole module is skipped when no import can name the runtime's ``run``.)
    if not any(_RUN.startswith(f"{target}.") or target == _RUN for name, target in imports.names.items() if name not in imports.ambiguous):
        return found
    everywhere = _calls(module)
    if any(imports.qualify(c.func) == _RUN for c in everywhere):
        found = everywhere
    return found


_RUN = "doeff_migrate.runtime.run"


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Finder())
    return found


def _siblings_do_io(files: list[str], migrate) -> bool:
    """Whether any of ``files`` (paths) yields the io phase's effects, or would once migrated.

    Reads the files (never imports them). The answer is the same before and after the phase ran on them,
    so wiring an entry point on it is idempotent. Cached per file and modification time.
    """
    return any(_does_io(path, migrate) for path in files)


_DOES_IO: dict[tuple[str, float], bool] = {}


def _does_io(path: str, migrate_text) -> bool:
    """``migrate_text``: the engine's (``FileState.migrate``)."""
    try:
        key = (os.path.abspath(path), os.stat(path).st_mtime)
    except OSError:
        return False
    if key in _DOES_IO:
        return _DOES_IO[key]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    answer = _yields_generated_effects(text)
    if not answer and _may_yield_effects(text, path):
        token = _PROBING.set(True)
        try:
            # With ``di`` too: in a full run the sibling's @injected functions become @do ones first.
            result = migrate_text(text, path=path, phases=("di", "io"))
            answer = any(need.spec is not None for need in result.effects)
        except (MigrationError, ValueError, RecursionError):
            answer = False
        finally:
            _PROBING.reset(token)
    _DOES_IO[key] = answer
    return answer


def _may_yield_effects(text: str, path: str) -> bool:
    """Whether the io phase can find anything to rewrite in a probed module: its pre-filter without the clause
    for imports of sibling modules (those only wire the module's own entry points, which a probe skips). A
    module matching none of the other clauses is not migrated to be probed."""
    probe = dataclasses.replace(transform, prefilter=tuple(c for c in transform.prefilter if c is not _SIBLING_IMPORTS))
    return probe.wants(text, path)


def _before_main_block(body: list, stmt: cst.SimpleStatementLine) -> list:
    """Insert ``stmt`` before a trailing ``if __name__ == "__main__":`` block, else at the end."""
    if body and isinstance(body[-1], cst.If) and "__name__" in cst.Module([]).code_for_node(body[-1].test):
        last = body[-1]
        return [*body[:-1], stmt.with_changes(leading_lines=last.leading_lines), last.with_changes(leading_lines=[cst.EmptyLine()])]
    return [*body, stmt]


class _RunWiring(cst.CSTTransformer):
    """``run(p, ...)`` in a module whose programs yield the package's effects -> ``run(with_effect_handlers(p), ...)``.

    Every ``run`` of the bundled runtime outside ``@do`` functions is wired, in plain functions too (a script's
    ``main()``, a test: review F6), whatever its program expression: the handlers answer only the package's
    effects, so a program without them is unaffected. A recorder already in ``run``'s stack
    (``*recording_handlers()``) moves inside the handlers, where it sees the effects they answer (F32).
    """

    def __init__(self, owner: IoTransformer) -> None:
        super().__init__()
        self.owner = owner
        self.refused = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return not is_effectful(node, self.owner.imports)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine):
        if self.refused:
            self.refused = False
            return self.owner.state.flag(updated_node, "DM321")
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        from .recording import HELPER, is_recording_inside, is_with_effect_handlers, recorder_inside

        imports = self.owner.imports
        if imports.qualify(original_node.func) != "doeff_migrate.runtime.run":
            return updated_node  # doeff's run cannot run the bundled runtime's handlers (review F22/F23)
        if not updated_node.args or updated_node.args[0].keyword or updated_node.args[0].star:
            return updated_node
        program = updated_node.args[0].value
        if is_with_effect_handlers(program, imports) or (isinstance(program, cst.Call) and isinstance(program.func, cst.Name)
                                                         and program.func.value == "with_effect_handlers"):
            return updated_node
        args = list(updated_node.args)
        for i, arg in enumerate(args[1:], 1):
            stack = arg.value
            if not ((arg.keyword is None and i == 1) or (arg.keyword is not None and arg.keyword.value == "handlers")):
                continue
            if not isinstance(stack, cst.List):
                continue
            # Recorders first in `run`'s stack (innermost) must stay inside the package's handlers to see the
            # effects they answer (review F32): they move into the program, right around it.
            elements = list(stack.elements)
            recorders = [self.is_recorder(e) for e in elements]
            first = next((n for n, r in enumerate(recorders) if not r), len(elements))
            if any(recorders[first:]):
                self.refused = True
                return updated_node
            if first:
                moved, kept = elements[:first], elements[first:]
                if kept:
                    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                args[i] = arg.with_changes(value=stack.with_changes(elements=kept))
                if all(isinstance(e, cst.StarredElement) and _names_call(e.value, HELPER) for e in moved):
                    if not is_recording_inside(program, imports):
                        program = recorder_inside(self.owner.state, program)
                else:  # the user's own RecordingHandler/ReplayHandler (with_handlers lists the outermost first)
                    ordered = [e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for e in reversed(moved)]
                    ordered[-1] = ordered[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    program = cst.Call(cst.Name(self.owner.state.need("with_handlers")), [
                        cst.Arg(cst.List(ordered), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(program)])
        args[0] = args[0].with_changes(value=self.owner.wrapped(program))
        return updated_node.with_changes(args=args)

    def is_recorder(self, element: cst.BaseElement) -> bool:
        from .recording import HELPER

        if isinstance(element, cst.StarredElement):
            return _names_call(element.value, HELPER)
        value = element.value
        if not isinstance(value, cst.Call):
            return False
        qualified = self.owner.imports.qualify(value.func) or ""
        return qualified.startswith("doeff_migrate.runtime") and qualified.rpartition(".")[2] in ("RecordingHandler", "ReplayHandler")


def _names_call(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == name


def is_do_decorator(deco: cst.Decorator, imports: ImportTable) -> bool:
    expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
    return imports.qualify(expr) in DO_DECORATORS


def _npz_path(call: cst.Call) -> bool:
    """``np.load("x.npz")``: a literal path naming an archive."""
    first = call.args[0].value if call.args and call.args[0].keyword is None else None
    return isinstance(first, cst.SimpleString) and str(first.evaluated_value).lower().endswith(".npz")


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


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def _as_dict(keywords: list[cst.Arg]) -> cst.Dict:
    return cst.Dict([cst.DictElement(cst.SimpleString(json.dumps(a.keyword.value)), a.value) for a in keywords])  # type: ignore[union-attr]


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


def _with_handles_only(func: cst.FunctionDef) -> set[str]:
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


def name_bindings(module: cst.Module, name: str) -> int:
    """How many top-level statements of ``module`` bind ``name`` (assignments, defs, imports)."""
    from .compute import module_bound_names

    count = 0
    for stmt in module.body:
        if name in module_bound_names(cst.Module(body=[stmt])):
            count += 1
        elif isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar)
            and any((a.evaluated_alias or a.evaluated_name).split(".")[0] == name for a in small.names)
            for small in stmt.body
        ):
            count += 1
    return count


def _prefilter_for(roots) -> tuple:
    """Effectful code (``@do``, or ``@injected`` that the di phase turns into it) that imports a catalogued
    library (``import wandb as W`` still names it), calls the builtin ``open``, uses a ``...cache.get/set``,
    or imports functions of sibling modules (whose IO makes this file's entry points need the handlers)."""
    return (
        (EFFECTFUL_FILE, imports_any(roots)),
        (EFFECTFUL_FILE, r"(?<![\w.])open[ \t]*\("),
        (EFFECTFUL_FILE, r"(?i)cache[ \t]*\.[ \t]*(?:get|set|put)\b"),
        _SIBLING_IMPORTS,
    )


_SIBLING_IMPORTS = (EFFECTFUL_FILE, r"\bfrom[ \t]+(?:\.[ \t]*\w|(?!doeff_migrate\b|doeff\b|pinjected\b)\w+(?:\.\w+)*\.\w+[ \t]+import\b)")
"""The pre-filter clause of files that import functions of sibling modules (see :func:`_may_yield_effects`)."""


_PREFILTER = _prefilter_for({*_CATALOGUE.roots_of(_IO_CATEGORIES), "functools", "json"})


def _extra_prefilter(path: str | None) -> tuple:
    """Files importing a library of the project's own ``extra-side-effects``."""
    catalogue = catalogue_for(path)
    if catalogue is _CATALOGUE:
        return ()
    return ((EFFECTFUL_FILE, imports_any(catalogue.roots_of(set(_IO_CATEGORIES)))),)


transform = register(
    Transform(
        __name__,
        phase="io",
        order=60,
        transformer=IoTransformer,
        description="wandb -> metrics effects; torch/numpy/joblib/HTTP calls -> declared effects with generated handlers",
        prefilter=_PREFILTER,
        extra_prefilter=_extra_prefilter,
    )
)

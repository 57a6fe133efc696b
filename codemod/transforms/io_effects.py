"""IO in ``@do`` functions -> effects: wandb -> metrics effects, checkpoints, files and HTTP/API calls -> declared effects.

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
  makes the same call on the client the effect names (two clients of one library stay apart).

Each other introduced effect gets a complete generated handler (``codemod/handler_stubs.py``) that performs the
original call. So that the code keeps running, a file with entry points (module-level ``x = f(...)`` of its
``@do`` functions, or of ``@do`` functions imported from sibling modules that do such IO) gets
``__doeff_handlers__ = HANDLERS``, which the runner installs outside its recorder, and ``run(f(...))`` calls of
those functions become ``run(with_effect_handlers(f(...)))``. Other catalogued IO (``wandb.init``, other
``open`` uses, ``h5py``/``lmdb`` handles (DM316), client calls through objects the codemod cannot trace
(DM317), caches (DM312/DM313)) is left as it is and flagged.
"""


from __future__ import annotations

import re

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from ..handler_stubs import HANDLER_MODULE, handler_module_for, record_need
from ..rules.phases import CACHE_ON_EFFECTFUL_FUNCTION, DOEFF_CODE_KEEPS_IO
from ..state import FileState
from . import MigrationTransformer, Transform, register
from .effectful_code import ImportTable, effectful_words, is_doeff_code, is_effectful, module_bound_names
from .io_body import BodyRewriter
from .io_catalogue import PREFILTER, catalogue_for, extra_prefilter
from .io_clients import is_constructor
from .io_siblings import PROBING, entry_calls, may_yield_effects, project_imports, siblings_do_io
from .io_wiring import RunWiring, before_main_block

_CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}

class IoTransformer(MigrationTransformer):
    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.introduced = False
        self.do_functions: set[str] = set()
        self.module_names: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
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
                    if entry is not None and entry.category == "llm" and is_constructor(qualified):
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
        # A file that matched the pre-filter only for its imports of sibling modules has no IO of its own to move
        # or flag (every IO call needs a catalogued import, ``open`` or a cache; ``cache`` may span lines): only
        # its entry points are wired (``leave_Module``), and function bodies are not walked.
        source = self.state.source
        self.bodies = not source or "cache" in source.lower() or may_yield_effects(source, self.state.path)

    def statement_words(self) -> set[str]:
        # Only effectful functions' bodies are rewritten or flagged (``leave_FunctionDef``), and each shows its
        # ``@do``; ``leave_Module`` wires entry points over the whole body itself.
        return effectful_words(self.imports) if self.bodies else set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self.bodies

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self.bodies

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef):
        if not self.bodies or not is_effectful(original_node, self.imports):
            return updated_node
        if is_doeff_code(original_node, self.imports, self.state):
            return self.left_for_doeff(updated_node)
        updated_node = updated_node.with_changes(body=updated_node.body.visit(BodyRewriter(self, updated_node)))
        cached = [
            i for i, deco in enumerate(original_node.decorators)
            if self.imports.qualify(deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator) in _CACHE_DECORATORS
        ]
        if not cached:
            return updated_node
        # Left as it is: the cache hands out the same *program*, whose body runs again at every
        # ``yield``; caching results (CacheGet/CachePut) would run it once and share one result object.
        return self.state.flag(updated_node, CACHE_ON_EFFECTFUL_FUNCTION.code)

    def left_for_doeff(self, node: cst.FunctionDef) -> cst.FunctionDef:
        """doeff code is left as it is (the effects and handlers written here are the bundled runtime's, which doeff
        cannot run); flagged DM319 when the phase would have touched it. The trial rewrite's imports,
        handler-module needs and flags are dropped."""
        scratch = self.state.context.scratch
        saved = {key: list(value) if isinstance(value, list) else value for key, value in scratch.items()}
        flags, introduced = len(self.state.flags), self.introduced
        trial = node.body.visit(BodyRewriter(self, node))
        scratch.clear()
        scratch.update(saved)
        del self.state.flags[flags:]
        self.introduced = introduced
        return node if trial.deep_equals(node.body) else self.state.flag(node, DOEFF_CODE_KEEPS_IO.code)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self.state.module.rpartition(".")[2] == HANDLER_MODULE or PROBING.get():
            return updated_node
        # Entry points calling @do functions of other modules of the project need the handlers when those modules
        # do IO: calls at module level, and, in a module that runs programs itself (`run(...)`), calls anywhere
        # outside effectful code (a script's `main()`).
        # (after the early return: looking the imported modules up on disk is wasted on probes and handler modules)
        sibling_functions, sibling_packages = project_imports(original_node, self.state.module, self.state.path)
        called = {c.func.value for c in entry_calls(updated_node, self.imports) if isinstance(c.func, cst.Name)}
        used = {m for name, m in sibling_functions.items() if name in called}
        if used and self.state.migrate is not None and siblings_do_io(sorted(used), self.state.migrate):
            self.entry_callables |= {n for n, m in sibling_functions.items() if m in used}
            self.handler_modules |= {sibling_packages[m] for m in used}
        elif not self.introduced:
            return updated_node
        body = [stmt.visit(RunWiring(self)) for stmt in updated_node.body]
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
            # (`main = Trainer(3).fit()` is one too); importing the handler module also lets the
            # runner find these handlers when the entry point is in another module.
            module = record_need(self.state)
            handlers = "HANDLERS"
            if handlers in self.module_names or self.imports.names.get(handlers, f"{module}.HANDLERS") != f"{module}.HANDLERS":
                handlers = "_dm_HANDLERS"  # the module's own `HANDLERS` is not the package's
                AddImportsVisitor.add_needed_import(self.state.context, module, "HANDLERS", handlers)
            else:
                AddImportsVisitor.add_needed_import(self.state.context, module, "HANDLERS")
            declare = cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name("__doeff_handlers__"))], cst.Name(handlers))],
                leading_lines=[cst.EmptyLine(), cst.EmptyLine()] if isinstance(body[-1], (cst.FunctionDef, cst.ClassDef)) else [],
            )
            body = before_main_block(body, declare)
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
        programs from (a script in `scripts/` running `proj` code)."""
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


def name_bindings(module: cst.Module, name: str) -> int:
    """How many top-level statements of ``module`` bind ``name`` (assignments, defs, imports)."""
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


transform = register(
    Transform(
        __name__,
        phase="io",
        order=60,
        transformer=IoTransformer,
        description="wandb -> metrics effects; torch/numpy/joblib/HTTP calls -> declared effects with generated handlers",
        prefilter=PREFILTER,
        extra_prefilter=extra_prefilter,
    )
)

"""Writes or extends ``<pkg>/effects_handlers.py``: the effects a phase introduced and their ``@handler``s.

One module per package (the directory of the migrated file). For each effect the ``io`` phase introduces it
holds the effect class (a frozen dataclass ``class LoadTorchCheckpoint(EffectBase[Any])``, unless the runtime
already has it, as for ``LogMetrics``) and a typed handler ``def handle_load_torch_checkpoint(effect:
LoadTorchCheckpoint, k)``. Where the original code was a plain call the codemod could move (``torch.load(path)``)
the handler is complete: it performs that call inline, right where the program performed it (a recording
sees the effect's answer and a replay skips the call). Not ``RunInThread``: parking the task there would let
other tasks run in the middle of code that never yielded before (reordered IO, wandb steps given to other
tasks, deadlocks under a ``threading.Lock`` held across the call). Otherwise it is a stub: its body carries :data:`~doeff_migrate.codemod.rules.stubs.STUB_MARKER`
(so the language server reports DM601/DM602) and raises ``NotImplementedError`` naming itself and this file,
which is the error a run gets at the first such effect.

The module also defines ``HANDLERS`` (the handlers, innermost first, as in ``run(program, handlers=[...])``),
``with_effect_handlers(program)`` (what the ``io`` phase installs in scripts), ``call_in_thread(f, *args)`` (what
the ``compute`` phase spawns for thread-pool tasks) and ``recording_handlers()``
(what the ``recording`` phase adds to handler stacks; ``$DOEFF_MIGRATE_RECORD`` / ``$DOEFF_MIGRATE_REPLAY``).
Extending never changes what is already there: existing classes and handlers (implemented or not) are kept,
new ones are appended and added to ``HANDLERS``. Nothing here imports or runs the code it writes.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from .rules.stubs import STUB_MARKER
from .side_effects import MovableCall

__all__ = [
    "HandlerSpec",
    "EffectNeed",
    "HANDLER_MODULE",
    "spec_for_movable",
    "spec_for_metrics",
    "spec_for_client",
    "spec_for_file",
    "specs_for_memo",
    "stub_spec",
    "render_module",
    "extend_module",
    "plan_handler_modules",
    "HandlerModuleChange",
    "handler_module_for",
    "snake",
    "record_need",
    "NEEDS_KEY",
]

HANDLER_MODULE = "effects_handlers"
RECORD_ENV = "DOEFF_MIGRATE_RECORD"
REPLAY_ENV = "DOEFF_MIGRATE_REPLAY"


def snake(name: str) -> str:
    """``LoadTorchCheckpoint`` -> ``load_torch_checkpoint``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class HandlerSpec:
    """One effect and its handler, as text to write."""

    effect: str
    """Effect class name."""
    fields: tuple[tuple[str, str, str | None], ...] = ()
    """``(name, annotation, default expression or None)`` of a declared effect; empty for runtime effects."""
    answer: str = "Any"
    doc: str = ""
    body: tuple[str, ...] | None = None
    """Handler body lines (indented by 4 when written); ``None`` writes a stub."""
    imports: tuple[str, ...] = ()
    """Import lines the handler body needs (``import torch``)."""
    helpers: tuple[str, ...] = ()
    """Module-level helper functions (text) the body calls, named ``_...``."""
    effect_import: str | None = None
    """``from x import Effect`` when the runtime defines the effect (nothing is declared then)."""

    @property
    def handler(self) -> str:
        return f"handle_{snake(self.effect)}"

    @property
    def is_stub(self) -> bool:
        return self.body is None


@dataclass(frozen=True)
class EffectNeed:
    """What a migrated file needs from its package's handler module (``spec`` None: the module only)."""

    directory: str
    """Directory of the package (where ``effects_handlers.py`` goes)."""
    spec: HandlerSpec | None = None


def handler_module_for(path: str, module: str) -> tuple[str, str]:
    """``(directory, dotted module name)`` of the handler module of the package ``path``/``module`` is in."""
    directory = os.path.dirname(os.path.abspath(path))
    package = module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]
    return directory, f"{package}.{HANDLER_MODULE}" if package else HANDLER_MODULE


NEEDS_KEY = "doeff_migrate.effects"
"""``context.scratch`` key of the :class:`EffectNeed` list the engine hands back with the migration result."""


def record_need(state, spec: HandlerSpec | None = None) -> str:
    """Note that the file of ``state`` needs its package's handler module (and ``spec`` in it).

    Returns the dotted name of that module, to import from.
    """
    directory, module = handler_module_for(state.path, state.module)
    needs = state.context.scratch.setdefault(NEEDS_KEY, [])
    need = EffectNeed(directory, spec)
    if need not in needs:
        needs.append(need)
    return module


# -- specs ------------------------------------------------------------------------------------------------------


def spec_for_movable(movable: MovableCall) -> HandlerSpec:
    """The handler of a moved call: complete (it performs the call inline, as the code did), or a
    stub when the call's real implementation is the user's (``movable.stub``: an API client's method)."""
    if movable.params is None:  # any arguments: generic fields
        fields = (("args", "tuple[Any, ...]", "()"), ("kwargs", "Mapping[str, Any]", "field(default_factory=dict)"))
        args, shown = "*effect.args", "*args, **kwargs"
    else:
        fields = (*((p, "Any", None) for p in movable.params), ("options", "Mapping[str, Any]", "field(default_factory=dict)"))
        args, shown = ", ".join([*(f"effect.{p}" for p in movable.params)]), ", ".join([*movable.params, "**options"])
    if movable.stub:
        return HandlerSpec(
            effect=movable.effect,
            fields=fields,
            answer=movable.returns,
            doc=f"``{movable.call}({shown})``, moved out of effectful code by doeff-migrate; its handler is yours to write.",
            body=None,
        )
    module, _, func = movable.call.rpartition(".")
    alias = {"numpy": "np"}.get(module, module)
    imported = f"import {module} as {alias}" if alias != module else f"import {module}"
    extra = "**effect.kwargs" if movable.params is None else "**effect.options"
    return HandlerSpec(
        effect=movable.effect,
        fields=fields,
        answer=movable.returns,
        doc=f"``{movable.call}({shown})``, moved out of effectful code by doeff-migrate.",
        body=(
            "# The original call, inline as before (no other task runs meanwhile); a replay skips it.",
            f"value = {alias}.{func}({', '.join(a for a in (args, extra) if a)})",
            "return (yield Resume(k, value))",
        ),
        imports=(imported,),
    )


_CLIENT_HELPER = (
    "def _client(name):\n"
    "    # The module-level client the migrated code called through, by its dotted name (recordable, unlike the object).\n"
    "    module, _, attribute = name.rpartition(\".\")\n"
    "    main = sys.modules.get(\"__main__\")\n"
    "    if getattr(getattr(main, \"__spec__\", None), \"name\", None) == module:  # run as `python -m`: that module\n"
    "        return getattr(main, attribute)\n"
    "    return getattr(importlib.import_module(module), attribute)\n"
)


def spec_for_client(effect: str, constructor: str, chain: tuple[str, ...]) -> HandlerSpec:
    """A complete handler for a call through a module-level API client (``client.chat.completions.create(...)``):
    the effect names the client (``client="pkg.mod.client"``), so calls through two clients stay apart, and the
    handler makes the same call on that object, inline."""
    method = ".".join(chain)
    return HandlerSpec(
        effect=effect,
        fields=(("client", "str", None), ("args", "tuple[Any, ...]", "()"), ("kwargs", "Mapping[str, Any]", "field(default_factory=dict)")),
        answer="Any",
        doc=f"``<client>.{method}(*args, **kwargs)`` through a module-level ``{constructor}(...)`` named by ``client``, "
            "moved out of effectful code by doeff-migrate.",
        body=(
            "# The original call on the same client object, inline as before; a replay skips it.",
            f"value = _client(effect.client).{method}(*effect.args, **effect.kwargs)",
            "return (yield Resume(k, value))",
        ),
        imports=("import importlib", "import sys"),
        helpers=(_CLIENT_HELPER,),
    )


_METRICS = {
    # The objects go to wandb as the code passed them (wandb.config.update takes Namespaces, absl flags, ...).
    "LogMetrics": (
        "_wandb_log",
        "def _wandb_log(metrics, step, commit):\n"
        "    # commit is None when the call did not give it (wandb's own default), so an explicit True is kept.\n"
        "    wandb.log(metrics, step=step, commit=commit)\n",
        "effect.metrics, effect.step, effect.commit",
    ),
    "LogConfig": ("_wandb_config_update", "def _wandb_config_update(config):\n    wandb.config.update(config)\n", "effect.config"),
    "LogSummary": ("_wandb_summary_update", "def _wandb_summary_update(values):\n    wandb.summary.update(values)\n", "effect.values"),
}


def spec_for_metrics(effect: str) -> HandlerSpec:
    """A complete handler that logs a runtime metrics effect to the global wandb run, as the code did."""
    helper, text, args = _METRICS[effect]
    return HandlerSpec(
        effect=effect,
        answer="None",
        body=(
            "# The original wandb call, unchanged and inline (the run is the one the program's own wandb.init started).",
            f"{helper}({args})",
            "return (yield Resume(k, None))",
        ),
        imports=("import wandb",),
        helpers=(text,),
        effect_import=f"from doeff_migrate.runtime.metrics import {effect}",
    )


# Whole-file reads and writes (``with open(p) as f: x = f.read()`` ...): effect -> (fields, answer, helper).
_OPTIONS = ("options", "Mapping[str, Any]", "field(default_factory=dict)")
_DUMP_OPTIONS = ("dump_options", "Mapping[str, Any]", "field(default_factory=dict)")
_FILE_EFFECTS: dict[str, tuple[tuple, str, str, tuple[str, ...]]] = {
    "ReadText": ((("path", "Any", None), _OPTIONS), "str",
                 'def _read_text(path, options):\n    with open(path, "r", **options) as f:\n        return f.read()\n', ()),
    "ReadBytes": ((("path", "Any", None), _OPTIONS), "bytes",
                  'def _read_bytes(path, options):\n    with open(path, "rb", **options) as f:\n        return f.read()\n', ()),
    "WriteText": ((("path", "Any", None), ("data", "str", None), _OPTIONS), "int",
                  'def _write_text(path, data, options):\n    with open(path, "w", **options) as f:\n        return f.write(data)\n', ()),
    "WriteBytes": ((("path", "Any", None), ("data", "bytes", None), _OPTIONS), "int",
                   'def _write_bytes(path, data, options):\n    with open(path, "wb", **options) as f:\n        return f.write(data)\n', ()),
    "ReadJson": ((("path", "Any", None), _OPTIONS, _DUMP_OPTIONS), "Any",
                 'def _read_json(path, options, dump_options):\n    with open(path, "r", **options) as f:\n'
                 '        return json.load(f, **dump_options)\n', ("import json",)),
    "WriteJson": ((("path", "Any", None), ("obj", "Any", None), _OPTIONS, _DUMP_OPTIONS), "None",
                  'def _write_json(path, obj, options, dump_options):\n    with open(path, "w", **options) as f:\n'
                  '        json.dump(obj, f, **dump_options)\n', ("import json",)),
    "ReadPickle": ((("path", "Any", None), _OPTIONS, _DUMP_OPTIONS), "Any",
                   'def _read_pickle(path, options, dump_options):\n    with open(path, "rb", **options) as f:\n'
                   '        return pickle.load(f, **dump_options)\n', ("import pickle",)),
    "WritePickle": ((("path", "Any", None), ("obj", "Any", None), _OPTIONS, _DUMP_OPTIONS), "None",
                    'def _write_pickle(path, obj, options, dump_options):\n    with open(path, "wb", **options) as f:\n'
                    '        pickle.dump(obj, f, **dump_options)\n', ("import pickle",)),
}


def spec_for_file(effect: str) -> HandlerSpec:
    """A complete handler for a whole-file read or write: the same ``open`` and call, on the thread pool."""
    fields, answer, helper, imports = _FILE_EFFECTS[effect]
    name = _helper_name(helper)
    args = ", ".join(f"effect.{f[0]}" for f in fields)
    return HandlerSpec(
        effect=effect,
        fields=fields,
        answer=answer,
        doc=f"A whole-file {'read' if effect.startswith('Read') else 'write'} (``with open(path) as f: ...``), moved out of effectful code by doeff-migrate.",
        body=(
            "# The original open and read/write, inline as before; a replay skips it.",
            f"value = {name}({args})",
            "return (yield Resume(k, value))",
        ),
        imports=imports,
        helpers=(helper,),
    )


_MEMO_HELPER = (
    "def _memo_store(_store={}):\n"
    "    # One dict for the process, as the functools cache the codemod replaced kept (entries never expire).\n"
    "    return _store\n"
)


def specs_for_memo() -> tuple[HandlerSpec, HandlerSpec]:
    """Complete handlers of the runtime's ``CacheGet``/``CachePut`` backed by one in-process dict: what a
    ``functools.cache`` on a ``@do`` function becomes (a miss raises ``KeyError`` at the ``yield``)."""
    get = HandlerSpec(
        effect="CacheGet",
        answer="Any",
        body=(
            "store = _memo_store()",
            "if effect.key in store:",
            "    return (yield Resume(k, store[effect.key]))",
            "return (yield ResumeThrow(k, KeyError(effect.key)))",
        ),
        imports=("from doeff_migrate.runtime import ResumeThrow",),
        helpers=(_MEMO_HELPER,),
        effect_import="from doeff_migrate.runtime import CacheGet",
    )
    put = HandlerSpec(
        effect="CachePut",
        answer="None",
        body=("_memo_store()[effect.key] = effect.value", "return (yield Resume(k, None))"),
        helpers=(_MEMO_HELPER,),
        effect_import="from doeff_migrate.runtime import CachePut",
    )
    return get, put


def stub_spec(effect: str, fields: Iterable[tuple[str, str]], doc: str = "") -> HandlerSpec:
    """A declared effect whose handler is the user's to write."""
    return HandlerSpec(effect=effect, fields=tuple((n, a, None) for n, a in fields), doc=doc, body=None)


# -- rendering --------------------------------------------------------------------------------------------------

_HEADER = '''"""Handlers of the effects doeff-migrate introduced in this package (generated; edit freely).

Every effect here is answered by the handler below it. A handler whose body carries the marker
`{marker}` is a stub: write it, then delete the marker. ``with_effect_handlers(program)``
installs ``HANDLERS`` (the entry points use it); ``recording_handlers()`` records the run to
``${record}`` or replays ``${replay}`` when set (``python -m doeff_migrate.runtime run ... --record``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from doeff_migrate.runtime import EffectBase, Resume, RunInThread, do, handler
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler
'''

_FOOTER = '''


@do
def call_in_thread(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` on the runtime's thread pool, as a program: what a migrated thread-pool task spawns.

    ``yield Spawn(call_in_thread(f, x))`` runs ``f(x)`` on a thread (as a Ray task under ``RayHandler``: this
    function travels by reference, so Ray workers import it). Migrated Ray tasks spawn ``ray_task(f)(x)``.
    """
    return (yield RunInThread(fn, *args, **kwargs))


HANDLERS = [
{handlers}]
"""The handlers of this module, innermost first (the order of ``run(program, handlers=[...])``)."""


def with_effect_handlers(program):
    """``program`` with ``HANDLERS`` installed around it."""
    for installer in HANDLERS:
        program = installer(program)
    return program


_RECORDINGS: dict = {{}}


def _numbered(path):
    """``path`` the first time, then ``<stem>.1<suffix>``, ``<stem>.2<suffix>``...: one file per recorded stack.

    A script may run several programs (a sweep) or nest a wired stack in another; each gets its own file,
    and a replay, building the stacks in the same order, reads them back in that order.
    """
    n = _RECORDINGS.get(path, 0)
    _RECORDINGS[path] = n + 1
    if n == 0:
        return path
    root, ext = os.path.splitext(path)
    return f"{{root}}.{{n}}{{ext}}"


def recording_handlers():
    """``[RecordingHandler(path)]`` when ``${record}`` is set, ``[ReplayHandler(path)]`` for ``${replay}``, else ``[]``.

    List it first in a handler stack so that it records (or replays) what the handlers after it answer.
    Each call after the first in a process uses the next numbered file (see ``_numbered``).
    """
    record, replay = os.environ.get("{record}"), os.environ.get("{replay}")
    if record and replay:
        raise RuntimeError("set only one of ${record} and ${replay}")
    if record:
        return [RecordingHandler(_numbered(record))]
    if replay:
        return [ReplayHandler(_numbered(replay))]
    return []
'''


def _effect_block(spec: HandlerSpec) -> str:
    if spec.effect_import is not None:
        return ""
    lines = ["", "", "@dataclass(frozen=True)", f"class {spec.effect}(EffectBase[{spec.answer}]):"]
    lines.append(f'    """{spec.doc or spec.effect + " (declared by doeff-migrate)."}"""')
    lines.append("")
    for name, annotation, default in spec.fields:
        lines.append(f"    {name}: {annotation}" + (f" = {default}" if default else ""))
    return "\n".join(lines) + "\n"


def _handler_block(spec: HandlerSpec, module_path: str) -> str:
    lines = ["", "", "@handler", f"def {spec.handler}(effect: {spec.effect}, k):"]
    if spec.body is None:
        where = module_path or f"{HANDLER_MODULE}.py"
        lines.append(f"    {STUB_MARKER}")
        message = (
            f"handler stub `{spec.handler}` for {spec.effect} in {where} is not implemented: write it "
            "(answer with `return (yield Resume(k, value))`), then delete the stub marker"
        )
        # An escaped literal (a JSON string is a Python one): a folder name with quotes or backslashes stays valid Python.
        lines.append(f"    raise NotImplementedError({json.dumps(message, ensure_ascii=False)})")
    else:
        lines += [f"    {line}" for line in spec.body]
    return "\n".join(lines) + "\n"


def _helpers_block(spec: HandlerSpec, seen: set[str] | None = None) -> str:
    """The helpers of ``spec`` not written yet (``seen``: names written so far, updated)."""
    seen = set() if seen is None else seen
    out = ""
    for text in spec.helpers:
        if _helper_name(text) not in seen:
            seen.add(_helper_name(text))
            out += f"\n\n{text}"
    return out


def render_module(specs: Iterable[HandlerSpec], module_path: str = "") -> str:
    """The text of a new handler module for ``specs``."""
    specs = _unique(specs)
    imports = sorted({line for s in specs for line in s.imports} | {s.effect_import for s in specs if s.effect_import})
    text = _HEADER.format(marker=STUB_MARKER, record=RECORD_ENV, replay=REPLAY_ENV)
    if imports:
        text += "\n" + "\n".join(imports) + "\n"
    seen_helpers: set[str] = set()
    for spec in specs:
        text += _helpers_block(spec, seen_helpers) + _effect_block(spec) + _handler_block(spec, module_path)
    handlers = "".join(f"    {s.handler},\n" for s in specs)
    return text + _FOOTER.format(handlers=handlers, record=RECORD_ENV, replay=REPLAY_ENV)


def _unique(specs: Iterable[HandlerSpec]) -> list[HandlerSpec]:
    seen: dict[str, HandlerSpec] = {}
    for spec in specs:
        seen.setdefault(spec.effect, spec)
    return list(seen.values())


def extend_module(existing: str, specs: Iterable[HandlerSpec], module_path: str = "") -> str:
    """``existing`` plus the effects and handlers of ``specs`` it lacks; what it has is kept as it is.

    Raises ``ValueError`` (and changes nothing) when ``existing`` is not valid Python or has no ``HANDLERS`` list.
    """
    try:
        module = cst.parse_module(existing)
    except cst.ParserSyntaxError as exc:
        raise ValueError(f"{module_path or HANDLER_MODULE}: cannot extend it, it is not valid Python ({exc.message}, line {exc.raw_line})") from None
    defined = {s.name.value for s in module.body if isinstance(s, (cst.ClassDef, cst.FunctionDef))}
    missing = [s for s in _unique(specs) if s.handler not in defined]
    if not missing:
        return existing
    handlers_at = _handlers_statement(module)
    if handlers_at is None:
        raise ValueError(f"{module_path or HANDLER_MODULE}: has no `HANDLERS = [...]` list to add handlers to; add one and run again")
    blocks = ""
    seen_helpers = set(defined)
    for spec in missing:
        needs_class = spec.effect_import is None and spec.effect not in defined
        blocks += _helpers_block(spec, seen_helpers)
        blocks += (_effect_block(spec) if needs_class else "") + _handler_block(spec, module_path)
    start = re.search(r"^HANDLERS\s*=\s*\[", existing, re.M)
    if start is None:  # e.g. ``HANDLERS = [  # comment`` spread oddly: refuse rather than guess
        raise ValueError(f"{module_path or HANDLER_MODULE}: cannot find the start of `HANDLERS = [` on its own line")
    head, tail = existing[: start.start()].rstrip("\n") + "\n", existing[start.start():]
    names = [s.handler for s in missing]
    new_imports = [
        line for line in sorted({l for s in missing for l in s.imports} | {s.effect_import for s in missing if s.effect_import})
        if line not in existing.splitlines()
    ]
    if new_imports:
        head = _insert_imports(head, new_imports)
    listed = _handler_names(module)
    text = head + blocks + "\n\n" + _add_to_list(tail, names)
    # The quick text edit keeps the user's layout; a comment or string with `]` in the list (or any layout it
    # misreads) makes it produce something else: then the list is extended through LibCST.
    if _handler_names(_parsed(text)) != [*listed, *names]:
        text = head + blocks + "\n\n" + tail
        parsed = _parsed(text)
        if parsed is None or _handlers_statement(parsed) is None:
            raise ValueError(f"{module_path or HANDLER_MODULE}: cannot extend it without breaking it; add the handlers by hand")
        text = _append_with_libcst(parsed, names)
    if _parsed(text) is None:
        raise ValueError(f"{module_path or HANDLER_MODULE}: cannot extend it without breaking it; add the handlers by hand")
    return text


def _helper_name(text: str) -> str:
    return text.split("(", 1)[0].removeprefix("def ").strip()


def _handlers_statement(module: cst.Module) -> tuple[int, cst.List] | None:
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value == "HANDLERS"
                and isinstance(small.value, cst.List)
            ):
                return i, small.value
    return None


def _add_to_list(tail: str, names: list[str]) -> str:
    match = re.match(r"HANDLERS = \[(?P<items>.*?)\]", tail, re.S)
    if match is None:  # a different layout: let LibCST add the elements
        module = cst.parse_module(tail)
        stmt = module.body[0]
        small = stmt.body[0]  # type: ignore[attr-defined]
        elements = [*small.value.elements, *(cst.Element(cst.Name(n)) for n in names)]
        return module.with_changes(body=[stmt.with_changes(body=[small.with_changes(value=small.value.with_changes(elements=elements))]), *module.body[1:]]).code
    items = match.group("items")
    added = "".join(f"    {n},\n" for n in names)
    if items.strip() and not items.rstrip().endswith(","):
        items = items.rstrip() + ",\n"
    if items and not items.endswith("\n"):
        items += "\n"
    if not items.strip():
        items = "\n"
    return f"HANDLERS = [{items}{added}]" + tail[match.end():]


def _parsed(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError:
        return None


def _handler_names(module: cst.Module | None) -> list[str] | None:
    """The names in the module's ``HANDLERS = [...]`` (``None``: no such list, or not valid Python)."""
    found = _handlers_statement(module) if module is not None else None
    if found is None:
        return None
    return [e.value.value if isinstance(e.value, cst.Name) else cst.Module([]).code_for_node(e.value) for e in found[1].elements]


def _append_with_libcst(module: cst.Module, names: list[str]) -> str:
    index, listed = _handlers_statement(module)  # type: ignore[misc]
    elements = list(listed.elements)
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if elements and not isinstance(elements[-1].comma, cst.Comma):
        elements[-1] = elements[-1].with_changes(comma=comma)
    new = [cst.Element(cst.Name(n), comma=comma) for n in names]
    new[-1] = new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    stmt = module.body[index]
    small = stmt.body[0]  # type: ignore[attr-defined]
    updated = stmt.with_changes(body=[small.with_changes(value=listed.with_changes(elements=[*elements, *new]))])  # type: ignore[attr-defined]
    return module.with_changes(body=[*module.body[:index], updated, *module.body[index + 1:]]).code


def _insert_imports(head: str, lines: list[str]) -> str:
    """Put new import lines after the last top-level import statement of ``head``."""
    parsed = _parsed(head)
    if parsed is not None:
        last = max((i for i, stmt in enumerate(parsed.body) if isinstance(stmt, cst.SimpleStatementLine)
                    and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body)), default=-1)
        added = [cst.parse_statement(f"{line}\n") for line in lines]
        return parsed.with_changes(body=[*parsed.body[: last + 1], *added, *parsed.body[last + 1:]]).code
    rows = head.splitlines(keepends=True)
    last = max((i for i, r in enumerate(rows) if r.startswith(("import ", "from "))), default=-1)
    return "".join(rows[: last + 1]) + "".join(f"{l}\n" for l in lines) + "".join(rows[last + 1 :])


# -- planning the writes ----------------------------------------------------------------------------------------


@dataclass
class HandlerModuleChange:
    path: Path
    old: str | None
    new: str
    error: str | None = None

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                (self.old or "").splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile=f"a/{self.path}" if self.old is not None else "/dev/null",
                tofile=f"b/{self.path}",
            )
        )


def _disk_text(path: str) -> str | None:
    return Path(path).read_text(encoding="utf-8") if os.path.exists(path) else None


def plan_handler_modules(
    needs: Iterable[EffectNeed],
    *,
    read_text: Callable[[str], str | None] = _disk_text,
    root: str | None = None,
) -> list[HandlerModuleChange]:
    """The handler modules to create or extend for ``needs`` (reads existing modules, writes nothing).

    ``read_text(path)`` is a module's current text, None when it does not exist (the language server
    passes the editor's buffers); ``root`` is the directory the module's name in stub messages is
    relative to (default: the working directory). A module that exists but cannot be read or extended
    (not valid Python, no ``HANDLERS``) comes back with ``error`` set and ``new == old``.
    """
    by_directory: dict[str, list[HandlerSpec]] = {}
    for need in needs:
        specs = by_directory.setdefault(need.directory, [])
        if need.spec is not None:
            specs.append(need.spec)
    changes: list[HandlerModuleChange] = []
    for directory, specs in sorted(by_directory.items()):
        path = Path(directory) / f"{HANDLER_MODULE}.py"
        shown = os.path.relpath(path, root) if root else os.path.relpath(path)
        try:
            old = read_text(str(path))
        except (OSError, UnicodeDecodeError) as exc:
            changes.append(HandlerModuleChange(path, None, "", error=f"{shown}: cannot read it: {exc}"))
            continue
        if old is None:
            new = render_module(specs, shown)
        else:
            try:
                new = extend_module(old, specs, shown)
            except ValueError as exc:
                changes.append(HandlerModuleChange(path, old, old, error=str(exc)))
                continue
            if new == old:
                continue
        invalid = _compile_problem(new, str(path))
        if invalid is not None:  # generated output is checked like any rewrite: never written broken
            changes.append(HandlerModuleChange(path, old, old or "", error=f"{shown}: internal error: the generated module would not compile ({invalid})"))
            continue
        changes.append(HandlerModuleChange(path, old, new))
    return changes


def _compile_problem(text: str, path: str) -> str | None:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{exc.msg}, line {exc.lineno}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None


def write_handler_module(change: HandlerModuleChange) -> None:
    """Write ``change`` atomically: extend an existing module only if it is still what was read."""
    from .files import write_planned

    write_planned(change.path, change.old, change.new)

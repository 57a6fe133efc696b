"""Writes or extends ``<pkg>/effects_handlers.py``: the effects a phase introduced and their ``@handler``s.

One module per package (the directory of the migrated file). For each effect the ``io`` phase introduces it
holds the effect class (a frozen dataclass ``class LoadTorchCheckpoint(EffectBase[Any])``, unless the runtime
already has it, as for ``LogMetrics``) and a typed handler ``def handle_load_torch_checkpoint(effect:
LoadTorchCheckpoint, k)``. Where the original code was a plain call the codemod could move (``torch.load(path)``)
the handler is complete: it performs that call with ``yield RunInThread(...)``, so a recording sees it and a
replay skips it. Otherwise it is a stub: its body carries :data:`~doeff_migrate.codemod.rules.stubs.STUB_MARKER`
(so the language server reports DM601/DM602) and raises ``NotImplementedError`` naming itself and this file,
which is the error a run gets at the first such effect.

The module also defines ``HANDLERS`` (the handlers, innermost first, as in ``run(program, handlers=[...])``),
``with_effect_handlers(program)`` (what the ``io`` phase installs in scripts), ``call_in_thread(f, *args)`` (what
the ``compute`` phase spawns) and ``recording_handlers()``
(what the ``recording`` phase adds to handler stacks; ``$DOEFF_MIGRATE_RECORD`` / ``$DOEFF_MIGRATE_REPLAY``).
Extending never changes what is already there: existing classes and handlers (implemented or not) are kept,
new ones are appended and added to ``HANDLERS``. Nothing here imports or runs the code it writes.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
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
    """A complete handler that performs the moved call on the runtime's thread pool."""
    module, _, func = movable.call.rpartition(".")
    alias = {"numpy": "np"}.get(module, module)
    imported = f"import {module} as {alias}" if alias != module else f"import {module}"
    args = ", ".join(f"effect.{p}" for p in movable.params)
    return HandlerSpec(
        effect=movable.effect,
        fields=(*((p, "Any", None) for p in movable.params), ("options", "Mapping[str, Any]", "field(default_factory=dict)")),
        answer=movable.returns,
        doc=f"``{movable.call}({', '.join(movable.params)}, **options)``, moved out of effectful code by doeff-migrate.",
        body=(
            "# The original call, unchanged; RunInThread makes it recordable and lets a replay skip it.",
            f"value = yield RunInThread({alias}.{func}, {args}, **effect.options)",
            "return (yield Resume(k, value))",
        ),
        imports=(imported,),
    )


_METRICS = {
    "LogMetrics": (
        "_wandb_log",
        "def _wandb_log(metrics, step, commit):\n"
        "    # wandb's own default for `commit` is None; LogMetrics says True when the call did not say.\n"
        "    wandb.log(dict(metrics), step=step, commit=None if commit is True else commit)\n",
        "effect.metrics, effect.step, effect.commit",
    ),
    "LogConfig": ("_wandb_config_update", "def _wandb_config_update(config):\n    wandb.config.update(dict(config))\n", "effect.config"),
    "LogSummary": ("_wandb_summary_update", "def _wandb_summary_update(values):\n    wandb.summary.update(dict(values))\n", "effect.values"),
}


def spec_for_metrics(effect: str) -> HandlerSpec:
    """A complete handler that logs a runtime metrics effect to the global wandb run, as the code did."""
    helper, text, args = _METRICS[effect]
    return HandlerSpec(
        effect=effect,
        answer="None",
        body=(
            "# The original wandb call, unchanged (the run is the one the program's own wandb.init started).",
            f"yield RunInThread({helper}, {args})",
            "return (yield Resume(k, None))",
        ),
        imports=("import wandb",),
        helpers=(text,),
        effect_import=f"from doeff_migrate.runtime.metrics import {effect}",
    )


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
    """``fn(*args, **kwargs)`` on the runtime's thread pool, as a program: what a migrated Ray task spawns.

    ``yield Spawn(call_in_thread(f, x), num_gpus=1)`` runs ``f(x)`` on a thread, or as a Ray task with
    its options under ``RayHandler`` (this function travels by reference, so Ray workers import it).
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


def recording_handlers():
    """``[RecordingHandler(path)]`` when ``${record}`` is set, ``[ReplayHandler(path)]`` for ``${replay}``, else ``[]``.

    List it first in a handler stack so that it records (or replays) what the handlers after it answer.
    """
    record, replay = os.environ.get("{record}"), os.environ.get("{replay}")
    if record and replay:
        raise RuntimeError("set only one of ${record} and ${replay}")
    if record:
        return [RecordingHandler(record)]
    if replay:
        return [ReplayHandler(replay)]
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
        lines.append(
            f'    raise NotImplementedError("handler stub `{spec.handler}` for {spec.effect} in {where} is not '
            f'implemented: write it (answer with `return (yield Resume(k, value))`), then delete the stub marker")'
        )
    else:
        lines += [f"    {line}" for line in spec.body]
    return "\n".join(lines) + "\n"


def _helpers_block(spec: HandlerSpec) -> str:
    return "".join(f"\n\n{text}" for text in spec.helpers)


def render_module(specs: Iterable[HandlerSpec], module_path: str = "") -> str:
    """The text of a new handler module for ``specs``."""
    specs = _unique(specs)
    imports = sorted({line for s in specs for line in s.imports} | {s.effect_import for s in specs if s.effect_import})
    text = _HEADER.format(marker=STUB_MARKER, record=RECORD_ENV, replay=REPLAY_ENV)
    if imports:
        text += "\n" + "\n".join(imports) + "\n"
    for spec in specs:
        text += _helpers_block(spec) + _effect_block(spec) + _handler_block(spec, module_path)
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
    for spec in missing:
        needs_class = spec.effect_import is None and spec.effect not in defined
        blocks += _helpers_block(spec) if not any(_helper_name(h) in defined for h in spec.helpers) else ""
        blocks += (_effect_block(spec) if needs_class else "") + _handler_block(spec, module_path)
    start = re.search(r"^HANDLERS\s*=\s*\[", existing, re.M)
    if start is None:  # e.g. ``HANDLERS = [  # comment`` spread oddly: refuse rather than guess
        raise ValueError(f"{module_path or HANDLER_MODULE}: cannot find the start of `HANDLERS = [` on its own line")
    head, tail = existing[: start.start()].rstrip("\n") + "\n", existing[start.start():]
    tail = _add_to_list(tail, [s.handler for s in missing])
    new_imports = [
        line for line in sorted({l for s in missing for l in s.imports} | {s.effect_import for s in missing if s.effect_import})
        if line not in existing.splitlines()
    ]
    if new_imports:
        head = _insert_imports(head, new_imports)
    return head + blocks + "\n\n" + tail


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


def _insert_imports(head: str, lines: list[str]) -> str:
    """Put new import lines after the last top-level import of ``head``."""
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


def plan_handler_modules(needs: Iterable[EffectNeed]) -> list[HandlerModuleChange]:
    """The handler modules to create or extend for ``needs`` (reads existing modules, writes nothing).

    A module that exists but cannot be extended (not valid Python, no ``HANDLERS``) comes back with
    ``error`` set and ``new == old``.
    """
    by_directory: dict[str, list[HandlerSpec]] = {}
    for need in needs:
        specs = by_directory.setdefault(need.directory, [])
        if need.spec is not None:
            specs.append(need.spec)
    changes: list[HandlerModuleChange] = []
    for directory, specs in sorted(by_directory.items()):
        path = Path(directory) / f"{HANDLER_MODULE}.py"
        shown = os.path.relpath(path)
        if path.exists():
            try:
                old = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                changes.append(HandlerModuleChange(path, None, "", error=f"{shown}: cannot read it: {exc}"))
                continue
            try:
                new = extend_module(old, specs, shown)
            except ValueError as exc:
                changes.append(HandlerModuleChange(path, old, old, error=str(exc)))
                continue
            if new != old:
                changes.append(HandlerModuleChange(path, old, new))
        else:
            changes.append(HandlerModuleChange(path, None, render_module(specs, shown)))
    return changes


def write_handler_module(change: HandlerModuleChange) -> None:
    """Write ``change`` atomically: extend an existing module only if it is still what was read."""
    from .files import FileProblem, read_source, write_atomic

    if change.old is not None:
        source = read_source(change.path)
        if source.text != change.old:
            raise FileProblem(f"{change.path}: changed on disk since it was read: not written")
        write_atomic(source, change.new)
        return
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{change.path.name}.", suffix=".doeff-migrate.tmp", dir=change.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(change.new)
        os.chmod(tmp, 0o644)
        if change.path.exists():  # created meanwhile by someone else: keep theirs
            raise FileProblem(f"{change.path}: appeared on disk while migrating: not written")
        os.replace(tmp, change.path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

"""Migrates one module's source: parse, run the enabled transforms in order, fix imports, re-parse.

This is the single place where a file's text becomes new text; the CLI (files, writes, reports) and
the language server (buffers, quick fixes) both call it through :mod:`doeff_migrate.codemod.api`.
Nothing here executes the code it reads: ``compile`` only checks that the output is valid Python.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import MetadataWrapper, PositionProvider

from . import pinjected_names as pn
from .config import rule_selector
from .decisions import ProviderAnalysis
from .errors import MigrationError
from .imports import apply_import_requests
from .index import ProjectIndex
from .parsing import flags_to_first_statement, parse_guarded
from .ranges import restricted
from .scoped_pass import StatementWords, visit_pass
from .state import FileState, FlagRecord
from .transforms import PHASES, all_transforms

__all__ = ["Flag", "MigrationResult", "MigrationError", "migrate_text", "PREFILTER"]

# Files that never mention pinjected are not parsed at all (text pre-filter).
PREFILTER = "pinjected"

SCOPED_PASSES = True
"""Whether a pass visits only the top-level statements its transformer names words for (``scoped_pass``);
``False`` runs every pass over the whole module (the reference the scoped passes are tested against)."""


@dataclass(frozen=True)
class Flag:
    """A construct left as it was; ``line`` is 1-based in the input, ``col`` 0-based (as in LSP)."""

    code: str
    line: int
    col: int
    message: str


@dataclass
class MigrationResult:
    code: str
    changed: bool
    flags: list[Flag] = field(default_factory=list)
    effects: list = field(default_factory=list)
    """What the file needs in its package's generated handler module (``handler_stubs.EffectNeed``)."""
    facts: object = None
    """``ModuleFacts`` of ``code`` when it changed (``ProjectIndex.add_source(facts=)``)."""


def _range_filter(module: cst.Module, only_range: tuple[int, int] | None) -> Callable[[cst.CSTNode], bool]:
    if only_range is None:
        return lambda node: True
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    first, last = only_range

    def in_range(node: cst.CSTNode) -> bool:
        pos = positions.get(node)
        return pos is not None and pos.start.line <= last and pos.end.line >= first

    return in_range


def migrate_text(
    source: str,
    *,
    path: str = "<string>",
    phases: Sequence[str] | None = None,
    target: str = "runtime",
    index: ProjectIndex | None = None,
    only_range: tuple[int, int] | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
) -> MigrationResult:
    """Migrate ``source``; raises :class:`MigrationError` when it is not valid Python."""
    if target not in ("runtime", "doeff"):
        raise ValueError(f"unknown target {target!r} (expected 'runtime' or 'doeff')")
    wanted = tuple(phases or PHASES)
    unknown = [p for p in wanted if p not in PHASES]
    if unknown:
        raise ValueError(f"unknown phase(s) {', '.join(unknown)} (known: {', '.join(PHASES)})")
    # Each transform runs only on files that match its pre-filter (regular expressions); a file no
    # enabled transform cares about is not even parsed.
    transforms = [t for t in all_transforms() if t.phase in wanted and t.wants(source, path)]
    if not transforms:
        return MigrationResult(source, False, [])
    # A module the index already decided (another file asked about its providers) was parsed then.
    module = index.take_tree(path, source) if index is not None else None
    if module is None:
        module = flags_to_first_statement(parse_guarded(source, path, index is not None and index.parsed_as_indexed(path, source)))
    if index is None:
        index = ProjectIndex.from_sources({path: source})
    if index.analysis is None:
        index.analysis = ProviderAnalysis
    facts = index.facts_for(path) or index.add_source(path, source)
    if facts is None:
        # ``ast`` refused what LibCST accepted (e.g. a construct of a newer Python): stay safe.
        raise MigrationError("the file could not be parsed by Python's own parser")
    # The index decides which providers of this module stay pinjected from the same tree (no second parse).
    index.remember_tree(facts.module, source, module)
    if index.parsed_as_indexed(path, source):
        # The index's facts are of this very text: a family they show has nothing to do here is not run.
        transforms = [t for t in transforms if t.needed is None or t.needed(facts)]
    context = CodemodContext(filename=path, full_module_name=facts.module)
    state = FileState(
        path=path,
        module=facts.module,
        index=index,
        facts=facts,
        names=pn.from_cst(module),
        context=context,
        target=target,
        selected=rule_selector(select, ignore),
        in_range=_range_filter(module, only_range),
        source=source,
        migrate=migrate_text,
    )
    if only_range is not None:
        # In the di phase only injected_functions follows the range (state.in_range); the other phases'
        # transformers are wrapped to keep just the range's rewrites (ranges.py).
        transforms = [t for t in transforms if t.phase != "di" or t.name == "injected_functions"]
    tree = module
    # Passes over a range keep LibCST's whole-module visit (the range wrappers decide what they keep).
    scoped = SCOPED_PASSES and only_range is None
    shown = StatementWords(module, source, state.ast_tree()) if scoped else None
    for transform in transforms:
        transformer = transform.transformer
        if only_range is not None and transform.phase != "di":
            transformer = restricted(transformer, transform.phase)
        try:
            tree = visit_pass(tree, transformer(state), shown) if scoped else tree.visit(transformer(state))
        except (RecursionError, MigrationError):
            raise
        except Exception as exc:  # a bug in a transform fails this file only, never the whole run
            raise MigrationError(
                f"internal error in the {transform.name} transform ({type(exc).__name__}: {exc}); nothing was changed"
            ) from exc
    if only_range is not None and state.migrated_instances:
        # The lines' instances and tests get their ``__doeff_requires__`` entries, which the entry-points
        # transform (not run for a range) writes for the whole file.
        from .transforms.entry_points import with_requires

        tree = with_requires(tree, state)
    # Code generation is the most expensive step after parsing: once per top-level statement a pass or the
    # import edits replaced; a parsed statement none replaced is its source text (``StatementWords.texts``).
    codegen = _StatementCode(shown.texts if shown is not None else {})
    code = codegen.code(tree)
    if code != source:
        # Only a file that changes loses its now unused pinjected imports.
        state.drop_pinjected_imports()
        try:
            edited = _strip_new_leading_blank_lines(module, apply_import_requests(tree, context, code))
        except SyntaxError as exc:  # a transform produced broken code: never hand it out
            raise MigrationError(
                f"internal error: the migrated code would not compile ({exc.msg}, line {exc.lineno}); nothing was changed"
            ) from None
        if edited is not tree:
            code = codegen.code(edited)
    new_facts = None
    if code != source:
        try:
            parsed = ast.parse(code, path)
            compile(parsed, path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # a bug in a transform: never hand out broken code
            raise MigrationError(f"internal error: the migrated code would not compile ({exc.msg}, line {exc.lineno}); nothing was changed") from None
        # What the index must know of the file after the run (the CLI's bridge planning), read here: in
        # a worker process, in parallel, from the parse the check above needed anyway.
        new_facts = index.read_facts(path, code, parsed)
    needs = list(context.scratch.get("doeff_migrate.effects", ())) if code != source else []
    return MigrationResult(code, code != source, _locate_flags(source, code, state.flags), needs, new_facts)




class _StatementCode:
    """``Module.code`` assembled from the code of its top-level nodes, remembered by identity (LibCST
    trees are immutable: a statement the import edits kept is the same object with the same code)."""

    def __init__(self, known: dict[int, tuple[cst.CSTNode, str]]) -> None:
        self.known = dict(known)
        """Code by node identity, starting from the source text of the parsed statements no pass replaced."""

    def code(self, module: cst.Module) -> str:
        nodes = (*module.header, *module.body, *module.footer)
        if not module.has_trailing_newline or not nodes:
            return module.code  # (LibCST's own special cases)
        parts = []
        for node in nodes:
            known = self.known.get(id(node))
            if known is None or known[0] is not node:
                known = (node, module.code_for_node(node))
                self.known[id(node)] = known
            parts.append(known[1])
        return "".join(parts)


def _strip_new_leading_blank_lines(before: cst.Module, after: cst.Module) -> cst.Module:
    """Removing a leading import must not leave the file starting with blank lines it never had."""
    if not after.body or after.header or before.header:
        return after
    first = after.body[0]
    if before.body and not before.body[0].leading_lines and first.leading_lines:
        kept = list(first.leading_lines)
        while kept and kept[0].comment is None:
            kept.pop(0)
        return after.with_changes(body=[first.with_changes(leading_lines=kept), *after.body[1:]])
    return after


def _locate_flags(source: str, code: str, records: list[FlagRecord]) -> list[Flag]:
    if not records:
        return []
    out_lines = code.splitlines()
    in_lines = source.splitlines()
    mapping = _line_map(in_lines, out_lines)
    flags: list[Flag] = []
    start_at: dict[str, int] = {}
    for record in records:
        comment = record.comment
        begin = start_at.get(comment, 0)
        found = None
        for i in range(begin, len(out_lines)):
            if out_lines[i].strip() == comment:
                found = i
                break
        if found is None:
            continue
        start_at[comment] = found + 1
        target = found + 1
        while target < len(out_lines) and (out_lines[target].strip().startswith("#") or not out_lines[target].strip()):
            target += 1
        target = min(target, len(out_lines) - 1)
        line = mapping(target)
        text = in_lines[line] if line < len(in_lines) else ""
        flags.append(Flag(record.code, line + 1, len(text) - len(text.lstrip()), record.message))
    return flags


def _line_map(before: list[str], after: list[str]) -> Callable[[int], int]:
    """Maps a 0-based line of ``after`` to the corresponding line of ``before``."""
    opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()

    def to_before(j: int) -> int:
        for tag, i1, i2, j1, j2 in opcodes:
            if j1 <= j < j2:
                if tag == "equal":
                    return i1 + (j - j1)
                return min(i1, max(len(before) - 1, 0))
        return max(len(before) - 1, 0)

    return to_before


"""``doeff-migrate``: rewrite a pinjected codebase in place (typer + rich).

Exit codes: 0 done; 1 ``--check`` found files that would change; 2 usage or configuration error
(including refusing to write files with uncommitted changes); 3 some files failed (the others were
still processed). ``doeff-migrate rules`` lists the rule catalog, ``rules --doc DM101`` shows one rule;
``doeff-migrate verify`` runs entry points before and after the migration (``verify.py``).
"""

from __future__ import annotations

import os
import signal
import sys


def _started_as_the_command() -> bool:
    """This process is ``doeff-migrate`` itself (the console script, or ``python -m doeff_migrate.codemod``)."""
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return os.path.basename(sys.argv[0] if sys.argv else "").removesuffix(".exe") == "doeff-migrate" or (
        getattr(main_spec, "name", None) == "doeff_migrate.codemod.__main__"
    )


def _exit_interrupted(*_signal) -> None:
    """The SIGINT handler while starting: nothing was read or written yet."""
    sys.stderr.write("interrupted: no file was written\n")
    _exit_130()


def _exit_130() -> None:
    """``os._exit``: an interrupt that went through a C extension's own code run during an import marks
    the interpreter to kill itself with SIGINT at exit, whatever exit code is raised afterwards."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


# Ctrl-C while the command's modules load (typer, rich, LibCST: most of a start-up) stops it at once:
# nothing was read or written yet. ``main`` puts Python's own handler back before the run.
if _started_as_the_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _exit_interrupted)

import contextlib
import difflib
import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from .config import ConfigError, load_settings
from .discovery import iter_python_files, project_root_for
from .errors import MigrationError
from .files import FileProblem, ProjectBusy, SourceFile, check_writable, dirty_files, project_lock, read_source, write_atomic
from .rules import all_rules, get_rule
from .transforms import PHASES, any_wants
from .run_checks import invalid_python, outside_their_project, report_problem, unknown_codes
from .rules.bridges import MIGRATED_FUNCTION_USED_AS_OBJECT

# The migration itself (LibCST's codemod machinery, the transforms, bridges and handler modules) is imported
# by the functions that run it: a ``--check`` the cache answers, ``--help`` or a usage error never loads it.

EXIT_OK, EXIT_PENDING, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
rules_app = typer.Typer(add_completion=False, help="List the rule catalog (DM### codes).")
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
out = Console(highlight=False, soft_wrap=True, markup=False)


# Phases whose output runs on the doeff package itself (see the --target check in ``migrate``).
DOEFF_TARGET_PHASES = ("di",)


@dataclass
class Outcome:
    path: str
    status: str  # changed | unchanged | skipped | failed
    flags: list = field(default_factory=list)  # engine.Flag
    error: str | None = None
    new_text: str | None = None
    source: SourceFile | None = None
    effects: list = field(default_factory=list)  # handler_stubs.EffectNeed of the io/recording phases
    facts: object = None  # index facts of new_text, read by the worker (engine.MigrationResult.facts)


@dataclass
class Job:
    phases: tuple[str, ...]
    target: str
    select: tuple[str, ...]
    ignore_for: dict[str, tuple[str, ...]]
    cli_ignore: tuple[str, ...] = ()


_INDEX: ProjectIndex | None = None
_JOB: Job | None = None
_INTERRUPT_REPORTED = False
"""A command said what an interrupt left behind (else typer turned it into exit 130 silently)."""


def _interrupted(message: str) -> typer.Exit:
    """Say what an interrupt left behind; returns the exit to raise (130, not click's "Aborted!" and 1)."""
    global _INTERRUPT_REPORTED
    err.print(message)
    _INTERRUPT_REPORTED = True
    return typer.Exit(130)


def _init_worker(index: ProjectIndex, job: Job) -> None:
    global _INDEX, _JOB
    _INDEX, _JOB = index, job
    _spare_the_collector()


def _spare_the_collector() -> None:
    """Fewer, shorter cyclic garbage collections for a migrating process (a sixth of a migration's CPU time
    went to them): the objects alive once the index is built (the index, modules) live for the whole run,
    so collections stop walking them (``gc.freeze``: they are still freed when no longer referenced); and
    the young generation is collected after 10,000 allocations, not 700 (migrating a file allocates LibCST
    nodes by the hundred thousand, nearly all freed by reference counting)."""
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def migrate_text(source: str, **options):
    """``engine.migrate_text`` (the engine is imported when the first file is migrated)."""
    from .engine import migrate_text as migrate

    return migrate(source, **options)


def process_file(path: str) -> Outcome:
    """Migrate one file in memory (no writes)."""
    assert _INDEX is not None and _JOB is not None
    try:
        source = read_source(Path(path))
    except FileProblem as exc:
        return Outcome(path, "failed", error=str(exc))
    if not any_wants(_JOB.phases, source.text, path):
        return Outcome(path, "skipped")
    try:
        result = migrate_text(
            source.text,
            path=path,
            phases=_JOB.phases,
            target=_JOB.target,
            index=_INDEX,
            select=_JOB.select,
            ignore=_JOB.ignore_for.get(path, ()),
        )
    except MigrationError as exc:
        return Outcome(path, "failed", error=str(exc))
    except RecursionError:
        return Outcome(path, "failed", error="too deeply nested to parse: left unchanged")
    except Exception as exc:  # a bug anywhere in migrating one file fails that file, never the run
        return Outcome(path, "failed", error=f"internal error ({type(exc).__name__}: {exc}): left unchanged")
    status = "changed" if result.changed else "unchanged"
    return Outcome(
        path, status, result.flags, new_text=result.code if result.changed else None, source=source, effects=result.effects,
        facts=result.facts if result.changed else None,
    )


def _wanted(path: str, phases: tuple[str, ...]) -> bool:
    """Whether an enabled transform's pre-filter (``Transform.prefilter``) matches the file."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return True  # let process_file report why it cannot be read
    return any_wants(phases, data, path)


def _run_all(paths: list[str], jobs: int, show_progress: bool) -> list[Outcome]:
    if jobs <= 1 or len(paths) < 2:
        iterator = map(process_file, paths)
        return _with_progress(iterator, len(paths), show_progress)
    from . import engine
    from .workers import run_in_workers

    # The migration machinery is loaded here, before the workers fork (they inherit it), not in every worker.
    engine.all_transforms()

    results = run_in_workers(
        process_file, paths, jobs, initializer=_init_worker, initargs=(_INDEX, _JOB),
        crashed=lambda path, reason: Outcome(path, "failed", error=f"{reason}: left unchanged"),
    )
    return _with_progress(results, len(paths), show_progress)


def _with_progress(iterator, total: int, show: bool) -> list[Outcome]:
    if not show:
        return list(iterator)
    results = []
    with Progress(console=getattr(err, "console", err), transient=True) as progress:
        task = progress.add_task("migrating", total=total)
        for outcome in iterator:
            results.append(outcome)
            progress.advance(task)
    return results


def _diff(outcome: Outcome) -> str:
    assert outcome.source is not None and outcome.new_text is not None
    return "".join(
        difflib.unified_diff(
            outcome.source.text.splitlines(keepends=True),
            outcome.new_text.splitlines(keepends=True),
            fromfile=f"a/{outcome.path}",
            tofile=f"b/{outcome.path}",
        )
    )


def _report(path: Path, outcomes: list[Outcome], counts: dict[str, int]) -> None:
    data = {
        "summary": counts,
        "files": [
            {
                "path": o.path,
                "status": o.status,
                "error": o.error,
                "flags": [asdict(f) for f in o.flags],
                "flags_by_code": _by_code(o.flags),
            }
            for o in outcomes
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _by_code(flags: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in flags:
        counts[f.code] = counts.get(f.code, 0) + 1
    return counts


@app.command(context_settings={"help_option_names": ["-h", "--help"]})
def migrate(
    paths: list[Path] = typer.Argument(..., help="Files or folders to migrate (in place)."),
    phase: Optional[list[str]] = typer.Option(None, "--phase", help=f"Phase to run (repeatable): {', '.join(PHASES)}. Default: all."),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff; write nothing."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if any file would change."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write a JSON report to this file."),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Parallel jobs."),
    target: Optional[str] = typer.Option(None, "--target", help="Import effects from 'runtime' (bundled) or 'doeff'."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Only flag these rule codes/prefixes."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Never flag these rule codes/prefixes."),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Write into files with uncommitted git changes."),
    config: Optional[Path] = typer.Option(None, "--config", help="pyproject.toml to read \\[tool.doeff-migrate] from."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only print errors and the summary."),
    no_cache: bool = typer.Option(False, "--no-cache", help="--check: ignore the cache of earlier checks (.doeff-migrate-cache/)."),
) -> None:
    """Migrate pinjected code under PATHS to doeff-style effects."""
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        err.print(f"error: path does not exist: {', '.join(missing)}")
        raise typer.Exit(EXIT_USAGE)
    outside = outside_their_project(paths)
    if outside:
        err.print(f"error: {'; '.join(outside)}: refusing to migrate files outside the project they are given in")
        raise typer.Exit(EXIT_USAGE)
    # Everything a run could fail on late is checked before a file is written.
    unwritable_report = report_problem(report) if report is not None else None
    if unwritable_report:
        err.print(f"error: --report {report}: {unwritable_report}")
        raise typer.Exit(EXIT_USAGE)
    try:
        settings = load_settings(paths[0], config)
    except ConfigError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    bad_codes = unknown_codes(settings, select, ignore)
    if bad_codes:
        err.print(f"error: {'; '.join(bad_codes)} (run `doeff-migrate rules` for the list)")
        raise typer.Exit(EXIT_USAGE)
    chosen_target = target or settings.target
    if chosen_target not in ("runtime", "doeff"):
        err.print(f"error: --target must be 'runtime' or 'doeff', not {chosen_target!r}")
        raise typer.Exit(EXIT_USAGE)
    phases = tuple(phase or settings.phases or PHASES)
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        err.print(f"error: unknown phase {', '.join(unknown)} (known: {', '.join(PHASES)})")
        raise typer.Exit(EXIT_USAGE)
    if chosen_target == "doeff":
        # The compute/io/recording phases introduce effects answered by the bundled runtime's
        # handlers (RayHandler's Spawn options, call_in_thread, metrics, checkpoints, recording);
        # doeff 0.8.0 has no counterpart, so their output would not run there. Say so instead of writing code that fails at import or at the first effect.
        runtime_only = [p for p in phases if p not in DOEFF_TARGET_PHASES]
        if phase or settings.phases:
            if runtime_only:
                err.print(
                    f"error: phase(s) {', '.join(runtime_only)} need --target runtime: their effects are answered by "
                    f"the bundled runtime's handlers, which doeff has no counterpart of (--target doeff runs: {', '.join(DOEFF_TARGET_PHASES)})"
                )
                raise typer.Exit(EXIT_USAGE)
        else:
            phases = tuple(p for p in phases if p in DOEFF_TARGET_PHASES)
            if not quiet:
                err.print(f"note: --target doeff runs phases {', '.join(phases)} ({', '.join(runtime_only)} need --target runtime)")
    writing = not diff and not check
    roots = sorted({project_root_for(p) for p in paths})
    run = functools.partial(
        _migrate_files, paths, settings, phases, chosen_target, roots, diff=diff, check=check, report=report,
        jobs=jobs, select=select, ignore=ignore, allow_dirty=allow_dirty, quiet=quiet,
    )
    try:
        if check and not diff and report is None and not no_cache:
            _cached_check(run, paths, roots, settings, config, dict(phases=phases, target=chosen_target, select=select, ignore=ignore, quiet=quiet))
        with project_lock(roots) if writing else contextlib.nullcontext():
            run()
    except ProjectBusy as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    except KeyboardInterrupt:  # (click would make it "Aborted!", exit 1: the code of --check finding changes)
        raise _interrupted("interrupted: every file is either as it was or completely migrated")


def _migrate_files(
    paths: list[Path], settings, phases: tuple[str, ...], chosen_target: str, roots: list[Path], *,
    diff: bool, check: bool, report: Path | None, jobs: int, select, ignore, allow_dirty: bool, quiet: bool,
    discovered: tuple[list[str], list[str]] | None = None,
) -> None:
    """The run itself, once the arguments and the configuration are known to be good."""
    global _INDEX, _JOB
    from .bridges import write_bridge_change
    from .handler_stubs import plan_handler_modules, write_handler_module
    from .index import ProjectIndex
    files = discovered[0] if discovered is not None else [str(f) for f in iter_python_files(paths, settings.exclude)]
    # Text pre-filter in this process: files no enabled transform cares about are neither indexed
    # for parsing nor sent to workers, so a run over an already migrated tree costs file reads only.
    candidates = [f for f in files if _wanted(f, phases)]
    # The index covers the whole project the paths belong to (a dependency's kind is a project-wide
    # fact), even when only some of its files are rewritten.
    indexed = discovered[1] if discovered is not None else [*files, *(str(f) for f in iter_python_files(roots, settings.exclude))]
    # Migrating in this process, the transforms read each file's ``ast`` tree the index read (no second parse).
    in_process = jobs <= 1 or len(candidates) < 2
    _INDEX = ProjectIndex.build([Path(f) for f in dict.fromkeys(indexed)], keep_trees=in_process) if candidates else ProjectIndex()
    if _started_as_the_command():  # (not in a test's process, whose objects are not the run's)
        _spare_the_collector()
    _JOB = Job(
        phases=phases,
        target=chosen_target,
        select=tuple(select or settings.select),
        ignore_for={f: tuple([*(ignore or ()), *settings.ignores_for(Path(f))]) for f in files},
        cli_ignore=tuple([*(ignore or ()), *settings.ignore]),
    )
    show_progress = err.is_terminal and len(candidates) >= 50 and not quiet
    try:
        done = {o.path: o for o in _run_all(candidates, jobs, show_progress)}
        outcomes = [done.get(f) or Outcome(f, "skipped") for f in files]
    except KeyboardInterrupt:
        raise _interrupted("interrupted: no file was written")
    writing = not diff and not check
    changed = [o for o in outcomes if o.status == "changed"]
    if writing:
        # A file that cannot be written now (read-only, changed meanwhile) is failed before the bridges
        # and handler modules are planned: they describe only the files really written.
        for o in changed:
            try:
                check_writable(o.source)  # type: ignore[arg-type]
            except FileProblem as exc:
                o.status, o.error, o.new_text = "failed", str(exc), None
        changed = [o for o in changed if o.status == "changed"]
    # The generated handler modules the io/recording/compute phases need (read now, written after the files).
    handler_changes = plan_handler_modules(e for o in changed for e in o.effects)
    broken = {str(hc.path.parent): hc for hc in handler_changes if hc.error is not None}
    for o in changed:  # a file that needs a handler module we cannot extend would import missing names
        blocker = next((broken[e.directory] for e in o.effects if e.directory in broken), None)
        if blocker is not None:
            o.status, o.error = "failed", f"needs {blocker.path}, which cannot be extended: not written"
    changed = [o for o in changed if o.status == "changed"]
    # Pinjected code outside the paths that depends on migrated providers by name keeps resolving
    # through a generated bridge block (codemod/bridges.py); blocks no longer needed are removed.
    bridge_changes = _plan_bridges(outcomes, indexed, chosen_target) if "di" in phases and candidates else []
    if writing and (changed or bridge_changes) and not allow_dirty:
        dirty = dirty_files(
            [Path(o.path) for o in changed]
            + [hc.path for hc in handler_changes if hc.old is not None]
            + [bc.path for bc in bridge_changes if bc.old is not None]
        )
        if dirty:
            err.print("error: refusing to write files with uncommitted changes (commit or stash them, or pass --allow-dirty):")
            for d in dirty:
                err.print(f"  {d}")
            raise typer.Exit(EXIT_USAGE)
    written = 0
    late_failures: list[Outcome] = []
    try:
        for o in outcomes:
            if o.status == "failed":
                err.print(f"{o.path}: error: {o.error}")
                continue
            if o.status != "changed":
                continue
            if diff:
                sys.stdout.write(_diff(o))
            elif writing:
                try:
                    write_atomic(o.source, o.new_text)  # type: ignore[arg-type]
                    written += 1
                except FileProblem as exc:
                    o.status, o.error = "failed", str(exc)
                    err.print(f"{o.path}: error: {exc}")
                    late_failures.append(o)
                    continue
            if not quiet and not diff:
                out.print(f"{'would change' if check else 'migrated'}: {o.path}")
    except KeyboardInterrupt:
        raise _interrupted(f"interrupted: {written} file(s) were written completely, the others are unchanged")
    if late_failures:
        # Written files failed after the checks (a race): the bridges and the handler modules are
        # planned again from the files really written.
        handler_changes = plan_handler_modules(e for o in outcomes if o.status == "changed" for e in o.effects)
        if "di" in phases and writing:
            bridge_changes = _replan_bridges(late_failures, outcomes, indexed, chosen_target)
    for hc in handler_changes:
        if hc.error is not None:
            err.print(f"error: {hc.error}")
            outcomes.append(Outcome(str(hc.path), "failed", error=hc.error))
            continue
        if diff:
            sys.stdout.write(hc.diff())
        elif writing:
            try:
                write_handler_module(hc)
            except (OSError, FileProblem) as exc:
                err.print(f"{hc.path}: error: {exc}")
                outcomes.append(Outcome(str(hc.path), "failed", error=str(exc)))
                continue
        outcomes.append(Outcome(str(hc.path), "changed"))
        if not quiet and not diff:
            out.print(f"{'would change' if check else 'migrated'}: {hc.path}")
    for bc in bridge_changes:
        invalid = invalid_python(bc.new) if bc.new is not None and not bc.flags_only else None
        if invalid:
            message = f"internal error: the generated bridge would not compile ({invalid}): not written"
            err.print(f"{bc.path}: error: {message}")
            outcomes.append(Outcome(str(bc.path), "failed", error=message))
            continue
        if diff:
            sys.stdout.write(bc.diff())
        elif writing:
            try:
                write_bridge_change(bc)
            except (OSError, FileProblem) as exc:
                err.print(f"{bc.path}: error: {exc}")
                outcomes.append(Outcome(str(bc.path), "failed", error=str(exc)))
                continue
        outcomes.append(Outcome(str(bc.path), "changed", flags=_reference_flags(bc.new)))
        if not quiet and not diff:
            out.print(f"{'would change' if check else 'flagged' if bc.flags_only else 'bridge ' + bc.action}: {bc.path}")
    if not quiet:
        for o in outcomes:
            for f in o.flags:
                err.print(f"{o.path}:{f.line}:{f.col + 1}: {f.code} {f.message}")
    counts = {
        "files": len(outcomes),
        "changed": sum(o.status == "changed" for o in outcomes),
        "unchanged": sum(o.status == "unchanged" for o in outcomes),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "flagged": sum(bool(o.flags) for o in outcomes),
        "flags": sum(len(o.flags) for o in outcomes),
    }
    if report is not None:
        try:
            _report(report, outcomes, counts)
        except OSError as exc:  # checked before the run; the disk can still fill up or the folder go
            err.print(f"error: --report {report}: cannot write it: {exc.strerror or exc}")
            counts["failed"] += 1
    verb = "would change" if (check or diff) else "changed"
    err.print(
        f"{counts['files']} file(s): {counts['changed']} {verb}, {counts['unchanged']} unchanged, "
        f"{counts['skipped']} without pinjected, {counts['failed']} failed, "
        f"{counts['flagged']} flagged ({counts['flags']} flag(s))"
    )
    if counts["failed"]:
        raise typer.Exit(EXIT_FAILED)
    if check and counts["changed"]:
        raise typer.Exit(EXIT_PENDING)
    raise typer.Exit(EXIT_OK)


def _cached_check(run, paths: list[Path], roots: list[Path], settings, config: Path | None, options: dict) -> None:
    """``--check`` through the cache (``cache.py``): replays the report of a run with the same inputs, else runs
    (with the files it discovers here) and stores the report. Always ends the command with ``typer.Exit``."""
    global out, err
    from .cache import CheckCache, Recorder, Replay, run_key
    from .config import find_pyproject

    files = [str(f) for f in iter_python_files(paths, settings.exclude)]
    indexed = [*files, *(str(f) for f in iter_python_files(roots, settings.exclude))]
    project = dict.fromkeys(indexed)
    # Configuration the run reads: the settings' file, and the pyproject.toml of every folder (the io phase's
    # side-effect catalogue is per project).
    extra = {p for p in (config, settings.source) if p is not None}
    extra |= {found for folder in {Path(f).parent for f in project} if (found := find_pyproject(folder)) is not None}
    options = {**options, "paths": [os.path.abspath(p) for p in paths], "settings": repr(settings)}
    key = run_key(options, project, sorted(extra))
    cache = CheckCache(roots[0])
    replay = cache.get(key)
    if replay is not None:
        for stream, text in replay.events:
            (out if stream == "out" else err).file.write(text)
        raise typer.Exit(replay.exit_code)
    record = Replay(EXIT_OK)
    consoles = out, err
    out, err = Recorder(out, "out", record.events), Recorder(err, "err", record.events)  # type: ignore[assignment]
    try:
        run(discovered=(files, indexed))
    except typer.Exit as exit_:
        if exit_.exit_code in (EXIT_OK, EXIT_PENDING):
            record.exit_code = exit_.exit_code
            cache.put(key, record)
        raise
    finally:
        out, err = consoles


def _replan_bridges(failed: list[Outcome], outcomes: list[Outcome], project_files: list[str], target: str) -> list:
    """The separate bridge files to write when ``failed`` files could not be written after all: the
    index gets their text on disk back, and the plan is made again from the files really written."""
    from .bridges import BridgeChange

    assert _INDEX is not None
    for o in failed:
        if o.source is not None:
            _INDEX.add_source(o.path, o.source.text)
    written = [o for o in outcomes if o.status == "changed"]
    on_disk = {o.path: o.new_text for o in written}
    changes = _plan_bridges(written, project_files, target)
    for o in written:  # a file written already whose block changed: it is updated like any bridge file
        if o.new_text != on_disk[o.path]:
            changes.append(BridgeChange(Path(o.path), on_disk[o.path], o.new_text))
            o.new_text = on_disk[o.path]
    return changes


def _plan_bridges(outcomes: list[Outcome], project_files: list[str], target: str) -> list:
    """Bridge files to write after this run's rewrites; a file the run rewrites anyway gets the block in its new text."""
    from .bridges import needed_bridges, plan_bridge_files

    assert _INDEX is not None
    texts = {}
    for o in outcomes:
        if o.status == "changed" and o.new_text is not None:
            _INDEX.add_source(o.path, o.new_text, facts=o.facts)  # the index now describes the project after the run
            texts[o.path] = o.new_text
    if target != "runtime":
        # The bridges run programs on the bundled runtime; doeff's programs are not theirs to run.
        needed = needed_bridges(_INDEX)
        if needed:
            keys = ", ".join(sorted([b.key for b in needed.bridges] + list(needed.ambiguous)))
            err.print(
                f"note: pinjected code left depends on migrated providers by name ({keys}); "
                "generated bridges need --target runtime: bind these keys in a design by hand"
            )
        return []
    assert _JOB is not None
    from .config import rule_selector

    flag_references = rule_selector(_JOB.select, _JOB.cli_ignore)(MIGRATED_FUNCTION_USED_AS_OBJECT.code)
    changes = plan_bridge_files(_INDEX, dict.fromkeys(project_files), texts, flag_references=flag_references)
    by_path = {str(Path(o.path).resolve()): o for o in outcomes if o.status == "changed"}
    separate = []
    for change in changes:
        rewritten = by_path.get(str(change.path.resolve()))
        if rewritten is None:
            separate.append(change)
        else:
            rewritten.new_text = change.new or ""
            rewritten.flags = [f for f in rewritten.flags if f.code != MIGRATED_FUNCTION_USED_AS_OBJECT.code] + _reference_flags(change.new)
    return separate


def _reference_flags(text: str | None) -> list:
    """The DM161 flags the bridge step left in ``text`` (pinjected code using migrated functions as objects)."""
    from .bridges import reference_flag_positions
    from .engine import Flag

    return [Flag(MIGRATED_FUNCTION_USED_AS_OBJECT.code, line, col, message) for line, col, message in reference_flag_positions(text or "")]


@rules_app.command(context_settings={"help_option_names": ["-h", "--help"]})
def rules(
    doc: Optional[str] = typer.Option(None, "--doc", help="Show the documentation of one rule code."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the whole catalog as Markdown (docs/rules.md)."),
) -> None:
    """List every rule code, or show one rule's documentation."""
    if markdown:
        parts = ["# doeff-migrate rules", "", "Generated by `doeff-migrate rules --markdown` from the rule catalog.", ""]
        out.print("\n".join(parts + [rule.markdown() for rule in all_rules()]), markup=False)
        return
    if doc is not None:
        try:
            rule = get_rule(doc.upper())
        except KeyError:
            err.print(f"error: unknown rule code {doc!r}; run `doeff-migrate rules` for the list")
            raise typer.Exit(EXIT_USAGE)
        out.print(rule.markdown(), markup=False)
        return
    table = Table("code", "name", "phase", "message")
    for rule in all_rules():
        table.add_row(rule.code, rule.name, rule.phase or "-", rule.message)
    out.print(table)


status_app = typer.Typer(add_completion=False, help="Show how much migration work is left.")


@status_app.command(context_settings={"help_option_names": ["-h", "--help"]})
def status(
    paths: list[Path] = typer.Argument(..., help="Files or folders to report on."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (for CI dashboards)."),
    fail_over: Optional[int] = typer.Option(None, "--fail-over", help="Exit 1 when more than N items are left (a ratchet)."),
    fail_under_share: Optional[float] = typer.Option(
        None, "--fail-under-share", help="Exit 1 when under P percent of the decorated definitions are migrated (a ratchet)."
    ),
) -> None:
    """Migration work left, per package and per phase (parses the code, never runs it)."""
    from .status import status_command

    raise typer.Exit(status_command([str(p) for p in paths], as_json=as_json, fail_over=fail_over, fail_under_share=fail_under_share))


verify_app = typer.Typer(add_completion=False, help="Run entry points before and after the migration and compare.")


@verify_app.command(context_settings={"help_option_names": ["-h", "--help"]})
def verify(
    targets: Optional[list[str]] = typer.Argument(None, help="Entry points pkg.mod.var (default: \\[tool.doeff-migrate] verify)."),
    base: Optional[str] = typer.Option(None, "--base", help="Commit of the original code (default: HEAD if the tree is dirty, else HEAD~1)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds each side may run."),
    jobs: int = typer.Option(1, "-j", "--jobs", help="Entry points verified in parallel."),
    discover: bool = typer.Option(False, "--discover", help="List the module-level entry points; run nothing."),
    allow_pinjected: bool = typer.Option(False, "--allow-pinjected", help="Let the migrated side import pinjected (a partial migration)."),
    overrides: Optional[Path] = typer.Option(None, "--overrides", help="Python file defining a dict `overrides`: bindings replaced on both sides."),
    env: Optional[list[str]] = typer.Option(None, "--env", help="KEY=VALUE set for both sides (repeatable)."),
    cwd_root: bool = typer.Option(False, "--cwd-root", help="Run each side in its project folder, not a fresh temp folder."),
    project: Path = typer.Option(Path("."), "--project", help="Folder the entry points import from."),
) -> None:
    """Prove the migration: each entry point under pinjected (at --base) and on the runtime (working tree)."""
    from .verify import VerifyOptions, verify_command

    pairs = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err.print(f"error: --env expects KEY=VALUE, got {item!r}")
            raise typer.Exit(EXIT_USAGE)
        pairs[key] = value
    options = VerifyOptions(
        targets=list(targets or []), project=project, base=base, timeout=timeout, jobs=jobs,
        allow_pinjected=allow_pinjected, overrides=overrides, env=pairs, cwd_root=cwd_root,
    )
    raise typer.Exit(verify_command(options, as_json=as_json, discover=discover))


_SUBCOMMANDS = {"rules": rules_app, "status": status_app, "verify": verify_app}


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (also usable in-process by tests: ``argv`` given)."""
    if signal.getsignal(signal.SIGINT) is _exit_interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the run's own interrupts say more
    code = _run_command(list(sys.argv[1:] if argv is None else argv))
    if code == 130 and argv is None and _started_as_the_command():
        _exit_130()  # (the run said what it had written)
    return code


def _in_a_command(exc: BaseException) -> bool:
    """The interrupt behind ``exc`` stopped code of this module (a command), not typer parsing the arguments."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt):
            tb = exc.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == __file__:
                    return True
                tb = tb.tb_next
            return False
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _run_command(args: list[str]) -> int:
    global _INTERRUPT_REPORTED
    _INTERRUPT_REPORTED = False
    command = _SUBCOMMANDS.get(args[0], app) if args else app
    if command is not app:
        args = args[1:]
    try:
        command(args=args, prog_name="doeff-migrate", standalone_mode=True)
    except SystemExit as exc:  # click ends every run (usage errors: 2) with SystemExit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
        if code == 130 and not _INTERRUPT_REPORTED:  # typer's own exit for an interrupt (it says nothing)
            err.print("interrupted" if _in_a_command(exc) else "interrupted: no file was written")
        return code
    except KeyboardInterrupt:  # while typer builds the command, before the run (its own interrupts say more)
        err.print("interrupted: no file was written")
        return 130
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

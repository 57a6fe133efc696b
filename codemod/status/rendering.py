"""``status``'s rendering: the report as rich tables when they fit the console, else plain lines (CI logs),
and the verified entry points.
"""

from __future__ import annotations

from typing import Any

from ..decorated import format_share
from .counting import CATEGORIES, PHASES


def _breakdown(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


_LABELS = {"side_effects": "side effects"}
_KEPT_LABEL = "kept (hints)"
"""Column and line label of the side effects the codemod keeps on purpose (not in the total)."""
_PHASES_TITLE = "Per phase (di: pinjected, flags, bridges; compute: ray; io: side effects, stubs)"


def _migrated_cell(bucket: dict[str, Any]) -> str:
    """``"75% (3/4)"``: the share of decorated definitions migrated, and of how many; ``"-"`` for none."""
    migrated, left = bucket["decorated_migrated"], bucket["decorated_left"]
    if migrated + left == 0:
        return "-"
    return f"{format_share(bucket['share_migrated'])} ({migrated}/{migrated + left})"


def _tables(report: dict[str, Any]) -> list[Any]:
    """The wide layout: per package by kind (with the migrated share), by phase, and the details."""
    from rich.markup import escape
    from rich.table import Table

    def cell(n: int) -> str:
        return "[green]0[/green]" if n == 0 else str(n)

    totals = report["totals"]
    rows = [(escape(name), b) for name, b in report["packages"].items()]
    kinds = Table(title="Migration work left, per package", show_footer=True)
    kinds.add_column("package", footer="total", no_wrap=True)
    kinds.add_column("files done", justify="right", footer=f"{totals['files_done']}/{totals['files']}")
    for c in CATEGORIES:
        kinds.add_column(_LABELS.get(c, c), justify="right", footer=str(totals[c]))
    kinds.add_column("total", justify="right", footer=str(totals["total"]))
    kinds.add_column(_KEPT_LABEL, justify="right", footer=str(totals["kept"]))
    kinds.add_column("migrated", justify="right", footer=_migrated_cell(totals), no_wrap=True)
    for name, b in rows:
        counts = (cell(b[c]) for c in CATEGORIES)
        kinds.add_row(name, f"{b['files_done']}/{b['files']}", *counts, cell(b["total"]), str(b["kept"]), _migrated_cell(b))

    phases = Table(title=_PHASES_TITLE, show_footer=True)
    phases.add_column("package", footer="total", no_wrap=True)
    for p in PHASES:
        phases.add_column(p, justify="right", footer=str(totals["phases"].get(p, 0)))
    for name, b in rows:
        phases.add_row(name, *(("[green]done[/green]" if b["phases"].get(p, 0) == 0 else str(b["phases"][p])) for p in PHASES))

    details = Table(title="Details")
    details.add_column("package", no_wrap=True)
    details.add_column("pinjected constructs")
    details.add_column("side effects by category")
    details.add_column("flags by rule")
    details.add_column("bridges")
    details.add_column(_KEPT_LABEL)
    for name, b in rows:
        if b["total"] == 0 and b["kept"] == 0:
            continue
        details.add_row(name, *_details(b))
    return [kinds, phases] + ([details] if details.row_count else [])


def _details(bucket: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """Pinjected constructs, side effects, flags, bridges and kept side effects of one package, each as
    ``name n, ...``."""
    generated = f" ({bucket['bridges_generated']} generated)" if bucket["bridges_generated"] else ""
    return (
        _breakdown(bucket["pinjected_by_rule"]),
        _breakdown(bucket["side_effects_by_category"]),
        _breakdown(bucket["flags_by_code"]),
        _breakdown(bucket["bridges_by_name"]) + generated,
        _breakdown(bucket["kept_by_category"]),
    )


def _render_plain(report: dict[str, Any], console: Any) -> None:
    """The narrow layout (CI logs): one block of ``name value`` lines per package, then the totals."""
    from rich.markup import escape

    def block(title: str, b: dict[str, Any]) -> None:
        console.print(f"[bold]{title}[/bold]")
        console.print(
            f"  files done {b['files_done']}/{b['files']}, left {b['total']}, {_KEPT_LABEL} {b['kept']}, "
            f"migrated {_migrated_cell(b)}"
        )
        console.print("  " + ", ".join(f"{_LABELS.get(c, c)} {b[c]}" for c in CATEGORIES))
        console.print("  phases: " + ", ".join(f"{p} {b['phases'].get(p, 0)}" for p in PHASES))
        if b["total"] or b["kept"]:
            names = ("pinjected constructs", "side effects by category", "flags by rule", "bridges", _KEPT_LABEL)
            for name, text in zip(names, _details(b)):
                if text != "-":
                    console.print(f"  {name}: {escape(text)}")

    console.print("[bold]Migration work left, per package[/bold] (migrated: share of decorated definitions)")
    for name, b in report["packages"].items():
        block(escape(name), b)
    block("total", report["totals"])


def render(report: dict[str, Any], console: Any) -> None:
    """Print the report: rich tables (per package by kind, by phase, the details) when they fit the
    console, else plain lines per package; then the files that do not parse."""
    from rich.markup import escape
    from rich.measure import Measurement

    tables = _tables(report)
    unclamped = console.options.update_width(10**6)
    widths = [Measurement.get(console, unclamped, t) for t in tables]
    # The count tables must fit unwrapped (rich would squeeze their columns to ``…``); the details
    # table wraps its breakdowns, but not inside a word.
    if all(w.maximum <= console.width for w in widths[:2]) and all(w.minimum <= console.width for w in widths[2:]):
        for table in tables:
            console.print(table)
    else:
        _render_plain(report, console)
    for f in report["files"]:
        if f["unparsable"]:
            console.print(f"[red]unparsable[/red] {escape(f['path'])}: {escape(f['unparsable'])}")


def render_verified(verified: dict[str, dict], console: Any) -> None:
    """The entry points verified so far; a hint to run ``verify`` when there are none."""
    from rich.markup import escape
    from rich.table import Table

    if not verified:
        console.print("no entry point verified yet: run doeff-migrate verify pkg.mod.var (before/after proof)")
        return
    table = Table(title="Verified entry points (doeff-migrate verify)")
    for column in ("entry point", "verdict", "commit", "base", "when"):
        table.add_column(column, no_wrap=column in ("entry point", "verdict"))
    colours = {"equal": "green", "different": "red"}
    for target, entry in verified.items():
        verdict = str(entry.get("verdict", "?"))
        colour = colours.get(verdict, "yellow")
        commit = str(entry.get("commit", ""))[:12] + (" + changes" if entry.get("dirty") else "")
        table.add_row(escape(target), f"[{colour}]{escape(verdict)}[/{colour}]", commit, str(entry.get("base", ""))[:12], str(entry.get("at", "")))
    console.print(table)


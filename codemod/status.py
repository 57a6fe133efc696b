"""``doeff-migrate status PATH...``: how much migration work is left, per package and per phase.

For every Python file under the paths (``.gitignore``-aware, as the codemod walks them) it counts:

* **pinjected** — remaining pinjected constructs (``@injected``, ``@instance``, designs, combinators,
  IProxy entry points, ``@injected_pytest``: rules DM150-DM155),
* **side effects** — direct side effects left in effectful (``@do``) code, by category (ray, metrics,
  checkpoints, files, HTTP, ...: rules DM2xx/DM3xx),
* **flags** — ``# doeff-migrate: DM###: ...`` comments the codemod left for a human, by rule code,
* **stubs** — generated handler stubs nobody implemented yet (DM601),
* **bridges** — calls of the runtime's pinjected bridges (``as_injected``, ``as_instance``,
  ``migrated_design``, ``PinjectedEnv``, ``pinjected_env``) still in place,

and files that do not parse. The findings are the language server's (``lsp.analysis.check``); the
files are only read and parsed, never imported or run. ``--json`` prints the same numbers for CI
dashboards; ``--fail-over N`` exits 1 when the total left is over ``N`` (a ratchet: lower ``N`` as
the work goes down).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .discovery import iter_python_files
from .rules import all_rules

EXIT_OK, EXIT_OVER_LIMIT, EXIT_USAGE = 0, 1, 2

CATEGORIES = ("pinjected", "side_effects", "flags", "stubs", "bridges", "unparsable")
"""Kinds of remaining work, in table order; ``total`` is their sum."""

PHASES = ("di", "compute", "io", "recording")

BRIDGE_NAMES = frozenset({"as_injected", "as_instance", "migrated_design", "PinjectedEnv", "pinjected_env"})
"""The runtime's bridge functions (``doeff_migrate.runtime.bridge``): each call is a boundary left."""

_BRIDGE_MODULES = ("doeff_migrate.runtime", "doeff_migrate.runtime.bridge")
_FLAG_COMMENT = re.compile(r"#\s*doeff-migrate:\s*(?P<code>DM\d{3})\b")
_PINJECTED_CODES = frozenset({"DM150", "DM151", "DM152", "DM153", "DM154", "DM155"})
_STUB_CODE = "DM601"


@dataclass
class FileStatus:
    """What is left in one file."""

    path: str
    package: str
    pinjected: Counter = field(default_factory=Counter)
    """construct -> count (the rule name without ``remaining-``, e.g. ``injected-function``)."""
    side_effects: Counter = field(default_factory=Counter)
    """category -> count (e.g. ``metrics-call``)."""
    flags: Counter = field(default_factory=Counter)
    """rule code -> count of ``# doeff-migrate: DM###`` comments."""
    stubs: int = 0
    bridges: Counter = field(default_factory=Counter)
    """bridge name -> count of calls."""
    unparsable: str | None = None
    """The syntax error, when the file does not parse."""
    phase_counts: Counter = field(default_factory=Counter)
    """phase -> remaining items of that phase."""

    def counts(self) -> dict[str, int]:
        return {
            "pinjected": sum(self.pinjected.values()),
            "side_effects": sum(self.side_effects.values()),
            "flags": sum(self.flags.values()),
            "stubs": self.stubs,
            "bridges": sum(self.bridges.values()),
            "unparsable": 1 if self.unparsable else 0,
        }

    @property
    def total(self) -> int:
        return sum(self.counts().values())


def _rule_index() -> dict[str, Any]:
    return {rule.code: rule for rule in all_rules()}


def _side_effect_category(rule: Any) -> str:
    name = rule.name
    return name[len("direct-") :] if name.startswith("direct-") else name


def _flag_comments(source: str) -> list[tuple[int, str]]:
    """(0-based line, code) of every ``# doeff-migrate: DM###`` comment (comments only, not strings)."""
    found = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                match = _FLAG_COMMENT.search(tok.string)
                if match:
                    found.append((tok.start[0] - 1, match.group("code")))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the file does not parse; reported as unparsable
    return found


def _bridge_calls(tree: ast.Module) -> Counter:
    """Calls of the bridge functions, through ``from ... import`` names (and aliases) or module attributes."""
    local_names: dict[str, str] = {}
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _BRIDGE_MODULES:
            for alias in node.names:
                if alias.name in BRIDGE_NAMES:
                    local_names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _BRIDGE_MODULES:
                    module_aliases.add(alias.asname or alias.name)
    found: Counter = Counter()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in local_names:
            found[local_names[func.id]] += 1
        elif isinstance(func, ast.Attribute) and func.attr in BRIDGE_NAMES:
            base = ast.unparse(func.value)
            if base in module_aliases or base in _BRIDGE_MODULES:
                found[func.attr] += 1
    return found


def file_status(
    source: str, path: str, package: str, rules: dict[str, Any] | None = None, config: Any = None
) -> FileStatus:
    """Count what is left in one file's text (parsed, never run).

    ``config`` (an ``lsp.config.Config``) drops the rule codes ``[tool.doeff-migrate]`` ignores for
    this path, from the findings and from the flag comments alike; ``# noqa: DM###`` is honoured.
    """
    from doeff_migrate.lsp.analysis import check
    from doeff_migrate.lsp.config import Config

    rules = rules if rules is not None else _rule_index()
    config = (config or Config()).for_path(path)
    status = FileStatus(path=path, package=package)
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        status.unparsable = f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}" + (f" (line {line})" if line else "")
        status.phase_counts["di"] += 1
        return status

    flag_lines = set()
    for line, code in _flag_comments(source):
        if not config.is_selected(code):
            continue
        status.flags[code] += 1
        flag_lines.add((line, code))
        rule = rules.get(code)
        status.phase_counts[(rule.phase if rule and rule.phase else "di")] += 1

    for finding in check(source, path, config):
        if (finding.range.start_line, finding.code) in flag_lines:
            continue  # the language server reports flag comments too: counted once, as flags
        rule = rules.get(finding.code)
        if rule is None:
            continue
        if finding.code in _PINJECTED_CODES:
            status.pinjected[rule.name.removeprefix("remaining-")] += 1
        elif finding.code == _STUB_CODE:
            status.stubs += 1
        elif finding.code[:3] in ("DM2", "DM3"):
            status.side_effects[_side_effect_category(rule)] += 1
        else:
            continue  # effect-code mistakes (DM5xx) and the rest are editing aids, not migration work
        status.phase_counts[rule.phase or "di"] += 1

    status.bridges = _bridge_calls(tree)
    status.phase_counts["di"] += sum(status.bridges.values())
    return status


def _package_of(file: Path, root: Path) -> str:
    """Dotted package of ``file`` relative to the scanned ``root`` (``root``'s own name at the top)."""
    if root.is_file():
        return root.resolve().parent.name or "."
    parts = file.relative_to(root).parent.parts
    return ".".join(parts) if parts else (root.resolve().name or ".")


def _settings_for(root: Path) -> tuple[Any, list[str]]:
    """The ``[tool.doeff-migrate]`` settings that apply under ``root``: (lsp Config, exclude patterns).

    Raises ``ValueError`` (the codemod's and the language server's config errors) naming the file.
    """
    from doeff_migrate.lsp.config import find_pyproject, load_pyproject_config

    from .config import ConfigError, load_settings

    start = root if root.is_dir() else root.parent
    try:
        excludes = list(load_settings(start).exclude)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return load_pyproject_config(find_pyproject(start.resolve())), excludes


def collect(paths: Iterable[str]) -> list[FileStatus]:
    """Status of every Python file under ``paths``, with the ``[tool.doeff-migrate]`` settings found
    above each path (``exclude``, ``select``/``ignore``, ``per-file-ignores``).

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for an invalid configuration.
    """
    rules = _rule_index()
    out: list[FileStatus] = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise FileNotFoundError(f"no such file or directory: {given}")
        config, excludes = _settings_for(root)
        for file in iter_python_files([root], excludes):
            try:
                source = file.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                status = FileStatus(path=str(file), package=_package_of(file, root), unparsable=f"cannot read: {exc}")
                status.phase_counts["di"] += 1
                out.append(status)
                continue
            out.append(file_status(source, str(file), _package_of(file, root), rules, config))
    return out


def summarize(files: list[FileStatus]) -> dict[str, Any]:
    """The JSON report: totals, per phase, per package (with breakdowns), per file."""

    def empty() -> dict[str, Any]:
        return {
            "files": 0,
            "files_done": 0,
            **{c: 0 for c in CATEGORIES},
            "total": 0,
            "phases": {p: 0 for p in PHASES},
            "pinjected_by_rule": Counter(),
            "side_effects_by_category": Counter(),
            "flags_by_code": Counter(),
            "bridges_by_name": Counter(),
        }

    totals = empty()
    packages: dict[str, dict[str, Any]] = {}
    for f in sorted(files, key=lambda f: (f.package, f.path)):
        for bucket in (totals, packages.setdefault(f.package, empty())):
            bucket["files"] += 1
            bucket["files_done"] += 1 if f.total == 0 else 0
            for category, count in f.counts().items():
                bucket[category] += count
            bucket["total"] += f.total
            for phase, count in f.phase_counts.items():
                bucket["phases"][phase] = bucket["phases"].get(phase, 0) + count
            bucket["pinjected_by_rule"].update(f.pinjected)
            bucket["side_effects_by_category"].update(f.side_effects)
            bucket["flags_by_code"].update(f.flags)
            bucket["bridges_by_name"].update(f.bridges)

    def plain(bucket: dict[str, Any]) -> dict[str, Any]:
        return {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in bucket.items()}

    return {
        "version": 1,
        "totals": plain(totals),
        "packages": {name: plain(bucket) for name, bucket in packages.items()},
        "files": [
            {
                "path": f.path,
                "package": f.package,
                **f.counts(),
                "total": f.total,
                "pinjected_by_rule": dict(sorted(f.pinjected.items())),
                "side_effects_by_category": dict(sorted(f.side_effects.items())),
                "flags_by_code": dict(sorted(f.flags.items())),
                "bridges_by_name": dict(sorted(f.bridges.items())),
                "unparsable": f.unparsable,
            }
            for f in sorted(files, key=lambda f: f.path)
        ],
    }


def _breakdown(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


def render(report: dict[str, Any], console: Any) -> None:
    """Print the report as rich tables: per package by kind, per package by phase, and the details."""
    from rich.table import Table

    def cell(n: int) -> str:
        return "[green]0[/green]" if n == 0 else str(n)

    kinds = Table(title="Migration work left, per package", show_footer=True)
    labels = {"side_effects": "side effects", "unparsable": "unparsable"}
    rows = list(report["packages"].items())
    kinds.add_column("package", footer="total", no_wrap=True)
    kinds.add_column("files done", justify="right", footer=f"{report['totals']['files_done']}/{report['totals']['files']}")
    for c in CATEGORIES:
        kinds.add_column(labels.get(c, c), justify="right", footer=str(report["totals"][c]))
    kinds.add_column("total", justify="right", footer=str(report["totals"]["total"]))
    for name, b in rows:
        kinds.add_row(name, f"{b['files_done']}/{b['files']}", *(cell(b[c]) for c in CATEGORIES), cell(b["total"]))
    console.print(kinds)

    phases = Table(title="Per phase (di: pinjected, flags, bridges; compute: ray; io: side effects, stubs)", show_footer=True)
    phases.add_column("package", footer="total", no_wrap=True)
    for p in PHASES:
        phases.add_column(p, justify="right", footer=str(report["totals"]["phases"].get(p, 0)))
    for name, b in rows:
        phases.add_row(name, *(("[green]done[/green]" if b["phases"].get(p, 0) == 0 else str(b["phases"][p])) for p in PHASES))
    console.print(phases)

    details = Table(title="Details")
    details.add_column("package", no_wrap=True)
    details.add_column("pinjected constructs")
    details.add_column("side effects by category")
    details.add_column("flags by rule")
    details.add_column("bridges")
    for name, b in rows:
        if b["total"] == 0:
            continue
        details.add_row(
            name,
            _breakdown(b["pinjected_by_rule"]),
            _breakdown(b["side_effects_by_category"]),
            _breakdown(b["flags_by_code"]),
            _breakdown(b["bridges_by_name"]),
        )
    if details.row_count:
        console.print(details)
    broken = [f for f in report["files"] if f["unparsable"]]
    for f in broken:
        console.print(f"[red]unparsable[/red] {f['path']}: {f['unparsable']}")


def status_command(paths: list[str], *, as_json: bool, fail_over: int | None) -> int:
    """``doeff-migrate status``: print the report; the exit code is 1 when the total is over ``fail_over``.

    Exit codes: 0 at or under the limit (or no limit), 1 over the limit, 2 a path does not exist,
    the configuration is invalid or ``fail_over`` is negative.
    """
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not paths:
        err.print("error: give at least one path, e.g. doeff-migrate status src/")
        return EXIT_USAGE
    if fail_over is not None and fail_over < 0:
        err.print(f"error: --fail-over must be 0 or more, got {fail_over}")
        return EXIT_USAGE
    try:
        files = collect(paths)
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"error: {exc}")
        return EXIT_USAGE
    report = summarize(files)
    total = report["totals"]["total"]
    over = fail_over is not None and total > fail_over
    if as_json:
        report["fail_over"] = fail_over
        report["over_limit"] = over
        print(json.dumps(report, indent=2))
    else:
        if not files:
            out.print("no Python files found under " + ", ".join(paths))
        else:
            render(report, out)
        if fail_over is not None:
            verdict = "[red]over the limit[/red]" if over else "[green]within the limit[/green]"
            out.print(f"total left: {total} ({verdict} of {fail_over})")
    return EXIT_OVER_LIMIT if over else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m doeff_migrate.codemod.status PATH... [--json] [--fail-over N]`` (same as ``doeff-migrate status``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="doeff-migrate status", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help="files or folders to report on")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for CI dashboards)")
    parser.add_argument("--fail-over", type=int, default=None, metavar="N", help="exit 1 when more than N items are left")
    args = parser.parse_args(argv)
    return status_command(args.paths, as_json=args.json, fail_over=args.fail_over)


if __name__ == "__main__":  # pragma: no cover - exercised through main()
    raise SystemExit(main())


__all__ = ["main", "FileStatus", "file_status", "collect", "summarize", "render", "status_command", "BRIDGE_NAMES", "CATEGORIES", "PHASES"]

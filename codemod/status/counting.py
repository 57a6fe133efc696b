"""``status``'s counting: what is left in each file (parsed, never run), summed per package and per phase
into the report ``--json`` prints and :mod:`.rendering` draws.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..analysis import Config, check
from ..analysis.plan import HINT_CODES
from ..comments import FLAG_COMMENT
from ..decorated import DecoratedCount, decorated_in_module
from ..discovery import iter_python_files
from ..rules import all_rules
from ..rules.remaining import (
    REMAINING_DESIGN,
    REMAINING_INJECTED_COMBINATOR,
    REMAINING_INJECTED_FUNCTION,
    REMAINING_INJECTED_PYTEST,
    REMAINING_INSTANCE_FUNCTION,
    REMAINING_IPROXY_ENTRY_POINT,
)
from ..rules.stubs import UNIMPLEMENTED_HANDLER_STUB

CATEGORIES = ("pinjected", "side_effects", "flags", "stubs", "bridges", "unparsable")
"""Kinds of remaining work, in table order; ``total`` is their sum."""

PHASES = ("di", "compute", "io", "recording")

BRIDGE_NAMES = frozenset({"as_injected", "as_instance", "migrated_design", "PinjectedEnv", "pinjected_env"})
"""The runtime's bridge functions (``doeff_migrate.runtime.bridge``): each call is a boundary left."""

_BRIDGE_MODULES = ("doeff_migrate.runtime", "doeff_migrate.runtime.bridge")
_PINJECTED_CODES = frozenset({REMAINING_INJECTED_FUNCTION.code, REMAINING_INSTANCE_FUNCTION.code, REMAINING_DESIGN.code, REMAINING_INJECTED_COMBINATOR.code, REMAINING_IPROXY_ENTRY_POINT.code, REMAINING_INJECTED_PYTEST.code})
_STUB_CODE = UNIMPLEMENTED_HANDLER_STUB.code


@dataclass
class FileStatus:
    """What is left in one file."""

    path: str
    package: str
    pinjected: Counter = field(default_factory=Counter)
    """construct -> count (the rule name without ``remaining-``, e.g. ``injected-function``)."""
    side_effects: Counter = field(default_factory=Counter)
    """category -> count (e.g. ``metrics-call``)."""
    kept: Counter = field(default_factory=Counter)
    """category -> count of the side effects ``doeff-migrate`` keeps on purpose (e.g. ``print-call``): hints,
    not work left, so not in :meth:`counts` nor :attr:`total`."""
    flags: Counter = field(default_factory=Counter)
    """rule code -> count of ``# doeff-migrate: DM###`` comments."""
    stubs: int = 0
    bridges: Counter = field(default_factory=Counter)
    """bridge name -> count of calls."""
    generated_bridges: int = 0
    """How many of ``bridges`` are in a block the codemod generated (``codemod/bridges.py``)."""
    unparsable: str | None = None
    """The syntax error, when the file does not parse."""
    phase_counts: Counter = field(default_factory=Counter)
    """phase -> remaining items of that phase."""
    decorated: DecoratedCount = DecoratedCount()
    """The pinjected-decorated definitions left and the migrated ones (the migrated share)."""

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
                match = FLAG_COMMENT.search(tok.string)
                if match:
                    found.append((tok.start[0] - 1, match.group("code")))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the file does not parse; reported as unparsable
    return found


def _bridge_calls(tree: ast.Module, lines: tuple[int, int] | None = None) -> Counter:
    """Calls of the bridge functions, through ``from ... import`` names (and aliases) or module attributes.

    ``lines`` (1-based, end exclusive) counts only the calls that start in that range.
    """
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
        if lines is not None and not lines[0] <= node.lineno < lines[1]:
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

    ``config`` (an ``analysis.Config``) drops the rule codes ``[tool.doeff-migrate]`` ignores for
    this path, from the findings and from the flag comments alike; ``# noqa: DM###`` is honoured.
    """
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
    except (RecursionError, MemoryError):
        status.unparsable = "too deeply nested to parse"
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
        elif finding.code in HINT_CODES:
            status.kept[_side_effect_category(rule)] += 1
            continue  # the editor's hint: the migrated program runs it as the original did
        elif finding.code[:3] in ("DM2", "DM3"):
            status.side_effects[_side_effect_category(rule)] += 1
        else:
            continue  # effect-code mistakes (DM5xx) and the rest are editing aids, not migration work
        status.phase_counts[rule.phase or "di"] += 1

    status.decorated = decorated_in_module(tree, path)
    status.bridges = _bridge_calls(tree)
    if status.bridges:
        from ..bridges import block_span

        span = block_span(source)
        if span is not None:
            status.generated_bridges = sum(_bridge_calls(tree, (span[0] + 1, span[1] + 1)).values())
    status.phase_counts["di"] += sum(status.bridges.values())
    return status


def _package_of(file: Path, root: Path) -> str:
    """Dotted package of ``file`` relative to the scanned ``root`` (``root``'s own name at the top)."""
    if root.is_file():
        return root.resolve().parent.name or "."
    parts = file.relative_to(root).parent.parts
    return ".".join(parts) if parts else (root.resolve().name or ".")


def _settings_for(root: Path) -> tuple[Config, list[str]]:
    """The ``[tool.doeff-migrate]`` settings that apply under ``root``: (analysis Config, exclude patterns).

    Raises ``ValueError`` (``analysis.ConfigError``) naming the file.
    """
    from ..analysis.settings import find_pyproject, load_pyproject_config

    start = root if root.is_dir() else root.parent
    config = load_pyproject_config(find_pyproject(start.resolve()))
    return config, list(config.cli.exclude)


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


def decorated_total(files: Iterable[FileStatus]) -> DecoratedCount:
    """The decorated definitions left and migrated in all of ``files``."""
    return sum((f.decorated for f in files), DecoratedCount())


def count_decorated(paths: Iterable[str]) -> DecoratedCount:
    """The pinjected-decorated definitions left under ``paths`` and the migrated ones, over the files
    ``status`` reports on: the count behind the migrated share of ``status`` and of
    ``benchmarks/bench_pypi.py``. Raises as :func:`collect` does."""
    return decorated_total(collect(paths))


def _share_fields(count: DecoratedCount) -> dict[str, Any]:
    share = count.share
    return {
        "decorated_left": len(count.left),
        "decorated_migrated": len(count.migrated),
        "share_migrated": None if share is None else round(share, 4),
    }


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
            "kept": 0,
            "kept_by_category": Counter(),
            "flags_by_code": Counter(),
            "bridges_by_name": Counter(),
            "bridges_generated": 0,
            "decorated": DecoratedCount(),
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
            bucket["kept"] += sum(f.kept.values())
            bucket["kept_by_category"].update(f.kept)
            bucket["flags_by_code"].update(f.flags)
            bucket["bridges_by_name"].update(f.bridges)
            bucket["bridges_generated"] += f.generated_bridges
            bucket["decorated"] += f.decorated

    def plain(bucket: dict[str, Any]) -> dict[str, Any]:
        out = {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in bucket.items() if k != "decorated"}
        return {**out, **_share_fields(bucket["decorated"])}

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
                "kept": sum(f.kept.values()),
                "kept_by_category": dict(sorted(f.kept.items())),
                "flags_by_code": dict(sorted(f.flags.items())),
                "bridges_by_name": dict(sorted(f.bridges.items())),
                "bridges_generated": f.generated_bridges,
                **_share_fields(f.decorated),
                "unparsable": f.unparsable,
            }
            for f in sorted(files, key=lambda f: f.path)
        ],
    }


def verified_entry_points(paths: list[str]) -> dict[str, dict]:
    """The verdicts ``doeff-migrate verify`` recorded in the nearest ``.doeff-migrate/verified.json``
    at or above each path (entry point -> verdict, commit, base, when)."""
    from ..verified import find_record, read_record

    found: dict[str, dict] = {}
    for given in paths:
        record = find_record(Path(given))
        if record is not None:
            found.update(read_record(record))
    return dict(sorted(found.items()))


"""One analysis of a module's text, shared by ``doeff-migrate status``, the language server and the tests.

``analyze(source, path, config, project) -> Analysis`` parses with :mod:`ast` (never running the code) and
runs the rule families, one module each:

* ``remaining``: DM15x pinjected constructs left (``rules/remaining.py``),
* ``side_effects``: DM2xx/DM3xx side effects in ``@do`` functions (``rules/side_effects/``),
* ``effect_code``: DM50x mistakes in effect code (``rules/effect_code.py``),
* ``stubs``: DM60x handler stubs (``rules/stubs.py``),
* ``flags``: ``# doeff-migrate: DM###`` comments the codemod left.

They share the module reader (``module``: the import table, functions, bodies) and the project's facts
(``facts``: bound keys, effects, handlers, ``@do`` functions by module). What ``doeff-migrate`` itself
would do with the file (migrate, flag, leave) is its plan (``plan``), which :func:`decided` folds into
the findings. Findings are filtered by the configuration (``settings``) and ``# noqa`` as the CLI reads it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from doeff_migrate.codemod.comments import noqa_suppresses

from .effect_code import EffectCodeChecks
from .facts import FileFacts, HandlerInfo, ProjectFacts
from .findings import CONVERT_TITLE, SEVERITY, Edit, Finding, Fix, Range
from .flags import FlagChecks
from .remaining import RemainingChecks
from .settings import Config, ConfigError
from .side_effects import SideEffectChecks
from .stubs import StubChecks
from ..rules.tool import SYNTAX_ERROR

__all__ = [
    "Range", "Edit", "Fix", "Finding", "Analysis", "analyze", "check", "SEVERITY", "CONVERT_TITLE",
    "Config", "ConfigError", "FileFacts", "HandlerInfo", "ProjectFacts",
]


@dataclass
class Analysis:
    findings: list[Finding]
    facts: FileFacts | None
    """None when the source did not parse."""
    syntax_error: Finding | None = None
    checker: Checker | None = field(default=None, repr=False, compare=False)
    """The module reader behind the findings (``incremental`` re-checks one function with it)."""
    raw: list[Finding] = field(default_factory=list, repr=False, compare=False)
    """Every finding before select/ignore and ``# noqa``."""


class Checker(RemainingChecks, SideEffectChecks, EffectCodeChecks, StubChecks, FlagChecks):
    """Every rule family over one module reader: one pre-pass, then one walk per function."""

    def run(self) -> list[Finding]:
        self._collect_module()
        self.helpers = self._helper_side_effects()
        self.check_functions(self.all_functions)
        self._check_module_level()
        self._flag_comments()
        return self.findings

    def check_functions(self, functions) -> None:
        for fn in functions:
            info = self._classify(fn)
            if info.kind == "do":
                self._check_do_function(info, self.helpers)
            elif info.kind == "handler":
                self._check_handler(fn)
            else:
                self._check_discarded_programs(fn, in_generator=False)


def check(source: str, path: str, config: Config | None = None, project: ProjectFacts | None = None) -> list[Finding]:
    """Findings for one file's text, filtered by ``config`` (select/ignore) and ``# noqa`` comments."""
    return analyze(source, path, config, project).findings


def analyze(source: str, path: str, config: Config | None = None, project: ProjectFacts | None = None) -> Analysis:
    """:func:`check` plus the file's facts for the project (bound keys, effects, handlers)."""
    config = config or Config()
    if not config.enable:
        return Analysis([], None)
    lines = source.splitlines()
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        finding = _syntax_finding(exc, source)
        return Analysis([finding] if config.is_selected(finding.code) else [], None, syntax_error=finding)
    except (RecursionError, MemoryError):
        return _too_nested(source, config)
    checker = Checker(tree, lines, path, config, project)
    try:
        findings = checker.run()
    except RecursionError:
        return _too_nested(source, config)
    return Analysis(selected(findings, lines, config), checker.facts, checker=checker, raw=findings)


def selected(findings: list[Finding], lines: list[str], config: Config, memo: dict | None = None) -> list[Finding]:
    """``findings`` the configuration selects and no ``# noqa`` suppresses, in source order.

    ``memo``: the verdicts of the last call with the same ``config``, by finding (its identity), for a caller
    that knows the lines around a finding it passes again are unchanged (``incremental``); refilled here."""
    if memo is None:
        kept = [f for f in findings if config.is_selected(f.code) and not suppressed(f, lines)]
    else:
        previous = dict(memo)
        memo.clear()
        kept = []
        for f in findings:
            known = previous.get(id(f))
            keep = known[1] if known is not None and known[0] is f else config.is_selected(f.code) and not suppressed(f, lines)
            memo[id(f)] = (f, keep)
            if keep:
                kept.append(f)
    kept.sort(key=lambda f: (f.range.start_line, f.range.start_col, f.code))
    return kept


def suppressed(finding: Finding, lines: list[str]) -> bool:
    """``# noqa`` on the finding's first or last line, or on comment lines right above it (as the CLI reads
    the comments of the statement, including its leading comment lines). The comment is read as the codemod
    reads it (``comments.noqa_suppresses``): a bare ``# noqa`` or one naming the finding's code;
    ``# noqa: E501`` keeps DM findings."""
    candidates = {finding.range.start_line, finding.range.end_line}
    above = finding.range.start_line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        candidates.add(above)
        above -= 1
    return any(
        0 <= line < len(lines) and "noqa" in lines[line].lower() and noqa_suppresses(lines[line], finding.code)
        for line in candidates
    )


def _too_nested(source: str, config: Config) -> Analysis:
    """Code nested so deeply that Python's parser (or the checker's walk) gives up: reported like a syntax error."""
    finding = _syntax_finding(Exception("nested too deeply to analyse"), source)
    return Analysis([finding] if config.is_selected(finding.code) else [], None, syntax_error=finding)


def _syntax_finding(exc: Exception, source: str) -> Finding:
    lines = source.splitlines() or [""]
    line = max((getattr(exc, "lineno", None) or 1) - 1, 0)
    line = min(line, len(lines) - 1)
    col = max((getattr(exc, "offset", None) or 1) - 1, 0)
    col = min(col, len(lines[line]))
    message = getattr(exc, "msg", None) or str(exc)
    return Finding(
        SYNTAX_ERROR.code,
        f"Syntax error: {message} (other diagnostics are kept from the last version that parsed)",
        Range(line, col, line, max(len(lines[line]), col)),
    )

"""The rule catalog shared by the codemod, the language server and ``doeff-migrate rules``.

Every rule has a stable code ``DM###`` and documentation in ruff's shape (what it does, why, example,
use instead, fix safety). The same text serves the CLI, hover in the editor and the docs.

Code ranges:
  DM0xx  the tool itself (unparsable input, ...)
  DM1xx  phase ``di``: remaining pinjected constructs and what cannot be migrated mechanically
  DM2xx  phase ``compute``: ray / executors
  DM3xx  phase ``io``: metrics, checkpoints, files, HTTP, caches (direct side effects)
  DM4xx  phase ``recording``
  DM5xx  mistakes in effect code (language server)
  DM6xx  generated handler stubs

Rules are declared in the sibling modules, one per family, with :func:`register`; a phase with several
families is a package (``di``, ``phases``, ``side_effects``) whose ``__init__`` imports its modules and
re-exports their constants. They are found automatically, so no list is kept by hand. Each rule carries its
own cases, as Fixit's rules do: ``valid`` sources it must not fire on and ``invalid`` ones it fires on (at a
given line); ``tests/codemod/test_rule_cases.py`` runs them through every surface that reports the rule
(``reported_by``). Texts several families share are in ``common``, case sources several rules share in ``cases``.
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from dataclasses import dataclass

__all__ = ["Rule", "Valid", "Invalid", "CODEMOD", "EDITOR", "register", "all_rules", "get_rule"]

CODEMOD = "codemod"
"""Surface: ``doeff-migrate`` writes the rule's ``# doeff-migrate: DM###`` comment above the construct (which
``status`` counts and the editor shows)."""
EDITOR = "editor"
"""Surface: the language server reports the rule on the source as it is."""


@dataclass(frozen=True)
class Valid:
    """A source the rule does not fire on: ``source`` is the file at ``path`` (dedented; a first newline is
    dropped), ``files`` the other files of its project (``(path, source)`` pairs) and ``pyproject`` the
    project's ``pyproject.toml``, when the case needs them."""

    source: str
    path: str = "example.py"
    files: tuple[tuple[str, str], ...] = ()
    pyproject: str = ""
    migrated: tuple[str, ...] = ()
    """The files the ``doeff-migrate`` run is given, when the case is a partly migrated project (the flag lands
    in ``path``, which the run does not migrate); empty: the run migrates ``path`` with the whole project."""
    surface: str = ""
    """The one surface the case is for, when the rule's surfaces judge it differently (the codemod rewrites a
    call the editor reports before migration); empty: every surface of the rule."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _dedented(self.source))
        object.__setattr__(self, "files", tuple((p, _dedented(s)) for p, s in self.files))
        object.__setattr__(self, "pyproject", _dedented(self.pyproject))


@dataclass(frozen=True)
class Invalid(Valid):
    """A source the rule fires on, at 1-based ``line`` of ``source`` (for a codemod flag: the first line of the
    statement the comment is written above; 0 when the flag is in code the run writes, a bridge block)."""

    line: int = 1


TARGET_DOEFF = '[tool.doeff-migrate]\ntarget = "doeff"\n'
"""The ``pyproject`` of a case that holds under ``--target doeff`` only."""


def _dedented(source: str) -> str:
    return textwrap.dedent(source[1:] if source.startswith("\n") else source)


@dataclass(frozen=True)
class Rule:
    code: str
    """Stable code, e.g. ``DM101``."""
    name: str
    """Kebab-case name of the flagged pattern, so that "allow <name>" reads well."""
    message: str
    """One-line message used in flag comments and diagnostics."""
    what: str
    why: str
    example: str
    use_instead: str = ""
    fix_safety: str = ""
    phase: str | None = None
    fix: str = ""
    """How a finding is fixed: ``"migrate"`` (a codemod phase rewrites the construct: the CLI, or the editor's
    quick fix on its lines), ``"edit"`` (the editor's quick fix edits the code); empty when nothing fixes it."""
    reported_by: tuple[str, ...] = (CODEMOD,)
    """The surfaces that report the rule (:data:`CODEMOD`, :data:`EDITOR`)."""
    valid: tuple[Valid, ...] = ()
    invalid: tuple[Invalid, ...] = ()

    @property
    def fixable(self) -> bool:
        return bool(self.fix)

    def markdown(self) -> str:
        """The rule's documentation as Markdown (CLI ``rules --doc``, hover, docs)."""
        parts = [f"## {self.code} `{self.name}`", "", f"**{self.message}**", ""]
        if self.phase:
            parts += [f"Phase: `{self.phase}`" + (" (auto-fixable)" if self.fixable else ""), ""]
        parts += ["### What it does", self.what.strip(), "", "### Why is this bad?", self.why.strip(), ""]
        parts += ["### Example", "```python", self.example.strip("\n"), "```", ""]
        if self.use_instead:
            parts += ["Use instead:", "```python", self.use_instead.strip("\n"), "```", ""]
        if self.fix_safety:
            parts += ["### Fix safety", self.fix_safety.strip(), ""]
        return "\n".join(parts)


_RULES: dict[str, Rule] = {}
_loaded = False


def register(rule: Rule) -> Rule:
    existing = _RULES.get(rule.code)
    if existing is not None and existing != rule:
        raise ValueError(f"rule code {rule.code} registered twice ({existing.name}, {rule.name})")
    _RULES[rule.code] = rule
    return rule


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def all_rules() -> list[Rule]:
    _load()
    return [_RULES[c] for c in sorted(_RULES)]


def get_rule(code: str) -> Rule:
    _load()
    try:
        return _RULES[code]
    except KeyError:
        raise KeyError(f"unknown rule code {code!r}") from None

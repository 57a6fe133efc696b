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

Rules are declared in the sibling modules (one per family) with :func:`register`; they are found
automatically, so no list is kept by hand.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

__all__ = ["Rule", "register", "all_rules", "get_rule"]


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
    fixable: bool = False

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

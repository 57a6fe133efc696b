"""``# doeff-migrate: DM###: ...`` comments the codemod left in a module, reported where they are."""

from __future__ import annotations

from doeff_migrate.codemod.comments import FLAG_COMMENT

from .findings import Range
from .module import ModuleReader

__all__ = ["FlagChecks"]


class FlagChecks(ModuleReader):
    # -- flag comments left by the codemod ---------------------------------------------------------------------
    def _flag_comments(self, first: int = 0, last: int | None = None) -> None:
        """Flag comments on lines ``first`` to ``last`` (0-based, inclusive; default: the whole module)."""
        from doeff_migrate.codemod.rules import all_rules

        known = {r.code for r in all_rules()}
        stop = len(self.lines) if last is None else min(last + 1, len(self.lines))
        for number in range(first, stop):
            line = self.lines[number]
            if "doeff-migrate:" not in line:
                continue
            match = FLAG_COMMENT.search(line)
            if match is None or match.group("code") not in known:
                continue
            start = match.start()
            text = line[match.end() :].lstrip(" :").strip()
            self.add(match.group("code"), text or "flagged by doeff-migrate", Range(number, start, number, len(line)))



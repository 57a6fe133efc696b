"""``# doeff-migrate: DM###: ...`` comments the codemod left in a module, reported where they are."""

from __future__ import annotations

from doeff_migrate.codemod.comments import FLAG_COMMENT

from .findings import Range
from .module import ModuleReader

__all__ = ["FlagChecks"]


class FlagChecks(ModuleReader):
    # -- flag comments left by the codemod ---------------------------------------------------------------------
    def _flag_comments(self) -> None:
        from doeff_migrate.codemod.rules import all_rules

        known = {r.code for r in all_rules()}
        for number, line in enumerate(self.lines):
            if "doeff-migrate:" not in line:
                continue
            match = FLAG_COMMENT.search(line)
            if match is None or match.group("code") not in known:
                continue
            start = match.start()
            text = line[match.end() :].lstrip(" :").strip()
            self.add(match.group("code"), text or "flagged by doeff-migrate", Range(number, start, number, len(line)))



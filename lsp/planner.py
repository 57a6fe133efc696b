"""The codemod's side of the language server: its project index, its plan of each open file, and the
"Migrate" edits, all on one worker thread (the codemod's index is not shared between threads).

The event loop never runs the codemod: it submits work here and awaits the future, so a ``didChange``
arriving meanwhile gets its diagnostics at once. Plans are keyed by the document's text: an edit makes
the next plan; a plan whose text was replaced meanwhile is dropped by the server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from doeff_migrate.codemod.analysis.migration import Migration, migrate_in_editor
from doeff_migrate.codemod.analysis.plan import FilePlan, plan_file
from doeff_migrate.codemod.config import Settings

__all__ = ["Planner"]

log = logging.getLogger(__name__)


class Planner:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="doeff-migrate-codemod")
        self._index = None
        self._files: list[str] = []
        self._texts: dict[str, str] = {}
        """Text the index holds for each path it was given by the editor (else it read the file)."""
        self._plans: dict[tuple[str, str], FilePlan] = {}

    # -- on the worker thread --------------------------------------------------------------------------------
    def _ensure_index(self):
        if self._index is None:
            from doeff_migrate.codemod.index import ProjectIndex

            self._index = ProjectIndex.build([Path(f) for f in self._files]) if self._files else ProjectIndex()
        return self._index

    def _sync(self, path: str, source: str):
        index = self._ensure_index()
        if self._texts.get(path) != source:
            index.add_source(path, source)
            self._texts[path] = source
        return index

    def _plan(self, path: str, source: str, settings: Settings) -> FilePlan:
        key = (path, source)
        plan = self._plans.get(key)
        if plan is None:
            plan = plan_file(source, path, index=self._sync(path, source), settings=settings)
            self._plans = {k: v for k, v in self._plans.items() if k[0] != path}  # one text per file kept
            self._plans[key] = plan
        return plan

    def _migrate(self, path, source, settings, lines, read_text, root) -> Migration | None:
        plan = self._plan(path, source, settings)
        return migrate_in_editor(
            source, path, index=self._sync(path, source), settings=settings, plan=plan, lines=lines,
            project_files=self._files, read_text=read_text, root=root,
        )

    # -- from the event loop ---------------------------------------------------------------------------------
    def set_project(self, list_files: Callable[[], list[str]], after: threading.Event | None = None) -> None:
        """The project's Python files (as ``doeff-migrate`` walks them, listed by ``list_files``): listed and
        indexed next on the worker, before any plan asked for later; once ``after`` is set, when given (the
        server's own scan goes first rather than sharing the interpreter with this build)."""

        def reset() -> None:
            if after is not None:
                after.wait()
            try:
                self._files, self._index, self._texts, self._plans = list_files(), None, {}, {}
                self._ensure_index()
            except Exception:  # noqa: BLE001 - plans then use what the index holds; the server stays up
                log.exception("building the codemod's project index failed")

        self._executor.submit(reset)

    def cached_plan(self, path: str, source: str) -> FilePlan | None:
        return self._plans.get((path, source))

    async def plan(self, path: str, source: str, settings: Settings) -> FilePlan:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._plan, path, source, settings)

    async def migrate(
        self, path: str, source: str, settings: Settings, lines: tuple[int, int] | None,
        read_text: Callable[[str], str | None], root: str | None,
    ) -> Migration | None:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._migrate, path, source, settings, lines, read_text, root
        )

    def forget(self, paths: list[str]) -> None:
        """Files changed on disk: the index reads them again, and every plan is made again (a file's plan
        depends on the others')."""

        def reread() -> None:
            self._plans = {}
            for path in paths:
                self._texts.pop(path, None)
                if self._index is not None:
                    try:
                        self._index.add_source(path, Path(path).read_text(encoding="utf-8"))
                    except (OSError, UnicodeDecodeError):
                        pass

        self._executor.submit(reread)

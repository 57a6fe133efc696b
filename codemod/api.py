"""Plain-function API of the codemod, for the language server and scripts.

``migrate_source(source, path=..., phases=..., target=..., index=..., only_range=...)`` returns a
:class:`MigrationResult` (``code``, ``changed``, ``flags``); ``ProjectIndex.build(paths)`` /
``ProjectIndex.from_sources({path: source})`` give it the project-wide facts. Nothing here writes
files or runs the code it reads.
"""

from __future__ import annotations

from .engine import Flag, MigrationError, MigrationResult, migrate_text
from .index import ProjectIndex

__all__ = ["migrate_source", "MigrationResult", "Flag", "MigrationError", "ProjectIndex"]


def migrate_source(
    source: str,
    *,
    path: str = "<string>",
    phases: tuple[str, ...] | None = None,
    target: str = "runtime",
    index: ProjectIndex | None = None,
    only_range: tuple[int, int] | None = None,
    select: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] | None = None,
) -> MigrationResult:
    """Migrate one module's source text.

    ``only_range`` (1-based inclusive lines) limits the rewrite to what overlaps it: the decorated
    function(s) in the ``di`` phase; the statements (``io``) or functions (``compute``) in the other phases,
    with only the imports and handler-module needs (``MigrationResult.effects``) those rewrites use
    (``codemod/ranges.py``). Raises :class:`MigrationError` if ``source`` is not valid Python, and its
    subclass ``ranges.RangeConflict`` when rewriting only those lines would leave the file half-migrated.
    """
    return migrate_text(
        source,
        path=path,
        phases=phases,
        target=target,
        index=index,
        only_range=only_range,
        select=select,
        ignore=ignore,
    )

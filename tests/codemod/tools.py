"""``check_noop`` / ``check_transformed``: dedented before/after strings through the real codemod."""

from __future__ import annotations

import ast
from textwrap import dedent

from doeff_migrate.codemod.api import MigrationResult, ProjectIndex, migrate_source


def _index(path: str, source: str, others: dict[str, str] | None) -> ProjectIndex:
    sources = {path: source}
    sources.update({p: dedent(s) for p, s in (others or {}).items()})
    return ProjectIndex.from_sources(sources)


def check_noop(source: str, *, path: str = "example.py", others: dict[str, str] | None = None, **kwargs) -> MigrationResult:
    source = dedent(source)
    result = migrate_source(source, path=path, index=_index(path, source, others), **kwargs)
    assert result.code == source
    assert not result.changed
    return result


def check_transformed(
    before: str, after: str, *, path: str = "example.py", others: dict[str, str] | None = None, **kwargs
) -> MigrationResult:
    before, after = dedent(before), dedent(after)
    ast.parse(after)  # the expectation itself must be valid Python
    result = migrate_source(before, path=path, index=_index(path, before, others), **kwargs)
    assert result.code == after, "actual output:\n" + result.code
    assert result.changed == (before != after)
    again = migrate_source(result.code, path=path, index=_index(path, result.code, others), **kwargs)
    assert again.code == result.code, "a second run must change nothing"
    return result

"""The rewrite families of the codemod, one module each, found automatically.

Each module declares ``transform = Transform(__name__, phase=..., order=..., transformer=...)``; the
name (the module's own) is what ``--select``-style options, the docs and ``tests/codemod/test_<name>.py``
use. Transforms run one after another on the same tree in ``order``. A family too big for one module keeps its
transform there and its parts in modules that register nothing (``compute_*``, ``io_*``, ``effectful_code``).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from ..indexing.facts import ModuleFacts
    from .base import MigrationTransformer

__all__ = [
    "Transform", "MigrationTransformer", "all_transforms", "PHASES", "Clause", "clause_matches", "any_wants", "imports_any", "EFFECTFUL_FILE",
]

PHASES = ("di", "compute", "io", "recording")


def __getattr__(name: str):
    # ``MigrationTransformer`` needs LibCST: loaded when a transform module asks for it, so that the CLI can
    # read ``PHASES`` (and a ``--check`` the cache answers can finish) without loading LibCST.
    if name == "MigrationTransformer":
        from .base import MigrationTransformer

        return MigrationTransformer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Clause = Union[str, tuple[str, ...]]
"""A pre-filter clause: a regular expression (``re.M``) the text must match, or a tuple of them all of which must."""


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str, as_bytes: bool) -> re.Pattern:
    return re.compile(pattern.encode() if as_bytes else pattern, re.M)


def clause_matches(clause: Clause, text: str | bytes) -> bool:
    as_bytes = isinstance(text, bytes)
    if isinstance(clause, str):
        return _compiled(clause, as_bytes).search(text) is not None
    return all(_compiled(part, as_bytes).search(text) is not None for part in clause)


def imports_any(roots: Iterable[str]) -> str:
    """A clause matching files that import one of the top-level modules ``roots``.

    A file can only use a library through an import (``import wandb as W`` still says ``wandb``,
    ``from mlflow import log_metric`` says ``mlflow``); this matches ``import a, b``, ``from a.b import c``,
    indented imports and backslash continuations. Words in strings or comments can match too: the clause
    only has to be a necessary condition, never a sufficient one.
    """
    words = "|".join(sorted({re.escape(r) for r in roots}))
    return rf"\bfrom[ \t]+(?:{words})\b|\bimport\b(?:[^\n]|\\\n)*?\b(?:{words})\b"


EFFECTFUL_FILE = r"doeff|pinjected"
"""Files whose functions are (``@do``) or become (``@injected`` in the same run) effectful code."""


@dataclass(frozen=True)
class Transform:
    module: str
    phase: str
    order: int
    transformer: type[MigrationTransformer]
    description: str = field(default="")
    prefilter: tuple[Clause, ...] = ("from pinjected", "import pinjected")
    """Clauses one of which a file must match for this transform to be worth parsing it for (see :data:`Clause`).

    Precision matters: every file that matches is parsed, and a migrated tree must not match the clauses of
    the phases that migrated it (``--check`` then costs file reads only). Correctness matters more: a file the
    transform would change must always match.
    """
    extra_prefilter: Callable[[str | None], tuple[Clause, ...]] | None = None
    """More clauses that depend on the file's project (its ``[tool.doeff-migrate]`` settings), by path."""
    needed: Callable[[ModuleFacts], bool] | None = None
    """A check on the project index's facts of the file (read from the same text): ``False`` when the pass
    would change and flag nothing there, so the engine does not run it. Like a pre-filter clause, a necessary
    condition only; ``None``: always run."""

    @property
    def name(self) -> str:
        return self.module.rpartition(".")[2]

    def wants(self, text: str | bytes, path: str | None = None) -> bool:
        """Whether ``text`` (of the file at ``path``) may contain something this transform changes or flags."""
        if any(clause_matches(c, text) for c in self.prefilter):
            return True
        return self.extra_prefilter is not None and any(clause_matches(c, text) for c in self.extra_prefilter(path))


def any_wants(phases: Iterable[str], text: str | bytes, path: str | None = None) -> bool:
    """Whether any transform of ``phases`` wants ``text`` (the pre-filter of the CLI and the engine)."""
    chosen = set(phases)
    return any(t.wants(text, path) for t in all_transforms() if t.phase in chosen)


_TRANSFORMS: dict[str, Transform] = {}


def register(transform: Transform) -> Transform:
    _TRANSFORMS[transform.name] = transform
    return transform


_loaded = False


def all_transforms() -> list[Transform]:
    global _loaded
    if not _loaded:  # called once per file: scan the package only the first time
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return sorted(_TRANSFORMS.values(), key=lambda t: (t.order, t.name))

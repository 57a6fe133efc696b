"""The rewrite families of the codemod, one module each, found automatically.

Each module declares ``transform = Transform(__name__, phase=..., order=..., transformer=...)``; the
name (the module's own) is what ``--select``-style options, the docs and ``tests/codemod/test_<name>.py``
use. Transforms run one after another on the same tree in ``order``.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from ..state import FileState

__all__ = ["Transform", "MigrationTransformer", "all_transforms", "PHASES"]

PHASES = ("di", "compute", "io", "recording", "replay")


class MigrationTransformer(cst.CSTTransformer):
    """Base of every family's transformer: it gets the file's :class:`FileState`."""

    def __init__(self, state: FileState) -> None:
        super().__init__()
        self.state = state


@dataclass(frozen=True)
class Transform:
    module: str
    phase: str
    order: int
    transformer: type[MigrationTransformer]
    description: str = field(default="")
    prefilter: tuple[str, ...] = ("from pinjected", "import pinjected")
    """Text one of which a file must contain for this transform to be worth parsing it for."""

    @property
    def name(self) -> str:
        return self.module.rpartition(".")[2]


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

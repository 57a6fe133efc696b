"""Which program a recording belongs to, and which version of its source made it."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path
from typing import Any

from ..program import Call


def program_fingerprint(program: Any) -> tuple[str, str]:
    """``(name, version)`` of a program: the entry function and a hash of its module's source.

    Stored in a recording's header so a replay can tell that the program changed since.
    """
    target = program
    if isinstance(target, Call):
        target = target.func
    name = getattr(target, "__qualname__", type(target).__qualname__)
    module = getattr(target, "__module__", None) or ""
    version = ""
    try:
        source_file = inspect.getsourcefile(target) if callable(target) else None
    except TypeError:
        source_file = None
    if source_file and os.path.exists(source_file):
        version = "sha256:" + hashlib.sha256(Path(source_file).read_bytes()).hexdigest()[:16]
    return (f"{module}.{name}" if module else name), version

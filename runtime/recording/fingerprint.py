"""Which program a recording belongs to, and which version of its source made it."""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
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


def entry_version(module: Any) -> str:
    """The version of an entry point's code: a hash of its module's source and of every module of
    the same project it imported (by then in ``sys.modules``), so that a change to the code a run
    depends on changes the version, while installed libraries do not.

    The project is the folder holding the entry module's top-level package (or the module itself).
    """
    top = module.__name__.partition(".")[0]
    top_module = sys.modules.get(top, module)
    places = list(getattr(top_module, "__path__", None) or [])
    anchor = places[0] if places else getattr(top_module, "__file__", None)
    if not anchor:
        return ""
    root = os.path.dirname(os.path.abspath(anchor)) + os.sep
    digest = hashlib.sha256()
    for name, loaded in sorted(list(sys.modules.items()), key=lambda item: item[0]):
        source = getattr(loaded, "__file__", None)
        if not source or not source.endswith(".py") or not os.path.abspath(source).startswith(root):
            continue
        if name == "__main__" or name.partition(".")[0] == "doeff_migrate" or "site-packages" in source:
            continue  # (the runner's own modules are not the user's code, even in a checkout of it)
        try:
            data = Path(source).read_bytes()
        except OSError:
            continue
        digest.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\0".encode())
    return "sha256:" + digest.hexdigest()[:16]

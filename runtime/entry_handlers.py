"""The handlers an entry point runs under: the ones its module declares and those of the generated handler modules.

``__doeff_handlers__`` are the handlers of the module's own effects; every generated ``effects_handlers``
module the entry point's imports loaded adds its ``HANDLERS``, so a migrated function's effects are answered
wherever it is called from.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Sequence

def entry_handlers(module: Any, var: str) -> list:
    """The handler stack the module declares for its entry points, innermost first.

    ``__doeff_handlers__`` is a list of handler installers, a dict from entry-point name to such a
    list (``"*"`` for every entry point), or a zero-argument function returning a list (for
    handlers that open connections or files when the run starts).
    """
    declared = getattr(module, "__doeff_handlers__", None)
    if declared is None:
        return []
    if isinstance(declared, dict):
        declared = declared.get(var, declared.get("*", []))
    if callable(declared) and not isinstance(declared, (list, tuple)) and not hasattr(declared, "activate"):
        declared = declared()
    if not isinstance(declared, (list, tuple)):
        declared = [declared]
    return list(declared)


def generated_handlers(declared: Sequence[Any] = (), module_name: str = "") -> list:
    """The ``HANDLERS`` of every handler module doeff-migrate generated (``<pkg>.effects_handlers``) that the
    entry point's imports loaded, minus those in ``declared``.

    A migrated function yields its package's effects wherever it is called from (another package, a design's
    provider, a method, a helper), so the effects are answered where they are defined rather than only when
    the entry module declares ``__doeff_handlers__``. The handler modules of the entry
    module's own packages, and of the project packages its source imports (inside functions too), are imported
    first: their migrated modules may be imported lazily, by a function that runs later.
    """
    for package in [module_name.rpartition(".")[0], *_imported_packages(module_name)]:
        parts = package.split(".") if package else []
        for i in range(len(parts), 0, -1):
            candidate = ".".join([*parts[:i], "effects_handlers"])
            try:
                if candidate not in sys.modules and importlib.util.find_spec(candidate) is not None:
                    importlib.import_module(candidate)
            except Exception:  # noqa: BLE001 - not a loadable handler module: nothing to install from it
                continue
    seen = {id(h) for h in declared}
    found: list = []
    for name, module in sorted(sys.modules.items()):
        if name.rpartition(".")[2] != "effects_handlers" or module is None:
            continue
        stack = getattr(module, "HANDLERS", None)
        if not (isinstance(stack, list) and callable(getattr(module, "with_effect_handlers", None))
                and callable(getattr(module, "recording_handlers", None))):
            continue
        for handler in stack:
            if id(handler) not in seen:
                seen.add(id(handler))
                found.append(handler)
    return found


def _imported_packages(module_name: str) -> list[str]:
    """Packages of the project (beside the entry module's top package) that the entry module's source imports
    anywhere, inside functions too (read, not run): their generated handler modules are loaded up front."""
    import ast

    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return []
    own = module_name if path.endswith("__init__.py") else module_name.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = own
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            name = ".".join(p for p in ((base if node.level else ""), node.module or "") if p)
            found += [name, name.rpartition(".")[0]]
        elif isinstance(node, ast.Import):
            found += [alias.name.rpartition(".")[0] for alias in node.names]
    depth = module_name.count(".") + (1 if path.endswith("__init__.py") else 0)
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(depth):
        root = os.path.dirname(root)
    return [p for p in dict.fromkeys(found) if p and _in_project(p.split(".")[0], root)]


def _in_project(top: str, root: str) -> bool:
    """``top`` is a package under ``root`` (locating it imports nothing)."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    return any(os.path.abspath(place).startswith(root + os.sep) for place in places)

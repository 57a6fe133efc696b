"""Decorators above ``@injected``: which ones migrate with the function, and why the others do not.

pinjected hands a decorator above ``@injected`` the function's IProxy (``PartialInjectedFunction``).
Library code writes such decorators for injected functions (injected-utils' ``async_cached``): they
build an ``Injected`` over the IProxy and rebind the function's key with ``update_if_registered``. The
migrated function keeps them above it, over ``injected_proxy`` (runtime/decoration.py), the IProxy's
counterpart; their own pinjected code is translated by plain_programs.py, and their arguments by
entry_points.py (``EntryPoints.leave_FunctionDef``). ``blocker`` says when that is not faithful.
"""

from __future__ import annotations

import sys

import libcst as cst

from .. import pinjected_names as pn
from ..index import ValueSpec
from ..state import FileState
from ..rules.di import INJECTED_GENERATOR, STACKED_DECORATOR
from .pinjected_uses import PinjectedUses

CONTEXT_MANAGER_DECORATORS = {"contextmanager", "asynccontextmanager"}


def blocker(state: FileState, node: cst.FunctionDef, index: int, kind: str, plain_functions: dict[str, cst.FunctionDef]) -> tuple[str, str | None] | None:
    """Why (code, message) the decorators above the pinjected one (at ``index``) keep the function
    pinjected, or None.

    They are kept above the migrated function, which they get as its IProxy's counterpart
    (``injected_proxy``, runtime/decoration.py): a decorator written for ``@injected`` functions
    builds on it with the ``Injected`` combinators and ``update_if_registered``, whose counterparts
    the migrated decorator uses (plain_programs.py). A decorator factory of another package
    (``@async_cached(cache)`` of injected-utils) must be migrated with it. Left pinjected: decorators
    above ``@instance``, pinjected's own API, context managers (DM101), a plain decorator of another
    package or any of the standard library (``@beartype``, ``@functools.lru_cache()``: not written for
    an IProxy), an injected function applied as a decorator, and a decorator of this module that uses
    none of pinjected's API or stays pinjected itself (DM135).
    """
    if index == 0:
        return None
    if kind != "injected":
        return (STACKED_DECORATOR.code, "decorator above `@instance`: pinjected hands it the instance's IProxy, which has no counterpart")
    for deco in node.decorators[:index]:
        target = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        dotted = pn.dotted_cst(target)
        if dotted is None or state.canonical(target) is not None:
            return (STACKED_DECORATOR.code, "decorator above the pinjected one that is pinjected's own API or not a name: port it by hand")
        if dotted.rpartition(".")[2] in CONTEXT_MANAGER_DECORATORS:
            return (INJECTED_GENERATOR.code, None)
        head = dotted.split(".")[0]
        imported = state.facts.imports.get(head)
        origin = imported[0] if imported is not None else (head if "." in dotted and head not in plain_functions else None)
        outside = origin is not None and origin not in state.index.sources
        if outside and (not isinstance(deco.decorator, cst.Call) or origin.split(".")[0] in sys.stdlib_module_names):
            # A plain decorator of another package (``@beartype``) or of the standard library
            # (``@functools.lru_cache()``) is not written for pinjected's IProxy; decorator factories
            # (``@async_cached(cache)``) of pinjected-based packages are.
            return (STACKED_DECORATOR.code, f"decorator `{dotted}` of another package above the pinjected one: it would get the function's IProxy")
        provider = state.index.resolve_ref(ValueSpec("ref", state.module, dotted))
        if provider is not None and not getattr(provider, "wrapped", False):
            return (STACKED_DECORATOR.code, f"injected function `{dotted}` applied as a decorator above the pinjected one: port it by hand")
        helper = plain_functions.get(dotted)
        if helper is not None:
            calls, blocked = PinjectedUses(state).scan(helper)
            if blocked:
                return (STACKED_DECORATOR.code, f"decorator `{dotted}` stays pinjected (DM135), so it cannot take the migrated function")
            if not calls:
                # A generic decorator (a ``functools.wraps`` logger) is not written for pinjected's IProxy.
                return (STACKED_DECORATOR.code, f"decorator `{dotted}` above the pinjected one uses none of pinjected's API: it would get the function's IProxy")
    return None

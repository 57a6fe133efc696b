"""Bridges between pinjected and the runtime, so a half-migrated codebase keeps running.

Teams migrate one package at a time; in between, migrated ``@do`` code and not-yet-migrated
pinjected code call each other. Two directions, one rule: **a key has one owner, the pinjected
resolver of the run**, so singletons are built once and every side sees the same object.

1. Pinjected code calls migrated code (:func:`as_injected`, :func:`as_instance`,
   :func:`migrated_design`)::

       from doeff_migrate.runtime import as_injected, as_instance, migrated_design

       __design__ = design(summarize=as_injected(summarize), cfg=as_instance(cfg))
       # or bind every migrated @function_binding / @instance_binding by name at once:
       __design__ = migrated_design() + design(...)

   Resolving the key gives pinjected code a callable (``as_injected``) or a value
   (``as_instance``). When it runs, the program's ``Ask("k")`` is answered by *that* resolver: the
   keys the function asks for (found in its source, see :func:`asked_keys`, or given with
   ``keys=``) are declared as pinjected dependencies and resolved up front, concurrently, like the
   parameters of the ``@injected`` function it replaces; any other key is resolved on demand with
   ``await resolver.provide(key)`` on the resolver's own event loop.

2. Migrated code asks for keys only pinjected provides (:class:`PinjectedEnv`)::

       run(main(), handlers=[PinjectedEnv(legacy_design)], env={...})

   ``Ask("db")`` of a key the pinjected design (or pinjected's implicit bindings of imported
   ``@injected``/``@instance`` functions) binds is answered by a pinjected resolver; its objects
   are the resolver's singletons (``env.resolver`` is that resolver). Keys pinjected does not bind
   pass on to the handlers outside.

Values crossing the boundary are adapted so each side can use them the way it already does: a
pinjected ``@injected`` function handed to migrated code becomes a function returning a program
(``result = yield fn(x)``; awaitable results are awaited on the resolver's loop); a bridged
migrated function handed back to migrated code is the ``@do`` function again.

Calling convention of :func:`as_injected`: pinjected code calls a sync ``@injected`` function
plainly and awaits an async one. A ``@do`` function has no such distinction, so ``is_async`` says
which the caller expects; by default it follows pinjected's naming rule (PINJ006: async
``@injected`` functions are named ``a_*``). A sync call runs the program in the caller's thread,
which in pinjected code is the thread of the resolver's event loop: keys must then be resolvable
without waiting for that loop (declared, or already built), else :class:`PinjectedBridgeError`
says what to declare. An async call runs the program on a thread of its own and can resolve any
key on demand.

3. Running an entry point of a mixed codebase (:func:`run_mixed_entry`): a pinjected entry point
   is resolved with :func:`migrated_design` underneath its designs; a migrated one runs on the
   runtime with a :class:`PinjectedEnv` for the pinjected code that is left. ``python -m
   doeff_migrate.runtime run`` hands an entry point here when it, or a design on its path, is still
   pinjected, or when it requires keys that only imported ``@injected``/``@instance`` functions
   provide (``entry.still_pinjected``).

The codemod writes direction 1 itself when it migrates part of a project: a generated block in the
project's root ``__pinjected__.py`` binds the migrated providers still-pinjected code depends on,
``__design__ = bridge_design(k=as_injected(fn), ...)`` (:func:`bridge_design`, see
``codemod/bridges.py``); a later run updates or removes it.

pinjected is an optional extra (``pip install 'doeff-migrate[pinjected]'``): this module imports it
only when a bridge is built or used.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import dataclasses
import functools
import inspect
import textwrap
import threading
from typing import Any, Callable, Iterable, Mapping

from . import effects as E
from .entry import EntryPointError, design_modules, entry_program, run_migrated
from .handlers import NativeHandler, _LazyEnv, _Preactivated, _reinstalled, local_handler
from .interpreter import PASS, AtSite, background_loop
from .program import DoFunction, Program, Transfer, WithHandler, do
from .registry import _REGISTRY

INSTALL_HINT = "install the optional extra: pip install 'doeff-migrate[pinjected]' (pinjected==0.2.252)"


class PinjectedBridgeError(RuntimeError):
    """A bridge between pinjected and the runtime cannot do what was asked (the message says why)."""


def _require_pinjected(who: str) -> Any:
    """Import pinjected for ``who``, or fail with how to install it."""
    try:
        import pinjected
    except ImportError as err:
        raise ModuleNotFoundError(f"{who} needs pinjected, which is not installed ({err}); {INSTALL_HINT}", name="pinjected") from None
    return pinjected


# --- which keys a program asks for -----------------------------------------------------------------


def _asked_keys_of(raw: Callable[..., Any], seen: set, out: list) -> None:
    if raw in seen:
        return
    seen.add(raw)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(raw)))
    except (OSError, TypeError, SyntaxError):
        return  # no source (built at run time): its keys are resolved on demand
    module_globals = getattr(raw, "__globals__", {})
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name == "Ask" and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                if node.args[0].value not in out:
                    out.append(node.args[0].value)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            # A @do function called directly (``yield helper(x)``): its keys were dependencies of
            # the original @injected function too.
            target = module_globals.get(node.id)
            if isinstance(target, DoFunction):
                _asked_keys_of(target._fn, seen, out)


def asked_keys(fn: Any) -> tuple[str, ...]:
    """The keys ``fn``'s program asks for with ``Ask("literal")``, in source order.

    Read from the source of ``fn`` (a ``@do`` function or a call of one) and, transitively, of the
    ``@do`` functions it names at module level. Only the source is read; nothing is run. Keys built
    at run time (``Ask(name)``) are not found; bridges resolve those on demand.
    """
    if isinstance(fn, Program) and hasattr(fn, "function"):
        fn = fn.function
    if not isinstance(fn, DoFunction):
        raise TypeError(f"asked_keys expects a @do function or a call of one, got {fn!r}")
    out: list[str] = []
    _asked_keys_of(fn._fn, set(), out)
    return tuple(out)


# --- one resolver and the loop its coroutines run on ------------------------------------------------


async def _await_concurrent(cf: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(cf)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Home:
    """A pinjected resolver and the event loop every coroutine of it must run on."""

    def __init__(self, resolver: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.resolver = resolver
        self.loop = loop

    def check_reachable(self, what: str) -> None:
        """Raise if waiting for this loop from the current thread could never finish."""
        if self.loop is background_loop():
            return
        if _running_loop() is self.loop:
            raise PinjectedBridgeError(
                f"{what} needs the pinjected resolver's event loop, but this program was called "
                "synchronously on that loop's own thread, so waiting would block it forever. "
                "Declare the key so it is resolved before the call (as_injected(fn, keys=[...])), "
                "or make the call async (as_injected(fn, is_async=True)) and await it"
            )
        if self.loop.is_closed() or not self.loop.is_running():
            raise PinjectedBridgeError(
                f"{what} needs the pinjected resolver's event loop, which is no longer running "
                "(the bridged function was kept and called after its resolver finished)"
            )

    def awaitable(self, make_coroutine: Callable[[], Any], what: str) -> Any:
        """Something ``Await`` can run on the runtime's loop that runs the coroutine on this loop."""
        self.check_reachable(what)
        coroutine = make_coroutine()
        if self.loop is background_loop():
            return coroutine
        return _await_concurrent(asyncio.run_coroutine_threadsafe(coroutine, self.loop))


# --- values crossing the boundary -------------------------------------------------------------------


def _call_pinjected_function(fn: Any, home: _Home, args: tuple, kwargs: dict):
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        # Run the coroutine where the resolver's other coroutines run.
        pending = result
        try:
            home.check_reachable(f"awaiting {fn!r}")
        except PinjectedBridgeError:
            if inspect.iscoroutine(pending):
                pending.close()  # never awaited: close it so Python does not warn
            raise
        result = yield E.Await(home.awaitable(lambda: _as_coroutine(pending), f"awaiting {fn!r}"))
    return result


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable


_call_pinjected_program = do(_call_pinjected_function)


class PinjectedFunction:
    """A pinjected ``@injected`` function as migrated code sees it: calling it returns a program.

    ``result = yield fn(x)``: the function runs when the program runs; if it is async, its
    coroutine is awaited on the pinjected resolver's event loop.
    """

    def __init__(self, function: Any, home: _Home) -> None:
        self.function = function
        self._home = home

    def __call__(self, *args: Any, **kwargs: Any) -> Program:
        return _call_pinjected_program(self.function, self._home, args, kwargs)

    def __repr__(self) -> str:
        return f"<pinjected function {self.function!r} as a program>"


def _adapt(value: Any, home: _Home) -> Any:
    """What migrated code receives for a value pinjected resolved."""
    if isinstance(value, BridgedFunction):
        return value.function
    from pinjected.di.partially_injected import PartiallyInjectedFunction

    if isinstance(value, PartiallyInjectedFunction):
        return PinjectedFunction(value, home)
    return value


_MISSING = object()


class _ResolverEnv(NativeHandler):
    """Answers every ``Ask`` through one pinjected resolver (the env of a bridged call)."""

    types = (E.Ask,)

    def __init__(self, home: _Home, resolved: Mapping[str, Any], name: str) -> None:
        self.home = home
        self.values: dict = {k: _adapt(v, home) for k, v in resolved.items()}
        self.name = name

    def handle(self, effect: Any, segment: Any) -> Any:
        key = effect.key
        value = self.values.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if not isinstance(key, str):
            return self.miss(key)
        built = self.built(key)
        if built is not _MISSING:
            return built
        if not self.binds(key):
            return self.miss(key)
        return AtSite(self._provide(key))

    def built(self, key: str) -> Any:
        """The resolver's object for ``key`` if it already built it (no waiting needed)."""
        from pinjected.v2.keys import StrBindKey

        obj = self.home.resolver.objects.get(StrBindKey(key), _MISSING)
        if obj is _MISSING:
            return _MISSING
        value = self.values[key] = _adapt(obj, self.home)
        return value

    def binds(self, key: str) -> bool:
        return True  # pinjected itself reports keys it cannot resolve

    def miss(self, key: Any) -> Any:
        raise PinjectedBridgeError(f"Ask({key!r}): pinjected keys are strings")

    def _provide(self, key: str):
        resolver = self.home.resolver
        value = yield E.Await(self.home.awaitable(lambda: resolver.provide(key), f"Ask({key!r})"))
        adapted = self.values[key] = _adapt(value, self.home)
        return adapted


class _RefuseAwaitOnLoopThread(NativeHandler):
    """In a synchronous bridged call on the runtime's own loop thread, ``Await`` would deadlock."""

    types = (E.Await,)
    name = "bridge_await_guard"

    def handle(self, effect: Any, segment: Any) -> Any:
        if _running_loop() is background_loop():
            if inspect.iscoroutine(effect.coroutine):
                effect.coroutine.close()  # never awaited: close it so Python does not warn
            raise PinjectedBridgeError(
                "a migrated function called synchronously from pinjected code running on the runtime's "
                "event loop performed Await, which would wait for that same loop forever; "
                "bridge it with as_injected(fn, is_async=True) and await the call"
            )
        return PASS


def _run_with_resolver(program: Program, home: _Home, resolved: Mapping[str, Any], name: str) -> Any:
    from .run import run

    # local_handler inside the resolver env, so Local overrides are seen before pinjected's bindings.
    return run(program, handlers=[_RefuseAwaitOnLoopThread(), local_handler, _ResolverEnv(home, resolved, name)])


async def _in_own_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a new thread (not a pool: nested bridges would exhaust one) and await it."""
    cf: concurrent.futures.Future = concurrent.futures.Future()

    def target() -> None:
        try:
            cf.set_result(fn())
        except BaseException as err:  # noqa: BLE001 - delivered to the awaiting coroutine
            cf.set_exception(err)

    threading.Thread(target=target, name="doeff-migrate-bridge", daemon=True).start()
    return await asyncio.wrap_future(cf)


# --- direction 1: pinjected calls migrated code --------------------------------------------------------


class BridgedFunction:
    """What pinjected code receives for ``as_injected(fn)``: call it as the original ``@injected``.

    ``f(*args)`` runs ``fn(*args)`` on the runtime with every ``Ask`` answered by the resolver
    that provided ``f``; with ``is_async`` the call returns a coroutine to await.
    """

    def __init__(self, function: DoFunction, home: _Home, resolved: Mapping[str, Any], is_async: bool) -> None:
        self.function = function
        self.is_async = is_async
        self._home = home
        self._resolved = dict(resolved)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        program = self.function(*args, **kwargs)
        name = f"as_injected({self.function.__qualname__})"
        if self.is_async:
            return _in_own_thread(lambda: _run_with_resolver(program, self._home, self._resolved, name))
        return _run_with_resolver(program, self._home, self._resolved, name)

    def __repr__(self) -> str:
        kind = "async " if self.is_async else ""
        return f"<{kind}bridged {self.function!r}>"


def _check_do_function(fn: Any, who: str) -> None:
    if not isinstance(fn, DoFunction):
        raise TypeError(f"{who} expects a @do function, got {fn!r}")


def _with_dependencies(keys: tuple[str, ...], provider: Callable[..., Any]) -> Any:
    """A pinjected Injected depending on ``__resolver__`` and ``keys``; ``provider(resolver, values)``."""
    from pinjected import Injected

    parts = [Injected.by_name("__resolver__")] + [Injected.by_name(k) for k in keys]

    async def provide(resolved: tuple) -> Any:
        resolver, *values = resolved
        return await provider(resolver, dict(zip(keys, values)))

    return Injected.mzip(*parts).map(provide)


def as_injected(fn: DoFunction, *, is_async: bool | None = None, keys: Iterable[str] | None = None) -> Any:
    """A pinjected ``Injected`` for the migrated ``@do`` function ``fn`` (a migrated ``@injected``).

    Bind it in a pinjected design (``design(summarize=as_injected(summarize))``); pinjected code that
    depends on the key gets a :class:`BridgedFunction` and calls it as before. ``keys`` (default:
    :func:`asked_keys` of ``fn``) are resolved when the key is, as pinjected resolved the
    ``@injected`` function's dependencies. ``is_async`` (default: the name starts with ``a_``, as
    PINJ006 requires of async ``@injected`` functions) makes calls return a coroutine.
    """
    _require_pinjected("as_injected")
    _check_do_function(fn, "as_injected")
    dep_keys = tuple(keys) if keys is not None else asked_keys(fn)
    calls_are_async = fn.__name__.startswith("a_") if is_async is None else bool(is_async)

    async def provider(resolver: Any, values: dict) -> BridgedFunction:
        return BridgedFunction(fn, _Home(resolver, asyncio.get_running_loop()), values, calls_are_async)

    return _with_dependencies(dep_keys, provider)


def as_instance(fn: Any, *, keys: Iterable[str] | None = None) -> Any:
    """A pinjected ``Injected`` whose value is the result of the migrated instance ``fn()``.

    ``fn`` is a ``@do`` function taking no arguments (a migrated ``@instance``), a program or an
    effect. Like an ``@instance``, it runs once per resolver, when the key is first resolved; its
    ``Ask``s are answered by that resolver. It runs on a thread of its own, so it may ``Await`` and
    ask for keys that were not declared.
    """
    _require_pinjected("as_instance")
    if isinstance(fn, DoFunction):
        make_program: Callable[[], Any] = fn
        label = fn.__qualname__
    elif isinstance(fn, (Program, E.EffectBase)):
        program_value = fn
        make_program = lambda: program_value  # noqa: E731 - one program, built by the caller
        label = repr(fn)
    else:
        raise TypeError(f"as_instance expects a @do function, a program or an effect, got {fn!r}")
    if keys is not None:
        dep_keys = tuple(keys)
    elif isinstance(fn, DoFunction) or hasattr(fn, "function"):
        dep_keys = asked_keys(fn)
    else:
        dep_keys = ()  # Pure(...) or an effect: no source to read; its Asks resolve on demand

    async def provider(resolver: Any, values: dict) -> Any:
        home = _Home(resolver, asyncio.get_running_loop())
        program = make_program()
        return await _in_own_thread(lambda: _run_with_resolver(program, home, values, f"as_instance({label})"))

    return _with_dependencies(dep_keys, provider)


_REGISTRY_DESIGN_CLASS: Any = None


def _registry_design() -> Any:
    """A pinjected Design that reads the migrated-bindings registry whenever pinjected looks a key up.

    Lazy on purpose: ``__design__ = migrated_design() + design(...)`` in a package ``__init__.py``
    runs before the modules that register migrated bindings are imported.
    """
    global _REGISTRY_DESIGN_CLASS
    if _REGISTRY_DESIGN_CLASS is None:
        from pinjected import Design, design

        class MigratedBindingsDesign(Design):
            """Every ``@function_binding``/``@instance_binding`` registered so far, bridged by name."""

            def __init__(self) -> None:
                self._signature: tuple = ()
                self._snapshot = design()

            def current(self) -> Any:
                signature = tuple((key, id(entry[2])) for key, entry in _REGISTRY.items())
                if signature != self._signature:
                    bindings = {}
                    for key, (_module, kind, fn) in list(_REGISTRY.items()):
                        bindings[key] = as_injected(fn) if kind == "function" else as_instance(fn)
                    self._snapshot, self._signature = design(**bindings), signature
                return self._snapshot

            def __contains__(self, item: Any) -> bool:
                return item in self.current()

            def __getitem__(self, item: Any) -> Any:
                return self.current()[item]

            @property
            def bindings(self) -> dict:
                return self.current().bindings

            @property
            def children(self) -> list:
                return []

            def __repr__(self) -> str:
                return f"MigratedBindingsDesign({len(_REGISTRY)} registered)"

        _REGISTRY_DESIGN_CLASS = MigratedBindingsDesign
    return _REGISTRY_DESIGN_CLASS()


def migrated_design(env: Mapping[str, Any] | None = None) -> Any:
    """A pinjected design binding every migrated ``@function_binding``/``@instance_binding`` by name.

    Once an ``@injected`` function is migrated, pinjected's implicit binding of its name is gone;
    this puts the migrated ones back (functions via :func:`as_injected`, instances via
    :func:`as_instance`) so unmigrated code that depends on them resolves. The registry is read
    when pinjected looks a key up, so ``__design__ = migrated_design() + design(...)`` works in an
    ``__init__.py`` imported before the migrated modules. ``env`` (a migrated ``__design__`` dict)
    is added on top: ``@do`` functions and programs are bridged, other values bound as values.
    """
    _require_pinjected("migrated_design")
    registry = _registry_design()
    return registry + _bridged_env(env) if env else registry


def bridge_design(**bindings: Any) -> Any:
    """A pinjected design of bridged migrated providers: ``bridge_design(k=as_injected(fn), ...)``.

    This is ``pinjected.design(**bindings)`` under a name of the runtime's, so the design the codemod
    generates for pinjected code that still depends on migrated providers by name (a
    ``# doeff-migrate: bridge`` block in the project's root ``__pinjected__.py``, see
    ``codemod/bridges.py``) is not itself a pinjected construct the codemod would migrate.
    """
    pinjected = _require_pinjected("bridge_design")
    return _bridge_design_class()(_bindings=pinjected.design(**bindings)._bindings)


@functools.lru_cache(maxsize=None)
def _bridge_design_class() -> type:
    """pinjected's design class, except that ``bridge_design(...) + __design__`` also takes a migrated
    env dict: the generated block ends that way in a root ``__pinjected__.py`` whose own ``__design__``
    the same run (or a later one) migrated to a dict, while other entry points are still pinjected."""
    from pinjected.di.design import DesignImpl

    @dataclasses.dataclass
    class BridgeDesign(DesignImpl):
        def __add__(self, other: Any) -> Any:
            if isinstance(other, Mapping):
                other = _bridged_env(other)
            return super().__add__(other)

    return BridgeDesign


def _bridged_env(env: Mapping[str, Any]) -> Any:
    """A migrated env dict as a pinjected design: ``@do`` functions and programs bridged, values pure."""
    import pinjected

    bindings: dict = {}
    for key, value in env.items():
        if isinstance(value, DoFunction):
            bindings[key] = as_injected(value)
        elif isinstance(value, Program):
            bindings[key] = as_instance(value)
        else:
            bindings[key] = pinjected.Injected.pure(value)
    return pinjected.design(**bindings)


# --- direction 2: migrated code asks pinjected ----------------------------------------------------------


class PinjectedEnv(_ResolverEnv):
    """A handler answering ``Ask`` for the keys a pinjected design binds, through a pinjected resolver.

    ``PinjectedEnv(design)`` creates the resolver on first use (pinjected's implicit bindings + the
    migrated bindings of :func:`migrated_design` + ``design``) and runs its coroutines on the
    runtime's event loop; ``PinjectedEnv(resolver, loop=loop)`` shares an existing resolver whose
    coroutines run on ``loop``. Objects are the resolver's singletons, shared across runs that use
    this handler. Keys in ``skip`` and keys pinjected does not bind pass to the handlers outside.
    """

    def __init__(
        self,
        design_or_resolver: Any,
        *,
        skip: Iterable[str] = (),
        loop: asyncio.AbstractEventLoop | None = None,
        include_migrated: bool = True,
    ) -> None:
        pinjected = _require_pinjected("PinjectedEnv")
        if isinstance(design_or_resolver, pinjected.AsyncResolver):
            self._resolver = design_or_resolver
            self._design = None
        elif isinstance(design_or_resolver, pinjected.Design):
            self._resolver = None
            self._design = design_or_resolver
        else:
            raise TypeError(f"PinjectedEnv expects a pinjected Design or AsyncResolver, got {design_or_resolver!r}")
        self._loop = loop
        self._include_migrated = include_migrated
        self._lock = threading.Lock()
        self.skip = frozenset(skip)
        self.values = {}
        self.name = "PinjectedEnv"
        self._home: _Home | None = None

    @property
    def resolver(self) -> Any:
        """The pinjected resolver that owns the objects this handler hands out."""
        return self.home.resolver

    @property
    def home(self) -> _Home:  # type: ignore[override]
        with self._lock:
            if self._home is None:
                if self._resolver is None:
                    from pinjected import AsyncResolver

                    design = self._design
                    if self._include_migrated:
                        design = migrated_design() + design
                    self._resolver = AsyncResolver(design)
                self._home = _Home(self._resolver, self._loop or background_loop())
            return self._home

    types = (E.Ask, E.Local)

    def handle(self, effect: Any, segment: Any) -> Any:
        if not isinstance(effect, E.Ask):
            return AtSite.outside(lambda k: _local_over_pinjected(k, effect, self))
        if effect.key in self.skip:
            return PASS
        return super().handle(effect, segment)

    def binds(self, key: str) -> bool:
        from pinjected.v2.keys import StrBindKey

        return StrBindKey(key) in self.home.resolver.design

    def miss(self, key: Any) -> Any:
        return PASS


def _local_over_pinjected(k: Any, effect: Any, env: PinjectedEnv):
    """``Local(overrides, program)``: the overrides win over pinjected's bindings inside ``program``.

    Without this, a ``PinjectedEnv`` inside the env that answers ``Local`` would be reinstalled
    inside the override layer and answer first.
    """
    layer = _LazyEnv(effect.env, False, "local", False)
    program = WithHandler(_Preactivated(layer), _reinstalled(k, effect.program))
    value = yield WithHandler(_Preactivated(env), program)
    return (yield Transfer(k, value))


def pinjected_env(
    design_or_resolver: Any,
    *,
    skip: Iterable[str] = (),
    loop: asyncio.AbstractEventLoop | None = None,
    include_migrated: bool = True,
) -> PinjectedEnv:
    """Handler factory spelling of :class:`PinjectedEnv` (``run(p, handlers=[pinjected_env(d)])``)."""
    return PinjectedEnv(design_or_resolver, skip=skip, loop=loop, include_migrated=include_migrated)


# --- running an entry point of a mixed codebase -----------------------------------------------------------


def _hierarchy_designs(module_name: str) -> list[tuple[str, Any]]:
    """``(module, __design__)`` root to leaf: the runner's layers (``entry.design_modules``)."""
    import importlib
    import sys

    out = []
    for name in design_modules(module_name):
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a package without that module (the runner skips it too)
        design = getattr(module, "__design__", None)
        if design is not None:
            out.append((name, design))
    return out


def run_mixed_entry(target: str, *, lazy: bool = False, handlers: Iterable[Any] = ()) -> Any:
    """Run the entry point ``pkg.mod.var`` of a codebase that is part pinjected, part migrated.

    * Entry not migrated yet (a pinjected ``IProxy``/``Injected``): as ``python -m pinjected run``
      resolves it (with the package hierarchy's ``__design__``s, root to leaf), on a resolver whose
      design also has :func:`migrated_design` underneath, so migrated functions and instances
      resolve by name; migrated ``__design__`` dicts on the path are bridged.
    * Migrated entry: as ``python -m doeff_migrate.runtime run`` runs it (registry, ``__design__``
      dicts, ``__doeff_overrides__``, required keys built first unless ``lazy``), with a
      :class:`PinjectedEnv` owning every key pinjected can bind: the same layers as one pinjected
      design, so pinjected code and migrated code share singletons. Without pinjected in the
      process this is exactly the runtime's runner.

    ``handlers`` (migrated entry only) go inside the ``PinjectedEnv``, in ``run``'s order (the first
    sees effects first), as ``run_entry(target, handlers=...)`` takes them.

    Returns the entry point's value. Required keys (``__doeff_requires__``) that nothing binds raise
    the runner's ``EntryPointError`` naming all of them before anything runs; ``__design__`` values
    other than dicts and pinjected designs raise ``TypeError`` naming the module.
    """
    import importlib
    import sys

    module_name, _, var = target.rpartition(".")
    if not module_name or not var:
        raise ValueError(f"expected pkg.module.variable, got {target!r}")
    module = importlib.import_module(module_name)
    if not hasattr(module, var):
        raise AttributeError(f"module {module_name!r} has no attribute {var!r}")
    value = getattr(module, var)
    if "pinjected" not in sys.modules:
        # Nothing in the process is pinjected's: the runner's own run of a migrated entry point.
        return run_migrated(module, module_name, var, target, lazy=lazy, handlers=list(handlers), outer_handlers=())

    import pinjected
    from pinjected.di.proxiable import DelegatedVar

    layers = []
    for name, design in _hierarchy_designs(module_name):
        if isinstance(design, dict):
            layers.append(("dict", design))
        elif isinstance(design, pinjected.Design):
            layers.append(("design", design))
        else:
            raise TypeError(f"{name}.__design__ must be a dict or a pinjected Design, got {type(design).__name__}")
    merged = _registry_design()
    for kind, design in layers:
        merged = merged + (_bridged_env(design) if kind == "dict" else design)

    if isinstance(value, (pinjected.Injected, DelegatedVar)):
        from .recording import RecordingHandler, ReplayHandler

        recorders = [type(h).__name__ for h in handlers if isinstance(h, (RecordingHandler, ReplayHandler))]
        if recorders:
            # pinjected resolves an IProxy itself: no effect passes through a handler, so a recording
            # would be empty (and a replay would touch the world). Refused rather than silently skipped.
            raise EntryPointError(
                f"{target} is still a pinjected {type(value).__name__}: pinjected resolves it without effects, so "
                f"{' and '.join(recorders)} would see nothing. Migrate {module_name} (doeff-migrate) to record or replay it"
            )

        async def resolve() -> Any:
            result = await pinjected.AsyncResolver(merged).provide(value)
            if inspect.isawaitable(result):
                result = await result
            return result

        return asyncio.run(resolve())

    from .registry import registered_env
    from .run import run

    env = registered_env()
    for kind, design in layers:
        if kind == "dict":
            env.update(design)
    overrides = (getattr(module, "__doeff_overrides__", {}) or {}).get(var, {})
    env.update(overrides)
    if overrides:
        merged = merged + _bridged_env(overrides)
    program = entry_program(value, target)
    pinjected_keys = PinjectedEnv(merged, include_migrated=False)
    required = tuple((getattr(module, "__doeff_requires__", {}) or {}).get(var, ()))
    missing = [k for k in required if k not in env and not pinjected_keys.binds(k)]
    if missing:
        listed = ", ".join(repr(k) for k in missing)
        raise EntryPointError(
            f"{target} needs {len(missing)} key(s) that neither a migrated design nor pinjected binds: {listed}"
        )
    if required and not lazy:
        program = _built_first(required, program)
    return run(program, handlers=[*handlers, pinjected_keys], env=env)


@do
def _built_first(keys: tuple, program: Program):
    """Ask ``keys`` in order (building them, as pinjected builds an entry point's dependencies), then run."""
    for key in keys:
        yield E.Ask(key)
    return (yield program)


__all__ = [
    "run_mixed_entry",
    "as_injected",
    "as_instance",
    "migrated_design",
    "bridge_design",
    "PinjectedEnv",
    "pinjected_env",
    "asked_keys",
    "BridgedFunction",
    "PinjectedFunction",
    "PinjectedBridgeError",
]

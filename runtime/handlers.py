"""Handlers: the ``@handler`` decorator and the standard handlers (env, state, writer, try, ...).

A handler is installed by calling it on a program: ``reader(env={"k": 1})(program)``. Factories
with parameters (``reader(env)``, ``state()``, ``design_env(env)``) return installers; stateless
handlers (``writer``, ``try_handler``) are installers themselves, as in doeff 0.8.0.

The standard handlers are *native*: plain objects whose ``handle(effect, segment)`` answers in
place (see ``interpreter.py``), which keeps ``Ask``/``Get``/``Put``/``Tell`` free of continuation
capture. ``@handler`` functions are *generator* handlers with full control (``Resume``, ``Transfer``,
``Pass``, re-performing, aborting).
"""

from __future__ import annotations

import inspect
import types as _types
import typing
from typing import Any, Callable, Iterable, Mapping

from . import effects as E
from .errors import MissingEnvKeyError, UnhandledEffect, location_of
from .interpreter import (
    PASS,
    AtSite,
    Future,
    Segment,
    complete_future,
    current_task,
    handlers_between,
    perform_site_location,
)
from .program import DoFunction, Program, Transfer, WithHandler, do
from .results import Err, Ok, Some


class Installer:
    """Something that installs a handler when called on a program (``h(program) -> program``)."""

    _doeff_is_handler_fn = True
    name = "handler"
    tail_code: Any = None  # see _tail_resume_sites: only @handler functions have tail resumes
    tail_offsets: frozenset = frozenset()
    tail_only = False

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program, {self.name}(program)")
        _check_program(program, self.name)
        return WithHandler(self, program)

    def activate(self) -> Any:
        """The handler object a run uses (a fresh one when the handler keeps per-run state)."""
        return self

    def __repr__(self) -> str:
        return f"<handler {self.name}>"


def _check_program(program: Any, who: str) -> None:
    if isinstance(program, (Program, E.EffectBase)):
        return
    if isinstance(program, DoFunction):
        raise TypeError(f"{who}(...) got the @do function {program.__qualname__!r} itself; call it first: {who}({program.__qualname__}(...))")
    if isinstance(program, Installer):
        raise TypeError(f"{who}(...) got the handler {program.name!r}, not a program; stack handlers with stacked_handlers(...) or with_handlers([...], program)")
    raise TypeError(f"{who}(...) expects a program, got {program!r}")


class NativeHandler(Installer):
    native = True
    types: Any = object

    def handle(self, effect: Any, segment: Segment) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


# --- @handler ----------------------------------------------------------------------------------


def _effect_filter(fn: Callable[..., Any]) -> Any:
    """The type filter from the first parameter's annotation (``object`` when there is none)."""
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        raise TypeError(f"handler {fn.__qualname__} must take (effect, k)")
    ann = params[0].annotation
    if ann is inspect.Parameter.empty:
        return object
    if isinstance(ann, str):
        try:
            ann = typing.get_type_hints(fn).get(params[0].name, object)
        except Exception:  # noqa: BLE001 - unresolvable forward reference: see every effect
            return object
    if ann is Any:
        return object
    origin = typing.get_origin(ann)
    if origin is typing.Union or origin is _types.UnionType:
        members = typing.get_args(ann)
    else:
        members = (ann,)
    out = []
    for m in members:
        m = typing.get_origin(m) or m
        if m is object or m is Any:
            return object
        if not isinstance(m, type):
            raise TypeError(f"handler {fn.__qualname__}: annotation {m!r} is not a class")
        out.append(m)
    return tuple(out)


_CONTROL_NAMES = {"Resume", "ResumeThrow", "Transfer", "TransferThrow"}
_NO_TAIL_SITES: tuple = (None, frozenset(), False)


def _tail_resume_sites(fn: Callable[..., Any]) -> "tuple[Any, frozenset, bool]":
    """``(fn.__code__, offsets, every_yield)``: the bytecode offsets of the ``yield`` of every
    tail resume of ``fn`` outside any ``try``/``with``, and whether those are all its yields;
    ``(None, frozenset(), False)`` when there is none or the source cannot be read.

    A tail resume is ``return (yield Resume(...))``, or ``r = yield Resume(...)`` directly followed
    by ``return r`` (``ResumeThrow``/``Transfer``/``TransferThrow`` alike). It hands the block's
    result straight back, so the interpreter may run it as a ``Transfer``: the handler frame is not
    kept alive waiting for the block (doeff analyses handler sources the same way to warn about
    non-tail resumes). The check is per yield site (the suspended frame's last instruction), so a
    ``Resume`` yielded anywhere else, including one a helper yields through ``yield from``, keeps
    its handler frame and gets the block's result back. ``every_yield`` spares that check.
    """
    import ast
    import textwrap

    code = getattr(fn, "__code__", None)
    if code is None or not hasattr(code, "co_positions"):
        return _NO_TAIL_SITES
    try:
        raw = inspect.getsource(fn)
        source = textwrap.dedent(raw)
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return _NO_TAIL_SITES
    indent = len(raw.splitlines()[0]) - len(source.splitlines()[0])
    func = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if func is None:
        return _NO_TAIL_SITES
    tail_yields = _tail_yields(func, set(code.co_cellvars) | _declared_outside(func))
    if not tail_yields:
        return _NO_TAIL_SITES
    first = code.co_firstlineno - 1
    wanted = {
        (y.lineno + first, y.end_lineno + first, y.col_offset + indent, y.end_col_offset + indent) for y in tail_yields
    }
    import dis

    yields = [ins for ins in dis.get_instructions(code) if ins.opname == "YIELD_VALUE"]
    offsets = frozenset(ins.offset for ins in yields if ins.positions is not None and tuple(ins.positions) in wanted)
    if len(offsets) != len(wanted):
        return _NO_TAIL_SITES  # the source and the code disagree (edited file, unusual compiler): no fast path
    return code, offsets, len(offsets) == len(yields)


def _declared_outside(func: Any) -> set:
    """Names ``func`` declares ``global``/``nonlocal``: assigning one is seen outside the handler."""
    import ast

    return {name for n in ast.walk(func) if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}


def _tail_yields(func: Any, shared_names: set) -> list:
    """The ``yield`` nodes of ``func``'s tail resumes outside any ``try``/``with`` (see above).
    ``r = yield Resume(...); return r`` counts unless ``r`` is in ``shared_names`` (a closure's cell,
    a global), where the assignment itself is seen by other code."""
    import ast

    found: list = []

    def is_resume(node: Any) -> bool:
        if not (isinstance(node, ast.Yield) and isinstance(node.value, ast.Call)):
            return False
        f = node.value.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        return name in _CONTROL_NAMES

    def assigned_resume(stmt: Any, following: Any) -> Any:
        """The yield of ``r = yield Resume(...)`` when ``following`` is ``return r``."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target = stmt.target
        else:
            return None
        if not (isinstance(target, ast.Name) and target.id not in shared_names and is_resume(stmt.value)):
            return None
        returned = following.value if isinstance(following, ast.Return) else None
        return stmt.value if isinstance(returned, ast.Name) and returned.id == target.id else None

    def visit(node: ast.AST, guarded: bool) -> None:
        for field in ("body", "orelse", "handlers", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or guarded:
                continue
            for stmt, following in zip(block, block[1:] + [None]):
                tail = assigned_resume(stmt, following)
                if tail is not None:
                    found.append(tail)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Return) and not guarded and is_resume(child.value):
                found.append(child.value)
                continue
            inner_guard = guarded or isinstance(child, (ast.Try, ast.With, ast.AsyncWith)) or type(child).__name__ == "TryStar"
            visit(child, inner_guard)

    visit(func, False)
    return found


class GeneratorHandler(Installer):
    """A ``@handler`` function: called with ``(effect, k)`` for every matching effect."""

    native = False

    def __init__(self, fn: Callable[..., Any]) -> None:
        raw = fn._fn if isinstance(fn, DoFunction) else fn
        self.fn = raw
        self.tail_code, self.tail_offsets, self.tail_only = _tail_resume_sites(raw)
        self.name = getattr(raw, "__qualname__", repr(raw))
        self.types = _effect_filter(raw)
        self.__doc__ = raw.__doc__
        self.__wrapped__ = raw
        handles = self.types if isinstance(self.types, tuple) else ()
        self.__doeff_handles__ = handles

    def __call__(self, program: Any = None) -> Program:
        if isinstance(self.types, tuple):
            for t in self.types:
                if not issubclass(t, E.EffectBase):
                    raise TypeError(
                        f"handler {self.name} ({_defined_at(self.fn)}) filters on {t.__name__}, which no effect can be "
                        "(effects subclass EffectBase); annotate the effect parameter with an effect class"
                    )
        return super().__call__(program)


def _defined_at(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    return f"defined at {code.co_filename}:{code.co_firstlineno}" if code else "defined at an unknown place"


def handler(fn: Callable[..., Any]) -> GeneratorHandler:
    """Turn ``def h(effect: T, k)`` into an installer; the annotation filters which effects it sees."""
    if isinstance(fn, GeneratorHandler):
        return fn
    if not (inspect.isfunction(fn) or isinstance(fn, DoFunction)):
        raise TypeError(f"@handler expects a function (effect, k), got {fn!r}; callable instances are refused")
    if getattr(fn, "__name__", "") == "<lambda>":
        raise TypeError("@handler refuses lambdas: write `def h(effect: SomeEffect, k): ...` so the annotation can filter effects")
    return GeneratorHandler(fn)


# --- composing -----------------------------------------------------------------------------------


def _check_installer(h: Any) -> None:
    if not getattr(h, "_doeff_is_handler_fn", False):
        name = getattr(h, "__qualname__", repr(h))
        raise TypeError(
            f"{name} is not a handler. Make it with @handler (def h(effect: SomeEffect, k): ...) "
            "or use a handler factory such as reader(env=...), state(), writer"
        )


def with_handlers(handlers: Iterable[Any], program: Program) -> Program:
    """Install ``handlers`` around ``program``; the FIRST is the OUTERMOST (doeff's order)."""
    hs = list(handlers)
    for h in hs:
        _check_installer(h)
    for h in reversed(hs):
        program = h(program)
    return program


class _Stacked(Installer):
    def __init__(self, handlers: tuple) -> None:
        self.handlers = handlers
        self.name = "stacked_handlers(" + ", ".join(getattr(h, "name", repr(h)) for h in handlers) + ")"

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        return with_handlers(self.handlers, program)


def stacked_handlers(*handlers: Any) -> Installer:
    """A reusable bundle of installers, first = outermost, like ``with_handlers``."""
    for h in handlers:
        _check_installer(h)
    return _Stacked(handlers)


# --- env: reader, lazy_ask, design_env, Local ----------------------------------------------------


def _refuse_program_arg(factory: str, value: Any) -> None:
    if isinstance(value, (Program, DoFunction)):
        raise TypeError(
            f"{factory}() got a program: {factory} is a handler factory. "
            f"Call it to build the handler, then apply that to the program: {factory}(...)(program)"
        )


class _Reader(NativeHandler):
    types = (E.Ask,)

    def __init__(self, env: Mapping[Any, Any]) -> None:
        self.env = env
        self.name = "reader"

    def handle(self, effect: Any, segment: Segment) -> Any:
        try:
            return self.env[effect.key]
        except KeyError:
            raise MissingEnvKeyError(effect.key, tuple(self.env), perform_site_location()) from None
        except TypeError:
            raise MissingEnvKeyError(effect.key, tuple(self.env), perform_site_location()) from None


def reader(env: Mapping[Any, Any] | None = None) -> Installer:
    """Answer ``Ask(key)`` from ``env`` (values as they are); a missing key raises ``MissingEnvKeyError``."""
    _refuse_program_arg("reader", env)
    return _Reader(env if env is not None else {})


class _Pending:
    """A cache entry being built; other tasks asking for it wait on ``future``."""

    __slots__ = ("future", "task", "chain")

    def __init__(self, task: Any, chain: tuple) -> None:
        self.future = Future()
        self.task = task
        self.chain = chain  # keys being built by ``task`` when this one started, outermost first


class DependencyCycleError(RuntimeError):
    """A lazily built env entry asks for itself, directly or through other entries."""


class _SharedCache:
    """What all the scopes of one lazy env share, as in doeff's ``lazy_ask``: the built entries whose
    dependencies no scope overrode (key -> value, key -> the keys its build asked for, transitively),
    the builds in progress (key -> ``_Pending``), and per task the dependency sets of the builds it
    is running (innermost last)."""

    __slots__ = ("values", "deps", "pending", "building")

    def __init__(self) -> None:
        self.values: dict = {}
        self.deps: dict = {}
        self.pending: dict = {}
        self.building: dict = {}

    def note(self, keys: Any) -> None:
        """The running task's innermost build depends on ``keys``."""
        stack = self.building.get(current_task())
        if stack:
            stack[-1].update(keys)

    def chain_of(self, task: Any) -> tuple:
        """The keys ``task`` is building right now, outermost first."""
        chains = [p.chain for p in self.pending.values() if p.task is task]
        return max(chains, key=len) if chains else ()


_MISS = object()


_Ask = E.Ask  # read on every Ask: a module global, not an attribute of the effects module


class _LazyEnv(NativeHandler):
    """Env whose Program-valued entries are evaluated on first use and cached (doeff's ``lazy_ask``).

    A ``Local`` scope is another ``_LazyEnv`` over the merged env, with the overridden keys and the
    same shared cache. Every build records which keys it asked for; an entry whose dependencies
    include an overridden key is cached in its scope only (and rebuilt by each such scope), any
    other entry in the shared cache, reused by every scope whose overrides it does not depend on.
    Unlike doeff 0.8.0, an overridden key's own program-valued override stays inside its scope too,
    as a pinjected design override would.
    """

    types = (E.Ask, E.Local)

    def __init__(
        self, env: Mapping[Any, Any], strict: bool, name: str, fresh_cache: bool, parent: "_LazyEnv | None" = None
    ) -> None:
        self.strict = strict
        self.name = name
        self.fresh_cache = fresh_cache
        if parent is None:
            self.env = env
            self.overridden: frozenset = frozenset()
            self.shared = _SharedCache()
        else:
            self.env = {**parent.env, **env}
            self.overridden = parent.overridden | frozenset(env)
            self.shared = parent.shared
        self.scope_values: dict = {}
        self.scope_deps: dict = {}

    def activate(self) -> Any:
        if not self.fresh_cache:
            return self
        return _LazyEnv(self.env, self.strict, self.name, False)

    def handle(self, effect: Any, segment: Segment) -> Any:
        if type(effect) is _Ask or isinstance(effect, _Ask):
            key = effect.key
            shared = self.shared
            if shared.building:
                shared.note((key,))
            try:
                raw = self.env[key]
            except (KeyError, TypeError):
                if self.strict:
                    raise MissingEnvKeyError(key, tuple(self.env), perform_site_location()) from None
                return PASS
            if not isinstance(raw, Program):
                return raw
            hit = self._lookup(key)
            if hit is not _MISS:
                return hit
            pending = shared.pending.get(key)
            if pending is not None:
                self._refuse_cycle(key, pending)
                return AtSite.outside(lambda k: self._wait_and_build(k, key, raw))
            return _carried(lambda p: self._evaluate(key, p), raw, self)
        # Local: a scope over the merged env, sharing this env's cache.
        return AtSite.outside(lambda k: _local_body(k, effect, self))

    def _lookup(self, key: Any) -> Any:
        """The cached value this scope may use for ``key`` (noting its dependencies), or ``_MISS``."""
        if key in self.scope_values:
            deps = self.scope_deps[key]
            value = self.scope_values[key]
        else:
            shared = self.shared
            if key not in shared.values:
                return _MISS
            deps = shared.deps[key]
            if self.overridden and (key in self.overridden or deps & self.overridden):
                return _MISS
            value = shared.values[key]
        if self.shared.building and deps:
            self.shared.note(deps)
        return value

    def _store(self, key: Any, value: Any, deps: frozenset) -> None:
        if self.overridden and (key in self.overridden or deps & self.overridden):
            self.scope_values[key] = value
            self.scope_deps[key] = deps
        else:
            self.shared.values[key] = value
            self.shared.deps[key] = deps

    def _refuse_cycle(self, key: Any, pending: _Pending) -> None:
        if pending.task is current_task():
            chain = self.shared.chain_of(pending.task)
            chain = chain[chain.index(key) :] if key in chain else (key,)
            cycle = " -> ".join(repr(c) for c in (*chain, key))
            raise DependencyCycleError(f"dependency cycle while building {key!r}: {cycle}")

    def _evaluate(self, key: Any, program: Program):
        shared = self.shared
        task = current_task()
        pending = _Pending(task, (*shared.chain_of(task), key))
        shared.pending[key] = pending
        stack = shared.building.setdefault(task, [])
        deps: set = set()
        stack.append(deps)
        try:
            value = yield program
        except BaseException as err:
            self._end_build(key, task, stack)
            complete_future(pending.future, None, err)
            raise
        self._end_build(key, task, stack)
        frozen = frozenset(deps)
        self._store(key, value, frozen)
        if stack:
            stack[-1].update(frozen)
        complete_future(pending.future, value, None)
        return value

    def _end_build(self, key: Any, task: Any, stack: list) -> None:
        stack.pop()
        if not stack:
            del self.shared.building[task]
        del self.shared.pending[key]

    def _wait_and_build(self, k: Any, key: Any, raw: Program):
        """Another task is building ``key``: wait for it (doeff's per-key semaphore), then use its
        value if this scope may, or build it here (after a failed build, or one cached in another
        scope)."""
        shared = self.shared
        while True:
            pending = shared.pending.get(key)
            if pending is None:
                break
            self._refuse_cycle(key, pending)
            try:
                yield E.Wait(pending.future)
            except Exception:  # noqa: BLE001 - the builder's failure is the builder's: build again here
                pass
        hit = self._lookup(key)
        if hit is _MISS:
            prepared = WithHandler(_Preactivated(self), _reinstalled(k, raw))
            hit = yield from self._evaluate(key, prepared)
        return (yield Transfer(k, hit))


def _reinstalled(k: Any, program: Program) -> Program:
    """``program`` under the handlers that sat between the perform site of ``k`` and its handler."""
    for h in handlers_between(k):  # innermost first, so it ends up innermost again
        if getattr(h, "reinstalled", True):
            program = WithHandler(_Preactivated(h), program)
    return program


def _carried(site: Callable[[Program], Any], program: Program, me: Any) -> AtSite:
    """Run a program an effect carries (``Try``, ``Listen``, a lazy singleton) the way doeff does:
    outside the handler ``me``, under copies of the handlers that sat between the perform site and
    ``me`` and of ``me`` itself ("OCaml 5" semantics). ``site(program)`` is a generator computing the
    answer from the prepared program."""

    def body(k: Any):
        prepared = WithHandler(_Preactivated(me), _reinstalled(k, program))
        value = yield from site(prepared)
        return (yield Transfer(k, value))

    return AtSite.outside(body)


def _local_body(k: Any, effect: Any, env_handler: Any = None):
    """Handler body for ``Local``: the carried program sees the handlers between the ``Local`` and
    this handler again (doeff's "OCaml 5" semantics), inside a scope of the env handler over the
    overridden keys (a plain layer of the overrides when there is no env handler)."""
    if env_handler is None:
        layer = _LazyEnv(effect.env, False, "local", False)
    else:
        layer = _LazyEnv(effect.env, env_handler.strict, env_handler.name, False, parent=env_handler)
    value = yield WithHandler(_Preactivated(layer), _reinstalled(k, effect.program))
    return (yield Transfer(k, value))


class _Preactivated(Installer):
    """Installs an already active handler object (shared state) around a program."""

    def __init__(self, active: Any) -> None:
        self.active = active
        self.name = getattr(active, "name", "handler")

    def activate(self) -> Any:
        return self.active


def lazy_ask(env: Mapping[Any, Any] | None = None, *, strict: bool = False) -> Installer:
    """Answer ``Ask``/``Local``; Program-valued entries run once and are cached; a miss passes outward."""
    _refuse_program_arg("lazy_ask", env)
    # As in doeff, the cache belongs to this handler object: re-running a program built with it, or
    # installing it on another program, reuses what it evaluated (design_env's cache is per run).
    return _LazyEnv(env if env is not None else {}, strict, "lazy_ask", False)


def design_env(env: Mapping[Any, Any] | None = None) -> Installer:
    """The migrated design: like ``lazy_ask(strict=True)`` (pinjected singletons, once per run).

    A missing key raises ``MissingEnvKeyError`` naming the key, the keys bound and close matches.
    """
    _refuse_program_arg("design_env", env)
    return _LazyEnv(dict(env) if env is not None else {}, True, "design_env", True)


class _LocalHandler(NativeHandler):
    types = (E.Local,)
    name = "local_handler"

    def handle(self, effect: Any, segment: Segment) -> Any:
        return AtSite.outside(lambda k: _local_body(k, effect))


local_handler = _LocalHandler()


# --- state and writer ------------------------------------------------------------------------------


_Get = E.Get
_Put = E.Put


class _State(NativeHandler):
    types = (E.Get, E.Put)
    name = "state"
    answered_inline = True  # the interpreter answers exact Get/Put from ``store`` itself

    def __init__(self, store: dict) -> None:
        self.store = store

    def handle(self, effect: Any, segment: Segment) -> Any:
        if type(effect) is _Get:
            return self.store.get(effect.key)
        if type(effect) is _Put:
            self.store[effect.key] = effect.value
            return None
        if isinstance(effect, _Get):
            return self.store.get(effect.key)
        self.store[effect.key] = effect.value
        return None


def state(initial: Mapping[Any, Any] | None = None) -> Installer:
    """Answer ``Get``/``Put`` from a dict (``Get`` of a missing key answers ``None``)."""
    _refuse_program_arg("state", initial)
    return _State(dict(initial) if initial else {})


state.__doeff_handles__ = (E.Get, E.Put)  # type: ignore[attr-defined]

WRITER_LOG_KEY = "__doeff_writer_log__"
_LOG_GET = E.Get(WRITER_LOG_KEY)


class _Writer(NativeHandler):
    """``Tell`` appends to a log kept in state under ``WRITER_LOG_KEY`` (as ``Some(list)``), as in
    doeff. When the nearest handler that sees ``Get`` is the native ``state()``, its store is
    updated in place (no effects, the fast path); any other handler there (a user's state handler,
    a spy) gets the ``Get``/``Put`` effects doeff's writer performs."""

    types = (E.Tell,)
    name = "writer"

    def handle(self, effect: Any, segment: Segment) -> Any:
        s = segment.parent
        while s is not None:
            if s.handler is not None and isinstance(_LOG_GET, s.types):  # a chain's bottom takes all: skip it
                h = s.handler
                if type(h) is not _State:
                    msg = effect.msg
                    return AtSite.outside(lambda k: _tell_through_state(k, msg))
                store = h.store
                cached = store.get(WRITER_LOG_KEY)
                if type(cached) is Some:
                    cached.value.append(effect.msg)
                else:
                    store[WRITER_LOG_KEY] = Some([effect.msg])
                return None
            s = s.parent
        raise UnhandledEffect(_LOG_GET, "writer (it keeps its log in state: install state() outside writer)")


def _tell_through_state(k: Any, msg: Any):
    """doeff's writer body: read the log with ``Get``, start it with ``Put``, append."""
    cached = yield E.Get(WRITER_LOG_KEY)
    if isinstance(cached, Some):
        cached.value.append(msg)
    else:
        yield E.Put(WRITER_LOG_KEY, Some([msg]))
    return (yield Transfer(k, None))


writer = _Writer()


@do
def writer_log():
    """A copy of the writer log collected so far (needs ``state``)."""
    cached = yield E.Get(WRITER_LOG_KEY)
    if isinstance(cached, Some):
        return list(cached.value)
    return []


# --- Try, Listen, observe --------------------------------------------------------------------------


def _try_site(program: Program):
    try:
        value = yield program
    except Exception as err:  # noqa: BLE001 - Try turns exceptions into Err
        return Err(err)
    return Ok(value)


class _TryHandler(NativeHandler):
    types = (E.Try,)
    name = "try_handler"

    def handle(self, effect: Any, segment: Segment) -> Any:
        return _carried(_try_site, effect.program, self)


try_handler = _TryHandler()


class _Observer(NativeHandler):
    """Sees every effect of ``types`` and passes it on unchanged."""

    def __init__(self, callback: Callable[[Any], None], types: Any = object, *, reinstalled: bool = True) -> None:
        self.callback = callback
        self.types = types
        self.name = "observe"
        # Listen is a handler in doeff, reinstalled around the programs outer handlers run on the
        # block's behalf (Try, Local, lazy entries); WithObserve is not, so those are not observed.
        self.reinstalled = reinstalled

    def handle(self, effect: Any, segment: Segment) -> Any:
        self.callback(effect)
        return PASS


def _listen_site(program: Program, types: tuple):
    seen: list = []
    value = yield WithHandler(_Observer(seen.append, types), program)
    return (value, seen)


class _ListenHandler(NativeHandler):
    types = (E.Listen,)
    name = "listen_handler"

    def handle(self, effect: Any, segment: Segment) -> Any:
        types = tuple(effect.types)
        return _carried(lambda p: _listen_site(p, types), effect.program, self)


listen_handler = _ListenHandler()


def WithObserve(observer: Callable[[Any], None], body: Program) -> Program:  # noqa: N802 - doeff's name
    """Run ``body``, calling ``observer(effect)`` for every effect it performs (observe only)."""
    return WithHandler(_Observer(observer, reinstalled=False), body)


# --- scheduling and await: built into the interpreter; these installers keep doeff's spelling ------


class _Identity(Installer):
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, program: Any = None) -> Program:
        if program is None:
            raise TypeError(f"{self.name} is a handler installer: call it on a program")
        _check_program(program, self.name)
        return program


_scheduled = _Identity("scheduled")


def scheduled(program: Any = None, *, implementation: Any = None) -> Program:
    """doeff's scheduler installer. Scheduling is built into ``run`` here, so this returns ``program``."""
    return _scheduled(program)


scheduled._doeff_is_handler_fn = True  # type: ignore[attr-defined]

_await = _Identity("await_handler")


def await_handler() -> Installer:
    """doeff's ``Await`` handler factory. ``Await`` is built into ``run`` here (a background event loop)."""
    return _await


# --- cache ----------------------------------------------------------------------------------------


class _MemoryCache(NativeHandler):
    types = (E.CacheGet, E.CachePut)

    def __init__(self, store: dict | None = None) -> None:
        self.store = store if store is not None else {}
        self.name = "memory_cache"

    def handle(self, effect: Any, segment: Segment) -> Any:
        if isinstance(effect, E.CacheGet):
            try:
                return self.store[effect.key]
            except KeyError:
                raise KeyError(effect.key) from None
        self.store[effect.key] = effect.value
        return None


def memory_cache(store: dict | None = None) -> Installer:
    """Answer ``CacheGet``/``CachePut`` from a dict (a miss raises ``KeyError`` at the yield)."""
    return _MemoryCache(store)


in_memory_cache_handler = memory_cache


__all__ = [
    "Installer",
    "NativeHandler",
    "GeneratorHandler",
    "handler",
    "with_handlers",
    "stacked_handlers",
    "reader",
    "lazy_ask",
    "design_env",
    "local_handler",
    "state",
    "writer",
    "writer_log",
    "try_handler",
    "listen_handler",
    "WithObserve",
    "scheduled",
    "await_handler",
    "memory_cache",
    "in_memory_cache_handler",
    "complete_future",
    "location_of",
]

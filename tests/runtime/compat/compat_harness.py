"""Runs one compat program on a backend (doeff 0.8.0 or doeff_migrate.runtime) and reduces what
happened to a comparable :class:`Outcome`.

A compat program is a function ``program(api) -> comparable`` written only against the names on
``api``, so the same source runs on both backends. ``api.trace`` is a fresh list per run; programs
append to it whatever shows order (handler calls, side effects, ``finally`` blocks). Values that
are backend objects (``Ok``/``Err``, tasks, exceptions) are reduced to plain data by the program
itself, because the two backends' classes are different objects.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

# Every name the runtime contract shares with doeff 0.8.0 and that the programs use.
API_NAMES = (
    "do", "Program", "Pure", "run", "EffectBase", "Effect", "handler",
    "Resume", "Transfer", "ResumeThrow", "TransferThrow", "Pass",
    "with_handlers", "stacked_handlers",
    "Ask", "Local", "Get", "Put", "Tell", "Try", "Ok", "Err",
    "Spawn", "Wait", "Gather", "Race", "Await", "CacheGet", "CachePut",
    "reader", "lazy_ask", "local_handler", "state", "writer", "writer_log", "try_handler",
    "scheduled", "await_handler", "MissingEnvKeyError", "UnhandledEffect",
    "in_memory_cache_handler",
    # Beyond the brief's list, also exported by both: effect capture and observation.
    "Listen", "listen_handler", "WithObserve", "CreateExternalPromise",
)

# Where doeff 0.8.0 keeps each name: handlers are not re-exported from `doeff` (importing them from
# there fails with a hint), and the cache effects live in their own module.
_DOEFF_MODULE_OF = {
    **dict.fromkeys(
        ("reader", "lazy_ask", "local_handler", "state", "writer", "writer_log", "try_handler",
         "await_handler", "listen_handler"),
        "doeff_core_effects.handlers",
    ),
    "scheduled": "doeff_core_effects.scheduler",
    "CacheGet": "doeff_core_effects.cache_effects",
    "CachePut": "doeff_core_effects.cache_effects",
    "in_memory_cache_handler": "doeff_core_effects.cache_handlers",
}

RUNTIME_MODULE = "doeff_migrate.runtime"
# The names whose absence means "the runtime is not written yet" rather than "a name is missing".
RUNTIME_READY_NAMES = ("run", "handler", "do")

# doeff warns (once per code object) about `Resume` used in a non-tail position; the programs do
# that on purpose to observe the block result, so the warning is noise here.
_NON_TAIL_RESUME_WARNING = r"non-tail Resume"
# doeff warns when a root body returns while a spawned task is still parked (a Race's loser); the
# race programs leave the loser behind on purpose.
_ABANDONED_TASK_WARNING = r"scheduler root body returned while abandoning"


class Api:
    """The names of one backend plus a fresh ``trace`` list; a missing name fails loudly."""

    def __init__(self, backend: str, names: dict[str, Any]) -> None:
        self.backend = backend
        self._names = names
        self.trace: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        try:
            return self._names[name]
        except KeyError:
            raise AttributeError(f"{self.backend} backend has no name {name!r}") from None


@functools.lru_cache(maxsize=None)
def doeff_names() -> dict[str, Any]:
    found = {}
    for name in API_NAMES:
        module = importlib.import_module(_DOEFF_MODULE_OF.get(name, "doeff"))
        found[name] = getattr(module, name)
    return found


def runtime_names() -> tuple[dict[str, Any], tuple[str, ...]]:
    """The runtime's names and the ones it still lacks (all of them while it is not importable)."""
    try:
        module = importlib.import_module(RUNTIME_MODULE)
    except ImportError:
        return {}, API_NAMES
    found = {name: getattr(module, name) for name in API_NAMES if hasattr(module, name)}
    return found, tuple(name for name in API_NAMES if name not in found)


def _builtin_lineage(exc_type: type) -> tuple[str, ...]:
    """The exception's own name, then the builtin classes it derives from (e.g. KeyError): what
    a user's ``except`` clause can rely on, independent of where the class is defined."""
    own = exc_type.__name__
    builtin_bases = tuple(
        base.__name__
        for base in exc_type.__mro__[1:]
        if getattr(builtins, base.__name__, None) is base and base not in (BaseException, object)
    )
    return (own, *builtin_bases)


@dataclass(frozen=True)
class Outcome:
    """What a program did on one backend: its value or the exception lineage, and its trace."""

    value: Any = None
    raised: tuple[str, ...] | None = None
    trace: tuple[Any, ...] = field(default=())


def returned(value: Any, *trace: Any) -> Outcome:
    return Outcome(value=value, trace=tuple(trace))


def raised(*lineage: str, trace: tuple[Any, ...] = ()) -> Outcome:
    return Outcome(raised=tuple(lineage), trace=tuple(trace))


def observe(program: Callable[[Api], Any], api: Api) -> Outcome:
    # doeff drops an aborted continuation; when CPython then closes a generator that yields in its
    # `finally`, it reports "generator ignored GeneratorExit" as unraisable. That report is not
    # part of the compared outcome (the trace shows what ran), so it is collected and dropped here.
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_NON_TAIL_RESUME_WARNING)
            warnings.filterwarnings("ignore", message=_ABANDONED_TASK_WARNING)
            try:
                value = program(api)
            except Exception as exc:  # the exception type is part of the observed behaviour
                return Outcome(raised=_builtin_lineage(type(exc)), trace=tuple(api.trace))
        return Outcome(value=value, trace=tuple(api.trace))
    finally:
        sys.unraisablehook = previous_hook


@dataclass(frozen=True)
class Scenario:
    program: Callable[[Api], Any]
    expected: Outcome
    # A difference the runtime documents on purpose: its own pinned outcome and why.
    runtime_expected: Outcome | None = None
    difference: str = ""
    # A known runtime bug the runtime's lead has not fixed yet: the runtime test is an expected
    # failure that turns into a real failure as soon as the runtime matches doeff (strict xfail).
    open_discrepancy: str = ""

    @property
    def name(self) -> str:
        return self.program.__name__


class Scenarios:
    """A module's compat programs, each with the outcome doeff 0.8.0 was seen to produce."""

    def __init__(self) -> None:
        self.all: list[Scenario] = []

    def add(
        self,
        expected: Outcome,
        *,
        runtime_expected: Outcome | None = None,
        difference: str = "",
        open_discrepancy: str = "",
    ) -> Callable[[Callable[[Api], Any]], Callable[[Api], Any]]:
        if (runtime_expected is None) != (not difference):
            raise ValueError("a documented difference needs both runtime_expected and its reason")

        def register(program: Callable[[Api], Any]) -> Callable[[Api], Any]:
            self.all.append(Scenario(program, expected, runtime_expected, difference, open_discrepancy))
            return program

        return register


def runtime_api_or_skip() -> Api:
    """The runtime's names, or a skip while the runtime is not written yet."""
    names, missing = runtime_names()
    not_ready = [name for name in RUNTIME_READY_NAMES if name in missing]
    if not_ready:
        pytest.skip(f"{RUNTIME_MODULE} does not provide {', '.join(not_ready)} yet")
    return Api("runtime", names)


def check_scenario(scenario: Scenario, backend: str) -> None:
    """doeff defines the truth: on the `doeff` backend its outcome must be the pinned one; on the
    `runtime` backend the runtime's outcome must equal doeff's, computed here in the same test,
    except for a difference the runtime documents, where its own pinned outcome is checked."""
    truth = observe(scenario.program, Api("doeff", doeff_names()))
    if backend == "doeff":
        assert truth == scenario.expected
        return
    actual = observe(scenario.program, runtime_api_or_skip())
    if scenario.runtime_expected is not None:
        assert actual == scenario.runtime_expected, f"documented difference: {scenario.difference}"
        return
    if scenario.open_discrepancy:
        assert actual != truth, (
            f"the runtime now matches doeff: drop open_discrepancy={scenario.open_discrepancy!r}"
        )
        pytest.xfail(f"open runtime discrepancy {scenario.open_discrepancy}: {actual} != {truth}")
    assert actual == truth

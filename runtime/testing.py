"""Test helpers: stub and fake handlers, and ``perform_sequence`` (after python-effect's testing.py).

Tests give a program handlers instead of infrastructure::

    stub = StubHandler({SystemCall: Responses(ConnectionError("refused"), "pod-1")})
    assert run(deploy(), handlers=[RetryHandler(SystemCall, attempts=2), stub]) == "pod-1"
    assert [c.cmd for c in stub.calls] == ["kubectl apply", "kubectl apply"]

    perform_sequence([
        (LoadData("train.csv"), lambda e: rows),
        (LogMetrics({"n": 3}), None),
    ], pipeline())
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from . import effects as E
from .handlers import NativeHandler
from .interpreter import PASS
from .recording import _short_repr
from .run import run


class Responses:
    """A sequence of answers for a stub, used one per call; an exception instance is raised.

    After the last one, further calls raise ``AssertionError`` (the test asked for fewer calls)
    unless ``repeat_last=True``.
    """

    def __init__(self, *answers: Any, repeat_last: bool = False) -> None:
        if not answers:
            raise ValueError("Responses(...) needs at least one answer")
        self.answers = list(answers)
        self.repeat_last = repeat_last
        self.used = 0

    def next_for(self, effect: Any) -> Any:
        if self.used >= len(self.answers):
            if not self.repeat_last:
                raise AssertionError(
                    f"stub got call {self.used + 1} for {_short_repr(effect)} but has only {len(self.answers)} "
                    "response(s); add more, or Responses(..., repeat_last=True)"
                )
            answer = self.answers[-1]
        else:
            answer = self.answers[self.used]
        self.used += 1
        return answer


def _respond(response: Any, effect: Any) -> Any:
    if isinstance(response, Responses):
        response = response.next_for(effect)
    if isinstance(response, BaseException):
        raise response
    if isinstance(response, type) and issubclass(response, BaseException):
        raise response()
    if callable(response):
        return response(effect)
    return response


class StubHandler(NativeHandler):
    """Answers effects by type from a mapping and records every call in ``.calls``.

    A mapping value is the answer itself, a function ``effect -> answer`` (a *fake*: it may keep
    state), an exception instance or class (raised at the ``yield``), or :class:`Responses` for a
    different answer per call. Effects of other types pass to the handlers outside.
    """

    def __init__(self, answers: Mapping[type, Any]) -> None:
        for t in answers:
            if not (isinstance(t, type) and issubclass(t, E.EffectBase)):
                raise TypeError(f"StubHandler: keys must be effect classes, got {t!r}")
        self.answers = dict(answers)
        self.types = tuple(self.answers)
        self.calls: list = []
        self.name = "StubHandler(" + ", ".join(t.__name__ for t in self.types) + ")"

    def handle(self, effect: Any, segment: Any) -> Any:
        self.calls.append(effect)
        for cls in type(effect).__mro__:
            if cls in self.answers:
                return _respond(self.answers[cls], effect)
        return PASS  # pragma: no cover - the type filter admits only mapped types

    def calls_of(self, effect_type: type) -> list:
        """The recorded calls of one effect type."""
        return [c for c in self.calls if isinstance(c, effect_type)]


def fake(fn: Callable[[Any], Any], *types: type) -> StubHandler:
    """A stub whose answer for each of ``types`` is ``fn(effect)``: ``fake(lambda e: e.x * 2, Double)``."""
    if not types:
        raise TypeError("fake(fn, EffectType, ...) needs at least one effect type")
    return StubHandler({t: fn for t in types})


class SequenceMismatch(AssertionError):
    """``perform_sequence``: the program performed an effect other than the next expected one."""


_IGNORED_BY_DEFAULT = (
    E.Ask, E.Local, E.Get, E.Put, E.Tell, E.Listen, E.Try,
    E.Spawn, E.Wait, E.Gather, E.Race, E.CreateExternalPromise,
)


class _SequenceHandler(NativeHandler):
    def __init__(self, sequence: Sequence[tuple], ignore: tuple) -> None:
        self.sequence = list(sequence)
        self.position = 0
        self.log: list = []
        self.ignore = ignore
        self.name = "perform_sequence"

    @property
    def types(self) -> Any:
        return _NotIgnored(self.ignore)

    def handle(self, effect: Any, segment: Any) -> Any:
        if self.position >= len(self.sequence):
            self.log.append(("NOT FOUND", effect))
            raise SequenceMismatch(f"unexpected effect {_short_repr(effect)}: the sequence was already used up\n" + self.render())
        expected, response = self.sequence[self.position]
        if effect != expected:
            self.log.append(("NOT FOUND", effect))
            raise SequenceMismatch(
                f"expected {_short_repr(expected)} (step {self.position + 1} of {len(self.sequence)}), "
                f"got {_short_repr(effect)}\n" + self.render()
            )
        self.position += 1
        self.log.append(("sequence", effect))
        return _respond(response, effect)

    def render(self) -> str:
        lines = ["effects performed:"]
        lines += [f"  {mark:>9}  {_short_repr(e)}" for mark, e in self.log]
        rest = self.sequence[self.position:]
        if rest:
            lines.append("still expected:")
            lines += [f"  {'':>9}  {_short_repr(e)}" for e, _ in rest]
        return "\n".join(lines)


class _NotIgnored:
    def __init__(self, ignore: tuple) -> None:
        self.ignore = ignore

    def __instancecheck__(self, obj: Any) -> bool:
        return not isinstance(obj, self.ignore)


def perform_sequence(
    sequence: Iterable[tuple],
    program: Any,
    *,
    handlers: Sequence[Any] = (),
    env: Mapping[Any, Any] | None = None,
    ignore: Iterable[type] = _IGNORED_BY_DEFAULT,
) -> Any:
    """Run ``program`` answering its effects from ``[(expected_effect, response), ...]`` in order.

    Each effect performed must equal the next expected one (effects compare by value); its
    response is an answer, a function of the effect, or an exception to raise. Effects of the
    ``ignore`` types (env, state, scheduling) go to ``handlers`` and ``env`` instead. A mismatch, an
    extra effect, or expected effects never performed raise :class:`SequenceMismatch` showing the
    effects seen so far, each marked ``sequence`` or ``NOT FOUND``. Returns the program's value.
    """
    seq = _SequenceHandler(list(sequence), tuple(ignore))
    value = run(program, handlers=[seq, *handlers], env=env)
    if seq.position < len(seq.sequence):
        raise SequenceMismatch(
            f"the program finished after {seq.position} of {len(seq.sequence)} expected effects\n" + seq.render()
        )
    return value


def run_injected_test(program: Any, module_name: str, override: Any = None) -> Any:
    """The body of a migrated ``@injected_pytest`` test: run ``program`` as pinjected ran the test.

    The env is the runner's env of the test module (everything registered
    by the modules imported so far, then the ``__design__`` dicts of the package hierarchy, root to
    leaf, the module's own last), with ``override`` on top; the keys of ``__doeff_requires__`` for the
    program are checked and its instances built before it runs; an awaitable result is awaited. Exceptions
    reach pytest as they are (pinjected unwraps single-exception groups to the same effect).
    """
    import inspect
    import sys
    from collections.abc import Mapping

    from .effects import Await
    from .entry import build_env, preflight
    from .entry import is_doeff_value as _is_doeff_value, prebuilt as _eager, run_on_doeff as _run_on_doeff, runtime_api as _runtime_api
    from .program import do

    env = build_env(module_name, "")
    if override is not None:
        if not isinstance(override, Mapping):
            raise TypeError(
                f"@injected_pytest override must be an env mapping (a migrated design), got {type(override).__name__}: "
                "migrate the code that builds it"
            )
        env.update(override)
    if _is_doeff_value(program):  # migrated with ``--target doeff``: run on the doeff package
        return _run_on_doeff(program, env, (), lazy=True, runtime_handlers=(), module_handlers=())
    # pinjected resolves the test's whole dependency graph before its body runs: the keys the codemod
    # listed for it are checked (a missing one fails the test before anything runs) and the
    # instances among them built first, in the order pinjected builds them.
    name = getattr(getattr(program, "func", None), "__name__", "")  # a Call: the @do function's body
    keys = preflight(sys.modules[module_name], name, env) if name else ()
    program = _eager(keys, env, program, _runtime_api())

    @do
    def awaited():
        value = yield program
        if inspect.isawaitable(value):
            value = yield Await(value)
        return value

    return run(awaited(), env=env)


__all__ = ["StubHandler", "Responses", "fake", "perform_sequence", "SequenceMismatch", "run_injected_test"]

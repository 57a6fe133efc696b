"""``RetryHandler``: one retry policy per effect type instead of copy-pasted retry loops (seed 001).

::

    run(deploy(), handlers=[
        RetryHandler(SystemCall, attempts=3, backoff=1.0, retry_if=lambda e: "timeout" in str(e)),
        SystemCallHandler(),
    ])

The handler re-performs the effect to the handlers outside it; when they raise an exception the
policy accepts, it waits (``backoff * multiplier**(attempt-1)``, capped by ``max_delay``) and asks
again. The wait parks only the retrying task (``Await(asyncio.sleep(...))``), so other tasks run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Callable, Iterable, Mapping

from . import effects as E
from .handlers import Installer
from .program import Transfer

logger = logging.getLogger("doeff_migrate.runtime.retry")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How to retry: up to ``attempts`` tries in all, on exceptions of ``retry_on`` for which
    ``retry_if(exc)`` (when given) is true, waiting ``backoff * multiplier**(n-1)`` seconds (at most
    ``max_delay``) before try ``n + 1``."""

    attempts: int = 3
    backoff: float = 0.0
    multiplier: float = 2.0
    max_delay: float | None = None
    retry_on: tuple = (Exception,)
    retry_if: Callable[[BaseException], bool] | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy(attempts={self.attempts}): at least 1 attempt is needed")
        if self.backoff < 0 or self.multiplier < 0:
            raise ValueError("RetryPolicy: backoff and multiplier must be >= 0")
        if isinstance(self.retry_on, type):
            object.__setattr__(self, "retry_on", (self.retry_on,))

    def should_retry(self, error: BaseException) -> bool:
        if not isinstance(error, self.retry_on):
            return False
        return self.retry_if is None or bool(self.retry_if(error))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        d = self.backoff * (self.multiplier ** (attempt - 1))
        return min(d, self.max_delay) if self.max_delay is not None else d


@dataclasses.dataclass(frozen=True)
class RetryAttempt:
    """A failed try that was retried: the effect, which try failed, the error, the wait before the next."""

    effect: Any
    attempt: int
    error: BaseException
    delay: float


class RetryHandler(Installer):
    """Retries effects of the given types when the handlers outside raise, following a policy.

    ``RetryHandler(T, attempts=3, backoff=0.5)`` retries effect type ``T`` (or a tuple of types);
    ``RetryHandler({T1: RetryPolicy(...), T2: RetryPolicy(...)})`` gives each type its own policy.
    ``on_retry(attempt)`` is called with a :class:`RetryAttempt` before each wait, every retry is
    logged on the ``doeff_migrate.runtime.retry`` logger and kept in ``.retries``; ``sleep``
    replaces the non-blocking wait (e.g. ``sleep=lambda s: None`` in tests). When the last try
    fails, or the error is not retryable, the error is raised at the effect's ``yield``.
    """

    native = False

    def __init__(
        self,
        effects: type | Iterable[type] | Mapping[type, RetryPolicy],
        policy: RetryPolicy | None = None,
        *,
        on_retry: Callable[[RetryAttempt], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        **policy_fields: Any,
    ) -> None:
        if isinstance(effects, Mapping):
            if policy is not None or policy_fields:
                raise TypeError("RetryHandler({Type: RetryPolicy(...)}) takes its policies from the mapping only")
            policies = dict(effects)
        else:
            types = (effects,) if isinstance(effects, type) else tuple(effects)
            shared = policy if policy is not None else RetryPolicy(**policy_fields)
            policies = {t: shared for t in types}
        for t, p in policies.items():
            if not (isinstance(t, type) and issubclass(t, E.EffectBase)):
                raise TypeError(f"RetryHandler: {t!r} is not an effect class")
            if issubclass(t, E.Spawn) or t in (E.Wait, E.Gather, E.Race):
                raise TypeError(f"RetryHandler cannot retry {t.__name__}: retry the effects inside the spawned program")
            if not isinstance(p, RetryPolicy):
                raise TypeError(f"RetryHandler: the policy for {t.__name__} must be a RetryPolicy, got {p!r}")
        self.policies = policies
        self.types = tuple(policies)
        self.on_retry = on_retry
        self.sleep = sleep
        self.retries: list = []
        self.name = "RetryHandler(" + ", ".join(t.__name__ for t in self.types) + ")"

    def policy_for(self, effect: Any) -> RetryPolicy:
        for cls in type(effect).__mro__:
            p = self.policies.get(cls)
            if p is not None:
                return p
        raise AssertionError(type(effect))  # pragma: no cover - the type filter admits only these

    def fn(self, effect: Any, k: Any):
        policy = self.policy_for(effect)
        attempt = 1
        while True:
            try:
                value = yield effect
            except Exception as err:
                if attempt >= policy.attempts or not policy.should_retry(err):
                    raise
                delay = policy.delay(attempt)
                record = RetryAttempt(effect, attempt, err, delay)
                self.retries.append(record)
                logger.warning(
                    "retry %d/%d of %r after %s: %s (waiting %.3gs)",
                    attempt, policy.attempts - 1, effect, type(err).__name__, err, delay,
                )
                if self.on_retry is not None:
                    self.on_retry(record)
                if delay > 0:
                    if self.sleep is not None:
                        self.sleep(delay)
                    else:
                        yield E.Await(asyncio.sleep(delay))
                attempt += 1
                continue
            return (yield Transfer(k, value))


__all__ = ["RetryHandler", "RetryPolicy", "RetryAttempt"]

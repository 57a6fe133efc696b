"""Flags mistakes in effect code (DM5xx): programs built but never run, async in `@do`, unbound Ask keys.

Background: doeff 0.8.0's `@do`: calling a `@do` function only builds a
program; it runs when yielded. `@do` refuses `async def`; `Await` is the bridge to coroutines.
"""

from __future__ import annotations

from . import EDITOR, Invalid, Rule, Valid, register
from .cases import DO_CALL_NOT_YIELDED

_AWAIT_AND_ASYNC_IN_DO = """
from doeff_migrate.runtime import do, handler, Ask, EffectBase

@do
def sub():
    return 1

@do
def main(client):
    page = await client.get('u')
    x = yield from sub()
    async with client:
        pass
    return page

@do
async def bad():
    return 1
"""
"""``await``, ``yield from`` a program, ``async with`` and ``async def`` in ``@do`` functions."""

DO_CALL_WITHOUT_YIELD = register(
    Rule(
        code="DM501",
        name="do-call-without-yield",
        message="Result of a `@do` function call is discarded without `yield`",
        what="Reports a statement that calls a `@do` function and drops the result instead of yielding it.",
        why=(
            "Calling a `@do` function only builds a program; nothing runs until the program is yielded. "
            "The call as written silently does nothing (the usual slip when `await f()` or `f()` was "
            "migrated by hand)."
        ),
        example="@do\ndef main():\n    save_checkpoint(model)",
        use_instead="@do\ndef main():\n    yield save_checkpoint(model)",
        fix_safety=(
            "Inside a `@do` function the fix inserts `yield`, which makes the program run: that is a change "
            "of behaviour, and the intended one. Outside `@do` code no fix is offered."
        ),
        phase="di",
        fix="edit",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase

                @do
                def f(time):
                    return time.time()
                """, path='mod.py'),
        ),
        invalid=(
            Invalid(DO_CALL_NOT_YIELDED, path='mod.py', line=9),
        ),
    )
)

AWAIT_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM502",
        name="await-in-effectful-code",
        message="`await` inside a `@do` function",
        what="Reports `await` expressions (and `async for`/`async with`) inside a `@do` function.",
        why=(
            "A `@do` function is a generator driven by the interpreter; it cannot `await`. Coroutines are "
            "run by yielding `Await(coro)`, which the await handler answers."
        ),
        example="@do\ndef fetch(client):\n    page = await client.get(url)",
        use_instead="@do\ndef fetch(client):\n    page = yield Await(client.get(url))",
        fix_safety="The fix rewrites `await x` to `(yield Await(x))` and imports `Await` when it is missing.",
        phase="di",
        fix="edit",
        reported_by=(EDITOR,),
        valid=(
            Valid(DO_CALL_NOT_YIELDED, path='mod.py'),
        ),
        invalid=(
            Invalid(_AWAIT_AND_ASYNC_IN_DO, path='mod.py', line=9),
        ),
    )
)

ASYNC_DO_FUNCTION = register(
    Rule(
        code="DM503",
        name="async-do-function",
        message="`@do` on an `async def` function",
        what="Reports an `async def` decorated with `@do`.",
        why="doeff's `@do` raises `TypeError` at decoration time for coroutine functions; the module fails to import.",
        example="@do\nasync def load(path):\n    return await read(path)",
        use_instead="@do\ndef load(path):\n    return (yield Await(read(path)))",
        phase="di",
        reported_by=(EDITOR,),
        valid=(
            Valid(DO_CALL_NOT_YIELDED, path='mod.py'),
        ),
        invalid=(
            Invalid(_AWAIT_AND_ASYNC_IN_DO, path='mod.py', line=16),
        ),
    )
)

YIELD_FROM_PROGRAM = register(
    Rule(
        code="DM504",
        name="yield-from-program",
        message="`yield from` on a program inside a `@do` function",
        what="Reports `yield from f(...)` inside a `@do` function.",
        why=(
            "`yield from` splices the callee's generator into the caller, bypassing the interpreter's call "
            "frames (handlers, tracebacks, recording keys). Yield the program instead; doeff's own lint "
            "(`doeff-no-direct-generator-in-do`) forbids the form."
        ),
        example="@do\ndef main():\n    a = yield from greet('A')",
        use_instead="@do\ndef main():\n    a = yield greet('A')",
        fix_safety="Safe: `yield f()` and `yield from f()` return the same value for a `@do` function.",
        phase="di",
        fix="edit",
        reported_by=(EDITOR,),
        valid=(
            Valid(DO_CALL_NOT_YIELDED, path='mod.py'),
        ),
        invalid=(
            Invalid(_AWAIT_AND_ASYNC_IN_DO, path='mod.py', line=10),
        ),
    )
)

UNBOUND_ASK_KEY = register(
    Rule(
        code="DM505",
        name="unbound-ask-key",
        message="`Ask` for a key that no env in the project binds",
        what=(
            "Reports `Ask(\"key\")` with a literal key that no `__design__`/env dict, `Local`, design, "
            "`run(..., env=...)` or migrated injected function/instance in the project binds."
        ),
        why=(
            "The program fails at run time with a missing-key error when it reaches the `Ask`. Keys bound "
            "only in user configuration (`~/.pinjected.py`, CLI overrides) are invisible to the analysis: "
            "suppress with `# noqa: DM505` there."
        ),
        example='@do\ndef train():\n    lr = yield Ask("learnig_rate")',
        use_instead='@do\ndef train():\n    lr = yield Ask("learning_rate")',
        phase="di",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from doeff_migrate.runtime import Ask, do


                @do
                def train():
                    lr = yield Ask("learning_rate")
                    return lr
                """, path='train.py', files=(('__init__.py', """
                    __design__ = {"learning_rate": 0.1}
                    """),)),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import Ask, do


                @do
                def train():
                    lr = yield Ask("learnig_rate")
                    return lr
                """, path='train.py', files=(('__init__.py', """
                    __design__ = {"learning_rate": 0.1}
                    """),), line=6),
        ),
    )
)

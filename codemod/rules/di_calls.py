"""Rules of phase ``di`` for function bodies and entry points the codemod cannot rewrite faithfully.

Each construct below has no rewrite that returns what pinjected returned (a rewrite would return something
else, or crash), so the codemod leaves it exactly as it was and writes ``# doeff-migrate: DM13x: <message>``
above it (``# noqa: DM13x`` suppresses the flag). Codes DM130-DM149.
"""

from . import TARGET_DOEFF as _TARGET_DOEFF
from . import Invalid, Rule, Valid, register
from .common import NO_FIX as _NO_FIX

AWAITED_SYNC_DEPENDENCY = register(
    Rule(
        code="DM130",
        name="awaited-dependency-of-unknown-async-ness",
        message="awaited injected dependency that is sync for some bindings and async for others: rewrite by hand",
        what="Flags an `await dep(...)` (or `asyncio.gather(dep(...))`) where the dependency key is bound both "
        "to an `async def` and to a plain `def` that returns an awaitable, or where a sync dependency's result "
        "is gathered.",
        why="An async injected function's program returns the value; a sync one that returns a coroutine "
        "returns the coroutine, which must then be awaited (`yield Await((yield dep(x)))`). With both kinds "
        "behind one key, no single rewrite is right for every design.",
        example="@injected\nasync def a_page(fetch, /, url):\n    return await fetch(url)  # fetch: sync in one design, async in another",
        use_instead="@do\ndef a_page(url):\n    fetch = yield Ask(\"fetch\")\n    return (yield Await((yield fetch(url))))  # when every fetch returns an awaitable",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def fetch(client, /, url):
                    return client.get(url)

                @injected
                async def a_page(fetch, /, url):
                    return (await fetch(url)).upper()
                """),
        ),
        invalid=(
            Invalid("""

                import asyncio
                from pinjected import injected

                @injected
                def fetch(client, /, url):
                    return client.get(url)

                @injected
                async def a_pages(fetch, /):
                    return await asyncio.gather(fetch("a"), fetch("b"))
                """, path='app/main.py', line=9),
        ),
    )
)

GATHER_WITH_OPTIONS = register(
    Rule(
        code="DM131",
        name="gather-with-options-over-dependencies",
        message="`asyncio.gather(...)` with keyword or star arguments over injected calls: rewrite with Spawn/Gather by hand",
        what="Flags `await asyncio.gather(dep(1), dep(2), return_exceptions=True)` (any keyword or `*args`) "
        "where the gathered calls are injected dependencies.",
        why="After migration the dependency calls return programs, which `asyncio.gather` cannot await "
        "(`TypeError: An asyncio.Future, a coroutine or an awaitable is required`); `return_exceptions=True` "
        "has no one-line doeff form (each task needs its own error handling).",
        example="res = await asyncio.gather(a_item(1), a_item(2), return_exceptions=True)",
        use_instead="t1 = yield Spawn(a_item(1))\nt2 = yield Spawn(a_item(2))\nres = [(yield Try(Wait(t))) for t in (t1, t2)]  # per-task errors",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                import asyncio as aio
                from pinjected import IProxy, injected

                @injected
                async def a_item(x):
                    return x * 10

                @injected
                async def a_all(a_item, /):
                    return await aio.gather(a_item(1), a_item(2))
                """, path='app/main.py'),
        ),
        invalid=(
            Invalid("""
                import asyncio
                from pinjected import IProxy, injected

                @injected
                async def a_item(x):
                    return x * 10

                @injected
                async def a_all(a_item, /):
                    return await asyncio.gather(a_item(1), a_item(2), return_exceptions=True)
                """, path='app/main.py', line=8),
        ),
    )
)

EVENT_LOOP_API = register(
    Rule(
        code="DM132",
        name="event-loop-api-in-injected-body",
        message="event-loop API (`create_task`, `get_running_loop`, ...) in an injected body: move it behind an effect handler",
        what="Flags `@injected`/`@instance` bodies calling `asyncio.create_task`, `ensure_future`, "
        "`get_running_loop`, `get_event_loop`, `current_task`, `all_tasks`, `shield`, `TaskGroup` or `timeout` "
        "(resolved through the module's imports: `from asyncio import create_task` too).",
        why="pinjected runs every body inside its event loop; a `@do` body runs outside any coroutine, so "
        "these calls fail with `RuntimeError: no running event loop` (or bind to another loop).",
        example="@injected\nasync def a_run(x):\n    t = asyncio.create_task(plain(x))\n    return await t",
        use_instead="@do\ndef a_run(x):\n    t = yield Spawn(Await(plain(x)))\n    return (yield Wait(t))",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""

                import asyncio
                from pinjected import injected

                async def plain():
                    return 1

                @injected
                async def a_run(base, /):
                    t = asyncio.get_running_loop().create_future()
                    return await t
                """, path='app/main.py'),
        ),
        invalid=(
            Invalid("""

                import asyncio
                from pinjected import injected

                @injected
                def run(base, /):
                    return asyncio.get_running_loop()
                """, path='app/main.py', line=5),
        ),
    )
)

STOP_ITERATION_ESCAPES = register(
    Rule(
        code="DM133",
        name="stop-iteration-escapes-injected-body",
        message="`StopIteration` can leave this body (`next()` without default / `raise StopIteration`): it becomes RuntimeError in a @do function",
        what="Flags injected bodies that call `next(it)` without a default outside any `try`, or raise "
        "`StopIteration` themselves.",
        why="A `@do` function is a generator: under PEP 479 a `StopIteration` leaving it is turned into "
        "`RuntimeError`, so callers' `except StopIteration` no longer match.",
        example="@injected\ndef first_match(items, /, pred):\n    return next(x for x in items if pred(x))",
        use_instead="@do\ndef first_match(pred):\n    items = yield Ask(\"items\")\n    found = next((x for x in items if pred(x)), _MISSING)\n    if found is _MISSING:\n        raise LookupError(\"no match\")\n    return found",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import IProxy, injected

                @injected
                def score(scale, /, x):
                    return x * scale

                @injected
                def report(score, /, x):
                    return score(x) + 1

                score: IProxy = score(5)
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @injected
                def first_match(items, /, pred):
                    return next(x for x in items if pred(x))

                @injected
                def pick(first_match, /, limit):
                    try:
                        return first_match(lambda x: x > limit)
                    except StopIteration:
                        return "none"

                found: IProxy = pick(2)
                missing: IProxy = pick(100)
                __design__ = design(items=[1, 2, 3, 4])
                """, path='app/main.py', files=(('app/__init__.py', """

                    """),), line=3),
        ),
    )
)

INJECTED_ANNOTATED_PARAMETER = register(
    Rule(
        code="DM134",
        name="runtime-parameter-annotated-injected",
        message="IProxy handed to a parameter annotated `Injected`: pinjected passes it unevaluated, which has no doeff form",
        what="Under `--target doeff`, flags entry points passing a pinjected leaf to a runtime parameter annotated "
        "exactly `Injected`. (On the bundled runtime the argument is handed over unevaluated as its Program "
        "expression, and `__resolver__[x]` resolves it.)",
        why="pinjected keeps arguments for `: Injected` parameters unevaluated (C1 `KeepArgsPure`, which compares "
        "the annotation with `Injected`); the counterpart of the unevaluated object is a Program expression, "
        "which exists in the bundled runtime only.",
        example="@injected\ndef describe(x: Injected):\n    return type(x).__name__\n\nmain: IProxy = describe(injected(\"k\"))",
        use_instead="@do\ndef describe(program):  # take a Program and run it where needed\n    ...",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import *

                @injected
                def f(timeout=10, /, url="u"):
                    return [timeout, url]

                main: IProxy = f()
                __design__ = design(timeout=99)
                """, path='app/main.py', files=(('app/__init__.py', """

                    """),)),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @injected
                def describe(x: Injected):
                    return type(x).__name__

                main: IProxy = describe(injected("k"))
                __design__ = design(k=1)
                """, path='app/main.py', files=(('app/__init__.py', """

                    """),), pyproject=_TARGET_DOEFF, line=7),
        ),
    )
)

PINJECTED_API_IN_PLAIN_FUNCTION = register(
    Rule(
        code="DM135",
        name="pinjected-api-in-plain-function",
        message="pinjected API (`injected(...)`, `Injected.*`) inside a plain function: it now mixes with @do programs; port by hand",
        what="Flags undecorated functions of a migrated file whose body builds pinjected objects the codemod cannot "
        "translate. A function whose only pinjected uses are `injected(\"k\")`, `Injected.pure/by_name/ensure_injected/"
        "mzip/zip/tuple/list/dict/bind(...)` and `Injected`/`IProxy` as types is migrated instead: it builds the "
        "runtime's programs (`by_name`, `pure_value`, `ensure_injected`, `mzip`, `list_of`, `dict_of`, `bind`). "
        "Flagged are functions (with the functions they nest) that also use a member with no counterpart "
        "(`.proxy`, `.eval()`, `add_dynamic_dependencies`, `Injected.procedure`, resolver internals, "
        "`update_if_registered`...), pass an Injected value to a callee that is not a plain function of the module "
        "(an injected function resolves it first), `IProxy(...)`, or open a `with design(...):` block "
        "(pinjected scopes what is built under it to that design; the migrated calls would run with the module's env). "
        "Designs built by helpers are DM115's.",
        why="The codemod only rewrites module-level entry points and designs. A helper that builds an IProxy "
        "from migrated functions now hands pinjected objects (`DelegatedVar`) to programs as plain "
        "arguments: the run succeeds with a wrong value.",
        example="def make_job():\n    return train(injected(\"alt_lr\"))",
        use_instead="@do\ndef make_job():\n    return (yield train((yield Ask(\"alt_lr\"))))",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                def pick(key):
                    return injected(key)
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import Injected

                def lazy(x):
                    return Injected.pure(x).proxy
                """, line=3),
        ),
    )
)


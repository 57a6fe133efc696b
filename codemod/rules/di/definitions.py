"""Rules of phase ``di`` for ``@injected``/``@instance`` definitions whose shape has no faithful translation:
generators, nested or stacked definitions, ``*args`` on ``@instance``, eager instances, classes.

Each entry is a pinjected construct that cannot be translated mechanically. The codemod
writes ``# doeff-migrate: DM1xx: <message>`` on the line above the construct and changes nothing in
it; ``# noqa: DM1xx`` on the construct (or in the comments above it) suppresses the flag.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..common import NO_FIX

_CONTEXT_MANAGER_ABOVE_INJECTED = """
from contextlib import contextmanager
from pinjected import injected

@contextmanager  # <-
@injected
def session(client, /, name):
    yield client
"""
"""``@contextmanager`` stacked above an ``@injected`` generator."""

_DECORATOR_ABOVE_INJECTED = """
from beartype import beartype
from pinjected import injected

@beartype  # <-
@injected
def f(dep, /, x: int) -> int:
    return dep + x
"""
"""A plain decorator stacked above ``@injected``."""

_INSTANCE_WITH_STAR_ARGS = """
from pinjected import instance

@instance  # <-
def pool(*workers):
    return workers
"""
"""An ``@instance`` taking ``*workers``."""

INJECTED_GENERATOR = register(
    Rule(
        code="DM101",
        name="injected-generator-without-counterpart",
        message="generator or context manager where pinjected's calling convention cannot be kept: port it by hand",
        what="Flags `@injected_pytest` tests whose body is a generator or that carry `@contextmanager`/"
        "`@asynccontextmanager`, and `@injected`/`@instance` functions with such a decorator placed above the "
        "pinjected one. (Injected generator functions and context-manager providers with the decorator under "
        "`@injected` are migrated: the function stays as written under `@pass_dependencies`.)",
        why="A `@do` body is itself a generator: its own `yield`s would be read as effects. A decorator above "
        "`@injected` wraps pinjected's IProxy, which has no runtime counterpart.",
        example="@contextmanager\n@injected\ndef session(client, /, name):\n    yield client.open(name)",
        use_instead="@function_binding\n@pass_dependencies(client=Ask)\n@contextmanager\ndef session(client, /, name):\n    yield client.open(name)",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(_DECORATOR_ABOVE_INJECTED),
        ),
        invalid=(
            Invalid(_CONTEXT_MANAGER_ABOVE_INJECTED, line=4),
        ),
    )
)


CLASS_INJECTION = register(
    Rule(
        code="DM103",
        name="class-based-injection",
        message="`injected(...)` of a value the codemod cannot classify (a key held in a variable, an expression): port it by hand",
        what="Flags `injected(x)` whose argument is not a key string, a class or a plain function the codemod "
        "can see (e.g. a key held in a variable), and class injection (`injected(C)`, `@injected` classes) "
        "under `--target doeff`, which has no class constructor.",
        why="Class injection migrates to `class_constructor(C)` / `@class_binding` (runtime/classes.py: `new_C` "
        "resolved by pinjected's rules, methods keep calling `self._dep(...)`), and `injected(f)` of a plain "
        "function to `injected_function(f)`. What is left is known only at run time (`injected(key)` may be a "
        "key, a class or a function) or needs the bundled runtime.",
        example="def pick(key):\n    return injected(key)",
        use_instead="@do\ndef pick(key):\n    return (yield Ask(key))",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import Injected

                def pick(name):
                    return Injected.dynamic(name)  # <-
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                KEY = "a"
                picked = injected(KEY)
                """, line=4),
        ),
    )
)


EAGER_INSTANCE = register(
    Rule(
        code="DM105",
        name="eager-or-loop-bound-instance",
        message="@instance creates a task, future or asyncio primitive: it must start at resolution, keep it by hand",
        what="Flags `@instance` bodies that call `asyncio.create_task`, `ensure_future`, or build "
        "`Lock`/`Semaphore`/`Event`/`Condition`/`Queue` objects.",
        why="Migrated instances are built lazily (or by the runner's pre-flight) inside the runtime, and "
        "coroutines run on the runtime's own loop thread: a background task would start at another "
        "time and loop-bound primitives would belong to another loop.",
        example="@instance\nasync def worker(queue):\n    return asyncio.create_task(consume(queue))",
        use_instead="@do\ndef start_worker():\n    queue = yield Ask(\"queue\")\n    return (yield Spawn(consume(queue), daemon=True))",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(_INSTANCE_WITH_STAR_ARGS),
        ),
        invalid=(
            Invalid("""
                import asyncio
                from pinjected import instance

                @instance  # <-
                async def worker(queue):
                    return asyncio.create_task(queue.get())
                """, line=4),
        ),
    )
)


STACKED_DECORATOR = register(
    Rule(
        code="DM112",
        name="decorator-above-injected",
        message="decorator above the pinjected one, or pinjected decorator arguments the codemod does not know: port it by hand",
        what="Flags `@injected` functions with a decorator *above* the pinjected one that is not written for "
        "pinjected's IProxy: a plain decorator of another package (`@beartype`), one of the standard library "
        "(`@functools.lru_cache()`), a decorator of this module that uses none of pinjected's API or stays "
        "pinjected itself (DM135); any decorator above `@instance`; `@injected_pytest` tests with other "
        "decorators; pinjected decorators called with arguments other than `protocol=`/`callable=`. "
        "(Decorators written for `@injected` functions, such as injected-utils' `async_cached(cache)` built on "
        "`Injected.bind` and `update_if_registered`, are migrated: they stay above the function over "
        "`injected_proxy`, `runtime/decoration.py`. Decorators *under* the pinjected one are migrated under "
        "`@pass_dependencies`.)",
        why="A decorator above `@injected` gets pinjected's IProxy object, not the function: only one written "
        "for that object has a counterpart that behaves the same (`injected_proxy`); unknown decorator "
        "arguments may change how pinjected binds the function.",
        example="@functools.lru_cache()\n@injected\ndef f(dep, /, x: int) -> int: ...",
        use_instead="@function_binding\n@pass_dependencies(dep=Ask)\n@functools.lru_cache()\ndef f(dep, /, x: int) -> int: ...",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(_CONTEXT_MANAGER_ABOVE_INJECTED),
        ),
        invalid=(
            Invalid(_DECORATOR_ABOVE_INJECTED, line=4),
        ),
    )
)


NESTED_INJECTED = register(
    Rule(
        code="DM113",
        name="nested-injected-definition",
        message="@injected/@instance defined inside a function or class: registration by name does not apply",
        what="Flags `@injected`/`@instance` functions defined in a function body or a class body.",
        why="pinjected registers decorated functions by name when the decorator runs; nested or method "
        "definitions register late, repeatedly or per class, which the runtime's registry does not model.",
        example="class Jobs:\n    @injected\n    def run(self, logger, /): ...",
        use_instead="@do\ndef run_job(job):\n    logger = yield Ask(\"logger\")\n    ...",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def a_test(logger, client):
                    return logger, client
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                class Jobs:
                    @injected  # <-
                    def run(self, logger, /):
                        return logger
                """, line=4),
        ),
    )
)


INSTANCE_STAR_PARAMS = register(
    Rule(
        code="DM116",
        name="star-parameters-on-instance",
        message="`*args`/`**kwargs` on @instance are looked up as keys `args`/`kwargs`: port by hand",
        what="Flags `@instance` functions with `*args` or `**kwargs` parameters.",
        why="pinjected resolves every `@instance` parameter as a dependency key, including the starred "
        "ones; that is almost always unintended and has no faithful `Ask` form.",
        example="@instance\ndef pool(*workers): ...",
        use_instead="@do\ndef pool():\n    workers = yield Ask(\"workers\")\n    ...",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import instance

                @instance
                def database(url, _pool_size):
                    return (url, _pool_size)
                """),
        ),
        invalid=(
            Invalid(_INSTANCE_WITH_STAR_ARGS, line=3),
        ),
    )
)

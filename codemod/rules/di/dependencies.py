"""Rules of phase ``di`` for dependencies a provider asks for that no env key answers as pinjected did:
defaults, resolver specials, runner machinery, unawaited async providers, unmigrated or runtime-only ones.

Each entry is a pinjected construct that cannot be translated mechanically. The codemod
writes ``# doeff-migrate: DM1xx: <message>`` on the line above the construct and changes nothing in
it; ``# noqa: DM1xx`` on the construct (or in the comments above it) suppresses the flag.
"""

from __future__ import annotations

from .. import TARGET_DOEFF, Invalid, Rule, Valid, register
from ..cases import (
    INJECTED_WITH_DUNDER_PARAMETER,
    INJECTED_WITH_PLAIN_DEPENDENCIES,
    SELF_DEPENDENT_PROVIDER,
)
from ..common import NO_FIX

_PROVIDER_USED_BY_PROVIDER = """
from pinjected import injected

@injected
def helper(step, /, xs):
    return [step(x) for x in xs]

@injected
def step(n, /, x):
    return x * n
"""
"""An ``@injected`` function that depends on another."""

DEPENDENCY_DEFAULT = register(
    Rule(
        code="DM106",
        name="dependency-default",
        message="this dependency had a default, which pinjected never used; the key is still required",
        what="Notes a dependency parameter (before `/`, `_x`, or any `@instance` parameter) with a default.",
        why="pinjected ignores defaults of dependencies: a missing key fails resolution (trap 3). The "
        "migration keeps that behaviour (`x = yield Ask(\"x\")`, no default); decide whether the key "
        "should really be optional.",
        example="@injected\ndef f(timeout=10, /, url):\n    ...",
        use_instead="@do\ndef f(url):\n    timeout = yield Ask(\"timeout\")\n    ...",
        fix_safety="Safe: the function is migrated with the same behaviour (the default was dead); the "
        "comment only asks a human to confirm.",
        phase="di",
        fix="migrate",
        valid=(
            Valid(INJECTED_WITH_DUNDER_PARAMETER),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                @injected
                def f(timeout=10, /, url=""):
                    return timeout, url
                """, line=3),
        ),
    )
)


RUNNER_SPECIFIC = register(
    Rule(
        code="DM109",
        name="runner-specific-construct",
        message="pinjected runner/IDE/test machinery: port this by hand",
        what="Flags uses of `AsyncResolver`, `to_graph`, `test_tree`, `_to_pytest`, "
        "`register_fixtures_from_design`, IDE config creators and the deprecated builders "
        "`providers/instances/classes/destructors/injecteds`; `@injected_pytest` only on a method of a class "
        "or with an override that is not a design (other `@injected_pytest` tests become plain pytest "
        "functions running through `run_injected_test`).",
        why="These drive pinjected's own resolver or tooling; their doeff equivalents are runner or "
        "test-harness code, not a line-by-line rewrite.",
        example="result = AsyncResolver(__design__).provide(main)",
        use_instead="result = run(main, env=__design__)",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import Injected

                def lazy(x):
                    return Injected.pure(x).proxy
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import AsyncResolver

                def run(d, x):
                    return AsyncResolver(d).provide(x)  # <-
                """, line=4),
        ),
    )
)


UNAWAITED_ASYNC_DEPENDENCY = register(
    Rule(
        code="DM110",
        name="unawaited-async-dependency",
        message="async injected dependency called without `await`: the call does nothing, as under pinjected; fix it consciously",
        what="Notes a migrated function that calls an async injected dependency as a statement, without "
        "`await`: a latent bug of the original.",
        why="Under pinjected the call only creates a coroutine that is dropped. The migration keeps that "
        "exactly (the dependency is a coroutine function bound to the run, `AskAsyncFunction`), so the call "
        "still does nothing; whether it should run is for a human to decide.",
        example="@injected\nasync def build(a_system, /):\n    a_system('tool --version')  # never runs",
        use_instead="@do\ndef build():\n    a_system = yield AskAsyncFunction(\"a_system\")\n    a_system('tool --version')  # still never runs: add `yield Await(...)` if running it was intended",
        fix_safety="Safe: the function is migrated with the same behaviour (the call stays a no-op); the "
        "comment only asks a human to decide.",
        phase="di",
        fix="migrate",
        valid=(
            Valid(INJECTED_WITH_PLAIN_DEPENDENCIES),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                @injected
                async def build(a_system, /):
                    a_system("tool --version")
                    return 1
                """, files=(('system.py', """
                    from pinjected import injected

                    @injected
                    async def a_system(cmd):
                        return cmd
                    """),), line=3),
        ),
    )
)


RESOLVER_SPECIAL = register(
    Rule(
        code="DM111",
        name="resolver-special-dependency",
        message="depends on `__design__`/`__task_group__` or `Injected.dynamic`: no env key answers it",
        what="Flags functions with a `__design__` or `__task_group__` dependency and uses of `Injected.dynamic`. "
        "(A `__resolver__` dependency is migrated: `AskResolver` gives the resolver bound to the run, "
        "`runtime/resolver.py`.)",
        why="These are answered by pinjected's resolver itself (its design object, its task group); the doeff "
        "form is a computed `yield Ask(key)` or `Spawn`, which depends on what the code does with them.",
        example="@injected\nasync def pick(__design__, /, name):\n    return __design__[name]",
        use_instead="@do\ndef pick(name):\n    return (yield Ask(name))",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                def pick(key):
                    return injected(key)  # <-
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import Injected

                def pick(name):
                    return Injected.dynamic(name)  # <-
                """, line=4),
        ),
    )
)


DEPENDS_ON_UNMIGRATED = register(
    Rule(
        code="DM117",
        name="depends-on-unmigrated-provider",
        message="uses a provider that is left as pinjected (flagged): migrate that provider first",
        what="Flags an `@injected`/`@instance` function that depends on, and a design value that binds, a "
        "provider the codemod leaves as pinjected because it carries a DM1xx flag.",
        why="The flagged provider stays an `@injected`/`@instance` (an IProxy, not a program): a migrated "
        "caller would `yield` it, a migrated design would call it, and the env has no binding for its key, "
        "so the migrated code would crash, hang or silently get a pinjected object instead of the value.",
        example="@instance\ndef bad(*workers): ...   # DM116, stays pinjected\n\n@injected\ndef use(bad, /): ...",
        use_instead="Fix and migrate the flagged provider first (see its own DM1xx flag), then run the "
        "codemod again: the flag on this construct is then removed by hand and it is migrated.",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(INJECTED_WITH_PLAIN_DEPENDENCIES),
        ),
        invalid=(
            Invalid(SELF_DEPENDENT_PROVIDER, path='m.py', line=3),
        ),
    )
)


RUNTIME_ONLY_COUNTERPART = register(
    Rule(
        code="DM136",
        name="runtime-only-counterpart",
        message="its faithful counterpart runs on the bundled runtime only (doeff has no re-entrant run): migrate with --target runtime",
        what="Under `--target doeff`, flags `@injected`/`@instance` functions whose migration needs a counterpart "
        "of the bundled runtime: a dependency used as a plain callable (`AskFunction`, `AskAsyncFunction`, "
        "`call_dependency`: a call runs the dependency's program re-entrantly on the run), the function kept as "
        "written under `@pass_dependencies` (generators, context managers, decorators under the pinjected one), "
        "a `__resolver__` dependency (`AskResolver`), and decorators above `@injected` (`injected_proxy`).",
        why="doeff 0.8.0 runs a program from the top only: plain Python code inside a step cannot run another "
        "program to completion on the same run, which is what these counterparts do. Emitting them would "
        "import names doeff does not have; the construct is left as it was instead.",
        example="@injected\ndef total(price, /, items):\n    return sum(price(i) for i in items)  # --target doeff",
        use_instead="@do\ndef total(items):  # a loop of yields has a doeff form\n    s = 0\n    for i in items:\n        s += yield price(i)\n    return s",
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(_PROVIDER_USED_BY_PROVIDER),
        ),
        invalid=(
            Invalid(_PROVIDER_USED_BY_PROVIDER, pyproject=TARGET_DOEFF, line=3),
        ),
    )
)

"""Rules of phase ``di``: pinjected constructs the codemod leaves as they are and flags.

Retired codes, now migrated (their numbers are not reused): DM102 (a dependency used as a value or in
a nested scope: ``AskFunction``), DM104 and DM114 (``async with``/``async for``, ``await`` in a nested
expression: the body runs as a coroutine through ``Await``), DM107 (a key bound to functions and
values: ``AskFunction`` / ``call_dependency``).

Each entry is a pinjected construct that cannot be translated mechanically. The codemod
writes ``# doeff-migrate: DM1xx: <message>`` on the line above the construct and changes nothing in
it; ``# noqa: DM1xx`` on the construct (or in the comments above it) suppresses the flag.
"""

from . import Invalid, Rule, Valid, register

_NO_FIX = "No fix is offered: the construct is left exactly as it was, so behaviour cannot change."

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
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from beartype import beartype
                from pinjected import injected

                @beartype  # <-
                @injected
                def f(dep, /, x: int) -> int:
                    return dep + x
                """),
        ),
        invalid=(
            Invalid("""
                from contextlib import contextmanager
                from pinjected import injected

                @contextmanager  # <-
                @injected
                def session(client, /, name):
                    yield client
                """, line=4),
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
        fix_safety=_NO_FIX,
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

                def pick(key):
                    return injected(key)
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
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import instance

                @instance  # <-
                def pool(*workers):
                    return workers
                """),
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
            Valid("""
                from pinjected import injected

                @injected
                def f(__tag, /, x):
                    return __tag, x
                """),
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

UNTRANSLATABLE_IPROXY = register(
    Rule(
        code="DM108",
        name="untranslatable-iproxy-expression",
        message="module-level IProxy expression with no Program-expression counterpart: port it by hand",
        what="Flags module-level IProxy expressions that neither lift into a `@do` nor become a Program "
        "expression (`expr(...)`, runtime/expressions.py): a proxy in slice bounds (pinjected never resolves "
        "it), starred combinator arguments, resolver internals (`_dynamic_dependencies_`), an injected "
        "function used as a value inside a container, in `Injected.pure`, handed to a plain callee (a "
        "decorator applied by hand) or for the doeff target (elsewhere it becomes `bound_dependency(f)` / "
        "`async_function_value(f)`), or an entry point over code left as pinjected (the flag there names it).",
        why="Method calls, attributes, `.await__()`, operators and `Injected.*` combinators all have runtime "
        "counterparts; these forms either fail in pinjected too or depend on what stays unmigrated.",
        example="sliced: IProxy = rows()[start():stop()]",
        use_instead="@do\ndef sliced():\n    r, a, b = (yield rows()), (yield start()), (yield stop())\n    return r[a:b]",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def fact(fact, /, n):
                    return 1 if n == 0 else n * fact(n - 1)
                """, path='m.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @injected
                def fact(fact, /, n):
                    return 1 if n == 0 else n * fact(n - 1)

                main: IProxy = fact(4)
                """, path='app/main.py', files=(('app/__init__.py', """

                    """),), line=7),
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
        fix_safety=_NO_FIX,
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
            Valid("""
                from pinjected import injected

                @injected
                def f(a, /, _b, c):
                    return a, _b, c
                """),
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
        message="depends on `__resolver__`/`__design__`/`__task_group__` or `Injected.dynamic`: no env key answers it",
        what="Flags functions with a `__resolver__`, `__design__` or `__task_group__` dependency and uses of "
        "`Injected.dynamic`.",
        why="These are answered by pinjected's resolver itself; the doeff form is a computed "
        "`yield Ask(key)` or `Spawn`, which depends on what the code does with them.",
        example="@injected\nasync def pick(__resolver__, /, name):\n    return await __resolver__[name]",
        use_instead="@do\ndef pick(name):\n    return (yield Ask(name))",
        fix_safety=_NO_FIX,
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

STACKED_DECORATOR = register(
    Rule(
        code="DM112",
        name="decorator-above-injected",
        message="decorator above the pinjected one, or pinjected decorator arguments the codemod does not know: port it by hand",
        what="Flags `@injected`/`@instance` functions with another decorator *above* the pinjected one, "
        "`@injected_pytest` tests with other decorators, and pinjected decorators called with arguments other "
        "than `protocol=`/`callable=`. (Decorators under `@injected`/`@instance`, such as `functools.wraps` "
        "loggers, retries and `@beartype`, are migrated under `@pass_dependencies`, which keeps pinjected's "
        "calling convention.)",
        why="A decorator above `@injected` wraps pinjected's IProxy object, not the function; unknown decorator "
        "arguments may change how pinjected binds the function. Neither has a runtime counterpart.",
        example="@cache\n@injected\ndef f(dep, /, x: int) -> int: ...",
        use_instead="@function_binding\n@pass_dependencies(dep=Ask)\n@cache\ndef f(dep, /, x: int) -> int: ...",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from contextlib import contextmanager
                from pinjected import injected

                @contextmanager  # <-
                @injected
                def session(client, /, name):
                    yield client
                """),
        ),
        invalid=(
            Invalid("""
                from beartype import beartype
                from pinjected import injected

                @beartype  # <-
                @injected
                def f(dep, /, x: int) -> int:
                    return dep + x
                """, line=4),
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
        fix_safety=_NO_FIX,
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

UNTRANSLATABLE_DESIGN = register(
    Rule(
        code="DM115",
        name="untranslatable-design",
        message="design expression with pinjected API that has no runtime design counterpart: convert it by hand",
        what="Flags design expressions that use pinjected API with no runtime design counterpart: "
        "`Injected.zip/mzip/dict/...` values, `injected(SomeClass)`, attributes of a provider "
        "(`settings.db_url`), `__meta_design__` with `default_design_paths=`. Other non-literal "
        "designs (`design(**kw)`, designs built by helpers, `providers()`/`classes()`/`instances()`, "
        "`injected(\"k\")[...]` expressions, `__meta_design__`) become runtime design values "
        "(`doeff_migrate.runtime.designs`) with pinjected's rules.",
        why="A runtime design value evaluates each binding when the runner builds the env; these "
        "bindings are pinjected objects (IProxy graphs, resolver configuration) that have no "
        "design-value counterpart there.",
        example="__design__ = design(pair=Injected.zip(a, b))",
        use_instead="@do\ndef _pair():\n    return ((yield Ask(\"a\")), (yield Ask(\"b\")))\n\n__design__ = {\"pair\": _pair()}",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import design

                __meta_design__ = design(overrides=design(a=1))
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                __meta_design__ = design(overrides=design(a=2), default_design_paths=["x.y"])
                """, path='app/main.py', files=(('app/__init__.py', """

                    """),), line=3),
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
        fix_safety=_NO_FIX,
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
            Invalid("""
                from pinjected import instance

                @instance  # <-
                def pool(*workers):
                    return workers
                """, line=3),
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
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def f(a, /, _b, c):
                    return a, _b, c
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                @injected
                def fact(fact, /, n):
                    return 1 if n == 0 else n * fact(n - 1)
                """, path='m.py', line=3),
        ),
    )
)

UNDISSOLVED_WITH_DESIGN = register(
    Rule(
        code="DM118",
        name="with-design-not-dissolved",
        message="`with` block whose design bindings the codemod cannot translate: its entry points would lose them",
        what="Flags a module-level `with ...:` block whose header is, or may be, a design the codemod cannot read "
        "(`with make_design():`, a design binding pinjected API that has no runtime design counterpart, see "
        "DM115, a design mixed with other context managers in one `with`), and every entry point assigned "
        "inside it. `with design(**kw):` and other runtime design values are dissolved like literal ones.",
        why="pinjected applies the block's design to every IProxy variable assigned inside it (C21). The "
        "codemod records those bindings in `__doeff_overrides__`; when it cannot read the design, the migrated "
        "entry points would silently run with the module's design only.",
        example="with design(pair=Injected.zip(a, b)):\n    train: IProxy = run_training()",
        use_instead="train: Program = run_training()\n__doeff_overrides__ = {\"train\": {\"pair\": _pair()}}",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import Injected, design

                __design__ = design(pair=Injected.zip(Injected.pure(1), Injected.pure(2)))  # <-
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import Injected, design

                with design(pair=Injected.zip(Injected.pure(1), Injected.pure(2))):  # <-
                    pass
                """, line=3),
        ),
    )
)

SHARED_INSTANCE_IN_DESIGN = register(
    Rule(
        code="DM120",
        name="instance-bound-to-several-keys",
        message="one @instance is bound to several keys of this design: pinjected builds it once for all of them",
        what="Flags a design (including the design variables it merges) that binds the same `@instance` object "
        "to two or more keys, e.g. `design(a=conn, b=conn)`.",
        why="pinjected resolves the instance object once per run and gives every key bound to it the same "
        "value (`a is b`). In an env dict each key would hold its own `conn()` program, built once per key: "
        "the object would be built twice and the keys would stop sharing it.",
        example="__design__ = design(primary=conn, replica=conn)",
        use_instead="@do\ndef _replica():\n    return (yield Ask(\"primary\"))\n\n__design__ = {\"primary\": conn(), \"replica\": _replica()}",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import design, instance

                @instance
                def conn():
                    return object()

                __design__ = design(a=conn, b=conn)
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import design, instance

                @instance
                def conn():
                    return object()

                base = design(a=conn)
                __design__ = base + design(b=conn)
                """, path='m.py', line=8),
        ),
    )
)

ENTRY_POINT_IN_DESIGN = register(
    Rule(
        code="DM121",
        name="design-binds-lifted-entry-point",
        message="design binds an entry point that is not a plain program after migration: bind its program by hand",
        what="Flags a design value naming a module-level IProxy variable (of this module or imported) that is "
        "more than one call of an injected function, e.g. `lifted: IProxy = greet(\"amy\") + \"!\"` and "
        "`design(shout=lifted)`.",
        why="The codemod turns such an entry point into a `@do` function (or leaves it pinjected when it cannot "
        "translate it): binding the name would bind the function object instead of the value pinjected resolved.",
        example="lifted: IProxy = greet(\"amy\") + \"!\"\n__design__ = design(shout=lifted)",
        use_instead="__design__ = {\"shout\": lifted()}",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import IProxy, design, injected

                @injected
                def show(a, /):
                    return a

                PROFILE = {"a": 1}
                main: IProxy = show()
                __design__ = design(**PROFILE) + design(b=2)
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import IProxy, design, injected

                @injected
                def greet(name):
                    return "hi " + name

                lifted: IProxy = greet("amy") + "!"
                __design__ = design(shout=lifted)
                """, path='m.py', line=8),
        ),
    )
)

REEXPORTED_PINJECTED_API = register(
    Rule(
        code="DM122",
        name="pinjected-api-through-reexport",
        message="pinjected API imported through a project module: import it from pinjected directly, then run the codemod again",
        what="Flags imports of pinjected's API from a module of the project that re-exports it "
        "(`from app.di import injected`, with `app/di.py` importing `injected` from pinjected).",
        why="The transforms recognise pinjected only through direct imports, so the module's `@injected` and "
        "`@instance` functions stay pinjected; everything that depends on them is flagged DM117 instead of "
        "being migrated against providers it would get IProxies from.",
        example="from app.di import injected\n\n@injected\ndef helper(base, /, x): ...",
        use_instead="from pinjected import injected\n\n@injected\ndef helper(base, /, x): ...",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def f(__tag, /, x):
                    return __tag, x
                """),
        ),
        invalid=(
            Invalid("""
                from app.di import injected

                @injected
                def helper(base, /, x):
                    return base + x
                """, path='app/lib.py', files=(('app/__init__.py', """

                    """), ('app/di.py', """
                    from pinjected import injected
                    """),), line=1),
        ),
    )
)

DEPENDENCY_CYCLE = register(
    Rule(
        code="DM123",
        name="dependency-cycle",
        message="provider is on a dependency cycle: pinjected fails to resolve it (\"cycle detected\"); a migrated version would run",
        what="Flags `@injected`/`@instance` functions whose dependencies lead back to their own key through "
        "providers no design rebinds, e.g. `@injected def fact(fact, /, n)`.",
        why="pinjected refuses to resolve a cycle, so the original program fails; a migrated `@do` function "
        "would call itself directly and succeed, turning an error into a result nobody has checked.",
        example="@injected\ndef fact(fact, /, n):\n    return 1 if n == 0 else n * fact(n - 1)",
        use_instead="@do\ndef fact(n):\n    return 1 if n == 0 else n * (yield fact(n - 1))  # recursion made explicit",
        fix_safety=_NO_FIX,
        phase="di",
        valid=(
            Valid("""
                from pinjected import injected

                @injected
                def f(a, /, _b, c):
                    return a, _b, c
                """),
        ),
        invalid=(
            Invalid("""
                from pinjected import injected

                @injected
                def fact(fact, /, n):
                    return 1 if n == 0 else n * fact(n - 1)
                """, path='m.py', line=3),
        ),
    )
)

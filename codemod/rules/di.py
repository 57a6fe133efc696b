"""Rules of phase ``di``: pinjected constructs the codemod leaves as they are and flags.

Each entry follows pinjected-semantics.md §4.4 ("what cannot be translated mechanically"). The codemod
writes ``# doeff-migrate: DM1xx: <message>`` on the line above the construct and changes nothing in
it; ``# noqa: DM1xx`` on the construct (or in the comments above it) suppresses the flag.
"""

from . import Rule, register

_NO_FIX = "No fix is offered: the construct is left exactly as it was, so behaviour cannot change."

INJECTED_GENERATOR = register(
    Rule(
        code="DM101",
        name="injected-generator-function",
        message="injected generator / context manager: rewrite as a bracket-style @do by hand",
        what="Flags `@injected`/`@instance` functions whose body is a (async) generator or that are "
        "decorated with `@contextmanager`/`@asynccontextmanager`.",
        why="A `@do` body is itself a generator: an injected generator's own `yield`s would be read as "
        "effects. Context managers need a bracket function that takes the body as a program "
        "(pinjected-semantics.md §4.4 item 1).",
        example="@injected\n@asynccontextmanager\nasync def session(client, /, name):\n    s = await client.open(name)\n    yield s\n    await s.close()",
        use_instead="@do\ndef with_session(name, body):\n    client = yield Ask(\"client\")\n    s = yield Await(client.open(name))\n    try:\n        return (yield body(s))\n    finally:\n        yield Await(s.close())",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

INJECTED_AS_VALUE = register(
    Rule(
        code="DM102",
        name="injected-function-as-value",
        message="injected dependency used as a value or inside a nested scope: its calls cannot become `yield`",
        what="Flags a dependency that is an injected function but is passed around, stored, returned, or "
        "called from a nested function, lambda or comprehension instead of called in the body.",
        why="After migration an injected function returns a program; only a `yield` in the `@do` body runs "
        "it. Code that receives the function as data (closures, lists of callables) would get programs "
        "where it expected results (pinjected-semantics.md §4.4 item 2).",
        example="@injected\ndef run_all(step, /, xs):\n    return list(map(step, xs))",
        use_instead="@do\ndef run_all(xs):\n    results = []\n    for x in xs:\n        results.append((yield step(x)))\n    return results",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

CLASS_INJECTION = register(
    Rule(
        code="DM103",
        name="class-based-injection",
        message="class-based injection (`injected(C)` / `@injected` class): migrate the class and its callers by hand",
        what="Flags `injected(SomeClass)` and `@injected` applied to a class (bound key `new_<Class>`).",
        why="The methods of such classes call injected functions through `self._dep(...)`; once those are "
        "programs every method and every caller must become `@do` too, a whole-program change "
        "(pinjected-semantics.md §4.4 item 3).",
        example="@injected\n@dataclass\nclass Builder:\n    _a_system: Callable\n    tag: str",
        use_instead="@dataclass\nclass Builder:\n    a_system: Callable\n    tag: str\n\n@do\ndef new_Builder(tag):\n    return Builder((yield Ask(\"a_system\")), tag)",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

ASYNC_WITH_FOR = register(
    Rule(
        code="DM104",
        name="async-with-or-for-in-injected",
        message="`async with` / `async for` in an injected body: move this IO behind an effect handler",
        what="Flags `@injected`/`@instance` bodies that use `async with` or `async for`.",
        why="There is no `yield` form of `async with`/`async for`: semaphores, locks, task groups and "
        "streams are the IO boundary and belong in a handler (pinjected-semantics.md §4.4 item 4).",
        example="@injected\nasync def a_fetch_all(sem, /, urls):\n    async with sem:\n        ...",
        use_instead="@do\ndef fetch_all(urls):\n    return (yield Gather(*[(yield Spawn(fetch(u))) for u in urls]))  # + a handler owning the semaphore",
        fix_safety=_NO_FIX,
        phase="di",
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
        "time and loop-bound primitives would belong to another loop (pinjected-semantics.md §4.4 item 5).",
        example="@instance\nasync def worker(queue):\n    return asyncio.create_task(consume(queue))",
        use_instead="@do\ndef start_worker():\n    queue = yield Ask(\"queue\")\n    return (yield Spawn(consume(queue), daemon=True))",
        fix_safety=_NO_FIX,
        phase="di",
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
        fixable=True,
    )
)

AMBIGUOUS_BINDING = register(
    Rule(
        code="DM107",
        name="ambiguous-dependency-binding",
        message="this dependency is bound both to injected functions and to plain values (or defined twice)",
        what="Flags functions depending on a key that some design binds to a plain callable while another "
        "binds it (or the registry has it) as an injected function, or a key defined by two "
        "`@injected`/`@instance` functions.",
        why="Calls of an injected function become `yield f(...)`, calls of a plain callable must stay "
        "calls: with both kinds bound to one key no single rewrite is right for every design; "
        "duplicate names depend on import order (pinjected-semantics.md §4.4 item 7).",
        example="__design__ = design(fetch=lambda url: 'fake')  # while fetch is also an @injected function",
        use_instead="__design__ = {\"fetch\": fake_fetch}  # where fake_fetch is a @do function too",
        fix_safety=_NO_FIX,
        phase="di",
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
        "function passed as a value, or an entry point over code left as pinjected (the flag there names it).",
        why="Method calls, attributes, `.await__()`, operators and `Injected.*` combinators all have runtime "
        "counterparts; these forms either fail in pinjected too or depend on what stays unmigrated.",
        example="sliced: IProxy = rows()[start():stop()]",
        use_instead="@do\ndef sliced():\n    r, a, b = (yield rows()), (yield start()), (yield stop())\n    return r[a:b]",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

RUNNER_SPECIFIC = register(
    Rule(
        code="DM109",
        name="runner-specific-construct",
        message="pinjected runner/IDE/test machinery: port this by hand",
        what="Flags uses of `AsyncResolver`, `to_graph`, `test_tree`, `_to_pytest`, "
        "`register_fixtures_from_design`, `@injected_pytest`, IDE config creators and the deprecated "
        "builders `providers/instances/classes/destructors/injecteds`.",
        why="These drive pinjected's own resolver or tooling; their doeff equivalents are runner or "
        "test-harness code, not a line-by-line rewrite (pinjected-semantics.md §4.4 item 9).",
        example="result = AsyncResolver(__design__).provide(main)",
        use_instead="result = run(main, env=__design__)",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

UNAWAITED_ASYNC_DEPENDENCY = register(
    Rule(
        code="DM110",
        name="unawaited-async-dependency",
        message="async injected dependency called without `await`: latent bug, fix it consciously",
        what="Flags a call of an async injected dependency that is neither awaited nor gathered.",
        why="Under pinjected the call only creates a coroutine that is dropped (or written out as a "
        "value); after migration `yield f(...)` would run it. Rewriting would silently change behaviour "
        "(pinjected-semantics.md §3 item 9).",
        example="@injected\nasync def build(a_system, /):\n    a_system('tool --version')  # never runs",
        use_instead="@do\ndef build():\n    yield a_system('tool --version')  # if running it was intended",
        fix_safety=_NO_FIX,
        phase="di",
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
    )
)

STACKED_DECORATOR = register(
    Rule(
        code="DM112",
        name="stacked-decorator-on-injected",
        message="other decorators on an injected function: their behaviour on a generator must be checked by hand",
        what="Flags `@injected`/`@instance` functions that carry other decorators (`@beartype`, `@retry`, "
        "caches, ...), or a pinjected decorator called with arguments the codemod does not know.",
        why="Around a `@do` function such decorators would wrap a program-returning function, not the "
        "computation: type checks see a generator, retries and caches see a lazy program.",
        example="@injected\n@beartype\ndef f(dep, /, x: int) -> int: ...",
        use_instead="@do\ndef f(x: int):\n    dep = yield Ask(\"dep\")\n    ...  # retry/memo as handlers",
        fix_safety=_NO_FIX,
        phase="di",
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
    )
)

AWAIT_IN_NESTED_SCOPE = register(
    Rule(
        code="DM114",
        name="await-in-nested-scope",
        message="`await` inside a comprehension, lambda or nested function cannot become `yield`",
        what="Flags injected bodies with `await` inside a comprehension, generator expression, lambda or "
        "nested function.",
        why="`yield` is not allowed in comprehensions and would turn a nested function into a generator: "
        "the expression has to be unrolled into a loop by hand.",
        example="@injected\nasync def all_(a_get, /, ids):\n    return [await a_get(i) for i in ids]",
        use_instead="@do\ndef all_(ids):\n    out = []\n    for i in ids:\n        out.append((yield a_get(i)))\n    return out",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

UNTRANSLATABLE_DESIGN = register(
    Rule(
        code="DM115",
        name="untranslatable-design",
        message="design expression the codemod cannot read statically: convert it to an env dict by hand",
        what="Flags design expressions (`design(**kw)`, designs built by functions, `Design` methods, "
        "`__meta_design__` with other keys, `Injected.*` values) that are not a literal `design(k=v)` "
        "combination.",
        why="An env dict must bind the same keys to the same kinds of values; a design computed at run "
        "time cannot be translated without running it, and the codemod never runs code.",
        example="__design__ = load_design(os.environ['PROFILE'])",
        use_instead="__design__ = {**base_env, **profile_env(os.environ['PROFILE'])}",
        fix_safety=_NO_FIX,
        phase="di",
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
    )
)

UNDISSOLVED_WITH_DESIGN = register(
    Rule(
        code="DM118",
        name="with-design-not-dissolved",
        message="`with` block whose design bindings the codemod cannot translate: its entry points would lose them",
        what="Flags a module-level `with ...:` block whose header is, or may be, a design the codemod cannot read "
        "(`with design(**kw):`, `with make_design():`, a design from another module that is not a literal, a "
        "design mixed with other context managers in one `with`), and every entry point assigned inside it.",
        why="pinjected applies the block's design to every IProxy variable assigned inside it (C21). The "
        "codemod records those bindings in `__doeff_overrides__`; when it cannot read the design, the migrated "
        "entry points would silently run with the module's design only.",
        example="with design(**PROFILE):\n    train: IProxy = run_training()",
        use_instead="train: Program = run_training()\n__doeff_overrides__ = {\"train\": {**PROFILE}}",
        fix_safety=_NO_FIX,
        phase="di",
    )
)

META_AND_MODULE_DESIGN = register(
    Rule(
        code="DM119",
        name="meta-design-and-design-not-mergeable",
        message="module assigns both `__meta_design__` and `__design__` in a way the codemod cannot merge: merge them by hand",
        what="Flags the `__design__` and `__meta_design__` assignments of a module that has both, unless it has "
        "exactly one of each and one plain `__design__ = ...` (the case the codemod merges itself).",
        why="pinjected 0.2.252 merges the design under `__meta_design__`'s `overrides=` first and the module's "
        "`__design__` on top, whatever the statement order (C23). Two assignments of one name cannot express "
        "that in general (reassignments, `+=` before the meta design).",
        example="__design__ = design(mode=\"a\")\n__meta_design__ = design(overrides=design(mode=\"meta\"))\n__design__ = design(mode=\"b\")",
        use_instead="__design__ = {\"mode\": \"meta\"} | {\"mode\": \"b\"}",
        fix_safety=_NO_FIX,
        phase="di",
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
    )
)

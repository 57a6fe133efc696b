"""Rules of phase ``di`` for designs and module-level entry points (``IProxy`` expressions, ``with design(...)``)
the codemod cannot turn into env dicts and programs faithfully, and for imports that hide pinjected's API.

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
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(SELF_DEPENDENT_PROVIDER, path='m.py'),
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
        fix_safety=NO_FIX,
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
        fix_safety=NO_FIX,
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
        fix_safety=NO_FIX,
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
        fix_safety=NO_FIX,
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
                """, path='m.py', pyproject=TARGET_DOEFF, line=8),
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
        fix_safety=NO_FIX,
        phase="di",
        valid=(
            Valid(INJECTED_WITH_DUNDER_PARAMETER),
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

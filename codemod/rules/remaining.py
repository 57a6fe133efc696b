"""Flags pinjected constructs that are still in the code (DM150-DM159), with the phase that migrates them.

The language server shows these while the migration is under way; `doeff-migrate --phase di` rewrites
them.
"""

from __future__ import annotations

from . import EDITOR, Invalid, Rule, Valid, register

_WHY = (
    "The migration is not finished while pinjected constructs remain: this code still needs pinjected's "
    "resolver and cannot be run, stubbed or recorded by effect handlers."
)

REMAINING_INJECTED_FUNCTION = register(
    Rule(
        code="DM150",
        name="remaining-injected-function",
        message="`@injected` function not migrated yet",
        what="Reports a function decorated with pinjected's `@injected`.",
        why=_WHY,
        example="@injected\ndef train(model, /, steps: int):\n    ...",
        use_instead='@function_binding\n@do\ndef train(steps: int):\n    model = yield Ask("model")\n    ...',
        fix_safety="The quick fix runs the codemod's `di` phase on this function only.",
        phase="di",
        fix="migrate",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from app.di import injected

                @injected
                def helper(base, /, x):
                    return base + x
                """, path='app/lib.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @injected
                async def a_slow(x):
                    return x + 1
                """, path='app/lib.py', line=3),
        ),
    )
)

REMAINING_INSTANCE_FUNCTION = register(
    Rule(
        code="DM151",
        name="remaining-instance-function",
        message="`@instance` function not migrated yet",
        what="Reports a function decorated with pinjected's `@instance` / `@injected_instance`.",
        why=_WHY,
        example="@instance\ndef model(config):\n    return build(config)",
        use_instead='@instance_binding\n@do\ndef model():\n    config = yield Ask("config")\n    return build(config)',
        fix_safety="The quick fix runs the codemod's `di` phase on this function only.",
        phase="di",
        fix="migrate",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from pinjected import *

                @injected
                def show(mode, /):
                    return mode

                main: IProxy = show()
                __meta_design__ = design(overrides=design(mode="meta"))
                """, path='app/main.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @instance
                def settings(_secret, name):
                    return _secret + "/" + name

                __design__ = design(_secret="s3cr3t", name="n")
                """, path='app/main.py', line=3),
        ),
    )
)

REMAINING_DESIGN = register(
    Rule(
        code="DM152",
        name="remaining-design",
        message="pinjected design not migrated yet",
        what="Reports `design(...)` (and the legacy `providers/instances/classes/destructors(...)`) calls.",
        why=_WHY + " Designs become plain env dicts (`__design__ = {...}`).",
        example='__design__ = design(batch_size=32)',
        use_instead='__design__ = {"batch_size": 32}',
        phase="di",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from pinjected import injected, design, IProxy
                """, path='app/di.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *
                __design__ = design(factor=2)
                """, path='app/__init__.py', line=2),
        ),
    )
)

REMAINING_INJECTED_COMBINATOR = register(
    Rule(
        code="DM153",
        name="remaining-injected-combinator",
        message="`Injected` combinator not migrated yet",
        what="Reports `Injected.pure/by_name/bind/map/mzip/zip/list/dict/procedure/...` and `injected(\"key\")`.",
        why=_WHY + " Combinators become programs (`Ask`, `Gather`).",
        example="pair = Injected.mzip(model, dataset)",
        use_instead="@do\ndef pair():\n    return (yield Gather(model(), dataset()))",
        phase="di",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from pinjected import design
                __design__ = design(factor=2)
                """, path='app/__init__.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                doubled = Injected.by_name("count").map(lambda c: c * 2)
                __design__ = design(count=21)
                """, path='app/main.py', line=3),
        ),
    )
)

REMAINING_IPROXY_ENTRY_POINT = register(
    Rule(
        code="DM154",
        name="remaining-iproxy-entry-point",
        message="IProxy entry point not migrated yet",
        what="Reports a module-level variable annotated `IProxy` / `IProxy[T]` (a `pinjected run` entry point).",
        why=_WHY + " Entry points become programs run by `python -m doeff_migrate.runtime run pkg.mod.var`.",
        example="main: IProxy[int] = train(steps=3)",
        use_instead="main = train(steps=3)  # a program",
        phase="di",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from pinjected import *

                @injected
                def add(base, /, x):
                    return base + x
                """, path='app/lib.py'),
        ),
        invalid=(
            Invalid("""
                from pinjected import *

                @injected
                def show(base, over, /):
                    return [base, over]

                main: IProxy = show()
                """, path='app/main.py', line=7),
        ),
    )
)

REMAINING_INJECTED_PYTEST = register(
    Rule(
        code="DM155",
        name="remaining-injected-pytest",
        message="`@injected_pytest` test not migrated yet",
        what="Reports a test decorated with pinjected's `@injected_pytest`.",
        why=_WHY + " The test becomes a plain pytest test that runs the program with the module's env.",
        example="@injected_pytest\ndef test_train(train):\n    assert train(1) == 1",
        use_instead="def test_train():\n    assert run(train(1), env=__design__) == 1",
        fix_safety="The quick fix runs the codemod's `di` phase on this test only.",
        phase="di",
        fix="migrate",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from pinjected import IProxy, design, injected

                @injected
                def pair(a, b, /):
                    return [a, b]

                base = design(a=1, b=2)
                __design__ = base + design(b=20)
                main: IProxy = pair()
                """, path='app/main.py'),
        ),
        invalid=(
            Invalid("""

                from pinjected import injected, instance as inst, design, Injected, IProxy, injected_pytest

                @injected
                def train(model, /, steps):
                    return steps

                @inst
                def model():
                    return 1

                @injected_pytest
                def test_train(train):
                    assert train(1) == 1

                __design__ = design(lr=0.1)
                pair = Injected.mzip(model, train)
                main: IProxy[int] = train(3)
                """, path='mod.py', line=12),
        ),
    )
)

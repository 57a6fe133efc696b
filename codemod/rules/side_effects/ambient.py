"""DM306-DM311: direct reads of the process's ambient state (environment, clock, random generator), console
output, calls the project declares side effects, and helpers that perform one, inside effectful (``@do``) code.
"""

from __future__ import annotations

from .. import EDITOR, Invalid, Rule, Valid, register
from ..cases import DO_CALL_NOT_YIELDED, NUMPY_LOAD_IN_DO
from ..common import WHY_IO

DIRECT_ENVIRON_ACCESS = register(
    Rule(
        code="DM306",
        name="direct-environ-access",
        message="Environment variable read inside effectful code",
        what="Reports `os.environ` and `os.getenv/putenv` inside a `@do` function.",
        why=(
            "Configuration read from the process environment is invisible to the env/design and to "
            "recordings; `Ask` makes it an explicit, overridable input."
        ),
        example='@do\ndef data_dir():\n    return os.environ["DATA_DIR"]',
        use_instead='@do\ndef data_dir():\n    return (yield Ask("data_dir"))',
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import os
                from doeff_migrate.runtime import do


                def step():
                    return os.environ["HOME"]
                """),
        ),
        invalid=(
            Invalid("""
                import os
                from doeff_migrate.runtime import do


                @do
                def step():
                    return os.environ["HOME"]
                """, line=7),
        ),
    )
)


DIRECT_CLOCK_CALL = register(
    Rule(
        code="DM307",
        name="direct-clock-call",
        message="Clock read or sleep inside effectful code",
        what="Reports `time.time/sleep/monotonic/perf_counter` and `datetime.now/utcnow/today` inside a `@do` function.",
        why=WHY_IO + " A replayed run must see the recorded times, and tests should not sleep.",
        example="@do\ndef stamp():\n    return time.time()",
        use_instead="@do\ndef stamp():\n    return (yield Now())",
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import time
                from doeff_migrate.runtime import do


                def step():
                    return time.time()
                """),
        ),
        invalid=(
            Invalid("""
                import time
                from doeff_migrate.runtime import do


                @do
                def step():
                    return time.time()
                """, line=7),
        ),
    )
)


DIRECT_RANDOM_CALL = register(
    Rule(
        code="DM308",
        name="direct-random-call",
        message="Random number generation inside effectful code",
        what="Reports `random.*`, `numpy.random.*`, `torch.rand*`/`manual_seed` and `uuid.uuid4` inside a `@do` function.",
        why=WHY_IO + " Unrecorded randomness makes a replay diverge from the recording.",
        example="@do\ndef pick(xs):\n    return random.choice(xs)",
        use_instead="@do\ndef pick(xs):\n    return (yield RandomChoice(xs))",
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import random
                from doeff_migrate.runtime import do


                def step():
                    return random.random()
                """),
        ),
        invalid=(
            Invalid("""
                import random
                from doeff_migrate.runtime import do


                @do
                def step():
                    return random.random()
                """, line=7),
        ),
    )
)


DIRECT_PRINT_CALL = register(
    Rule(
        code="DM309",
        name="direct-print-call",
        message="print() inside effectful code",
        what="Reports `print(...)` inside a `@do` function.",
        why="Output printed directly is not part of the writer log, so tests and recordings cannot see it.",
        example='@do\ndef report(x):\n    print("value", x)',
        use_instead='@do\ndef report(x):\n    yield Tell(f"value {x}")',
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid(NUMPY_LOAD_IN_DO, path='other/steps.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def train(n):
                    print("training", n, flush=True)
                    return float(np.load("w.npy").sum()) * n
                """, path='proj/pipeline.py', line=6),
        ),
    )
)


DIRECT_CONFIGURED_SIDE_EFFECT = register(
    Rule(
        code="DM310",
        name="direct-configured-side-effect",
        message="Configured side-effect call inside effectful code",
        what="Reports calls listed in `extra-side-effects` of `[tool.doeff-migrate]` inside a `@do` function.",
        why=WHY_IO + " The project declared this call a side effect in its configuration.",
        example='# pyproject.toml: extra-side-effects = ["mylab.storage.upload"]\n@do\ndef publish(path):\n    mylab.storage.upload(path)',
        use_instead="@do\ndef publish(path):\n    yield Upload(path)",
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase
                from mylab import storage


                def publish(p):
                    storage.upload(p)
                """, pyproject="""
                [tool.doeff-migrate]
                extra-side-effects = ["mylab.storage.upload"]
                """),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase
                from mylab import storage


                @do
                def publish(p):
                    storage.upload(p)
                """, pyproject="""
                [tool.doeff-migrate]
                extra-side-effects = ["mylab.storage.upload"]
                """, line=7),
        ),
    )
)


SIDE_EFFECT_VIA_HELPER = register(
    Rule(
        code="DM311",
        name="side-effect-via-helper",
        message="Call of a plain helper that performs a side effect, from effectful code",
        what=(
            "Reports, at the call site inside a `@do` function, a call of a plain (non-`@do`) function of "
            "the same file that performs a catalogued side effect, directly or through other helpers."
        ),
        why=(
            "Moving the side effect one function away does not make it an effect: the handlers still cannot "
            "see it. The helper should become `@do` and yield the effect, or be called from a handler."
        ),
        example='def log_metrics(m):\n    wandb.log(m)\n\n@do\ndef step(loss):\n    log_metrics({"loss": loss})',
        use_instead='@do\ndef log_metrics(m):\n    yield Log(m)\n\n@do\ndef step(loss):\n    yield log_metrics({"loss": loss})',
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid(DO_CALL_NOT_YIELDED, path='mod.py'),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase

                import wandb

                def log_metrics(m):
                    wandb.log(m)

                def report(m):
                    log_metrics(m)

                def pure(x):
                    return x + 1

                @do
                def step(loss):
                    report({"loss": loss})
                    return pure(loss)
                """, path='mod.py', line=16),
        ),
    )
)

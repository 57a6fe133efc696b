"""DM201: a direct Ray call inside effectful (``@do``) code.
"""

from __future__ import annotations

from .. import CODEMOD, EDITOR, Invalid, Rule, Valid, register
from ..cases import RAY_TASK_OF_PLAIN_FUNCTION

DIRECT_RAY_CALL = register(
    Rule(
        code="DM201",
        name="direct-ray-call",
        message="Ray call inside effectful code",
        what="Reports `ray.remote(...)`, `f.remote(...)`, `ray.get/wait/put/init` inside a `@do` function.",
        why=(
            "Ray scheduling inside a `@do` body bypasses the scheduler handler: the program cannot run on "
            "threads in tests, and recording cannot see the tasks. `Spawn`/`Wait`/`Gather` let the Spawn "
            "handler run the work on threads or on Ray."
        ),
        example="@do\ndef train_all(cfgs):\n    refs = [ray.remote(train).remote(c) for c in cfgs]\n    return ray.get(refs)",
        use_instead=(
            "@do\ndef train_all(cfgs):\n    tasks = []\n    for c in cfgs:\n        tasks.append((yield Spawn(train(c))))\n"
            "    return (yield Gather(*tasks))"
        ),
        fix_safety="The quick fix runs the codemod's `compute` phase on the call's lines; review resource options.",
        phase="compute",
        fix="migrate",
        reported_by=(CODEMOD, EDITOR),
        valid=(
            Valid(RAY_TASK_OF_PLAIN_FUNCTION, surface=CODEMOD),
            Valid("""
                import ray
                from doeff_migrate.runtime import do


                def square(x):
                    return x * x


                def f(x):
                    return ray.get(ray.remote(square).remote(x))
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                def sq(x):
                    return x

                @do
                def f(x):
                    return ray.get(ray.remote(max_calls=1)(sq).remote(x))
                """, line=9),
            Invalid("""
                import ray
                from doeff_migrate.runtime import Program, do

                @ray.remote(num_cpus=1)
                def _score(x):
                    return x * x + 1

                def cube(x):
                    return x ** 3

                @do
                def sweep(n: int):
                    refs = [_score.remote(i) for i in range(n)]
                    one = ray.remote(cube).options(num_cpus=1).remote(n)
                    scores = ray.get(refs)
                    return [scores, ray.get(one), ray.get([one, one])]

                main: Program = sweep(4)
                """, path='pipeline.py', surface=EDITOR, line=13),
        ),
    )
)

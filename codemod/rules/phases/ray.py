"""Rules of phase ``compute`` for Ray: what it leaves as it was in a ``@do`` function, and why.

The phase turns ``f.remote(x)`` / ``ray.get`` into ``Spawn``/``Wait``/``Gather`` of bundled-runtime
programs where it can trace the refs; the constructs below have no such form (shared actor state, gang
scheduling, refs it cannot trace) and keep a flag instead. The language server's DM201 (``side_effects``)
reports any direct Ray call; these name the more specific cases the codemod refuses to rewrite.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..cases import RAY_NAME_IS_A_PARAMETER, RAY_TASK_OF_PLAIN_FUNCTION
from ..common import LEFT_AS_IS

RAY_ACTOR = register(
    Rule(
        code="DM202",
        name="ray-actor-in-effectful-code",
        message="Ray actor used in effectful code: state shared across calls has no Spawn form",
        what="Reports creating a Ray actor (`Cls.remote()` of a `@ray.remote` class) or calling its methods inside a `@do` function.",
        why=(
            "An actor keeps state between method calls on one process. `Spawn` runs independent programs; "
            "turning each method call into a task would lose that shared state and change results."
        ),
        example="@do\ndef count(xs):\n    c = Counter.remote()\n    for x in xs:\n        c.add.remote(x)\n    return ray.get(c.total.remote())",
        use_instead="@do\ndef count(xs):\n    total = yield Get(\"total\")  # keep the state in a state handler\n    ...",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_TASK_OF_PLAIN_FUNCTION),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do
                from models import Trainer

                @do
                def f(x):
                    return ray.remote(Trainer).remote(x)
                """, line=7),
        ),
    )
)


RAY_CLUSTER_SETUP = register(
    Rule(
        code="DM203",
        name="ray-cluster-setup-in-effectful-code",
        message="ray.init/ray.shutdown in effectful code: start Ray at the entry point and run under RayHandler",
        what="Reports `ray.init(...)`, `ray.shutdown()` and `ray.is_initialized()` inside a `@do` function.",
        why=(
            "Cluster setup (addresses, resources, runtime environments) is configuration of the process, not "
            "an effect of the program: its options have no `Spawn` equivalent, and a replay must not start Ray."
        ),
        example="@do\ndef sweep(cfgs):\n    ray.init(num_cpus=4)\n    ...",
        use_instead="ray.init(num_cpus=4)\nrun(sweep(cfgs), handlers=[RayHandler()])",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f():
                    ray.init()  # noqa: DM203
                    return 1
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f():
                    ray.init(num_cpus=4)
                    return 1
                """, line=6),
        ),
    )
)


RAY_PLACEMENT_GROUP = register(
    Rule(
        code="DM204",
        name="ray-placement-group",
        message="Ray placement group: gang scheduling has no Spawn form",
        what="Reports `placement_group(...)`, `remove_placement_group(...)` and `PlacementGroupSchedulingStrategy` in a `@do` function.",
        why="A placement group reserves resources for several tasks at once; independent `Spawn`s cannot express that.",
        example="@do\ndef train(cfg):\n    pg = placement_group([{\"GPU\": 1}] * 4)\n    ...",
        use_instead="Keep the placement group in plain code at the entry point; spawn with `scheduling_strategy=...`.",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do
                from myio import open

                @do
                def f(p):
                    with open(p) as fh:
                        return fh.read()
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do
                from ray.util import placement_group

                @do
                def f():
                    pg = placement_group([{'GPU': 1}])
                    return pg
                """, line=7),
        ),
    )
)


UNTRACED_OBJECT_REF = register(
    Rule(
        code="DM205",
        name="untraced-ray-object-ref",
        message="ray.get/ray.wait/ray.put on a value the codemod cannot trace to a rewritten Spawn",
        what=(
            "Reports `ray.get(x)` when `x` is not (a list of) tasks spawned by the rewritten code of the same "
            "function, `ray.wait(...)` (whose ready/not-ready split has no `Gather` form) and `ray.put(...)`."
        ),
        why=(
            "`Wait`/`Gather` accept the tasks `Spawn` answers, not Ray object references: rewriting a `ray.get` "
            "of a reference made elsewhere would fail at run time."
        ),
        example="@do\ndef total(refs):\n    return sum(ray.get(refs))",
        use_instead="@do\ndef total(tasks):\n    return sum((yield Gather(*tasks)))",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_NAME_IS_A_PARAMETER),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(refs, x):
                    ready, rest = ray.wait(refs)
                    return ray.put(x)
                """, line=6),
        ),
    )
)


SHARED_REMOTE_FUNCTION = register(
    Rule(
        code="DM206",
        name="remote-function-bound-again",
        message="@ray.remote function bound again at module level: the codemod cannot tell which object `.remote` reaches",
        what=(
            "Reports `f.remote(...)` of a `@ray.remote` function of the same file when `f` is bound again at module "
            "level (`f = f.options(num_gpus=1)`, a second `def f`, an import under the same name)."
        ),
        why=(
            "The rewrite spawns `ray_task(f)(...)` with the object `f` names; when the name is bound twice, which "
            "options (or which function) the call used depends on the order of execution, so it is left as it is."
        ),
        example="@ray.remote\ndef train(cfg): ...\n\ntrain = train.options(num_gpus=1)\n\n@do\ndef sweep(cfgs):\n    return ray.get([train.remote(c) for c in cfgs])",
        use_instead=(
            "@ray.remote(num_gpus=1)\ndef train(cfg): ...\n\n@do\ndef sweep(cfgs):\n    tasks = []\n    for c in cfgs:\n"
            "        tasks.append((yield Spawn(ray_task(train)(c))))\n    return (yield Gather(*tasks))"
        ),
        fix_safety=LEFT_AS_IS + " Give the second binding its own name and run the phase again.",
        phase="compute",
        valid=(
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                @ray.remote
                def _train(cfg):
                    return cfg

                def sweep(cfgs):
                    return ray.get([_train.remote(c) for c in cfgs])
                """),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @ray.remote
                def _train(cfg):
                    return cfg

                _train = _train.options(num_cpus=2)

                @do
                def sweep(c):
                    return ray.get(_train.remote(c))
                """, line=12),
        ),
    )
)


REMOTE_CALL_IN_EXPRESSION = register(
    Rule(
        code="DM207",
        name="remote-call-in-expression",
        message="Remote call where a `yield` cannot go (comprehension, lambda, nested expression)",
        what=(
            "Reports `.remote(...)` calls the codemod could translate but not where they stand: inside a "
            "comprehension other than `refs = [f.remote(x) for x in xs]` on its own line, a lambda, or "
            "another call's arguments."
        ),
        why="`yield` is not allowed inside comprehensions and lambdas; moving the call would change evaluation order.",
        example="@do\ndef sweep(cfgs):\n    return ray.get([f.remote(c) for c in cfgs if ok(f.remote(c))])",
        use_instead="Assign the list of refs on its own line (`refs = [f.remote(c) for c in cfgs]`), then `ray.get(refs)`.",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_TASK_OF_PLAIN_FUNCTION),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                def sq(x):
                    return x

                @do
                def f(xs):
                    return ray.get([ray.remote(sq).remote(x) for x in xs])
                """, line=9),
        ),
    )
)


REMOTE_CALL_ON_UNKNOWN_OBJECT = register(
    Rule(
        code="DM208",
        name="remote-call-on-unknown-object",
        message="`.remote(...)` on an object the codemod cannot resolve",
        what=(
            "Reports `x.remote(...)` / `x.options(...).remote(...)` in a `@do` function when `x` is not a "
            "`@ray.remote` function of the same file nor `ray.remote(f)` (attributes of unknown objects, "
            "imported remote functions, parameters)."
        ),
        why="Without knowing what `x` is (function, actor method, something else), no rewrite is faithful.",
        example="@do\ndef run_all(self, xs):\n    return ray.get([self.worker.remote(x) for x in xs])",
        use_instead="Spawn the function as a Ray task: `yield Spawn(ray_task(work)(x))` (`from doeff_migrate.runtime.ray_backend import ray_task`).",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_NAME_IS_A_PARAMETER),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff_migrate.runtime import do

                @do
                def f(self, x):
                    return self.worker.remote(x)
                """, line=6),
        ),
    )
)


DOEFF_CODE_KEEPS_RAY = register(
    Rule(
        code="DM213",
        name="doeff-code-keeps-ray-and-pools",
        message="doeff code: Ray tasks and thread pools stay (what the compute phase writes needs the bundled runtime)",
        what=(
            "Reports a `@do` function that runs on doeff (`--target doeff`, or `from doeff import do`) whose Ray "
            "tasks or thread pools the `compute` phase would rewrite for the bundled runtime."
        ),
        why=(
            "The rewrite spawns `ray_task(f)(x)` / `call_in_thread(f, x)`, programs of the bundled runtime "
            "(`doeff_migrate.runtime`); doeff cannot run them, so the migrated function would fail at its first "
            "spawn. The function is left exactly as it was."
        ),
        example="from doeff import do\n\n@do\ndef sweep(xs):\n    return ray.get([_score.remote(x) for x in xs])",
        use_instead="Run the function on the bundled runtime (`from doeff_migrate.runtime import do`), then run the phase again.",
        fix_safety=LEFT_AS_IS,
        phase="compute",
        valid=(
            Valid(RAY_TASK_OF_PLAIN_FUNCTION),
        ),
        invalid=(
            Invalid("""
                import ray
                from doeff import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    t = ray.remote(square).remote(x)
                    return ray.get(t)
                """, line=7),
        ),
    )
)

"""Rules of phase ``recording``: handler stacks it cannot wire ``recording_handlers()`` into, and why.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..common import LEFT_AS_IS

RUN_WITH_INNER_RECORDER = register(
    Rule(
        code="DM321",
        name="run-with-own-recorder-not-innermost",
        message="run(...) builds its own RecordingHandler/ReplayHandler after other handlers: the package's handlers are not installed here",
        what=(
            "Reports a `run(program, handlers=[...])` outside effectful code, in a module whose programs yield the "
            "effects the `io` phase introduced, whose handler list has a `RecordingHandler`/`ReplayHandler` (or "
            "`*recording_handlers()`) after another handler. The call is left as it is."
        ),
        why=(
            "The package's handlers (`with_effect_handlers`) answer the new effects right around the program, inside "
            "every handler of `run`; a recorder listed there would see none of them (a replay would redo the IO). A "
            "recorder first in the list is moved inside them (`with_handlers([recorder], program)`); one after another "
            "handler cannot move without changing what that handler sees."
        ),
        example="run(train(), handlers=[GPUHandler(), RecordingHandler(\"runs/a.jsonl\")])",
        use_instead="run(with_effect_handlers(with_handlers([RecordingHandler(\"runs/a.jsonl\")], train())), handlers=[GPUHandler()])",
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import RecordingHandler, do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2), handlers=[RecordingHandler("a.jsonl"), print])
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import RecordingHandler, do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2), handlers=[print, RecordingHandler("a.jsonl")])
                """, path='pkg/mod.py', line=9),
        ),
    )
)


HANDLER_STACK_NOT_LITERAL = register(
    Rule(
        code="DM401",
        name="handler-stack-not-literal",
        message="Handler stack is not a list literal: add `*recording_handlers()` yourself",
        what=(
            "Reports `run(program, handlers=<expression>)` and `with_handlers(<expression>, program)` where the "
            "handler stack is built elsewhere, so the `recording` phase cannot insert the recording wiring."
        ),
        why=(
            "Without the wiring, `DOEFF_MIGRATE_RECORD=runs/x.jsonl` (what `--record` sets) records nothing "
            "for this entry point."
        ),
        example="stack = [WandbHandler()]\nrun(train(), handlers=stack)",
        use_instead="run(train(), handlers=[*recording_handlers(), *stack])",
        fix_safety=LEFT_AS_IS,
        phase="recording",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                main = with_handlers([WandbHandler()], train())
                """, path='pkg/main.py'),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                main = with_handlers(STACK, train())
                """, path='pkg/main.py', line=4),
        ),
    )
)


HANDLER_STACK_WITH_OWN_RECORDING = register(
    Rule(
        code="DM402",
        name="handler-stack-with-own-recording",
        message="Handler stack already builds a RecordingHandler/ReplayHandler: left as written",
        what="Reports a `run(..., handlers=[...])` / `with_handlers([...], ...)` whose list already has a recording or replay handler.",
        why="Two recorders would write two files and a replay under a recorder would record the replay.",
        example='run(train(), handlers=[RecordingHandler("runs/a.jsonl"), WandbHandler()])',
        use_instead="run(train(), handlers=[*recording_handlers(), WandbHandler()])",
        fix_safety=LEFT_AS_IS,
        phase="recording",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler

                def main():
                    return run(train(), handlers=[WandbHandler(project='x')])
                """, path='pkg/main.py'),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do, run, with_handlers
                from doeff_migrate.runtime.metrics import WandbHandler
                from doeff_migrate.runtime.recording import RecordingHandler

                run(train(), handlers=[RecordingHandler('a.jsonl')])
                """, path='pkg/main.py', line=5),
        ),
    )
)


DOEFF_RUN_NOT_WIRED = register(
    Rule(
        code="DM403",
        name="doeff-run-not-wired-for-recording",
        message="doeff's run/with_handlers: not wired for recording (the recorder is the bundled runtime's)",
        what="Reports `doeff.run(...)` and `doeff.with_handlers(...)` outside effectful code: the `recording` phase leaves them as they are.",
        why=(
            "The wiring adds `*recording_handlers()`, the bundled runtime's `RecordingHandler`/`ReplayHandler`, as "
            "`handlers=[...]`; doeff's `run` takes only the program and doeff cannot install those handlers, so the "
            "wired call would fail on every run, recording or not."
        ),
        example="from doeff import run\n\nif __name__ == \"__main__\":\n    print(run(train(3)))",
        use_instead="Run the entry point with `python -m doeff_migrate.runtime run pkg.mod.main --record runs/x.jsonl`, or record with doeff's own tools.",
        fix_safety=LEFT_AS_IS,
        phase="recording",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do, run

                @do
                def train(n):
                    return np.load("w.npy") * n

                if __name__ == "__main__":
                    run(train(2))
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                from doeff import do, run

                @do
                def add(a, b):
                    return a + b

                if __name__ == "__main__":
                    print(run(add(1, 2)))
                """, path='pkg/mod.py', line=8),
        ),
    )
)

"""Flags direct side effects inside effectful (``@do``) code: ray calls (DM2xx) and IO (DM3xx).

Which calls count is data: the side-effect catalogue in ``doeff_migrate.codemod.side_effects``, extensible
with ``extra-side-effects`` in ``[tool.doeff-migrate]``. Background: doeff's "every side effect is a yielded
value that a handler answers".
"""

from __future__ import annotations

from . import CODEMOD, EDITOR, Invalid, Rule, Valid, register

_WHY_IO = (
    "A `@do` function that performs IO directly cannot be run under a stub, recording or replay "
    "handler: the call happens whatever handlers are installed. Yielding an effect instead lets the "
    "handler stack decide (real IO, a fake in tests, a recording, a replay)."
)

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
            Valid("""
                import ray
                from doeff_migrate.runtime import do

                def square(x):
                    return x * x

                @do
                def f(x):
                    return ray.get(ray.remote(square).remote(x))
                """, surface=CODEMOD),
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

DIRECT_METRICS_CALL = register(
    Rule(
        code="DM301",
        name="direct-metrics-call",
        message="WandB/MLflow call inside effectful code",
        what="Reports `wandb.init/log/config/summary/finish` and `mlflow.*` used inside a `@do` function.",
        why=_WHY_IO + " Metrics written directly cannot be replayed or re-analysed from a recording.",
        example='@do\ndef step(loss):\n    wandb.log({"loss": loss})',
        use_instead='@do\ndef step(loss):\n    yield Log({"loss": loss})',
        fix_safety="The quick fix runs the codemod's `io` phase on the call's lines.",
        phase="io",
        fix="migrate",
        reported_by=(CODEMOD, EDITOR),
        valid=(
            Valid("""
                import wandb
                from doeff_migrate.runtime import do

                @do
                def f():
                    wandb.init()  # noqa: DM301
                """),
            Valid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase
                import wandb

                @do
                def f():
                    def later():
                        wandb.log({})
                    return later
                """, path='mod.py'),
        ),
        invalid=(
            Invalid("""
                import mlflow
                from doeff_migrate.runtime import do

                @do
                def f(x):
                    mlflow.start_run()
                    mlflow.log_metric('a', x, 3)
                """, path='pkg/mod.py', line=6),
            Invalid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase
                import wandb

                @do
                def f():
                    s = 'héllo'; wandb.log({})
                """, path='mod.py', surface=EDITOR, line=6),
        ),
    )
)

DIRECT_CHECKPOINT_IO = register(
    Rule(
        code="DM302",
        name="direct-checkpoint-io",
        message="Checkpoint/array/pickle IO inside effectful code",
        what="Reports `torch.load/save`, `np.load/save`, `pickle.load/dump`, `h5py.File`, `lmdb.open`, ... inside a `@do` function.",
        why=_WHY_IO + " Checkpoint loads are the expensive step a replay should skip.",
        example="@do\ndef evaluate(path):\n    model = torch.load(path)",
        use_instead="@do\ndef evaluate(path):\n    model = yield LoadCheckpoint(path)",
        fix_safety="The quick fix runs the codemod's `io` phase; the generated handler performs the same call.",
        phase="io",
        fix="migrate",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import anthropic
                from doeff_migrate.runtime import do

                @do
                def ask(q):
                    return anthropic.complete(q)
                """, path='mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def total():
                    return float(np.load("w.npy").sum())
                """, path='other/steps.py', line=6),
        ),
    )
)

DIRECT_FILE_IO = register(
    Rule(
        code="DM303",
        name="direct-file-io",
        message="File IO inside effectful code",
        what=(
            "Reports `open(...)`, `shutil.*` and `os` file operations inside a `@do` function. The `io` phase moves "
            "whole-file `with open(path) as f:` blocks (`x = f.read()`, `f.write(s)`, `json.load/dump`, "
            "`pickle.load/dump`) into `ReadText`/`WriteText`/`ReadJson`/... effects; other uses stay flagged."
        ),
        why=_WHY_IO,
        example='@do\ndef save_report(text):\n    with open("report.txt", "w") as f:\n        f.write(text)',
        use_instead='@do\ndef save_report(text):\n    yield WriteText("report.txt", text)',
        phase="io",
        reported_by=(CODEMOD, EDITOR),
        valid=(
            Valid("""
                from doeff_migrate.runtime import do

                @do
                def load(path):
                    with open(path) as f:
                        return f.read()
                """, path='my-app/io.py', surface=CODEMOD),
            Valid("""
                from doeff_migrate.runtime import do


                def first_line(path):
                    with open(path) as f:
                        return f.readline()
                """),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    with open(p) as fh:
                        return fh.readline()
                """, path='pkg/mod.py', line=5),
            Invalid(r"""
                from doeff_migrate.runtime import do

                def render(rows):
                    if not rows:
                        raise ValueError("nothing to report")
                    return "\\n".join(rows)

                @do
                def write_report(rows):
                    with open("report.txt", "w") as f:
                        f.write(render(rows))
                    return "written"

                @do
                def pipeline():
                    stale = "stale report from the last run"
                    with open("report.txt", "w") as f:
                        f.write(stale)
                    try:
                        status = yield write_report([])
                    except ValueError as e:
                        status = f"failed: {e}"
                    with open("report.txt") as f:
                        content = f.read()
                    return [status, content]

                main = pipeline()
                """, path='proj/main.py', line=10),
        ),
    )
)

DIRECT_HTTP_CALL = register(
    Rule(
        code="DM304",
        name="direct-http-call",
        message="HTTP call inside effectful code",
        what="Reports `requests.*`, `httpx.*`, `aiohttp.*` and `urllib.request.urlopen` inside a `@do` function.",
        why=_WHY_IO + " API calls are what costs money on every re-run; as effects they can be recorded once.",
        example="@do\ndef fetch(url):\n    return requests.get(url).json()",
        use_instead="@do\ndef fetch(url):\n    return (yield HttpGet(url))",
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import requests
                from doeff_migrate.runtime import do


                def step(url):
                    return requests.get(url, timeout=5)
                """),
        ),
        invalid=(
            Invalid("""
                import requests
                from doeff_migrate.runtime import do


                @do
                def step(url):
                    return requests.get(url, timeout=5)
                """, line=7),
        ),
    )
)

DIRECT_SUBPROCESS_CALL = register(
    Rule(
        code="DM305",
        name="direct-subprocess-call",
        message="Subprocess call inside effectful code",
        what="Reports `subprocess.*`, `os.system` and `os.popen` inside a `@do` function.",
        why=_WHY_IO,
        example='@do\ndef version():\n    return subprocess.check_output(["git", "rev-parse", "HEAD"])',
        use_instead='@do\ndef version():\n    return (yield RunCommand(["git", "rev-parse", "HEAD"]))',
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import subprocess
                from doeff_migrate.runtime import do


                def step():
                    return subprocess.run(["ls"], check=True)
                """),
        ),
        invalid=(
            Invalid("""
                import subprocess
                from doeff_migrate.runtime import do


                @do
                def step():
                    return subprocess.run(["ls"], check=True)
                """, line=7),
        ),
    )
)

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
        why=_WHY_IO + " A replayed run must see the recorded times, and tests should not sleep.",
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
        why=_WHY_IO + " Unrecorded randomness makes a replay diverge from the recording.",
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
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def total():
                    return float(np.load("w.npy").sum())
                """, path='other/steps.py'),
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
        why=_WHY_IO + " The project declared this call a side effect in its configuration.",
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
            Valid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase

                @do
                def save(x):
                    return x

                @do
                def main():
                    save(1)
                    return 2

                def plain():
                    save(2)
                """, path='mod.py'),
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

DIRECT_LLM_CALL = register(
    Rule(
        code="DM315",
        name="direct-llm-call",
        message="LLM/API client call inside effectful code",
        what=(
            "Reports calls of LLM/API client libraries (`openai`, `anthropic`, `google.generativeai`, `cohere`, "
            "`mistralai`, `litellm`, and `category = \"llm\"` entries of `extra-side-effects`) inside a `@do` function."
        ),
        why=(
            _WHY_IO + " These calls cost money and are not deterministic: as effects they can be recorded once, "
            "replayed for free and answered by a fake in tests."
        ),
        example=(
            "client = OpenAI()\n\n@do\ndef summarise(text):\n"
            "    return client.chat.completions.create(model=\"gpt-4o\", messages=[{\"role\": \"user\", \"content\": text}])"
        ),
        use_instead=(
            "@do\ndef summarise(text):\n    return (yield OpenaiChatCompletionsCreate(client=\"pkg.mod.client\", "
            "kwargs={\"model\": \"gpt-4o\", \"messages\": [...]}))"
        ),
        fix_safety=(
            "The `io` phase moves calls through a client built at module level into a declared effect naming "
            "that client, and generates a complete handler making the same call on it (a replay skips it)."
        ),
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def total():
                    return float(np.load("w.npy").sum())
                """, path='other/steps.py'),
        ),
        invalid=(
            Invalid("""
                import anthropic
                from doeff_migrate.runtime import do

                @do
                def ask(q):
                    return anthropic.complete(q)
                """, path='mod.py', line=6),
        ),
    )
)

CATEGORY_RULES: dict[str, Rule] = {
    "compute": DIRECT_RAY_CALL,
    "metrics": DIRECT_METRICS_CALL,
    "checkpoint": DIRECT_CHECKPOINT_IO,
    "file": DIRECT_FILE_IO,
    "http": DIRECT_HTTP_CALL,
    "process": DIRECT_SUBPROCESS_CALL,
    "environment": DIRECT_ENVIRON_ACCESS,
    "clock": DIRECT_CLOCK_CALL,
    "random": DIRECT_RANDOM_CALL,
    "console": DIRECT_PRINT_CALL,
    "custom": DIRECT_CONFIGURED_SIDE_EFFECT,
    "llm": DIRECT_LLM_CALL,
}
"""Side-effect catalogue category -> the rule that reports it."""

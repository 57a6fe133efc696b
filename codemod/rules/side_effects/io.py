"""DM30x: direct calls inside effectful (``@do``) code that reach storage, the network, other processes or a
paid API: metrics, checkpoints, files, HTTP, subprocesses, LLM clients.
"""

from __future__ import annotations

from .. import CODEMOD, EDITOR, Invalid, Rule, Valid, register
from ..cases import NUMPY_LOAD_IN_DO
from ..common import WHY_IO

_LLM_CALL_IN_DO = """
import anthropic
from doeff_migrate.runtime import do

@do
def ask(q):
    return anthropic.complete(q)
"""
"""An LLM client call in a ``@do`` function."""

DIRECT_METRICS_CALL = register(
    Rule(
        code="DM301",
        name="direct-metrics-call",
        message="WandB/MLflow call inside effectful code",
        what="Reports `wandb.init/log/config/summary/finish` and `mlflow.*` used inside a `@do` function.",
        why=WHY_IO + " Metrics written directly cannot be replayed or re-analysed from a recording.",
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
        why=WHY_IO + " Checkpoint loads are the expensive step a replay should skip.",
        example="@do\ndef evaluate(path):\n    model = torch.load(path)",
        use_instead="@do\ndef evaluate(path):\n    model = yield LoadCheckpoint(path)",
        fix_safety="The quick fix runs the codemod's `io` phase; the generated handler performs the same call.",
        phase="io",
        fix="migrate",
        reported_by=(EDITOR,),
        valid=(
            Valid(_LLM_CALL_IN_DO, path='mod.py'),
        ),
        invalid=(
            Invalid(NUMPY_LOAD_IN_DO, path='other/steps.py', line=6),
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
            "`pickle.load/dump`) into `ReadText`/`WriteText`/`ReadJson`/... effects; other uses stay flagged, and so do "
            "pathlib's file methods on a known path (`Path(p).write_text(...)`, `out.read_bytes()`, `base.mkdir()`)."
        ),
        why=WHY_IO,
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
        why=WHY_IO + " API calls are what costs money on every re-run; as effects they can be recorded once.",
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
        why=WHY_IO,
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
            WHY_IO + " These calls cost money and are not deterministic: as effects they can be recorded once, "
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
            Valid(NUMPY_LOAD_IN_DO, path='other/steps.py'),
        ),
        invalid=(
            Invalid(_LLM_CALL_IN_DO, path='mod.py', line=6),
        ),
    )
)

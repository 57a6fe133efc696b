"""Rules of phase ``io``: the IO calls it leaves as they were in a ``@do`` function, and why.

The phase moves catalogued calls (``torch.load``, ``np.save``, ``requests.get``, API clients, ...) into the
effects it declares; the language server's DM3xx rules (``side_effects``) report any such direct call, and
these name the cases the codemod refuses to move (arguments it cannot move, handles, untraced clients,
doeff code). Caches are in ``cache``.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..common import LEFT_AS_IS

_NUMPY_AND_RAY_IN_DO = """
import numpy as np
import ray
from doeff_migrate.runtime import do

@do
def f(p, refs):
    a = np.load(p)
    return a, ray.get(refs)
"""
"""A ``@do`` function with an ``np.load`` and a ``ray.get`` of a parameter."""



IO_CALL_NOT_MOVABLE = register(
    Rule(
        code="DM314",
        name="io-call-not-movable",
        message="IO call whose arguments the codemod cannot move into an effect",
        what=(
            "Reports a catalogued call the `io` phase knows how to move (`torch.load`, `np.save`, `requests.get`, "
            "...) when its arguments have another shape (`*args`, `**kwargs`, more positional arguments), or "
            "when it stands where a `yield` cannot go (comprehension, lambda, a nested function's defaults or "
            "decorators, a class body inside the function)."
        ),
        why="Moving it would mean guessing which argument is which; a wrong guess changes what is loaded or saved.",
        example="@do\ndef load(args):\n    return torch.load(*args)",
        use_instead="@do\ndef load(path):\n    return (yield LoadTorchCheckpoint(path))",
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid("""
                from doeff_migrate.runtime import do

                @do
                def f(path):
                    return torch.load(path)
                """),
        ),
        invalid=(
            Invalid("""
                import torch
                from doeff_migrate.runtime import do

                @do
                def f(args):
                    return torch.load(*args)
                """, path='pkg/mod.py', line=6),
        ),
    )
)


IO_HANDLE_IN_EFFECTFUL_CODE = register(
    Rule(
        code="DM316",
        name="io-handle-in-effectful-code",
        message="File/database handle opened in effectful code: its reads and writes stay direct",
        what="Reports `h5py.File(...)` and `lmdb.open(...)` inside a `@do` function (other `open(...)` uses: DM303).",
        why=(
            "The handle is used by the code after it (`f[\"x\"][:]`, `txn.get(k)`, `f.readline()`): moving only the open "
            "into an effect would leave every read direct, and moving the reads means knowing what they are. "
            "The codemod moves the whole-file forms (`with open(p) as f: x = f.read()`, `json.load(f)`, "
            "`pickle.load(f)`, and their writes) and flags the rest."
        ),
        example='@do\ndef features(path):\n    with h5py.File(path, "r") as f:\n        return f["x"][:]',
        use_instead=(
            "def _read_features(path):\n    with h5py.File(path, \"r\") as f:\n        return f[\"x\"][:]\n\n"
            "@do\ndef features(path):\n    return (yield RunInThread(_read_features, path))"
        ),
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid(_NUMPY_AND_RAY_IN_DO, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import h5py
                import lmdb
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    env = lmdb.open(p)
                    return env
                """, path='pkg/mod.py', line=7),
        ),
    )
)


UNRESOLVED_CLIENT_CALL = register(
    Rule(
        code="DM317",
        name="api-call-through-unresolved-object",
        message="Looks like an API client call through an object the codemod cannot trace to its library",
        what=(
            "Reports, in a file that imports an LLM/API client library, calls such as `x.chat.completions.create(...)` "
            "or `self.client.messages.create(...)` inside a `@do` function where `x` is not a client built at "
            "module level from that library (a parameter, a local, an attribute)."
        ),
        why=(
            "Only the calls through a module-level `client = Library(...)` are known to be the library's; anything "
            "else may be any object, so rewriting it would be a guess."
        ),
        example="@do\ndef ask(client, q):\n    return client.chat.completions.create(messages=[q])",
        use_instead=(
            "client = OpenAI()\n\n@do\ndef ask(q):\n    return client.chat.completions.create(messages=[q])  "
            "# then run the io phase again"
        ),
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid("""
                from openai import OpenAI
                from doeff_migrate.runtime import do

                client = OpenAI()


                @do
                def ask(q):
                    r = client.chat.completions.create(model="m", messages=[q])
                    return r
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import openai
                from doeff_migrate.runtime import do

                @do
                def ask(client, q):
                    local = openai.OpenAI()
                    a = client.chat.completions.create(messages=[q])
                    b = local.messages.create(messages=[q])
                    return a, b
                """, path='pkg/mod.py', line=7),
        ),
    )
)


IO_NAME_BOUND_SEVERAL_WAYS = register(
    Rule(
        code="DM318",
        name="io-name-bound-several-ways",
        message="IO call through a name the module binds several ways: which library it reaches is not known",
        what=(
            "Reports a catalogued IO call (`np.save`, `torch.load`, `wandb.log`, ...) inside a `@do` function when the "
            "name it goes through is bound more than once at module level: alternative imports (`try: import cupy as "
            "np` / `except ImportError: import numpy as np`, `if GPU: ... else: ...`) or an import rebound by an "
            "assignment or definition (`np = FakeStore()`)."
        ),
        why=(
            "The generated handler would call one fixed library (`numpy.save`), while the code called whichever "
            "module the name held at run time (cupy on a GPU machine): results of another type, or a different store."
        ),
        example="try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\n\n@do\ndef save(w):\n    np.save(\"w.npy\", w)",
        use_instead="Import the library the IO must use under its own name (`import numpy`), call it through that name, and run the phase again.",
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def f(np, path):
                    return np.load(path)
                """),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                np = object()

                @do
                def f():
                    return np.load("w.npy")
                """, path='pkg/mod.py', line=8),
        ),
    )
)


DOEFF_CODE_KEEPS_IO = register(
    Rule(
        code="DM319",
        name="doeff-code-keeps-io",
        message="doeff code: IO calls stay (the effects and handlers the io phase writes need the bundled runtime)",
        what=(
            "Reports a `@do` function that runs on doeff (`--target doeff`, or `from doeff import do`) holding IO the "
            "`io` phase would move (wandb, checkpoints, files, HTTP/API calls). The function is left exactly as it was."
        ),
        why=(
            "The phase writes effects and `@handler`s of the bundled runtime (`doeff_migrate.runtime`) and installs "
            "them with `with_effect_handlers`/`__doeff_handlers__`; doeff cannot run those handlers, so the migrated "
            "program would fail at its first IO call."
        ),
        example="from doeff import do\n\n@do\ndef total():\n    w = np.load(\"w.npy\")\n    return float(w.sum())",
        use_instead="Run the function on the bundled runtime (`from doeff_migrate.runtime import do`), then run the phase again.",
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid(_NUMPY_AND_RAY_IN_DO, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff import do, run

                @do
                def total():
                    w = np.load("w.npy")
                    return float(w.sum())

                main = total()
                """, path='pkg/mod.py', line=4),
        ),
    )
)


NPZ_LOAD_NOT_MOVABLE = register(
    Rule(
        code="DM320",
        name="npz-archive-load-not-movable",
        message="np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded",
        what=(
            "Reports `np.load(...)` inside a `@do` function when its path is a literal `.npz` name or the call is the "
            "context manager of a `with` statement (`with np.load(p) as data:`). Other `np.load` calls are moved."
        ),
        why=(
            "An archive loads as a lazy `NpzFile` holding an open file. Moved into `LoadNumpyArray`, its answer would be "
            "that object, which a recording can neither store nor a replay give back: `--record` would stop at it."
        ),
        example="@do\ndef load():\n    with np.load(\"z.npz\") as data:\n        return data[\"a\"]",
        use_instead=(
            "def _read_archive(path):\n    with np.load(path) as data:\n        return {k: data[k] for k in data.files}\n\n"
            "@do\ndef load():\n    return (yield RunInThread(_read_archive, \"z.npz\"))[\"a\"]"
        ),
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid("""
                import pickle
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    with open(p) as fh:
                        text = fh.read()
                    return fh.name
                """, path='pkg/mod.py'),
        ),
        invalid=(
            Invalid("""
                import numpy as np
                from doeff_migrate.runtime import do

                @do
                def f(p):
                    with np.load(p) as data:
                        a = data["a"]
                    z = np.load("z.npz")
                    return a, z
                """, path='pkg/mod.py', line=6),
        ),
    )
)

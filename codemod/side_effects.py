"""The side-effect catalogue: which calls are side effects, their category, and what effect they become.

This is data, shared by the codemod's ``compute``/``io`` phases and the language server.

Entries name calls by their *qualified* name (``numpy.load``, not ``np.load``): callers resolve import
aliases first (``import numpy as np``, ``from wandb import log as wlog``). A pattern ending in ``.*``
matches every attribute below it (``requests.*`` matches ``requests.get`` and ``requests.Session``).

Users extend the catalogue in ``pyproject.toml``::

    [tool.doeff-migrate]
    extra-side-effects = [
        "mylab.storage.upload",                                   # category "custom": flagged
        { call = "mylab.llm.complete", category = "http", becomes = "yield Await(...)" },
        # moved by the io phase into a declared effect: `yield Upload(path)`, with a complete generated
        # handler that performs the call (handler = "call", the default) or a stub for you to write
        { call = "mylab.storage.upload", effect = "Upload", params = ["path"], handler = "stub" },
        # constructors of API clients: calls through `client = mylab.llm.Client(...)` (module level)
        # become declared effects naming the client, whose generated handler makes the same call
        { call = "mylab.llm.*", category = "llm" },
    ]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["SideEffect", "CATEGORIES", "IO_CATEGORIES", "KEPT_CATEGORIES", "DEFAULT_CATALOGUE", "Catalogue", "CatalogueError"]


@dataclass(frozen=True)
class SideEffect:
    """One catalogue entry."""

    call: str
    """Qualified dotted name, or a prefix pattern ending in ``.*``."""
    category: str
    """One of :data:`CATEGORIES`; it selects the rule code that reports the call."""
    becomes: str
    """What the call becomes in effect code (shown in diagnostics)."""
    access: bool = False
    """True when using the name at all is the side effect (``os.environ[...]``), not only calling it."""
    effect: str | None = None
    """Declared effect the ``io`` phase moves the call into (configured entries); ``None``: flagged only."""
    params: tuple[str, ...] | None = None
    """Field names of the moved call's positional arguments; ``None``: generic ``args``/``kwargs`` fields."""
    handler: str = "call"
    """``call``: the generated handler performs the original call; ``stub``: it is a stub for the user."""


CATEGORIES: dict[str, str] = {
    # category -> phase that migrates it
    "compute": "compute",
    "metrics": "io",
    "checkpoint": "io",
    "file": "io",
    "http": "io",
    "process": "io",
    "environment": "io",
    "clock": "io",
    "random": "io",
    "console": "io",
    "custom": "io",
    "llm": "io",
}

KEPT_CATEGORIES = frozenset({"process", "environment", "clock", "random", "console"})
"""Categories the io phase keeps as they are by design: the migrated program runs them as the original did.
The editor shows them as hints and ``status`` counts them as kept, not as work left."""

IO_CATEGORIES = frozenset(c for c, phase in CATEGORIES.items() if phase == "io") - KEPT_CATEGORIES
"""Categories the io phase rewrites into effects or flags."""


def _entries(category: str, becomes: str, *calls: str, access: bool = False) -> list[SideEffect]:
    return [SideEffect(call, category, becomes, access) for call in calls]


DEFAULT_CATALOGUE: tuple[SideEffect, ...] = tuple(
    _entries(
        "compute",
        "`yield Spawn(fn, *args)` (then `yield Wait(task)` / `yield Gather(...)`)",
        "ray.remote",
        "ray.get",
        "ray.wait",
        "ray.put",
        "ray.init",
    )
    + _entries(
        "metrics",
        "the runtime's metrics effects (`yield Log(...)` / `yield Tell(...)`), answered by the WandB handler",
        "wandb.init",
        "wandb.log",
        "wandb.finish",
        "wandb.save",
        "wandb.watch",
        "wandb.log_artifact",
        "wandb.use_artifact",
        "wandb.define_metric",
        "mlflow.*",
    )
    + _entries(
        "metrics",
        "the runtime's metrics effects, answered by the WandB handler",
        "wandb.config",
        "wandb.summary",
        "wandb.run",
        access=True,
    )
    + _entries(
        "checkpoint",
        "a declared effect (`yield LoadCheckpoint(path)` / `yield SaveCheckpoint(obj, path)`) and its handler",
        "torch.load",
        "torch.save",
        "numpy.load",
        "numpy.save",
        "numpy.savez",
        "numpy.savez_compressed",
        "numpy.loadtxt",
        "numpy.savetxt",
        "pickle.load",
        "pickle.dump",
        "pickle.loads",
        "cloudpickle.load",
        "cloudpickle.dump",
        "joblib.load",
        "joblib.dump",
        "h5py.File",
        "lmdb.open",
    )
    + _entries("file", "a declared effect answered by a file handler", "open", "io.open", "shutil.*", "os.remove",
               "os.makedirs", "os.rename", "os.unlink")
    + _entries(
        "http",
        "`yield Await(client_call(...))` or a declared request effect",
        "requests.*",
        "httpx.*",
        "urllib.request.urlopen",
        "aiohttp.*",
    )
    + _entries(
        "llm",
        "a declared effect (`yield OpenaiChatCompletionsCreate(kwargs={...})`) answered by a handler you write",
        "openai.*",
        "anthropic.*",
        "google.generativeai.*",
        "cohere.*",
        "mistralai.*",
        "litellm.*",
    )
    + _entries("process", "a declared effect answered by a process handler", "subprocess.*", "os.system", "os.popen")
    + _entries("environment", "`yield Ask(\"<key>\")` with the value bound in the env", "os.environ", access=True)
    + _entries("environment", "`yield Ask(\"<key>\")` with the value bound in the env", "os.getenv", "os.putenv")
    + _entries(
        "clock",
        "a clock effect answered by a handler (recordable, replayable)",
        "time.time",
        "time.time_ns",
        "time.sleep",
        "time.monotonic",
        "time.perf_counter",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.date.today",
    )
    + _entries(
        "random",
        "a random effect answered by a seeded handler (recordable, replayable)",
        "random.*",
        "numpy.random.*",
        "torch.manual_seed",
        "torch.rand",
        "torch.randn",
        "torch.randint",
        "uuid.uuid4",
    )
    + _entries("console", "`yield Tell(message)` (the writer log) or a logging effect", "print")
)


class CatalogueError(ValueError):
    """A malformed ``extra-side-effects`` entry in the configuration."""


class Catalogue:
    """Fast lookup of qualified names in a list of :class:`SideEffect` entries."""

    def __init__(self, entries: Iterable[SideEffect]) -> None:
        self.entries = tuple(entries)
        self._exact: dict[str, SideEffect] = {}
        self._prefixes: list[tuple[str, SideEffect]] = []
        for entry in self.entries:
            if entry.category not in CATEGORIES:
                raise CatalogueError(f"unknown side-effect category {entry.category!r} for {entry.call!r}")
            if entry.call.endswith(".*"):
                self._prefixes.append((entry.call[:-1], entry))
            else:
                self._exact[entry.call] = entry
        # Longest prefix first, so that ``numpy.random.*`` wins over a hypothetical ``numpy.*``.
        self._prefixes.sort(key=lambda item: -len(item[0]))
        self.roots = frozenset(e.call.split(".")[0] for e in self.entries)

    @classmethod
    def default(cls, extra: Iterable[str | Mapping[str, object]] = ()) -> Catalogue:
        return cls([*DEFAULT_CATALOGUE, *(parse_extra_entry(item) for item in extra)])

    def movable(self, qualified: str) -> MovableCall | None:
        """How the ``io`` phase moves a call of ``qualified``: configured entries first, then the defaults."""
        entry = self._exact.get(qualified)
        if entry is not None and entry.effect is not None:
            return MovableCall(qualified, entry.effect, entry.params, stub=entry.handler == "stub")
        return MOVABLE_CALLS.get(qualified)

    def roots_of(self, categories) -> set[str]:
        """Top-level modules of the entries of ``categories`` (``{"wandb", "mlflow", ...}``)."""
        return {e.call.split(".")[0] for e in self.entries if e.category in categories and "." in e.call}

    def lookup(self, qualified: str) -> SideEffect | None:
        """The entry for a qualified call name such as ``wandb.log``, or ``None``."""
        found = self._exact.get(qualified)
        if found is not None:
            return found
        for prefix, entry in self._prefixes:
            if qualified.startswith(prefix):
                return entry
        return None


_ENTRY_KEYS = {"call", "category", "becomes", "access", "effect", "params", "handler"}


def parse_extra_entry(item: str | Mapping[str, object]) -> SideEffect:
    """One ``extra-side-effects`` item: a dotted name, or a table with ``call``/``category``/``becomes``."""
    if isinstance(item, str):
        if not item.strip():
            raise CatalogueError("extra-side-effects: empty call name")
        return SideEffect(item.strip(), "custom", "a declared effect and its handler")
    if isinstance(item, Mapping):
        call = item.get("call")
        if not isinstance(call, str) or not call.strip():
            raise CatalogueError(f"extra-side-effects: entry {dict(item)!r} needs a string `call`")
        category = item.get("category", "custom")
        if category not in CATEGORIES:
            raise CatalogueError(
                f"extra-side-effects: unknown category {category!r} for {call!r} "
                f"(expected one of {', '.join(CATEGORIES)})"
            )
        becomes = item.get("becomes", "a declared effect and its handler")
        unknown = sorted(set(item) - _ENTRY_KEYS)
        if unknown:
            raise CatalogueError(f"extra-side-effects: unknown key(s) {', '.join(unknown)} for {call!r} (known: {', '.join(sorted(_ENTRY_KEYS))})")
        effect = item.get("effect")
        if effect is not None and (not isinstance(effect, str) or not effect.isidentifier() or call.endswith(".*")):
            raise CatalogueError(f"extra-side-effects: `effect` of {call!r} must be a class name, for a call (not a `.*` pattern)")
        params = item.get("params")
        if params is not None and (
            not isinstance(params, list) or not all(isinstance(n, str) and n.isidentifier() and n not in ("options", "args", "kwargs") for n in params)
        ):
            raise CatalogueError(f"extra-side-effects: `params` of {call!r} must be a list of field names")
        handler = item.get("handler", "call")
        if handler not in ("call", "stub"):
            raise CatalogueError(f"extra-side-effects: `handler` of {call!r} must be 'call' or 'stub', not {handler!r}")
        return SideEffect(
            call.strip(), str(category), str(becomes), bool(item.get("access", False)),
            effect=effect, params=tuple(params) if params is not None else None, handler=handler,
        )
    raise CatalogueError(f"extra-side-effects: expected a string or a table, got {item!r}")


# -- calls the ``io`` phase can move into a generated, complete handler ------------------------------------------


@dataclass(frozen=True)
class MovableCall:
    """A catalogued call that becomes a declared effect whose generated handler performs the same call.

    ``torch.load(path, map_location="cpu")`` inside a ``@do`` function becomes
    ``yield LoadTorchCheckpoint(path, options={"map_location": "cpu"})``; the generated handler answers it
    with ``torch.load(effect.path, **effect.options)`` (inline, as the code did), so the call is unchanged and a
    recording sees (and a replay skips) it. Only calls with exactly ``params`` positional arguments and
    plain keyword arguments are moved; anything else is flagged.
    """

    call: str
    """Qualified name of the call (``torch.load``), or what a stub stands for (``openai.OpenAI().chat...``)."""
    effect: str
    """Name of the declared effect class (``LoadTorchCheckpoint``)."""
    params: tuple[str, ...] | None
    """Field names of the positional arguments, in call order; ``None``: any arguments, as the fields
    ``args`` (tuple) and ``kwargs`` (mapping): ``yield Upload(args=(p,), kwargs={"tag": t})``."""
    returns: str = "Any"
    """Annotation of the effect's answer type (``EffectBase[<returns>]``)."""
    stub: bool = False
    """The generated handler is a stub for the user to write (an API client's call), not the call itself."""


MOVABLE_CALLS: dict[str, MovableCall] = {
    m.call: m
    for m in (
        MovableCall("torch.load", "LoadTorchCheckpoint", ("path",)),
        MovableCall("torch.save", "SaveTorchCheckpoint", ("obj", "path"), "None"),
        MovableCall("numpy.load", "LoadNumpyArray", ("path",)),
        MovableCall("numpy.save", "SaveNumpyArray", ("path", "array"), "None"),
        MovableCall("numpy.loadtxt", "LoadNumpyText", ("path",)),
        MovableCall("numpy.savetxt", "SaveNumpyText", ("path", "array"), "None"),
        MovableCall("joblib.load", "LoadJoblib", ("path",)),
        MovableCall("joblib.dump", "DumpJoblib", ("value", "path")),
        # pickle on a file object: the handler calls pickle the same way (``with open(p, "rb") as f:
        # x = pickle.load(f)`` as a whole becomes ``x = yield ReadPickle(p)``, see io_effects)
        MovableCall("pickle.load", "LoadPickle", ("file",)),
        MovableCall("pickle.dump", "DumpPickle", ("obj", "file"), "None"),
        MovableCall("cloudpickle.load", "LoadCloudpickle", ("file",)),
        MovableCall("cloudpickle.dump", "DumpCloudpickle", ("obj", "file"), "None"),
        # mlflow's fluent API logs to the active run, as the handler's call does
        MovableCall("mlflow.log_metric", "MlflowLogMetric", ("key", "value"), "None"),
        MovableCall("mlflow.log_metrics", "MlflowLogMetrics", ("metrics",), "None"),
        MovableCall("mlflow.log_param", "MlflowLogParam", ("key", "value")),
        MovableCall("mlflow.log_params", "MlflowLogParams", ("params",), "None"),
        MovableCall("mlflow.set_tag", "MlflowSetTag", ("key", "value"), "None"),
        MovableCall("mlflow.set_tags", "MlflowSetTags", ("tags",), "None"),
        MovableCall("mlflow.log_artifact", "MlflowLogArtifact", ("local_path",), "None"),
        MovableCall("mlflow.log_dict", "MlflowLogDict", ("dictionary", "artifact_file"), "None"),
        MovableCall("mlflow.log_text", "MlflowLogText", ("text", "artifact_file"), "None"),
        *(
            MovableCall(f"{lib}.{verb}", f"{lib.capitalize()}{verb.capitalize()}", ("url",))
            for lib in ("requests", "httpx")
            for verb in ("get", "post", "put", "patch", "delete", "head")
        ),
    )
}
"""Qualified call -> how the ``io`` phase moves it (see :class:`MovableCall`)."""

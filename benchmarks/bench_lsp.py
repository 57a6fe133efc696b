"""Language server speed: time to ready, didChange -> diagnostics on a 2,000-line file, memory over edits.

    .venv/bin/python benchmarks/bench_lsp.py                 # Markdown table
    .venv/bin/python benchmarks/bench_lsp.py --json          # JSON document
    .venv/bin/python benchmarks/bench_lsp.py --edits 200     # fewer edits for the memory run

What is measured (a real server process, ``python -m doeff_migrate.lsp``, driven over stdio by pygls'
client; the debounce is set to 0 through ``initializationOptions`` so that no waiting is counted):

* ready: wall time from spawning the process to the ``initialize`` response, and from sending
  ``initialize`` to its response (median of ``--starts`` fresh processes);
* didChange -> diagnostics: 20 incremental edits, each retyping one line inside a ``@do`` function, of a
  generated 2,000-line module (a mix of
  ``@do`` functions with side effects, plain helpers and pinjected functions); the time from sending each
  ``didChange`` to receiving the ``publishDiagnostics`` of that version (JSON transport included, so an
  upper bound of server time), plus the in-process time of ``analysis.check`` on the same text;
* server CPU time per edit: user + system CPU of the server process over the timed edits, divided by
  their number (not inflated by other processes competing for the cores, unlike wall time);
* memory: the server's resident set size (``/proc/<pid>/status`` VmRSS) at the start of the memory run
  (0: after the open and the timed edits), after 50 edits and at each quarter of ``--edits`` edits, and the
  growth per edit after the first 50 (pygls 2.1 kept a future per notification, ~3 KiB an edit, until
  ``server.DoeffMigrateProtocol`` dropped them);
* peer: ``doeff-migrate --check`` on the same file (a new process, as a user runs it), when the CLI is
  installed;
* side by side with ``ruff server`` (a test dependency): both servers, driven by the same bare JSON-RPC client
  over stdio, get the same file and the same edits; CPU time per edit of each process (``/proc/<pid>/stat``)
  and the ratio; for ours also the CPU of the codemod's plan that runs once typing pauses (off the event loop);
* code actions: the list at a not-yet-migrated function (no codemod run in it) and the ``codeAction/resolve``
  that runs the codemod for its "Migrate" edit;
* cold start on a generated ``--project-files`` project: spawn -> initialize result, -> the diagnostics of a
  module opened right after ``initialized``, and -> index ready; the first start (no stored project facts)
  and the median of the later ones (``--starts``).

Targets: ready <= 500 ms, didChange -> diagnostics <= 50 ms of server time, memory stable; CPU per edit
<= 10 ms on a 2,050-line file, code-action list <= 50 ms, cold start of a 100-file project <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

SERVER = [sys.executable, "-m", "doeff_migrate.lsp"]


def _ruff_server() -> list[str]:
    """``ruff server`` run from ruff's own binary (``python -m ruff`` would put a Python process between: its
    CPU time would not be ruff's); ``ruff`` is a test dependency."""
    try:
        from ruff.__main__ import find_ruff_bin

        return [find_ruff_bin(), "server"]
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
        return [found, "server"] if found else []


RUFF_SERVER = _ruff_server()

_HEADER = '''\
"""Generated benchmark module: effectful training code mid-migration."""
import os
import time
import wandb
import numpy as np
from pinjected import injected, instance
from doeff_migrate.runtime import do, handler, Ask, Tell, EffectBase, Resume


'''

_BLOCK = '''\
def helper_{i}(values):
    total = 0
    for v in values:
        total += v * {i}
    return total


def log_helper_{i}(metrics):
    wandb.log(metrics)


@do
def load_{i}(path):
    config = yield Ask("config")
    data = np.load(path)
    yield Tell(f"loaded {{path}}")
    return data, config


@do
def step_{i}(batch, lr):
    data, config = yield load_{i}(batch)
    loss = helper_{i}([lr, len(data)])
    log_helper_{i}({{"loss": loss, "step": {i}}})
    if loss > 10:
        print("large loss", loss)
    started = time.time()
    return loss + started


@injected
def train_{i}(model, optimizer, /, steps: int):
    for s in range(steps):
        model.update(optimizer, s)
    return model


'''


def make_large_source(lines: int = 2000) -> str:
    """A realistic module of at least ``lines`` lines (blocks of helpers, @do and @injected functions)."""
    parts = [_HEADER]
    count = _HEADER.count("\n")
    i = 0
    while count < lines:
        block = _BLOCK.format(i=i)
        parts.append(block)
        count += block.count("\n")
        i += 1
    return "".join(parts)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (``/proc/<pid>/stat``): insensitive to other load on the machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class BenchClient:
    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or SERVER
        self.client = LanguageClient("bench-lsp", "0")
        self.published: dict[tuple[str, int | None], float] = {}
        self.events: dict[tuple[str, int | None], asyncio.Event] = {}
        self.count: dict[str, int] = {}
        """Publishes per URI (``ruff server`` may publish without the version)."""

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: types.PublishDiagnosticsParams) -> None:
            key = (params.uri, params.version)
            self.published[key] = time.perf_counter()
            self.events.setdefault(key, asyncio.Event()).set()
            self.count[params.uri] = self.count.get(params.uri, 0) + 1
            self.events.setdefault((params.uri, f"#{self.count[params.uri]}"), asyncio.Event()).set()

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            if "indexed" in params.message:
                self.events.setdefault(("index", None), asyncio.Event()).set()
            if params.message.startswith("doeff-migrate: planned "):
                uri, _, version = params.message.removeprefix("doeff-migrate: planned ").rpartition(" version ")
                self.events.setdefault(("planned", uri, version), asyncio.Event()).set()

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def _configuration(params: types.ConfigurationParams) -> list:
            return [None for _ in params.items]

    async def start(self, root: Path, settle: float = 0.0) -> tuple[float, float]:
        """Spawn and initialize; ``settle`` seconds between the two let the process finish importing."""
        spawned = time.perf_counter()
        await self.client.start_io(*self.command)
        if settle:
            await asyncio.sleep(settle)
        sent = time.perf_counter()
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    text_document=types.TextDocumentClientCapabilities(
                        code_action=types.CodeActionClientCapabilities(
                            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
                        )
                    )
                ),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
                initialization_options={"settings": {"debounceMs": 0}},
            )
        )
        done = time.perf_counter()
        self.client.initialized(types.InitializedParams())
        return done - spawned, done - sent

    async def wait(self, key, timeout: float = 60.0) -> None:
        await asyncio.wait_for(self.events.setdefault(key, asyncio.Event()).wait(), timeout)

    async def wait_publish(self, uri: str, number: int, timeout: float = 60.0) -> None:
        """Until the ``number``-th publishDiagnostics of ``uri`` has arrived."""
        await self.wait((uri, f"#{number}"), timeout)

    @property
    def pid(self) -> int:
        return self.client._server.pid  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def edit_params(uri: str, version: int, line: int, text: str) -> types.DidChangeTextDocumentParams:
    """Replace line ``line`` with ``text`` (one typed line; the file keeps its size over any number of edits)."""
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, 0), types.Position(line + 1, 0)), text=text
            )
        ],
    )


async def measure_ready(root: Path, starts: int) -> dict[str, float]:
    """Cold: initialize sent right after spawning (includes interpreter start and imports). Started: the
    process is given 3 s to import first, so the figure is the server's own initialize handling."""
    cold, cold_cpu, started = [], [], []
    for _ in range(starts):
        bench = BenchClient()
        spawn_time, _ = await bench.start(root)
        cold.append(spawn_time * 1000)
        cold_cpu.append(cpu_seconds(bench.pid) * 1000)
        await bench.stop()
        bench = BenchClient()
        _, init_time = await bench.start(root, settle=3.0)
        started.append(init_time * 1000)
        await bench.stop()
    return {
        "spawn_to_ready_ms_median": statistics.median(cold),
        "spawn_to_ready_ms_max": max(cold),
        "spawn_to_ready_cpu_ms_median": statistics.median(cold_cpu),
        "initialize_to_ready_ms_median": statistics.median(started),
        "initialize_to_ready_ms_max": max(started),
    }


async def measure_edits(root: Path, source: str, edits: int, memory_edits: int) -> dict[str, float]:
    path = root / "big_module.py"
    path.write_text(source)
    uri = path.as_uri()
    bench = BenchClient()
    await bench.start(root)
    await bench.wait(("index", None))
    bench.client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=source))
    )
    await bench.wait((uri, 1))
    await bench.wait(("planned", uri, "1"))  # the codemod's plan of the opened text runs once, before the timed edits
    version = 1
    latencies = []
    body_line = source.splitlines().index("    started = time.time()")
    cpu_before = cpu_seconds(bench.pid)
    for n in range(edits):
        version += 1
        sent = time.perf_counter()
        bench.client.text_document_did_change(edit_params(uri, version, body_line, f"    started = time.time() + {n}\n"))
        await bench.wait((uri, version))
        latencies.append((bench.published[(uri, version)] - sent) * 1000)
    cpu_per_edit_ms = (cpu_seconds(bench.pid) - cpu_before) * 1000 / edits
    rss_after: dict[int, int] = {0: rss_kib(bench.pid)}
    samples = {50, *(memory_edits * k // 4 for k in range(1, 5))}
    for n in range(memory_edits):
        version += 1
        bench.client.text_document_did_change(edit_params(uri, version, body_line, f"    started = time.time() - {n}\n"))
        await bench.wait((uri, version))
        bench.events.pop((uri, version - 1), None)
        if n + 1 in samples:
            rss_after[n + 1] = rss_kib(bench.pid)
    await bench.stop()
    # Growth after warm-up (the first 50 edits fill caches and the allocator's pools): a leak shows here.
    warm, last = 50, max(rss_after)
    growth = (rss_after[last] - rss_after[warm]) * 1024 / (last - warm) if last > warm and warm in rss_after else None
    return {
        "edit_to_diagnostics_ms_median": statistics.median(latencies),
        "edit_to_diagnostics_ms_max": max(latencies),
        "server_cpu_ms_per_edit_mean": cpu_per_edit_ms,
        "rss_kib_after_edits": rss_after,
        "rss_growth_bytes_per_edit_after_50": growth,
    }


def ruff_available() -> bool:
    return bool(RUFF_SERVER) and subprocess.run([RUFF_SERVER[0], "--version"], capture_output=True).returncode == 0


class RawClient:
    """A bare JSON-RPC client over stdio, the same for both servers of the side-by-side run (pygls' client
    cannot read ``ruff server``'s initialize result: its notebook selectors do not structure). Server requests
    (configuration, registrations) are answered with null."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.publishes: dict[str, int] = {}
        self.logs: list[str] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future]] = []
        self._responses: dict[int, asyncio.Future] = {}
        self._next_id = 0

    async def start(self, root: Path) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=root
        )
        self._reader = asyncio.ensure_future(self._read())
        await self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}],
            "initializationOptions": {"settings": {"debounceMs": 0}},
        })
        self.notify("initialized", {})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: dict | None, timeout: float = 60.0) -> object:
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._responses[self._next_id] = future
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout)

    async def _read(self) -> None:
        reader = self.proc.stdout
        while True:
            length = 0
            while True:
                line = await reader.readline()
                if not line:
                    return
                if not line.strip():
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(await reader.readexactly(length))
            method = message.get("method")
            if method is not None and "id" in message:
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": [None] * len(message["params"]["items"]) if method == "workspace/configuration" else None})
            elif method == "textDocument/publishDiagnostics":
                uri = message["params"]["uri"]
                self.publishes[uri] = self.publishes.get(uri, 0) + 1
            elif method == "window/logMessage":
                self.logs.append(message["params"]["message"])
            elif "id" in message and message["id"] in self._responses:
                self._responses.pop(message["id"]).set_result(message.get("result"))
            for condition, future in list(self._waiters):
                if not future.done() and condition():
                    future.set_result(None)

    async def until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        if condition():
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((condition, future))
        await asyncio.wait_for(future, timeout)

    async def stop(self) -> None:
        try:
            await self.request("shutdown", None, timeout=10)
            self.notify("exit", {})
            await asyncio.wait_for(self.proc.wait(), 10)
        except (asyncio.TimeoutError, ConnectionError):
            self.proc.kill()
        self._reader.cancel()


async def cpu_per_edit(command: list[str], root: Path, source: str, edits: int, ours: bool) -> dict[str, float]:
    """One server over stdio: open ``source``, then ``edits`` didChange edits each retyping one line of a ``@do``
    function, each awaited until its publishDiagnostics; the server process's CPU time over them, per edit.
    Ours: timed once the codemod's plan of the opened text is published (that plan runs once per pause in
    typing, ``lsp/planner.py``; its CPU is measured after the edits, as ``plan_cpu_ms_after_edits``)."""
    path = root / ("ours.py" if ours else "ruff.py")
    path.write_text(source)
    uri = path.as_uri()
    client = RawClient(command)
    await client.start(root)
    if ours:
        await client.until(lambda: any("indexed" in m for m in client.logs))
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": source}})
    await client.until(lambda: client.publishes.get(uri, 0) >= 1)
    planned = "doeff-migrate: planned {} version {}"
    if ours:
        await client.until(lambda: planned.format(uri, 1) in client.logs)
    body_line = source.splitlines().index("    started = time.time()")
    version, latencies = 1, []
    cpu_before = cpu_seconds(client.pid)
    for n in range(edits):
        version += 1
        count = client.publishes.get(uri, 0)
        sent = time.perf_counter()
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": body_line, "character": 0}, "end": {"line": body_line + 1, "character": 0}},
                                "text": f"    started = time.time() + {n}\n"}],
        })
        await client.until(lambda: client.publishes.get(uri, 0) > count)
        latencies.append((time.perf_counter() - sent) * 1000)
    cpu_ms = (cpu_seconds(client.pid) - cpu_before) * 1000
    result = {"cpu_ms_per_edit": cpu_ms / max(edits, 1), "edit_to_diagnostics_ms_median": statistics.median(latencies) if latencies else 0.0}
    if ours and edits:
        before_plan = cpu_seconds(client.pid)
        final = planned.format(uri, version)
        await client.until(lambda: final in client.logs)
        result["plan_cpu_ms_after_edits"] = (cpu_seconds(client.pid) - before_plan) * 1000
    await client.stop()
    return result


async def measure_side_by_side(root: Path, source: str, edits: int) -> dict[str, object]:
    """Our server and ``ruff server``, one after the other, on the same file with the same edits."""
    ours = await cpu_per_edit(SERVER, root, source, edits, ours=True)
    if not ruff_available():
        return {"ours": ours, "ruff": None, "ratio": None}
    ruff = await cpu_per_edit(RUFF_SERVER, root, source, edits, ours=False)
    ratio = ours["cpu_ms_per_edit"] / ruff["cpu_ms_per_edit"] if ruff["cpu_ms_per_edit"] else None
    return {"ours": ours, "ruff": ruff, "ratio": ratio}


async def measure_code_actions(root: Path, source: str, runs: int) -> dict[str, float]:
    """The code-action list at a not-yet-migrated function (wall time of the request, median of ``runs``), and
    the ``codeAction/resolve`` of its "Migrate" action (the codemod's run, on the server's worker thread)."""
    path = root / "actions.py"
    path.write_text(source)
    uri = path.as_uri()
    bench = BenchClient()
    await bench.start(root)
    await bench.wait(("index", None))
    bench.client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=source))
    )
    await bench.wait(("planned", uri, "1"))
    line = source.splitlines().index("@injected")
    where = types.Range(types.Position(line, 0), types.Position(line, 0))
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.RefactorRewrite]),
    )
    times, actions = [], []
    for _ in range(runs):
        sent = time.perf_counter()
        actions = await bench.client.text_document_code_action_async(params)
        times.append((time.perf_counter() - sent) * 1000)
    migrate = next((a for a in actions or [] if a.title.startswith("DM15")), None)
    resolve_ms = None
    if migrate is not None:
        sent = time.perf_counter()
        await bench.client.code_action_resolve_async(migrate)
        resolve_ms = (time.perf_counter() - sent) * 1000
    await bench.stop()
    return {"list_ms_median": statistics.median(times), "list_ms_max": max(times), "resolve_ms": resolve_ms,
            "actions": len(actions or [])}


def make_project(root: Path, files: int) -> None:
    """``files`` modules of a package: pinjected providers, ``@do`` functions and helpers (~60 lines each)."""
    package = root / "proj"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for n in range(files):
        (package / f"mod_{n}.py").write_text(make_large_source(60).replace("_0(", f"_{n}("))


async def measure_cold_init(root: Path, files: int, starts: int) -> dict[str, float]:
    """A fresh server on a ``files``-module project, ``starts`` times: spawn -> initialize result, -> the first
    diagnostics of a module opened right after ``initialized``, and -> the index's "indexed". The first start
    finds no stored project facts (``.doeff-migrate-cache/lsp-facts.json``); the later ones reuse them."""
    make_project(root, files)
    opened = root / "proj" / "mod_0.py"
    text = opened.read_text()
    runs: list[tuple[float, float, float]] = []
    for _ in range(starts):
        bench = BenchClient()
        spawned = time.perf_counter()
        await bench.start(root)
        ready = time.perf_counter()
        bench.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=opened.as_uri(), language_id="python", version=1, text=text))
        )
        await bench.wait((opened.as_uri(), 1))
        diagnosed = time.perf_counter()
        await bench.wait(("index", None))
        indexed = time.perf_counter()
        runs.append(((ready - spawned) * 1000, (diagnosed - spawned) * 1000, (indexed - spawned) * 1000))
        await bench.stop()
    first, later = runs[0], runs[1:] or runs
    return {
        "files": files,
        "first_start_spawn_to_ready_ms": first[0],
        "first_start_spawn_to_diagnostics_ms": first[1],
        "first_start_spawn_to_indexed_ms": first[2],
        "spawn_to_ready_ms_median": statistics.median(r[0] for r in later),
        "spawn_to_diagnostics_ms_median": statistics.median(r[1] for r in later),
        "spawn_to_indexed_ms_median": statistics.median(r[2] for r in later),
    }


def measure_in_process(source: str, runs: int) -> dict[str, float]:
    from doeff_migrate.codemod.analysis import Config, check

    config = Config()
    check(source, "/bench/big_module.py", config)
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        findings = check(source, "/bench/big_module.py", config)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        "check_ms_median": statistics.median(times),
        "check_ms_max": max(times),
        "check_cpu_ms_median": statistics.median(cpu),
        "check_cpu_ms_max": max(cpu),
        "findings": len(findings),
    }


def measure_cli_check(root: Path, source: str, runs: int) -> dict[str, float] | None:
    """``doeff-migrate --check FILE`` on a copy of the same file, as a user runs it (new process)."""
    cli = shutil.which("doeff-migrate") or str(Path(sys.executable).with_name("doeff-migrate"))
    if not os.path.exists(cli):
        return None
    path = root / "cli_copy.py"
    times = []
    for _ in range(runs):
        path.write_text(source)
        started = time.perf_counter()
        proc = subprocess.run([cli, "--check", "--allow-dirty", str(path)], capture_output=True, text=True, cwd=root)
        times.append((time.perf_counter() - started) * 1000)
        if proc.returncode not in (0, 1):
            return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}  # type: ignore[dict-item]
    return {"cli_check_ms_median": statistics.median(times), "cli_check_ms_max": max(times)}


async def main_async(args: argparse.Namespace) -> dict:
    source = make_large_source(args.lines)
    with tempfile.TemporaryDirectory(prefix="bench-lsp-") as tmp:
        root = Path(tmp)
        result = {
            "meta": {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "file_lines": source.count("\n"),
                "edits": args.changes,
                "memory_edits": args.edits,
            },
            "ready": await measure_ready(root, args.starts),
            "side_by_side": await measure_side_by_side(root, source, args.changes),
            "code_actions": await measure_code_actions(root, source, args.action_runs),
            "edits": await measure_edits(root, source, args.changes, args.edits),
            "in_process": measure_in_process(source, args.changes),
            "peer_cli_check": measure_cli_check(root, source, args.cli_runs),
        }
    with tempfile.TemporaryDirectory(prefix="bench-lsp-project-") as tmp:
        result["cold_init_project"] = await measure_cold_init(Path(tmp), args.project_files, args.starts)
    return result


def side_by_side_rows(side: dict) -> list[tuple[str, str, str]]:
    ruff = side["ruff"]
    return [
        ("side by side: our server, CPU per didChange", f"{side['ours']['cpu_ms_per_edit']:.1f} ms", "≤ 10 ms"),
        ("side by side: ruff server, CPU per didChange", "ruff not installed" if ruff is None else f"{ruff['cpu_ms_per_edit']:.1f} ms", "—"),
        ("side by side: ratio ours / ruff", "n/a" if side["ratio"] is None else f"{side['ratio']:.1f}×", "—"),
        ("our codemod plan once typing pauses (CPU, once per pause)", f"{side['ours'].get('plan_cpu_ms_after_edits', 0):.0f} ms", "off the event loop"),
    ]


def render_side_by_side(side: dict) -> str:
    return "\n".join(f"| {a} | {b} | {c} |" for a, b, c in side_by_side_rows(side))


def render(result: dict) -> str:
    ready, edits, local, peer = result["ready"], result["edits"], result["in_process"], result["peer_cli_check"]
    rows = [
        ("ready, cold: spawn -> initialize result (median / max)", f"{ready['spawn_to_ready_ms_median']:.0f} / {ready['spawn_to_ready_ms_max']:.0f} ms", "≤ 500 ms"),
        ("ready, cold: server CPU time until the initialize result (median)", f"{ready['spawn_to_ready_cpu_ms_median']:.0f} ms", "≤ 500 ms"),
        ("ready, process started: initialize -> result (median / max)", f"{ready['initialize_to_ready_ms_median']:.1f} / {ready['initialize_to_ready_ms_max']:.1f} ms", "≤ 500 ms"),
        (f"didChange -> diagnostics, {result['meta']['file_lines']}-line file (median / max of {result['meta']['edits']})",
         f"{edits['edit_to_diagnostics_ms_median']:.1f} / {edits['edit_to_diagnostics_ms_max']:.1f} ms", "≤ 50 ms"),
        ("server CPU time per didChange (mean of the same edits)", f"{edits['server_cpu_ms_per_edit_mean']:.1f} ms", "≤ 50 ms"),
        ("analysis.check in process, wall (median / max)", f"{local['check_ms_median']:.1f} / {local['check_ms_max']:.1f} ms ({local['findings']} findings)", "—"),
        ("analysis.check in process, CPU (median / max)", f"{local['check_cpu_ms_median']:.1f} / {local['check_cpu_ms_max']:.1f} ms", "—"),
        ("server RSS after N edits of the memory run", ", ".join(f"{n}: {kib / 1024:.1f} MiB" for n, kib in sorted(edits["rss_kib_after_edits"].items())), "stable"),
        ("server RSS growth per edit, edits 50 -> last", "n/a" if edits["rss_growth_bytes_per_edit_after_50"] is None else f"{edits['rss_growth_bytes_per_edit_after_50']:.0f} B", "≈ 0"),
    ]
    if peer is None:
        rows.append(("peer: doeff-migrate --check (same file)", "CLI not installed", "—"))
    elif "error" in peer:
        rows.append(("peer: doeff-migrate --check (same file)", f"failed: {peer['error']}", "—"))
    else:
        ratio = edits["edit_to_diagnostics_ms_median"] / peer["cli_check_ms_median"]
        rows.append(("peer: doeff-migrate --check (same file, median)", f"{peer['cli_check_ms_median']:.0f} ms (server edit = {ratio:.3f}×)", "—"))
    actions, cold = result["code_actions"], result["cold_init_project"]
    rows += side_by_side_rows(result["side_by_side"]) + [
        ("code-action list at a function (median / max)", f"{actions['list_ms_median']:.1f} / {actions['list_ms_max']:.1f} ms", "≤ 50 ms"),
        ("codeAction/resolve of its Migrate (codemod run)", "n/a" if actions["resolve_ms"] is None else f"{actions['resolve_ms']:.0f} ms", "—"),
        (f"cold start, {cold['files']}-file project: spawn -> initialize result (median; first start)",
         f"{cold['spawn_to_ready_ms_median']:.0f} ms; {cold['first_start_spawn_to_ready_ms']:.0f} ms", "≤ 300 ms"),
        (f"cold start, {cold['files']}-file project: spawn -> diagnostics of a module opened at once (median; first start)",
         f"{cold['spawn_to_diagnostics_ms_median']:.0f} ms; {cold['first_start_spawn_to_diagnostics_ms']:.0f} ms", "—"),
        (f"cold start, {cold['files']}-file project: spawn -> index ready (median, stored facts; first start)",
         f"{cold['spawn_to_indexed_ms_median']:.0f} ms; {cold['first_start_spawn_to_indexed_ms']:.0f} ms", "—"),
    ]
    lines = ["| measure | value | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=20, help="timed didChange edits")
    parser.add_argument("--edits", type=int, default=1000, help="edits of the memory run")
    parser.add_argument("--starts", type=int, default=5, help="fresh server processes for the ready time")
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--action-runs", type=int, default=10, help="code-action list requests")
    parser.add_argument("--project-files", type=int, default=100, help="modules of the cold-start project")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

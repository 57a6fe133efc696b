"""Metrics effects (console/JSONL, real wandb offline), the disk cache, missing optional deps."""

import io
import json
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from doeff_migrate.runtime import CacheGet, CachePut, do, run
from doeff_migrate.runtime.disk_cache import DiskCacheHandler
from doeff_migrate.runtime.metrics import LogConfig, LogMetrics, LogSummary, MetricsLogger, WandbHandler
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler, load_recording


@do
def training_log():
    yield LogConfig({"lr": 0.1, "epochs": 3})
    for step in range(3):
        yield LogMetrics({"loss": 1.0 / (step + 1), "acc": np.float64(0.5 + step / 10)}, step=step)
    yield LogSummary({"best_acc": 0.7})
    return "done"


def test_metrics_logger_prints_and_appends_jsonl(tmp_path):
    out = io.StringIO()
    path = tmp_path / "metrics.jsonl"
    logger = MetricsLogger(path, stream=out)
    assert run(training_log(), handlers=[logger]) == "done"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["config", "metrics", "metrics", "metrics", "summary"]
    assert lines[3]["metrics"] == {"loss": pytest.approx(1 / 3), "acc": pytest.approx(0.7)} and lines[3]["step"] == 2
    assert "step 2: loss=0.333333 acc=0.7" in out.getvalue()
    run(training_log(), handlers=[MetricsLogger(path, stream=None)])
    assert len(path.read_text().splitlines()) == 10  # appended, not replaced


def test_metrics_are_recorded_and_not_logged_again_on_replay(tmp_path):
    path = tmp_path / "rec.jsonl"
    first = MetricsLogger(stream=None)
    run(training_log(), handlers=[RecordingHandler(path), first])
    assert len(first.history) == 5
    assert sum(r.effect.endswith("LogMetrics") for r in load_recording(path).records) == 3
    again = MetricsLogger(stream=None)
    run(training_log(), handlers=[ReplayHandler(path), again])
    assert again.history == []


def read_wandb_records(path: Path) -> list:
    """Parse a ``.wandb`` file: a ':W&B' header, then LevelDB-log-framed protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, out, pending = 7, 32768, [], b""
    while pos + 7 <= len(data):
        left = block - (pos % block)
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending + chunk)
            out.append(record)
            pending = b""
        elif kind in (2, 3):  # FIRST, MIDDLE
            pending += chunk
        else:
            break
    return out


@pytest.mark.slow
def test_wandb_handler_logs_history_to_a_real_offline_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    handler = WandbHandler(project="doeff-test", dir=str(tmp_path), mode="offline")
    assert run(training_log(), handlers=[handler]) == "done"
    import wandb

    wandb.teardown()  # wandb's service writes the .wandb file asynchronously; shutting it down flushes it
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    records = read_wandb_records(next(runs[0].glob("run-*.wandb")))
    history = []
    for r in records:
        if r.WhichOneof("record_type") == "history":
            history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item})
    logged = [(h["_step"], h["loss"], h["acc"]) for h in history]
    assert logged == [(0, 1.0, pytest.approx(0.5)), (1, 0.5, pytest.approx(0.6)), (2, pytest.approx(1 / 3), pytest.approx(0.7))]
    config = [r for r in records if r.WhichOneof("record_type") == "config"]
    assert any(item.key == "lr" and json.loads(item.value_json) == 0.1 for r in config for item in r.config.update)
    summary = [r for r in records if r.WhichOneof("record_type") == "summary"]
    assert any(item.key == "best_acc" for r in summary for item in r.summary.update)
    assert handler.run._is_finished  # the handler started the run, so it finished it

    # a run the caller manages is logged into and left open
    existing = wandb.init(project="doeff-test", dir=str(tmp_path / "own"), mode="offline")
    run(training_log(), handlers=[WandbHandler(run=existing)])
    assert not existing._is_finished
    existing.log({"after": 1.0})
    existing.finish()


BLOCK_IMPORT = """
import builtins, sys
real_import = builtins.__import__
def blocked(name, *args, **kwargs):
    if name == "{module}" or name.startswith("{module}."):
        raise ImportError("No module named '{module}' (blocked by the test)")
    return real_import(name, *args, **kwargs)
builtins.__import__ = blocked
"""


@pytest.mark.parametrize(
    "module, construct, expected",
    [
        ("wandb", "from doeff_migrate.runtime.metrics import WandbHandler; WandbHandler(project='x')", "doeff-migrate[wandb]"),
        ("ray", "from doeff_migrate.runtime.ray_backend import RayHandler; RayHandler()", "doeff-migrate[ray]"),
    ],
)
def test_missing_optional_dependency_says_what_to_install(tmp_path, module, construct, expected):
    code = BLOCK_IMPORT.format(module=module) + textwrap.dedent(f"""
        from doeff_migrate.runtime.metrics import MissingDependencyError
        try:
            {construct}
        except MissingDependencyError as err:
            print("ERROR:", err)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR:" in proc.stdout and expected in proc.stdout and "cannot be imported" in proc.stdout


# --- disk cache ---------------------------------------------------------------------------------


@do
def cached_square(x):
    try:
        return (yield CacheGet(("square", x)))
    except KeyError:
        value = np.full(3, x * x)
        yield CachePut(("square", x), value)
        return value


def test_disk_cache_survives_runs_and_misses_raise_keyerror(tmp_path):
    cache = DiskCacheHandler(tmp_path / "cache")
    assert list(run(cached_square(3), handlers=[cache])) == [9, 9, 9]
    keys = list((tmp_path / "cache" / "keys").rglob("*.json"))
    assert len(keys) == 1
    # a new handler on the same directory (a new process would do the same) hits
    assert list(run(CacheGet(("square", 3)), handlers=[DiskCacheHandler(tmp_path / "cache")])) == [9, 9, 9]
    with pytest.raises(KeyError):
        run(CacheGet("absent"), handlers=[cache])


def test_disk_cache_is_content_addressed(tmp_path):
    cache = DiskCacheHandler(tmp_path)
    run(CachePut("a", [1, 2, 3]), handlers=[cache])
    run(CachePut("b", [1, 2, 3]), handlers=[cache])
    objects = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1 and run(CacheGet("b"), handlers=[cache]) == [1, 2, 3]


def test_disk_cache_ttl_expires(tmp_path):
    cache = DiskCacheHandler(tmp_path)
    run(CachePut("soon", 1, ttl=-1), handlers=[cache])
    with pytest.raises(KeyError):
        run(CacheGet("soon"), handlers=[cache])


def test_disk_cache_damaged_entry_is_a_miss_and_nothing_is_deleted(tmp_path, caplog):
    cache = DiskCacheHandler(tmp_path)
    run(CachePut("k", "value"), handlers=[cache])
    obj = next(p for p in (tmp_path / "objects").rglob("*") if p.is_file())
    obj.write_bytes(b"garbage")
    with pytest.raises(KeyError):
        run(CacheGet("k"), handlers=[cache])
    assert "damaged" in caplog.text and obj.read_bytes() == b"garbage"
    run(CachePut("k", "value"), handlers=[cache])  # a put after the miss repairs it
    assert run(CacheGet("k"), handlers=[cache]) == "value"


def test_disk_cache_concurrent_writers_never_expose_partial_values(tmp_path):
    """Processes and threads hammer one key with large values; every read is one whole value."""
    directory = tmp_path / "shared"
    writer = textwrap.dedent(f"""
        import sys
        from doeff_migrate.runtime import CachePut, run
        from doeff_migrate.runtime.disk_cache import DiskCacheHandler
        cache = DiskCacheHandler({str(directory)!r})
        n = int(sys.argv[1])
        for i in range(30):
            run(CachePut("hot", bytes([n]) * 200_000), handlers=[cache])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(n)]) for n in range(1, 4)]
    cache = DiskCacheHandler(directory)
    seen = set()
    errors = []

    def reader():
        for _ in range(200):
            try:
                value = run(CacheGet("hot"), handlers=[cache])
            except KeyError:
                continue
            if len(value) != 200_000 or len(set(value)) != 1:
                errors.append(len(value))
            seen.add(value[0])

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for p in procs:
        assert p.wait(timeout=120) == 0
    for t in threads:
        t.join()
    assert errors == []
    final = run(CacheGet("hot"), handlers=[cache])
    assert len(final) == 200_000 and final[0] in (1, 2, 3)
    assert not [p for p in directory.rglob(".tmp-*")]  # no temp file left behind

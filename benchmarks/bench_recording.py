"""Recording, replay and Ray Spawn, each beside its peer, in one process.

    .venv/bin/python benchmarks/bench_recording.py            # Markdown table
    .venv/bin/python benchmarks/bench_recording.py --json     # JSON document instead
    .venv/bin/python benchmarks/bench_recording.py --quick    # fewer repeats, smaller N
    .venv/bin/python benchmarks/bench_recording.py --no-ray   # skip the Ray case

Cases (median of ``--repeats`` runs, after a warm-up; a case and its peers take turns within each
repeat, so load from other processes hits them alike):

* recording overhead per effect: a program performing N small user effects answered by a native
  handler, with and without ``RecordingHandler`` innermost; the peer is a hand-written JSONL log
  (``json.dumps`` + unbuffered write per event, no effects at all); the same with the effects
  answered by a ``@handler`` generator handler (what migrated code's ``io`` handlers are);
* replay per effect: the same program answered by ``ReplayHandler`` (file already parsed) beside
  the same program answered by a native handler (the cost of answering an effect at all);
* replay of a 100,000-effect recording end to end (parse + run), in seconds;
* Ray: 100 small tasks as ``Spawn`` + ``Gather`` under ``RayHandler`` beside
  ``ray.get([f.remote(i) for i in range(100)])``.

Targets (issue 5): recording overhead <= 3 us (with a native and with a ``@handler`` world
handler) and replay <= 3 us per effect, 100k-effect replay
< 2 s, Ray ratio <= 1.2. The machine is shared: compare ratios within one run.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from doeff_migrate.runtime import EffectBase, Gather, Resume, Spawn, do, handler, run
from doeff_migrate.runtime.handlers import NativeHandler
from doeff_migrate.runtime.recording import RecordingHandler, ReplayHandler


@dataclass(frozen=True)
class Fetch(EffectBase):
    """A small user effect with one int field and an int answer."""

    x: int


class FetchHandler(NativeHandler):
    types = (Fetch,)
    name = "FetchHandler"

    def handle(self, effect, segment):
        return effect.x * 2


@handler
def fetch_handler(effect: Fetch, k):
    """``FetchHandler`` as a generator handler."""
    return (yield Resume(k, effect.x * 2))


@do
def fetch_loop(n):
    total = 0
    for i in range(n):
        total += yield Fetch(i)
    return total


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_of(repeats, fn):
    fn()  # warm-up
    return statistics.median(timed(fn) for _ in range(repeats))


def interleaved_medians(repeats, *fns):
    """Median time of each of ``fns``, run in turn within every repeat (after one warm-up each), so
    load from other processes on a shared machine hits them alike and their ratios stay meaningful."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            ts.append(timed(fn))
    return [statistics.median(ts) for ts in times]


def bench_recording(n, repeats, workdir):
    counter = [0]

    def record_once(world=FetchHandler()):
        counter[0] += 1
        run(fetch_loop(n), handlers=[RecordingHandler(workdir / f"rec{counter[0]}.jsonl"), world])

    def plain(world=FetchHandler()):
        run(fetch_loop(n), handlers=[world])

    def record_generator():
        record_once(fetch_handler)

    def plain_generator():
        plain(fetch_handler)

    def hand_written_log():
        with open(workdir / f"peer{counter[0]}.jsonl", "wb", buffering=0) as f:
            counter[0] += 1
            for i in range(n):
                f.write((json.dumps({"event": "Fetch", "x": i, "answer": i * 2}) + "\n").encode())

    base, recorded, peer, base_generator, recorded_generator = interleaved_medians(
        repeats, plain, record_once, hand_written_log, plain_generator, record_generator
    )
    overhead = (recorded - base) / n * 1e6
    return {
        "effect_dispatch_us": base / n * 1e6,
        "recording_overhead_us": overhead,
        "hand_written_jsonl_us": peer / n * 1e6,
        "ratio_vs_hand_written_jsonl": overhead / (peer / n * 1e6),
        "generator_handler_us": base_generator / n * 1e6,
        "recording_overhead_generator_handler_us": (recorded_generator - base_generator) / n * 1e6,
    }


def bench_replay(n, repeats, workdir):
    path = workdir / "replay-source.jsonl"
    run(fetch_loop(n), handlers=[RecordingHandler(path), FetchHandler()])
    handler = ReplayHandler(path)
    t_load = timed(lambda: handler.recording)

    def replay():
        run(fetch_loop(n), handlers=[handler])

    def native():
        run(fetch_loop(n), handlers=[FetchHandler()])

    replayed, base = interleaved_medians(repeats, replay, native)
    return {
        "replay_us": replayed / n * 1e6,
        "native_answer_us": base / n * 1e6,
        "ratio_vs_native_answer": replayed / base,
        "parse_s": t_load,
    }


def bench_replay_100k(repeats, workdir):
    n = 100_000
    path = workdir / "replay-100k.jsonl"
    run(fetch_loop(n), handlers=[RecordingHandler(path), FetchHandler()])

    def end_to_end():
        assert run(fetch_loop(n), handlers=[ReplayHandler(path)]) == n * (n - 1)

    return {"replay_100k_total_s": median_of(max(1, repeats // 2), end_to_end), "file_mb": path.stat().st_size / 1e6}


@do
def small_program(i):
    return i + 1


def small_function(i):
    return i + 1


@do
def spawn_hundred(n):
    tasks = []
    for i in range(n):
        tasks.append((yield Spawn(small_program(i))))
    return (yield Gather(*tasks))


def bench_ray(repeats, cpus):
    import ray

    from doeff_migrate.runtime.ray_backend import RayHandler

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Both paths use functions of an importable module (as real code does), so workers import them
    # by name instead of receiving them by value.
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    import bench_recording as module

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": here}})
    try:
        remote = ray.remote(module.small_function)
        handler = RayHandler()
        n = 100

        def direct():
            assert ray.get([remote.remote(i) for i in range(n)]) == list(range(1, n + 1))

        def via_spawn():
            assert run(module.spawn_hundred(n), handlers=[handler]) == list(range(1, n + 1))

        for _ in range(2):  # start and warm the workers for both paths
            direct()
            via_spawn()
        d, s = [], []
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            d.append(timed(direct))
            s.append(timed(via_spawn))
        direct_s, spawn_s = statistics.median(d), statistics.median(s)
        return {"ray_direct_100_s": direct_s, "ray_spawn_100_s": spawn_s, "ratio_spawn_vs_direct": spawn_s / direct_s}
    finally:
        ray.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--ray-cpus", type=int, default=1)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    n = 20_000 if args.quick else 50_000
    results = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(), "n": n}
    try:
        results["load_average"] = os.getloadavg()[0]
    except OSError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results.update(bench_recording(n, repeats, workdir))
        results.update(bench_replay(n, repeats, workdir))
        results.update(bench_replay_100k(repeats, workdir))
    if not args.no_ray:
        results.update(bench_ray(repeats, args.ray_cpus))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [
        ("recording overhead per effect", f"{results['recording_overhead_us']:.2f} us", f"hand-written JSONL log {results['hand_written_jsonl_us']:.2f} us", f"{results['ratio_vs_hand_written_jsonl']:.2f}x", "<= 3 us"),
        ("recording overhead per effect, @handler world", f"{results['recording_overhead_generator_handler_us']:.2f} us", f"hand-written JSONL log {results['hand_written_jsonl_us']:.2f} us", f"{results['recording_overhead_generator_handler_us'] / results['hand_written_jsonl_us']:.2f}x", "<= 3 us"),
        ("replay per effect", f"{results['replay_us']:.2f} us", f"native handler answer {results['native_answer_us']:.2f} us", f"{results['ratio_vs_native_answer']:.2f}x", "<= 3 us"),
        ("replay of 100,000 effects (parse + run)", f"{results['replay_100k_total_s']:.2f} s", f"file {results['file_mb']:.1f} MB", "", "< 2 s"),
    ]
    if "ratio_spawn_vs_direct" in results:
        rows.append(("Ray: 100 small tasks via Spawn", f"{results['ray_spawn_100_s'] * 1000:.0f} ms", f"ray.remote direct {results['ray_direct_100_s'] * 1000:.0f} ms", f"{results['ratio_spawn_vs_direct']:.2f}x", "<= 1.2x"))
    print(f"Python {results['python']} on {results['machine']}, {results['cpus']} CPUs, load {results.get('load_average', '?')}, N={n}, median of {repeats}\n")
    print("| case | measured | peer | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Side-by-side benchmark: doeff_migrate.runtime against doeff 0.8.0 (a Rust VM), in one process.

    .venv/bin/python benchmarks/bench_runtime.py            # Markdown table
    .venv/bin/python benchmarks/bench_runtime.py --json     # JSON document instead
    .venv/bin/python benchmarks/bench_runtime.py --quick    # 3 repeats instead of 9

Each case builds the same program on both backends from one source (the builder gets a namespace
of the backend's names), runs it once per backend to warm up, then times ``--repeats`` runs per
backend with ``time.perf_counter`` (the backends alternate within each repeat) and reports the
median divided by the number of operations, in µs. The
plain-Python baselines (a function call in a loop, a generator trampoline) show how far either
interpreter is from bare Python. Targets: Ask/Tell/Get-Put at ≤ 0.25× doeff; custom-handler
Resume/Transfer, non-tail Resume and nested @do call at ≤ 0.8×; sequential sub-program calls and
run() fixed cost at ≤ 1.0×. The re-entrant call (a dependency callable) has no doeff counterpart;
doeff's column yields the same program instead, for scale.

The floor column (Ask, Tell, Get/Put, nested, sequential, run()): the same program object, built with
the runtime's names, run by the smallest pure-Python driver that does the work the runtime's API
requires (``runtime_floor.py``), timed in the same rounds. A target under the floor's ratio to doeff
is out of reach for any interpreter written in Python on these objects.
"""

# No `from __future__ import annotations`: handler annotations must stay evaluable objects, since
# they are the handlers' type filters.
import argparse
import gc
import importlib
import importlib.metadata
import json
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import runtime_floor

NAMES = (
    "do", "run", "EffectBase", "handler", "Resume", "Transfer",
    "Ask", "Get", "Put", "Tell", "Spawn", "Gather",
    "reader", "state", "writer", "scheduled",
)
# doeff 0.8.0 keeps its handlers out of the top-level package.
DOEFF_MODULE_OF = {
    "reader": "doeff_core_effects.handlers",
    "state": "doeff_core_effects.handlers",
    "writer": "doeff_core_effects.handlers",
    "scheduled": "doeff_core_effects.scheduler",
}


def load_backend(name: str) -> SimpleNamespace:
    if name == "doeff":
        api = SimpleNamespace(**{
            n: getattr(importlib.import_module(DOEFF_MODULE_OF.get(n, "doeff")), n) for n in NAMES
        })
        api.run_reentrant = None  # doeff has no re-entrant call
        return api
    module = importlib.import_module("doeff_migrate.runtime")
    api = SimpleNamespace(**{n: getattr(module, n) for n in NAMES})
    api.run_reentrant = importlib.import_module("doeff_migrate.runtime.interpreter").run_reentrant
    return api


# --- cases: each builder returns (zero-argument callable running the case once, operation count)


def ask_program(api: Any, n: int) -> Any:
    @api.do
    def ask_loop(count):
        acc = 0
        for _ in range(count):
            acc += yield api.Ask("x")
        return acc

    return ask_loop(n)


def ask_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = ask_program(api, n)
    return (lambda: api.run(api.reader(env={"x": 1})(program))), n


def ask_in_sub_program_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    """The Ask loop run as a sub-program: every effect is performed one call deep (the runtime
    steps a sub-program through a runner, one more generator hop per step)."""

    @api.do
    def ask_loop(count):
        acc = 0
        for _ in range(count):
            acc += yield api.Ask("x")
        return acc

    @api.do
    def main(count):
        return (yield ask_loop(count))

    return (lambda: api.run(api.reader(env={"x": 1})(main(n)))), n


def tell_program(api: Any, n: int) -> Any:
    @api.do
    def tell_loop(count):
        for i in range(count):
            yield api.Tell(i)
        return count

    return tell_loop(n)


def tell_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = tell_program(api, n)
    return (lambda: api.run(api.state()(api.writer(program)))), n


def get_put_program(api: Any, n: int) -> Any:
    @api.do
    def counter_loop(count):
        for _ in range(count):
            value = yield api.Get("x")
            yield api.Put("x", value + 1)
        return (yield api.Get("x"))

    return counter_loop(n)


def get_put_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = get_put_program(api, n)
    # Two effects per iteration: the time is reported per effect.
    return (lambda: api.run(api.state(initial={"x": 0})(program))), 2 * n


def ping_program(api: Any, n: int) -> Any:
    class Ping(api.EffectBase):
        pass

    ping = Ping()

    @api.do
    def ping_loop(count):
        acc = 0
        for _ in range(count):
            acc += yield ping
        return acc

    return Ping, ping_loop(n)


def resume_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    Ping, program = ping_program(api, n)

    @api.handler
    def answer(effect: Ping, k):
        return (yield api.Resume(k, 1))

    return (lambda: api.run(answer(program))), n


def transfer_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    Ping, program = ping_program(api, n)

    @api.handler
    def answer(effect: Ping, k):
        return (yield api.Transfer(k, 1))

    return (lambda: api.run(answer(program))), n


def non_tail_resume_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    Ping, program = ping_program(api, n)

    @api.handler
    def answer(effect: Ping, k):
        r = yield api.Resume(k, 1)
        return r

    return (lambda: api.run(answer(program))), n


def post_processing_resume_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    """A handler that uses the resumed value (``return r + 1``): a resume the loop cannot run as a tail one,
    so every handler frame waits for the end of the handled block."""
    Ping, program = ping_program(api, n)

    @api.handler
    def answer(effect: Ping, k):
        r = yield api.Resume(k, 1)
        return r + 1

    return (lambda: api.run(answer(program))), n


def nested_program(api: Any, depth: int) -> Any:
    @api.do
    def nested(d):
        if d == 0:
            return 0
        return (yield nested(d - 1)) + 1

    return nested(depth)


def nested_case(api: Any, depth: int) -> tuple[Callable[[], Any], int]:
    program = nested_program(api, depth)
    return (lambda: api.run(program)), depth


def sequential_program(api: Any, n: int) -> Any:
    @api.do
    def leaf():
        return 1
        yield

    @api.do
    def calls(count):
        acc = 0
        for _ in range(count):
            acc += yield leaf()
        return acc

    return calls(n)


def sequential_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = sequential_program(api, n)
    return (lambda: api.run(program)), n


def reentrant_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    """A dependency callable: plain Python calling a small program (one ``Ask``) on the running run.
    doeff has no re-entrant call, so its column yields the same program as a sub-program instead."""

    @api.do
    def leaf():
        return (yield api.Ask("x"))

    if api.run_reentrant is None:
        @api.do
        def calls(count):
            acc = 0
            for _ in range(count):
                acc += yield leaf()
            return acc
    else:
        run_reentrant = api.run_reentrant

        @api.do
        def calls(count):
            acc = 0
            for _ in range(count):
                acc += run_reentrant(leaf())
            return acc
            yield

    return (lambda: api.run(api.reader(env={"x": 1})(calls(n)))), n


def trivial_program(api: Any) -> Any:
    @api.do
    def leaf():
        return 1
        yield

    return leaf()


def run_fixed_cost_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = trivial_program(api)

    def many_runs():
        for _ in range(n):
            result = api.run(program)
        return result

    return many_runs, n


def gather_case(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    @api.do
    def one():
        return 1
        yield

    @api.do
    def spawn_all(count):
        tasks = []
        for _ in range(count):
            tasks.append((yield api.Spawn(one())))
        return sum((yield api.Gather(*tasks)))

    return (lambda: api.run(api.scheduled(spawn_all(n)))), n


# --- floor builders: the same program, built with the runtime's names, run by a minimal driver
# (runtime_floor.py says what the drivers do and leave out)


def ask_floor(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = ask_program(api, n)
    return (lambda: runtime_floor.drive_reader(program, {"x": 1})), n


def tell_floor(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = tell_program(api, n)
    return (lambda: runtime_floor.drive_writer(program, [])), n


def get_put_floor(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = get_put_program(api, n)
    return (lambda: runtime_floor.drive_state(program, {"x": 0}, api.Get)), 2 * n


def nested_floor(api: Any, depth: int) -> tuple[Callable[[], Any], int]:
    program = nested_program(api, depth)
    return (lambda: runtime_floor.drive_calls(program)), depth


def sequential_floor(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = sequential_program(api, n)
    return (lambda: runtime_floor.drive_calls(program)), n


def run_fixed_floor(api: Any, n: int) -> tuple[Callable[[], Any], int]:
    program = trivial_program(api)
    drive_calls = runtime_floor.drive_calls

    def many_runs():
        for _ in range(n):
            result = drive_calls(program)
        return result

    return many_runs, n


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    build: Callable[[Any, int], tuple[Callable[[], Any], int]]
    size: int
    target: float | None  # ceiling for runtime/doeff, from issue 3
    floor: Callable[[Any, int], tuple[Callable[[], Any], int]] | None = None


CASES = (
    Case("ask", "`Ask` dispatch (`reader`)", ask_case, 100_000, 0.25, ask_floor),
    Case("ask_in_sub", "`Ask` dispatch inside a sub-program", ask_in_sub_program_case, 100_000, None),
    Case("tell", "`Tell` (`state()(writer(...))`)", tell_case, 100_000, 0.25, tell_floor),
    Case("get_put", "`Get`/`Put` (`state`), per effect", get_put_case, 50_000, 0.25, get_put_floor),
    Case("resume", "custom `@handler` answering with `Resume`", resume_case, 100_000, 0.8),
    Case("transfer", "custom `@handler` answering with `Transfer`", transfer_case, 100_000, 0.8),
    Case("non_tail_resume", "non-tail `r = yield Resume(k, v); return r`", non_tail_resume_case, 100_000, 0.8),
    Case("post_resume", "non-tail resume using its value (`r = yield Resume(k, v); return r + 1`)", post_processing_resume_case, 100_000, None),
    Case("nested", "nested `@do` call chain (ops = depth; per level)", nested_case, 1_000, 0.8, nested_floor),
    Case("sequential", "sequential sub-program calls (`acc += yield leaf()`)", sequential_case, 100_000, 1.0, sequential_floor),
    Case("reentrant", "re-entrant call of a one-`Ask` program (doeff: `yield` it)", reentrant_case, 30_000, None),
    Case("run_fixed", "`run()` fixed cost, trivial program", run_fixed_cost_case, 10_000, 1.0, run_fixed_floor),
    Case("gather", "`Spawn` + `Gather` of many tasks (per task)", gather_case, 1_000, None),
)

# --- plain-Python baselines


def plain_call_baseline(n: int) -> tuple[Callable[[], Any], int]:
    def f(x):
        return x

    def loop():
        acc = 0
        for _ in range(n):
            acc += f(1)
        return acc

    return loop, n


def trampoline_baseline(n: int) -> tuple[Callable[[], Any], int]:
    env = {"x": 1}

    def body():
        acc = 0
        for _ in range(n):
            acc += yield "x"
        return acc

    def drive():
        gen = body()
        try:
            request = next(gen)
            while True:
                request = gen.send(env[request])
        except StopIteration as stop:
            return stop.value

    return drive, n


PLAIN_CALLS = 100_000
BASELINES = (
    ("plain_call", "plain Python: function call in a loop", plain_call_baseline, PLAIN_CALLS),
    ("plain_trampoline", "plain Python: generator trampoline (`gen.send`)", trampoline_baseline, 100_000),
)


def time_per_op(runs: dict[str, tuple[Callable[[], Any], int]], repeats: int) -> dict[str, float]:
    """Median µs per operation of each `(callable, operation count)` over `repeats` timed runs,
    after one warm-up run each.

    The callables take turns within each repeat, so a burst of load from other processes on the
    machine slows every contender alike instead of skewing the ratios."""
    for run_once, _ in runs.values():
        run_once()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run_once, _) in runs.items():
            gc.collect()
            start = time.perf_counter()
            run_once()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples[name]) / ops * 1e6 for name, (_, ops) in runs.items()}


def measure(repeats: int, scale: float, only: set[str] | None) -> dict[str, Any]:
    backends = {"doeff": load_backend("doeff"), "runtime": load_backend("runtime")}
    baselines = {}
    for name, label, build, size in BASELINES:
        run_once, ops = build(max(1, int(size * scale)))
        us_per_op = time_per_op({name: (run_once, ops)}, repeats)[name]
        baselines[name] = {"label": label, "ops": ops, "us_per_op": us_per_op}
    cases = {}
    for case in CASES:
        if only and case.name not in only:
            continue
        size = max(1, int(case.size * scale))
        runs = {backend: case.build(api, size) for backend, api in backends.items()}
        if case.floor is not None:
            runs["floor"] = case.floor(backends["runtime"], size)
        # The plain-call baseline is timed in the same rounds, so "× plain call" compares like with like.
        runs["plain_call"] = plain_call_baseline(max(1, int(PLAIN_CALLS * scale)))
        timings = time_per_op(runs, repeats)
        ops = runs["runtime"][1]
        ratio = timings["runtime"] / timings["doeff"]
        row = cases[case.name] = {
            "label": case.label,
            "ops": ops,
            "doeff_us": timings["doeff"],
            "runtime_us": timings["runtime"],
            "plain_call_us": timings["plain_call"],
            "runtime_over_doeff": ratio,
            "runtime_over_plain_call": timings["runtime"] / timings["plain_call"],
            "target_runtime_over_doeff": case.target,
            "meets_target": None if case.target is None else ratio <= case.target,
        }
        if "floor" in timings:
            floor_ratio = timings["floor"] / timings["doeff"]
            row.update({
                "floor_us": timings["floor"],
                "floor_over_doeff": floor_ratio,
                "runtime_over_floor": timings["runtime"] / timings["floor"],
                # A target below the floor is out of reach for any interpreter of these Python objects.
                "target_below_floor": None if case.target is None else case.target < floor_ratio,
            })
    return {
        "meta": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "doeff": importlib.metadata.version("doeff"),
            "repeats": repeats,
            "scale": scale,
        },
        "baselines": baselines,
        "cases": cases,
    }


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        "| case | ops | doeff µs/op | runtime µs/op | runtime/doeff | target "
        "| floor µs/op | floor/doeff | runtime/floor | runtime/plain call (≤ 20×) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in report["cases"].values():
        target = row["target_runtime_over_doeff"]
        verdict = "—" if target is None else f"≤ {target}× {'met' if row['meets_target'] else 'MISSED'}"
        if "floor_us" in row:
            if row["target_below_floor"]:
                verdict += ", below floor"
            floor = f"{row['floor_us']:.3f} | {row['floor_over_doeff']:.2f}× | {row['runtime_over_floor']:.2f}×"
        else:
            floor = " | | "
        lines.append(
            f"| {row['label']} | {row['ops']:,} | {row['doeff_us']:.3f} | {row['runtime_us']:.3f} "
            f"| {row['runtime_over_doeff']:.2f}× | {verdict} | {floor} | {row['runtime_over_plain_call']:.1f}× |"
        )
    for row in report["baselines"].values():
        lines.append(f"| {row['label']} | {row['ops']:,} | | {row['us_per_op']:.3f} | | | | | | |")
    meta = report["meta"]
    lines.append("")
    lines.append(
        f"CPython {meta['python']} ({meta['machine']}), doeff {meta['doeff']}; "
        f"median of {meta['repeats']} runs after one warm-up, scale {meta['scale']}. "
        "floor: a minimal pure-Python driver of the same runtime objects (benchmarks/runtime_floor.py); "
        "\"below floor\": the target is under the floor's ratio."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the table")
    parser.add_argument("--quick", action="store_true", help="3 timed repeats instead of 9")
    parser.add_argument("--repeats", type=int, help="timed repeats per case (overrides --quick)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case's size (e.g. 0.01 for a smoke run)")
    parser.add_argument("--only", action="append", choices=[c.name for c in CASES], help="run only this case (repeatable)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 9)
    # The Resume case keeps the handler frame live on purpose; doeff warns about that per code object.
    warnings.filterwarnings("ignore", message="non-tail Resume")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1_000))
    report = measure(repeats, args.scale, set(args.only) if args.only else None)
    print(json.dumps(report, indent=2) if args.json else markdown_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""doeff-migrate against LibCST's own no-op codemod on a generated 100k-line corpus, in one run.

    .venv/bin/python benchmarks/bench_codemod.py [--lines 100000] [--repeat 3] [--jobs 2] [--json out.json]

The corpus is a quarter pinjected modules (``@injected``/``@instance`` functions, designs, entry
points) and three quarters plain Python. Timed, each on a fresh copy, as subprocesses:

* ``doeff-migrate COPY -j N -q`` (migrates in place),
* ``python -m libcst.tool codemod --no-format -jN noop.NOOPCommand COPY`` (parses and re-prints every
  file: the floor of any LibCST codemod),
* ``doeff-migrate --check`` on the migrated tree (the "is anything left?" pass of a CI job),
* the same two with ``--phase di`` (this repository's di transforms alone).

Reported: medians of ``--repeat`` runs and the ratios to the no-op pass (targets from the issue:
migrate <= 0.5x, check <= 0.1x). Nothing here is asserted; tests never time anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable

PINJECTED_TEMPLATE = '''\
"""Generated pinjected module {n}."""
import asyncio

from pinjected import IProxy, Injected, design, injected, instance


@instance
def config_{n}(seed):
    return {{"seed": seed, "scale": {n} % 7 + 1}}


@injected
def scale_{n}(config_{n}, /, x: int) -> int:
    """Scales x."""
    return x * config_{n}["scale"]


@injected
async def a_load_{n}(config_{n}, /, key: str, *, retries: int = 1):
    await asyncio.sleep(0)
    return key * retries


@injected
async def a_step_{n}(scale_{n}, a_load_{n}, _logger, /, x: int):
    a = await a_load_{n}("k")
    b, c = await asyncio.gather(a_load_{n}("x"), a_load_{n}("y"))
    _logger.info(a)
    return scale_{n}(x), a, b, c

'''

PINJECTED_TAIL = '''
main_{n}: IProxy[int] = scale_{n}(3)
pair_{n} = Injected.mzip(config_{n}, Injected.by_name("seed"))
__design__ = design(seed={n}, logger=print)
'''

PLAIN_FUNCTION = '''

def helper_{n}_{i}(values, factor={i}):
    """Plain helper {i}."""
    total = 0
    for index, value in enumerate(values):
        if index % 2:
            total += value * factor
        else:
            total -= value // (factor + 1)
    return {{"total": total, "count": len(values), "name": "helper_{n}_{i}"}}
'''

PLAIN_CLASS = '''

class Model{n}_{i}:
    def __init__(self, size: int = {i}) -> None:
        self.size = size
        self.weights = [0.0] * size

    def update(self, gradient: list[float], rate: float = 0.1) -> None:
        self.weights = [w - rate * g for w, g in zip(self.weights, gradient)]
'''


def generate(root: Path, total_lines: int, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = files = pinjected = 0
    n = 0
    while lines < total_lines:
        package = root / f"pkg{n // 50}"
        if not package.exists():
            package.mkdir()
            (package / "__init__.py").write_text("")
        use_pinjected = n % 4 == 0
        parts = [PINJECTED_TEMPLATE.format(n=n)] if use_pinjected else [f'"""Generated plain module {n}."""\nimport math\n']
        for i in range(rng.randint(8, 14)):
            parts.append((PLAIN_FUNCTION if i % 3 else PLAIN_CLASS).format(n=n, i=i))
        if use_pinjected:
            parts.append(PINJECTED_TAIL.format(n=n))
        text = "".join(parts)
        (package / f"mod{n}.py").write_text(text)
        lines += text.count("\n")
        files += 1
        pinjected += use_pinjected
        n += 1
    return {"files": files, "pinjected_files": pinjected, "lines": lines}


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-codemod-"))
    try:
        corpus = work / "corpus"
        shape = generate(corpus, args.lines)
        print(f"corpus: {shape['lines']} lines in {shape['files']} files ({shape['pinjected_files']} use pinjected)")
        times: dict[str, list[float]] = {
            "libcst_noop": [], "doeff_migrate": [], "doeff_migrate_check": [], "di_phase": [], "di_phase_check": [],
        }
        for round_ in range(args.repeat):
            noop_copy, ours = work / f"noop{round_}", work / f"ours{round_}"
            shutil.copytree(corpus, noop_copy)
            shutil.copytree(corpus, ours)
            elapsed, _ = timed(
                [PYTHON, "-m", "libcst.tool", "codemod", "--no-format", f"-j{args.jobs}", "noop.NOOPCommand", str(noop_copy)],
                cwd=work,
            )
            times["libcst_noop"].append(elapsed)
            elapsed, _ = timed([PYTHON, "-m", "doeff_migrate.codemod", str(ours), "-j", str(args.jobs), "-q"])
            times["doeff_migrate"].append(elapsed)
            elapsed, code = timed([PYTHON, "-m", "doeff_migrate.codemod", str(ours), "--check", "-j", str(args.jobs), "-q"])
            if code != 0:
                raise RuntimeError("--check found pending changes right after a migration (not idempotent)")
            times["doeff_migrate_check"].append(elapsed)
            # The di phase alone (this transforms; the other phases are separate families).
            di_copy = work / f"di{round_}"
            shutil.copytree(corpus, di_copy)
            elapsed, _ = timed([PYTHON, "-m", "doeff_migrate.codemod", str(di_copy), "--phase", "di", "-j", str(args.jobs), "-q"])
            times["di_phase"].append(elapsed)
            elapsed, code = timed([PYTHON, "-m", "doeff_migrate.codemod", str(di_copy), "--phase", "di", "--check", "-j", str(args.jobs), "-q"])
            if code != 0:
                raise RuntimeError("--phase di --check found pending changes right after a migration (not idempotent)")
            times["di_phase_check"].append(elapsed)
            shutil.rmtree(noop_copy)
            shutil.rmtree(ours)
            shutil.rmtree(di_copy)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
        medians = {k: statistics.median(v) for k, v in times.items()}
        ratios = {
            "doeff_migrate / libcst_noop": medians["doeff_migrate"] / medians["libcst_noop"],
            "doeff_migrate --check / libcst_noop": medians["doeff_migrate_check"] / medians["libcst_noop"],
            "doeff_migrate --phase di / libcst_noop": medians["di_phase"] / medians["libcst_noop"],
            "doeff_migrate --phase di --check / libcst_noop": medians["di_phase_check"] / medians["libcst_noop"],
        }
        print(f"\nmedians of {args.repeat} run(s), -j{args.jobs}:")
        for name, value in medians.items():
            print(f"  {name:22s} {value:8.2f} s")
        for name, value in ratios.items():
            print(f"  {name:38s} {value:6.3f}x")
        if args.json:
            args.json.write_text(json.dumps({"corpus": shape, "jobs": args.jobs, "runs": times, "medians": medians, "ratios": ratios}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

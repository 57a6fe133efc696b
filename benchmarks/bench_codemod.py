"""doeff-migrate against LibCST's own no-op codemod, side by side in one run, on three corpora.

    .venv/bin/python benchmarks/bench_codemod.py [--repeat 3] [--jobs 2] [--json out.json]
    .venv/bin/python benchmarks/bench_codemod.py --quick          # tiny corpora, one round: a smoke test

Corpora (``codemod_corpora.py``): ``real`` (real-shaped: every module uses pinjected, dependencies cross
modules and packages, designs in a ``__pinjected__.py`` hierarchy), ``pypi`` (the pinned pinjected packages
of ``bench_pypi.py``, ``pip download``-ed once into ``--cache``) and ``mixed`` (a quarter pinjected modules,
three quarters plain Python). For each corpus, every round times, each on a fresh copy, as subprocesses:

* ``noop``: ``python -m libcst.tool codemod --no-format -jN noop.NOOPCommand`` (parses and re-prints every
  file: the floor of any LibCST codemod);
* ``migrate``: ``doeff-migrate -jN -q`` (all phases, in place);
* ``check_migrated``: ``doeff-migrate --check`` on the tree just migrated, first run (no cache yet);
* ``check_migrated_cached``: the same again (the ``--check`` cache answers);
* ``check_untouched``: ``doeff-migrate --check`` on an untouched copy (must cost no more than ``migrate``).

With ``--baseline PYTHON`` (another checkout's interpreter, e.g. main's), ``baseline_migrate`` times that
interpreter's ``doeff-migrate`` too, in the same rounds. With ``--cpu`` the figures are CPU seconds (user + system
of the subprocess and its children) instead of wall seconds: under a changing load they move far less.

Then ``scaling``: ``noop`` and ``migrate`` on the real-shaped corpus at four sizes (time against lines).
Reported: medians of ``--repeat`` rounds and each case's ratio to the ``noop`` of the same corpus and run.
Nothing here is asserted; tests never time anything (``tests/codemod/test_bench_codemod_smoke.py`` runs
``--quick`` and checks that every case is reported).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from codemod_corpora import GENERATORS, unpack_pypi, wheels_cached  # noqa: E402

PYTHON = sys.executable
CORPORA = ("real", "pypi", "mixed")
CASES = ("noop", "migrate", "check_migrated", "check_migrated_cached", "check_untouched")
BASELINE_CASE = "baseline_migrate"
MEASURE = {"cpu": False, "baseline": None}
"""``--cpu``: CPU seconds instead of wall seconds; ``--baseline``: the other interpreter timed as ``baseline_migrate``."""
SIZES = {"full": (2_500, 5_000, 10_000, 20_000), "quick": (300, 600, 900, 1_200)}
LINES = {"full": {"real": 14_000, "mixed": 100_000}, "quick": {"real": 600, "mixed": 1_500}}
TARGETS = {
    ("real", "migrate"): 1.0, ("mixed", "migrate"): 0.5, ("pypi", "migrate"): 1.0,
    **{(corpus, "check_migrated_cached"): 0.2 for corpus in CORPORA},
}


def timed(command: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0, 1)) -> tuple[float, int]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if MEASURE["cpu"]:
        elapsed = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.returncode


def noop(tree: Path, jobs: int) -> float:
    return timed([PYTHON, "-m", "libcst.tool", "codemod", "--no-format", f"-j{jobs}", "noop.NOOPCommand", "."], cwd=tree)[0]


def doeff_migrate(tree: Path, jobs: int, *extra: str, python: str = PYTHON) -> tuple[float, int]:
    # Exit 3 (some files failed) is a result too: a corpus file the codemod refuses is still timed.
    return timed([python, "-m", "doeff_migrate.codemod", str(tree), "-j", str(jobs), "-q", *extra], ok=(0, 1, 3))


def one_round(corpus: Path, work: Path, jobs: int) -> dict[str, float]:
    """Every case once on fresh copies of ``corpus``."""
    copies = {name: work / name for name in ("noop", "ours", "untouched", "baseline")}
    for copy in copies.values():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(corpus, copy)
    try:
        times = {"noop": noop(copies["noop"], jobs)}
        times["migrate"], _ = doeff_migrate(copies["ours"], jobs)
        if MEASURE["baseline"]:
            times[BASELINE_CASE], _ = doeff_migrate(copies["baseline"], jobs, python=MEASURE["baseline"])
        times["check_migrated"], code = doeff_migrate(copies["ours"], jobs, "--check")
        if code != 0:
            raise RuntimeError("--check found pending changes right after a migration (not idempotent)")
        times["check_migrated_cached"], _ = doeff_migrate(copies["ours"], jobs, "--check")
        times["check_untouched"], _ = doeff_migrate(copies["untouched"], jobs, "--check")
        return times
    finally:
        for copy in copies.values():
            shutil.rmtree(copy, ignore_errors=True)


def build_corpus(name: str, root: Path, mode: str, cache: Path) -> dict[str, int] | None:
    if name == "pypi":
        if mode == "quick" and not wheels_cached(cache):
            return None  # a smoke test never downloads
        return unpack_pypi(root, cache)
    return GENERATORS[name](root, LINES[mode][name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny corpora and one round (a smoke test)")
    parser.add_argument("--corpus", action="append", choices=CORPORA, help="only these corpora (repeatable)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the four-size scaling run")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "doeff-migrate-bench-pypi", help="wheel cache")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--cpu", action="store_true", help="CPU seconds (user + system) instead of wall seconds")
    parser.add_argument("--baseline", default=None, help="another interpreter whose doeff-migrate is timed too (baseline_migrate)")
    args = parser.parse_args(argv)
    MEASURE.update(cpu=args.cpu, baseline=args.baseline)
    cases = (*CASES[:2], BASELINE_CASE, *CASES[2:]) if args.baseline else CASES
    mode = "quick" if args.quick else "full"
    repeat = 1 if args.quick else args.repeat
    report: dict = {
        "jobs": args.jobs, "repeat": repeat, "mode": mode, "measure": "cpu" if args.cpu else "wall", "baseline": args.baseline,
        "corpora": {}, "scaling": [],
    }
    work = Path(tempfile.mkdtemp(prefix="bench-codemod-"))
    try:
        for name in args.corpus or CORPORA:
            corpus = work / f"corpus-{name}"
            shape = build_corpus(name, corpus, mode, args.cache)
            if shape is None:
                report["corpora"][name] = {"skipped": f"the pinned wheels are not in {args.cache} (--quick never downloads)"}
                print(f"{name}: skipped (wheels not cached)")
                continue
            runs: dict[str, list[float]] = {case: [] for case in cases}
            for _ in range(repeat):
                for case, seconds in one_round(corpus, work, args.jobs).items():
                    runs[case].append(seconds)
            medians = {case: statistics.median(values) for case, values in runs.items()}
            ratios = {case: medians[case] / medians["noop"] for case in cases if case != "noop"}
            report["corpora"][name] = {"shape": shape, "runs": runs, "medians": medians, "ratios": ratios}
            print(f"{name}: {shape['lines']} lines, {shape['files']} files ({shape['pinjected_files']} use pinjected)")
            for case in cases:
                ratio = "" if case == "noop" else f"  {ratios[case]:6.3f}x"
                target = TARGETS.get((name, case))
                print(f"  {case:22s} {medians[case]:8.2f} s{ratio}" + (f"  (target <= {target}x)" if target else ""))
            shutil.rmtree(corpus, ignore_errors=True)
        if not args.no_scaling:
            print(f"scaling (real-shaped, -j{args.jobs}):")
            for lines in SIZES[mode]:
                corpus = work / f"scaling-{lines}"
                shape = GENERATORS["real"](corpus, lines)
                noop_copy, ours = work / "scaling-noop", work / "scaling-ours"
                for copy in (noop_copy, ours):
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.copytree(corpus, copy)
                row = {"lines": shape["lines"], "files": shape["files"], "noop": noop(noop_copy, args.jobs)}
                row["migrate"], _ = doeff_migrate(ours, args.jobs)
                if args.baseline:
                    shutil.rmtree(ours, ignore_errors=True)
                    shutil.copytree(corpus, ours)
                    row[BASELINE_CASE], _ = doeff_migrate(ours, args.jobs, python=args.baseline)
                row["ratio"] = row["migrate"] / row["noop"]
                row["migrate_ms_per_kloc"] = 1000 * row["migrate"] / (shape["lines"] / 1000)
                report["scaling"].append(row)
                baseline = f", baseline {row[BASELINE_CASE]:6.2f} s" if args.baseline else ""
                print(f"  {row['lines']:7d} lines {row['files']:5d} files: noop {row['noop']:6.2f} s, migrate {row['migrate']:6.2f} s "
                      f"({row['ratio']:.2f}x, {row['migrate_ms_per_kloc']:.0f} ms per 1,000 lines){baseline}")
                for path in (corpus, noop_copy, ours):
                    shutil.rmtree(path, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

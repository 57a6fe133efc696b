"""Migrates real pinjected code from PyPI and reports how much of it comes out migrated.

For each pinned package: ``pip download --no-deps`` the wheel (cached under ``--cache``), unpack its
Python sources into a fresh git repository (one clean commit), run ``doeff-migrate`` on it, commit,
and run it again with ``--check``. Printed per package:

- pinjected-decorated definitions (``@injected`` / ``@instance`` functions, ``@injected`` classes)
  before and after, the migrated ones after and the share migrated, counted by
  ``doeff_migrate.codemod.status.count_decorated``: the same numbers ``doeff-migrate status`` reports
  on the tree (``share_migrated`` in its ``--json``);
- flags left in the tree, by code;
- files that no longer compile;
- whether the second run is a no-op (``--check`` exits 0).

Usage::

    .venv/bin/python benchmarks/bench_pypi.py              # Markdown table + flags per package
    .venv/bin/python benchmarks/bench_pypi.py --json       # the same figures as JSON

The analysis only parses the packages; nothing of them is imported or run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from doeff_migrate.codemod.behaviour import pinjected_imports_left
from doeff_migrate.codemod.comments import FLAG_COMMENT
from doeff_migrate.codemod.decorated import format_share
from doeff_migrate.codemod.status import count_decorated

# The versions pip resolved on 2026-12-07; pinned so the figures can be compared over time.
PACKAGES = {
    "pinjected-openai": "0.4.34",
    "pinjected-anthropic": "0.1.18",
    "pinjected-wandb": "0.1.2",
    "injected-utils": "0.1.32",
}

PYTHON = sys.executable
WHEEL_CACHE = Path(tempfile.gettempdir()) / "doeff-migrate-bench-pypi"
"""Where the wheels are downloaded once (the differential test of the language server reads them too)."""


def download(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_")
    found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [PYTHON, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(cache), f"{package}=={version}"],
            check=True,
        )
        found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"pip did not produce a wheel for {package}=={version} in {cache}")
    return found[0]


def extract_sources(wheel: Path, root: Path) -> list[Path]:
    """The wheel's Python sources (not its metadata), written under ``root``."""
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".py") and ".dist-info/" not in name:
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
                written.append(target)
    return written


def unpack(wheel: Path, root: Path) -> None:
    """The wheel's Python sources in ``root``, committed in a fresh git repository."""
    extract_sources(wheel, root)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "original")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false", *args],
        cwd=root, check=True, capture_output=True,
    )


def not_compiling(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        if ".git" in path.parts:
            continue
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except (SyntaxError, ValueError):
            bad.append(str(path.relative_to(root)))
    return bad


def flags_by_code(root: Path) -> Counter:
    counts: Counter = Counter()
    for path in root.rglob("*.py"):
        if ".git" not in path.parts:
            counts.update(FLAG_COMMENT.findall(path.read_text(encoding="utf-8", errors="replace")))
    return counts


def migrate(root: Path, *extra: str) -> int:
    proc = subprocess.run([PYTHON, "-m", "doeff_migrate.codemod", str(root), "-q", *extra], capture_output=True, text=True)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"doeff-migrate failed on {root} ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.returncode


def measure(package: str, version: str, cache: Path, work: Path) -> dict:
    root = work / package
    unpack(download(package, version, cache), root)
    return {"package": package, "version": version, **measure_tree(root)}


def measure_tree(root: Path) -> dict:
    """Migrate the committed git tree ``root`` in place, commit, and measure it before and after."""
    before = count_decorated([str(root)])
    first = migrate(root)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--allow-empty", "-m", "migrated")
    after = count_decorated([str(root)])
    second = migrate(root, "--check")
    # A definition the migration renamed or dropped would be neither left nor migrated.
    lost = sorted(set(before.left) - set(after.left) - set(after.migrated))
    return {
        "files": sum(1 for p in root.rglob("*.py") if ".git" not in p.parts),
        "decorated_before": len(before.left),
        "share_before": before.share,
        "decorated_after": len(after.left),
        "migrated": len(after.migrated),
        "share_migrated": None if after.share is None else round(after.share, 4),
        "lost": [label.removeprefix(f"{root}/") for label in lost],
        "flags": dict(sorted(flags_by_code(root).items())),
        "not_compiling": not_compiling(root),
        # The strict fidelity harness's test: what keeps the package needing pinjected installed.
        "pinjected_imports": [str(p.relative_to(root)) for p in pinjected_imports_left(root) if ".git" not in p.parts],
        "first_run_exit": first,
        "idempotent": second == 0,
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| package | files | decorated before | left after | migrated | share | flags | not compiling | idempotent | files still importing pinjected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['package']} {r['version']} | {r['files']} | {r['decorated_before']} | {r['decorated_after']} | "
            f"{r['migrated']} | {format_share(r['share_migrated'])} | {sum(r['flags'].values())} | {len(r['not_compiling'])} | {'yes' if r['idempotent'] else 'no'} | {len(r['pinjected_imports'])} |"
        )
    lines.append("")
    for r in results:
        flags = ", ".join(f"{code} {n}" for code, n in r["flags"].items()) or "none"
        lines.append(
            f"- {r['package']}: flags {flags}"
            + (f"; not compiling: {', '.join(r['not_compiling'])}" if r["not_compiling"] else "")
            + (f"; neither left nor migrated after: {', '.join(r['lost'])}" if r["lost"] else "")
            + (f"; still importing pinjected: {', '.join(f'`{f}`' for f in r['pinjected_imports'])}" if r["pinjected_imports"] else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--cache", type=Path, default=WHEEL_CACHE, help="wheel cache")
    parser.add_argument("--keep", type=Path, default=None, help="keep the migrated copies in this directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-pypi-")) if args.keep is None else args.keep
    try:
        results = [measure(p, v, args.cache, work) for p, v in PACKAGES.items()]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

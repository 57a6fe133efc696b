"""The corpora ``bench_codemod.py`` times: generated trees and the pinjected packages published on PyPI.

* ``mixed``: a quarter pinjected modules and three quarters plain Python (the prefilter skips those);
* ``real``: real-shaped, every module uses pinjected: ``@instance``/``@injected`` providers (sync and async)
  depending on providers of other modules and packages by name and through imports, ``IProxy`` entry points,
  plain helpers and classes beside them, and designs in a ``__pinjected__.py`` hierarchy (project root and
  every package);
* ``pypi``: the Python sources of the pinned pinjected packages of ``bench_pypi.py`` (``pip download``).

Nothing here imports or runs the generated code.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

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


def generate_mixed(root: Path, total_lines: int, seed: int = 0) -> dict[str, int]:
    """A quarter pinjected modules (one package of 50 modules after another), three quarters plain Python."""
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


REAL_MODULE = '''\
"""Service module {n} of package pkg{p}."""
import asyncio
import logging
from dataclasses import dataclass

from pinjected import IProxy, Injected, design, injected, instance
{cross_import}

@dataclass
class Settings{n}:
    name: str
    retries: int = 3


@instance
def settings_{n}(api_key, region) -> Settings{n}:
    return Settings{n}(name=f"{{api_key}}-{{region}}-{n}")


@instance
async def client_{n}(settings_{n}, logger):
    await asyncio.sleep(0)
    logger.info("client %s", settings_{n}.name)
    return {{"name": settings_{n}.name, "calls": 0}}


@injected
def transform_{n}(client_{n}, transform_{dep}, /, x: int) -> int:
    """Scales x by the module number."""
    client_{n}["calls"] += 1
    return transform_{dep}(x) + {n}


@injected
async def a_fetch_{n}(client_{n}, logger, a_fetch_{dep}, /, key: str, *, retries: int = 1):
    for attempt in range(retries):
        logger.debug("fetch %s (%d)", key, attempt)
    upstream = await a_fetch_{dep}(key)
    return f"{{upstream}}/{n}"


@injected
async def a_pipeline_{n}(transform_{n}, a_fetch_{n}, logger, /, xs: list[int]):
    fetched = await asyncio.gather(*[a_fetch_{n}(str(x)) for x in xs])
    logger.info("fetched %d", len(fetched))
    return [transform_{n}(x) for x in xs], fetched
'''

REAL_PLAIN = '''

def summarise_{n}_{i}(values: list[float], factor: float = {i}.0) -> dict:
    """Plain helper {i} of module {n}."""
    total = 0.0
    for index, value in enumerate(values):
        if index % 2:
            total += value * factor
        else:
            total -= value / (factor + 1)
    return {{"total": total, "count": len(values), "name": "summarise_{n}_{i}"}}
'''

REAL_PLAIN_CLASS = '''

class Report{n}_{i}:
    def __init__(self, rows: list[dict] | None = None) -> None:
        self.rows = rows or []

    def add(self, **row) -> "Report{n}_{i}":
        self.rows.append(row)
        return self

    def render(self) -> str:
        return "\\n".join(", ".join(f"{{k}}={{v}}" for k, v in row.items()) for row in self.rows)
'''

TAIL = '''

run_{n}: IProxy = a_pipeline_{n}([1, 2, 3])
settings_pair_{n} = Injected.mzip(settings_{n}, Injected.by_name("region"))
'''

CROSS_ENTRY = '''
upstream_{n}: IProxy[int] = transform_{dep}(4)
'''

ROOT_DESIGN = '''\
"""Project-wide bindings read by `python -m pinjected run` for every entry point."""
import logging

from pinjected import design

__design__ = design(api_key="bench", region="eu", logger=logging.getLogger("bench"))
'''

PACKAGE_DESIGN = '''\
"""Bindings of package pkg{p}."""
from pinjected import design

__design__ = design(region="pkg{p}")
'''

BASE_MODULE = '''\
"""The dependency every chain of package pkg{p} ends in."""
from pinjected import injected


@injected
async def a_fetch_base_{p}(logger, /, key: str):
    logger.info("base %s", key)
    return key


@injected
def transform_base_{p}(x: int) -> int:
    return x
'''


def generate_real(root: Path, total_lines: int, seed: int = 0) -> dict[str, int]:
    """A pinjected project as users have them: every module uses pinjected, providers depend on providers of
    other modules and packages (by name, and through imports), designs in a ``__pinjected__.py`` hierarchy."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "__pinjected__.py").write_text(ROOT_DESIGN)
    lines, files, n = ROOT_DESIGN.count("\n"), 1, 0
    while lines < total_lines:
        p = n // 20
        package = root / f"pkg{p}"
        if not package.exists():
            package.mkdir()
            (package / "__init__.py").write_text("")
            (package / "__pinjected__.py").write_text(PACKAGE_DESIGN.format(p=p))
            (package / "base.py").write_text(BASE_MODULE.format(p=p))
            files += 3
            lines += PACKAGE_DESIGN.count("\n") + BASE_MODULE.count("\n")
        # a dependency in an earlier module, often of another package
        dep = rng.randrange(n) if n else None
        if dep is None or dep // 20 != p and rng.random() < 0.5:
            dep_name, dep_module = f"base_{p}", f"pkg{p}.base"
        else:
            dep_name, dep_module = str(dep), f"pkg{dep // 20}.mod{dep}"
        imported = rng.random() < 0.5  # half the modules also import the provider (for an entry point)
        cross = f"from {dep_module} import transform_{dep_name}\n" if imported else ""
        parts = [REAL_MODULE.format(n=n, p=p, dep=dep_name, cross_import=cross)]
        for i in range(rng.randint(3, 8)):
            parts.append((REAL_PLAIN if i % 3 else REAL_PLAIN_CLASS).format(n=n, i=i))
        parts.append(TAIL.format(n=n))
        if imported:
            parts.append(CROSS_ENTRY.format(n=n, dep=dep_name))
        text = "".join(parts)
        (package / f"mod{n}.py").write_text(text)
        lines += text.count("\n")
        files += 1
        n += 1
    # Every file but the empty package ``__init__.py`` files uses pinjected.
    return {"files": files, "pinjected_files": files - len(list(root.glob("pkg*/__init__.py"))), "lines": lines}


def unpack_pypi(root: Path, cache: Path) -> dict[str, int]:
    """The Python sources of ``bench_pypi.PACKAGES`` under ``root`` (one folder per wheel), downloaded into
    ``cache`` once (``pip download``; a wheel found there is not downloaded again)."""
    from bench_pypi import PACKAGES, download

    files = lines = pinjected = 0
    for package, version in PACKAGES.items():
        wheel = download(package, version, cache)
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.endswith(".py") and ".dist-info/" not in name:
                    target = root / package / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    data = archive.read(name)
                    target.write_bytes(data)
                    files += 1
                    lines += data.count(b"\n")
                    pinjected += b"pinjected" in data
    return {"files": files, "pinjected_files": pinjected, "lines": lines}


def wheels_cached(cache: Path) -> bool:
    """Whether every pinned wheel is in ``cache`` already (no download needed)."""
    from bench_pypi import PACKAGES

    return all(any(cache.glob(f"{p.replace('-', '_')}-{v}-*.whl")) for p, v in PACKAGES.items())


GENERATORS = {"real": generate_real, "mixed": generate_mixed}

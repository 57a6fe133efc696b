"""Differential proof: for every file of the fixture projects (as written and with star imports) and of real
pinjected packages from PyPI, the editor's diagnostics for unmigrated constructs and side effects are what
``doeff-migrate`` migrates or flags there, before and after migration.

The editor's side is the analysis (``codemod.analysis.check``) with the codemod's decisions folded in
(``analysis.plan.decided``); the CLI's side is its own run: ``doeff-migrate --diff`` on the project, whose
per-file output is compared with the plan the editor uses. Then the real server, driven by pytest-lsp, on a
star-import project. Per file it checks:

* every construct the analysis reports (DM15x, DM2xx/DM3xx) is one the CLI rewrites or flags, and the message
  says which; where the CLI leaves one without a flag (a gap of its coverage), the message says exactly that
  and the test lists it; side effects the CLI keeps by
  design (``plan.HINT_CODES``: print, clocks, randomness, environment, subprocesses, helper calls) say so;
* every flag the CLI leaves is a diagnostic, and every decorated function or IProxy entry point it rewrites is
  reported;
* after migration (the CLI's output), every such diagnostic that is left is one the CLI flags.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.analysis import check
from doeff_migrate.codemod.analysis.plan import DECIDED_PREFIXES, HINT_CODES, decided, is_flag_comment, plan_file
from doeff_migrate.codemod.config import Settings
from doeff_migrate.codemod.index import ProjectIndex
from tests.fidelity.test_idempotency import PROJECTS

from .lsp_client import decided_diagnostics, lsp_session, open_document
from .test_one_analysis import star_imported

def _bench_pypi():
    """``benchmarks/bench_pypi.py``: the pinned packages it measures, its wheel cache and download."""
    spec = importlib.util.spec_from_file_location("bench_pypi", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_pypi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH_PYPI = _bench_pypi()
PYPI_PACKAGES = BENCH_PYPI.PACKAGES


def disagreements(files: dict[str, str], silent: list[str] | None = None) -> tuple[list[str], int]:
    """Where the editor and the CLI disagree on ``files`` (path -> text, one project), before and after
    migration, and how many constructs were compared. Constructs the CLI leaves without a rewrite or a flag
    (gaps of its coverage: the editor says "doeff-migrate leaves it as it is", the CLI's decision) go to
    ``silent``."""
    problems: list[str] = []
    silent = silent if silent is not None else []
    compared = 0
    index = ProjectIndex.from_sources(files)
    settings = Settings()
    migrated: dict[str, str] = {}
    for path, source in files.items():
        plan = plan_file(source, path, index=index, settings=settings)
        if plan.error is not None:
            continue
        lines = source.splitlines()
        findings = decided(check(source, path), plan, lines)
        ours = [f for f in findings if f.code.startswith(DECIDED_PREFIXES) and not is_flag_comment(f, lines)]
        compared += len(ours)
        for f in ours:
            if "doeff-migrate migrates it" in f.message:
                continue
            if "flags it" not in f.message and f.code not in HINT_CODES:
                where = f"{path}:{f.range.start_line + 1}: {f.code}"
                if f.message.endswith("; doeff-migrate leaves it as it is"):
                    silent.append(where)
                else:
                    problems.append(f"{where} reported without the CLI's decision: {f.message}")
        for flag in plan.flags:
            if not any(_covers(f, flag, lines) for f in findings):
                problems.append(f"{path}:{flag.line + 1}: the CLI flags {flag.code}, no diagnostic there")
        rewritten = _rewritten_definitions(source, plan.new_text) if plan.new_text else set()
        reported = {f.range.start_line for f in ours if f.code in ("DM150", "DM151", "DM154", "DM155")}
        for line, name in sorted(rewritten - _names_at(reported, source)):
            problems.append(f"{path}:{line + 1}: the CLI rewrites `{name}`, no diagnostic says it is not migrated")
        migrated[path] = plan.new_text or source
    after_index = ProjectIndex.from_sources(migrated)
    for path, source in migrated.items():
        plan = plan_file(source, path, index=after_index, settings=settings)
        if plan.error is not None:
            continue
        lines = source.splitlines()
        for f in decided(check(source, path), plan, lines):
            if is_flag_comment(f, lines):
                continue
            if f.code.startswith(DECIDED_PREFIXES) and f.code not in HINT_CODES and "flags it" not in f.message:
                where = f"{path}:{f.range.start_line + 1} after migration: {f.code}"
                if f.message.endswith("; doeff-migrate leaves it as it is"):
                    silent.append(where)
                else:
                    problems.append(f"{where}, neither flagged by the CLI nor stated so: {f.message}")
    return problems, compared


def _covers(finding, flag, lines: list[str]) -> bool:
    """The finding reports the flag: on its construct's lines, or it is the flag's comment right above it."""
    if finding.range.start_line <= flag.line <= finding.range.end_line or f"{flag.code}: {flag.message}" in finding.message:
        return True
    if finding.migrate_lines and finding.migrate_lines[0] - 1 <= flag.line < finding.migrate_lines[1]:
        return True
    above = flag.line - 1
    while above >= 0 and lines[above].lstrip().startswith("#"):
        if finding.code == flag.code and finding.range.start_line == above:
            return True
        above -= 1
    return False


def _rewritten_definitions(before: str, after: str) -> set[tuple[int, str]]:
    """(0-based line of the first decorator, name) of pinjected-decorated functions whose decorators the
    CLI's output changes, and of IProxy-annotated module variables it rewrites."""
    old, new = ast.parse(before), ast.parse(after)
    new_functions = {n.name: n for n in ast.walk(new) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = set()
    for node in ast.walk(old):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            spelled = [ast.unparse(d) for d in node.decorator_list]
            if not any(re.search(r"\b(injected|instance|injected_pytest|injected_instance)\b", s) for s in spelled):
                continue
            other = new_functions.get(node.name)
            if other is None or [ast.dump(d) for d in other.decorator_list] != [ast.dump(d) for d in node.decorator_list]:
                found.add((min(d.lineno for d in node.decorator_list) - 1, node.name))
    new_vars = {s.target.id: s for s in new.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    for stmt in old.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and "IProxy" in ast.unparse(stmt.annotation):
            other = new_vars.get(stmt.target.id)
            if other is None or ast.dump(other) != ast.dump(stmt):
                found.add((stmt.lineno - 1, stmt.target.id))
    return found


def _names_at(lines: set[int], source: str) -> set[tuple[int, str]]:
    tree = ast.parse(source)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            first = min(d.lineno for d in node.decorator_list) - 1
            if any(d.lineno - 1 in lines for d in node.decorator_list):
                out.add((first, node.name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.lineno - 1 in lines:
            out.add((node.lineno - 1, node.target.id))
    return out


def _fixture_files(transform) -> dict[str, dict[str, str]]:
    return {
        project: {path: transform(textwrap.dedent(text)) for path, text in files.items() if path.endswith(".py")}
        for project, files in sorted(PROJECTS.items())
    }


@pytest.mark.parametrize("form", ["as written", "star imports"])
def test_fixture_projects_editor_and_cli_agree(form: str):
    transform = star_imported if form == "star imports" else (lambda text: text)
    problems, compared, silent = [], 0, []
    for project, files in _fixture_files(transform).items():
        found, count = disagreements(files, silent)
        problems += [f"{project}/{p}" for p in found]
        compared += count
    assert problems == []
    assert compared > 400  # the suite's constructs, not an empty comparison
    assert len(silent) <= 12, silent  # the CLI's known gaps (wandb.config reads, injected("key") in plain helpers, ...)


@pytest.fixture(scope="session")
def pypi_packages(tmp_path_factory) -> dict[str, dict[str, str]]:
    """The real packages' Python sources (wheels downloaded once, where ``benchmarks/bench_pypi.py`` keeps them)."""
    out: dict[str, dict[str, str]] = {}
    for package, version in PYPI_PACKAGES.items():
        try:
            wheel = BENCH_PYPI.download(package, version, BENCH_PYPI.WHEEL_CACHE)
        except (subprocess.CalledProcessError, SystemExit) as exc:
            pytest.skip(f"could not download {package}=={version} from PyPI: {exc}")
        root = tmp_path_factory.mktemp(package.replace("-", "_"))
        out[package] = {str(path): path.read_text(encoding="utf-8") for path in BENCH_PYPI.extract_sources(wheel, root)}
    return out


@pytest.mark.parametrize("package", sorted(PYPI_PACKAGES))
def test_pypi_packages_editor_and_cli_agree(pypi_packages, package: str):
    silent: list[str] = []
    problems, compared = disagreements(pypi_packages[package], silent)
    assert problems == []
    assert compared > 0
    # What the CLI leaves without a flag in real code (Injected.* combinators and injected("key") in code that
    # stays pinjected, LLM clients built in @do): the editor states that decision; the CLI's coverage is
    # measured by benchmarks/bench_pypi.py.
    assert len(silent) < compared


def test_the_plan_is_what_the_cli_writes(tmp_path: Path, capsys):
    """The editor's plan of each file is the text ``doeff-migrate --diff`` shows for it."""
    from doeff_migrate.codemod.cli import main as doeff_migrate

    files = _fixture_files(star_imported)[sorted(PROJECTS)[0]]
    written = {}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written[str(path)] = text
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    assert doeff_migrate([str(tmp_path), "--diff"]) in (0, 1)
    diff = capsys.readouterr().out
    index = ProjectIndex.build([Path(p) for p in written])
    for path, source in written.items():
        plan = plan_file(source, path, index=index, settings=Settings())
        removed = {line for line in plan.changed if not re.match(r"^(from|import) ", source.splitlines()[line])}
        for line in removed:
            assert f"-{source.splitlines()[line]}" in diff.splitlines(), (path, line)


@pytest.mark.asyncio
async def test_the_server_states_the_cli_decisions_on_a_star_import_project(tmp_path: Path):
    """The real server on one fixture project with star imports: its diagnostics of each file, once decided,
    are the analysis' decided findings for the same project (which the tests above compare with the CLI)."""
    project = next(name for name in sorted(PROJECTS) if len(PROJECTS[name]) > 2)
    files = _fixture_files(star_imported)[project]
    paths = {}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths[str(path)] = text
    index = ProjectIndex.build([Path(p) for p in paths])
    async with lsp_session(tmp_path) as lsp:
        for path, text in sorted(paths.items()):
            uri = open_document(lsp, Path(path), text)
            got = await decided_diagnostics(lsp, uri, version=1)
            plan = plan_file(text, path, index=index, settings=Settings())
            expected = decided(check(text, path), plan, text.splitlines())
            assert sorted((d.code, d.range.start.line, d.message) for d in got if str(d.code).startswith(DECIDED_PREFIXES)) == sorted(
                (f.code, f.range.start_line, f.message) for f in expected if f.code.startswith(DECIDED_PREFIXES)
            ), path

"""The ``--check`` cache (codemod/cache.py): same inputs replay the report; any change to the project is a miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from doeff_migrate.codemod import cli
from doeff_migrate.codemod.cache import CACHE_DIR, CheckCache, Replay, run_key
from doeff_migrate.codemod.cli import main

DEPENDENCY = "from pinjected import injected\n\n\n@injected\ndef fetch(x):\n    return x\n"
# A decorator above the pinjected one keeps ``fetch`` pinjected (DM112), so its callers cannot migrate (DM117).
DEPENDENCY_LEFT = "import functools\n\nfrom pinjected import injected\n\n\n@functools.lru_cache\n@injected\ndef fetch(x):\n    return x\n"
USER = "from pinjected import injected\n\n\n@injected\ndef total(fetch, /, y):\n    return fetch(y) + 1\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "dep.py").write_text(DEPENDENCY)
    (tmp_path / "pkg" / "user.py").write_text(USER)
    return tmp_path


@pytest.fixture
def migrations(monkeypatch) -> list[str]:
    """Paths the run migrates in this process (the cache answers without migrating any)."""
    seen: list[str] = []
    real = cli.migrate_text

    def counted(source: str, **options):
        seen.append(options["path"])
        return real(source, **options)

    monkeypatch.setattr(cli, "migrate_text", counted)
    return seen


def _entries(project: Path) -> list[Path]:
    return sorted((project / CACHE_DIR / "check").glob("*.json"))


def test_a_second_check_of_the_same_tree_is_answered_by_the_cache(project, capsys, migrations):
    assert main([str(project), "--check"]) == 1
    first = capsys.readouterr()
    assert len(migrations) == 2 and len(_entries(project)) == 1
    assert main([str(project), "--check"]) == 1
    assert capsys.readouterr() == first  # the same report, word for word
    assert len(migrations) == 2  # nothing migrated again
    assert (project / CACHE_DIR / ".gitignore").read_text().splitlines()[-1] == "*"


def test_changing_a_dependency_module_flips_the_callers_decision_and_check_sees_it(project, capsys, migrations):
    assert main([str(project), "--check"]) == 1
    assert "DM117" not in capsys.readouterr().err
    (project / "pkg" / "dep.py").write_text(DEPENDENCY_LEFT)  # user.py itself is unchanged
    assert main([str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "pkg/user.py:4:1: DM117 dependency `fetch` is provided by `pkg.dep.fetch`" in err
    assert len(migrations) == 4
    (project / "pkg" / "dep.py").write_text(DEPENDENCY)  # back: the first report again, from the cache
    assert main([str(project), "--check"]) == 1
    assert "DM117" not in capsys.readouterr().err
    assert len(migrations) == 4


def test_a_corrupt_cache_is_ignored_and_replaced(project, capsys, migrations):
    assert main([str(project), "--check"]) == 1
    first = capsys.readouterr()
    for entry in _entries(project):
        entry.write_text('{"format": 1, "key": "')  # cut short
    assert main([str(project), "--check"]) == 1
    assert capsys.readouterr() == first
    assert len(migrations) == 4  # migrated again: the entry was not used
    for entry in _entries(project):
        entry.write_text('{"format": 1, "key": "%s", "exit_code": 7, "events": [["out", "x"]]}' % entry.stem)
    assert main([str(project), "--check"]) == 1  # an exit code a check never stores: not replayed
    assert capsys.readouterr() == first
    assert main([str(project), "--check"]) == 1  # the entry written by the last run is good again
    assert len(migrations) == 6


def test_no_cache_neither_reads_nor_writes_it(project, capsys, migrations):
    assert main([str(project), "--check", "--no-cache"]) == 1
    assert not (project / CACHE_DIR).exists()
    assert main([str(project), "--check"]) == 1
    assert main([str(project), "--check", "--no-cache"]) == 1
    assert len(migrations) == 6


def test_only_check_uses_the_cache(project, capsys, migrations):
    assert main([str(project), "--diff"]) == 0
    assert main([str(project), "--check", "--report", str(project / "report.json")]) == 1
    assert not (project / CACHE_DIR).exists()


def test_an_unwritable_cache_is_a_miss_never_an_error(project, capsys, migrations):
    (project / CACHE_DIR).write_text("a file where the folder should be")
    assert main([str(project), "--check"]) == 1
    assert main([str(project), "--check"]) == 1
    assert len(migrations) == 4


def test_the_key_covers_options_and_every_file(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 1\n")
    key = run_key({"phases": ["di"]}, [str(a), str(b)])
    assert run_key({"phases": ["di"]}, [str(a), str(b)]) == key
    assert run_key({"phases": ["io"]}, [str(a), str(b)]) != key
    assert run_key({"phases": ["di"]}, [str(a)]) != key
    b.write_text("y = 2\n")
    assert run_key({"phases": ["di"]}, [str(a), str(b)]) != key
    cache = CheckCache(tmp_path)
    assert cache.get(key) is None
    cache.put(key, Replay(1, [("out", "would change: a.py\n")]))
    assert cache.get(key) == Replay(1, [("out", "would change: a.py\n")])

"""``run_mixed_entry``: entry points of half-migrated packages, in-process (real pinjected)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doeff_migrate.runtime import run_mixed_entry

LEGACY = """\
from pinjected import instance

CALLS = []

@instance
def b3_store(b3_prefix):
    CALLS.append("store")
    return {"prefix": b3_prefix}
"""

MIGRATED = """\
import b3pkg.legacy  # noqa: F401 - registers the pinjected @instance by name
from doeff_migrate.runtime import Ask, do

@do
def describe(name):
    store = yield Ask("b3_store")
    again = yield Ask("b3_store")
    assert store is again
    return store["prefix"] + name

main = describe("ada")
__doeff_requires__ = {"main": ("b3_store",)}
"""

PINJECTED_ENTRY = """\
from pinjected import IProxy, injected
import b3pkg.migrated  # noqa: F401 - registers nothing with pinjected: a migrated module

@injected
def b3_greet(b3_store, /, name):
    return b3_store["prefix"] + name.upper()

entry: IProxy = b3_greet("bob")
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "b3pkg"
    root.mkdir()
    (root / "__init__.py").write_text('__design__ = {"b3_prefix": "hello "}\n')
    (root / "legacy.py").write_text(textwrap.dedent(LEGACY))
    (root / "migrated.py").write_text(textwrap.dedent(MIGRATED))
    (root / "entry.py").write_text(textwrap.dedent(PINJECTED_ENTRY))
    (root / "broken.py").write_text("__design__ = 42\nmain = None\n")
    (root / "incomplete.py").write_text(
        "from doeff_migrate.runtime import Pure\nmain = Pure(1)\n"
        "__doeff_requires__ = {'main': ('b3_store', 'b3_absent', 'b3_gone')}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    import sys

    for name in [m for m in sys.modules if m == "b3pkg" or m.startswith("b3pkg.")]:
        del sys.modules[name]


def test_a_migrated_entry_gets_pinjected_instances_and_migrated_design_values(package: Path):
    from doeff_migrate.runtime import Ask, WithObserve

    seen = []  # effects seen by a handler passed in, innermost: the entry's own Asks, in order
    assert run_mixed_entry("b3pkg.migrated.main", handlers=[lambda p: WithObserve(seen.append, p)]) == "hello ada"
    import b3pkg.legacy

    assert b3pkg.legacy.CALLS == ["store"]
    assert [e.key for e in seen if isinstance(e, Ask)] == ["b3_store", "b3_store", "b3_store"]


def test_a_pinjected_entry_sees_the_migrated_design_dict_of_its_package(package: Path):
    assert run_mixed_entry("b3pkg.entry.entry") == "hello BOB"


def test_bad_targets_and_designs_are_refused_with_a_clear_message(package: Path):
    with pytest.raises(ValueError, match="expected pkg.module.variable"):
        run_mixed_entry("main")
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        run_mixed_entry("b3pkg.migrated.nope")
    with pytest.raises(TypeError, match=r"b3pkg.broken.__design__ must be a dict or a pinjected Design, got int"):
        run_mixed_entry("b3pkg.broken.main")


def test_required_keys_nothing_binds_are_all_named_before_anything_runs(package: Path):
    from doeff_migrate.runtime.runner import EntryPointError

    import b3pkg.legacy  # noqa: F401 - b3_store is bound by pinjected

    with pytest.raises(EntryPointError, match=r"needs 2 key\(s\) .*'b3_absent', 'b3_gone'"):
        run_mixed_entry("b3pkg.incomplete.main")
    assert b3pkg.legacy.CALLS == []


def test_the_runner_hands_a_migrated_entry_needing_pinjected_keys_to_the_bridge(package: Path):
    """``python -m doeff_migrate.runtime run``'s ``run_entry``: a migrated entry point (dict designs only)
    whose required keys only imported ``@instance`` functions provide runs with a ``PinjectedEnv``."""
    from doeff_migrate.runtime.runner import run_entry, still_pinjected

    assert run_entry("b3pkg.migrated.main") == "hello ada"
    (package / "plain.py").write_text(
        "import b3pkg.legacy  # noqa: F401\n"
        "from doeff_migrate.runtime import Ask, do\n\n"
        "@do\ndef prefix():\n    return (yield Ask('b3_prefix'))\n\n"
        "main = prefix()\n__doeff_requires__ = {'main': ('b3_prefix',)}\n"
    )
    import importlib
    import sys

    plain = importlib.import_module("b3pkg.plain")
    assert "pinjected" in sys.modules
    assert not still_pinjected(plain, "main")  # needs nothing pinjected provides: the plain runner
    assert still_pinjected(sys.modules["b3pkg.migrated"], "main")
    assert run_entry("b3pkg.plain.main") == "hello "

"""The analysis states what ``doeff-migrate`` does (``codemod/analysis/plan.py``), and the "Migrate" edits are
the CLI's own (``codemod/analysis/migration.py``).

Each divergence the editor and the CLI had is pinned here: the decision under the codemod's refusal, designs
it cannot convert, ``# noqa: E501``, an import bound two ways, ``asyncio.run`` and ``ProcessPoolExecutor`` in
``@do``, and module naming; then the quick fix's edits against ``doeff-migrate --diff``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doeff_migrate.codemod.analysis import check
from doeff_migrate.codemod.analysis.facts import ProjectFacts
from doeff_migrate.codemod.analysis.migration import migrate_in_editor, same_as_cli
from doeff_migrate.codemod.analysis.plan import carried, decided, decision_key, plan_file
from doeff_migrate.codemod.config import Settings
from doeff_migrate.codemod.index import ProjectIndex, module_name_for

from .test_analysis import apply


def decided_findings(source: str, path: str = "m.py", index: ProjectIndex | None = None):
    plan = plan_file(source, path, index=index, settings=Settings())
    return decided(check(source, path), plan, source.splitlines()), plan


STAR = textwrap.dedent(
    """\
    from pinjected import *

    @instance
    def learning_rate():
        return 0.1

    @injected
    def train(learning_rate, /, steps):
        return learning_rate * steps

    run: IProxy = train(3)
    base = instances(batch=2)
    overrides = design(epochs=1)
    """
)


def by_line(findings, code: str) -> dict[int, object]:
    return {f.range.start_line: f for f in findings if f.code == code}


def test_messages_state_what_the_cli_does_migrate_or_flag():
    findings, _ = decided_findings(STAR)
    train = by_line(findings, "DM150")[6]
    assert train.message == "`@injected` function `train` is not migrated yet; doeff-migrate migrates it (phase `di`)"
    assert train.migrate_lines == (7, 9)
    # ``instances(...)`` at module level: the CLI flags it (DM109) and leaves it; nothing says phase di converts it.
    base = by_line(findings, "DM152")[11]
    assert "doeff-migrate leaves it as it is and flags it (DM109:" in base.message
    assert "migrates it" not in base.message and base.migrate_lines is None
    # A design the CLI converts, with the file only (a run on its lines does not): no per-construct Migrate.
    overrides = by_line(findings, "DM152")[12]
    assert overrides.message.endswith("doeff-migrate migrates it (phase `di`) when it migrates the file")
    assert overrides.migrate_lines is None
    plan = plan_file(STAR, "m.py", settings=Settings())
    index = ProjectIndex.from_sources({"m.py": STAR})
    assert migrate_in_editor(STAR, "m.py", index=index, settings=Settings(), plan=plan, lines=(13, 13)) is None
    assert not [f for f in findings if f.code == "DM109"]  # the flag is stated on the construct, not twice


def test_under_the_codemods_own_refusal_comment_nothing_claims_a_migration():
    migrated = plan_file(STAR, "m.py", settings=Settings()).new_text
    assert "# doeff-migrate: DM109" in migrated
    findings, plan = decided_findings(migrated)
    assert plan.new_text is None  # a second run changes nothing
    base_line = migrated.splitlines().index("base = instances(batch=2)")
    (base,) = [f for f in findings if f.code == "DM152"]
    assert base.range.start_line == base_line
    assert "doeff-migrate leaves it as it is and flags it (DM109:" in base.message and base.migrate_lines is None
    assert [f.code for f in findings if f.range.start_line == base_line - 1] == ["DM109"]  # the comment itself
    assert all("migrates it" not in f.message for f in findings)


def test_noqa_e501_keeps_dm_findings_as_the_cli_does():
    source = STAR.replace("def train(learning_rate, /, steps):", "def train(learning_rate, /, steps):  # noqa: E501")
    source = source.replace("@injected\n", "@injected  # noqa: E501\n")
    findings, plan = decided_findings(source)
    assert 6 in by_line(findings, "DM150") and plan.rewrites(6, 8)
    silenced = source.replace("@injected  # noqa: E501\n", "@injected  # noqa: DM150\n")
    assert 6 not in by_line(check(silenced, "m.py"), "DM150")


AMBIGUOUS = textwrap.dedent(
    """\
    from doeff_migrate.runtime import do

    try:
        import cupy as np
    except ImportError:
        import numpy as np


    @do
    def save(path, arr):
        np.save(path, arr)
        return path
    """
)


def test_an_import_bound_two_ways_is_ambiguous_in_both():
    assert [f.code for f in check(AMBIGUOUS, "m.py")] == []  # the analysis alone resolves neither
    findings, plan = decided_findings(AMBIGUOUS)
    assert [(f.code, f.range.start_line) for f in findings] == [("DM318", 10)]
    assert [(f.code, f.line) for f in plan.flags] == [("DM318", 10)]
    assert "depending on how the module was loaded" in findings[0].message


EVENT_LOOP = textwrap.dedent(
    """\
    import asyncio
    from concurrent.futures import ProcessPoolExecutor
    from doeff_migrate.runtime import do


    async def fetch():
        return 1


    @do
    def main():
        value = asyncio.run(fetch())
        with ProcessPoolExecutor() as pool:
            pool.submit(print, value)
        return value
    """
)


def test_asyncio_run_and_process_pools_in_do_are_reported_as_the_cli_flags_them():
    findings, plan = decided_findings(EVENT_LOOP)
    assert [(f.code, f.range.start_line) for f in findings] == [("DM210", 11), ("DM209", 12)]
    assert {(f.code, f.line) for f in plan.flags} == {("DM210", 11), ("DM209", 12)}
    assert findings[0].message.startswith("doeff-migrate leaves this as it is and flags it: `asyncio.run(...)` left")


def test_side_effect_messages_say_convert_or_leave():
    source = textwrap.dedent(
        """\
        import numpy as np
        import wandb
        from doeff_migrate.runtime import do


        @do
        def step(path):
            np.save(path, np.zeros(2))
            run = wandb.init(project="p")
            return run
        """
    )
    findings, _ = decided_findings(source, "/p/pkg/m.py")
    save, init = sorted((f for f in findings if f.code.startswith("DM3")), key=lambda f: f.range.start_line)
    assert save.message.endswith("; doeff-migrate migrates it (phase `io`)") and save.migrate_lines == (8, 8)
    assert "doeff-migrate leaves it as it is and flags it (DM301:" in init.message and init.migrate_lines is None


def test_module_names_are_the_indexs(tmp_path: Path):
    (tmp_path / "scripts" / "tools").mkdir(parents=True)
    run = tmp_path / "scripts" / "tools" / "run.py"
    run.write_text("from doeff_migrate.runtime import do\n\n@do\ndef main():\n    return 1\n")
    facts = ProjectFacts([tmp_path])
    facts.scan(lambda path, source: __import__("doeff_migrate.codemod.analysis", fromlist=["analyze"]).analyze(source, path).facts)
    assert module_name_for(run) == "run"  # no __init__.py: a script, named as doeff-migrate names it
    assert facts.is_do_function("run", "main") and not facts.is_do_function("scripts.tools.run", "main")
    (tmp_path / "scripts" / "__init__.py").write_text("")
    (tmp_path / "scripts" / "tools" / "__init__.py").write_text("")
    facts = ProjectFacts([tmp_path])
    facts.scan(lambda path, source: __import__("doeff_migrate.codemod.analysis", fromlist=["analyze"]).analyze(source, path).facts)
    assert module_name_for(run) == "scripts.tools.run" and facts.is_do_function("scripts.tools.run", "main")


def test_decisions_carry_over_an_edit_elsewhere_and_unknown_constructs_claim_nothing():
    findings, _ = decided_findings(STAR)
    lines = STAR.splitlines()
    decisions = {decision_key(f, lines): f for f in findings}
    edited = "# a comment\n" + STAR + "\n@injected\ndef fresh(a, /):\n    return a\n"
    now = carried(check(edited, "m.py"), decisions, edited.splitlines())
    train = by_line(now, "DM150")[7]
    assert train.message.endswith("doeff-migrate migrates it (phase `di`)") and train.migrate_lines == (8, 10)
    fresh = next(f for f in now if "`fresh`" in f.message)
    assert fresh.message == "`@injected` function `fresh` is not migrated yet" and fresh.migrate_lines is None


def test_carried_decisions_are_reused_for_the_same_findings_and_lines_only():
    findings, _ = decided_findings(STAR)
    lines = STAR.splitlines()
    decisions = {decision_key(f, lines): f for f in findings}
    raw = check(STAR, "m.py")
    memo: dict = {}
    first = carried(raw, decisions, lines, memo)
    assert first == carried(raw, decisions, lines)  # the memo changes nothing of the result
    again = carried(raw, decisions, lines, memo)
    assert all(a is b for a, b in zip(first, again))  # the same findings on the same lines: reused
    edited = STAR.replace("@injected\ndef train", "@injected  # edited\ndef train")
    moved = carried(raw, decisions, edited.splitlines(), memo)  # its line changed: decided again
    train = next(f for f in moved if f.code == "DM150")
    assert train.migrate_lines is None and not train.message.endswith("phase `di`)")
    assert len(memo) == len(raw)  # only the last call's findings are kept


# -- the "Migrate" edits are the CLI's -------------------------------------------------------------------------


def package(root: Path, files: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out[str(path)] = text
    return out


def test_migrate_a_function_equals_the_cli_and_plans_the_bridge_for_pinjected_callers(tmp_path: Path):
    files = package(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": textwrap.dedent(
            """\
            from pinjected import injected, instance

            @instance
            def model():
                return 2

            @injected
            def predict(model, /, x):
                return model * x
            """
        ),
        "app/uses.py": textwrap.dedent(
            """\
            from pinjected import injected

            @injected
            def report(predict, /, x):
                return predict(x) + 1
            """
        ),
    })
    path = str(tmp_path / "app" / "models.py")
    source = files[path]
    index = ProjectIndex.build([Path(p) for p in files])
    plan = plan_file(source, path, index=index, settings=Settings())
    migration = migrate_in_editor(source, path, index=index, settings=Settings(), plan=plan, lines=(7, 9), project_files=list(files))
    assert migration is not None
    assert same_as_cli(source, migration.text, plan.new_text, (7, 9))
    assert "@function_binding\n@do\ndef predict(x):\n    model = yield Ask(\"model\")\n" in migration.text
    assert "@instance\ndef model():" in migration.text  # the other provider is left as the user asked
    # pinjected's `report` asks for `predict` by name: the CLI writes a bridge block, and so does the fix.
    assert any("predict" in (c.new or "") for c in migration.others), migration.others
    # The index describes the files as they are after planning the fix.
    assert plan_file(source, path, index=index, settings=Settings()) == plan


def test_a_construct_the_cli_rewrites_differently_when_whole_gets_no_range_edit():
    source = STAR
    plan = plan_file(source, "m.py", settings=Settings())
    index = ProjectIndex.from_sources({"m.py": source})
    whole = migrate_in_editor(source, "m.py", index=index, settings=Settings(), plan=plan)
    assert whole is not None and whole.text == plan.new_text
    base_line = source.splitlines().index("base = instances(batch=2)") + 1
    assert migrate_in_editor(source, "m.py", index=index, settings=Settings(), plan=plan, lines=(base_line, base_line)) is None


IO_SOURCE = textwrap.dedent(
    """\
    import numpy as np
    from doeff_migrate.runtime import do


    @do
    def step(path, n):
        for i in range(n):
            np.save(path, np.zeros(i))
        loaded = np.load(path)
        return loaded


    @do
    def other(path):
        np.save(path, np.ones(2))
    """
)


def test_convert_creates_or_extends_the_handler_module(tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    path = str(tmp_path / "pkg" / "m.py")
    Path(path).write_text(IO_SOURCE)
    settings, files = Settings(), {}

    def convert(source: str, line: int, read=None):
        index = ProjectIndex.from_sources({path: source})
        plan = plan_file(source, path, index=index, settings=settings)
        return migrate_in_editor(source, path, index=index, settings=settings, plan=plan, lines=(line, line),
                                 read_text=read or files.get, root=str(tmp_path))

    conversion = convert(IO_SOURCE, 9)
    (module,) = conversion.others
    assert module.path == str(tmp_path / "pkg" / "effects_handlers.py") and module.old is None
    assert "class LoadNumpyArray(EffectBase[Any]):" in module.new and "SaveNumpyArray" not in module.new
    assert "    loaded = yield LoadNumpyArray(path)\n" in conversion.text
    files[module.path] = module.new
    save_line = conversion.text.splitlines().index("        np.save(path, np.zeros(i))") + 1
    again = convert(conversion.text, save_line)
    (extended,) = again.others
    assert extended.old == module.new and "class SaveNumpyArray(EffectBase[None]):" in extended.new
    # A handler module that cannot be extended: no conversion (the file would import missing names).
    assert convert(IO_SOURCE, 8, {module.path: "x = (\n"}.get) is None
    # A call the codemod only flags (wandb.init has no metrics-effect form): nothing to convert.
    flagged = IO_SOURCE.replace("import numpy as np\n", "import numpy as np\nimport wandb\n").replace(
        "    loaded = np.load(path)\n", "    loaded = wandb.init(project=path)\n"
    )
    assert convert(flagged, 10) is None


@pytest.mark.parametrize("broken", ["from pinjected import injected\ndef broken(:\n", "import pinjected\nx = (\n"])
def test_a_file_the_codemod_cannot_read_has_its_reason_and_no_migration(broken: str):
    plan = plan_file(broken, "b.py", settings=Settings())
    assert plan.error and plan.new_text is None
    index = ProjectIndex.from_sources({})
    assert migrate_in_editor(broken, "b.py", index=index, settings=Settings(), plan=plan) is None


def test_applied_edits_of_the_range_are_the_cli_lines():
    src = (
        "from pinjected import injected\n\n"
        "@injected\ndef first(model, /, x):\n    return model(x)\n\n"
        "@injected\ndef second(model, /, y):\n    return model(y)\n"
    )
    plan = plan_file(src, "m.py", settings=Settings())
    index = ProjectIndex.from_sources({"m.py": src})
    migration = migrate_in_editor(src, "m.py", index=index, settings=Settings(), plan=plan, lines=(3, 5))
    assert '    model = yield Ask("model")\n    return model(x)\n' in migration.text
    assert "@injected\ndef second(model, /, y):\n" in migration.text
    assert apply(src, []) == src


PATHLIB = textwrap.dedent(
    """\
    from pathlib import Path
    from doeff_migrate.runtime import do


    @do
    def save(base: Path, text):
        out = base / "report.txt"
        out.write_text(text)
        Path("logs").mkdir(exist_ok=True)
        return out.read_bytes()


    def plain(p: Path):
        p.write_text("x")
    """
)


def test_pathlib_io_in_do_is_reported_and_flagged_by_both():
    assert [(f.code, f.range.start_line) for f in check(PATHLIB, "m.py")] == [("DM303", 7), ("DM303", 8), ("DM303", 9)]
    findings, plan = decided_findings(PATHLIB)
    assert [(f.code, f.line) for f in plan.flags] == [("DM303", 7), ("DM303", 8), ("DM303", 9)]
    assert all("doeff-migrate leaves it as it is and flags it (DM303:" in f.message for f in findings)
    assert "# doeff-migrate: DM303: `out.write_text(...)` left as it is" in plan.new_text

"""The edits behind quick fixes: noqa insertion, fix-all selection, the line diff; the codemod's `only_range` under "Convert"."""

from __future__ import annotations


from doeff_migrate.lsp.analysis import Edit, Finding, Fix, Range
from doeff_migrate.lsp.fixes import apply_fixes, line_diff_edit, noqa_edit

from .test_analysis import apply


def test_noqa_edit_adds_a_comment_or_extends_an_existing_one():
    lines = ["x = f()", "y = g()  # noqa: DM301", "z = h()  # noqa", "w = k()   "]
    assert noqa_edit(lines, 0, "DM309") == Edit(Range(0, 7, 0, 7), "  # noqa: DM309")
    assert noqa_edit(lines, 1, "DM309") == Edit(Range(1, 22, 1, 22), ", DM309")
    assert noqa_edit(lines, 1, "DM301") is None  # already suppressed
    assert noqa_edit(lines, 2, "DM301") is None  # a bare noqa suppresses everything
    assert noqa_edit(lines, 3, "DM301") == Edit(Range(3, 7, 3, 10), "  # noqa: DM301")
    assert noqa_edit(lines, 9, "DM301") is None


def test_fix_all_takes_safe_fixes_without_overlaps_or_duplicate_imports():
    import_edit = Edit(Range(0, 0, 0, 0), "from m import Await\n")
    first = Finding("DM502", "", Range(2, 4, 2, 9), Fix("a", (Edit(Range(2, 4, 2, 9), "(yield A)"), import_edit)))
    second = Finding("DM502", "", Range(3, 4, 3, 9), Fix("b", (Edit(Range(3, 4, 3, 9), "(yield B)"), import_edit)))
    overlapping = Finding("DM504", "", Range(2, 4, 2, 6), Fix("c", (Edit(Range(2, 4, 2, 6), "yield "),)))
    unsafe = Finding("DM501", "", Range(4, 0, 4, 0), Fix("d", (Edit(Range(4, 0, 4, 0), "yield "),), safe=False))
    edits = apply_fixes([first, second, overlapping, unsafe])
    assert edits == [first.fix.edits[0], import_edit, second.fix.edits[0]]


def test_line_diff_edit_replaces_only_the_changed_block():
    old = "a\nb\nc\nd\n"
    new = "a\nB1\nB2\nc\nd\n"
    edit = line_diff_edit(old, new)
    assert edit == Edit(Range(1, 0, 2, 0), "B1\nB2\n")
    assert apply(old, [edit]) == new
    assert line_diff_edit(old, old) is None
    no_newline = "a\nb"
    assert apply(no_newline, [line_diff_edit(no_newline, "a\nc")]) == "a\nc"


# -- "Convert this call to an effect": the codemod's io/compute phase restricted to the call's lines ----------

from pathlib import Path  # noqa: E402
import textwrap  # noqa: E402

from doeff_migrate.codemod.api import migrate_source  # noqa: E402

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


def package_file(root: Path, source: str) -> str:
    """``root/pkg/m.py`` holding ``source`` in a real package (the module's dotted name comes from the files)."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "m.py").write_text(source)
    return str(root / "pkg" / "m.py")


def test_io_phase_with_only_range_converts_that_statement_and_imports_only_its_effect(tmp_path: Path):
    result = migrate_source(IO_SOURCE, path=package_file(tmp_path, IO_SOURCE), phases=("io",), only_range=(8, 8))
    assert result.code == IO_SOURCE.replace(
        "from doeff_migrate.runtime import do\n",
        "from doeff_migrate.runtime import do\nfrom pkg.effects_handlers import SaveNumpyArray\n",
    ).replace("        np.save(path, np.zeros(i))\n", "        yield SaveNumpyArray(path, np.zeros(i))\n")
    assert [need.spec.effect for need in result.effects if need.spec is not None] == ["SaveNumpyArray"]


def test_io_phase_with_only_range_on_a_line_without_a_movable_call_changes_nothing():
    for lines in [(7, 7), (11, 11)]:  # the for header; `return loaded`
        result = migrate_source(IO_SOURCE, path="/p/pkg/m.py", phases=("io",), only_range=lines)
        assert (result.changed, result.code, result.effects) == (False, IO_SOURCE, [])


RAY_SOURCE = textwrap.dedent(
    """\
    import ray
    from doeff_migrate.runtime import do


    @ray.remote
    def _square(x):
        return x * x


    @do
    def squares(xs):
        refs = [_square.remote(x) for x in xs]
        return ray.get(refs)


    @do
    def first(x):
        ref = _square.remote(x)
        return ray.get(ref)
    """
)


def test_compute_phase_with_only_range_converts_one_caller_and_leaves_the_other_on_ray():
    # `@ray.remote` stays (ray_task spawns the RemoteFunction), so one caller converts without touching the other.
    result = migrate_source(RAY_SOURCE, path="/p/pkg/m.py", phases=("compute",), only_range=(12, 12))
    assert "        refs.append((yield Spawn(ray_task(_square)(x))))\n" in result.code
    assert "    ref = _square.remote(x)\n    return ray.get(ref)\n" in result.code and "@ray.remote" in result.code


def test_compute_phase_with_only_range_converts_the_whole_function_spawns_and_waits_together():
    source = RAY_SOURCE.split("\n\n\n@do\ndef first")[0] + "\n"
    result = migrate_source(source, path="/p/pkg/m.py", phases=("compute",), only_range=(13, 13))  # the ray.get line
    assert "    refs = []\n    for x in xs:\n        refs.append((yield Spawn(ray_task(_square)(x))))\n" in result.code
    assert "    return (yield Gather(*refs))\n" in result.code
    assert "@ray.remote" in result.code  # kept: other modules may still call `_square.remote`

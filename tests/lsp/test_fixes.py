"""The edits behind quick fixes: noqa insertion, fix-all selection, the codemod call and its line diff."""

from __future__ import annotations

import logging

from doeff_migrate.lsp.analysis import Edit, Finding, Fix, Range
from doeff_migrate.lsp.fixes import apply_fixes, line_diff_edit, migrate_edits, noqa_edit

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


def test_migrate_edits_calls_the_codemod_on_the_function_only():
    src = (
        "from pinjected import injected\n\n"
        "@injected\ndef first(model, /, x):\n    return model(x)\n\n"
        "@injected\ndef second(model, /, y):\n    return model(y)\n"
    )
    edits = migrate_edits(src, "/proj/m.py", (3, 5), "di")
    migrated = apply(src, edits)
    assert '    model = yield Ask("model")\n    return model(x)\n' in migrated
    assert "@injected\ndef second(model, /, y):\n" in migrated


def test_migrate_edits_on_broken_source_offers_nothing_and_says_why(caplog):
    with caplog.at_level(logging.INFO, logger="doeff_migrate.lsp.fixes"):
        assert migrate_edits("from pinjected import injected\ndef broken(:\n", "/proj/b.py", (1, 2), "di") == []
    assert "codemod failed on /proj/b.py lines (1, 2)" in caplog.text
    with caplog.at_level(logging.INFO, logger="doeff_migrate.lsp.fixes"):
        assert migrate_edits("x = 1\n", "/proj/c.py", (1, 1), "no-such-phase") == []
    assert "unknown phase" in caplog.text

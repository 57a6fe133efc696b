"""An edit inside one function re-checks that function only, with the findings of the whole analysis.

Differential: on generated and fixture modules, each line of each function body is retyped (changed,
deleted, duplicated) one after the other; after every edit the document's incremental analysis equals
``analyze`` of the whole text, and most edits are splices.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from doeff_migrate.codemod.analysis import Config, analyze
from doeff_migrate.codemod.analysis.incremental import DocumentAnalysis
from tests.fidelity.test_idempotency import PROJECTS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_lsp import make_large_source  # noqa: E402


def edits_of(source: str):
    """Texts after successive edits of indented lines, each still valid Python: a comment added, an
    assignment's value changed, a line duplicated, a line that breaks the syntax (the next edit mends it)."""
    lines = source.splitlines(keepends=True)
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.startswith("    ") or not line.strip() or line.rstrip().endswith((":", "(", "[", "{", ",", "\\")):
            continue
        kind = number % 4
        edited = list(lines)
        if kind == 0:
            edited[number - 1] = line.rstrip("\n") + "  # edited\n"
        elif kind == 1 and " = " in line:
            edited[number - 1] = line.replace(" = ", " = 1 + ", 1)
        elif kind == 2:
            edited.insert(number - 1, line)
        else:
            yield "".join(edited[: number - 1] + [line.rstrip("\n") + " (\n"] + edited[number:])  # unbalanced
        text = "".join(edited)
        try:
            compile(text, "<edit>", "exec", flags=0x400)  # ast.PyCF_ONLY_AST
        except SyntaxError:
            continue
        if len(edited) > len(lines):
            number += 1  # past the duplicate
        lines = edited
        yield text


def check_same(source: str, path: str) -> tuple[int, int]:
    config = Config()
    document = DocumentAnalysis()
    document.analyze(source, path, config, None)
    count = 0
    for text in edits_of(source):
        got = document.analyze(text, path, config, None)
        want = analyze(text, path, config, None)
        extra = [f for f in got.findings if f not in want.findings]
        missing = [f for f in want.findings if f not in got.findings]
        assert got.findings == want.findings, (path, extra[:3], missing[:3])
        assert got.facts == want.facts
        count += 1
    return count, document.spliced


def test_edits_of_a_large_module_match_the_whole_analysis():
    count, spliced = check_same(make_large_source(400), "/b/big.py")
    assert count > 100 and spliced > count // 3  # the syntax-breaking edits and the edits mending them run whole


def test_edits_of_fixture_modules_match_the_whole_analysis():
    total = 0
    for project, files in sorted(PROJECTS.items())[:40]:
        for path, text in files.items():
            if path.endswith(".py"):
                count, _ = check_same(textwrap.dedent(text), path)
                total += count
    assert total > 200


def test_a_noqa_left_by_the_last_line_of_a_function_reaches_the_next_ones_findings():
    """The findings a splice keeps reuse their ``select``/``# noqa`` verdicts, except those of the statement
    after the edited function: the comment lines above them may now end inside it."""
    head = "from pinjected import injected\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(x):\n    y = x\n    return y\n"
    tail = "@injected\ndef g(m, /):\n    return m\n"
    config = Config()
    document = DocumentAnalysis()
    original = head + tail
    commented = original.replace("    return y\n", "    # noqa: DM150\n")
    assert [f.code for f in analyze(commented, "m.py", config, None).findings] == []  # the comment reaches g
    for text in (original, commented, original):
        got = document.analyze(text, "m.py", config, None)
        assert got.findings == analyze(text, "m.py", config, None).findings, text
    assert document.spliced == 2

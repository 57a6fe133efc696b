"""Code names a rule by its constant (``STACKED_DECORATOR.code``), never by a ``"DM112"`` literal: the code of
a rule lives once, in its entry under ``codemod/rules/``."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"""[rRbBuU]?(["'])DM\d{3}\1""")


def rule_code_literals(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        if "rules" in path.relative_to(folder).parts:
            continue
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type == tokenize.STRING and LITERAL.fullmatch(token.string):
                found.append(f"{path.relative_to(folder)}:{token.start[0]}: {token.string}")
    return found


def test_the_check_sees_a_literal(tmp_path):
    (tmp_path / "m.py").write_text('flag(node, "DM112")\nnote = "see DM112 in the docs"\n')
    assert [line.split(": ", 1)[1] for line in rule_code_literals(tmp_path)] == ['"DM112"']


def test_codemod_and_language_server_name_rules_by_their_constants():
    assert rule_code_literals(ROOT / "codemod") + rule_code_literals(ROOT / "lsp") == []

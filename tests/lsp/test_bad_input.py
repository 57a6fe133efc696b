"""Bad input to the language server's analysis: a diagnostic, never an internal error."""

from doeff_migrate.lsp.analysis import analyze
from doeff_migrate.lsp.config import Config

HEAD = "from pinjected import injected\n\n"


def test_code_nested_too_deeply_is_reported_like_a_syntax_error():
    chain = HEAD + "x = " + " + ".join(["a"] * 5000) + "\n"
    parens = HEAD + "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    for source, message in ((chain, "nested too deeply to analyse"), (parens, "too many nested parentheses")):
        result = analyze(source, "deep.py", Config(), None)
        assert result.syntax_error is not None and result.syntax_error.code == "DM001"
        assert message in result.syntax_error.message
        assert [f.code for f in result.findings] == ["DM001"]

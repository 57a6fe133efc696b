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


# --- configuration: a code matching no rule is the CLI's usage error; the server shows it and goes on ---------

import asyncio  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from lsprotocol import types  # noqa: E402

from .lsp_client import change_document, codes, diagnostics_for, lsp_session, open_document, publish_after, wait_for_planned, wait_for_shown  # noqa: E402
from .test_server import FAMILIES  # noqa: E402


def _errors(lsp) -> list[str]:
    return [m.message for m in lsp.messages if m.type == types.MessageType.Error]


def test_a_code_matching_no_rule_is_left_out_and_noted_as_the_cli_sees_it(tmp_path):
    from doeff_migrate.codemod.run_checks import matching_no_rule
    from doeff_migrate.lsp.config import load_pyproject_config

    assert matching_no_rule(("DM999", "DM3", "DM301")) == ["DM999"]
    (tmp_path / "pyproject.toml").write_text(
        '[tool.doeff-migrate]\nselect = ["DM999", "DM3"]\nignore = ["DM98"]\n[tool.doeff-migrate.per-file-ignores]\n"t/*" = ["DM09", "DM0"]\n'
    )
    config = load_pyproject_config(tmp_path / "pyproject.toml")
    assert config.select == ("DM3",) and config.ignore == () and config.per_file_ignores == (("t/*", ("DM0",)),)
    assert [p.split(": ", 1)[1] for p in config.problems] == [
        "[tool.doeff-migrate] select: unknown rule code or prefix 'DM999' (left out)",
        "[tool.doeff-migrate] ignore: unknown rule code or prefix 'DM98' (left out)",
        "[tool.doeff-migrate] per-file-ignores 't/*': unknown rule code or prefix 'DM09' (left out)",
    ]
    client = config.with_client_settings({"select": ["DM999"]})
    assert client.select == () and client.is_selected("DM150")  # no valid code left: every rule, not none
    assert client.problems[-1] == "client setting 'select': unknown rule code or prefix 'DM999' (left out: every rule is reported)"


@pytest.mark.asyncio
async def test_the_server_reports_an_unknown_code_and_keeps_running_with_the_valid_ones(tmp_path: Path):
    text = '[tool.doeff-migrate]\nselect = ["DM999", "DM3"]\n'
    (tmp_path / "pyproject.toml").write_text(text)
    async with lsp_session(tmp_path) as lsp:
        uri = open_document(lsp, tmp_path / "mod.py", FAMILIES)
        first = await diagnostics_for(lsp, uri, version=1)
        await wait_for_planned(lsp, uri, 1)  # after every message the opened text causes
        from_pyproject = _errors(lsp)
        # A client setting naming only unknown codes: reported too, and every rule is reported, not none.
        count = len(lsp.published)
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"doeff-migrate": {"select": ["DM999"]}}))
        second = await publish_after(lsp, count, uri)
        count = len(lsp.published)
        change_document(lsp, uri, FAMILIES + "\n", 2)
        third = await publish_after(lsp, count, uri)  # still serving
        await wait_for_shown(lsp, lambda m: "client setting 'select'" in m.message)
        errors = _errors(lsp)
    assert codes(first) == ["DM301"]
    assert len(from_pyproject) == 1
    assert "pyproject.toml: [tool.doeff-migrate] select: unknown rule code or prefix 'DM999' (left out)" in from_pyproject[0]
    assert any("client setting 'select': unknown rule code or prefix 'DM999' (left out: every rule is reported)" in e for e in errors)
    assert {"DM150", "DM301"} <= set(codes(second)) and codes(third) == codes(second)
    assert (tmp_path / "pyproject.toml").read_text() == text

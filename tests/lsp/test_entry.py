"""``python -m doeff_migrate.lsp`` / ``doeff-migrate-lsp`` argument handling, in process."""

from __future__ import annotations

import pytest


def test_main_rejects_unknown_arguments(capsys):
    from doeff_migrate.lsp.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--no-such-flag"])
    assert info.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err

"""``python -m doeff_migrate.lsp`` / ``doeff-migrate-lsp`` argument handling, in process."""

from __future__ import annotations

import pytest


def test_main_rejects_unknown_arguments(capsys):
    from doeff_migrate.lsp.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--no-such-flag"])
    assert info.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_notification_futures_are_dropped_once_handled():
    """pygls 2.1 keeps each notification's future in ``_request_futures`` forever (~3 KiB of RSS per edit);
    the server's protocol drops it when the handler is done. The first run shows the leak being fixed is real."""
    import asyncio

    from pygls.protocol import LanguageServerProtocol

    from doeff_migrate.lsp.server import DoeffMigrateProtocol, DoeffMigrateServer

    async def pending_after_notifications(protocol_fix: bool) -> tuple[int, int]:
        ls = DoeffMigrateServer()
        assert isinstance(ls.protocol, DoeffMigrateProtocol)
        if not protocol_fix:
            ls.protocol._check_handler_result = LanguageServerProtocol._check_handler_result.__get__(ls.protocol)
        handled = []

        @ls.feature("doeff-migrate/test-notification")
        async def note(params):
            handled.append(params)

        for n in range(5):
            ls.protocol._handle_notification("doeff-migrate/test-notification", {"n": n})
        running = list(ls.protocol._request_futures.values())
        # pygls' done callback (registered first) has run once each handler's task is done.
        await asyncio.gather(*running)
        return len(handled), len(ls.protocol._request_futures)

    assert asyncio.run(pending_after_notifications(protocol_fix=False)) == (5, 5)  # pygls alone: all kept
    assert asyncio.run(pending_after_notifications(protocol_fix=True)) == (5, 0)


def test_malloc_mmap_threshold_is_fixed_unless_the_user_set_it(monkeypatch):
    import sys

    from doeff_migrate.lsp.server import fix_malloc_mmap_threshold

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert fix_malloc_mmap_threshold() is False  # the user's setting wins
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    assert fix_malloc_mmap_threshold() is (sys.platform.startswith("linux") and _is_glibc())


def _is_glibc() -> bool:
    import platform

    return platform.libc_ver()[0] == "glibc"

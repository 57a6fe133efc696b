"""``python -m doeff_migrate.lsp``: serve LSP over stdio.

The server module (pygls, lsprotocol, the analysis: ~0.5 s) is imported on a thread while the main thread
answers the client's ``initialize`` with the standard library only (``early_initialize``); the server then
reads that same message and everything after it.
"""

from __future__ import annotations

import argparse
import sys
import threading


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="doeff-migrate-lsp", description="doeff-migrate language server (stdio)")
    parser.add_argument("--log-file", help="write the server's log to this file")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .early_initialize import answer_initialize  # before the thread starts: one import at a time
    failure: list[BaseException] = []

    def import_server() -> None:
        try:
            import doeff_migrate.lsp.server  # noqa: F401
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread below
            failure.append(exc)

    # The import holds the GIL for long stretches; a short switch interval lets the main thread write the
    # initialize answer as soon as the request is read (restored before serving).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    importer = threading.Thread(target=import_server, name="doeff-migrate-import", daemon=True)
    importer.start()
    early = answer_initialize(sys.stdin.buffer, sys.stdout.buffer)
    importer.join()
    sys.setswitchinterval(interval)
    if failure:
        raise failure[0]
    from .server import serve

    return serve(args, early)


if __name__ == "__main__":
    raise SystemExit(main())

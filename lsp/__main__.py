"""``python -m doeff_migrate.lsp``: serve LSP over stdio."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from .server import main as serve

    return serve(argv)


if __name__ == "__main__":
    raise SystemExit(main())

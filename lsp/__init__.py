"""doeff-migrate's language server: live diagnostics for what is not migrated yet, with quick fixes.

``python -m doeff_migrate.lsp`` (or ``doeff-migrate-lsp``) serves LSP over stdio. Analysis is in
:mod:`doeff_migrate.lsp.analysis` (``check(source, path, config) -> list[Finding]``), protocol handling in
:mod:`doeff_migrate.lsp.server`.
"""

__version__ = "0.1.0"

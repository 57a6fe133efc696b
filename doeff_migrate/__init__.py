"""doeff-migrate: move pinjected codebases to algebraic effects.

Parts: ``doeff_migrate.codemod`` (the ``doeff-migrate`` CLI), ``doeff_migrate.runtime`` (the effects
runtime migrated code runs on) and ``doeff_migrate.lsp`` (the language server).
"""

__version__ = "0.1.0"

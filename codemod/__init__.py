"""doeff-migrate's codemod: LibCST transforms from pinjected to algebraic effects, with their CLI."""

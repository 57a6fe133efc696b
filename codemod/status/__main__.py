"""``python -m doeff_migrate.codemod.status PATH...``: the same as ``doeff-migrate status``."""

from . import main

raise SystemExit(main())

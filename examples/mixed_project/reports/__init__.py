"""Reports: the entry point, built on pricing and inventory."""

from pinjected import design

__design__ = design(tax_rate=0.1, catalog_source="builtin")

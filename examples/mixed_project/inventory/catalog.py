"""The catalog and prices (pinjected: an ``@instance`` and an ``@injected`` function)."""

from pinjected import injected, instance


@instance
def catalog(catalog_source):
    print(f"[inventory] loading catalog from {catalog_source}")
    return {"apple": 0.5, "pear": 0.75, "plum": 1.25}


@injected
def price_of(catalog, /, sku: str) -> float:
    return catalog[sku]

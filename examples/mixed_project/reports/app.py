"""The entry point: ``python -m pinjected run reports.app.main``."""

import pricing.quotes  # noqa: F401 - pinjected resolves `a_quote_all` by name once it is imported
from pinjected import IProxy, injected


@injected
async def a_report(a_quote_all, catalog, /, order: dict) -> dict:
    quotes = await a_quote_all(order)
    print("[reports] " + "; ".join(f"{sku} {q:.2f}" for sku, q in sorted(quotes.items())))
    return {"total": round(sum(quotes.values()), 2), "skus_in_catalog": len(catalog)}


main: IProxy = a_report({"apple": 4, "pear": 2, "plum": 1})

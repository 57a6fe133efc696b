"""Quotes for orders (pinjected: depends on ``price_of`` from the inventory package by name)."""

import asyncio

import inventory.catalog  # noqa: F401 - pinjected resolves `price_of` by name once it is imported
from pinjected import injected, instance


@instance
def discounts(catalog):
    print(f"[pricing] loading discounts for {len(catalog)} products")
    return {"pear": 0.1}


@injected
def quote(price_of, discounts, tax_rate, /, sku: str, qty: int) -> float:
    base = price_of(sku) * qty * (1 - discounts.get(sku, 0.0))
    return round(base * (1 + tax_rate), 2)


@injected
async def a_quote_all(quote, /, order: dict) -> dict:
    await asyncio.sleep(0)
    quotes = {}
    for sku, qty in order.items():
        quotes[sku] = quote(sku, qty)
    return quotes

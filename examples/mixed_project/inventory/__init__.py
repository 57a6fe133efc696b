"""Inventory: the product catalog (the package everything else depends on)."""

"""Pricing: quotes built on the inventory's prices."""

"""A tiny stock-keeping package."""

from inventory.stock import Item, low_stock, restock, total_value

__all__ = ["Item", "low_stock", "restock", "total_value"]

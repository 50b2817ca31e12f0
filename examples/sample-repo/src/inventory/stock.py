"""Items in stock: their value, restocking, and which ones run low."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Item:
    name: str
    price_cents: int
    quantity: int


def total_value(items: list[Item]) -> int:
    """What everything in stock is worth, in cents."""
    return sum(item.price_cents * item.quantity for item in items)


def restock(items: list[Item], name: str, amount: int) -> list[Item]:
    """``items`` with ``amount`` more of ``name``; an unknown name is an error."""
    if amount <= 0:
        raise ValueError(f"restock by a positive amount, not {amount}")
    if not any(item.name == name for item in items):
        raise KeyError(name)
    return [replace(item, quantity=item.quantity + amount) if item.name == name else item for item in items]


def low_stock(items: list[Item], threshold: int) -> list[str]:
    """Names of the items with at most ``threshold`` left, in stock order."""
    return [item.name for item in items if item.quantity < threshold]

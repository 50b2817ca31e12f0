import pytest
from inventory import Item, low_stock, restock, total_value

ITEMS = [Item("bolts", 5, 100), Item("nuts", 3, 10), Item("gears", 250, 2)]


def test_total_value_sums_price_times_quantity():
    assert total_value(ITEMS) == 5 * 100 + 3 * 10 + 250 * 2


def test_restock_adds_to_one_item_only():
    after = restock(ITEMS, "nuts", 5)
    assert [i.quantity for i in after] == [100, 15, 2]


def test_restock_refuses_an_unknown_item():
    with pytest.raises(KeyError):
        restock(ITEMS, "washers", 1)


def test_low_stock_includes_items_at_the_threshold():
    assert low_stock(ITEMS, 10) == ["nuts", "gears"]

"""Inventory figures on a hand-made catalog and history, every one by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from shopsense.errors import ValidationFailed
from shopsense.profit.inventory import inventory_report

AS_OF = datetime(2026, 10, 1)


def _lines(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    """(item, quantity, days before AS_OF) -> order lines, one basket each."""
    return pl.DataFrame(
        {
            "basket": [f"o{k}" for k in range(len(rows))],
            "item": [r[0] for r in rows],
            "placed_at": [AS_OF - timedelta(days=r[2]) for r in rows],
            "quantity": [r[1] for r in rows],
        }
    )


def test_turnover_cover_dead_stock_and_risk_by_hand() -> None:
    products = pl.DataFrame(
        {
            "item": ["FAST", "SLOW", "DEAD", "UNTRACKED"],
            "stock": [10, 400, 50, None],
            "price": [20.0, 10.0, 8.0, 5.0],
            "cost": [10.0, 4.0, 2.0, 1.0],
            "active": [True, True, True, True],
        }
    )
    # The history spans the whole 90-day window (a line 120 days back, outside it, sets the
    # span): FAST sells 90 units (1 a day), SLOW 9 (0.1 a day), DEAD none in the window.
    lines = _lines([("FAST", 45, 10), ("FAST", 45, 50), ("SLOW", 9, 30), ("DEAD", 3, 120)])
    report = inventory_report(products, lines, AS_OF, lead_time_days=14)
    rows = {r["item"]: r for r in report.products.to_dicts()}
    assert set(rows) == {"FAST", "SLOW", "DEAD"}  # untracked stock is not inventory
    # FAST: cover 10 / 1 = 10 days < 14-day lead time: at risk. Turnover: COGS 90 x 10 = 900
    # over 90 days = 3,650 a year, stock value 10 x 10 = 100 -> 36.5.
    assert rows["FAST"]["days_of_cover"] == pytest.approx(10.0)
    assert rows["FAST"]["stock_out_risk"] and rows["FAST"]["turnover"] == pytest.approx(36.5)
    # SLOW: cover 400 / 0.1 = 4,000 days: slow, not at risk; turnover 36 x 365/90 / 1,600.
    assert rows["SLOW"]["days_of_cover"] == pytest.approx(4000.0)
    assert rows["SLOW"]["slow"] and not rows["SLOW"]["stock_out_risk"]
    assert rows["SLOW"]["turnover"] == pytest.approx(36 * 365 / 90 / 1600)
    # DEAD: nothing sold in the window: dead stock worth 50 x 2 = 100.
    assert rows["DEAD"]["dead"] and rows["DEAD"]["days_of_cover"] == float("inf")
    totals = report.totals
    assert totals["stock_value"] == pytest.approx(100 + 1600 + 100)
    assert totals["cogs_window"] == pytest.approx(900 + 36)
    assert totals["turnover"] == pytest.approx(936 * 365 / 90 / 1800, abs=1e-4)
    assert totals["days_of_inventory"] == pytest.approx(1800 / (936 / 90), abs=0.1)
    assert totals["dead_stock_items"] == 1 and totals["dead_stock_value"] == pytest.approx(100)
    assert totals["stock_out_risk_items"] == 1
    out = report.to_dict()
    assert [r["item"] for r in out["stock_out_risk"]] == ["FAST"]
    assert [r["item"] for r in out["dead_stock"]] == ["DEAD"]
    with pytest.raises(ValidationFailed):
        inventory_report(products, lines, AS_OF, lead_time_days=0)

"""Inventory: turnover, days of cover, slow movers, dead stock and stock-out risk, from the
catalog's stock and the order history (``bundles.signals.stock_pressure`` gives velocity,
cover and the slow flag; this module adds the money and the risk).

    velocity          units sold per day over the window (default 90 days) before as_of
    days_of_cover     stock / velocity (inf when nothing sold)
    turnover          annualised: cost of the units sold in the window × 365 / window days,
                      over the stock's value at cost now (the catalog keeps no stock history,
                      so the current stock stands for the average)
    dead stock        in stock, nothing sold in the window: its value at cost
    stock-out risk    selling, and cover shorter than the reorder lead time (setting)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from shopsense.bundles.signals import stock_pressure
from shopsense.errors import ValidationFailed

WINDOW_DAYS = 90


@dataclass(frozen=True)
class InventoryReport:
    totals: dict[str, Any]
    products: pl.DataFrame  # one row per active product with tracked stock

    def to_dict(self, limit: int = 50) -> dict[str, Any]:
        rows = self.products
        return {
            "totals": self.totals,
            "slow_movers": rows.filter(pl.col("slow")).head(limit).to_dicts(),
            "dead_stock": rows.filter(pl.col("dead"))
            .sort("stock_value", descending=True)
            .head(limit)
            .to_dicts(),
            "stock_out_risk": rows.filter(pl.col("stock_out_risk"))
            .sort("days_of_cover")
            .head(limit)
            .to_dicts(),
        }


def inventory_report(
    products: pl.DataFrame,
    lines: pl.DataFrame,
    as_of: datetime,
    *,
    lead_time_days: float,
    window_days: int = WINDOW_DAYS,
) -> InventoryReport:
    """``products``: item, stock, price, cost, active; ``lines``: basket, item, placed_at,
    quantity (order lines, any span: only the window before ``as_of`` is read)."""
    if not lead_time_days > 0:
        raise ValidationFailed(f"lead_time_days must be > 0, not {lead_time_days!r}")
    pressure = stock_pressure(products, lines, as_of, window_days=window_days)
    costs = products.select("item", pl.col("cost").cast(pl.Float64))
    rows = (
        pressure.filter(pl.col("stock").is_not_null())
        .join(costs, on="item", how="left")
        .with_columns(
            (pl.col("units") * pl.col("cost")).alias("cogs_window"),
            ((pl.col("units") == 0) & (pl.col("stock") > 0)).alias("dead"),
            ((pl.col("velocity") > 0) & (pl.col("days_of_cover") < lead_time_days)).alias(
                "stock_out_risk"
            ),
        )
        .with_columns(
            pl.when(pl.col("stock_value") > 0)
            .then(pl.col("cogs_window") * 365.0 / window_days / pl.col("stock_value"))
            .otherwise(None)
            .alias("turnover")
        )
    )
    stock_value = float(rows["stock_value"].sum())
    cogs = float(rows["cogs_window"].sum())
    totals = {
        "as_of": as_of,
        "window_days": window_days,
        "lead_time_days": lead_time_days,
        "products": rows.height,
        "stock_value": round(stock_value, 2),
        "cogs_window": round(cogs, 2),
        "turnover": round(cogs * 365.0 / window_days / stock_value, 4) if stock_value else None,
        "days_of_inventory": round(stock_value / (cogs / window_days), 1) if cogs else None,
        "slow_movers": int(rows["slow"].sum()),
        "dead_stock_items": int(rows["dead"].sum()),
        "dead_stock_value": round(float(rows.filter("dead")["stock_value"].sum()), 2),
        "stock_out_risk_items": int(rows["stock_out_risk"].sum()),
    }
    return InventoryReport(totals, rows)


__all__ = ["InventoryReport", "inventory_report"]

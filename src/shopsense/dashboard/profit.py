"""``GET /dashboard/profit-analytics``: revenue per user, margins, acquisition cost and return
by channel, inventory and the largest opportunities, for a period beside the one before it.

Every figure is the profit engine's (``shopsense.profit.engine.ProfitOptimizationEngine``,
definitions in docs/profit.md and docs/metrics.md), run for the period and, at the same time
on a second thread, for the previous period:

- ``kpis``: revenue per user (net revenue / buyers), net revenue, gross margin, margin %,
  buyers, orders (``report["revenue"]``), marketing spend and new customers (the channels'
  sums), inventory turnover and dead-stock value (``report["inventory"]["totals"]``, each at
  the end of its period; the catalog keeps no stock history, so both periods value today's
  stock), each as ``{value, previous, change}``;
- ``margins``: the totals (``report["revenue"]``: revenue, refunds, net revenue, COGS, gross
  margin, margin %, units, orders, buyers, revenue per user) and the rows by category
  (``margins.margin_analysis``; the engine's top 20 by gross margin);
- ``acquisition``: per channel its spend, new customers, CAC, the gross margin of its
  customers' orders, ROI, mean predicted CLV, CLV:CAC and payback (``acquisition`` and the
  engine's marketing section);
- ``inventory``: the totals and the first 10 slow movers, dead-stock items (by value) and
  products at stock-out risk;
- ``opportunities``: the first 10 of the engine's ranked list.

Infinite figures (days of cover of a product that sold nothing) are given as null.

The answer is cached (``shopsense.dashboard.cache``): ``computed_at`` says when its figures
were computed and ``stale`` whether newer data has arrived or the TTL has run out since (a
fresh answer is then being computed in the background). A fresh answer is at most
``SHOPSENSE_DASHBOARD_CACHE_SECONDS`` old (300 s by default); a stale one at most twice that.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.period import Period, compare
from shopsense.db.session import Database
from shopsense.profit.engine import ProfitOptimizationEngine
from shopsense.settings import Settings

PAGE = "profit-analytics"
VERSION = ("events", "catalog", "spend", "profiles", "mining")
TOP = 10
REVENUE_KPIS = ("revenue_per_user", "net_revenue", "gross_margin", "margin_pct", "buyers", "orders")
INVENTORY_KPIS = ("turnover", "dead_stock_value")


def profit_analytics(
    db: Database, period: Period, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The page's answer for ``period`` (cached, see the module docstring)."""
    return CACHE.page(PAGE, VERSION, compute, db, period, now, settings)


def compute(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The page's figures, computed now (uncached)."""
    engine = ProfitOptimizationEngine(db, settings)
    with ThreadPoolExecutor(2, thread_name_prefix="dashboard-profit") as pool:
        # Both periods at once: the report only reads, and much of it waits on the database.
        previous = pool.submit(engine.report, period.previous.start, period.previous.end, now=now)
        report = engine.report(period.start, period.end, now=now)
        before = previous.result()
    inventory, inventory_before = report["inventory"], before["inventory"]
    channels = report["marketing"]
    kpis = {k: compare(report["revenue"][k], before["revenue"][k]) for k in REVENUE_KPIS}
    kpis["marketing_spend"] = compare(_sum(channels, "spend"), _sum(before["marketing"], "spend"))
    kpis["new_customers"] = compare(
        int(_sum(channels, "new_customers")), int(_sum(before["marketing"], "new_customers"))
    )
    for k in INVENTORY_KPIS:
        kpis[f"inventory_{k}"] = compare(inventory["totals"][k], inventory_before["totals"][k])
    page: dict[str, Any] = _finite(
        {
            **period.describe(),
            "kpis": kpis,
            "margins": {
                "totals": report["revenue"],
                "by_category": report["margins"]["category"],
            },
            "acquisition": channels,
            "inventory": {
                "totals": inventory["totals"],
                **{k: inventory[k][:TOP] for k in ("slow_movers", "dead_stock", "stock_out_risk")},
            },
            "opportunities": report["opportunities"][:TOP],
        }
    )
    return page


def _sum(rows: list[dict[str, Any]], key: str) -> float:
    return round(sum(float(r[key] or 0) for r in rows), 2)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


__all__ = ["compute", "profit_analytics"]

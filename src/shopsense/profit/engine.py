"""ProfitOptimizationEngine: one report over margins, pricing, inventory, marketing and
retention, and one list of opportunities ranked by the money at stake
(``GET /analytics/profit-optimization``, ``shopsense report profit``). Plain Python.

Each section comes from its module (definitions in docs/profit.md and docs/metrics.md);
this module only reads the inputs they share and ranks what they find:

- **pricing**: the weekly (price shown, units) panel of the period (``price_history``),
  elasticities with month-of-year effects per category (Poisson over every week shown, or,
  when no view carries a price, the log fit over the weeks with sales), and the bounded
  advice;
  money at stake = the expected weekly profit change × 52 (only confident estimates advise
  a move);
- **inventory**: dead stock ties up its value at cost; a product at stock-out risk stands to
  lose its margin over the days the reorder takes beyond its cover;
- **marketing**: per paid channel, spend, new customers, CAC, the gross margin of the
  period's orders by the customers it acquired (first touch), ROI = that margin / spend,
  the mean predicted 12-month CLV of its new customers, CLV:CAC and the payback in months
  (CAC / (CLV / 12)); a channel whose CLV:CAC is under 1 puts its spend at stake;
- **retention**: each segment's strategy and the expected value of acting on it
  (``profiles.segments``), only advised where it is positive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select

from shopsense.bundles.candidates import promotional
from shopsense.bundles.engine import BundleAutomationEngine
from shopsense.db.models import profiles_table as PR
from shopsense.db.session import Database
from shopsense.experiments.attribution import merged_persons, purchased_lines
from shopsense.experiments.performance import check_period
from shopsense.profiles import ProfileEngine
from shopsense.profit.acquisition import cac_by_channel, touches
from shopsense.profit.elasticity import Model, estimate_elasticities, price_advice
from shopsense.profit.inventory import inventory_report
from shopsense.profit.margins import margin_analysis
from shopsense.profit.price_history import shown_prices, weekly_panel
from shopsense.recommend.data import load_catalog
from shopsense.settings import Settings

DEFAULT_DAYS = 90
TOP = 20  # rows per table in the report
RECENT_WEEKS = 8  # weeks whose mean units are a product's current demand


class ProfitOptimizationEngine:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def report(
        self, start: datetime | None, end: datetime | None, *, now: datetime
    ) -> dict[str, Any]:
        end = end or now
        start = start or end - timedelta(days=DEFAULT_DAYS)
        check_period(start, end)
        with self.db.read() as conn:
            margins = {
                by: margin_analysis(conn, start, end, by=[by]).to_dict()
                for by in ("category", "brand", "channel", "segment", "period")
            }
            totals = margin_analysis(conn, start, end, by=[]).totals
            products = load_catalog(conn).rename({"item_id": "item"})
            lines = purchased_lines(conn, start, end, merged_persons(conn)).rename(
                {"product_id": "item", "at": "placed_at", "order_id": "basket"}
            )
            shown = shown_prices(conn, start, end)
            people = touches(conn, end)
            channels = cac_by_channel(conn, start, end, people)
            clv = pl.DataFrame(
                conn.execute(select(PR.c.user_id, PR.c.predicted_clv_12m)).all(),
                schema={"person": pl.String, "clv": pl.Float64},
                orient="row",
            )
        pricing = self._pricing(shown, lines, products)
        inventory = inventory_report(
            products.select("item", "stock", "price", "cost", "active"),
            lines.select("basket", "item", "placed_at", "quantity"),
            end,
            lead_time_days=self.settings.reorder_lead_days,
        )
        marketing = _marketing(channels, lines, people, clv, start, end)
        retention = ProfileEngine(self.db, self.settings).segments()
        report = {
            "from": start,
            "to": end,
            "revenue": {
                **totals,
                "buyers": lines["person"].drop_nulls().n_unique(),
                "revenue_per_user": _per(
                    totals["net_revenue"], lines["person"].drop_nulls().n_unique()
                ),
            },  # fmt: skip
            "margins": {k: v["rows"][:TOP] for k, v in margins.items()},
            "pricing": pricing,
            "inventory": {**inventory.to_dict(TOP), "clearing_bundles": self._clearing(end)},
            "marketing": marketing,
            "retention": retention["segments"],
        }
        report["opportunities"] = _opportunities(
            report, inventory.products, products, self.settings
        )
        return report

    def _clearing(self, as_of: datetime) -> list[dict[str, Any]]:
        """The promotional bundles that would clear the slow movers (bundle engine's own
        candidates; nothing is offered or stored)."""
        bundles = BundleAutomationEngine(self.db, self.settings)
        data = bundles.served().data
        pressure = bundles.signals(data, as_of).pressure
        found = promotional(data, [], set(), 2, pressure)
        ids = data.catalog.ids
        return [
            {"slow_item": ids[b.items[0]], "partner": ids[b.items[1]], "reason": b.reason}
            for b in sorted(found, key=lambda b: -b.strength)[:TOP]
        ]

    def _pricing(
        self, shown: pl.DataFrame, lines: pl.DataFrame, products: pl.DataFrame
    ) -> dict[str, Any]:
        weekly = weekly_panel(
            shown,
            lines.rename({"item": "product_id"}),
            products.rename({"item": "product_id"}),
        )
        # Weeks without a sale are seen only where views carry the price shown: then the
        # Poisson fit uses them; an order history alone (an import) gets the log fit.
        model: Model = "poisson" if shown.height else "log"
        if model == "log":
            weekly = weekly.filter(pl.col("quantity") > 0)
        if weekly.is_empty():
            return {"products": 0, "confident": 0, "model": model, "advice": []}
        estimates = estimate_elasticities(weekly, season="month", model=model)
        recent = weekly.filter(
            pl.col("period") >= pl.col("period").max() - pl.duration(weeks=RECENT_WEEKS)
        )
        current = (
            recent.group_by("product_id")
            .agg((pl.col("quantity").sum() / RECENT_WEEKS).alias("quantity"))
            .join(products.select(pl.col("item").alias("product_id"), "price", "cost"),
                  on="product_id")
            .filter(pl.col("price") > 0)
        )  # fmt: skip
        advice = price_advice(
            estimates,
            current,
            max_move=self.settings.price_max_move,
            max_elasticity=self.settings.price_max_elasticity,
        )
        moves = advice.filter(pl.col("action") != "hold").sort(
            "expected_profit_change", descending=True
        )
        return {
            "products": estimates.height,
            "model": model,
            "confident": int(estimates["confident"].sum()),
            "elasticity_quartiles": _quartiles(estimates.filter("confident")["elasticity"]),
            "advice": moves.head(TOP).to_dicts(),
        }


def _marketing(
    channels: list[dict[str, Any]],
    lines: pl.DataFrame,
    people: pl.DataFrame,
    clv: pl.DataFrame,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Per channel: the gross margin of the period's orders by the customers it acquired
    (first touch), ROI, mean predicted CLV of its new customers, CLV:CAC and payback."""
    by_person = lines.group_by("person").agg((pl.col("paid") - pl.col("cost")).sum().alias("m"))
    margin_by_source = dict(
        by_person.join(people.select("person", "first_source"), on="person")
        .group_by("first_source")
        .agg(pl.col("m").sum())
        .iter_rows()
    )
    new = people.filter(
        pl.col("is_user") & (pl.col("first_seen") >= start) & (pl.col("first_seen") < end)
    )
    clv_by_source = dict(
        new.join(clv.drop_nulls("clv"), on="person")
        .group_by("first_source")
        .agg(pl.col("clv").mean())
        .iter_rows()
    )
    out = []
    for row in channels:
        mean_clv = clv_by_source.get(row["channel"])
        cac = row["cac"]
        margin = float(margin_by_source.get(row["channel"], 0.0))
        out.append(
            {
                **row,
                "gross_margin": round(margin, 2),
                "roi": round(margin / row["spend"], 4) if row["spend"] else None,
                "mean_clv": None if mean_clv is None else round(mean_clv, 2),
                "clv_cac": round(mean_clv / cac, 3) if mean_clv is not None and cac else None,
                "payback_months": round(cac / (mean_clv / 12), 1) if cac and mean_clv else None,
            }
        )
    ranked = sorted(
        (r for r in out if r["clv_cac"] is not None), key=lambda r: r["clv_cac"], reverse=True
    )
    if len(ranked) >= 2:
        best, worst = ranked[0], ranked[-1]
        for r in out:
            r["budget_advice"] = (
                "shift budget here" if r is best else
                f"shift budget to {best['channel']}" if r is worst else None
            )  # fmt: skip
    return out


def _opportunities(
    report: dict[str, Any], inventory: pl.DataFrame, prices: pl.DataFrame, settings: Settings
) -> list[dict[str, Any]]:
    """Every finding with money at stake, largest first: pricing moves (weekly profit change
    x 52), dead stock (its value at cost), stock-out risk (margin lost over the days the
    reorder takes beyond the cover), channels with CLV:CAC under 1 (their spend) and
    retention actions worth taking (their expected value)."""
    found: list[dict[str, Any]] = []

    def add(kind: str, title: str, money: float, evidence: str) -> None:
        found.append(
            {"kind": kind, "title": title, "money_at_stake": round(money, 2), "evidence": evidence}
        )

    for a in report["pricing"]["advice"]:
        low, high = a["elasticity_ci"]
        add(
            "pricing",
            f"{a['action']} {a['product_id']} to {a['recommended_price']}",
            52 * float(a["expected_profit_change"]),
            f"elasticity {a['elasticity']:.2f} [{low:.2f}, {high:.2f}]; {a['reason']}",
        )
    window = report["inventory"]["totals"]["window_days"]
    for r in inventory.filter("dead").sort("stock_value", descending=True).head(TOP).to_dicts():
        add(
            "inventory",
            f"clear dead stock {r['item']}",
            float(r["stock_value"]),
            f"{r['stock']} in stock, nothing sold in {window} days",
        )
    margin = dict(zip(prices["item"], (prices["price"] - prices["cost"]).to_list(), strict=True))
    lead = settings.reorder_lead_days
    for r in inventory.filter("stock_out_risk").to_dicts():
        short = max(0.0, lead - float(r["days_of_cover"]))
        add(
            "inventory",
            f"reorder {r['item']}",
            short * float(r["velocity"]) * float(margin.get(r["item"]) or 0.0),
            f"{r['days_of_cover']:.1f} days of cover; a reorder takes {lead:g}",
        )
    for c in report["marketing"]:
        if c["clv_cac"] is not None and c["clv_cac"] < 1:
            add(
                "marketing",
                f"cut or fix {c['channel']} spend",
                float(c["spend"]),
                f"CAC {c['cac']}, mean CLV {c['mean_clv']}: CLV:CAC {c['clv_cac']}",
            )
    for seg in report["retention"]:
        if seg["expected_value"] > 0 and seg["users"] > 0:
            add(
                "retention",
                f"{seg['strategy']} ({seg['segment']}, {seg['users']} users)",
                float(seg["expected_value"]),
                f"value at stake {seg['value_at_stake']}; expected value of acting "
                f"{seg['expected_value']}",
            )
    return sorted(found, key=lambda o: -abs(o["money_at_stake"]))[: 3 * TOP]


def _quartiles(values: pl.Series) -> dict[str, float] | None:
    if values.is_empty():
        return None
    return {
        f"p{q}": round(float(values.quantile(q / 100, interpolation="linear") or 0.0), 3)
        for q in (10, 25, 50, 75, 90)
    }


def _per(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None


__all__ = ["ProfitOptimizationEngine"]

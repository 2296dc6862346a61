"""Recommendation performance: the attributed figures grouped by strategy, context, position,
experiment and variant (``GET /analytics/recommendation-performance``).

Per group (definitions in docs/metrics.md):

    impressions      views of the group's lists (by position: views of lists holding one)
    clicks           recommendation_click events
    ctr              clicks / impressions
    add_to_carts     add-to-carts credited (click or view window)
    conversions      purchased lines credited; orders: distinct orders among them
    conversion_rate  conversions / impressions
    click_conversion_rate  conversions credited through a click / clicks
    revenue, margin  of the credited lines; revenue_per_impression = revenue / impressions
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.experiments.attribution import CLICK_WINDOW, VIEW_WINDOW, Attribution, attribute

DIMENSIONS = ("strategy", "context", "position", "experiment", "variant")
DEFAULT_DAYS = 30


def parse_group_by(value: str | None) -> list[str]:
    """``group_by`` as a list of dimensions (comma-separated; default strategy)."""
    if value is None or not value.strip():
        return ["strategy"]
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(
            f"group_by: unknown dimension {unknown[0]!r}; known: {', '.join(DIMENSIONS)}",
            errors=[{"loc": ["query", "group_by"], "msg": f"unknown dimension {unknown[0]!r}"}],
        )
    return list(dict.fromkeys(chosen))


def check_period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise ValidationFailed(
            "from must be before to",
            errors=[{"loc": ["query", "from"], "msg": "must be before to"}],
        )


def recommendation_performance(
    db: Database,
    start: datetime | None,
    end: datetime | None,
    group_by: list[str],
    *,
    now: datetime,
) -> dict[str, Any]:
    """The contract's answer for recommendations shown in [start, end) (default: the last
    30 days up to ``now``)."""
    end = end or now
    start = start or end - timedelta(days=DEFAULT_DAYS)
    check_period(start, end)
    with db.read() as conn:
        found = attribute(conn, start, end)
    return {
        "from": start,
        "to": end,
        "group_by": group_by,
        "impressions_source": found.impressions_source,
        "click_window_days": CLICK_WINDOW.days,
        "view_window_days": VIEW_WINDOW.days,
        "totals": _rows(found, [])[0],
        "groups": _rows(found, group_by),
    }


def _rows(found: Attribution, group_by: list[str]) -> list[dict[str, Any]]:
    answers = found.answers.select("recommendation_id", *(d for d in DIMENSIONS if d != "position"))
    keys = list(group_by)

    def tagged(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(answers, on="recommendation_id", how="inner")

    views = tagged(found.impressions)
    if "position" not in keys:  # a list view counts once, whatever its length
        views = views.unique(subset=["recommendation_id", "person", "at"])
    clicks = tagged(found.clicks)
    credited = tagged(found.credited)
    parts = [
        _count(views, keys, pl.len().alias("impressions")),
        _count(clicks, keys, pl.len().alias("clicks")),
        _count(
            credited,
            keys,
            (pl.col("kind") == "cart").sum().alias("add_to_carts"),
            (pl.col("kind") == "purchase").sum().alias("conversions"),
            ((pl.col("kind") == "purchase") & (pl.col("via") == "click"))
            .sum()
            .alias("click_conversions"),
            pl.col("order_id").filter(pl.col("kind") == "purchase").n_unique().alias("orders"),
            pl.col("revenue").filter(pl.col("kind") == "purchase").sum().alias("revenue"),
            pl.col("margin").filter(pl.col("kind") == "purchase").sum().alias("margin"),
        ),
    ]
    if keys:
        table = parts[0]
        for part in parts[1:]:
            table = table.join(part, on=keys, how="full", coalesce=True)
    else:
        table = pl.concat(parts, how="horizontal")
    counts = ["impressions", "clicks", "add_to_carts", "conversions", "click_conversions", "orders"]
    table = table.with_columns(
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts),
        *(pl.col(c).fill_null(0.0) for c in ("revenue", "margin")),
    ).with_columns(
        _rate("clicks", "impressions").alias("ctr"),
        _rate("conversions", "impressions").alias("conversion_rate"),
        _rate("click_conversions", "clicks").alias("click_conversion_rate"),
        _rate("revenue", "impressions").alias("revenue_per_impression"),
        pl.col("revenue").round(2),
        pl.col("margin").round(2),
    )
    if keys:
        table = table.sort(keys, nulls_last=True)
    return table.to_dicts()


def _count(frame: pl.DataFrame, keys: list[str], *aggs: pl.Expr) -> pl.DataFrame:
    if keys:
        return frame.group_by(keys).agg(*aggs)
    return frame.select(*aggs)


def _rate(numerator: str, denominator: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
        .round(6)
    )


__all__ = ["DIMENSIONS", "check_period", "parse_group_by", "recommendation_performance"]

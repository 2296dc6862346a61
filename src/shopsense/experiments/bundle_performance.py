"""Bundle performance (``GET /analytics/bundle-performance``), by type and by bundle.

Definitions (docs/metrics.md, "Bundle attribution"):

- an **offer** is a stored ``bundle_recommendation`` row; its products are the offer's, or,
  for bundles a shop shows on its own, the ``properties.products`` of its events;
- **views**, **clicks**, **add-to-carts** are ``bundle_view``, ``bundle_click`` and
  ``bundle_add_to_cart`` events carrying the ``bundle_id``;
- a bundle is **purchased** by a person when they buy every one of its products within
  the click window (7 days unless set) after their first touch of it (the offer to them, a
  view, click or add-to-cart); its **value** is what those lines cost them, its **discount
  given** the catalog value of the lines minus what was paid, its **margin** the value minus
  the costs;
- **conversion rate** = purchases / views (/ offers when a shop sends no views);
- **discount effectiveness**: the take rate (purchases / offers) against the base rate the
  pricing expected for the same items bought separately at list price (mean stored
  ``base_rate``): ``uplift = take_rate / base_rate − 1``, and the margin earned per offer
  against the margin per offer those separate purchases would have made (base rate × margin
  at list).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, select

from shopsense.db.models import activity_table as A
from shopsense.db.models import bundle_recommendation_table as B
from shopsense.db.session import Database
from shopsense.experiments.attribution import (
    DEFAULT_WINDOWS,
    Windows,
    merged_persons,
    person_key,
    purchased_lines,
)
from shopsense.experiments.performance import DEFAULT_DAYS, check_period

EVENT_KINDS = {
    "bundle_view": "views",
    "bundle_click": "clicks",
    "bundle_add_to_cart": "add_to_carts",
}


def bundle_performance(
    db: Database,
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
    windows: Windows = DEFAULT_WINDOWS,
) -> dict[str, Any]:
    """Bundles offered or shown in [start, end) and what they earned."""
    end = end or now
    start = start or end - timedelta(days=DEFAULT_DAYS)
    check_period(start, end)
    with db.read() as conn:
        persons = merged_persons(conn)
        offers = _offers(conn, start, end, persons)
        events = _events(conn, start, end, persons)
        products = _bundle_products(offers, events)
        touches = pl.concat(
            [
                offers.filter(pl.col("person").is_not_null()).select("bundle_id", "person", "at"),
                events.select("bundle_id", "person", "at"),
            ]
        )
        first = touches.group_by("bundle_id", "person").agg(pl.col("at").min())
        wanted = first.join(products, on="bundle_id").explode("product_id")
        people = wanted["person"].unique().to_list()
        lines = _lines(conn, people, start, end + windows.click, persons)
    purchases = _purchases(wanted, lines, windows.click)
    per_bundle = _per_bundle(offers, events, purchases, products)
    return {
        "from": start,
        "to": end,
        "window_days": windows.click / timedelta(days=1),
        "totals": _summary(per_bundle, []),
        "by_type": _summary(per_bundle, ["type"]),
        "by_bundle": per_bundle.sort(["purchases", "bundle_id"], descending=[True, False])
        .head(100)
        .to_dicts(),
    }


def _offers(
    conn: Connection, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    rows = conn.execute(
        select(
            B.c.bundle_id, B.c.type, B.c.products, B.c.list_price, B.c.bundle_price,
            B.c.expected_margin, B.c.base_rate, B.c.user_id, B.c.anonymous_id, B.c.created_at,
        ).where(and_(B.c.created_at >= start, B.c.created_at < end))
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [
            (r[0], r[1], [str(p["product_id"]) for p in r[2]], float(r[3]), float(r[4]),
             float(r[5]), float(r[6]), r[7], r[8], r[9])
            for r in rows
        ],
        schema={
            "bundle_id": pl.String, "type": pl.String, "product_id": pl.List(pl.String),
            "list_price": pl.Float64, "bundle_price": pl.Float64, "expected_margin": pl.Float64,
            "base_rate": pl.Float64, "user_id": pl.String, "anonymous_id": pl.String,
            "at": pl.Datetime("us"),
        },
        orient="row",
    )  # fmt: skip
    return frame.with_columns(person_key(persons)).drop("user_id", "anonymous_id")


def _events(
    conn: Connection, start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    rows = conn.execute(
        select(
            A.c.type, A.c.bundle_id, A.c.user_id, A.c.anonymous_id, A.c.timestamp,
            A.c.properties,
        ).where(
            and_(
                A.c.type.in_(list(EVENT_KINDS)), A.c.bundle_id.is_not(None),
                A.c.is_bot.is_(False), A.c.timestamp >= start, A.c.timestamp < end,
            )
        )
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [(EVENT_KINDS[r[0]], r[1], r[2], r[3], r[4], _products(r[5])) for r in rows],
        schema={
            "kind": pl.String, "bundle_id": pl.String, "user_id": pl.String,
            "anonymous_id": pl.String, "at": pl.Datetime("us"),
            "product_id": pl.List(pl.String),
        },
        orient="row",
    )  # fmt: skip
    return frame.with_columns(person_key(persons)).drop("user_id", "anonymous_id")


def _products(properties: Any) -> list[str] | None:
    listed = (properties or {}).get("products") if isinstance(properties, dict) else None
    if not isinstance(listed, list):
        return None
    ids = [str(p.get("product_id") if isinstance(p, dict) else p) for p in listed]
    return [i for i in ids if i and i != "None"] or None


def _bundle_products(offers: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """bundle_id -> its products and type (the offer's; else the events' latest list)."""
    offered = offers.select("bundle_id", "product_id", "type")
    shown = (
        events.filter(pl.col("product_id").is_not_null())
        .sort("at")
        .group_by("bundle_id")
        .agg(pl.col("product_id").last())
        .join(offered.select("bundle_id"), on="bundle_id", how="anti")
        .with_columns(pl.lit("unknown").alias("type"))
    )
    return pl.concat([offered, shown.select("bundle_id", "product_id", "type")])


def _lines(
    conn: Connection, people: list[str], start: datetime, end: datetime, persons: dict[str, str]
) -> pl.DataFrame:
    return (
        purchased_lines(conn, start, end, persons)
        .rename({"at": "placed_at"})
        .filter(pl.col("person").is_in(people))
    )


def _purchases(wanted: pl.DataFrame, lines: pl.DataFrame, window: timedelta) -> pl.DataFrame:
    """(bundle_id, person) pairs that bought every product within the window after their
    first touch, with the value, catalog value and cost of the first such line of each."""
    size = wanted.group_by("bundle_id").agg(pl.col("product_id").n_unique().alias("size"))
    bought = (
        wanted.join(lines, on=["person", "product_id"])
        .filter(
            (pl.col("placed_at") >= pl.col("at")) & (pl.col("placed_at") < pl.col("at") + window)
        )
        .sort("placed_at")
        .unique(subset=["bundle_id", "person", "product_id"], keep="first")
    )
    return (
        bought.group_by("bundle_id", "person")
        .agg(
            pl.col("product_id").n_unique().alias("bought"),
            pl.col("paid").sum(),
            pl.col("list_value").sum(),
            pl.col("cost").sum(),
        )
        .join(size, on="bundle_id")
        .filter(pl.col("bought") >= pl.col("size"))
    )


def _per_bundle(
    offers: pl.DataFrame, events: pl.DataFrame, purchases: pl.DataFrame, products: pl.DataFrame
) -> pl.DataFrame:
    offered = offers.group_by("bundle_id").agg(
        pl.len().alias("offers"),
        pl.col("base_rate").mean(),
        (pl.col("list_price") - pl.col("bundle_price")).mean().alias("offered_discount"),
        pl.col("expected_margin").mean(),
        pl.col("list_price").mean(),
    )
    seen = events.group_by("bundle_id").agg(
        *((pl.col("kind") == kind).sum().alias(kind) for kind in EVENT_KINDS.values())
    )
    bought = purchases.group_by("bundle_id").agg(
        pl.len().alias("purchases"),
        pl.col("paid").sum().alias("revenue"),
        (pl.col("list_value") - pl.col("paid")).clip(lower_bound=0).sum().alias("discount_given"),
        (pl.col("paid") - pl.col("cost")).sum().alias("margin_earned"),
    )
    counts = ["offers", "views", "clicks", "add_to_carts", "purchases"]
    table = (
        products.select("bundle_id", "type", pl.col("product_id").alias("products"))
        .join(offered, on="bundle_id", how="left")
        .join(seen, on="bundle_id", how="left")
        .join(bought, on="bundle_id", how="left")
        .with_columns(
            *(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts),
            *(pl.col(c).fill_null(0.0) for c in ("revenue", "discount_given", "margin_earned")),
        )
    )
    return table.filter((pl.col("offers") > 0) | (pl.col("views") > 0) | (pl.col("clicks") > 0))


def _summary(per_bundle: pl.DataFrame, keys: list[str]) -> Any:
    # Separate-purchase margin the offers expected: base rate x margin at list price.
    at_list = pl.col("base_rate") * (pl.col("expected_margin") + pl.col("offered_discount"))
    aggs = [
        pl.len().alias("bundles"),
        pl.col("offers").sum(),
        pl.col("views").sum(),
        pl.col("clicks").sum(),
        pl.col("add_to_carts").sum(),
        pl.col("purchases").sum(),
        pl.col("revenue").sum(),
        pl.col("discount_given").sum(),
        pl.col("margin_earned").sum(),
        (pl.col("base_rate") * pl.col("offers")).sum().alias("_expected_takes"),
        (at_list * pl.col("offers")).sum().alias("_expected_margin"),
        pl.col("purchases").filter(pl.col("offers") > 0).sum().alias("_offered_purchases"),
        pl.col("margin_earned").filter(pl.col("offers") > 0).sum().alias("_offered_margin"),
    ]
    table = per_bundle.group_by(keys).agg(aggs) if keys else per_bundle.select(aggs)
    offers = pl.col("offers")
    table = table.with_columns(
        _ratio(
            pl.col("purchases"), pl.when(pl.col("views") > 0).then("views").otherwise(offers)
        ).alias("conversion_rate"),
        _ratio(pl.col("revenue"), pl.col("purchases")).alias("average_bundle_value"),
        _ratio(pl.col("_offered_purchases"), offers).alias("take_rate"),
        _ratio(pl.col("_expected_takes"), offers).alias("base_rate"),
        _ratio(pl.col("_offered_margin"), offers).alias("margin_per_offer"),
        _ratio(pl.col("_expected_margin"), offers).alias("separate_margin_per_offer"),
    ).with_columns(
        (_ratio(pl.col("take_rate"), pl.col("base_rate")) - 1).round(4).alias("uplift"),
        *(pl.col(c).round(2) for c in ("revenue", "discount_given", "margin_earned")),
    )
    table = table.drop(
        "_expected_takes", "_expected_margin", "_offered_purchases", "_offered_margin"
    )
    rows = table.sort(keys).to_dicts() if keys else table.to_dicts()
    return rows if keys else rows[0]


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None).round(6)


__all__ = ["bundle_performance"]

"""The weekly (price, units) panel that own-price elasticities are fitted on.

A product's price in a week is the price shoppers were shown: the mean ``price`` of its
``product_view`` events that week — the shop's own price history, which also covers the
weeks without a sale — or, for a week without a priced view, what its order lines paid
(revenue / units). Units are the week's ordered quantities, 0 for a week it was viewed but
not sold: the Poisson fit (``elasticity.estimate_elasticities(model="poisson")``) needs
exactly those weeks, when the price kept buyers away. Weeks start on Monday.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection, and_, func, select

from shopsense.db.models import activity_table as A

PANEL_SCHEMA = {
    "product_id": pl.String,
    "category": pl.String,
    "period": pl.Date,
    "price": pl.Float64,
    "quantity": pl.Float64,
    "cost": pl.Float64,
}


def shown_prices(conn: Connection, start: datetime, end: datetime) -> pl.DataFrame:
    """Per product and week of [start, end): the mean price its product views showed.
    Summed per product and day in SQL (one grouped scan), to weeks here."""
    day = func.date(A.c.timestamp)
    rows = conn.execute(
        select(A.c.product_id, day, func.sum(A.c.price), func.count())
        .where(
            and_(
                A.c.type == "product_view",
                A.c.product_id.is_not(None),
                A.c.price > 0,
                A.c.timestamp >= start,
                A.c.timestamp < end,
            )
        )
        .group_by(A.c.product_id, day)
    ).all()
    frame = pl.DataFrame(
        [(r[0], str(r[1])[:10], float(r[2]), int(r[3])) for r in rows],
        schema={"product_id": pl.String, "day": pl.String, "total": pl.Float64, "views": pl.Int64},
        orient="row",
    )
    return (
        frame.with_columns(pl.col("day").str.to_date().dt.truncate("1w").alias("period"))
        .group_by("product_id", "period")
        .agg((pl.col("total").sum() / pl.col("views").sum()).alias("shown_price"))
    )


def weekly_panel(shown: pl.DataFrame, lines: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """One row per product and week it was shown or sold (``PANEL_SCHEMA``).

    ``lines``: order lines with ``product_id``, ``placed_at``, ``quantity`` and ``paid``;
    ``products``: ``product_id``, ``category``, ``cost``.
    """
    sold = (
        lines.with_columns(pl.col("placed_at").dt.truncate("1w").dt.date().alias("period"))
        .group_by("product_id", "period")
        .agg(pl.col("quantity").sum().cast(pl.Float64), pl.col("paid").sum())
    )
    return (
        shown.join(sold, on=["product_id", "period"], how="full", coalesce=True)
        .with_columns(
            pl.coalesce(
                "shown_price",
                pl.when(pl.col("quantity") > 0).then(pl.col("paid") / pl.col("quantity")),
            ).alias("price"),
            pl.col("quantity").fill_null(0.0),
        )
        .filter(pl.col("price") > 0)
        .join(products.select("product_id", "category", "cost"), on="product_id", how="left")
        .select(list(PANEL_SCHEMA))
        .cast(PANEL_SCHEMA)  # type: ignore[arg-type]
        .sort("product_id", "period")
    )

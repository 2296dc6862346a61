"""Whether offered bundles were taken, for the discount response the pricing fits.

An offer counts as taken when the user it was offered to bought every one of its products
between the offer and ``TAKE_WINDOW`` after it (whatever the path: the bundle or the items
one by one, since both answer the price). Offers to anonymous shoppers are left out: their
later orders cannot be joined reliably."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Connection, and_, select

from shopsense.db.models import bundle_recommendation_table as B
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O

TAKE_WINDOW = timedelta(days=7)
HISTORY = timedelta(days=180)  # offers looked back on


def offer_outcomes(conn: Connection, as_of: datetime) -> pl.DataFrame:
    """One row per offer to a known user in the last HISTORY before ``as_of`` - TAKE_WINDOW
    (so every outcome is complete): bundle_id, discount (fraction), base_rate, taken (0/1)."""
    end = as_of - TAKE_WINDOW
    offers = conn.execute(
        select(B.c.bundle_id, B.c.user_id, B.c.created_at, B.c.products, B.c.discount_pct,
               B.c.base_rate)
        .where(and_(B.c.user_id.is_not(None), B.c.created_at >= end - HISTORY,
                    B.c.created_at < end))
    ).all()  # fmt: skip
    schema = {"bundle_id": pl.String, "discount": pl.Float64, "base_rate": pl.Float64,
              "taken": pl.Int64}  # fmt: skip
    if not offers:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(
        {
            "bundle_id": [o.bundle_id for o in offers],
            "user_id": [o.user_id for o in offers],
            "created_at": [o.created_at for o in offers],
            "item": [[p["product_id"] for p in o.products] for o in offers],
            "discount": [float(o.discount_pct) / 100 for o in offers],
            "base_rate": [float(o.base_rate) for o in offers],
        }
    )
    users = frame["user_id"].unique().to_list()
    bought = conn.execute(
        select(O.c.user_id, OI.c.product_id, O.c.placed_at)
        .join(O, O.c.order_id == OI.c.order_id)
        .where(and_(O.c.user_id.in_(users), O.c.status != "cancelled",
                    O.c.placed_at >= end - HISTORY, O.c.placed_at < as_of))
    ).all()  # fmt: skip
    lines = pl.DataFrame(
        [tuple(r) for r in bought],
        schema={"user_id": pl.String, "item": pl.String, "placed_at": pl.Datetime("us")},
        orient="row",
    )
    wanted = frame.with_columns(pl.col("item").list.len().alias("size")).explode("item")
    hits = (
        wanted.join(lines, on=["user_id", "item"])
        .filter(
            (pl.col("placed_at") >= pl.col("created_at"))
            & (pl.col("placed_at") < pl.col("created_at") + TAKE_WINDOW)
        )
        .group_by("bundle_id")
        .agg(pl.col("item").n_unique().alias("bought"), pl.col("size").first())
    )
    return (
        frame.join(hits, on="bundle_id", how="left")
        .with_columns(
            (pl.col("bought").fill_null(0) >= pl.col("size").fill_null(1))
            .cast(pl.Int64)
            .alias("taken")
        )
        .select(list(schema))
    )


__all__ = ["TAKE_WINDOW", "offer_outcomes"]

"""Baskets from the shop's database, one query each: order lines (what was bought together)
and session lines (what was viewed or carted together in one visit)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection, and_, select

from shopsense.db.models import activity_table as A
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O

# One row per basket line; an item may repeat in a basket (the miner counts it once).
LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "basket": pl.String,
    "item": pl.String,
    "placed_at": pl.Datetime("us"),
    "quantity": pl.Int64,
    "user_id": pl.String,
}
SESSION_TYPES = ("product_view", "add_to_cart")
SOURCES = ("orders", "sessions")


def order_lines(conn: Connection, as_of: datetime | None) -> pl.DataFrame:
    """Lines of every order placed before ``as_of`` (None: all) that was not cancelled."""
    kept = O.c.status != "cancelled"
    rows = conn.execute(
        select(O.c.order_id, OI.c.product_id, O.c.placed_at, OI.c.quantity, O.c.user_id)
        .join(O, O.c.order_id == OI.c.order_id)
        .where(kept if as_of is None else and_(kept, O.c.placed_at < as_of))
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=LINE_SCHEMA, orient="row")


def session_lines(conn: Connection, as_of: datetime) -> pl.DataFrame:
    """Products viewed or added to the cart in one session (people, not bots), before
    ``as_of``: co-interest, which tells substitutes apart from complements."""
    rows = conn.execute(
        select(A.c.session_id, A.c.product_id, A.c.timestamp, A.c.quantity, A.c.user_id).where(
            and_(
                A.c.session_id.is_not(None),
                A.c.product_id.is_not(None),
                A.c.is_bot.is_(False),
                A.c.type.in_(SESSION_TYPES),
                A.c.timestamp < as_of,
            )
        )
    ).all()
    frame = pl.DataFrame([tuple(r) for r in rows], schema=LINE_SCHEMA, orient="row")
    return frame.with_columns(pl.col("quantity").fill_null(1))


def lines(conn: Connection, source: str, as_of: datetime) -> pl.DataFrame:
    return order_lines(conn, as_of) if source == "orders" else session_lines(conn, as_of)


__all__ = ["LINE_SCHEMA", "SOURCES", "lines", "order_lines", "session_lines"]

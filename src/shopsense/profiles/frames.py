"""Loading what profiles are computed from, as polars frames, with ``as_of`` honoured:
nothing after ``as_of`` is read. One query per table, optionally for a few users only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Select, and_, select

from shopsense.db.models import activity_table as A
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.db.models import products_table as P

EVENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.String,
    "session_id": pl.String,
    "type": pl.String,
    "timestamp": pl.Datetime("us"),
    "device_type": pl.String,
    "browser": pl.String,
    "product_id": pl.String,
    "brand": pl.String,
    "recommendation_id": pl.String,
    "time_spent": pl.Float64,
}
ORDER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "order_id": pl.String,
    "user_id": pl.String,
    "placed_at": pl.Datetime("us"),
    "revenue": pl.Float64,
    "discount": pl.Float64,
    "coupon": pl.String,
    "refunded_amount": pl.Float64,
}
LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "order_id": pl.String,
    "user_id": pl.String,
    "placed_at": pl.Datetime("us"),
    "product_id": pl.String,
    "quantity": pl.Int64,
    "price": pl.Float64,
}
PRODUCT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "product_id": pl.String,
    "category": pl.String,
    "brand": pl.String,
    "price": pl.Float64,
}


@dataclass(frozen=True)
class ProfileFrames:
    events: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame
    products: pl.DataFrame


def _frame(
    conn: Connection,
    stmt: Select[tuple[object, ...]],
    schema: dict[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    rows = conn.execute(stmt).all()
    return pl.DataFrame(rows, schema=schema, orient="row")


def load_frames(
    conn: Connection, as_of: datetime, user_ids: Sequence[str] | None = None
) -> ProfileFrames:
    """Identified, non-bot events and non-cancelled orders up to ``as_of`` (naive UTC)."""
    event_cond = and_(A.c.user_id.is_not(None), A.c.is_bot.is_(False), A.c.timestamp <= as_of)
    order_cond = and_(O.c.user_id.is_not(None), O.c.status != "cancelled", O.c.placed_at <= as_of)
    if user_ids is not None:
        event_cond = and_(event_cond, A.c.user_id.in_(user_ids))
        order_cond = and_(order_cond, O.c.user_id.in_(user_ids))
    events = _frame(
        conn,
        select(*(A.c[name] for name in EVENT_SCHEMA)).where(event_cond),
        EVENT_SCHEMA,
    )
    orders = _frame(
        conn, select(*(O.c[name] for name in ORDER_SCHEMA)).where(order_cond), ORDER_SCHEMA
    )
    lines = _frame(
        conn,
        select(
            OI.c.order_id, O.c.user_id, O.c.placed_at, OI.c.product_id, OI.c.quantity, OI.c.price
        )
        .join(O, O.c.order_id == OI.c.order_id)
        .where(order_cond),
        LINE_SCHEMA,
    )
    products = _frame(conn, select(*(P.c[name] for name in PRODUCT_SCHEMA)), PRODUCT_SCHEMA)
    return ProfileFrames(events, orders, lines, products)

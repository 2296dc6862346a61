"""Interactions from the shop's database: identified, non-bot product views (view), cart and
wishlist adds (cart) and purchased order lines (purchase, with quantity), up to ``as_of``,
plus the whole catalog. One query per table; the indexing is ``Interactions.from_events``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, literal, select, union_all

from shopsense.db.models import activity_table as A
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.db.models import products_table as P
from shopsense.recommend.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions

EVENT_KINDS = {"product_view": "view", "add_to_cart": "cart", "wishlist_add": "cart"}


def _attributes_text(attributes: dict[str, Any] | None, tags: list[str] | None) -> str | None:
    parts = [f"{k} {v}" for k, v in (attributes or {}).items()] + list(tags or [])
    return " ".join(str(p) for p in parts) or None


def load_catalog(conn: Connection) -> pl.DataFrame:
    """Every product with the columns of ``ITEM_SCHEMA`` (attributes and tags as text)."""
    rows = conn.execute(
        select(
            P.c.product_id, P.c.name, P.c.description, P.c.category, P.c.brand, P.c.price,
            P.c.cost, P.c.stock, P.c.active, P.c.attributes, P.c.tags,
        )
    ).all()  # fmt: skip
    return pl.DataFrame(
        [
            {
                "item_id": r.product_id,
                "name": r.name,
                "description": r.description,
                "category": r.category,
                "brand": r.brand,
                "price": float(r.price),
                "cost": float(r.cost),
                "stock": r.stock,
                "active": bool(r.active),
                "attributes": _attributes_text(r.attributes, r.tags),
            }
            for r in rows
        ],
        schema=ITEM_SCHEMA,
    )


def load_events(conn: Connection, as_of: datetime) -> pl.DataFrame:
    """The interaction log (``EVENT_SCHEMA``) up to ``as_of`` (naive UTC)."""
    kind = A.c.type
    views = select(
        A.c.user_id.label("user_id"),
        A.c.product_id.label("item_id"),
        kind.label("kind"),
        A.c.timestamp.label("timestamp"),
        literal(1.0).label("quantity"),
    ).where(
        and_(
            A.c.user_id.is_not(None),
            A.c.product_id.is_not(None),
            A.c.is_bot.is_(False),
            A.c.type.in_(list(EVENT_KINDS)),
            A.c.timestamp <= as_of,
        )
    )
    bought = (
        select(
            O.c.user_id.label("user_id"),
            OI.c.product_id.label("item_id"),
            literal("purchase").label("kind"),
            O.c.placed_at.label("timestamp"),
            OI.c.quantity.label("quantity"),
        )
        .join(O, O.c.order_id == OI.c.order_id)
        .where(and_(O.c.user_id.is_not(None), O.c.status != "cancelled", O.c.placed_at <= as_of))
    )
    rows = conn.execute(union_all(views, bought)).all()
    frame = pl.DataFrame([tuple(r) for r in rows], schema=EVENT_SCHEMA, orient="row")
    return frame.with_columns(pl.col("kind").replace(EVENT_KINDS))


def load_interactions(conn: Connection, as_of: datetime) -> Interactions:
    """Everything a recommender trains on, from the database, as of ``as_of``."""
    return Interactions.from_events(load_events(conn, as_of), as_of, items=load_catalog(conn))


__all__ = ["EVENT_KINDS", "load_catalog", "load_events", "load_interactions"]

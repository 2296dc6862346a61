"""Writing events and the tables derived from them, set-based and in one transaction.

The ``event_id`` unique constraint decides which events are new (``INSERT ... ON CONFLICT DO
NOTHING RETURNING``, see ``shopsense.db.bulk``), so concurrent retries of the same event
store it once and derive its orders once. Only the events this transaction inserted update the
derived tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, update

from shopsense.db.bulk import append_rows, insert_new
from shopsense.db.models import activity_table as ACTIVITY
from shopsense.db.models import identities_table as IDENTITIES
from shopsense.db.models import order_items_table as ORDER_ITEMS
from shopsense.db.models import orders_table as ORDERS
from shopsense.db.models import refund_items_table as REFUND_ITEMS
from shopsense.db.models import refunds_table as REFUNDS
from shopsense.db.models import users_table as USERS
from shopsense.db.upsert import insert
from shopsense.tracking.activity_types import IDENTIFY_TYPES

CENT = 0.005
ITEM_COLUMNS = {
    owner: (owner, "line", "product_id", "quantity", "price") for owner in ("order_id", "refund_id")
}


@dataclass(frozen=True)
class StoreResult:
    """Positions (in the rows given) of the events stored now and of the duplicates."""

    accepted: list[int]
    duplicates: list[int]


def store_events(conn: Connection, rows: list[dict[str, Any]]) -> StoreResult:
    """Insert ``rows`` (from ``normalize``) and update identity, users, orders and refunds."""
    if not rows:
        return StoreResult([], [])
    first: dict[str, int] = {}
    duplicates: list[int] = []
    for pos, row in enumerate(rows):
        if row["event_id"] in first:
            duplicates.append(pos)
        else:
            first[row["event_id"]] = pos
    # Sorted by event_id so concurrent batches lock unique-index entries in the same order.
    unique_rows = [rows[first[eid]] for eid in sorted(first)]
    _resolve_known_identities(conn, unique_rows)

    inserted = insert_new(conn, ACTIVITY, unique_rows, "event_id")
    new_rows = [row for row in unique_rows if row["event_id"] in inserted]
    duplicates.extend(pos for eid, pos in first.items() if eid not in inserted)

    merged = _merge_identities(conn, new_rows)
    _upsert_users(conn, new_rows, merged)
    _derive_orders(conn, new_rows)
    accepted = sorted(first[row["event_id"]] for row in new_rows)
    return StoreResult(accepted, sorted(duplicates))


def _resolve_known_identities(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Events carrying only an anonymous id that was merged earlier belong to that user."""
    anonymous = {r["anonymous_id"] for r in rows if r["user_id"] is None and r["anonymous_id"]}
    if not anonymous:
        return
    known = dict(
        conn.execute(
            select(IDENTITIES.c.anonymous_id, IDENTITIES.c.user_id).where(
                IDENTITIES.c.anonymous_id.in_(anonymous)
            )
        ).all()
    )
    for row in rows:
        if row["user_id"] is None and row["anonymous_id"] in known:
            row["user_id"] = known[row["anonymous_id"]]


def _merge_identities(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Login/signup with both ids links the anonymous id (first link wins) and moves its
    history - events, orders, refunds - to the user."""
    links: dict[str, tuple[str, datetime]] = {}
    for r in sorted(rows, key=lambda r: r["timestamp"]):
        if r["type"] in IDENTIFY_TYPES and r["anonymous_id"] and r["user_id"]:
            links.setdefault(r["anonymous_id"], (r["user_id"], r["timestamp"]))
    if not links:
        return {}
    stmt = insert(conn, IDENTITIES).on_conflict_do_nothing(index_elements=["anonymous_id"])
    # Sorted, as the events are, so concurrent merges lock index entries in the same order.
    links_rows = [
        {"anonymous_id": a, "user_id": u, "merged_at": t} for a, (u, t) in sorted(links.items())
    ]
    conn.execute(stmt, links_rows)
    merged = dict(
        conn.execute(
            select(IDENTITIES.c.anonymous_id, IDENTITIES.c.user_id).where(
                IDENTITIES.c.anonymous_id.in_(links)
            )
        ).all()
    )
    for table in (ACTIVITY, ORDERS, REFUNDS):
        owner = (
            select(IDENTITIES.c.user_id)
            .where(IDENTITIES.c.anonymous_id == table.c.anonymous_id)
            .scalar_subquery()
        )
        # On user_activity, ``coalesce(user_id, NULL) IS NULL`` is ``user_id IS NULL`` that
        # SQLite cannot answer from the user_id index: it must pick the anonymous_id index,
        # not scan every anonymous event stored. (Orders and refunds have no such index.)
        unowned = (
            func.coalesce(table.c.user_id, None).is_(None)
            if table is ACTIVITY
            else table.c.user_id.is_(None)
        )
        conn.execute(
            update(table)
            .where(and_(unowned, table.c.anonymous_id.in_(merged)))
            .values(user_id=owner)
        )
    for row in rows:
        if row["user_id"] is None and row["anonymous_id"] in merged:
            row["user_id"] = merged[row["anonymous_id"]]
    return merged


def _upsert_users(conn: Connection, rows: list[dict[str, Any]], merged: dict[str, str]) -> None:
    """First/last seen per user from the new events (and from merged anonymous history)."""
    span: dict[str, list[datetime]] = {}
    signup: dict[str, tuple[datetime, str | None]] = {}
    for row in rows:
        uid = row["user_id"]
        if uid is None:
            continue
        ts = row["timestamp"]
        seen = span.get(uid)
        if seen is None:
            span[uid] = [ts, ts]
        else:
            seen[0] = min(seen[0], ts)
            seen[1] = max(seen[1], ts)
        if row["type"] == "signup":
            props = row["properties"] or {}
            channel = props.get("channel") if isinstance(props.get("channel"), str) else None
            signup[uid] = (ts, channel or row["utm_source"])
    if merged:
        # Events of a merged anonymous id that another transaction committed after the
        # merge's UPDATE still have no user (PostgreSQL reads each statement afresh).
        history = conn.execute(
            select(
                ACTIVITY.c.user_id, func.min(ACTIVITY.c.timestamp), func.max(ACTIVITY.c.timestamp)
            )
            .where(ACTIVITY.c.anonymous_id.in_(merged), ACTIVITY.c.user_id.is_not(None))
            .group_by(ACTIVITY.c.user_id)
        ).all()
        for uid, lo, hi in history:
            seen = span.setdefault(uid, [lo, hi])
            seen[0], seen[1] = min(seen[0], lo), max(seen[1], hi)
    if not span:
        return
    values = [
        {
            "user_id": uid,
            "first_seen": lo,
            "last_seen": hi,
            "signup_at": signup.get(uid, (None, None))[0],
            "signup_channel": signup.get(uid, (None, None))[1],
        }
        for uid, (lo, hi) in sorted(span.items())
    ]
    stmt = insert(conn, USERS)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={
            "first_seen": case(
                (ex.first_seen < USERS.c.first_seen, ex.first_seen), else_=USERS.c.first_seen
            ),
            "last_seen": case(
                (ex.last_seen > USERS.c.last_seen, ex.last_seen), else_=USERS.c.last_seen
            ),
            "signup_at": func.coalesce(USERS.c.signup_at, ex.signup_at),
            "signup_channel": func.coalesce(USERS.c.signup_channel, ex.signup_channel),
        },
    )
    conn.execute(stmt, values)


def _line_total(items: list[dict[str, Any]] | None) -> float:
    return sum(float(i["quantity"] * i["price"]) for i in items or ())


def _derive_orders(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Purchases become orders with items; refunds and cancellations adjust them."""
    purchases = [r for r in rows if r["type"] == "purchase"]
    refunds = [r for r in rows if r["type"] == "order_refunded"]
    cancels = [r for r in rows if r["type"] == "order_cancelled"]
    touched: set[str] = set()
    if purchases:
        by_order: dict[str, dict[str, Any]] = {}
        for r in purchases:
            by_order.setdefault(r["order_id"], r)  # one order per order_id: the first wins
        order_rows = [
            {
                "order_id": oid,
                "event_id": r["event_id"],
                "user_id": r["user_id"],
                "anonymous_id": r["anonymous_id"],
                "session_id": r["session_id"],
                "placed_at": r["timestamp"],
                "status": "placed",
                "revenue": r["revenue"]
                if r["revenue"] is not None
                else max(_line_total(r["items"]) - (r["discount"] or 0.0), 0.0),
                "discount": r["discount"] or 0.0,
                "coupon": r["coupon"],
                "refunded_amount": 0.0,
                "utm_source": r["utm_source"],
                "utm_medium": r["utm_medium"],
            }
            for oid, r in sorted(by_order.items())
        ]
        created = insert_new(conn, ORDERS, order_rows, "order_id")
        append_rows(
            conn,
            ORDER_ITEMS,
            ITEM_COLUMNS["order_id"],
            (
                (oid, line, item["product_id"], item["quantity"], item["price"])
                for oid in sorted(created)
                for line, item in enumerate(by_order[oid]["items"] or ())
            ),
        )
        touched |= created
    if refunds:
        _store_refunds(conn, refunds)
        touched |= {r["order_id"] for r in refunds}
    if cancels:
        conn.execute(
            update(ORDERS)
            .where(ORDERS.c.order_id.in_({r["order_id"] for r in cancels}))
            .values(status="cancelled")
        )
    if touched:
        _recompute_refunded(conn, touched)


def _store_refunds(conn: Connection, refunds: list[dict[str, Any]]) -> None:
    """A refund's amount is its ``revenue``, else its items, else what is left of the order."""
    left = dict(
        conn.execute(
            select(ORDERS.c.order_id, ORDERS.c.revenue - ORDERS.c.refunded_amount).where(
                ORDERS.c.order_id.in_({r["order_id"] for r in refunds})
            )
        ).all()
    )
    pending: defaultdict[str, float] = defaultdict(float)
    refund_rows = []
    for r in refunds:
        if r["revenue"] is not None:
            amount = float(r["revenue"])
        elif r["items"]:
            amount = _line_total(r["items"])
        elif r["order_id"] in left:
            amount = max(float(left[r["order_id"]]) - pending[r["order_id"]], 0.0)
        else:
            amount = None  # the rest of an order not seen yet: settled when it arrives
        pending[r["order_id"]] += amount or 0.0
        refund_rows.append(
            {
                "refund_id": r["event_id"],
                "order_id": r["order_id"],
                "user_id": r["user_id"],
                "anonymous_id": r["anonymous_id"],
                "refunded_at": r["timestamp"],
                "amount": amount,
            }
        )
    conn.execute(REFUNDS.insert(), refund_rows)
    append_rows(
        conn,
        REFUND_ITEMS,
        ITEM_COLUMNS["refund_id"],
        (
            (r["event_id"], line, item["product_id"], item["quantity"], item["price"])
            for r in refunds
            for line, item in enumerate(r["items"] or ())
        ),
    )


def _recompute_refunded(conn: Connection, order_ids: set[str]) -> None:
    """Refunded amount and status follow from the refunds table, so order of arrival and
    retries do not matter. A refund without an amount refunds the whole order; the total
    never exceeds the order's revenue."""
    mine = REFUNDS.c.order_id == ORDERS.c.order_id
    summed = select(func.coalesce(func.sum(REFUNDS.c.amount), 0.0)).where(mine).scalar_subquery()
    whole = select(func.count()).where(mine, REFUNDS.c.amount.is_(None)).scalar_subquery()
    refunded = case(
        (whole > 0, ORDERS.c.revenue),
        (summed > ORDERS.c.revenue, ORDERS.c.revenue),
        else_=summed,
    )
    conn.execute(
        update(ORDERS)
        .where(ORDERS.c.order_id.in_(order_ids))
        .values(
            refunded_amount=refunded,
            status=case(
                (ORDERS.c.status == "cancelled", "cancelled"),
                (
                    refunded >= ORDERS.c.revenue - CENT,
                    case((refunded > 0, "refunded"), else_="placed"),
                ),
                (refunded > 0, "partially_refunded"),
                else_="placed",
            ),
        )
    )

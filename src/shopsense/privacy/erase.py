"""Right to erasure: every row about a user, in every table that holds one.

Later capabilities register their tables in ``ERASABLE`` so one call keeps erasing all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Table, delete, func, or_, select

from shopsense.dashboard.rollup import clear as clear_rollup
from shopsense.db.models import (
    activity_table,
    bundle_recommendation_table,
    identities_table,
    order_items_table,
    orders_table,
    profiles_table,
    recommendation_log_table,
    refund_items_table,
    refunds_table,
    users_table,
)
from shopsense.errors import NotFound


def _by_user(table: Table, user_id: str, anonymous_ids: list[str]) -> ColumnElement[bool]:
    cond = table.c.user_id == user_id
    if "anonymous_id" in table.c and anonymous_ids:
        cond = or_(cond, table.c.anonymous_id.in_(anonymous_ids))
    return cond


# Order matters: children before their parents.
ERASABLE: list[Table] = [
    activity_table,
    refunds_table,
    orders_table,
    profiles_table,
    recommendation_log_table,
    bundle_recommendation_table,
    identities_table,
    users_table,
]
CHILDREN: dict[str, tuple[Table, str]] = {
    "orders": (order_items_table, "order_id"),
    "refunds": (refund_items_table, "refund_id"),
}


def erase_user(conn: Connection, user_id: str) -> dict[str, int]:
    """Delete the user's events, orders, refunds, profile, recommendations and bundles
    served, identities and user row, and forget the dashboard rollups built from their
    events; answer the counts."""
    known = conn.execute(
        select(func.count()).select_from(users_table).where(users_table.c.user_id == user_id)
    ).scalar_one()
    events = conn.execute(
        select(func.count()).select_from(activity_table).where(activity_table.c.user_id == user_id)
    ).scalar_one()
    if not known and not events:
        raise NotFound(f"no user {user_id!r}")
    anonymous_ids = list(
        conn.execute(
            select(identities_table.c.anonymous_id).where(identities_table.c.user_id == user_id)
        ).scalars()
    )
    counts: dict[str, int] = {}
    for table in ERASABLE:
        cond = _by_user(table, user_id, anonymous_ids)
        child = CHILDREN.get(table.name)
        if child is not None:
            child_table, key = child
            parents = select(table.c[key]).where(cond)
            result = conn.execute(delete(child_table).where(child_table.c[key].in_(parents)))
            counts[child_table.name] = int(result.rowcount)
        counts[table.name] = int(conn.execute(delete(table).where(cond)).rowcount)
    clear_rollup(conn)  # the dashboard's day rollups are rebuilt without them on next read
    return counts

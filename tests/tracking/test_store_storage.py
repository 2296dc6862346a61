"""``store_events`` writes ``user_activity`` through the driver; what it stores must be what
SQLAlchemy's own insert of the same row stores, value for value, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import String, cast, insert, select

from shopsense.db.models import activity_table
from shopsense.db.session import Database
from shopsense.tracking.normalize import validate_events
from shopsense.tracking.store import store_events

FULL_EVENT: dict[str, Any] = {
    "event_id": "full",
    "type": "purchase",
    "user_id": "U1",
    "anonymous_id": "A1",
    "session_id": "S1",
    "timestamp": "2024-04-30T23:59:58.123456+02:00",
    "sent_at": "2024-04-30T22:00:00.5Z",
    "order_id": "O1",
    "revenue": 12.5,
    "discount": 1,
    "coupon": "C",
    "items": [{"product_id": "P1", "quantity": 2, "price": 6.75}],
    "query": "mug",
    "rating": 4,
    "review_text": "fine\nmug é ✓",
    "value": -3.25,
    "recommendation_id": "R1",
    "bundle_id": "B1",
    "position": 0,
    "experiment": "exp",
    "variant": "b",
    "context": {
        "user_agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "country": "fr",
        "time_spent": 12,
        "scroll_depth": 99.5,
        "utm_source": "google",
    },
    "properties": {"é": [1, 2.5, None, True, "x"], "nested": {"a": {}}},
}
SPARSE_EVENT: dict[str, Any] = {"event_id": "sparse", "type": "page_view", "anonymous_id": "A2"}


def _rows(event: dict[str, Any]) -> list[dict[str, Any]]:
    validated = validate_events(
        [event],
        received_at=datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC),
        max_future=timedelta(seconds=300),
        max_event_bytes=32 * 1024,
    )
    assert validated.rejected == []
    return validated.rows


def _as_text(db: Database, event_id: str) -> dict[str, Any]:
    columns = [c for c in activity_table.columns if c.name not in ("id", "event_id")]
    stmt = select(*(cast(c, String).label(c.name) for c in columns)).where(
        activity_table.c.event_id == event_id
    )
    with db.read() as conn:
        return dict(conn.execute(stmt).mappings().one())


@pytest.mark.parametrize("event", [FULL_EVENT, SPARSE_EVENT], ids=["full", "sparse"])
def test_stored_values_match_sqlalchemy_inserts(db: Database, event: dict[str, Any]) -> None:
    [row] = _rows(event)
    with db.write() as conn:
        assert store_events(conn, [row]).accepted == [0]
        reference = row | {"event_id": "reference"}
        conn.execute(insert(activity_table), [reference])
    assert _as_text(db, event["event_id"]) == _as_text(db, "reference")


def test_only_new_event_ids_are_inserted(db: Database) -> None:
    rows = _rows(FULL_EVENT) + _rows(SPARSE_EVENT)
    with db.write() as conn:
        first = store_events(conn, rows[:1])
    with db.write() as conn:
        second = store_events(conn, [*rows, rows[1] | {"query": "other"}])
    assert (first.accepted, first.duplicates) == ([0], [])
    assert (second.accepted, second.duplicates) == ([1], [0, 2])
    with db.read() as conn:
        stored = conn.execute(
            select(activity_table.c.event_id, activity_table.c.query).order_by("event_id")
        ).all()
    assert [tuple(r) for r in stored] == [("full", "mug"), ("sparse", None)]


def test_numbers_of_mixed_types_in_one_column_are_stored(db: Database) -> None:
    # Rows not made by ``normalize`` (importers, the demo) may hold ints or Decimals where
    # events hold floats; a column of mixed types must store as each would on its own.
    mixed = [
        _rows(SPARSE_EVENT | {"event_id": f"m{n}", "value": 1.5})[0] | {"price": price}
        for n, price in enumerate([5, 2.25, Decimal("3.125"), None])
    ]
    with db.write() as conn:
        assert store_events(conn, mixed).accepted == [0, 1, 2, 3]
    with db.read() as conn:
        prices = conn.execute(
            select(activity_table.c.price).order_by(activity_table.c.event_id)
        ).scalars()
        assert list(prices) == [5.0, 2.25, 3.125, None]

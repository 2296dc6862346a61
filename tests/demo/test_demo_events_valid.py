"""Every generated row is exactly what the API stores for the event it stands for: the event
passes the contract's validation, and ``to_row`` (with the user agent parsed by the server)
gives the row back."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from demokit import SMALL_SPEC

from shopsense.demo import DemoStore, build_store
from shopsense.tracking.activity_types import ACTIVITY_TYPES
from shopsense.tracking.normalize import CONTEXT_COLUMNS, EVENT_COLUMNS, ROW_COLUMNS, to_row
from shopsense.tracking.schema import Event, rule_errors

PARSED = ("device_type", "browser", "os")  # left for the server to derive from user_agent
LEAD = ("ad_click", "email_click", "sms_click", "push_notification_open")  # off-site clicks


@pytest.fixture(scope="module")
def store() -> DemoStore:
    return build_store(SMALL_SPEC)


def as_event(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON a client would send for ``row``."""
    event = {k: row[k] for k in EVENT_COLUMNS if row[k] is not None}
    event["timestamp"] = row["timestamp"].replace(tzinfo=UTC).isoformat()
    if row["items"] is not None:
        event["items"] = row["items"]
    context = {k: row[k] for k in CONTEXT_COLUMNS if row[k] is not None and k not in PARSED}
    if context:
        event["context"] = context
    return json.loads(json.dumps(event))


def test_every_row_is_what_the_api_stores_for_its_event(store: DemoStore) -> None:
    assert len(store.events) > 5_000
    for row in store.events:
        assert set(row) == set(ROW_COLUMNS)
        event = Event.model_validate(as_event(row))
        assert rule_errors(event) == [], row
        received = row["received_at"].replace(tzinfo=UTC)
        assert to_row(event, received, timedelta(minutes=5), None) == row


def test_rows_fall_inside_the_history_and_types_are_known(store: DemoStore) -> None:
    start = datetime.combine(SMALL_SPEC.start, datetime.min.time())
    end = datetime.combine(SMALL_SPEC.end, datetime.min.time()) + timedelta(days=1)
    assert all(start <= r["timestamp"] < end for r in store.events)
    assert [r["timestamp"] for r in store.events] == sorted(r["timestamp"] for r in store.events)
    assert len({r["event_id"] for r in store.events}) == len(store.events)
    assert {r["type"] for r in store.events} <= set(ACTIVITY_TYPES)


def test_every_event_has_its_context(store: DemoStore) -> None:
    for row in store.events:
        assert row["user_id"] or row["anonymous_id"]
        assert row["user_agent"] and row["device_type"] and row["country"]
        if row["is_bot"]:
            assert row["device_type"] == "bot" and row["user_id"] is None
            continue
        assert row["locale"] and row["browser"] and row["os"]
        if row["session_id"] is not None and row["type"] not in LEAD:
            assert row["page_path"], row
    first_events: dict[str, dict[str, Any]] = {}
    for row in store.events:
        if row["session_id"] is not None:
            first_events.setdefault(row["session_id"], row)
    # utm tags only ever on the first event of a session
    firsts = {id(r) for r in first_events.values()}
    assert all(r["utm_source"] is None for r in store.events if id(r) not in firsts)
    assert any(
        r["utm_source"] == "google" and r["utm_medium"] == "cpc" for r in first_events.values()
    )


def test_catalog_and_spend_are_what_their_apis_accept(store: DemoStore) -> None:
    assert len(store.products) == SMALL_SPEC.products
    for product in store.products:
        assert product["product_id"].startswith("P")
        assert product["category"].count("/") == 2
        assert 0 < product["cost"] < product["price"]
        assert product["cost_estimated"] is False
    margins = [1 - p["cost"] / p["price"] for p in store.products]
    assert 0.19 <= min(margins) and max(margins) <= 0.61
    assert all(line.amount >= 0 for line in store.spend)


def test_ground_truth_is_plain_json(store: DemoStore) -> None:
    truth = json.loads(json.dumps(store.truth))
    assert truth == store.truth
    assert {
        "spec",
        "users",
        "co_purchase_groups",
        "seasonal_products",
        "slow_movers",
        "channels",
        "counts",
    } <= set(truth)
    assert len(truth["users"]) == SMALL_SPEC.users
    assert truth["counts"]["events"] == len(store.events)


def test_planted_hours_are_the_shops_local_hours() -> None:
    """With a shop timezone, peak hours hold in local time (events are still stored in UTC)."""
    tz = ZoneInfo("America/New_York")
    store = build_store(SMALL_SPEC, timezone="America/New_York")
    hours: dict[str, Counter[int]] = defaultdict(Counter)
    for row in store.events:
        if row["user_id"] is not None:
            hours[row["user_id"]][row["timestamp"].replace(tzinfo=UTC).astimezone(tz).hour] += 1
    peaks = {uid: u["peak_hour"] for uid, u in store.truth["users"].items()}
    hits = [c.most_common(1)[0][0] == peaks[uid] for uid, c in hours.items() if c.total() >= 20]
    assert len(hits) > 40
    assert sum(hits) / len(hits) > 0.7

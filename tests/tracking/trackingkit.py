"""Shared pieces of the tracking tests (imported by name: this folder is on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Table

from shopsense.tracking.activity_types import REQUIRED_FIELDS

TRACK = "/analytics/track-activity"
RECEIVED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
"""The server's clock in these tests (the ``frozen_clock`` fixture pins it)."""
RECEIVED_NAIVE = RECEIVED.replace(tzinfo=None)

Track = Callable[[Any], httpx.Response]
Rows = Callable[[Table], list[dict[str, Any]]]

FIELD_VALUES: dict[str, Any] = {
    "product_id": "P1",
    "query": "blue mug",
    "category": "Home/Kitchen",
    "brand": "Acme",
    "coupon": "SAVE10",
    "order_id": "O1",
    "recommendation_id": "R1",
    "bundle_id": "B1",
    "user_id": "U1",
}


def minimal_event(activity_type: str, event_id: str | None = None) -> dict[str, Any]:
    """The fewest fields an event of ``activity_type`` is accepted with."""
    event: dict[str, Any] = {
        "event_id": event_id or f"e-{activity_type}",
        "type": activity_type,
        "anonymous_id": "A1",
    }
    for field in REQUIRED_FIELDS.get(activity_type, ()):
        event[field] = FIELD_VALUES[field]
    if activity_type == "purchase":
        event["items"] = [{"product_id": "P1", "quantity": 1, "price": 9.5}]
    if activity_type == "review":
        event["rating"] = 4
    return event


def assert_problem(answer: httpx.Response, status: int, *locs: list[Any]) -> dict[str, Any]:
    """An RFC 9457 answer with ``status``; with ``locs``, exactly those error locations."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"].startswith("/problems/")
    if locs:
        assert [e["loc"] for e in body["errors"]] == list(locs)
        assert all(isinstance(e["msg"], str) and e["msg"] for e in body["errors"])
    return body

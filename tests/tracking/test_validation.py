"""Each validation rule of an event, and the problem+json answer naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from trackingkit import Rows, Track, assert_problem, minimal_event

from shopsense.db.models import activity_table
from shopsense.tracking.activity_types import REQUIRED_FIELDS

VIEW: dict[str, Any] = {
    "event_id": "v1",
    "type": "product_view",
    "anonymous_id": "A1",
    "product_id": "P1",
}
BUY: dict[str, Any] = {
    "event_id": "b1",
    "type": "purchase",
    "user_id": "U1",
    "order_id": "O1",
    "items": [{"product_id": "P1", "quantity": 2, "price": 10.0}],
}


def without(event: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in fields}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


INVALID: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "no user_id nor anonymous_id": (without(VIEW, "anonymous_id"), ["body", "user_id"]),
    "blank anonymous_id": (VIEW | {"anonymous_id": "   "}, ["body", "anonymous_id"]),
    "purchase without items or product_id": (without(BUY, "items"), ["body", "items"]),
    "purchase with product_id and no price": (
        without(BUY, "items") | {"product_id": "P1"},
        ["body", "price"],
    ),
    "purchase with empty items": (BUY | {"items": []}, ["body", "items"]),
    "review without text or rating": (
        {"type": "review", "anonymous_id": "A1", "product_id": "P1"},
        ["body", "review_text"],
    ),
    "rating 0": (VIEW | {"rating": 0}, ["body", "rating"]),
    "rating 6": (VIEW | {"rating": 6}, ["body", "rating"]),
    "rating 4.5": (VIEW | {"rating": 4.5}, ["body", "rating"]),
    "negative price": (VIEW | {"price": -0.01}, ["body", "price"]),
    "negative item price": (
        BUY | {"items": [{"product_id": "P1", "price": -1}]},
        ["body", "items", 0, "price"],
    ),
    "item without product_id": (
        BUY | {"items": [{"price": 1}]},
        ["body", "items", 0, "product_id"],
    ),
    "price as text": (VIEW | {"price": "cheap"}, ["body", "price"]),
    "quantity 0": (VIEW | {"quantity": 0}, ["body", "quantity"]),
    "item quantity 0": (
        BUY | {"items": [{"product_id": "P1", "quantity": 0, "price": 1}]},
        ["body", "items", 0, "quantity"],
    ),
    "items worth more than the money limit": (
        BUY | {"items": [{"product_id": "P1", "quantity": 1000, "price": 1e9}]},
        ["body", "items"],
    ),
    "one product worth more than the money limit": (
        without(BUY, "items") | {"product_id": "P1", "price": 1e9, "quantity": 2},
        ["body", "quantity"],
    ),
    "scroll_depth 101": (
        VIEW | {"context": {"scroll_depth": 101}},
        ["body", "context", "scroll_depth"],
    ),
    "negative time_spent": (
        VIEW | {"context": {"time_spent": -1}},
        ["body", "context", "time_spent"],
    ),
    "country of three letters": (
        VIEW | {"context": {"country": "DEU"}},
        ["body", "context", "country"],
    ),
    "country with a digit": (VIEW | {"context": {"country": "D1"}}, ["body", "context", "country"]),
    "unknown device_type": (
        VIEW | {"context": {"device_type": "fridge"}},
        ["body", "context", "device_type"],
    ),
    "unknown top-level field": (VIEW | {"colour": "blue"}, ["body", "colour"]),
    "unknown context field": (
        VIEW | {"context": {"colour": "blue"}},
        ["body", "context", "colour"],
    ),
    "context not an object": (VIEW | {"context": "mobile"}, ["body", "context"]),
    "properties not an object": (VIEW | {"properties": [1, 2]}, ["body", "properties"]),
    "NUL in user_id": (VIEW | {"user_id": "U\x001"}, ["body", "user_id"]),
    "NUL in a context field": (
        VIEW | {"context": {"city": "Ber\x00lin"}},
        ["body", "context", "city"],
    ),
    "NUL in a properties key": (VIEW | {"properties": {"a\x00": 1}}, ["body", "properties"]),
    "NUL in a nested properties value": (
        VIEW | {"properties": {"a": [{"b": "x\x00"}]}},
        ["body", "properties"],
    ),
    "integer beyond 64 bits in properties": (
        VIEW | {"properties": {"n": 2**64 - 1}},
        ["body", "properties"],
    ),
    "properties nested too deep": (
        VIEW | {"properties": {"a": nested(40)}},
        ["body", "properties"],
    ),
    "event_id of 101 characters": (VIEW | {"event_id": "e" * 101}, ["body", "event_id"]),
    "product_id of 256 characters": (VIEW | {"product_id": "p" * 256}, ["body", "product_id"]),
    "page_url of 2001 characters": (
        VIEW | {"context": {"page_url": "u" * 2001}},
        ["body", "context", "page_url"],
    ),
    "user_id not a string": (VIEW | {"user_id": 42}, ["body", "user_id"]),
    "timestamp not a time": (VIEW | {"timestamp": "yesterday"}, ["body", "timestamp"]),
    "timestamp 2024-02-30": (VIEW | {"timestamp": "2024-02-30T10:00:00Z"}, ["body", "timestamp"]),
    "timestamp before 1990": (VIEW | {"timestamp": "1989-12-31T23:59:59Z"}, ["body", "timestamp"]),
    "timestamp after 9000": (VIEW | {"timestamp": "9001-01-01T00:00:00Z"}, ["body", "timestamp"]),
    "timestamp with no UTC form before year 1": (
        VIEW | {"timestamp": "0001-01-01T00:00:00+01:00"},
        ["body", "timestamp"],
    ),
    "timestamp with no UTC form after 9999": (
        VIEW | {"timestamp": "9999-12-31T23:59:59-01:00"},
        ["body", "timestamp"],
    ),
    "sent_at not a time": (VIEW | {"sent_at": "now"}, ["body", "sent_at"]),
    "skew correction before 1990": (
        VIEW | {"timestamp": "1990-01-02T00:00:00Z", "sent_at": "8999-01-01T00:00:00Z"},
        ["body", "sent_at"],
    ),
    "position negative": (VIEW | {"position": -1}, ["body", "position"]),
}


@pytest.mark.parametrize(("event", "loc"), INVALID.values(), ids=INVALID.keys())
def test_an_invalid_event_is_a_problem_naming_the_field(
    event: dict[str, Any], loc: list[Any], track: Track, rows: Rows
) -> None:
    body = assert_problem(track(event), 422, loc)
    assert body["title"] == "Validation failed"
    assert ".".join(map(str, loc)) in body["detail"]
    assert rows(activity_table) == []


@pytest.mark.parametrize(
    ("activity_type", "field"),
    [(t, f) for t, fields in sorted(REQUIRED_FIELDS.items()) for f in fields],
)
def test_each_type_requires_its_fields(
    activity_type: str, field: str, track: Track, rows: Rows
) -> None:
    event = without(minimal_event(activity_type), field)
    if "user_id" not in event and "anonymous_id" not in event:
        event["anonymous_id"] = "A1"
    body = assert_problem(track(event), 422, ["body", field])
    assert activity_type in body["errors"][0]["msg"]
    assert rows(activity_table) == []


@pytest.mark.parametrize("not_an_event", [[VIEW], "product_view", 42, 1.5, True])
def test_a_body_that_is_not_an_object_is_rejected(not_an_event: Any, track: Track) -> None:
    assert_problem(track(not_an_event), 422, ["body"])


def test_every_error_of_an_event_is_listed(track: Track) -> None:
    event = VIEW | {"rating": 9, "price": -1, "context": {"scroll_depth": 101, "x": 1}}
    body = assert_problem(
        track(event),
        422,
        ["body", "price"],
        ["body", "rating"],
        ["body", "context", "scroll_depth"],
        ["body", "context", "x"],
    )
    assert [e["type"] for e in body["errors"]] == [
        "greater_than_equal",
        "less_than_equal",
        "less_than_equal",
        "extra_forbidden",
    ]


def test_the_bounds_themselves_are_accepted(track: Track, rows: Rows) -> None:
    event = VIEW | {
        "rating": 5,
        "price": 0,
        "quantity": 1,
        "timestamp": "1990-01-01T00:00:00Z",
        "context": {"scroll_depth": 100, "time_spent": 0, "country": "de"},
        "properties": {"n": 2**63 - 1, "nested": {"list": [1, "two", None, True, 2.5]}},
    }
    assert track(event).json()["accepted"] == 1
    [stored] = rows(activity_table)
    assert (stored["rating"], stored["price"], stored["quantity"]) == (5, 0.0, 1)
    assert (stored["scroll_depth"], stored["time_spent"], stored["country"]) == (100.0, 0.0, "DE")
    assert stored["properties"] == event["properties"]


def test_strings_are_stored_trimmed(track: Track, rows: Rows) -> None:
    track(VIEW | {"product_id": "  P1 ", "context": {"city": " Berlin "}})
    [stored] = rows(activity_table)
    assert (stored["product_id"], stored["city"]) == ("P1", "Berlin")

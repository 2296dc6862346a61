"""Batches keep their good events and name the bad ones; ``event_id`` makes retries safe."""

from __future__ import annotations

from typing import Any

from trackingkit import RECEIVED_NAIVE, Rows, Track

from shopsense.db.models import activity_table, order_items_table, orders_table


def view(event_id: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "page_view", "anonymous_id": "A1", **extra}


PURCHASE: dict[str, Any] = {
    "event_id": "buy-1",
    "type": "purchase",
    "user_id": "U1",
    "order_id": "O1",
    "items": [
        {"product_id": "P1", "quantity": 2, "price": 10.0},
        {"product_id": "P2", "quantity": 1, "price": 4.5},
    ],
}


def test_a_batch_with_good_bad_and_duplicate_events(track: Track, rows: Rows) -> None:
    assert track(view("stored", context={"page_path": "/first"})).json()["accepted"] == 1
    batch = [
        view("good-1", context={"page_path": "/a"}),
        view("bad-rating", rating=9),
        view("good-2"),
        view("good-1", context={"page_path": "/again"}),  # repeated within the batch
        view("stored", context={"page_path": "/second"}),  # already stored
        "not an event",
        {"type": "page_view"},  # no user_id nor anonymous_id
        view("good-3", type="Product Viewed", product_id="P9"),
    ]
    answer = track({"batch": batch})
    assert answer.status_code == 200
    result = answer.json()
    assert result["accepted"] == 3
    assert result["duplicates"] == 2
    assert [r["index"] for r in result["rejected"]] == [1, 5, 6]
    assert [[e["loc"] for e in r["errors"]] for r in result["rejected"]] == [
        [["rating"]],
        [[]],
        [["user_id"]],
    ]
    stored = {r["event_id"]: r for r in rows(activity_table)}
    assert sorted(stored) == ["good-1", "good-2", "good-3", "stored"]
    assert stored["good-1"]["page_path"] == "/a"  # the first of the repeats is kept
    assert stored["stored"]["page_path"] == "/first"  # a duplicate never overwrites
    assert stored["good-3"]["type"] == "product_view"


def test_a_batch_of_only_bad_events_is_200_with_every_index(track: Track, rows: Rows) -> None:
    answer = track({"batch": [1, view("x", rating=0), None]})
    assert answer.status_code == 200
    result = answer.json()
    assert (result["accepted"], result["duplicates"]) == (0, 0)
    assert [r["index"] for r in result["rejected"]] == [0, 1, 2]
    assert rows(activity_table) == []


def test_a_repeated_single_event_is_stored_once(track: Track, rows: Rows) -> None:
    answers = [track(view("same")).json() for _ in range(3)]
    assert answers == [
        {"accepted": 1, "duplicates": 0, "rejected": []},
        {"accepted": 0, "duplicates": 1, "rejected": []},
        {"accepted": 0, "duplicates": 1, "rejected": []},
    ]
    [stored] = rows(activity_table)
    assert stored["event_id"] == "same"
    assert stored["received_at"] == RECEIVED_NAIVE


def test_a_retried_purchase_derives_its_order_once(track: Track, rows: Rows) -> None:
    first = track({"batch": [PURCHASE, view("v1")]}).json()
    assert first == {"accepted": 2, "duplicates": 0, "rejected": []}
    for _ in range(2):
        again = track({"batch": [view("v1"), PURCHASE, view("v2")]}).json()
        assert again["duplicates"] >= 2
    assert [r["event_id"] for r in rows(activity_table)] == ["buy-1", "v1", "v2"]
    [order] = rows(orders_table)
    assert (order["order_id"], order["event_id"], order["revenue"]) == ("O1", "buy-1", 24.5)
    items = rows(order_items_table)
    assert [(i["line"], i["product_id"], i["quantity"], i["price"]) for i in items] == [
        (0, "P1", 2, 10.0),
        (1, "P2", 1, 4.5),
    ]


def test_the_same_purchase_twice_in_one_batch_is_one_order(track: Track, rows: Rows) -> None:
    result = track({"batch": [PURCHASE, PURCHASE]}).json()
    assert (result["accepted"], result["duplicates"]) == (1, 1)
    assert len(rows(orders_table)) == 1
    assert len(rows(order_items_table)) == 2


def test_events_without_event_id_get_distinct_ones(track: Track, rows: Rows) -> None:
    event = {"type": "page_view", "anonymous_id": "A1"}
    assert track({"batch": [event, event]}).json()["accepted"] == 2
    ids = [r["event_id"] for r in rows(activity_table)]
    assert len(set(ids)) == 2
    assert all(len(i) == 32 for i in ids)

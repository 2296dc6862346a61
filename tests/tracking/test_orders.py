"""Purchases, refunds and cancellations keep ``orders``, ``order_items`` and ``refunds`` in
step with the events, in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from trackingkit import Rows, Track

from shopsense.db.models import (
    activity_table,
    order_items_table,
    orders_table,
    refund_items_table,
    refunds_table,
)

ITEMS = [
    {"product_id": "P1", "quantity": 2, "price": 10.0},
    {"product_id": "P2", "quantity": 1, "price": 5.5},
]


def purchase(event_id: str = "buy", order_id: str = "O1", **fields: Any) -> dict[str, Any]:
    event = {"event_id": event_id, "type": "purchase", "user_id": "U1", "order_id": order_id}
    return event | {"items": ITEMS} | fields


def refund(event_id: str, order_id: str = "O1", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "order_refunded",
        "user_id": "U1",
        "order_id": order_id,
        **fields,
    }


def order(rows: Rows) -> dict[str, Any]:
    [only] = rows(orders_table)
    return only


def test_revenue_is_the_items_less_the_discount(track: Track, rows: Rows) -> None:
    event = purchase(
        discount=3.0,
        coupon="SAVE3",
        session_id="S1",
        anonymous_id="A1",
        context={"utm_source": "google", "utm_medium": "cpc"},
        timestamp="2024-04-01T10:00:00Z",
    )
    assert track(event).json()["accepted"] == 1
    o = order(rows)
    assert o["revenue"] == 22.5
    assert (o["discount"], o["coupon"], o["status"], o["refunded_amount"]) == (
        3.0,
        "SAVE3",
        "placed",
        0.0,
    )
    assert (o["event_id"], o["user_id"], o["anonymous_id"], o["session_id"]) == (
        "buy",
        "U1",
        "A1",
        "S1",
    )
    assert (o["utm_source"], o["utm_medium"]) == ("google", "cpc")
    assert str(o["placed_at"]) == "2024-04-01 10:00:00"
    items = rows(order_items_table)
    assert [
        (i["order_id"], i["line"], i["product_id"], i["quantity"], i["price"]) for i in items
    ] == [
        ("O1", 0, "P1", 2, 10.0),
        ("O1", 1, "P2", 1, 5.5),
    ]
    [stored] = rows(activity_table)
    assert stored["items"] == ITEMS


def test_explicit_revenue_wins(track: Track, rows: Rows) -> None:
    track(purchase(revenue=99.0, discount=3.0))
    assert order(rows)["revenue"] == 99.0


def test_a_discount_larger_than_the_items_gives_zero_revenue(track: Track, rows: Rows) -> None:
    track(purchase(discount=100.0))
    assert order(rows)["revenue"] == 0.0


def test_a_purchase_of_one_product_is_one_line(track: Track, rows: Rows) -> None:
    event = purchase(product_id="P7", price=4.25, quantity=3)
    del event["items"]
    track(event)
    assert order(rows)["revenue"] == 12.75
    [item] = rows(order_items_table)
    assert (item["product_id"], item["quantity"], item["price"]) == ("P7", 3, 4.25)


def test_a_partial_refund(track: Track, rows: Rows) -> None:
    track(purchase())
    track(refund("r1", revenue=5.0, timestamp="2024-04-02T10:00:00Z"))
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("partially_refunded", 5.0)
    [r] = rows(refunds_table)
    assert (r["refund_id"], r["order_id"], r["amount"], r["user_id"]) == ("r1", "O1", 5.0, "U1")
    assert str(r["refunded_at"]) == "2024-04-02 10:00:00"


def test_refunds_adding_up_to_the_revenue_refund_the_order(track: Track, rows: Rows) -> None:
    track(purchase())
    track(refund("r1", revenue=5.0))
    track(refund("r2", revenue=20.5))
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("refunded", 25.5)


def test_a_refund_without_amount_refunds_what_is_left(track: Track, rows: Rows) -> None:
    track(purchase())
    track(refund("r1", revenue=5.0))
    track(refund("r2"))
    assert [(r["refund_id"], r["amount"]) for r in rows(refunds_table)] == [
        ("r1", 5.0),
        ("r2", 20.5),
    ]
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("refunded", 25.5)


def test_a_refund_of_items_refunds_their_value(track: Track, rows: Rows) -> None:
    track(purchase())
    track(refund("r1", items=[{"product_id": "P1", "quantity": 1, "price": 10.0}]))
    assert [r["amount"] for r in rows(refunds_table)] == [10.0]
    [item] = rows(refund_items_table)
    assert (item["refund_id"], item["line"], item["product_id"], item["quantity"]) == (
        "r1",
        0,
        "P1",
        1,
    )
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("partially_refunded", 10.0)


def test_a_refund_before_its_purchase_applies_when_the_purchase_arrives(
    track: Track, rows: Rows
) -> None:
    track(refund("r1", revenue=5.0))
    assert rows(orders_table) == []
    assert [r["amount"] for r in rows(refunds_table)] == [5.0]
    track(purchase())
    o = order(rows)
    assert (o["status"], o["refunded_amount"], o["revenue"]) == ("partially_refunded", 5.0, 25.5)


def test_a_refund_without_amount_before_its_purchase_refunds_the_whole_order(
    track: Track, rows: Rows
) -> None:
    track(refund("r1"))
    assert [r["amount"] for r in rows(refunds_table)] == [None]
    track(purchase())
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("refunded", 25.5)


def test_refunds_beyond_the_revenue_refund_the_revenue(track: Track, rows: Rows) -> None:
    track(purchase())
    track(refund("r1", revenue=20.0))
    track(refund("r2", revenue=20.0))
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("refunded", 25.5)


def test_purchase_and_refund_in_one_batch(track: Track, rows: Rows) -> None:
    track({"batch": [refund("r1"), purchase()]})
    assert [r["amount"] for r in rows(refunds_table)] == [25.5]
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("refunded", 25.5)


def test_order_cancelled_cancels(track: Track, rows: Rows) -> None:
    track(purchase())
    cancel = {"event_id": "c1", "type": "order_cancelled", "user_id": "U1", "order_id": "O1"}
    assert track(cancel).json()["accepted"] == 1
    assert order(rows)["status"] == "cancelled"
    track(refund("r1", revenue=5.0))
    o = order(rows)
    assert (o["status"], o["refunded_amount"]) == ("cancelled", 5.0)


def test_a_second_purchase_event_for_an_order_adds_no_order(track: Track, rows: Rows) -> None:
    track(purchase("buy-1", revenue=25.5))
    other_items = [{"product_id": "P9", "quantity": 1, "price": 1.0}]
    assert track(purchase("buy-2", revenue=1.0, items=other_items)).json()["accepted"] == 1
    o = order(rows)
    assert (o["event_id"], o["revenue"]) == ("buy-1", 25.5)
    assert [i["product_id"] for i in rows(order_items_table)] == ["P1", "P2"]
    assert [r["event_id"] for r in rows(activity_table)] == ["buy-1", "buy-2"]


def test_a_failure_deriving_orders_stores_no_event(
    track: Track, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("derived tables failed")

    monkeypatch.setattr("shopsense.tracking.store._derive_orders", broken)
    answer = track({"batch": [purchase(), {"type": "page_view", "anonymous_id": "A1"}]})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert rows(activity_table) == []
    assert rows(orders_table) == []

"""Bundle performance counted by hand: offers, views, clicks, add-to-carts, whole-bundle
purchases inside the window (a partial one and a late one do not count), value, discount,
margin and the take rate against the base rate."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from shopsense.db.models import bundle_recommendation_table
from shopsense.db.session import Database
from shopsense.experiments.bundle_performance import bundle_performance

T0 = datetime(2026, 10, 1, 12)
PRODUCTS = {"P1": (10.0, 4.0), "P2": (20.0, 12.0), "P3": (50.0, 30.0)}


def _event(n: int, kind: str, hours: float, user: str, **fields: Any) -> dict[str, Any]:
    at = (T0 + timedelta(hours=hours)).isoformat() + "Z"
    return {"event_id": f"b{n}", "type": kind, "user_id": user, "timestamp": at, **fields}


def _offer(
    bundle_id: str, kind: str, user: str, products: list[str], price: float
) -> dict[str, Any]:
    listed = sum(PRODUCTS[p][0] for p in products)
    cost = sum(PRODUCTS[p][1] for p in products)
    return {
        "bundle_id": bundle_id, "type": kind, "user_id": user, "context": "product",
        "products": [{"product_id": p, "name": p, "price": PRODUCTS[p][0], "quantity": 1}
                     for p in products],
        "list_price": listed, "bundle_price": price, "discount_pct": 100 * (1 - price / listed),
        "expected_margin": price - cost, "expected_profit": 0.5, "take_rate": 0.3,
        "base_rate": 0.25, "reason": "", "created_at": T0,
        "valid_until": T0 + timedelta(days=2),
    }  # fmt: skip


def test_bundle_figures_by_hand(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
) -> None:
    products = [
        {"product_id": p, "name": p, "price": price, "cost": cost, "category": "Home"}
        for p, (price, cost) in PRODUCTS.items()
    ]
    assert client.put("/catalog/products", json=products, headers=secret_headers).status_code == 200
    with db.write() as conn:
        conn.execute(
            insert(bundle_recommendation_table),
            [
                _offer("b1", "complementary", "alice", ["P1", "P2"], 27.0),
                _offer("b2", "complementary", "bob", ["P1", "P2"], 27.0),
                _offer("b3", "upsell", "carol", ["P3"], 45.0),
            ],
        )
    events = [
        _event(1, "bundle_view", 1, "alice", bundle_id="b1"),
        _event(2, "bundle_click", 1.1, "alice", bundle_id="b1"),
        _event(3, "bundle_add_to_cart", 1.2, "alice", bundle_id="b1"),
        # alice pays the bundle price for both items two days later: a purchase.
        _event(4, "purchase", 48, "alice", order_id="A1",
               items=[{"product_id": "P1", "price": 9.0}, {"product_id": "P2", "price": 18.0}]),
        # bob sees b2 and buys only P1: no bundle purchase.
        _event(5, "bundle_view", 2, "bob", bundle_id="b2"),
        _event(6, "purchase", 3, "bob", order_id="B1", items=[{"product_id": "P1", "price": 10.0}]),
        # carol buys P3 eight days after the offer: outside the window.
        _event(7, "bundle_view", 2, "carol", bundle_id="b3"),
        _event(8, "purchase", 8 * 24 + 1, "carol", order_id="C1",
               items=[{"product_id": "P3", "price": 45.0}]),
    ]  # fmt: skip
    answer = client.post("/analytics/track-activity", json={"batch": events}, headers=write_headers)
    assert answer.json()["accepted"] == len(events), answer.text
    report = bundle_performance(
        db, T0 - timedelta(days=1), T0 + timedelta(days=1), now=T0 + timedelta(days=30)
    )
    totals = report["totals"]
    assert (totals["offers"], totals["views"], totals["clicks"], totals["add_to_carts"]) == (
        3, 3, 1, 1,
    )  # fmt: skip
    assert totals["purchases"] == 1
    assert totals["revenue"] == pytest.approx(27.0)
    assert totals["discount_given"] == pytest.approx(30.0 - 27.0)
    assert totals["margin_earned"] == pytest.approx(27.0 - 16.0)
    assert totals["conversion_rate"] == pytest.approx(1 / 3)
    assert totals["average_bundle_value"] == pytest.approx(27.0)
    by_type = {row["type"]: row for row in report["by_type"]}
    assert by_type["complementary"]["take_rate"] == pytest.approx(1 / 2)
    assert by_type["complementary"]["base_rate"] == pytest.approx(0.25)
    assert by_type["complementary"]["uplift"] == pytest.approx(1.0)
    assert by_type["upsell"]["purchases"] == 0
    # Margin per offer (11 / 2) against the separate purchases' (0.25 x margin at list, 14).
    assert by_type["complementary"]["margin_per_offer"] == pytest.approx(5.5)
    assert by_type["complementary"]["separate_margin_per_offer"] == pytest.approx(0.25 * 14.0)
    assert {b["bundle_id"]: b["purchases"] for b in report["by_bundle"]} == {
        "b1": 1, "b2": 0, "b3": 0,
    }  # fmt: skip
    http = client.get(
        "/analytics/bundle-performance",
        params={"from": "2026-09-30", "to": "2026-10-02"},
        headers=secret_headers,
    )
    assert http.status_code == 200 and http.json()["totals"]["purchases"] == 1

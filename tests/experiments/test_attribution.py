"""Attribution counted by hand on a scripted sequence of views, clicks, carts and purchases
sent through the tracking API, including the windows, positions, last-click-wins and a
purchase outside the window that must not count."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from shopsense.db.models import recommendation_log_table
from shopsense.db.session import Database
from shopsense.experiments.performance import recommendation_performance

T0 = datetime(2026, 10, 1, 12)
PRODUCTS = {"P1": (10.0, 6.0), "P2": (20.0, 5.0), "P3": (30.0, 20.0), "P4": (40.0, 10.0)}


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat() + "Z"


def _event(n: int, kind: str, hours: float, user: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e{n}", "type": kind, "user_id": user, "timestamp": _at(hours), **fields}


@pytest.fixture
def scripted(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
) -> Database:
    products = [
        {"product_id": p, "name": p, "price": price, "cost": cost, "category": "Home"}
        for p, (price, cost) in PRODUCTS.items()
    ]
    answer = client.put("/catalog/products", json=products, headers=secret_headers)
    assert answer.status_code == 200 and answer.json()["upserted"] == 4, answer.text
    with db.write() as conn:
        conn.execute(
            insert(recommendation_log_table),
            [
                {"recommendation_id": rid, "user_id": user, "context": context,
                 "strategy": strategy, "request": {}, "created_at": T0 + timedelta(hours=h),
                 "items": [{"product_id": p, "rank": k + 1, "score": 1.0, "reason_kind": "x"}
                           for k, p in enumerate(items)]}
                for rid, user, context, strategy, h, items in [
                    ("rA", "alice", "home", "hybrid", 0, ["P1", "P2", "P3"]),
                    ("rB", "alice", "product", "similar_items", 10, ["P2", "P4"]),
                    ("rC", "bob", "home", "popular", 0, ["P1", "P3"]),
                ]
            ],
        )  # fmt: skip
    events = [
        # alice sees rA, clicks P2 (position 2), buys it a day later: a click conversion.
        _event(1, "recommendation_view", 0.1, "alice", recommendation_id="rA"),
        _event(2, "recommendation_click", 0.2, "alice", recommendation_id="rA", position=2),
        _event(3, "add_to_cart", 0.3, "alice", product_id="P2", price=20.0, quantity=1),
        # She also sees rB (P2 again) and clicks P2 there: the later click wins the purchase.
        _event(4, "recommendation_view", 10.1, "alice", recommendation_id="rB"),
        _event(5, "recommendation_click", 10.2, "alice", recommendation_id="rB", product_id="P2"),
        _event(
            6,
            "purchase",
            25,
            "alice",
            order_id="O1",
            items=[
                {"product_id": "P2", "price": 20.0, "quantity": 2},
                {"product_id": "P3", "price": 30.0, "quantity": 1},
            ],
        ),  # fmt: skip
        # P3 was only shown (rA, 24.9 h earlier: outside the 1-day view window): not credited.
        # bob sees rC, does not click, buys P1 within the view window: view-through credit.
        _event(7, "recommendation_view", 1, "bob", recommendation_id="rC"),
        _event(
            8,
            "purchase",
            20,
            "bob",
            order_id="O2",
            items=[{"product_id": "P1", "price": 10.0, "quantity": 1}],
        ),  # fmt: skip
        # bob clicks P3 in rC (position 2) and buys it 8 days later: outside the click window.
        _event(9, "recommendation_click", 21, "bob", recommendation_id="rC", position=2),
        _event(
            10,
            "purchase",
            21 + 8 * 24,
            "bob",
            order_id="O3",
            items=[{"product_id": "P3", "price": 30.0, "quantity": 1}],
        ),  # fmt: skip
        # carol buys P1 after no recommendation at all.
        _event(
            11,
            "purchase",
            5,
            "carol",
            order_id="O4",
            items=[{"product_id": "P1", "price": 10.0, "quantity": 1}],
        ),  # fmt: skip
    ]
    answer = client.post("/analytics/track-activity", json={"batch": events}, headers=write_headers)
    assert answer.json()["accepted"] == len(events), answer.text
    return db


def _perform(db: Database, group_by: list[str]) -> dict[str, Any]:
    return recommendation_performance(
        db, T0 - timedelta(days=1), T0 + timedelta(days=2), group_by, now=T0 + timedelta(days=30)
    )


def test_totals_by_hand(scripted: Database) -> None:
    report = _perform(scripted, [])
    assert report["impressions_source"] == "views"
    totals = report["totals"]
    # Views: rA, rB, rC (3); clicks: rA P2, rB P2, rC P3 (3).
    assert (totals["impressions"], totals["clicks"]) == (3, 3)
    assert totals["ctr"] == pytest.approx(1.0)
    # Credited: alice's cart of P2 (rA click), her 2 x P2 (rB click, the later one), bob's P1
    # (rC view). Not: alice's P3 (view 24 h before), bob's P3 (click 8 days before), carol.
    assert totals["add_to_carts"] == 1
    assert totals["conversions"] == 2
    assert totals["click_conversions"] == 1
    assert totals["revenue"] == pytest.approx(2 * 20.0 + 10.0)
    assert totals["margin"] == pytest.approx(2 * (20.0 - 5.0) + (10.0 - 6.0))
    assert totals["conversion_rate"] == pytest.approx(2 / 3)
    assert totals["revenue_per_impression"] == pytest.approx(50.0 / 3, abs=1e-5)


def test_the_rollup_and_the_live_computation_agree(scripted: Database) -> None:
    """Closed days come from recommendation_rollup, open ones live: the same figures either
    way, whatever the grouping, and the rollup grows a day at a time."""
    from shopsense.db.models import recommendation_rollup_table
    from shopsense.experiments.attribution import attribute
    from shopsense.experiments.performance import daily_rows, rebuild_rollup, summarise

    start, end = T0 - timedelta(days=1), T0 + timedelta(days=2)
    with scripted.read() as conn:
        rows = daily_rows(attribute(conn, start, end))
    rebuild_rollup(scripted, T0 + timedelta(days=30))
    for group_by in ([], ["strategy"], ["position"], ["strategy", "context", "position"]):
        stored = recommendation_performance(
            scripted, start, end, group_by, now=T0 + timedelta(days=30)
        )
        assert stored["totals"] == summarise(rows, [])[0]
        assert stored["groups"] == summarise(rows, group_by)
    with scripted.read() as conn:
        days = conn.execute(select(recommendation_rollup_table.c.day).distinct()).scalars().all()
    assert sorted(days) == [T0.date()]


def test_by_strategy_last_click_wins(scripted: Database) -> None:
    rows = {r["strategy"]: r for r in _perform(scripted, ["strategy"])["groups"]}
    assert set(rows) == {"hybrid", "similar_items", "popular"}
    assert (rows["hybrid"]["clicks"], rows["hybrid"]["add_to_carts"]) == (1, 1)
    assert rows["hybrid"]["conversions"] == 0  # its click lost the purchase to rB's
    assert rows["similar_items"]["revenue"] == pytest.approx(40.0)
    assert rows["popular"]["revenue"] == pytest.approx(10.0)
    assert rows["popular"]["click_conversions"] == 0


def test_by_position(scripted: Database) -> None:
    rows = {r["position"]: r for r in _perform(scripted, ["position"])["groups"]}
    # Item impressions: rA shows 3 positions, rB 2, rC 2.
    assert {p: r["impressions"] for p, r in rows.items()} == {1: 3, 2: 3, 3: 1}
    # Clicks: rA position 2, rB position 1 (P2 is first there), rC position 2.
    assert {p: r["clicks"] for p, r in rows.items()} == {1: 1, 2: 2, 3: 0}
    assert rows[1]["revenue"] == pytest.approx(50.0)  # rB's P2 and rC's P1 are both first


def test_without_views_the_logged_answers_are_the_impressions(
    client: TestClient, write_headers: dict[str, str], db: Database
) -> None:
    with db.write() as conn:
        conn.execute(
            insert(recommendation_log_table),
            [{"recommendation_id": "rX", "user_id": "dave", "context": "home",
              "strategy": "popular", "request": {}, "created_at": T0,
              "items": [{"product_id": "P9", "rank": 1, "score": 1.0, "reason_kind": "x"}]}],
        )  # fmt: skip
    report = _perform(db, ["strategy"])
    assert report["impressions_source"] == "logged_answers"
    assert report["totals"]["impressions"] == 1


def test_the_endpoint_answers_the_same_figures(
    scripted: Database, client: TestClient, secret_headers: dict[str, str]
) -> None:
    params = {"from": "2026-09-30", "to": "2026-10-03T12:00:00Z", "group_by": "strategy,position"}
    answer = client.get(
        "/analytics/recommendation-performance", params=params, headers=secret_headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totals"]["clicks"] == 3 and body["totals"]["revenue"] == pytest.approx(50.0)
    assert body["group_by"] == ["strategy", "position"]
    assert {(g["strategy"], g["position"]) for g in body["groups"]} >= {("hybrid", 2)}
    bad = client.get(
        "/analytics/recommendation-performance",
        params={"group_by": "colour"},
        headers=secret_headers,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["loc"] == ["query", "group_by"]
    for params in ({"from": "yesterday"}, {"from": "2026-10-05", "to": "2026-10-01"}):
        bad = client.get(
            "/analytics/recommendation-performance", params=params, headers=secret_headers
        )
        assert bad.status_code == 422, bad.text
    assert client.get("/analytics/recommendation-performance").status_code == 401


def test_the_windows_are_settings(scripted: Database) -> None:
    """With a 2-day view window alice's P3 (viewed 24.9 h before) is credited too, and the
    rollup built with the default windows starts over for the new ones."""
    from shopsense.experiments.attribution import Windows

    start, end, later = T0 - timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=30)
    default = recommendation_performance(scripted, start, end, [], now=later)
    wider = Windows(click=timedelta(days=7), view=timedelta(days=2))
    report = recommendation_performance(scripted, start, end, [], now=later, windows=wider)
    assert report["view_window_days"] == 2.0
    assert report["totals"]["conversions"] == default["totals"]["conversions"] + 1
    assert report["totals"]["revenue"] == pytest.approx(default["totals"]["revenue"] + 30.0)
    shorter = Windows(click=timedelta(days=7), view=timedelta(hours=1))
    narrow = recommendation_performance(scripted, start, end, [], now=later, windows=shorter)
    assert narrow["totals"]["conversions"] == default["totals"]["conversions"] - 1  # bob's P1

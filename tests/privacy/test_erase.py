"""DELETE /users/{user_id} erases every row about the user and answers the counts."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from shopsense.db.models import (
    activity_table,
    bundle_recommendation_table,
    identities_table,
    order_items_table,
    orders_table,
    profiles_table,
    recommendation_log_table,
    refunds_table,
    users_table,
)
from shopsense.db.session import Database
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings


def _events(user: str) -> list[dict[str, object]]:
    return [
        {"event_id": f"{user}-1", "type": "page_view", "anonymous_id": f"anon-{user}"},
        {"event_id": f"{user}-2", "type": "login", "anonymous_id": f"anon-{user}", "user_id": user},
        {
            "event_id": f"{user}-3",
            "type": "purchase",
            "user_id": user,
            "order_id": f"O-{user}",
            "items": [{"product_id": "A", "price": 2.0}, {"product_id": "B", "price": 3.0}],
        },
        {
            "event_id": f"{user}-4",
            "type": "order_refunded",
            "user_id": user,
            "order_id": f"O-{user}",
        },
    ]


def _count(db: Database, table, **where: str) -> int:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        stmt = select(func.count()).select_from(table)
        for column, value in where.items():
            stmt = stmt.where(table.c[column] == value)
        return int(conn.execute(stmt).scalar_one())


def test_erase_removes_the_user_and_only_the_user(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
    settings: Settings,
) -> None:
    batch = {"batch": _events("alice") + _events("bob")}
    answer = client.post("/analytics/track-activity", json=batch, headers=write_headers)
    assert answer.json()["accepted"] == 8
    ProfileEngine(db, settings).rebuild()
    with db.write() as conn:
        conn.execute(
            insert(recommendation_log_table),
            [
                {"recommendation_id": f"r-{who}", "user_id": user, "anonymous_id": anonymous,
                 "context": "home", "strategy": "popular", "request": {}, "items": [],
                 "created_at": datetime(2026, 10, 2)}
                for who, user, anonymous in [
                    ("a1", "alice", None), ("a2", None, "anon-alice"), ("b", "bob", None)
                ]
            ],
        )  # fmt: skip
        conn.execute(
            insert(bundle_recommendation_table),
            [
                {"bundle_id": f"bun-{who}", "type": "complementary", "products": [],
                 "list_price": 10, "bundle_price": 9, "discount_pct": 10, "expected_margin": 3,
                 "expected_profit": 0.1, "take_rate": 0.1, "base_rate": 0.05, "reason": "",
                 "user_id": user, "anonymous_id": anonymous, "context": "home",
                 "valid_until": datetime(2026, 10, 4), "created_at": datetime(2026, 10, 2)}
                for who, user, anonymous in [
                    ("a1", "alice", None), ("a2", None, "anon-alice"), ("a3", "alice", None),
                    ("b", "bob", None),
                ]
            ],
        )  # fmt: skip
    answer = client.delete("/users/alice", headers=secret_headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "user_id": "alice",
        "erased": {
            "user_activity": 4,
            "refund_items": 0,
            "refunds": 1,
            "order_items": 2,
            "orders": 1,
            "user_behavior_profile": 1,
            "recommendation_log": 2,
            "bundle_recommendation": 3,
            "user_identities": 1,
            "users": 1,
        },
    }
    assert _count(db, activity_table, anonymous_id="anon-alice") == 0
    assert _count(db, activity_table, user_id="bob") == 4
    assert _count(db, orders_table) == 1
    assert _count(db, order_items_table) == 2
    assert _count(db, refunds_table) == 1
    assert _count(db, identities_table) == 1
    assert _count(db, users_table) == 1
    assert _count(db, profiles_table) == 1
    assert _count(db, recommendation_log_table, user_id="bob") == 1
    assert _count(db, bundle_recommendation_table) == 1


def test_erasing_an_unknown_user_is_404(client: TestClient, secret_headers: dict[str, str]) -> None:
    answer = client.delete("/users/nobody", headers=secret_headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_erase_needs_the_secret_key(client: TestClient, write_headers: dict[str, str]) -> None:
    assert client.delete("/users/alice", headers=write_headers).status_code == 403


def test_erase_takes_the_user_out_of_the_dashboard_rollups(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
    settings: Settings,
) -> None:
    from shopsense.dashboard.overview import overview
    from shopsense.dashboard.period import Period
    from shopsense.db.models import dashboard_user_day_table

    at = "2026-01-05T10:00:00Z"
    batch = [{**e, "timestamp": at} for user in ("alice", "bob") for e in _events(user)]
    answer = client.post("/analytics/track-activity", json={"batch": batch}, headers=write_headers)
    assert answer.status_code == 200, answer.text
    period, now = Period(datetime(2026, 1, 1), datetime(2026, 2, 1)), datetime(2026, 3, 1)
    assert overview(db, period, now, settings)["users"]["active"]["value"] == 2  # days rolled up
    assert _count(db, dashboard_user_day_table, user_id="alice") == 1
    assert client.delete("/users/alice", headers=secret_headers).status_code == 200
    assert _count(db, dashboard_user_day_table, user_id="alice") == 0
    after = overview(db, period, now, settings)
    assert after["users"]["active"]["value"] == 1
    assert after["orders"]["value"] == 1

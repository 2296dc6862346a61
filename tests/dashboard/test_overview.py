"""The overview's figures on a generated store equal plain SQL over the events and orders,
closed days read from the rollup give the same answer as the live computation, and a
purchase tracked through the API shows in revenue on the next call. Every dashboard page
needs the secret key and answers a bad period with a 422 problem."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shopsense.dashboard.overview import overview
from shopsense.dashboard.period import Period
from shopsense.dashboard.rollup import rebuild
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.settings import Settings

SPEC = StoreSpec(users=300, products=60, days=40, seed=11)
END = datetime(2026, 11, 2)
PERIOD = Period(datetime(2026, 10, 12, 6), END)  # a partial first day: live edges
LATER = END + timedelta(days=3)


@pytest.fixture(scope="module")
def store(_database: Database, db_url: str, emptied: Any) -> Iterator[tuple[Database, Settings]]:
    emptied(_database)
    settings = Settings(
        database_url=db_url, datasets=None, timezone="UTC", dashboard_cache_seconds=0
    )
    generate_store(_database, SPEC, settings=settings)
    yield _database, settings
    emptied(_database)


def _scalar(db: Database, sql: str, **params: Any) -> Any:
    with db.read() as conn:
        return conn.execute(text(sql), params).scalar()


def _plain(db: Database, period: Period) -> dict[str, Any]:
    p = {"a": period.start, "b": period.end}
    events = "FROM user_activity WHERE is_bot = false AND timestamp >= :a AND timestamp < :b"
    orders = "FROM orders WHERE status <> 'cancelled' AND placed_at >= :a AND placed_at < :b"
    with db.read() as conn:
        by_type = dict(conn.execute(text(f"SELECT type, COUNT(*) {events} GROUP BY type"), p).all())  # noqa: S608
        day = (
            "to_char(timestamp, 'YYYY-MM-DD')" if db.dialect == "postgresql" else "date(timestamp)"
        )
        key = f"COALESCE(session_id, COALESCE(user_id, anonymous_id) || '@' || {day})"
        steps = conn.execute(
            text(  # noqa: S608 - fixed SQL of the test
                "SELECT SUM(v), SUM(v*c), SUM(v*c*k), SUM(v*c*k*b), COUNT(*) FROM (SELECT"  # noqa: S608
                f" {key} AS session,"
                " MAX(CASE WHEN type = 'product_view' THEN 1 ELSE 0 END) v,"
                " MAX(CASE WHEN type = 'add_to_cart' THEN 1 ELSE 0 END) c,"
                " MAX(CASE WHEN type IN ('checkout_start', 'checkout_step',"
                " 'payment_info_entered') THEN 1 ELSE 0 END) k,"
                f" MAX(CASE WHEN type = 'purchase' THEN 1 ELSE 0 END) b {events} GROUP BY {key}) s"  # noqa: S608
            ),
            p,
        ).one()
    return {
        "revenue": round(
            float(_scalar(db, f"SELECT SUM(revenue - refunded_amount) {orders}", **p)), 2
        ),  # noqa: S608
        "orders": _scalar(db, f"SELECT COUNT(*) {orders}", **p),  # noqa: S608
        "active": _scalar(db, f"SELECT COUNT(DISTINCT user_id) {events}", **p),  # noqa: S608
        "new": _scalar(
            db, "SELECT COUNT(*) FROM users WHERE first_seen >= :a AND first_seen < :b", **p
        ),
        "total": _scalar(db, "SELECT COUNT(*) FROM users WHERE first_seen < :b", **p),
        "by_type": {k: int(v) for k, v in by_type.items()},
        "funnel": [int(x) for x in steps[:4]],
        "sessions": int(steps[4]),
    }


def test_every_kpi_equals_plain_sql(store: tuple[Database, Settings]) -> None:
    db, settings = store
    assert _scalar(db, "SELECT COUNT(*) FROM user_activity WHERE session_id IS NULL") > 0
    answer = overview(db, PERIOD, LATER, settings)
    for period, side in ((PERIOD, "value"), (PERIOD.previous, "previous")):
        plain = _plain(db, period)
        assert plain["orders"] > 0 and plain["sessions"] > 0
        assert answer["revenue"][side] == pytest.approx(plain["revenue"], abs=0.01)
        assert answer["orders"][side] == plain["orders"]
        assert answer["aov"][side] == pytest.approx(plain["revenue"] / plain["orders"], abs=1e-4)
        assert answer["sessions"][side] == plain["sessions"]
        assert answer["conversion_rate"][side] == pytest.approx(
            plain["orders"] / plain["sessions"], abs=1e-6
        )
        for key in ("active", "new", "total"):
            assert answer["users"][key][side] == plain[key]
        key = "count" if side == "value" else "previous"
        assert {a["type"]: a[key] for a in answer["activities"] if a[key]} == plain["by_type"]
    assert [s["sessions"] for s in answer["funnel"]] == _plain(db, PERIOD)["funnel"]
    assert answer["revenue"]["change"] is not None
    assert sum(d["orders"] for d in answer["daily"]) == answer["orders"]["value"]
    assert sum(d["revenue"] for d in answer["daily"]) == pytest.approx(
        answer["revenue"]["value"], abs=0.05
    )
    assert len(answer["live"]["events_per_minute"]) == 60
    assert answer["recommendation_revenue"]["value"] > 0
    assert answer["bundle_revenue"]["value"] >= 0
    top = answer["top_products"]
    assert top == sorted(top, key=lambda p: -p["revenue"]) and top[0]["units"] > 0


def test_rollup_equals_the_live_computation(store: tuple[Database, Settings]) -> None:
    db, settings = store
    rebuild(db, LATER, settings.timezone)
    rolled = overview(db, PERIOD, LATER, settings)
    with db.write() as conn:  # forget the rollup: every figure computed from the events
        for name in ("activity_day", "user_day", "user_context_day", "session_day", "heatmap_day"):
            conn.execute(text(f"DELETE FROM dashboard_{name}"))  # noqa: S608
        conn.execute(text("DELETE FROM model_state WHERE name = 'dashboard_rollup'"))
    from shopsense.dashboard import rollup as R

    live_rollup = R.live(LATER, settings.timezone, db.dialect)
    original = R.refresh
    try:
        R.refresh = lambda *_: live_rollup  # type: ignore[assignment]
        import shopsense.dashboard.overview as O

        O.refresh = R.refresh  # type: ignore[attr-defined]
        live = overview(db, PERIOD, LATER, settings)
    finally:
        R.refresh = original
        O.refresh = original  # type: ignore[attr-defined]
    for answer in (rolled, live):
        answer.pop("live")
    assert rolled == live


def test_late_events_roll_up_again(store: tuple[Database, Settings]) -> None:
    db, settings = store
    rebuild(db, LATER, settings.timezone)
    before = overview(db, PERIOD, LATER, settings)["activities"]
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO user_activity (event_id, type, user_id, session_id, timestamp,"
                " received_at, timestamp_clamped, is_bot) VALUES ('late-1', 'login', 'U-late',"
                " 'S-late', :t, :t, false, false)"
            ),
            {"t": datetime(2026, 10, 20, 12)},
        )
    after = overview(db, PERIOD, LATER, settings)
    count = {a["type"]: a["count"] for a in after["activities"]}
    assert count["login"] == {a["type"]: a["count"] for a in before}["login"] + 1
    with db.write() as conn:
        conn.execute(text("DELETE FROM user_activity WHERE event_id = 'late-1'"))
    rebuild(db, LATER, settings.timezone)


def test_a_tracked_purchase_shows_at_once(
    client: TestClient, write_headers: dict[str, str], secret_headers: dict[str, str]
) -> None:
    first = client.get("/dashboard/overview", headers=secret_headers)
    assert first.status_code == 200, first.text
    assert first.json()["revenue"]["value"] == 0
    event = {
        "event_id": "buy-1", "type": "purchase", "user_id": "U1", "session_id": "S1",
        "order_id": "O1", "items": [{"product_id": "P1", "quantity": 2, "price": 10.0}],
    }  # fmt: skip
    assert (
        client.post("/analytics/track-activity", json=event, headers=write_headers).status_code
        == 200
    )
    answer = client.get("/dashboard/overview", headers=secret_headers).json()
    assert answer["revenue"]["value"] == 20.0 and answer["orders"]["value"] == 1
    assert answer["sessions"]["value"] == 1 and answer["users"]["active"]["value"] == 1
    assert answer["live"]["active_users"] == 1
    assert sum(m["events"] for m in answer["live"]["events_per_minute"]) == 1
    assert answer["funnel"][0]["sessions"] == 0


PATHS = (
    "/dashboard/overview",
    "/dashboard/user-analytics",
    "/dashboard/recommendation-analytics",
    "/dashboard/profit-analytics",
)


def test_the_secret_key_is_required(client: TestClient, write_headers: dict[str, str]) -> None:
    for path in PATHS:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=write_headers).status_code in (401, 403), path


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
        {"from": "2026-10-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
        {"from": "yesterday"},
        {"from": "last week"},
        {"to": "2026-02-30"},
        {"to": "2026-13-40"},
    ],
)
def test_a_bad_period_is_a_problem(
    client: TestClient, secret_headers: dict[str, str], params: dict[str, str]
) -> None:
    for path in PATHS:
        answer = client.get(path, params=params, headers=secret_headers)
        assert answer.status_code == 422, path
        assert answer.headers["content-type"] == "application/problem+json", path

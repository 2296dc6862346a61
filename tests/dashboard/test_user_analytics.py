"""User analytics on small hand-made stores whose right answers are obvious: the funnel,
monthly cohorts, the hour x weekday heatmap in the shop's timezone, churn, devices and
engagement bands; and segments that are the profile engine's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from fastapi.testclient import TestClient

from shopsense.dashboard.overview import overview
from shopsense.dashboard.period import Period
from shopsense.dashboard.users import movement, segment_snapshot, user_analytics
from shopsense.db.session import Database
from shopsense.profiles.engine import ProfileEngine
from shopsense.settings import Settings

NOW = datetime(2026, 11, 20, 12)  # the store's events are all before the real clock


def event(n: int, kind: str, user: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"e{n}", "type": kind, "user_id": user, "session_id": f"S-{user}-{at.date()}",
        "timestamp": at.isoformat() + "Z", **fields,
    }  # fmt: skip


def track(client: TestClient, headers: dict[str, str], events: list[dict[str, Any]]) -> None:
    answer = client.post("/analytics/track-activity", json={"batch": events}, headers=headers)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(events), answer.text


def test_funnel_counts_sessions_reaching_every_step(
    client: TestClient, write_headers: dict[str, str], db: Database, settings: Settings
) -> None:
    at = datetime(2026, 11, 10, 10)
    steps = ["product_view", "add_to_cart", "checkout_start", "purchase"]
    events = []
    for i, reached in enumerate([1, 1, 2, 2, 3, 4, 4, 4]):  # steps reached per user
        for j, kind in enumerate(steps[:reached]):
            extra: dict[str, Any] = {"product_id": "P1"}
            if kind == "purchase":
                extra = {
                    "order_id": f"O{i}",
                    "items": [{"product_id": "P1", "quantity": 1, "price": 5.0}],
                }
            events.append(event(i * 10 + j, kind, f"U{i}", at.replace(minute=j), **extra))
    events.append(
        event(999, "add_to_cart", "U9", at, product_id="P1")
    )  # no view: not in the funnel
    track(client, write_headers, events)
    answer = overview(db, Period(datetime(2026, 11, 1), NOW), NOW, settings)
    assert [s["sessions"] for s in answer["funnel"]] == [8, 6, 4, 3]
    assert [s["rate"] for s in answer["funnel"]] == [round(8 / 9, 6), 0.75, round(4 / 6, 6), 0.75]
    assert answer["sessions"]["value"] == 9 and answer["orders"]["value"] == 3
    assert answer["mean_session_seconds"]["value"] == round((60 + 60 + 120 + 180 * 3) / 9, 1)


def test_cohorts_heatmap_churn_devices_and_engagement(
    client: TestClient, write_headers: dict[str, str], db: Database, settings: Settings
) -> None:
    mobile = {"context": {"device_type": "mobile", "country": "DE"}}
    desktop = {"context": {"device_type": "desktop", "country": "FR"}}
    events = [
        # August cohort: A and B; A comes back in September and October, B in October.
        event(1, "page_view", "A", datetime(2026, 8, 5, 9), **mobile),
        event(2, "page_view", "B", datetime(2026, 8, 6, 9), **desktop),
        event(3, "page_view", "A", datetime(2026, 9, 7, 9), **mobile),
        event(4, "page_view", "A", datetime(2026, 10, 7, 9), **mobile),
        event(5, "page_view", "B", datetime(2026, 10, 8, 9), **desktop),
        event(6, "login", "B", datetime(2026, 10, 9, 9), **mobile),
        # September cohort: C, gone in October.
        event(7, "page_view", "C", datetime(2026, 9, 20, 23, 30), **desktop),
    ]
    track(client, write_headers, events)
    berlin = settings.model_copy(update={"timezone": "Europe/Berlin"})
    period = Period(datetime(2026, 9, 20), datetime(2026, 10, 20))
    answer = user_analytics(db, period, NOW, berlin)
    cohorts = {c["cohort"]: c for c in answer["cohorts"]}
    assert cohorts["2026-08"]["users"] == 2 and cohorts["2026-08"]["retention"] == [1.0, 0.5, 1.0]
    assert cohorts["2026-09"]["users"] == 1 and cohorts["2026-09"]["retention"] == [1.0, 0.0]
    grid = answer["heatmap"]["events"]
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    # 2026-09-20 23:30 UTC is Monday 01:30 in Berlin; Oct 7-9 09:00 UTC are 11:00 (Wed-Fri).
    assert grid[0][1] == 1 and grid[2][11] == 1 and grid[3][11] == 1 and grid[4][11] == 1
    assert sum(map(sum, grid)) == 4
    # previous period (Aug 21 - Sep 20): A (Sep 7) active; this period: A, B, C.
    assert answer["churn_rate"]["value"] == 0.0 and answer["retention_rate"]["value"] == 1.0
    devices = {d["name"]: d for d in answer["devices"]}
    assert devices["mobile"]["users"] == 2 and devices["desktop"]["users"] == 2
    assert devices["mobile"]["share"] == round(2 / 3, 4)
    assert {c["name"]: c["users"] for c in answer["countries"]} == {"DE": 2, "FR": 2}
    bands = {b["level"]: b["users"] for b in answer["engagement"]}
    assert bands == {"one_day": 2, "occasional": 1, "regular": 0, "frequent": 0}


def test_top_customers_by_net_revenue(
    client: TestClient, write_headers: dict[str, str], db: Database, settings: Settings
) -> None:
    at = datetime(2026, 11, 10, 10)
    spend = {"U1": [5.0, 5.0], "U2": [30.0], "U3": [12.0]}  # U1: two orders of 5
    events = [
        event(10 * i + j, "purchase", user, at.replace(minute=j), order_id=f"O-{user}-{j}",
              items=[{"product_id": "P1", "quantity": 1, "price": price}])
        for i, (user, prices) in enumerate(spend.items())
        for j, price in enumerate(prices)
    ]  # fmt: skip
    track(client, write_headers, events)
    answer = user_analytics(db, Period(datetime(2026, 11, 1), NOW), NOW, settings)
    assert answer["top_customers"] == [
        {"user_id": "U2", "orders": 1, "revenue": 30.0},
        {"user_id": "U3", "orders": 1, "revenue": 12.0},
        {"user_id": "U1", "orders": 2, "revenue": 10.0},
    ]


def test_segments_are_the_profile_engines(
    client: TestClient, write_headers: dict[str, str], db: Database, settings: Settings
) -> None:
    events = []
    for i in range(30):
        user = f"U{i}"
        for k in range(1 + i % 4):
            at = datetime(2026, 8 + k % 3, 1 + i % 27, 10)
            events.append(
                event(i * 10 + k, "purchase", user, at, order_id=f"O{i}-{k}",
                      items=[{"product_id": "P1", "quantity": 1, "price": 20.0 + i}])
            )  # fmt: skip
    track(client, write_headers, events)
    period = Period(datetime(2026, 10, 1), datetime(2026, 11, 1, 15))
    answer = user_analytics(db, period, NOW, settings)
    with db.read() as conn:
        expected, _ = ProfileEngine(db, settings).compute(conn, datetime(2026, 11, 1))
    sizes = dict(expected.group_by("lifecycle_segment").len().iter_rows())
    assert {k: v for k, v in answer["segments"]["lifecycle"].items() if v} == sizes
    assert sum(answer["segments"]["value"].values()) == expected.height == 30
    moved = answer["movement"]["lifecycle"]
    assert sum(sum(row.values()) for row in moved.values()) == 30
    clv = answer["clv_distribution"]
    assert sum(b["users"] for b in clv["bins"]) + clv["unscored"] == clv["buyers"] == 30
    start = segment_snapshot(db, settings, datetime(2026, 10, 1))
    assert sum(movement(start, start, "value_segment", ("low_value",))["low_value"].values()) == (
        start.filter(pl.col("value_segment") == "low_value").height
    )

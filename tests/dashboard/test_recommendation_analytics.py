"""``GET /dashboard/recommendation-analytics``: on a generated store its figures are the
measurement engines' and match plain SQL counts of the events (impressions and clicks by
strategy); on a hand-made case the previous-period comparison is counted by hand; the cache
serves new figures once new events change the data version (the secret key and bad
periods: test_overview.py, for every page)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, func, insert, select, update

from shopsense.api.app import create_app
from shopsense.clock import utcnow
from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.period import Period
from shopsense.dashboard.recommendations import KPIS, recommendation_analytics
from shopsense.db.models import activity_table as A
from shopsense.db.models import experiment_table as E
from shopsense.db.models import recommendation_log_table as L
from shopsense.db.session import Database
from shopsense.demo import StoreSpec
from shopsense.experiments.attribution import Windows
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import recommendation_performance
from shopsense.experiments.results import experiment_results
from shopsense.settings import Settings

SPEC = StoreSpec(users=600, products=80, days=60, seed=5)
ALL = Period(datetime(2026, 8, 1), datetime(2026, 11, 3))  # every recommendation of the store
OCTOBER = Period(datetime(2026, 10, 1), datetime(2026, 10, 31))  # previous: September
LATER = datetime(2026, 12, 15)  # every conversion window closed
PATH = "/dashboard/recommendation-analytics"

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture(scope="module")
def store(
    generated: Callable[..., AbstractContextManager[tuple[Database, Settings]]],
) -> Iterator[tuple[Database, Settings]]:
    """A generated store whose simulated experiment is still running."""
    with generated(SPEC) as (db, settings):
        with db.write() as conn:
            conn.execute(update(E).values(status="running", stopped_at=None))
        yield db, settings


def _by_strategy(db: Database, kind: str) -> dict[str, int]:
    """Plain SQL: events of ``kind`` with a logged recommendation, per its strategy."""
    with db.read() as conn:
        rows = conn.execute(
            select(L.c.strategy, func.count())
            .select_from(A.join(L, L.c.recommendation_id == A.c.recommendation_id))
            .where(and_(A.c.type == kind, A.c.is_bot.is_(False)))
            .group_by(L.c.strategy)
        ).all()
    return {str(s): int(n) for s, n in rows}


def test_figures_match_plain_sql_counts(store: tuple[Database, Settings]) -> None:
    db, settings = store
    page = recommendation_analytics(db, ALL, LATER, settings)
    strategies = {g["strategy"]: g for g in page["by_strategy"]}
    views = _by_strategy(db, "recommendation_view")
    clicks = _by_strategy(db, "recommendation_click")
    assert views and clicks
    assert {s: g["impressions"] for s, g in strategies.items()} == views
    assert {s: g["clicks"] for s, g in strategies.items() if g["clicks"]} == clicks
    assert page["kpis"]["impressions"]["value"] == sum(views.values())
    assert page["kpis"]["clicks"]["value"] == sum(clicks.values())
    for g in page["by_strategy"]:
        assert g["ctr"] == pytest.approx(g["clicks"] / g["impressions"], abs=1e-6)


def test_figures_are_the_engines(store: tuple[Database, Settings]) -> None:
    db, settings = store
    windows = Windows.from_settings(settings)
    page = recommendation_analytics(db, OCTOBER, LATER, settings)
    assert page["period"] == {"from": OCTOBER.start, "to": OCTOBER.end}
    assert page["previous"] == {"from": datetime(2026, 9, 1), "to": OCTOBER.start}
    assert page["computed_at"] == LATER and page["stale"] is False

    def engine(period: Period, by: list[str]) -> dict[str, Any]:
        return recommendation_performance(db, period.start, period.end, by, now=LATER)

    now, before = engine(OCTOBER, []), engine(OCTOBER.previous, [])
    assert now["totals"]["impressions"] > 0 and before["totals"]["impressions"] > 0
    for key in KPIS:
        want = now["totals"][key], before["totals"][key]
        assert (page["kpis"][key]["value"], page["kpis"][key]["previous"]) == want
    impressions = page["kpis"]["impressions"]
    assert impressions["change"] == pytest.approx(
        (impressions["value"] - impressions["previous"]) / impressions["previous"]
    )
    for dim in ("strategy", "context", "position"):
        assert page[f"by_{dim}"] == engine(OCTOBER, [dim])["groups"]
    bundles = bundle_performance(db, OCTOBER.start, OCTOBER.end, now=LATER, windows=windows)
    assert page["bundles"]["by_type"] == bundles["by_type"]
    assert page["bundles"]["kpis"]["purchases"]["value"] == bundles["totals"]["purchases"] > 0
    (experiment,) = page["experiments"]
    results = experiment_results(db, experiment["name"], now=LATER, windows=windows)
    assert experiment["peeking"] == results["peeking"]
    assert experiment["srm"] == results["srm"] and experiment["srm"] is not None
    assert experiment["planned_users"] == results["experiment"]["planned_users"]
    for shown, full in zip(experiment["variants"], results["variants"], strict=True):
        assert shown["users"] == full["users"] > 0
        assert shown["ctr"] == full["metrics"]["ctr"]["value"]
        metric = full["metrics"][experiment["metric"]]
        for key, value in shown["read_out"].items():
            assert value == metric[key]
    treated = experiment["variants"][1]["read_out"]
    assert treated["lift_ci"][0] < treated["lift"] < treated["lift_ci"][1]
    assert 0 <= treated["p_value"] <= 1 and 0 <= treated["sequential_p_value"] <= 1


def test_the_endpoint_serves_the_page(
    store: tuple[Database, Settings], read_page: Callable[..., dict[str, Any]]
) -> None:
    db, settings = store
    with TestClient(create_app(settings, db)) as client:
        body = read_page(
            client, PATH, {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T00:00:00Z"}
        )
    assert body["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T00:00:00Z"}
    assert body["previous"] == {"from": "2026-09-01T00:00:00Z", "to": "2026-10-01T00:00:00Z"}
    assert set(body) >= {
        "kpis", "by_strategy", "by_context", "by_position", "experiments", "bundles",
        "computed_at", "stale",
    }  # fmt: skip
    assert body["kpis"]["impressions"]["value"] > 0


# -- a hand-made case (these tests empty the database: they come last) ----------------------

# Recent days: their recommendations are computed live, not read from the rollup of closed
# days (which, by design, does not revisit a closed day for a late event).
BASE = utcnow().replace(second=0, microsecond=0)
T_PREVIOUS = BASE - timedelta(days=33)
T_CURRENT = BASE - timedelta(days=3)
FROM, TO = (BASE - timedelta(days=30)).isoformat() + "Z", BASE.isoformat() + "Z"


def _log(rid: str, at: datetime, strategy: str) -> dict[str, Any]:
    return {
        "recommendation_id": rid, "user_id": "u1", "context": "home", "strategy": strategy,
        "request": {}, "created_at": at,
        "items": [{"product_id": p, "rank": k, "score": 1.0, "reason_kind": "x"}
                  for k, p in enumerate(("P1", "P2"), start=1)],
    }  # fmt: skip


def _event(event_id: str, kind: str, rid: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id, "type": kind, "user_id": "u1", "recommendation_id": rid,
        "timestamp": at.isoformat() + "Z", **extra,
    }  # fmt: skip


@pytest.fixture
def track(dash_write_headers: dict[str, str]) -> Callable[[TestClient, list[Any]], None]:
    """Post a batch of events with the write key; every one must be accepted."""

    def post(client: TestClient, events: list[dict[str, Any]]) -> None:
        got = client.post(
            "/analytics/track-activity", json={"batch": events}, headers=dash_write_headers
        )
        assert got.status_code == 200 and got.json()["accepted"] == len(events), got.text

    return post


@pytest.fixture
def hand_made(
    db: Database,
    make_settings: Callable[..., Settings],
    track: Callable[[TestClient, list[Any]], None],
) -> Iterator[TestClient]:
    """One list viewed in the previous period; two in the period, one of them clicked."""
    settings = make_settings(dashboard_refresh_seconds=0.0)
    with db.write() as conn:
        conn.execute(
            insert(L),
            [_log("r1", T_PREVIOUS, "popular"), _log("r2", T_CURRENT, "hybrid"),
             _log("r3", T_CURRENT, "hybrid")],
        )  # fmt: skip
    with TestClient(create_app(settings, db)) as client:
        track(
            client,
            [_event("v1", "recommendation_view", "r1", T_PREVIOUS),
             _event("v2", "recommendation_view", "r2", T_CURRENT),
             _event("v3", "recommendation_view", "r3", T_CURRENT),
             _event("c2", "recommendation_click", "r2", T_CURRENT, position=1)],
        )  # fmt: skip
        yield client


@pytest.fixture
def page(
    hand_made: TestClient, read_page: Callable[..., dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """The page for October, read afresh on each call."""
    return lambda: read_page(hand_made, PATH, {"from": FROM, "to": TO})


def test_the_previous_period_comparison(page: Callable[[], dict[str, Any]]) -> None:
    kpis = page()["kpis"]
    assert kpis["impressions"] == {"value": 2, "previous": 1, "change": 1.0}
    assert kpis["clicks"] == {"value": 1, "previous": 0, "change": None}
    assert kpis["ctr"] == {"value": 0.5, "previous": 0.0, "change": None}


def test_new_events_reach_the_cached_page(
    hand_made: TestClient,
    page: Callable[[], dict[str, Any]],
    track: Callable[[TestClient, list[Any]], None],
) -> None:
    first = page()
    again = page()
    assert again["computed_at"] == first["computed_at"] and again["stale"] is False
    assert again["kpis"]["impressions"]["value"] == 2
    track(hand_made, [_event("v4", "recommendation_view", "r3", T_CURRENT + timedelta(hours=1))])
    stale = page()  # the old figures, flagged, while new ones are computed
    assert stale["stale"] is True and stale["kpis"]["impressions"]["value"] == 2
    CACHE.wait()
    fresh = page()
    assert fresh["stale"] is False and fresh["computed_at"] != first["computed_at"]
    assert fresh["kpis"]["impressions"]["value"] == 3

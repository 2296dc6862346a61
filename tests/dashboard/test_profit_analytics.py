"""``GET /dashboard/profit-analytics``: on a generated store its figures are the profit
engine's, and revenue per user and the margin totals match plain SQL over the orders; on a
hand-made case the previous-period comparison is counted by hand; the cache serves new
figures after its TTL even when the data version did not move (the secret key and bad
periods: test_overview.py, for every page)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, func, insert, select

from shopsense.api.app import create_app
from shopsense.dashboard.cache import CACHE, DashboardCache
from shopsense.dashboard.period import Period
from shopsense.dashboard.profit import profit_analytics
from shopsense.db.models import identities_table as I
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.db.models import products_table as P
from shopsense.db.models import refund_items_table as RI
from shopsense.db.models import refunds_table as R
from shopsense.db.session import Database
from shopsense.demo import StoreSpec
from shopsense.profiles import ProfileEngine
from shopsense.profit.engine import ProfitOptimizationEngine
from shopsense.profit.margins import margin_analysis
from shopsense.settings import Settings

SPEC = StoreSpec(users=600, products=80, days=60, seed=9)
OCTOBER = Period(datetime(2026, 10, 2), datetime(2026, 11, 2))  # previous: September
NOW = datetime(2026, 11, 2)
PATH = "/dashboard/profit-analytics"

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture(scope="module")
def store(
    generated: Callable[..., AbstractContextManager[tuple[Database, Settings]]],
) -> Iterator[tuple[Database, Settings]]:
    with generated(SPEC) as (db, settings):
        ProfileEngine(db, settings).rebuild(NOW)
        yield db, settings


def _plain_sql(db: Database, period: Period) -> dict[str, float]:
    """Net revenue, gross margin and buyers of the period's non-cancelled orders, in SQL:
    lines at price x quantity, less refunded amounts; cost of the lines less the cost of
    the refunded items; a buyer is the user, else the user their browser was merged into,
    else the browser."""
    placed = and_(
        O.c.status != "cancelled", O.c.placed_at >= period.start, O.c.placed_at < period.end
    )
    cost = func.coalesce(P.c.cost, OI.c.price * 0.6)
    with db.read() as conn:
        revenue, cogs = conn.execute(
            select(func.sum(OI.c.price * OI.c.quantity), func.sum(cost * OI.c.quantity))
            .select_from(
                OI.join(O, O.c.order_id == OI.c.order_id).outerjoin(
                    P, P.c.product_id == OI.c.product_id
                )
            )
            .where(placed)
        ).one()
        refunds = conn.execute(select(func.sum(O.c.refunded_amount)).where(placed)).scalar()
        returned = conn.execute(
            select(func.sum(func.coalesce(P.c.cost, RI.c.price * 0.6) * RI.c.quantity))
            .select_from(
                RI.join(R, R.c.refund_id == RI.c.refund_id)
                .join(O, O.c.order_id == R.c.order_id)
                .outerjoin(P, P.c.product_id == RI.c.product_id)
            )
            .where(placed)
        ).scalar()
        person = func.coalesce(O.c.user_id, I.c.user_id, O.c.anonymous_id)
        buyers = conn.execute(
            select(func.count(func.distinct(person)))
            .select_from(O.outerjoin(I, I.c.anonymous_id == O.c.anonymous_id))
            .where(and_(placed, O.c.order_id.in_(select(OI.c.order_id))))
        ).scalar_one()
    net = float(revenue or 0) - float(refunds or 0)
    margin = net - (float(cogs or 0) - float(returned or 0))
    return {"net_revenue": net, "gross_margin": margin, "buyers": buyers}


def test_figures_match_plain_sql(store: tuple[Database, Settings]) -> None:
    db, settings = store
    page = profit_analytics(db, OCTOBER, NOW, settings)
    kpis = page["kpis"]
    for period, side in ((OCTOBER, "value"), (OCTOBER.previous, "previous")):
        sql = _plain_sql(db, period)
        assert sql["buyers"] > 0
        assert kpis["buyers"][side] == sql["buyers"]
        assert kpis["net_revenue"][side] == pytest.approx(sql["net_revenue"], abs=0.01)
        assert kpis["gross_margin"][side] == pytest.approx(sql["gross_margin"], abs=0.01)
        assert kpis["revenue_per_user"][side] == pytest.approx(
            sql["net_revenue"] / sql["buyers"], abs=0.005
        )


def test_figures_are_the_engines(store: tuple[Database, Settings]) -> None:
    db, settings = store
    page = profit_analytics(db, OCTOBER, NOW, settings)
    assert page["period"] == {"from": OCTOBER.start, "to": OCTOBER.end}
    assert page["computed_at"] == NOW and page["stale"] is False
    engine = ProfitOptimizationEngine(db, settings)
    report = engine.report(OCTOBER.start, OCTOBER.end, now=NOW)
    before = engine.report(OCTOBER.previous.start, OCTOBER.previous.end, now=NOW)
    with db.read() as conn:
        totals = margin_analysis(conn, OCTOBER.start, OCTOBER.end, by=[]).totals
    assert page["margins"]["totals"] == report["revenue"]
    assert page["margins"]["totals"]["gross_margin"] == totals["gross_margin"] > 0
    assert page["margins"]["by_category"] == report["margins"]["category"]
    for key in ("revenue_per_user", "gross_margin", "margin_pct", "orders"):
        want = report["revenue"][key], before["revenue"][key]
        assert (page["kpis"][key]["value"], page["kpis"][key]["previous"]) == want
    rpu = page["kpis"]["revenue_per_user"]
    assert rpu["change"] == pytest.approx((rpu["value"] - rpu["previous"]) / rpu["previous"])
    assert page["acquisition"] == report["marketing"]
    paid = [c for c in page["acquisition"] if c["spend"] > 0]
    assert paid and all(c["cac"] is not None and c["roi"] is not None for c in paid)
    spend = sum(c["spend"] for c in report["marketing"])
    assert page["kpis"]["marketing_spend"]["value"] == pytest.approx(spend, abs=0.01)
    assert page["inventory"]["totals"] == report["inventory"]["totals"]
    assert page["kpis"]["inventory_turnover"]["value"] == report["inventory"]["totals"]["turnover"]
    assert (
        page["kpis"]["inventory_dead_stock_value"]["value"]
        == (report["inventory"]["totals"]["dead_stock_value"])
    )
    assert len(page["opportunities"]) == 10
    assert [o["title"] for o in page["opportunities"]] == [
        o["title"] for o in report["opportunities"][:10]
    ]


def test_the_endpoint_serves_the_page(
    store: tuple[Database, Settings], read_page: Callable[..., dict[str, Any]]
) -> None:
    db, settings = store
    with TestClient(create_app(settings, db)) as client:
        body = read_page(
            client, PATH, {"from": "2026-10-02T00:00:00Z", "to": "2026-11-02T00:00:00Z"}
        )
    assert body["previous"] == {"from": "2026-09-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}
    assert set(body) >= {
        "kpis", "margins", "acquisition", "inventory", "opportunities", "computed_at", "stale"
    }  # fmt: skip
    assert body["kpis"]["revenue_per_user"]["value"] > 0


# -- a hand-made case (these tests empty the database: they come last) ----------------------

FROM, TO = "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"
MUG = {"product_id": "P1", "name": "Mug", "price": 10.0, "cost": 4.0, "category": "Home/Kitchen"}


def _purchase(order: str, user: str, at: str, quantity: int) -> dict[str, Any]:
    return {
        "event_id": f"buy-{order}", "type": "purchase", "user_id": user, "order_id": order,
        "timestamp": at, "items": [{"product_id": "P1", "quantity": quantity, "price": 10.0}],
    }  # fmt: skip


@pytest.fixture
def hand_made(
    db: Database,
    make_settings: Callable[..., Settings],
    dash_secret_headers: dict[str, str],
    dash_write_headers: dict[str, str],
) -> Iterator[tuple[Database, TestClient]]:
    """September: alice buys 2 mugs (20, margin 12). October: alice buys 1 (10), bob 5
    (50): revenue per user 30, margin 36. The cache lives 1 s."""
    settings = make_settings(dashboard_cache_seconds=1.0)
    with TestClient(create_app(settings, db)) as client:
        put = client.put("/catalog/products", json=[MUG], headers=dash_secret_headers)
        assert put.status_code == 200, put.text
        events = [
            _purchase("O1", "alice", "2026-09-10T10:00:00Z", 2),
            _purchase("O2", "alice", "2026-10-05T10:00:00Z", 1),
            _purchase("O3", "bob", "2026-10-06T10:00:00Z", 5),
        ]
        got = client.post(
            "/analytics/track-activity", json={"batch": events}, headers=dash_write_headers
        )
        assert got.status_code == 200 and got.json()["accepted"] == 3, got.text
        yield db, client


@pytest.fixture
def page(
    hand_made: tuple[Database, TestClient], read_page: Callable[..., dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """The page for October, read afresh on each call."""
    return lambda: read_page(hand_made[1], PATH, {"from": FROM, "to": TO})


def test_the_previous_period_comparison(page: Callable[[], dict[str, Any]]) -> None:
    kpis = page()["kpis"]
    assert kpis["revenue_per_user"] == {"value": 30.0, "previous": 20.0, "change": 0.5}
    assert kpis["gross_margin"] == {"value": 36.0, "previous": 12.0, "change": 2.0}
    assert kpis["margin_pct"] == {"value": 0.6, "previous": 0.6, "change": 0.0}
    assert kpis["buyers"] == {"value": 2, "previous": 1, "change": 1.0}
    assert kpis["orders"] == {"value": 2, "previous": 1, "change": 1.0}


def test_the_cache_refreshes_after_its_ttl(
    hand_made: tuple[Database, TestClient], page: Callable[[], dict[str, Any]]
) -> None:
    db, _ = hand_made
    first = page()
    assert first["kpis"]["revenue_per_user"]["value"] == 30.0
    # An order written straight into the derived tables: no new event, so the data
    # version stays; only the TTL brings it in.
    with db.write() as conn:
        conn.execute(
            insert(O),
            [{"order_id": "O4", "event_id": "none", "user_id": "carol",
              "placed_at": datetime(2026, 10, 7, 10), "status": "placed", "revenue": 60.0}],
        )  # fmt: skip
        conn.execute(
            insert(OI), [{"order_id": "O4", "line": 1, "product_id": "P1", "quantity": 6,
                          "price": 10.0}]
        )  # fmt: skip
    cached = page()
    assert cached["stale"] is False and cached["computed_at"] == first["computed_at"]
    assert cached["kpis"]["revenue_per_user"]["value"] == 30.0
    time.sleep(1.05)
    stale = page()
    assert stale["stale"] is True and stale["kpis"]["revenue_per_user"]["value"] == 30.0
    CACHE.wait()
    fresh = page()
    assert fresh["stale"] is False and fresh["computed_at"] != first["computed_at"]
    assert fresh["kpis"]["revenue_per_user"]["value"] == 40.0  # (10 + 50 + 60) / 3
    assert fresh["kpis"]["buyers"]["value"] == 3


def test_an_old_entry_is_recomputed_before_it_is_served(
    page: Callable[[], dict[str, Any]],
) -> None:
    first = page()
    time.sleep(2.05)  # twice the TTL
    again = page()
    assert again["stale"] is False and again["computed_at"] != first["computed_at"]


def test_concurrent_requests_share_one_computation(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    cache, settings = DashboardCache(), make_settings()
    calls: list[Period] = []
    gate = threading.Event()
    answers: list[dict[str, Any]] = []

    def compute(period: Period, now: datetime) -> dict[str, Any]:
        calls.append(period)
        gate.wait(10)
        return {"figure": len(calls)}

    def request() -> None:
        answers.append(cache.get("test", db, OCTOBER, NOW, settings, compute, ("events",)))

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert calls == [OCTOBER]
    assert answers == [{"figure": 1, "computed_at": NOW, "stale": False}] * 4


def test_a_failed_computation_is_not_kept(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    cache, settings = DashboardCache(), make_settings()
    outcomes: list[Any] = [ValueError("no figures"), {"figure": 2}]

    def compute(period: Period, now: datetime) -> dict[str, Any]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        answer: dict[str, Any] = outcome
        return answer

    with pytest.raises(ValueError, match="no figures"):
        cache.get("test", db, OCTOBER, NOW, settings, compute, ("events",))
    got = cache.get("test", db, OCTOBER, NOW, settings, compute, ("events",))
    assert got == {"figure": 2, "computed_at": NOW, "stale": False}

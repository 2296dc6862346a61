"""CAC, ROI, CLV:CAC and payback per channel counted by hand on a small store: four
customers first seen in January (two from google / cpc, one from facebook / paid_social,
one direct), spend on two channels, one order each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from shopsense.clock import utcnow
from shopsense.db.models import profiles_table
from shopsense.db.session import Database
from shopsense.profiles import ProfileEngine
from shopsense.profit.engine import ProfitOptimizationEngine
from shopsense.settings import Settings

START, END = datetime(2026, 1, 1), datetime(2026, 2, 1)
PRODUCTS = [
    {"product_id": "P1", "name": "Mug", "price": 10.0, "cost": 4.0, "category": "Home"},
    {"product_id": "P2", "name": "Hose", "price": 20.0, "cost": 12.0, "category": "Garden"},
]
GOOGLE = {"utm_source": "google", "utm_medium": "cpc"}
FACEBOOK = {"utm_source": "facebook", "utm_medium": "paid_social"}
# (user, first-session campaign, day, items): margins P1 10 - 4 = 6, P2 20 - 12 = 8.
CUSTOMERS = [
    ("alice", GOOGLE, 3, [("P1", 2)]),  # margin 12
    ("carol", GOOGLE, 5, [("P2", 1)]),  # margin 8
    ("bob", FACEBOOK, 4, [("P1", 1), ("P2", 1)]),  # margin 14
    ("dan", {}, 6, [("P1", 1)]),  # margin 6, direct
]
SPEND = [
    {"date": "2026-01-02", "channel": "google", "campaign": "brand", "amount": 40.0},
    {"date": "2026-01-09", "channel": "google", "campaign": "brand", "amount": 20.0},
    {"date": "2026-01-03", "channel": "facebook", "campaign": "winter", "amount": 50.0},
]
PRICE = {"P1": 10.0, "P2": 20.0}
CLV = {"alice": 120.0, "carol": 60.0, "bob": 200.0, "dan": 30.0}


def _events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for user, campaign, day, items in CUSTOMERS:
        at = f"2026-01-{day:02d}T10:00:00Z"
        page: dict[str, Any] = {"event_id": f"pv-{user}", "type": "page_view", "user_id": user,
                                "session_id": f"s-{user}", "timestamp": at}  # fmt: skip
        if campaign:
            page["context"] = campaign
        events.append(page)
        events.append(
            {"event_id": f"buy-{user}", "type": "purchase", "user_id": user,
             "session_id": f"s-{user}", "order_id": f"O-{user}",
             "timestamp": f"2026-01-{day:02d}T10:05:00Z",
             "items": [{"product_id": p, "quantity": q, "price": PRICE[p]} for p, q in items]}
        )  # fmt: skip
    return events


@pytest.fixture
def report(
    client: TestClient,
    db: Database,
    settings: Settings,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
) -> dict[str, Any]:
    assert client.put("/catalog/products", json=PRODUCTS, headers=secret_headers).status_code == 200
    answer = client.post(
        "/analytics/track-activity", json={"batch": _events()}, headers=write_headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 8
    assert client.post("/marketing/spend", json=SPEND, headers=secret_headers).status_code == 200
    ProfileEngine(db, settings).rebuild(END)
    with db.write() as conn:  # the 12-month CLV each customer is predicted, set by hand
        for user, clv in CLV.items():
            conn.execute(
                update(profiles_table)
                .where(profiles_table.c.user_id == user)
                .values(predicted_clv_12m=clv)
            )
    return ProfitOptimizationEngine(db, settings).report(START, END, now=utcnow())


def test_cac_roi_clv_cac_and_payback_by_hand(report: dict[str, Any]) -> None:
    channels = {c["channel"]: c for c in report["marketing"]}
    google, facebook = channels["google"], channels["facebook"]
    # spend 40 + 20 = 60 for two new customers; 50 for one
    assert google["spend"] == pytest.approx(60.0)
    assert google["new_customers"] == 2
    assert google["cac"] == pytest.approx(30.0)
    assert facebook["spend"] == pytest.approx(50.0)
    assert facebook["new_customers"] == 1
    assert facebook["cac"] == pytest.approx(50.0)
    # ROI = gross margin of the acquired customers' orders / spend
    assert google["gross_margin"] == pytest.approx(12.0 + 8.0)
    assert google["roi"] == pytest.approx(20.0 / 60.0, abs=1e-4)
    assert facebook["gross_margin"] == pytest.approx(14.0)
    assert facebook["roi"] == pytest.approx(14.0 / 50.0, abs=1e-4)
    # CLV:CAC with the mean predicted CLV of the channel's new customers; payback in months
    assert google["mean_clv"] == pytest.approx(90.0)
    assert google["clv_cac"] == pytest.approx(90.0 / 30.0, abs=1e-3)
    assert google["payback_months"] == pytest.approx(30.0 / (90.0 / 12), abs=0.05)
    assert facebook["clv_cac"] == pytest.approx(200.0 / 50.0, abs=1e-3)
    assert facebook["payback_months"] == pytest.approx(50.0 / (200.0 / 12), abs=0.05)
    # the budget goes toward the better CLV:CAC
    assert facebook["budget_advice"] == "shift budget here"
    assert google["budget_advice"] == "shift budget to facebook"


def test_revenue_per_user_by_hand(report: dict[str, Any]) -> None:
    revenue = report["revenue"]
    # 20 + 20 + 30 + 10 = 80 from four buyers
    assert revenue["revenue"] == pytest.approx(80.0)
    assert revenue["buyers"] == 4
    assert revenue["revenue_per_user"] == pytest.approx(20.0)
    assert revenue["gross_margin"] == pytest.approx(40.0)


def test_a_from_date_starts_at_the_beginning_of_that_day(
    report: dict[str, Any], client: TestClient, secret_headers: dict[str, str]
) -> None:
    """``from=2026-01-03`` counts alice, first seen on the 3rd at 10:00 (a plain ``to``
    date is the end of that day)."""
    answer = client.get(
        "/analytics/profit-optimization",
        params={"from": "2026-01-03", "to": "2026-01-03"},
        headers=secret_headers,
    )
    assert answer.status_code == 200, answer.text
    google = {c["channel"]: c for c in answer.json()["marketing"]}["google"]
    assert google["new_customers"] == 1
    assert google["spend"] == pytest.approx(0.0)


def test_a_to_date_keeps_that_days_spend(
    report: dict[str, Any], client: TestClient, secret_headers: dict[str, str]
) -> None:
    """``to=2026-01-09`` is the end of the 9th: google's 20 spent that day counts."""
    answer = client.get(
        "/analytics/profit-optimization",
        params={"from": "2026-01-01", "to": "2026-01-09"},
        headers=secret_headers,
    )
    assert answer.status_code == 200, answer.text
    google = {c["channel"]: c for c in answer.json()["marketing"]}["google"]
    assert google["spend"] == pytest.approx(60.0)

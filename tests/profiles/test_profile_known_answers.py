"""Profiles on a hand-made store, every figure computed by hand in the comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopsense.db.session import Database
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings

AS_OF = datetime(2026, 10, 31, 12, 0)
CATALOG = [
    # Category Home/Mugs: prices 5, 10, 20 -> price percentiles 0, 0.5, 1.
    {"product_id": "M1", "category": "Home/Mugs", "brand": "Acme", "price": 5},
    {"product_id": "M2", "category": "Home/Mugs", "brand": "Acme", "price": 10},
    {"product_id": "M3", "category": "Home/Mugs", "brand": "Zed", "price": 20},
    {"product_id": "T1", "category": "Toys", "brand": "Zed", "price": 8},
]
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _event(n: int, type_: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e{n}", "type": type_, "user_id": "ann", "timestamp": ts, **fields}


EVENTS = [
    # Session s1 on Friday 2026-10-02, 09:00-09:10 UTC = 10:00-10:10 in London (BST).
    _event(1, "product_view", "2026-10-02T09:00:00Z", product_id="M1", session_id="s1",
           context={"user_agent": IPHONE, "time_spent": 20}),
    _event(2, "product_view", "2026-10-02T09:04:00Z", product_id="M3", session_id="s1",
           context={"user_agent": IPHONE}),
    _event(3, "add_to_cart", "2026-10-02T09:06:00Z", product_id="M1", session_id="s1",
           context={"user_agent": IPHONE}),
    _event(4, "purchase", "2026-10-02T09:10:00Z", session_id="s1", order_id="O1",
           items=[{"product_id": "M1", "quantity": 2, "price": 5},
                  {"product_id": "M2", "price": 10}],
           context={"user_agent": IPHONE, "time_spent": 30}),
    # Session s2 on Monday 2026-10-12 at 09:30 UTC = 10:30 London, on a desktop.
    _event(5, "purchase", "2026-10-12T09:30:00Z", session_id="s2", order_id="O2",
           items=[{"product_id": "M2", "price": 10}], coupon="TEN", discount=1,
           context={"device_type": "desktop", "browser": "Firefox"}),
    _event(6, "order_refunded", "2026-10-13T09:00:00Z", session_id="s2", order_id="O2",
           revenue=4, context={"device_type": "desktop", "browser": "Firefox"}),
    # After as_of: must not count.
    _event(7, "purchase", "2026-11-05T09:00:00Z", session_id="s3", order_id="O3",
           items=[{"product_id": "T1", "price": 8}]),
]  # fmt: skip


@pytest.fixture
def engine(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
    settings: Settings,
) -> ProfileEngine:
    assert (
        client.put("/catalog/products", json=CATALOG, headers=secret_headers).json()["upserted"]
        == 4
    )
    answer = client.post("/analytics/track-activity", json={"batch": EVENTS}, headers=write_headers)
    assert answer.json()["accepted"] == len(EVENTS)
    return ProfileEngine(db, settings.model_copy(update={"timezone": "Europe/London"}))


def test_counts_money_and_frequency(engine: ProfileEngine) -> None:
    p = engine.profile("ann", AS_OF)
    assert p["events"] == 6 and p["sessions"] == 2
    assert p["events_by_type"] == {
        "product_view": 2, "add_to_cart": 1, "purchase": 2, "order_refunded": 1,
    }  # fmt: skip
    # O1 = 2 x 5 + 10 = 20; O2 = 10 - 1 discount = 9, refunded 4 -> net 25.
    assert p["orders"] == 2
    assert p["revenue"] == 25.0 and p["refunded"] == 4.0 and p["aov"] == 12.5
    # 30 x 2 orders / max(29.125 days since first seen, 30) = 2.0
    assert p["purchase_frequency"]["orders_per_30d"] == 2.0
    # Orders 10 days and 20 minutes apart.
    assert p["purchase_frequency"]["mean_interpurchase_days"] == pytest.approx(10.01, abs=0.01)
    # Last order 2026-10-12 09:30, as_of 2026-10-31 12:00 -> 19.1 days.
    assert p["recency_days"] == pytest.approx(19.1, abs=0.01)


def test_time_device_and_interest(engine: ProfileEngine) -> None:
    p = engine.profile("ann", AS_OF)
    # Sessions start at 10:00 (s1, Friday) and 10:30 (s2, Monday) London time.
    assert p["preferred_hour"] == 10 and p["preferred_hours"][10] == 1.0
    # One start on Monday (0), one on Friday (4): a tie goes to the earlier day.
    assert p["preferred_days"] == [0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0]
    assert p["preferred_day"] == 0
    assert p["devices"] == {
        "mobile": pytest.approx(4 / 6, abs=1e-4),
        "desktop": pytest.approx(2 / 6, abs=1e-4),
    }
    assert p["main_device"] == "mobile"
    assert p["browsers"]["Firefox"] == pytest.approx(2 / 6, abs=1e-4)
    # Interest: views M1, M3 (1 each), cart M1 (2), bought lines M1, M2, M2 (3 each) = 14,
    # all in Home/Mugs.
    assert p["top_categories"] == [{"name": "Home/Mugs", "share": 1.0}]
    # Brands: Acme 1 + 2 + 3 x 3 = 12, Zed 1 -> 12/13.
    assert p["top_brands"][0] == {"name": "Acme", "share": pytest.approx(12 / 13, abs=1e-4)}


def test_loyalty_price_and_engagement(engine: ProfileEngine) -> None:
    p = engine.profile("ann", AS_OF)
    # Bought lines M1, M2, M2 are all Acme. Brand choices: views M1 (Acme), M3 (Zed) and
    # the three lines -> Acme 4 of 5; score (4 + 3 x 0.2) / (5 + 3) = 0.575.
    assert p["brand_loyalty"] == {
        "score": 0.575, "evidence": 5,
        "top_brand_share": 1.0, "concentration_hhi": 1.0, "switch_rate": 0.0,
    }  # fmt: skip
    ps = p["price_sensitivity"]
    # Percentiles of bought lines: M1 0, M2 0.5, M2 0.5 -> 1/3; one order of two discounted.
    assert ps["price_percentile"] == pytest.approx(1 / 3, abs=1e-4)
    assert ps["discount_share"] == 0.5
    # 0.8 x (1 - 1/3) + 0.1 x 0.5 = 0.5833; percentile 1/3 is not below 1/3 -> mid.
    assert ps["score"] == pytest.approx(0.5833, abs=1e-4)
    assert ps["tier"] == "mid"
    e = p["engagement"]
    # s1: 10 minutes + 30 s on the last page = 630 s; s2: 23.5 h span = 84,600 s.
    assert e["mean_session_seconds"] == pytest.approx((630 + 84_600) / 2, abs=0.1)
    assert e["events_per_session"] == 3.0
    assert e["view_to_cart"] == 0.5
    assert e["recommendation_ctr"] is None


def test_loyalty_counts_brand_pages_not_recommended_views(
    client: TestClient, write_headers: dict[str, str], engine: ProfileEngine
) -> None:
    bob = [
        {"type": "brand_browse", "brand": "Zed"},
        {"type": "product_view", "product_id": "M3", "recommendation_id": "r1"},
        {"type": "product_view", "product_id": "M1"},
    ]
    batch = [
        {**e, "event_id": f"b{n}", "user_id": "bob", "timestamp": f"2026-10-20T10:0{n}:00Z"}
        for n, e in enumerate(bob)
    ]
    assert (
        client.post(
            "/analytics/track-activity", json={"batch": batch}, headers=write_headers
        ).json()["accepted"]
        == 3
    )
    loyalty = engine.profile("bob", AS_OF)["brand_loyalty"]
    # Zed's brand page and the M1 (Acme) view count; the recommended M3 view does not:
    # top 1 of 2 -> (1 + 0.6) / (2 + 3) = 0.32. No purchases: no purchase measures.
    assert loyalty == {
        "score": 0.32, "evidence": 2,
        "top_brand_share": None, "concentration_hhi": None, "switch_rate": None,
    }  # fmt: skip


def test_as_of_excludes_later_events(engine: ProfileEngine) -> None:
    early = engine.profile("ann", datetime(2026, 10, 5))
    assert early["orders"] == 1 and early["revenue"] == 20.0
    later = engine.profile("ann", datetime(2026, 11, 30))
    assert later["orders"] == 3


def test_a_tracked_event_shows_at_once(
    engine: ProfileEngine, client: TestClient, write_headers: dict[str, str]
) -> None:
    before = engine.profile("ann")["events"]
    event = {"type": "product_view", "user_id": "ann", "product_id": "T1"}
    client.post("/analytics/track-activity", json=event, headers=write_headers)
    assert engine.profile("ann")["events"] == before + 1


def test_profile_endpoint_and_errors(
    engine: ProfileEngine, client: TestClient, secret_headers: dict[str, str],
    write_headers: dict[str, str],
) -> None:  # fmt: skip
    answer = client.get("/analytics/user-profile/ann?as_of=2026-10-31", headers=secret_headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["as_of"] == "2026-10-31T23:59:59.999999Z"
    assert body["orders"] == 2 and body["clv"]["historical"] == 25.0
    assert set(body["segment"]) >= {"value", "lifecycle", "rfm", "thresholds"}
    assert client.get("/analytics/user-profile/nobody", headers=secret_headers).status_code == 404
    bad = client.get("/analytics/user-profile/ann?as_of=yesterday", headers=secret_headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "as_of"]
    assert client.get("/analytics/user-profile/ann", headers=write_headers).status_code == 403

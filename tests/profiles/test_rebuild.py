"""The set-based rebuild and the on-read profile are the same function: they must agree for
every user, and the segment listing must partition the users."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shopsense.db.models import model_state_table, profiles_table
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings

AS_OF = datetime(2026, 11, 1, 12, 0)


@pytest.fixture
def engine(db: Database, settings: Settings) -> ProfileEngine:
    generate_store(db, StoreSpec(users=300, products=80, days=45, seed=7), settings=settings)
    return ProfileEngine(db, settings)


def test_rebuild_matches_on_read_profiles(engine: ProfileEngine, db: Database) -> None:
    summary = engine.rebuild(AS_OF)
    assert summary.users > 250 and summary.buyers > 0
    with db.read() as conn:
        stored = {r["user_id"]: r for r in conn.execute(select(profiles_table)).mappings()}
        assert conn.execute(select(func.count()).select_from(model_state_table)).scalar_one() == 1
    assert len(stored) == summary.users
    for user_id in sorted(stored)[:40]:
        fresh = engine.profile(user_id, AS_OF)
        row = stored[user_id]
        assert fresh["orders"] == row["orders"]
        assert fresh["revenue"] == pytest.approx(row["revenue"])
        assert fresh["preferred_hour"] == row["preferred_hour"]
        assert fresh["main_device"] == row["main_device"]
        assert fresh["price_sensitivity"]["score"] == row["price_sensitivity"]
        assert fresh["brand_loyalty"]["score"] == row["brand_loyalty"]
        assert fresh["engagement"]["score"] == row["engagement_score"]
        assert fresh["clv"]["predicted_12m"] == row["predicted_clv_12m"]
        assert fresh["segment"]["value"] == row["value_segment"]
        assert fresh["segment"]["lifecycle"] == row["lifecycle_segment"]
        assert fresh["segment"]["rfm"] == row["rfm_segment"]


def test_segments_partition_users_and_page(
    engine: ProfileEngine, client: TestClient, secret_headers: dict[str, str]
) -> None:
    engine.rebuild(AS_OF)
    body = client.get("/analytics/user-segments", headers=secret_headers).json()
    by_name = {s["segment"]: s for s in body["segments"]}
    value_total = sum(by_name[n]["users"] for n in ("high_value", "medium_value", "low_value"))
    assert value_total == body["users"]
    assert sum(s["revenue_share"] for s in body["segments"] if s["kind"] == "value") == (
        pytest.approx(1.0, abs=1e-3)
    )
    rfm = [s for s in body["segments"] if s["kind"] == "rfm"]
    assert len(rfm) == 11
    assert all(s["strategy"] and s["definition"] for s in body["segments"])

    wanted = by_name["low_value"]["users"]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/analytics/user-segments?segment=low_value&limit=50"
        page = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=secret_headers)
        assert page.status_code == 200
        seen += [u["user_id"] for u in page.json()["users"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == wanted == len(set(seen))
    assert seen == sorted(seen)
    unknown = client.get("/analytics/user-segments?segment=vip", headers=secret_headers)
    assert unknown.status_code == 404


def test_segments_at_an_earlier_as_of_use_no_later_data(
    engine: ProfileEngine, client: TestClient, secret_headers: dict[str, str]
) -> None:
    now = client.get("/analytics/user-segments?as_of=2026-11-01", headers=secret_headers).json()
    early = client.get("/analytics/user-segments?as_of=2026-10-01", headers=secret_headers).json()
    assert early["users"] < now["users"]

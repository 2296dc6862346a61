"""CAC by channel on a generated store equals the planted one exactly: spend per channel over
the new customers whose first session came from it."""

from __future__ import annotations

from datetime import datetime

from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profit.acquisition import NONE, cac_by_channel
from shopsense.settings import Settings


def test_planted_channel_cac_is_recovered_exactly(db: Database, db_url: str) -> None:
    truth = generate_store(
        db,
        StoreSpec(users=600, products=60, days=30, seed=3),
        settings=Settings(database_url=db_url, datasets=None, timezone="UTC"),
    )
    with db.read() as conn:
        rows = {
            r["channel"]: r
            for r in cac_by_channel(conn, datetime(2026, 1, 1), datetime(2027, 1, 1))
        }
    paid = {name: c for name, c in truth["channels"].items() if c["cac"] is not None}
    assert paid
    for name, planted in paid.items():
        got = rows[name]
        assert got["new_customers"] == planted["users_acquired"]
        assert got["spend"] == planted["spend"]
        assert got["cac"] == planted["cac"]
    free = sum(c["users_acquired"] for c in truth["channels"].values() if c["cac"] is None)
    assert rows[NONE]["new_customers"] == free - sum(
        c["users_acquired"] for n, c in truth["channels"].items()
        if c["cac"] is None and c["utm_source"] is not None
    )  # fmt: skip

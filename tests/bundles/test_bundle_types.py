"""Bundle types on hand-made histories, where the right answer is known by construction, and
the outcome of offers counted by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from sqlalchemy import insert

from shopsense.bundles import BundleAutomationEngine
from shopsense.bundles.baskets import LINE_SCHEMA
from shopsense.bundles.candidates import seasonal
from shopsense.bundles.outcomes import offer_outcomes
from shopsense.bundles.pricing import PRIOR_RESPONSE
from shopsense.bundles.rules import RULE_SCHEMA, StoredRules, mine_rules
from shopsense.bundles.signals import seasonal_lift
from shopsense.bundles.state import BundleData, build_data
from shopsense.db.models import bundle_recommendation_table, order_items_table, orders_table
from shopsense.db.session import Database
from shopsense.recommend.interactions import ITEM_SCHEMA
from shopsense.settings import Settings

CATEGORIES = {
    "X": "Home/Decor/Ornaments", "W": "Food/Sweets/Chocolate", "Z": "Garden/Outdoor/Hammocks",
    "V": "Sports/Swim/Swimwear", "Y": "Home/Kitchen/Mugs",
}  # fmt: skip


def _history() -> pl.DataFrame:
    """Two years: X (with W in three of four baskets) sells only in December 2025, Z (with V)
    only in June 2025, Y every week; nothing seasonal sells in 2026 before December."""
    rows: list[tuple[str, str, datetime]] = []
    for k in range(40):
        day = datetime(2025, 12, 3, 10) + timedelta(hours=8 * k)
        rows += [(f"x{k}", "X", day)] + ([(f"x{k}", "W", day)] if k % 4 else [])
        day = datetime(2025, 6, 3, 10) + timedelta(hours=8 * k)
        rows += [(f"z{k}", "Z", day)] + ([(f"z{k}", "V", day)] if k % 4 else [])
    week = datetime(2025, 1, 6, 12)
    while week < datetime(2026, 11, 30):
        rows.append((f"y{week:%Y%m%d}", "Y", week))
        week += timedelta(days=7)
    return pl.DataFrame([(b, i, t, 1, None) for b, i, t in rows], schema=LINE_SCHEMA, orient="row")


def _data(lines: pl.DataFrame) -> BundleData:
    rules, baskets, _, _ = mine_rules(lines, min_support=0.01, min_lift=1.5, max_len=3)
    items = pl.DataFrame(
        [
            {"item_id": i, "name": f"item {i}", "category": c, "price": 10.0, "cost": 5.0,
             "stock": 50, "active": True}
            for i, c in CATEGORIES.items()
        ],
        schema=ITEM_SCHEMA,
    )  # fmt: skip
    orders = StoredRules("hand", "orders", None, baskets, rules)
    sessions = StoredRules(None, "sessions", None, 0, pl.DataFrame(schema=RULE_SCHEMA))
    return build_data(items, orders, sessions, lines)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(datetime(2026, 12, 1), {"X", "W"}), (datetime(2026, 6, 1), {"Z", "V"})],
)
def test_seasonal_bundles_follow_the_coming_weeks(as_of: datetime, expected: set[str]) -> None:
    """Before December the Christmas pair, before June the summer pair: the same history,
    a different answer by ``as_of`` (calendar mode: last year covers the coming weeks)."""
    lines = _history().filter(pl.col("placed_at") < as_of)
    data = _data(lines)
    items = seasonal_lift(lines, as_of, horizon_days=28)
    by_category = lines.with_columns(pl.col("item").replace_strict(CATEGORIES))
    categories = seasonal_lift(by_category, as_of, horizon_days=28)
    assert items.mode == "calendar"
    found = seasonal(data, [], set(), 3, items, categories)
    assert found
    best = max(found, key=lambda b: b.strength)
    assert {data.catalog.ids[i] for i in best.items} == expected
    assert all("Y" not in {data.catalog.ids[i] for i in b.items} for b in found)
    assert "than over the year" in best.reason


def test_offer_outcomes_count_takes_by_hand(db: Database) -> None:
    """Taken: every product bought by the same user within 7 days after the offer."""
    offered = datetime(2026, 10, 1, 12)
    offers = [
        ("b-taken", "alice", ["P1", "P2"], 10.0),  # both bought on day 2
        ("b-half", "alice", ["P1", "P3"], 20.0),  # P3 never bought
        ("b-late", "bob", ["P1", "P2"], 0.0),  # bought on day 9: outside the window
        ("b-before", "carol", ["P2"], 5.0),  # bought the day before the offer
        ("b-other", "dave", ["P1"], 15.0),  # someone else bought it
    ]
    orders = [
        ("o1", "alice", offered + timedelta(days=2), ["P1", "P2"]),
        ("o2", "bob", offered + timedelta(days=9), ["P1", "P2"]),
        ("o3", "carol", offered - timedelta(days=1), ["P2"]),
        ("o4", "erin", offered + timedelta(days=1), ["P1"]),
    ]
    with db.write() as conn:
        conn.execute(
            insert(bundle_recommendation_table),
            [
                {"bundle_id": b, "type": "complementary", "user_id": u, "context": "home",
                 "products": [{"product_id": p, "name": p, "price": 10.0, "quantity": 1}
                              for p in products],
                 "list_price": 20, "bundle_price": 20 * (1 - d / 100), "discount_pct": d,
                 "expected_margin": 5, "expected_profit": 0.1, "take_rate": 0.2,
                 "base_rate": 0.1, "reason": "", "created_at": offered,
                 "valid_until": offered + timedelta(days=2)}
                for b, u, products, d in offers
            ],
        )  # fmt: skip
        conn.execute(
            insert(orders_table),
            [
                {"order_id": o, "event_id": f"e-{o}", "user_id": u, "placed_at": t,
                 "status": "placed", "revenue": 20, "discount": 0, "refunded_amount": 0}
                for o, u, t, _ in orders
            ],
        )  # fmt: skip
        conn.execute(
            insert(order_items_table),
            [
                {"order_id": o, "line": k, "product_id": p, "quantity": 1, "price": 10}
                for o, _, _, products in orders
                for k, p in enumerate(products)
            ],
        )
        outcomes = offer_outcomes(conn, offered + timedelta(days=30))
    taken = dict(zip(outcomes["bundle_id"], outcomes["taken"], strict=True))
    assert taken == {"b-taken": 1, "b-half": 0, "b-late": 0, "b-before": 0, "b-other": 0}
    discount = dict(zip(outcomes["bundle_id"], outcomes["discount"], strict=True))
    assert discount["b-half"] == pytest.approx(0.2)
    # Offers whose 7 days are not over yet are not judged.
    with db.read() as conn:
        assert offer_outcomes(conn, offered + timedelta(days=3)).height == 0


def test_the_engine_prices_with_the_response_fitted_from_offers(
    db: Database, settings: Settings
) -> None:
    """Enough offers with outcomes replace the prior: 600 offers of one product to 600
    users, each taken (a purchase two days later) with the planted logistic response 5."""
    rng = np.random.default_rng(3)
    offered = datetime(2026, 9, 1, 12)
    discount = rng.uniform(0.0, 0.3, 600)
    base = rng.uniform(0.05, 0.3, 600)
    logit = np.log(base / (1 - base)) + 5.0 * discount
    taken = rng.random(600) < 1 / (1 + np.exp(-logit))
    with db.write() as conn:
        conn.execute(
            insert(bundle_recommendation_table),
            [
                {"bundle_id": f"b{k}", "type": "complementary", "user_id": f"u{k}",
                 "context": "home",
                 "products": [{"product_id": "P1", "name": "P1", "price": 10.0, "quantity": 1}],
                 "list_price": 10, "bundle_price": round(10 * (1 - d), 2),
                 "discount_pct": round(100 * d, 4), "expected_margin": 3,
                 "expected_profit": 0.1, "take_rate": 0.2, "base_rate": float(q), "reason": "",
                 "created_at": offered, "valid_until": offered + timedelta(days=2)}
                for k, (d, q) in enumerate(zip(discount, base, strict=True))
            ],
        )  # fmt: skip
        takers = [k for k in range(600) if taken[k]]
        conn.execute(
            insert(orders_table),
            [
                {"order_id": f"o{k}", "event_id": f"e{k}", "user_id": f"u{k}",
                 "placed_at": offered + timedelta(days=2), "status": "placed", "revenue": 10,
                 "discount": 0, "refunded_amount": 0}
                for k in takers
            ],
        )  # fmt: skip
        conn.execute(
            insert(order_items_table),
            [
                {"order_id": f"o{k}", "line": 0, "product_id": "P1", "quantity": 1, "price": 10}
                for k in takers
            ],
        )
    served = BundleAutomationEngine(db, settings).served()
    assert served.response_fitted
    assert served.response == pytest.approx(5.0, abs=1.5)
    assert served.response != PRIOR_RESPONSE

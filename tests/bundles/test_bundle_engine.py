"""BundleAutomationEngine on a generated store, mined once for the module: every type is
answered with prices that respect the floor, the planted co-purchase groups come back, each
type keeps its definition, and every offer is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from shopsense.bundles import BundleAutomationEngine, BundleRequest, mine
from shopsense.bundles.rules import RUNS_KEPT, load_rules
from shopsense.db.models import (
    association_rule_table,
    bundle_recommendation_table,
    mining_run_table,
    order_items_table,
    orders_table,
    products_table,
)
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.errors import NotFound
from shopsense.settings import Settings

SPEC = StoreSpec(users=1000, products=120, days=60, seed=7)
AS_OF = datetime(2026, 11, 2)
FLOOR = 0.15
TYPES = {"complementary", "cross_sell", "upsell", "seasonal", "promotional"}


@pytest.fixture(scope="module")
def store(_database: Database, db_url: str, emptied: Any) -> Iterator[tuple[Database, Any]]:
    emptied(_database)
    settings = Settings(
        database_url=db_url, datasets=None, log_json=False, timezone="UTC",
        bundle_margin_floor=FLOOR,
    )  # fmt: skip
    truth = generate_store(_database, SPEC, settings=settings)
    summaries = mine(_database, settings)
    yield _database, (settings, json.loads(json.dumps(truth, default=str)), summaries)
    emptied(_database)


@pytest.fixture(scope="module")
def engine(store: tuple[Database, Any]) -> BundleAutomationEngine:
    db, (settings, _, _) = store
    return BundleAutomationEngine(db, settings)


@pytest.fixture(scope="module")
def products(store: tuple[Database, Any]) -> dict[str, dict[str, Any]]:
    db, _ = store
    with db.read() as conn:
        rows = conn.execute(select(products_table)).mappings().all()
    return {r["product_id"]: dict(r) for r in rows}


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [p["product_id"] for p in bundle["products"]]


def test_all_five_types_are_answered_with_prices_that_respect_the_floor(
    engine: BundleAutomationEngine, products: dict[str, dict[str, Any]]
) -> None:
    seen: set[str] = set()
    for product_id in sorted(products):
        answer = engine.bundles(BundleRequest(product_id=product_id, limit=10), as_of=AS_OF)
        for b in answer["bundles"]:
            seen.add(b["type"])
            cost = sum(products[p]["cost"] for p in _ids(b))
            price = b["bundle_price"]
            assert b["list_price"] == pytest.approx(sum(products[p]["price"] for p in _ids(b)))
            assert price <= b["list_price"] + 1e-9
            assert price - cost >= FLOOR * price - 0.01 or b["discount_pct"] == 0
            assert b["discount_pct"] <= 30.0 + 1e-9
            assert b["expected_margin"] == pytest.approx(price - cost, abs=0.01)
            assert b["expected_profit"] >= 0
            assert b["reason"]
    assert seen == TYPES


def test_the_planted_co_purchase_groups_are_recovered(
    store: tuple[Database, Any], engine: BundleAutomationEngine
) -> None:
    """Recall over the groups bought whole at least the run's minimum count of times."""
    db, (_, truth, summaries) = store
    min_count = next(s.min_count for s in summaries if s.source == "orders")
    eligible = hits = 0
    for group in truth["co_purchase_groups"]:
        members = group["products"]
        with db.read() as conn:
            whole = conn.execute(
                select(func.count()).select_from(
                    select(order_items_table.c.order_id)
                    .join(orders_table, orders_table.c.order_id == order_items_table.c.order_id)
                    .where(order_items_table.c.product_id.in_(members))
                    .where(orders_table.c.status != "cancelled")
                    .group_by(order_items_table.c.order_id)
                    .having(
                        func.count(func.distinct(order_items_table.c.product_id)) == len(members)
                    )
                    .subquery()
                )
            ).scalar_one()
        if whole < min_count:
            continue
        eligible += 1
        request = BundleRequest(
            product_id=members[0], types=["complementary"], max_size=len(members), limit=1
        )
        found = engine.bundles(request)["bundles"]
        hits += bool(found) and set(_ids(found[0])) == set(members)
    assert eligible >= 3
    assert hits / eligible >= 0.9


def test_cross_sell_never_returns_the_anchor_department(
    engine: BundleAutomationEngine, products: dict[str, dict[str, Any]]
) -> None:
    def department(p: str) -> str:
        return (products[p]["category"] or "").split("/")[0]

    found = 0
    for product_id in sorted(products):
        request = BundleRequest(product_id=product_id, types=["cross_sell"], limit=5)
        for b in engine.bundles(request)["bundles"]:
            found += 1
            assert _ids(b)[0] == product_id
            assert all(department(p) != department(product_id) for p in _ids(b)[1:])
    assert found > 0


def test_upsell_is_a_dearer_alternative_of_the_same_category_with_more_margin(
    engine: BundleAutomationEngine, products: dict[str, dict[str, Any]]
) -> None:
    found = 0
    for product_id, anchor in sorted(products.items()):
        request = BundleRequest(product_id=product_id, types=["upsell"], limit=5)
        for b in engine.bundles(request)["bundles"]:
            found += 1
            premium = products[_ids(b)[0]]
            assert premium["product_id"] != product_id
            assert premium["category"] == anchor["category"]
            assert premium["price"] >= 1.1 * anchor["price"]
            assert premium["price"] - premium["cost"] > anchor["price"] - anchor["cost"]
            for accessory in _ids(b)[1:]:
                assert products[accessory]["price"] < 0.5 * premium["price"]
    assert found > 0


def test_promotional_bundles_pair_a_slow_mover_with_a_best_seller(
    store: tuple[Database, Any], engine: BundleAutomationEngine
) -> None:
    _, (_, truth, _) = store
    data = engine.served().data
    pressure = engine.signals(data, AS_OF).pressure
    slow = set(pressure.filter("slow")["item"].to_list())
    units = dict(zip(data.catalog.ids, data.units.tolist(), strict=True))
    median = float(np.median([u for u in units.values() if u > 0]))
    answer = engine.bundles(BundleRequest(types=["promotional"], limit=20), as_of=AS_OF)
    assert answer["bundles"]
    for b in answer["bundles"]:
        lead, partner = _ids(b)
        assert lead in slow
        assert units[partner] >= median
    # The slow item with the most money in excess stock leads a bundle; most of the planted
    # overstocked slow movers do (in a store this small many items barely sell at all).
    leads = [_ids(b)[0] for b in answer["bundles"]]
    assert np.mean([p in leads for p in truth["slow_movers"]]) >= 0.5


def test_every_offer_is_stored(store: tuple[Database, Any], engine: BundleAutomationEngine) -> None:
    db, _ = store
    request = BundleRequest(user_id="U00001", session_id="S-1", cart=["P0001"], limit=5)
    answer = engine.bundles(request, as_of=datetime(2026, 12, 11, 10))
    assert answer["bundles"]
    with db.read() as conn:
        rows = {
            r["bundle_id"]: r
            for r in conn.execute(
                select(bundle_recommendation_table).where(
                    bundle_recommendation_table.c.bundle_id.in_(
                        [b["bundle_id"] for b in answer["bundles"]]
                    )
                )
            ).mappings()
        }
    assert len(rows) == len(answer["bundles"])
    for b in answer["bundles"]:
        row = rows[b["bundle_id"]]
        assert row["type"] == b["type"] and row["products"] == b["products"]
        assert row["bundle_price"] == pytest.approx(b["bundle_price"])
        assert row["discount_pct"] == pytest.approx(b["discount_pct"])
        assert row["expected_profit"] == pytest.approx(b["expected_profit"], abs=1e-4)
        assert (row["user_id"], row["session_id"], row["context"]) == ("U00001", "S-1", "cart")
        assert row["created_at"] == datetime(2026, 12, 11, 10)
        assert row["valid_until"] == datetime(2026, 12, 13, 10) == b["valid_until"]
        assert 0 < row["base_rate"] <= row["take_rate"] <= 1
        assert row["mining_id"] == answer["mining_id"]


def test_a_cart_is_never_offered_back_and_an_unknown_product_is_404(
    engine: BundleAutomationEngine,
) -> None:
    cart = ["P0001", "P0002"]
    for b in engine.bundles(BundleRequest(cart=cart, limit=10))["bundles"]:
        assert not set(_ids(b)) <= set(cart)
    with pytest.raises(NotFound):
        engine.bundles(BundleRequest(product_id="no-such-product"))


def test_mining_runs_are_stored_and_pruned(store: tuple[Database, Any]) -> None:
    db, (settings, _, summaries) = store
    for _ in range(RUNS_KEPT):
        mine(db, settings, sources=("orders",))
    with db.read() as conn:
        runs = (
            conn.execute(
                select(mining_run_table.c.mining_id).where(mining_run_table.c.source == "orders")
            )
            .scalars()
            .all()
        )
        stored = load_rules(conn, "orders")
        orphans = conn.execute(
            select(func.count())
            .select_from(association_rule_table)
            .where(association_rule_table.c.mining_id.not_in(
                select(mining_run_table.c.mining_id)
            ))
        ).scalar_one()  # fmt: skip
    assert len(runs) == RUNS_KEPT and summaries[0].mining_id not in runs
    assert orphans == 0
    assert stored.rules.height == summaries[0].rules
    assert (stored.rules["lift"] >= settings.bundle_min_lift).all()

"""On a generated store, recommendations carry each customer's planted taste: their
favourite departments and, for brand-loyal customers, their favourite brand, at a rate
well above what popularity shows the same customers (figures of a 600-customer store in
the comments; ``docs/benchmarks.md`` has the 2,000-customer ones)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.recommend import Interactions
from shopsense.recommend.data import load_interactions
from shopsense.recommend.models import MODELS
from shopsense.settings import Settings


@pytest.fixture(scope="module")
def store(
    _database: Database, db_url: str, emptied: Callable[[Database], None]
) -> Iterator[tuple[Interactions, dict[str, Any]]]:
    emptied(_database)
    truth = generate_store(
        _database,
        StoreSpec(users=600, products=120, days=90, seed=11),
        settings=Settings(database_url=db_url, datasets=None),
    )
    with _database.read() as conn:
        data = load_interactions(conn, datetime(2026, 11, 1, 23, 59))
    yield data, json.loads(json.dumps(truth["users"], default=str))
    emptied(_database)


def taste_shares(name: str, data: Interactions, users: dict[str, Any]) -> tuple[float, float]:
    """Mean share of each customer's top 10 (own items excluded) in their favourite
    departments, and in their favourite brand over brand-loyal customers."""
    known = [u for u in users if data.user_index(u) >= 0]
    rows = np.array([data.user_index(u) for u in known])
    model = MODELS[name]().fit(data)
    ids, _ = model.recommend(rows, data.user_items(rows), n=10, filter_seen=True)
    department = np.array([(c or "").split("/")[0] for c in data.items["category"].to_list()])
    brand = np.array(data.items["brand"].fill_null("").to_list())
    dept_share, brand_share = [], []
    for uid, row in zip(known, ids, strict=True):
        got = row[row >= 0]
        dept_share.append(np.isin(department[got], users[uid]["favourite_categories"]).mean())
        if users[uid]["brand_loyalty"] >= 0.5:
            brand_share.append((brand[got] == users[uid]["favourite_brand"]).mean())
    return float(np.mean(dept_share)), float(np.mean(brand_share))


@pytest.mark.parametrize("name", ["item_knn", "als", "hybrid"])
def test_personal_models_find_the_planted_taste(
    store: tuple[Interactions, dict[str, Any]], name: str
) -> None:
    data, users = store
    popular_dept, popular_brand = taste_shares("popular", data, users)
    dept, brand = taste_shares(name, data, users)
    # popular: 0.230 / 0.010; item_knn 0.544 / 0.088, als 0.387, hybrid 0.398 (departments)
    assert popular_dept < 0.3 and popular_brand < 0.02
    assert dept >= 1.5 * popular_dept
    assert brand >= 4 * popular_brand

"""A seed fixes the whole store: every row, every id, and the ground truth."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from demokit import SMALL_SPEC, demo_settings, empty
from sqlalchemy import func, select

from shopsense.db.models import (
    activity_table,
    bundle_recommendation_table,
    experiment_table,
    orders_table,
    products_table,
    recommendation_log_table,
    spend_table,
    users_table,
)
from shopsense.db.session import Database
from shopsense.demo import build_store, generate_store


def fingerprint(db: Database) -> str:
    """A hash over the stored events, orders, users, products, spend, logged recommendations,
    bundle offers and experiments, in key order."""
    a = activity_table.c
    queries = [
        select(*[c for c in a if c.name != "id"]).order_by(a.event_id),  # ids are the database's
        select(orders_table).order_by(orders_table.c.order_id),
        select(users_table).order_by(users_table.c.user_id),
        select(products_table).order_by(products_table.c.product_id),
        select(
            spend_table.c.date, spend_table.c.channel, spend_table.c.campaign, spend_table.c.amount
        ).order_by(spend_table.c.date, spend_table.c.channel, spend_table.c.campaign),
        select(recommendation_log_table).order_by(recommendation_log_table.c.recommendation_id),
        select(bundle_recommendation_table).order_by(bundle_recommendation_table.c.bundle_id),
        select(experiment_table).order_by(experiment_table.c.name),
    ]
    digest = hashlib.sha256()
    with db.read() as conn:
        for query in queries:
            for row in conn.execute(query):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_the_same_spec_gives_identical_rows_and_truth(db: Database, db_url: str) -> None:
    settings = demo_settings(db_url)
    first_truth = generate_store(db, SMALL_SPEC, settings=settings)
    first = fingerprint(db)
    empty(db)
    second_truth = generate_store(db, SMALL_SPEC, settings=settings)
    assert fingerprint(db) == first
    assert second_truth == first_truth
    with db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(activity_table)).scalar_one()
    assert stored == first_truth["counts"]["events"] > 1000


def test_generating_the_same_spec_again_changes_nothing(db: Database, db_url: str) -> None:
    settings = demo_settings(db_url)
    generate_store(db, SMALL_SPEC, settings=settings)
    before = fingerprint(db)
    generate_store(db, SMALL_SPEC, settings=settings)
    assert fingerprint(db) == before


def test_building_twice_gives_equal_rows() -> None:
    first, second = build_store(SMALL_SPEC), build_store(SMALL_SPEC)
    assert first.events == second.events
    assert first.products == second.products
    assert first.spend == second.spend
    assert first.recommendations == second.recommendations
    assert first.bundles == second.bundles
    assert first.experiments == second.experiments
    assert json.dumps(first.truth) == json.dumps(second.truth)


def test_another_seed_gives_another_store() -> None:
    first = build_store(SMALL_SPEC)
    other = build_store(dataclasses.replace(SMALL_SPEC, seed=SMALL_SPEC.seed + 1))
    assert [r["event_id"] for r in first.events[:10]] != [r["event_id"] for r in other.events[:10]]
    key = ("type", "user_id", "timestamp", "product_id")
    assert [tuple(r[k] for k in key) for r in first.events] != [
        tuple(r[k] for k in key) for r in other.events
    ]
    assert first.truth["users"] != other.truth["users"]
    assert [p["price"] for p in first.products] != [p["price"] for p in other.products]

"""The demo store's recommendations and bundle offers are logged as served, and the
measurement endpoints read them back with the rates the generator planted."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from demokit import TRAIT_SPEC
from sqlalchemy import select

from shopsense.db.models import (
    activity_table,
    bundle_recommendation_table,
    experiment_table,
    recommendation_log_table,
)
from shopsense.db.session import Database
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import recommendation_performance
from shopsense.experiments.stats import planned_sample_size

Planted = tuple[Database, dict[str, Any]]
START = datetime.combine(TRAIT_SPEC.start, datetime.min.time())
END = datetime.combine(TRAIT_SPEC.end, datetime.min.time()) + timedelta(days=1)
NOW = END + timedelta(days=30)  # every conversion window has closed


def events(db: Database, *types: str) -> list[Any]:
    a = activity_table.c
    with db.read() as conn:
        return list(
            conn.execute(
                select(
                    a.type, a.recommendation_id, a.bundle_id, a.product_id, a.position,
                    a.variant, a.session_id, a.timestamp,
                )
                .where(a.type.in_(types))
                .order_by(a.event_id)
            ).all()
        )  # fmt: skip


def test_every_recommendation_shown_is_logged_with_its_arms_strategy(planted: Planted) -> None:
    db, truth = planted
    experiment = truth["experiments"]["recs-ranking"]
    strategy = {v: arm["strategy"] for v, arm in experiment["variants"].items()}
    assert strategy == {"control": "popular", "treatment": "hybrid"}
    with db.read() as conn:
        logged = {
            r.recommendation_id: r for r in conn.execute(select(recommendation_log_table)).all()
        }
    views = events(db, "recommendation_view")
    assert len(views) == len(logged) == truth["counts"]["recommendation_lists"]
    for view in views:
        row = logged[view.recommendation_id]
        assert (row.experiment, row.variant) == ("recs-ranking", view.variant)
        assert row.strategy == strategy[view.variant]
        assert (row.context, row.model_version, row.request) == ("product", "demo", {})
        assert row.created_at == view.timestamp and row.session_id == view.session_id
        assert [i["rank"] for i in row.items] == list(range(1, len(row.items) + 1))
        products = [i["product_id"] for i in row.items]
        assert len(set(products)) == len(products)
    for variant in strategy:
        assert experiment["variants"][variant]["lists"] == sum(v.variant == variant for v in views)


def test_clicks_carry_the_rank_of_the_logged_item(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        listed = {
            r.recommendation_id: [i["product_id"] for i in r.items]
            for r in conn.execute(select(recommendation_log_table)).all()
        }
    clicks = events(db, "recommendation_click")
    assert len(clicks) == truth["counts"]["recommendation_clicks"] > 50
    for click in clicks:
        items = listed[click.recommendation_id]
        assert 1 <= click.position <= len(items)
        assert items[click.position - 1] == click.product_id
    # the product view that follows a click echoes its id, product and position
    followed = {
        (v.recommendation_id, v.product_id, v.position)
        for v in events(db, "product_view")
        if v.recommendation_id is not None
    }
    assert {(c.recommendation_id, c.product_id, c.position) for c in clicks} == followed


def test_the_experiment_is_stored_over_the_history(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        (row,) = conn.execute(select(experiment_table)).all()
    assert (row.name, row.status, row.metric) == ("recs-ranking", "stopped", "ctr")
    assert row.variants == [
        {"name": "control", "strategy": "popular", "weight": 1.0},
        {"name": "treatment", "strategy": "hybrid", "weight": 1.0},
    ]
    assert (row.traffic, row.holdout, row.minimum_effect) == (1.0, 0.0, 0.5)
    assert row.planned_users == planned_sample_size(row.baseline_rate, 0.5)
    assert row.baseline_rate == truth["experiments"]["recs-ranking"]["ctr"]["control"]
    assert row.started_at == START
    assert truth["experiments"]["recs-ranking"]["started_at"] == START.isoformat()


def test_recommendation_performance_finds_the_planted_rates(planted: Planted) -> None:
    db, truth = planted
    arms = truth["experiments"]["recs-ranking"]["variants"]
    report = recommendation_performance(db, START, END, ["variant", "strategy"], now=NOW)
    assert report["impressions_source"] == "views"
    groups = {row["variant"]: row for row in report["groups"]}
    assert set(groups) == set(arms) and len(report["groups"]) == len(arms)
    for variant, arm in arms.items():
        group = groups[variant]
        assert group["strategy"] == arm["strategy"]
        assert (group["impressions"], group["clicks"]) == (arm["lists"], arm["clicks"])
        assert group["conversions"] > 0 and group["revenue"] > 0
        # the clicked products bought on the spot are credited to their click
        clicked_conversions = round(group["click_conversion_rate"] * group["clicks"])
        assert clicked_conversions >= arm["bought_after_click"]
        p, n = arm["ctr"], group["impressions"]
        assert abs(group["ctr"] - p) < 4 * math.sqrt(p * (1 - p) / n), (variant, group)
    assert groups["treatment"]["ctr"] > groups["control"]["ctr"]
    by_variant = recommendation_performance(db, START, END, ["variant"], now=NOW)
    assert {r["variant"]: r["revenue"] for r in by_variant["groups"]} == {
        v: g["revenue"] for v, g in groups.items()
    }


def test_bundle_offers_are_logged_and_bought_at_their_discount(planted: Planted) -> None:
    db, truth = planted
    planted_bundles = truth["bundles"]
    with db.read() as conn:
        offers = {r.bundle_id: r for r in conn.execute(select(bundle_recommendation_table)).all()}
    assert len(offers) == planted_bundles["offers"] == truth["counts"]["bundle_offers"]
    groups = {g["bundle_id"]: g["products"] for g in truth["co_purchase_groups"]}
    seen: dict[str, set[str]] = defaultdict(set)
    for event in events(db, "bundle_view", "bundle_click", "bundle_add_to_cart"):
        seen[event.type].add(event.bundle_id)
    assert seen["bundle_view"] == set(offers)
    assert seen["bundle_add_to_cart"] <= seen["bundle_click"] <= seen["bundle_view"]
    assert len(seen["bundle_add_to_cart"]) == planted_bundles["accepted"] > 0
    for bundle_id, offer in offers.items():
        group = bundle_id.rsplit("-", 1)[0]
        assert [p["product_id"] for p in offer.products] == groups[group]
        assert offer.list_price == pytest.approx(sum(p["price"] for p in offer.products))
        assert offer.bundle_price < offer.list_price
        assert offer.bundle_price == pytest.approx(offer.list_price * 0.9, abs=0.005 * 4)
        assert offer.discount_pct == 100 * planted_bundles["discount"]
        assert offer.expected_profit > 0
        assert offer.context in ("product", "cart") and offer.product_id in groups[group]
        assert offer.valid_until == offer.created_at + timedelta(hours=48)

    report = bundle_performance(db, START, END, now=NOW)
    (complementary,) = report["by_type"]
    assert complementary["type"] == "complementary"
    assert complementary["offers"] == len(offers)
    assert complementary["views"] == len(offers)
    assert complementary["purchases"] > 0 and complementary["revenue"] > 0
    assert complementary["discount_given"] > 0
    assert complementary["base_rate"] == pytest.approx(planted_bundles["base_rate"])

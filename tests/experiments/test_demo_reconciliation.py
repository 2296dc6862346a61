"""On a generated store the measurement endpoints answer non-zero figures that reconcile:
with plain SQL counts of the events, across groupings (the groups add up to the totals),
and between the rollup and the live computation; the store's simulated experiment reads
out with intervals and p-values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import and_, func, select

from shopsense.db.models import activity_table as A
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import recommendation_performance
from shopsense.experiments.results import experiment_results
from shopsense.settings import Settings

SPEC = StoreSpec(users=1000, products=120, days=60, seed=7)
START = datetime(2026, 8, 1)
END = datetime(2026, 11, 3)
LATER = END + timedelta(days=30)  # every day closed: the rollup path
COUNTS = ("impressions", "clicks", "add_to_carts", "conversions", "click_conversions")


@pytest.fixture(scope="module")
def store(_database: Database, db_url: str, emptied: Any) -> Iterator[tuple[Database, Any]]:
    emptied(_database)
    truth = generate_store(
        _database, SPEC, settings=Settings(database_url=db_url, datasets=None, timezone="UTC")
    )
    yield _database, truth
    emptied(_database)


def _events(db: Database, kind: str, column: Any) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    and_(A.c.type == kind, column.is_not(None), A.c.is_bot.is_(False))
                )
            ).scalar_one()
        )


def test_recommendation_figures_reconcile(store: tuple[Database, Any]) -> None:
    db, _ = store
    report = recommendation_performance(db, START, END, ["strategy", "variant"], now=LATER)
    totals = report["totals"]
    assert all(totals[k] > 0 for k in ("impressions", "clicks", "conversions", "revenue"))
    assert totals["impressions"] == _events(db, "recommendation_view", A.c.recommendation_id)
    assert totals["clicks"] == _events(db, "recommendation_click", A.c.recommendation_id)
    for key in COUNTS:
        assert sum(g[key] for g in report["groups"]) == totals[key]
    assert sum(g["revenue"] for g in report["groups"]) == pytest.approx(totals["revenue"], abs=0.05)
    live = recommendation_performance(db, START, END, ["strategy", "variant"], now=START)
    assert live["totals"] == totals and live["groups"] == report["groups"]
    by_position = recommendation_performance(db, START, END, ["position"], now=LATER)
    assert sum(g["clicks"] for g in by_position["groups"]) == totals["clicks"]


def test_bundle_figures_reconcile(store: tuple[Database, Any]) -> None:
    db, _ = store
    report = bundle_performance(db, START, END, now=LATER)
    totals = report["totals"]
    assert totals["views"] == _events(db, "bundle_view", A.c.bundle_id)
    assert totals["clicks"] == _events(db, "bundle_click", A.c.bundle_id)
    assert totals["purchases"] > 0 and totals["revenue"] > 0
    for key in ("offers", "views", "clicks", "add_to_carts", "purchases"):
        assert sum(row[key] for row in report["by_type"]) == totals[key]


def test_the_simulated_experiment_reads_out(store: tuple[Database, Any]) -> None:
    db, truth = store
    name = next(iter(truth["experiments"]))
    report = experiment_results(db, name, now=LATER)
    variants = {v["variant"]: v for v in report["variants"]}
    assert all(v["users"] > 0 and v["impressions"] > 0 for v in variants.values())
    treated = [v for v in report["variants"] if v["variant"] != report["control"]]
    ctr = treated[0]["metrics"]["ctr"]
    assert ctr["lift_ci"][0] < ctr["lift"] < ctr["lift_ci"][1]
    assert 0 <= ctr["p_value"] <= 1 and 0 <= ctr["sequential_p_value"] <= 1
    assert report["srm"] is not None

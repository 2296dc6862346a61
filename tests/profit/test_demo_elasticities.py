"""The demo store's planted price tests are found by the estimator the profit report uses.

The default demo spec (10,000 customers, 90 days) is built in memory; its 20 price-tested
products change price week by week and their demand answers with a planted elasticity. The
panel is made here from the raw events (mean price shown per product and week, units
ordered, 0 in weeks without a sale), independently of ``profit.price_history``."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from scipy import stats

from shopsense.demo import build_store
from shopsense.demo.generator import StoreSpec
from shopsense.profit.elasticity import estimate_elasticities
from shopsense.profit.price_history import weekly_panel


@pytest.fixture(scope="module")
def store() -> Any:
    return build_store(StoreSpec())


def _panel(store: Any) -> pl.DataFrame:
    week = pl.col("at").dt.truncate("1w").dt.date().alias("period")
    views = (
        pl.DataFrame(
            [
                (e["product_id"], e["timestamp"], e["price"])
                for e in store.events
                if e["type"] == "product_view" and e["price"]
            ],
            schema={"product_id": pl.String, "at": pl.Datetime("us"), "price": pl.Float64},
            orient="row",
        )
        .group_by("product_id", week)
        .agg(pl.col("price").mean().alias("shown_price"))
    )
    lines = pl.DataFrame(
        [(i["product_id"], e["timestamp"], i["quantity"], i["price"] * i["quantity"])
         for e in store.events if e["type"] == "purchase" for i in e["items"]],
        schema={"product_id": pl.String, "placed_at": pl.Datetime("us"),
                "quantity": pl.Int64, "paid": pl.Float64},
        orient="row",
    )  # fmt: skip
    products = pl.DataFrame(store.products).select("product_id", "category", "cost")
    return weekly_panel(views, lines, products)


def test_planted_elasticities_are_recovered(store: Any) -> None:
    planted = {pid: t["elasticity"] for pid, t in store.truth["price_tests"].items()}
    assert len(planted) == 20
    est = estimate_elasticities(_panel(store), season="month", model="poisson")
    tested = est.filter(pl.col("product_id").is_in(list(planted)) & (pl.col("source") == "product"))
    # every tested product has enough weeks and price variation for an estimate of its own
    assert tested.height == len(planted)
    # sign right for all of them, and the ranking follows the planted one
    assert (tested["elasticity"] < 0).all()
    truth = [planted[p] for p in tested["product_id"]]
    rho = stats.spearmanr(tested["elasticity"], truth).statistic
    assert rho >= 0.7, rho
    # the confident ones cover the planted value in (nearly) every case
    confident = tested.filter("confident")
    assert confident.height >= 5
    covered = [
        row["ci_low"] <= planted[row["product_id"]] <= row["ci_high"]
        for row in confident.iter_rows(named=True)
    ]
    assert sum(covered) >= len(covered) - 1
    # products whose price never moved get no estimate of their own
    untested = est.filter(~pl.col("product_id").is_in(list(planted)))
    assert (untested["source"] != "product").all()

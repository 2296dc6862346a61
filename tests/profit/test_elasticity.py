"""Own-price elasticity estimates and the price advice built on them."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import stats

from shopsense.errors import ValidationFailed
from shopsense.profit.elasticity import estimate_elasticities, price_advice, synthetic_sales


def _planted(seed: int = 4) -> tuple[npt.NDArray[np.float64], pl.DataFrame]:
    rng = np.random.default_rng(seed)
    betas = rng.uniform(-3.0, -0.5, 40)
    obs = synthetic_sales(40, 104, betas, seed=seed, period="week", season_amplitude=0.6)
    return betas, obs


def _estimate(
    product_id: str, elasticity: float, ci: tuple[float, float], *, confident: bool = True
) -> dict[str, object]:
    return {
        "product_id": product_id,
        "elasticity": elasticity,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "source": "product",
        "confident": confident,
    }


def _profit(p: float, p0: float, c: float, q0: float, b: float) -> float:
    return float((p - c) * q0 * (p / p0) ** b)


# ------------------------------------------------------------------------------ recovery


def test_planted_elasticities_are_recovered() -> None:
    betas, obs = _planted()
    est = estimate_elasticities(obs, season="week")
    assert est.height == 40
    assert est.get_column("product_id").to_list() == sorted(obs["product_id"].unique())
    assert (est["source"] == "product").all()
    assert (est["n"] == 104).all()
    e = est["elasticity"].to_numpy()
    assert np.all(np.sign(e) == np.sign(betas))
    assert stats.spearmanr(e, betas).statistic >= 0.9
    covered = (est["ci_low"].to_numpy() <= betas) & (betas <= est["ci_high"].to_numpy())
    assert covered.mean() >= 0.9
    assert est["confident"].all()


def _dense_ols(obs: pl.DataFrame, pooled: bool) -> tuple[dict[str, float], float]:
    """The same model with every dummy written out, solved by numpy's least squares."""
    frame = obs.with_columns(
        pl.col("category").drop_nulls().first().over("product_id"),
        pl.col("period").dt.month().alias("month"),
    ).with_columns(pl.coalesce("category", "product_id").alias("grp"))
    y = np.log(frame["quantity"].to_numpy())
    x = np.log(frame["price"].to_numpy())
    products = sorted(frame["product_id"].unique())
    groups = sorted(frame["grp"].unique())
    pid, grp, month = frame["product_id"].to_list(), frame["grp"].to_list(), frame["month"]
    cols: list[npt.NDArray[np.float64]] = []
    for p in products:
        cols.append((np.array(pid) == p).astype(float))
    slope_keys = groups if pooled else products
    slope_of = grp if pooled else pid
    for key in slope_keys:
        cols.append(np.where(np.array(slope_of) == key, x, 0.0))
    for g in groups:
        for m in sorted(frame.filter(pl.col("grp") == g)["month"].unique()):
            cols.append(((np.array(grp) == g) & (month.to_numpy() == m)).astype(float))
    design = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    slopes = dict(
        zip(slope_keys, coef[len(products) : len(products) + len(slope_keys)], strict=True)
    )
    return slopes, float(resid @ resid)


def test_the_fit_equals_dense_least_squares_with_every_dummy() -> None:
    """Unbalanced panel, two categories and a product without one, months missing here and
    there: the product slopes and the pooled category slopes equal the dense solution."""
    rng = np.random.default_rng(11)
    obs = synthetic_sales(9, 30, rng.uniform(-3.0, -0.5, 9), seed=11, period="month",
                          n_categories=2, promo_depth=0.2)  # fmt: skip
    obs = obs.filter(pl.Series(rng.uniform(size=obs.height) > 0.15)).with_columns(
        pl.when(pl.col("product_id") == "p8").then(None).otherwise("category").alias("category")
    )
    est = estimate_elasticities(obs, season="month", min_periods=3, min_price_cv=0.0)
    dense, _ = _dense_ols(obs, pooled=False)
    got = dict(zip(est["product_id"], est["elasticity"], strict=True))
    for product, slope in dense.items():
        assert got[product] == pytest.approx(slope, abs=1e-8)
    pooled, _ = _dense_ols(obs, pooled=True)
    short = estimate_elasticities(obs, season="month", min_periods=29, min_price_cv=0.0)
    for row in short.filter(pl.col("source") == "category").iter_rows(named=True):
        assert row["elasticity"] == pytest.approx(pooled[row["category"]], abs=1e-8)


def test_monthly_periods_with_month_of_year_effects() -> None:
    rng = np.random.default_rng(7)
    betas = rng.uniform(-3.0, -0.5, 40)
    obs = synthetic_sales(40, 24, betas, seed=7, period="month", season_amplitude=0.6)
    est = estimate_elasticities(obs)
    e = est["elasticity"].to_numpy()
    assert np.all(e < 0)
    assert stats.spearmanr(e, betas).statistic >= 0.9
    covered = (est["ci_low"].to_numpy() <= betas) & (betas <= est["ci_high"].to_numpy())
    assert covered.mean() >= 0.9


def test_price_cuts_at_the_seasonal_peak_bias_only_the_naive_estimate() -> None:
    truth = -1.5
    obs = synthetic_sales(
        40, 104, truth, seed=1, season_amplitude=0.5, peak_promo=0.15, promo_depth=0.1
    )
    controlled = estimate_elasticities(obs, season="week")["elasticity"].mean()
    naive = estimate_elasticities(obs, season="none")["elasticity"].mean()
    assert isinstance(controlled, float) and isinstance(naive, float)
    assert abs(controlled - truth) < 0.15
    assert naive < truth - 1.0  # the seasonal lift is read as price response


# ------------------------------------------------------------------------------ fallback


def test_constant_prices_get_the_category_estimate_or_none() -> None:
    depth = [0.15] * 12 + [0.0, 0.0]
    obs = synthetic_sales(14, 52, -2.0, seed=3, n_categories=2, promo_depth=depth)
    obs = obs.with_columns(
        pl.when(pl.col("product_id") == "p13")
        .then(None)
        .otherwise(pl.col("category"))
        .alias("category")
    )
    est = estimate_elasticities(obs, season="week").sort("product_id")
    rows = {r["product_id"]: r for r in est.iter_rows(named=True)}

    pooled = rows["p12"]  # constant price, category cat0
    assert pooled["source"] == "category"
    assert pooled["price_cv"] == pytest.approx(0.0, abs=1e-12)
    assert pooled["confident"] is False
    assert pooled["ci_low"] < -2.0 < pooled["ci_high"]
    same_category = est.filter((pl.col("category") == "cat0") & (pl.col("source") == "category"))
    assert same_category["elasticity"].n_unique() == 1

    orphan = rows["p13"]  # constant price, no category
    assert orphan["source"] == "none"
    assert orphan["category"] is None
    assert orphan["elasticity"] is None and orphan["se"] is None
    assert orphan["confident"] is False
    assert all(rows[f"p{i:02d}"]["source"] == "product" for i in range(12))


def test_short_history_gets_the_category_estimate() -> None:
    obs = synthetic_sales(10, 40, -2.0, seed=5, n_categories=1)
    short = obs.filter((pl.col("product_id") != "p0") | (pl.col("period") < date(2023, 2, 15)))
    est = estimate_elasticities(short, season="none", min_periods=8)
    row = est.filter(pl.col("product_id") == "p0").row(0, named=True)
    assert row["n"] < 8
    assert row["source"] == "category"


# -------------------------------------------------------------------------------- advice


def test_elastic_product_is_raised_to_the_bound() -> None:
    est = pl.DataFrame([_estimate("a", -2.0, (-2.5, -1.5))])
    cur = pl.DataFrame({"product_id": ["a"], "price": [10.0], "cost": [6.0], "quantity": [100.0]})
    row = price_advice(est, cur, max_move=0.10).row(0, named=True)
    # p* = 6 * -2 / (1 - 2) = 12, clipped to 10 * 1.1 = 11
    assert row["action"] == "raise"
    assert row["recommended_price"] == pytest.approx(11.0)
    assert row["move_pct"] == pytest.approx(10.0)
    expected = (11 - 6) * 100 * (11 / 10) ** -2 - (10 - 6) * 100
    assert row["expected_profit_change"] == pytest.approx(expected)
    ends = [_profit(11, 10, 6, 100, b) - 400 for b in (-2.5, -2.0, -1.5)]
    assert row["profit_change_low"] == pytest.approx(min(ends))
    assert row["profit_change_high"] == pytest.approx(max(ends))
    assert row["elasticity_ci"] == [-2.5, -1.5]


def test_very_elastic_product_is_lowered() -> None:
    est = pl.DataFrame([_estimate("b", -4.0, (-4.5, -3.5))])
    cur = pl.DataFrame({"product_id": ["b"], "price": [10.0], "cost": [6.0], "quantity": [50.0]})
    row = price_advice(est, cur).row(0, named=True)
    # p* = 6 * -4 / (1 - 4) = 8, clipped to 9
    assert row["action"] == "lower"
    assert row["recommended_price"] == pytest.approx(9.0)
    assert row["expected_profit_change"] == pytest.approx(_profit(9, 10, 6, 50, -4) - 200)
    assert row["expected_profit_change"] > 0


def test_interior_optimum_and_inelastic_demand() -> None:
    est = pl.DataFrame(
        [_estimate("opt", -3.0, (-3.2, -2.8)), _estimate("inel", -0.6, (-0.9, -0.3))]
    )
    cur = pl.DataFrame(
        {
            "product_id": ["opt", "inel"],
            "price": [10.0, 10.0],
            "cost": [6.4, 6.0],
            "quantity": [10.0, 10.0],
        }
    )
    rows = {r["product_id"]: r for r in price_advice(est, cur).iter_rows(named=True)}
    assert rows["opt"]["recommended_price"] == pytest.approx(9.6)  # 6.4 * 3 / 2 in bounds
    assert rows["opt"]["action"] == "lower"
    assert rows["inel"]["action"] == "raise"  # profit rises with price: up to the bound
    assert rows["inel"]["recommended_price"] == pytest.approx(11.0)


def test_non_confident_estimates_are_held_with_a_reason() -> None:
    est = pl.DataFrame(
        [
            _estimate("wide", -1.0, (-2.5, 0.5), confident=False),
            _estimate("nocost", -2.0, (-2.5, -1.5)),
            {**_estimate("pooled", -2.0, (-2.5, -1.5), confident=False), "source": "category"},
        ]
    )
    cur = pl.DataFrame(
        {
            "product_id": ["wide", "nocost", "pooled", "unknown"],
            "price": [10.0, 10.0, 10.0, 10.0],
            "cost": [6.0, None, 6.0, 6.0],
            "quantity": [10.0, 10.0, 10.0, 10.0],
        }
    )
    out = price_advice(est, cur)
    assert (out["action"] == "hold").all()
    assert (out["recommended_price"] == out["price"]).all()
    assert (out["expected_profit_change"] == 0.0).all()
    reasons = dict(zip(out["product_id"], out["reason"], strict=True))
    assert "includes zero" in reasons["wide"]
    assert reasons["nocost"] == "no cost"
    assert "variation" in reasons["pooled"]
    assert reasons["unknown"] == "no elasticity estimate"


def test_margin_floor_bounds_a_cut() -> None:
    est = pl.DataFrame([_estimate("b", -4.0, (-4.5, -3.5))])
    cur = pl.DataFrame({"product_id": ["b"], "price": [10.0], "cost": [6.0], "quantity": [50.0]})
    row = price_advice(est, cur, min_margin=0.35).row(0, named=True)
    assert row["recommended_price"] == pytest.approx(9.24)  # 6 / 0.65 = 9.2307... up a cent
    assert (row["recommended_price"] - 6.0) / row["recommended_price"] >= 0.35


def test_end_to_end_advice_on_synthetic_sales() -> None:
    _, obs = _planted()
    est = estimate_elasticities(obs, season="week")
    current = obs.group_by("product_id").agg(
        pl.col("price").median(), pl.col("cost").first(), pl.col("quantity").median()
    )
    out = price_advice(est, current)
    assert out.height == 40
    moved = out.filter(pl.col("action") != "hold")
    assert moved.height > 0
    assert (moved["move_pct"].abs() <= 10.0 + 1e-9).all()
    assert (moved["profit_change_low"] <= moved["expected_profit_change"] + 1e-9).all()
    assert (moved["expected_profit_change"] <= moved["profit_change_high"] + 1e-9).all()


# ----------------------------------------------------------------------------- bad input


def test_missing_columns_are_rejected() -> None:
    obs = synthetic_sales(3, 10, -2.0, seed=0).drop("quantity")
    with pytest.raises(ValidationFailed, match="quantity"):
        estimate_elasticities(obs)
    est = pl.DataFrame([_estimate("a", -2.0, (-2.5, -1.5))])
    with pytest.raises(ValidationFailed, match="cost"):
        price_advice(est, pl.DataFrame({"product_id": ["a"], "price": [1.0], "quantity": [1.0]}))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), None])
def test_non_positive_prices_are_rejected(bad: float | None) -> None:
    obs = synthetic_sales(3, 10, -2.0, seed=0)
    prices = obs["price"].to_list()
    prices[4] = bad
    with pytest.raises(ValidationFailed, match="price"):
        estimate_elasticities(obs.with_columns(pl.Series("price", prices, dtype=pl.Float64)))
    est = pl.DataFrame([_estimate("a", -2.0, (-2.5, -1.5))])
    cur = pl.DataFrame(
        {"product_id": ["a"], "price": [bad], "cost": [1.0], "quantity": [1.0]},
        schema={
            "product_id": pl.String,
            "price": pl.Float64,
            "cost": pl.Float64,
            "quantity": pl.Float64,
        },
    )
    with pytest.raises(ValidationFailed, match="price"):
        price_advice(est, cur)


def test_non_positive_quantities_are_rejected() -> None:
    obs = synthetic_sales(3, 10, -2.0, seed=0).with_columns(pl.lit(0.0).alias("quantity"))
    with pytest.raises(ValidationFailed, match="quantity"):
        estimate_elasticities(obs)


def test_implausibly_steep_elasticities_are_held() -> None:
    estimates = pl.DataFrame([_estimate("p1", -12.0, (-15.0, -9.0)),
                              _estimate("p2", -3.0, (-4.0, -2.0))])  # fmt: skip
    current = pl.DataFrame({"product_id": ["p1", "p2"], "price": [10.0, 10.0],
                            "cost": [5.0, 5.0], "quantity": [100.0, 100.0]})  # fmt: skip
    advice = price_advice(estimates, current, max_elasticity=8.0).sort("product_id")
    assert advice["action"].to_list() == ["hold", "lower"]
    assert advice["reason"][0] == "implausible elasticity (below -8): held"
    assert advice["expected_profit_change"][0] == 0.0

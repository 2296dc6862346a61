"""Bundle discounts: the grid argmax against brute force, the policy's constraints on random
bundles, and the response fit on simulated offer logs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shopsense.bundles.pricing import (
    LIMITS,
    PRIOR_RESPONSE,
    PricingPolicy,
    fit_response,
    price_bundles,
    take_rate,
)
from shopsense.errors import ValidationFailed


def _take(d: float, q: float, beta: float) -> float:
    return 1.0 / (1.0 + math.exp(-(math.log(q / (1.0 - q)) + beta * d)))


def _profit(d: float, p: float, c: float, q: float, beta: float) -> float:
    return _take(d, q, beta) * (p * (1.0 - d) - c) - q * (p - c)


def test_argmax_matches_brute_force() -> None:
    p, c, q = 100.0, 50.0, 0.1
    policy = PricingPolicy(margin_floor=0.15, max_discount=0.3, response=8.0)
    quotes = price_bundles(p, c, q, 0.5, policy)
    # The floor allows up to 1 - 50 / 85 = 41 %, so the 30 % cap is the bound of the grid.
    d_max = min(0.3, 1.0 - c / (0.85 * p))
    grid = [k * 0.005 for k in range(int(d_max / 0.005) + 1)] + [d_max]
    profits = [_profit(d, p, c, q, 8.0) for d in grid]
    best = grid[profits.index(max(profits))]
    assert best == pytest.approx(0.26)  # interior: the cap does not bind
    assert quotes.discount_pct[0] == pytest.approx(100 * best)
    assert quotes.bundle_price[0] == pytest.approx(74.0)
    assert quotes.limit == ["optimum"]
    assert quotes.take_rate[0] == pytest.approx(_take(0.26, q, 8.0))
    assert quotes.expected_profit[0] == pytest.approx(_take(0.26, q, 8.0) * 24.0 - 0.1 * 50.0)
    assert quotes.expected_margin[0] == pytest.approx(24.0)
    assert quotes.margin_pct[0] == pytest.approx(24.0 / 74.0)


def test_no_response_means_no_discount() -> None:
    # With response 0 the take rate stays at q: E(d) = -q P d < 0 for every d > 0.
    quotes = price_bundles(100.0, 50.0, 0.1, 0.5, PricingPolicy(response=0.0))
    assert quotes.limit == ["no_discount"]
    assert quotes.discount_pct[0] == 0.0
    assert quotes.bundle_price[0] == 100.0
    assert quotes.take_rate[0] == pytest.approx(0.1)
    assert quotes.expected_profit[0] == 0.0


def test_take_rate_is_the_base_rate_without_discount() -> None:
    q = np.array([0.01, 0.1, 0.5])
    assert np.allclose(take_rate(0.0, q, 8.0), q)
    # Neutral sensitivity 0.5 gives beta = response; sensitivity 1 gives 1.5 x response.
    assert take_rate(0.1, 0.1, 8.0)[()] == pytest.approx(_take(0.1, 0.1, 8.0))
    assert take_rate(0.1, 0.1, 8.0, 1.0)[()] == pytest.approx(_take(0.1, 0.1, 12.0))
    assert np.all(np.diff(take_rate(np.linspace(0, 0.3, 7), 0.1, 8.0)) > 0)


def test_constraints_hold_on_random_bundles() -> None:
    rng = np.random.default_rng(7)
    seen: set[str] = set()
    for _ in range(40):
        policy = PricingPolicy(
            margin_floor=float(rng.uniform(0.0, 0.5)),
            max_discount=float(rng.uniform(0.0, 0.5)),
            response=float(rng.choice([0.0, 2.0, 8.0, 20.0, 60.0])),
            step=float(rng.choice([0.005, 0.01, 0.05])),
        )
        n = 500
        p = np.round(rng.uniform(1.0, 800.0, n), 2)
        c = p * rng.uniform(0.0, 1.0, n)
        q = rng.uniform(0.0, 1.0, n)
        q[:5] = [0.0, 1.0, 1e-9, 0.5, 0.999]
        s = rng.uniform(0.0, 1.0, n)
        s[rng.random(n) < 0.2] = np.nan  # unknown sensitivity
        quotes = price_bundles(p, c, q, s, policy)
        seen.update(quotes.limit)
        below = np.array(quotes.limit) == "below_floor"
        price = quotes.bundle_price
        assert np.all(price[below] == p[below])
        ok = ~below
        assert np.all(price[ok] - c[ok] >= policy.margin_floor * price[ok] - 1e-9)
        assert np.all(1.0 - price / p <= policy.max_discount + 1e-9)
        assert np.all(quotes.discount_pct <= 100 * policy.max_discount + 0.005)  # shown to 0.01
        assert np.all(quotes.discount_pct >= 0.0)
        assert np.all(price <= p)
        assert np.all(quotes.expected_profit >= 0.0)
        assert np.allclose(np.round(price * 100), price * 100, rtol=0, atol=1e-6)  # cents
        assert np.allclose(quotes.expected_margin, price - c)
        assert set(quotes.limit) <= set(LIMITS)
    assert seen == set(LIMITS)


def test_batch_equals_one_by_one() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(10, 300, 50), 2)
    c = p * rng.uniform(0.2, 0.9, 50)
    q = rng.uniform(0.01, 0.3, 50)
    s = rng.uniform(0, 1, 50)
    policy = PricingPolicy()
    batch = price_bundles(p, c, q, s, policy)
    for k in range(50):
        one = price_bundles(p[k], c[k], q[k], s[k], policy)
        assert one.bundle_price[0] == batch.bundle_price[k]
        assert one.limit[0] == batch.limit[k]


def test_floor_binds_when_costs_are_high() -> None:
    # Cost 82 on 100: the 15 % floor allows at most 1 - 82 / 85 = 3.53 % off.
    quotes = price_bundles(100.0, 82.0, 0.05, 0.5, PricingPolicy())
    assert quotes.limit == ["margin_floor"]
    assert quotes.bundle_price[0] == pytest.approx(96.48)  # 96.47 would break the floor
    assert quotes.margin_pct[0] >= 0.15
    assert quotes.margin_pct[0] == pytest.approx(0.15, abs=1e-3)


def test_cost_above_the_floor_at_list_is_flagged() -> None:
    quotes = price_bundles([100.0, 100.0], [90.0, 85.0], 0.1, 0.5, PricingPolicy())
    assert quotes.limit[0] == "below_floor"
    assert quotes.bundle_price[0] == 100.0 and quotes.expected_profit[0] == 0.0
    # Exactly at the floor: no room for any discount, and the floor is why.
    assert quotes.limit[1] == "margin_floor"
    assert quotes.discount_pct[1] == 0.0


def test_max_discount_binds_for_a_strong_response() -> None:
    # Rare buyers (q = 1 %) and a cheap bundle: the take rate is still far from 1 at 30 % off,
    # so E keeps rising up to the cap.
    for response in (8.0, 20.0):
        quotes = price_bundles(100.0, 20.0, 0.01, 0.5, PricingPolicy(response=response))
        assert quotes.limit == ["max_discount"]
        assert quotes.discount_pct[0] == 30.0
    quotes = price_bundles(100.0, 50.0, 0.1, 0.5, PricingPolicy(max_discount=0.1))
    assert quotes.limit == ["max_discount"] and quotes.discount_pct[0] == 10.0


def test_more_sensitive_shopper_never_gets_less_while_takes_are_unsaturated() -> None:
    # log(take(d) m(d)) has increasing differences in (d, beta) while beta d take(d) <= 1, so
    # the (smallest) argmax cannot fall as sensitivity rises; checked at the top of the range.
    rng = np.random.default_rng(11)
    n = 4000
    policy = PricingPolicy()
    p = np.round(rng.uniform(5, 500, n), 2)
    c = p * rng.uniform(0.1, 0.85, n)
    q = rng.uniform(0.001, 0.05, n)
    s_lo = rng.uniform(0, 1, n)
    s_hi = np.minimum(s_lo + rng.uniform(0, 0.5, n), 1.0)
    lo = price_bundles(p, c, q, s_lo, policy)
    hi = price_bundles(p, c, q, s_hi, policy)
    d_max = np.clip(np.minimum(0.3, 1 - c / (0.85 * p)), 0, None)
    beta_hi = policy.response * (0.5 + s_hi)
    covered = beta_hi * d_max * take_rate(d_max, q, policy.response, s_hi) <= 1.0
    assert covered.sum() > 500
    assert np.all(hi.discount_pct[covered] >= lo.discount_pct[covered])


def test_more_sensitive_shopper_gets_a_deeper_discount_when_it_pays() -> None:
    quotes = price_bundles(100.0, 50.0, 0.02, [0.0, 0.5, 1.0], PricingPolicy())
    assert quotes.discount_pct.tolist() == [23.5, 30.0, 30.0]
    assert quotes.discount_pct[1] > quotes.discount_pct[0]


def test_saturated_take_rate_can_reverse_the_ordering() -> None:
    # A frequent buyer (q = 30 %) with a steep response is won over at a smaller discount.
    quotes = price_bundles(100.0, 10.0, 0.3, [0.0, 1.0], PricingPolicy(response=30.0))
    assert quotes.discount_pct[1] < quotes.discount_pct[0]
    assert quotes.take_rate[1] > 0.9


def test_reason_mentions_the_discount_and_the_floor() -> None:
    quotes = price_bundles(
        [100.0, 100.0, 100.0, 100.0], [50.0, 82.0, 20.0, 90.0], [0.1, 0.05, 0.01, 0.1], 0.5,
        PricingPolicy(),
    )  # fmt: skip
    assert quotes.limit == ["optimum", "margin_floor", "max_discount", "below_floor"]
    assert quotes.reason(0) == (
        "26 % off maximises expected profit (take rate 47.1 % vs 10.0 % at list); "
        "margin 32.4 % stays above the 15 % floor"
    )
    assert quotes.reason(1).startswith("3.52 % off")
    assert quotes.reason(2).startswith("30 % off")
    assert quotes.reason(3).startswith("No discount") and "10 %" in quotes.reason(3)
    for k in range(len(quotes)):
        assert "15 % floor" in quotes.reason(k) or "15 % margin floor" in quotes.reason(k)
    none = price_bundles(100.0, 50.0, 0.1, 0.5, PricingPolicy(response=0.0))
    assert none.reason(0).startswith("No discount") and "15 % floor" in none.reason(0)


def _simulate(
    rng: np.random.Generator, n: int, response: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = rng.uniform(0.02, 0.2, n)
    d = rng.uniform(0.0, 0.3, n)
    taken = (rng.random(n) < take_rate(d, q, response)).astype(np.float64)
    return d, q, taken


def test_fit_response_recovers_a_planted_response() -> None:
    rng = np.random.default_rng(2024)
    d, q, taken = _simulate(rng, 20_000, 6.0)
    fitted = fit_response(d, q, taken)
    assert fitted is not None
    assert abs(fitted - 6.0) < 0.6
    # bool takes are fine too
    assert fit_response(d, q, taken.astype(bool)) == pytest.approx(fitted)


def test_fit_response_clamps_a_negative_slope_to_zero() -> None:
    rng = np.random.default_rng(5)
    q = rng.uniform(0.02, 0.2, 20_000)
    d = rng.uniform(0.0, 0.3, 20_000)
    taken = rng.random(20_000) < 1 / (1 + np.exp(-(np.log(q / (1 - q)) - 4.0 * d)))
    assert fit_response(d, q, taken) == 0.0


def test_fit_response_needs_enough_varied_offers() -> None:
    rng = np.random.default_rng(9)
    d, q, taken = _simulate(rng, 5_000, PRIOR_RESPONSE)
    assert fit_response(d[:150], q[:150], taken[:150]) is None  # < 200 offers
    few = np.zeros_like(taken)
    few[:19] = 1.0
    assert fit_response(d, q, few) is None  # < 20 takes
    assert fit_response(np.full(5_000, 0.1), q, taken) is None  # one discount level
    assert fit_response([], [], []) is None
    assert fit_response(d, q, taken) is not None


@pytest.mark.parametrize(
    ("discount", "base_rate", "taken"),
    [
        ([0.1, 0.2], [0.1], [0, 1]),  # unequal lengths
        ([0.1, 1.0], [0.1, 0.1], [0, 1]),  # discount of 100 %
        ([-0.1, 0.2], [0.1, 0.1], [0, 1]),
        ([0.1, 0.2], [0.0, 0.1], [0, 1]),  # q must be strictly inside (0, 1)
        ([0.1, 0.2], [0.1, 1.0], [0, 1]),
        ([0.1, 0.2], [0.1, 0.1], [0, 2]),  # takes are 0/1
        ([0.1, float("nan")], [0.1, 0.1], [0, 1]),
    ],
)
def test_fit_response_rejects_bad_inputs(
    discount: list[float], base_rate: list[float], taken: list[int]
) -> None:
    with pytest.raises(ValidationFailed):
        fit_response(discount, base_rate, taken)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"margin_floor": 1.0},
        {"margin_floor": -0.1},
        {"max_discount": 1.0},
        {"max_discount": -0.01},
        {"response": -1.0},
        {"response": float("inf")},
        {"step": 0.0},
        {"step": float("nan")},
    ],
)
def test_policy_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationFailed):
        PricingPolicy(**kwargs)


def test_price_bundles_rejects_bad_inputs() -> None:
    policy = PricingPolicy()
    with pytest.raises(ValidationFailed, match="equal lengths"):
        price_bundles([100.0, 50.0], [50.0, 20.0, 10.0], 0.1, 0.5, policy)
    with pytest.raises(ValidationFailed):
        price_bundles([0.0], [0.0], 0.1, 0.5, policy)
    with pytest.raises(ValidationFailed):
        price_bundles([100.0], [-1.0], 0.1, 0.5, policy)
    with pytest.raises(ValidationFailed):
        price_bundles([100.0], [50.0], 1.5, 0.5, policy)
    with pytest.raises(ValidationFailed):
        price_bundles([100.0], [50.0], 0.1, 1.5, policy)

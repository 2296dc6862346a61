"""Gamma-Gamma: parameter recovery, expected spend, lifetime value as lifetimes computes it."""

from __future__ import annotations

import numpy as np
import pytest

from shopsense.clv import (
    BetaGeoModel,
    GammaGammaModel,
    InvalidInput,
    NotFitted,
    customer_lifetime_value,
    simulate_beta_geo,
    simulate_gamma_gamma,
)

TRUE = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def spend() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2013)
    x = rng.integers(1, 10, size=20_000).astype(float)
    return x, simulate_gamma_gamma(x, **TRUE, seed=rng)


@pytest.fixture(scope="module")
def fitted(spend: tuple[np.ndarray, np.ndarray]) -> GammaGammaModel:
    return GammaGammaModel().fit(*spend)


@pytest.fixture(scope="module")
def purchases() -> BetaGeoModel:
    rng = np.random.default_rng(11)
    sample = simulate_beta_geo(rng.uniform(20, 40, 5000), 0.3, 5.0, 0.8, 2.5, seed=rng)
    return BetaGeoModel().fit(*sample)


def test_recovers_simulated_parameters(fitted: GammaGammaModel) -> None:
    """Each estimate lies within 4 of its standard errors of the value it was drawn from."""
    assert fitted.params_ is not None and fitted.standard_errors_ is not None
    for name, true in TRUE.items():
        se = fitted.standard_errors_[name]
        assert 0 < se < 0.2 * true, name
        assert abs(fitted.params_[name] - true) < 4 * se, (name, fitted.params_[name], se)


def test_expected_average_value(fitted: GammaGammaModel) -> None:
    """Eq. (5): weight p x / (p x + q - 1) on the customer's own mean, the rest on the
    population mean gamma p / (q - 1); nothing of their own when x = 0."""
    assert fitted.params_ is not None
    p, q, gamma = fitted.params_["p"], fitted.params_["q"], fitted.params_["gamma"]
    population = gamma * p / (q - 1)
    x = np.array([0.0, 1.0, 4.0, 100.0])
    m = np.array([0.0, 50.0, 10.0, 30.0])
    own = p * x / (p * x + q - 1)
    expected = fitted.conditional_expected_average_profit(x, m)
    np.testing.assert_allclose(expected, (1 - own) * population + own * m, rtol=1e-12)
    assert expected[0] == pytest.approx(population)
    np.testing.assert_array_equal(fitted.expected_average_value(x, m), expected)


def test_frequency_zero_is_rejected_when_fitting() -> None:
    with pytest.raises(InvalidInput, match=r"frequency is 0 .* for 2 customers"):
        GammaGammaModel().fit([0, 1, 0, 3], [0.0, 10.0, 0.0, 12.0])


def test_non_positive_spend_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"monetary_value is not positive \(<= 0\) for 2"):
        GammaGammaModel().fit([1, 2, 3], [10.0, 0.0, -4.0])


def test_methods_need_a_fit(purchases: BetaGeoModel) -> None:
    model = GammaGammaModel()
    with pytest.raises(NotFitted):
        model.conditional_expected_average_profit([1], [10.0])
    with pytest.raises(NotFitted):
        model.customer_lifetime_value(purchases, [1], [2], [3], [10.0])
    with pytest.raises(NotFitted):
        GammaGammaModel().fit([1, 2], [3.0, 4.0]).customer_lifetime_value(
            BetaGeoModel(), [1], [2], [3], [10.0]
        )


def _lifetimes_clv(
    purchases: BetaGeoModel,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    value: np.ndarray,
    time: int,
    rate: float,
    factor: float,
) -> np.ndarray:
    """lifetimes.utils._customer_lifetime_value, month by month."""
    clv = np.zeros(len(x))
    for i in np.arange(1, time + 1) * factor:
        in_month = purchases.conditional_expected_purchases(
            i, x, t_x, T
        ) - purchases.conditional_expected_purchases(i - factor, x, t_x, T)
        clv += value * in_month / (1 + rate) ** (i / factor)
    return clv


@pytest.mark.parametrize(("freq", "factor"), [("W", 4.345), ("D", 30.0)])
def test_lifetime_value_as_lifetimes(
    fitted: GammaGammaModel, purchases: BetaGeoModel, freq: str, factor: float
) -> None:
    x = np.array([0.0, 1.0, 3.0, 10.0])
    t_x = np.array([0.0, 5.0, 20.0, 30.0])
    T = np.array([10.0, 30.0, 30.0, 31.0])
    m = np.array([0.0, 20.0, 35.0, 60.0])
    if freq == "D":
        t_x, T = t_x * 7, T * 7
    clv = fitted.customer_lifetime_value(
        purchases,
        x,
        t_x,
        T,
        m,
        time=6,
        discount_rate=0.02,
        freq=freq,  # type: ignore[arg-type]
    )
    value = fitted.conditional_expected_average_profit(x, m)
    reference = _lifetimes_clv(purchases, x, t_x, T, value, 6, 0.02, factor)
    np.testing.assert_allclose(clv, reference, rtol=1e-12)
    assert np.all(clv > 0)


def test_undiscounted_value_is_purchases_times_value(purchases: BetaGeoModel) -> None:
    clv = customer_lifetime_value(
        purchases, [2], [10], [30], [25.0], time=12, discount_rate=0.0, freq="W"
    )
    horizon = purchases.conditional_expected_purchases(12 * 4.345, [2], [10], [30])
    np.testing.assert_allclose(clv, 25.0 * horizon, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq": "Y"}, "freq must be one of"),
        ({"time": 0}, "time must be a whole number"),
        ({"time": 1.5}, "time must be a whole number"),
        ({"discount_rate": -1.0}, "discount_rate"),
    ],
)
def test_lifetime_value_arguments(
    purchases: BetaGeoModel, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        customer_lifetime_value(purchases, [1], [1], [2], [10.0], **kwargs)  # type: ignore[arg-type]

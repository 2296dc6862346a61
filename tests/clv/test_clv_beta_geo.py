"""BG/NBD: parameter recovery on simulated cohorts, model properties, fitting errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import hyp2f1

from shopsense.clv import (
    BetaGeoModel,
    BetaGeoSample,
    InvalidInput,
    NotFitted,
    simulate_beta_geo,
)
from shopsense.clv.beta_geo import _Cohort, _Objective
from shopsense.errors import ConvergenceError

TRUE = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def cohort() -> BetaGeoSample:
    rng = np.random.default_rng(20050101)
    return simulate_beta_geo(rng.uniform(26.0, 52.0, size=30_000), **TRUE, seed=rng)


@pytest.fixture(scope="module")
def fitted(cohort: BetaGeoSample) -> BetaGeoModel:
    return BetaGeoModel().fit(*cohort)


def test_recovers_simulated_parameters(fitted: BetaGeoModel) -> None:
    """Each estimate lies within 4 of its standard errors of the value it was drawn from."""
    assert fitted.params_ is not None and fitted.standard_errors_ is not None
    for name, true in TRUE.items():
        se = fitted.standard_errors_[name]
        assert 0 < se < 0.1 * true, name
        assert abs(fitted.params_[name] - true) < 4 * se, (name, fitted.params_[name], se)
    assert fitted.n_iter_ is not None and fitted.n_iter_ < 50


def test_weights_are_repeated_rows(cohort: BetaGeoSample) -> None:
    x, t_x, T = (v[:3000] for v in cohort)
    weights = np.arange(3000) % 3 + 1.0
    weighted = BetaGeoModel().fit(x, t_x, T, weights=weights)
    repeated = BetaGeoModel().fit(*(np.repeat(v, weights.astype(int)) for v in (x, t_x, T)))
    assert weighted.params_ is not None and repeated.params_ is not None
    for name in TRUE:
        assert weighted.params_[name] == pytest.approx(repeated.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(repeated.log_likelihood_, rel=1e-9)


def test_time_unit_does_not_matter(cohort: BetaGeoSample) -> None:
    """Weeks versus days: alpha scales by 7, the rest is unchanged."""
    x, t_x, T = (v[:5000] for v in cohort)
    weeks = BetaGeoModel().fit(x, t_x, T)
    days = BetaGeoModel().fit(x, t_x * 7, T * 7)
    assert weeks.params_ is not None and days.params_ is not None
    assert days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-6)
    for name in ("r", "a", "b"):
        assert days.params_[name] == pytest.approx(weeks.params_[name], rel=1e-6)
    assert weeks.log_likelihood_ is not None and days.log_likelihood_ is not None
    assert days.log_likelihood_ == pytest.approx(weeks.log_likelihood_ - x.sum() * np.log(7))


def test_probability_alive_is_one_without_repeat_purchases(fitted: BetaGeoModel) -> None:
    """BG/NBD drops customers out only right after a repeat purchase."""
    T = np.array([0.0, 1.0, 10.0, 52.0, 1e6])
    np.testing.assert_array_equal(fitted.probability_alive(np.zeros(5), np.zeros(5), T), 1.0)


def test_probability_alive_falls_with_silence(fitted: BetaGeoModel) -> None:
    T = np.array([10.0, 20.0, 40.0, 80.0])
    alive = fitted.probability_alive(np.full(4, 3.0), np.full(4, 10.0), T)
    assert alive[0] < 1.0 and np.all(np.diff(alive) < 0) and np.all(alive > 0)
    # A heavy buyer silent for a very long time: 0, not NaN.
    assert fitted.probability_alive(500, 1.0, 1e5)[0] == 0.0


def test_conditional_expectation_matches_direct_formula(fitted: BetaGeoModel) -> None:
    """Eq. (10) written out with the untransformed hypergeometric term, where it is finite."""
    assert fitted.params_ is not None
    r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
    x = np.array([0.0, 1.0, 2.0, 5.0, 10.0])
    t_x = np.array([0.0, 3.0, 20.0, 30.0, 39.0])
    T = np.array([39.0, 39.0, 39.0, 40.0, 40.0])
    t = 39.0
    z = t / (alpha + T + t)
    hyp = ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    dead_odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0)
    direct = (a + b + x - 1) / (a - 1) * (1 - hyp) / (1 + dead_odds)
    np.testing.assert_allclose(
        fitted.conditional_expected_purchases(t, x, t_x, T), direct, rtol=1e-9
    )


def test_conditional_expectation_stays_finite_for_heavy_buyers(fitted: BetaGeoModel) -> None:
    x = np.array([200.0, 1000.0, 5000.0])
    expected = fitted.conditional_expected_purchases(520.0, x, np.full(3, 51.9), np.full(3, 52.0))
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)
    assert np.all(np.diff(expected) > 0)


def test_horizons_broadcast(fitted: BetaGeoModel) -> None:
    t = np.array([[0.0], [13.0], [26.0]])
    grid = fitted.conditional_expected_purchases(t, [0, 2, 7], [0, 10, 30], [39, 39, 39])
    assert grid.shape == (3, 3)
    np.testing.assert_array_equal(grid[0], 0.0)
    assert np.all(np.diff(grid, axis=0) > 0)


def test_expected_purchases_grow_from_zero(fitted: BetaGeoModel) -> None:
    expected = fitted.expected_purchases([0.0, 1.0, 10.0, 100.0])
    assert expected[0] == 0.0 and np.all(np.diff(expected) > 0)


def test_gradient_and_hessian_are_exact() -> None:
    rng = np.random.default_rng(7)
    x, t_x, T = simulate_beta_geo(rng.uniform(1, 40, 500), 0.7, 3.0, 1.2, 3.0, seed=rng)
    objective = _Objective(_Cohort(x, t_x / 40, T / 40, rng.integers(1, 4, 500) * 1.0), 0.05)
    for point in (np.zeros(4), np.array([-1.0, 0.5, 0.3, 1.5])):
        grad = objective.value_and_grad(point)[1].copy()
        hess = objective.hess(point).copy()
        numeric = approx_fprime(point, lambda p: objective.value_and_grad(p)[0], 1e-7)
        np.testing.assert_allclose(grad, numeric, atol=1e-6)
        numeric_hess = np.array(
            [
                approx_fprime(point, lambda p, i=i: objective.value_and_grad(p)[1][i], 1e-6)
                for i in range(4)
            ]
        )
        np.testing.assert_allclose(hess, numeric_hess, atol=1e-4)


def test_penalizer_shrinks_parameters(cohort: BetaGeoSample) -> None:
    x, t_x, T = (v[:3000] for v in cohort)
    plain = BetaGeoModel().fit(x, t_x, T)
    shrunk = BetaGeoModel(penalizer_coef=0.1).fit(x, t_x, T)
    assert plain.params_ is not None and shrunk.params_ is not None
    assert shrunk.params_["b"] < plain.params_["b"]
    assert shrunk.log_likelihood_ is not None and plain.log_likelihood_ is not None
    assert shrunk.log_likelihood_ < plain.log_likelihood_


def test_methods_need_a_fit() -> None:
    model = BetaGeoModel()
    for call in (
        lambda: model.probability_alive(1, 1, 2),
        lambda: model.conditional_expected_purchases(1, 1, 1, 2),
        lambda: model.expected_purchases(1),
    ):
        with pytest.raises(NotFitted, match="not fitted") as caught:
            call()
        assert caught.value.status == 409


def test_non_convergence_is_an_error(cohort: BetaGeoSample) -> None:
    with pytest.raises(ConvergenceError, match="did not converge") as caught:
        BetaGeoModel().fit(*cohort, max_iter=1)
    assert caught.value.status == 422


def test_unrepresentable_likelihood_is_an_error() -> None:
    with pytest.raises(ConvergenceError, match="non-finite likelihood"):
        BetaGeoModel().fit([1e300, 0], [1, 0], [2, 2])


def test_cohort_without_repeat_purchases_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="no customer has a repeat purchase"):
        BetaGeoModel().fit([0, 0, 0], [0, 0, 0], [5, 6, 7])


def test_negative_penalizer_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="penalizer_coef"):
        BetaGeoModel(penalizer_coef=-1.0)

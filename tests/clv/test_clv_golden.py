"""The models against figures published on the CDNOW sample (2,357 customers, 39 weeks).

Sources: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative
to the Pareto/NBD Model", Marketing Science 24(2), 275-284, and its companion note by Fader,
Hardie & Lee, "Implementing the BG/NBD Model for Customer Base Analysis in Excel" (BG/NBD
estimates, log-likelihood, and the conditional expectation 1.226 of the worked example:
x=2, t_x=30.43, T=38.86 over the next 39 weeks, customer ID 1 of the sample); Fader &
Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (Gamma-Gamma estimates). The
figures are also in shared/datasets/README.md.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shopsense.clv import BetaGeoModel, GammaGammaModel

pytestmark = pytest.mark.datasets


def test_beta_geo_matches_fader_hardie_lee_2005(cdnow_sample: pl.DataFrame) -> None:
    """BG/NBD: r=0.2426, alpha=4.4135, a=0.7929, b=2.4258 (±0.5 %), LL = -9582.4 (FHL 2005)."""
    model = BetaGeoModel().fit(cdnow_sample["x"], cdnow_sample["t_x"], cdnow_sample["T"])
    published = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    assert model.params_ is not None
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, rel=5e-3), name
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_gamma_gamma_matches_fader_hardie(cdnow_sample: pl.DataFrame) -> None:
    """Gamma-Gamma on the 946 repeat buyers: p=6.25, q=3.74, gamma=15.44 (±1 %)."""
    repeat = cdnow_sample.filter(pl.col("x") > 0)
    assert repeat.height == 946
    model = GammaGammaModel().fit(repeat["x"], repeat["zbar"])
    assert model.params_ is not None
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-2), name


def test_conditional_expectation_of_customer_1(cdnow_sample: pl.DataFrame) -> None:
    """x=2, t_x=30.43, T=38.86: 1.226 expected purchases over the next 39 weeks."""
    model = BetaGeoModel().fit(cdnow_sample["x"], cdnow_sample["t_x"], cdnow_sample["T"])
    expected = model.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert round(float(expected[0]), 3) == 1.226


def test_population_expectations_are_consistent(cdnow_sample: pl.DataFrame) -> None:
    """Eq. (9) is eq. (10) for x=0, T=0, and a new customer's P(alive) is 1."""
    model = BetaGeoModel().fit(cdnow_sample["x"], cdnow_sample["t_x"], cdnow_sample["T"])
    t = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        model.expected_purchases(t),
        model.conditional_expected_purchases(t, 0, 0, 0),
        rtol=1e-12,
    )

"""Impossible inputs are refused with the rule broken and how many customers break it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from shopsense.clv import (
    BetaGeoModel,
    GammaGammaModel,
    InvalidInput,
    check_inputs,
    simulate_beta_geo,
)
from shopsense.errors import ValidationFailed

NAN = float("nan")
INF = float("inf")


def bg_fit(x: Any, t_x: Any, T: Any) -> None:
    BetaGeoModel().fit(x, t_x, T)


CASES: list[tuple[str, list[float], list[float], list[float], str]] = [
    (
        "recency > T",
        [1, 2, 3, 1, 0],
        [5, 9, 8, 2, 0],
        [4, 8, 7, 3, 5],
        "recency is larger than T for 3 customers",
    ),
    ("negative frequency", [-1, -2, 1], [0, 0, 1], [2, 2, 2], "negative frequency for 2 customers"),
    ("NaN recency", [1, 1, 1], [1, NAN, 1], [2, 2, 2], "NaN in recency for 1 customer"),
    ("NaN frequency", [NAN, 1], [0, 1], [2, 2], "NaN in frequency for 1 customer"),
    ("infinite T", [1, 1], [1, 1], [INF, 2], "infinite T for 1 customer"),
    (
        "fractional frequency",
        [1.5, 2, 0.2],
        [1, 1, 1],
        [2, 2, 2],
        "frequency is not an integer for 2 customers",
    ),
    ("negative recency", [1, 1], [-1, 1], [2, 2], "negative recency for 1 customer"),
    ("negative T", [0, 1], [0, 1], [-2, 2], "negative T for 1 customer"),
    (
        "recency without repeat purchase",
        [0, 0, 1],
        [1, 2, 1],
        [3, 3, 3],
        "recency is not 0 although frequency is 0 for 2 customers",
    ),
    ("mismatched lengths", [1, 2, 3], [1, 1], [2, 2, 2], "mismatched lengths: frequency has 3"),
    ("empty", [], [], [], "no customers"),
]


@pytest.fixture(scope="module")
def fitted() -> BetaGeoModel:
    rng = np.random.default_rng(3)
    return BetaGeoModel().fit(
        *simulate_beta_geo(rng.uniform(10, 40, 2000), 0.5, 5, 0.8, 2.5, seed=rng)
    )


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("method", ["fit", "probability_alive", "conditional_expected_purchases"])
def test_history_rules(
    fitted: BetaGeoModel,
    method: str,
    x: list[float],
    t_x: list[float],
    T: list[float],
    message: str,
) -> None:
    calls: dict[str, Callable[[], object]] = {
        "fit": lambda: BetaGeoModel().fit(x, t_x, T),
        "probability_alive": lambda: fitted.probability_alive(x, t_x, T),
        "conditional_expected_purchases": lambda: fitted.conditional_expected_purchases(
            10, x, t_x, T
        ),
    }
    with pytest.raises(InvalidInput, match=message):
        calls[method]()


def test_every_broken_rule_is_reported() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_inputs(
            np.array([-1.0, 0.5, 1.0]), np.array([0.0, 3.0, NAN]), np.array([1.0, 2.0, 2.0])
        )
    error = caught.value
    assert str(error) == (
        "NaN in recency for 1 customer; negative frequency for 1 customer; "
        "frequency is not an integer for 1 customer; recency is larger than T for 1 customer"
    )
    assert {"rule": "recency is larger than T", "field": "recency", "count": 1} in error.errors
    assert len(error.errors) == 4


def test_error_is_a_value_error_and_a_422() -> None:
    with pytest.raises(ValueError, match="negative frequency") as caught:
        bg_fit([-1], [0], [1])
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.status == 422


def test_gamma_gamma_rules() -> None:
    with pytest.raises(InvalidInput, match="mismatched lengths"):
        GammaGammaModel().fit([1, 2], [3.0])
    with pytest.raises(InvalidInput, match=r"NaN in monetary_value for 1 customer"):
        GammaGammaModel().fit([1, 2], [NAN, 3.0])
    with pytest.raises(InvalidInput, match="frequency is not an integer for 1 customer"):
        GammaGammaModel().fit([1.5, 2], [2.0, 3.0])
    with pytest.raises(InvalidInput, match="negative weights for 1 customer"):
        GammaGammaModel().fit([1, 2], [2.0, 3.0], weights=[1, -1])


def test_prediction_ignores_spend_without_repeat_purchase() -> None:
    model = GammaGammaModel().fit([1, 2, 3, 1], [10.0, 12.0, 9.0, 14.0])
    assert np.all(np.isfinite(model.conditional_expected_average_profit([0, 1], [0.0, 10.0])))
    with pytest.raises(InvalidInput, match=r"monetary_value is not positive \(<= 0\) for 1"):
        model.conditional_expected_average_profit([0, 1], [0.0, 0.0])


def test_non_numeric_and_two_dimensional_inputs() -> None:
    with pytest.raises(InvalidInput, match="frequency is not numeric"):
        bg_fit(["a"], [0], [1])
    with pytest.raises(InvalidInput, match="one-dimensional"):
        bg_fit([[1, 2]], [[0, 0]], [[1, 1]])

"""Customer lifetime value: expected purchases times expected value, discounted by month."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import numpy as np

from shopsense.clv.checks import FloatArray, as_vector, invalid

__all__ = ["MONTH_LENGTH", "PurchaseModel", "customer_lifetime_value"]

# Length of a month in each time unit, as lifetimes has it (4.345 weeks, 30 days), so that the
# same data gives the same figures in both.
MONTH_LENGTH: dict[str, float] = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24.0}


class PurchaseModel(Protocol):
    """Anything that predicts cumulative repeat purchases after T, such as `BetaGeoModel`."""

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> FloatArray: ...


def customer_lifetime_value(
    purchase_model: PurchaseModel,
    frequency: Any,
    recency: Any,
    T: Any,
    expected_value: Any,
    *,
    time: int = 12,
    discount_rate: float = 0.01,
    freq: Literal["D", "W", "M", "H"] = "D",
) -> FloatArray:
    """Discounted expected value of each customer over the next ``time`` months.

    For month k = 1..time: (E[purchases by the end of month k] - E[purchases by the end of
    month k-1]) * expected_value / (1 + discount_rate)^k, summed; this is how ``lifetimes``
    (``_customer_lifetime_value``) computes it, with all months evaluated in one vectorised
    call instead of two calls per month.

    Parameters
    ----------
    purchase_model
        A fitted purchase model (`BetaGeoModel`).
    frequency, recency, T
        The customers' histories, recency and T in the unit ``freq``.
    expected_value
        Expected value per future purchase (e.g. from `GammaGammaModel`).
    time
        Horizon in months.
    discount_rate
        Discount rate per month.
    freq
        Unit of recency and T: "D" days, "W" weeks, "M" months, "H" hours.
    """
    if freq not in MONTH_LENGTH:
        raise invalid(
            f"freq must be one of {sorted(MONTH_LENGTH)}, got {freq!r}", "unknown unit", "freq"
        )
    if isinstance(time, bool) or not isinstance(time, int | np.integer) or time < 1:
        raise invalid(
            f"time must be a whole number of months >= 1, got {time!r}", "bad horizon", "time"
        )
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise invalid(
            f"discount_rate must be finite and > -1, got {discount_rate!r}",
            "bad discount rate",
            "discount_rate",
        )
    value = as_vector(expected_value, "expected_value")
    month = MONTH_LENGTH[freq]
    ends = np.arange(0, int(time) + 1, dtype=np.float64)[:, None] * month
    cumulative = purchase_model.conditional_expected_purchases(ends, frequency, recency, T)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + discount_rate) ** -np.arange(1, int(time) + 1, dtype=np.float64)
    return np.asarray((discount[:, None] * per_month).sum(axis=0) * value, dtype=np.float64)

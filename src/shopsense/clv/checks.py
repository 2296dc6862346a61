"""Input checks for the CLV models.

The likelihoods silently return NaN or nonsense on impossible histories (a last purchase after
the end of observation, a fractional number of repeat purchases), so every public entry point
checks its inputs first and names each broken rule with the number of customers breaking it,
the way ``lifetimes`` does in ``_check_inputs``, but reporting every rule at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shopsense.errors import ValidationFailed

__all__ = ["InvalidInput", "as_vector", "check_inputs", "invalid"]

FloatArray = npt.NDArray[np.float64]


class InvalidInput(ValidationFailed, ValueError):
    """Inputs that no customer history can produce.

    A ``ValueError`` as in ``lifetimes`` (so callers used to it keep working) and the project's
    ``ValidationFailed`` (so the API answers 422). ``errors`` holds one entry per broken rule:
    ``{"rule": ..., "field": ..., "count": ...}``.
    """


def invalid(message: str, rule: str, field: str, count: int | None = None) -> InvalidInput:
    """An `InvalidInput` for one broken rule."""
    return InvalidInput(message, errors=[{"rule": rule, "field": field, "count": count}])


def _customers(n: int) -> str:
    return f"{n} customer" if n == 1 else f"{n} customers"


def as_vector(values: Any, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float64 array (scalars become length 1).

    Accepts numpy arrays, lists, pandas or polars Series; anything ``np.asarray`` reads.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise invalid(f"{name} is not numeric", "not numeric", name) from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise invalid(
            f"{name} must be one-dimensional, got shape {array.shape}", "not one-dimensional", name
        )
    return array


def check_inputs(
    frequency: FloatArray,
    recency: FloatArray | None = None,
    T: FloatArray | None = None,
    monetary_value: FloatArray | None = None,
    weights: FloatArray | None = None,
    *,
    repeat_only: bool = False,
) -> None:
    """Raise `InvalidInput` naming every rule the inputs break and how many customers break it.

    Rules: equal non-zero lengths; no NaN or infinite values; frequency a non-negative
    integer; recency and T non-negative; recency <= T; recency 0 when frequency is 0;
    weights non-negative. With ``repeat_only`` (fitting Gamma-Gamma, which needs at least one
    repeat purchase per customer) frequency must be > 0 and monetary_value > 0; otherwise
    monetary_value must be > 0 where frequency > 0 and is ignored (conventionally 0) where
    frequency is 0, since such customers have no repeat purchase to average.
    """
    fields: dict[str, FloatArray] = {"frequency": frequency}
    for name, values in (
        ("recency", recency),
        ("T", T),
        ("monetary_value", monetary_value),
        ("weights", weights),
    ):
        if values is not None:
            fields[name] = values

    lengths = {name: len(values) for name, values in fields.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InvalidInput(
            f"mismatched lengths: {listed}",
            errors=[
                {"rule": "mismatched lengths", "field": name, "count": n}
                for name, n in lengths.items()
            ],
        )
    if len(frequency) == 0:
        raise invalid("no customers: the inputs are empty", "empty", "frequency", 0)

    broken: list[tuple[str, str, int]] = []

    def rule(mask: npt.NDArray[np.bool_], message: str, name: str) -> None:
        count = int(np.count_nonzero(mask))
        if count:
            broken.append((message, name, count))

    finite: dict[str, npt.NDArray[np.bool_]] = {}
    for name, values in fields.items():
        nan = np.isnan(values)
        rule(nan, f"NaN in {name}", name)
        rule(np.isinf(values), f"infinite {name}", name)
        finite[name] = ~nan & ~np.isinf(values)

    ok_f = finite["frequency"]
    rule(ok_f & (frequency < 0), "negative frequency", "frequency")
    rule(ok_f & (frequency != np.round(frequency)), "frequency is not an integer", "frequency")
    if recency is not None:
        ok_r = finite["recency"]
        rule(ok_r & (recency < 0), "negative recency", "recency")
        rule(
            ok_r & ok_f & (frequency == 0) & (recency != 0),
            "recency is not 0 although frequency is 0",
            "recency",
        )
    if T is not None:
        rule(finite["T"] & (T < 0), "negative T", "T")
    if recency is not None and T is not None:
        rule(finite["recency"] & finite["T"] & (recency > T), "recency is larger than T", "recency")
    if repeat_only:
        rule(
            ok_f & (frequency == 0),
            "frequency is 0 (Gamma-Gamma is fitted on repeat buyers only: pass frequency > 0)",
            "frequency",
        )
    if monetary_value is not None:
        counted = finite["monetary_value"] & (monetary_value <= 0)
        if not repeat_only:
            counted &= frequency != 0
        rule(counted, "monetary_value is not positive (<= 0)", "monetary_value")
    if weights is not None:
        rule(finite["weights"] & (weights < 0), "negative weights", "weights")

    if broken:
        raise InvalidInput(
            "; ".join(f"{message} for {_customers(count)}" for message, _, count in broken),
            errors=[
                {"rule": message, "field": name, "count": count} for message, name, count in broken
            ],
        )

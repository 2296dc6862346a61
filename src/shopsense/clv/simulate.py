"""Customer histories drawn from the BG/NBD and Gamma-Gamma models, for tests and demos.

Drawing from known parameters and fitting again is the check that the likelihoods and the
optimiser are right independently of any published figure.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from shopsense.clv.checks import FloatArray, InvalidInput, as_vector, invalid

__all__ = ["BetaGeoSample", "simulate_beta_geo", "simulate_gamma_gamma"]


class BetaGeoSample(NamedTuple):
    """Per-customer summaries: repeat purchases, time of the last one, time observed."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray


def _positive(**params: float) -> None:
    bad = [name for name, v in params.items() if not (np.isfinite(v) and v > 0)]
    if bad:
        raise InvalidInput(
            f"parameters must be finite and > 0: {', '.join(bad)}",
            errors=[{"rule": "non-positive parameter", "field": b, "count": None} for b in bad],
        )


def simulate_beta_geo(
    T: Any,
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    seed: int | np.random.Generator | None = None,
) -> BetaGeoSample:
    """Draw one BG/NBD history per entry of ``T`` (time observed since the first purchase).

    Each customer gets lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b). The repeat purchase
    after which they drop out is J ~ Geometric(p) on {1, 2, ...}; the Poisson process of
    rate lambda gives N purchases in (0, T]; so x = min(N, J). Given N, purchase times are
    uniform order statistics, so the x-th is T * Beta(x, N - x + 1): no loop per customer.
    """
    _positive(r=r, alpha=alpha, a=a, b=b)
    t_obs = as_vector(T, "T")
    if np.any(~np.isfinite(t_obs) | (t_obs < 0)):
        raise invalid("T must be finite and >= 0", "bad T", "T")
    rng = np.random.default_rng(seed)
    n = len(t_obs)
    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    drop_after = rng.geometric(np.clip(p, 1e-300, 1.0))
    arrivals = rng.poisson(lam * t_obs)
    x = np.minimum(arrivals, drop_after)
    has = x > 0
    recency = np.zeros(n)
    recency[has] = t_obs[has] * rng.beta(x[has], arrivals[has] - x[has] + 1)
    return BetaGeoSample(x.astype(np.float64), recency, t_obs.copy())


def simulate_gamma_gamma(
    frequency: Any,
    p: float,
    q: float,
    gamma: float,
    *,
    seed: int | np.random.Generator | None = None,
) -> FloatArray:
    """Draw each customer's average spend over ``frequency`` repeat purchases.

    nu ~ Gamma(q, rate gamma) per customer; each purchase is Gamma(p, rate nu), so the mean of
    x purchases is Gamma(p x, rate nu x). Customers with x = 0 get 0, like
    `summary_from_transactions`.
    """
    _positive(p=p, q=q, gamma=gamma)
    x = as_vector(frequency, "frequency")
    if np.any(~np.isfinite(x) | (x < 0) | (x != np.round(x))):
        raise invalid("frequency must hold non-negative integers", "bad frequency", "frequency")
    rng = np.random.default_rng(seed)
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=len(x))
    spend = np.zeros(len(x))
    has = x > 0
    spend[has] = rng.gamma(shape=p * x[has], scale=1.0 / (nu[has] * x[has]))
    return spend

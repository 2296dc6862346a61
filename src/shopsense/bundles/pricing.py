"""Profit-optimal bundle discounts.

A bundle has a list price ``P`` (its items' prices x quantities) and a cost ``C``. Offering it
at a discount ``d`` (a fraction: 0.1 = 10 %) is worth doing only if it earns more than it gives
away, so the model prices the *incremental* expected profit of the offer:

- ``q`` is the base rate: the probability that the shopper buys the items anyway, at full
  price (clipped into [1e-6, 1 - 1e-6]). Those buyers take the discount too, so every offer
  cannibalises ``q`` full-price sales.
- ``take(d) = sigmoid(logit(q) + beta * d)`` with ``beta = response * (0.5 + sensitivity)``:
  ``sensitivity`` in [0, 1] is the shopper's price sensitivity (0.5 when unknown, which makes
  ``beta = response``) and ``response`` the store's discount response. ``take(0) = q``: no
  discount is the status quo.
- ``m(d) = P (1 - d) - C`` is the margin per sale, and the incremental expected profit per
  offer is ``E(d) = take(d) m(d) - q (P - C)``. ``E(0) = 0``, so a discount is only given when
  some ``d > 0`` has ``E(d) > 0``.
- Constraints (``PricingPolicy``): ``0 <= d <= max_discount`` and the margin floor
  ``m(d) >= margin_floor * P (1 - d)``, i.e. ``d <= 1 - C / ((1 - margin_floor) P)``. A bundle
  whose list price already breaks the floor stays at list and is flagged ``below_floor``.

``d`` is the argmax of ``E`` over a grid of ``step`` from 0 to the largest feasible discount
plus that exact bound (ties go to the smaller discount). The price is rounded to cents, and
margin, take rate and profit are recomputed from the rounded price; a rounding that would break
the floor or exceed the maximum discount is rounded up by a cent instead.

``PRIOR_RESPONSE = 8.0`` is a prior, not a measurement: a 10 % discount multiplies the odds of
taking by e^0.8 ~ 2.2. Once enough offers are logged, ``fit_response`` estimates the store's own
response by maximum likelihood, with ``logit(q)`` as a fixed offset.

A more price-sensitive shopper gets a discount at least as deep while ``beta * d * take(d) <= 1``
on the feasible range (the log of ``take(d) m(d)`` then has increasing differences in ``d`` and
``beta``). When the take rate saturates (high base rates, steep responses) the ordering can flip:
the more sensitive shopper is already won over at a smaller discount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shopsense.errors import ValidationFailed

Floats = npt.NDArray[np.float64]

PRIOR_RESPONSE = 8.0
"""Discount response assumed before a store has its own fit: logit(take) rises by 0.8 per 10 %."""

_Q_EPS = 1e-6
_CENT = 0.01
_TOL = 1e-9  # float noise allowed on constraints stated in money (far below a cent)
_BLOCK = 32_768  # bundles per grid block: bounds the (bundles x grid) scratch arrays
_RESPONSE_CAP = 200.0  # a slope beyond this means the takes are separated by discount

LIMITS = ("optimum", "margin_floor", "max_discount", "no_discount", "below_floor")


@dataclass(frozen=True)
class PricingPolicy:
    """The store's rules for bundle discounts (``SHOPSENSE_BUNDLE_*`` settings)."""

    margin_floor: float = 0.15
    """Minimum gross margin as a share of the bundle price."""
    max_discount: float = 0.30
    response: float = PRIOR_RESPONSE
    step: float = 0.005
    """Grid spacing of the discounts searched (0.005 = half a percentage point)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not (np.isfinite(self.margin_floor) and 0.0 <= self.margin_floor < 1.0):
            problems.append(f"margin_floor must be in [0, 1), got {self.margin_floor}")
        if not (np.isfinite(self.max_discount) and 0.0 <= self.max_discount < 1.0):
            problems.append(f"max_discount must be in [0, 1), got {self.max_discount}")
        if not (np.isfinite(self.response) and self.response >= 0.0):
            problems.append(f"response must be a finite number >= 0, got {self.response}")
        if not (np.isfinite(self.step) and 0.0 < self.step <= max(self.max_discount, self.step)):
            problems.append(f"step must be a finite number > 0, got {self.step}")
        if problems:
            raise ValidationFailed("Invalid pricing policy: " + "; ".join(problems))


@dataclass(frozen=True)
class Quotes:
    """Priced bundles, one entry per bundle in input order. Shares are fractions except
    ``discount_pct`` (a percentage, as shown to shoppers)."""

    list_price: Floats
    bundle_price: Floats
    discount_pct: Floats
    expected_margin: Floats
    """Margin per sale at the bundle price: ``bundle_price - cost``."""
    margin_pct: Floats
    """``expected_margin / bundle_price``."""
    base_rate: Floats
    take_rate: Floats
    expected_profit: Floats
    """``E(d)`` per offer, incremental over not offering the bundle."""
    limit: list[str]
    """Why the discount stopped where it did: one of ``LIMITS``."""
    policy: PricingPolicy = field(default_factory=PricingPolicy)

    def __len__(self) -> int:
        return len(self.list_price)

    def reason(self, k: int) -> str:
        """One sentence for bundle ``k`` that a merchant can check against the numbers."""
        off = _num(float(self.discount_pct[k]), 2)
        take = f"{100 * float(self.take_rate[k]):.1f} %"
        base = f"{100 * float(self.base_rate[k]):.1f} %"
        margin = _num(100 * float(self.margin_pct[k]), 1)
        floor = _num(100 * self.policy.margin_floor, 1)
        cap = _num(100 * self.policy.max_discount, 1)
        limit = self.limit[k]
        if limit == "below_floor":
            return (
                f"No discount: at list price the margin is {margin} %, already below "
                f"the {floor} % floor"
            )
        if limit == "no_discount":
            return (
                f"No discount: no discount up to {cap} % earns back what the {base} who buy "
                f"at list anyway would save; margin {margin} % at list, {floor} % floor"
            )
        rates = f"take rate {take} vs {base} at list"
        if limit == "margin_floor":
            return (
                f"{off} % off, the deepest discount the {floor} % margin floor allows "
                f"({rates}; margin {margin} %)"
            )
        if limit == "max_discount":
            return (
                f"{off} % off, the policy's maximum discount ({rates}); margin {margin} % "
                f"stays above the {floor} % floor"
            )
        return (
            f"{off} % off maximises expected profit ({rates}); margin {margin} % stays "
            f"above the {floor} % floor"
        )


def _num(x: float, digits: int) -> str:
    """A number without trailing zeros: 8.5, 31, 15.4."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sigmoid(x: Floats) -> Floats:
    # tanh form: no overflow warnings for large |x|
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


def _logit(q: Floats) -> Floats:
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _sensitivity(sensitivity: npt.ArrayLike | None) -> Floats:
    """Price sensitivity with unknown (None / NaN) read as the neutral 0.5."""
    if sensitivity is None:
        return np.array(0.5)
    s = np.asarray(sensitivity, dtype=np.float64)
    s = np.where(np.isnan(s), 0.5, s)
    if np.any((s < 0.0) | (s > 1.0)):
        raise ValidationFailed("sensitivity must be in [0, 1] (or NaN when unknown)")
    return s


def take_rate(
    discount: npt.ArrayLike,
    base_rate: npt.ArrayLike,
    response: npt.ArrayLike,
    sensitivity: npt.ArrayLike | None = 0.5,
) -> Floats:
    """``sigmoid(logit(q) + response (0.5 + sensitivity) d)``: the chance the shopper takes
    the bundle at discount ``d``; equals the base rate ``q`` at ``d = 0``. Broadcasts."""
    d = np.asarray(discount, dtype=np.float64)
    q = np.clip(np.asarray(base_rate, dtype=np.float64), _Q_EPS, 1.0 - _Q_EPS)
    beta = np.asarray(response, dtype=np.float64) * (0.5 + _sensitivity(sensitivity))
    return np.asarray(_sigmoid(_logit(q) + beta * d), dtype=np.float64)


def _vector(name: str, values: npt.ArrayLike) -> Floats:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim > 1:
        raise ValidationFailed(f"{name} must be a scalar or a 1-D array, got shape {a.shape}")
    return np.atleast_1d(a)


def _best_discount(
    list_price: Floats, cost: Floats, logit_q: Floats, beta: Floats, d_max: Floats, step: float
) -> tuple[Floats, Floats]:
    """Grid argmax of ``E`` per bundle (first maximum, so ties go to the smaller discount);
    returns the discount and ``E`` there. Runs in row blocks to bound memory."""
    n_grid = int(np.floor(float(d_max.max(initial=0.0)) / step + 1e-9)) + 1
    grid = np.arange(n_grid, dtype=np.float64) * step
    q = _sigmoid(logit_q)
    best_d = np.zeros(len(list_price))
    best_e = np.zeros(len(list_price))
    for lo in range(0, len(list_price), _BLOCK):
        sl = slice(lo, lo + _BLOCK)
        p, c, lq, b, top = (a[sl, None] for a in (list_price, cost, logit_q, beta, d_max))
        d = np.where(grid[None, :] <= top, grid[None, :], top)  # out-of-range points -> bound
        d = np.concatenate([d, top], axis=1)
        e = _sigmoid(lq + b * d) * (p * (1.0 - d) - c) - q[sl, None] * (p - c)
        e[:, 0] = 0.0  # d = 0 is the status quo exactly, whatever the float noise
        k = np.argmax(e, axis=1)
        rows = np.arange(len(k))
        best_d[sl] = d[rows, k]
        best_e[sl] = e[rows, k]
    return best_d, best_e


def price_bundles(
    list_price: npt.ArrayLike,
    cost: npt.ArrayLike,
    base_rate: npt.ArrayLike,
    sensitivity: npt.ArrayLike | None,
    policy: PricingPolicy,
) -> Quotes:
    """The profit-maximising discount of every bundle under ``policy`` (model in the module
    docstring). Inputs are equal-length 1-D arrays or scalars, which broadcast."""
    named = {
        "list_price": _vector("list_price", list_price),
        "cost": _vector("cost", cost),
        "base_rate": _vector("base_rate", base_rate),
        "sensitivity": _vector("sensitivity", _sensitivity(sensitivity)),
    }
    try:
        p, c, q_raw, s = np.broadcast_arrays(*named.values())
    except ValueError:
        lengths = ", ".join(f"{k}={len(v)}" for k, v in named.items())
        raise ValidationFailed(f"Inputs must have equal lengths or be scalars: {lengths}") from None
    p, c, q_raw, s = (np.array(a, dtype=np.float64) for a in (p, c, q_raw, s))
    if not np.all(np.isfinite(p) & (p > 0.0)):
        raise ValidationFailed("list_price must be finite and > 0")
    if not np.all(np.isfinite(c) & (c >= 0.0)):
        raise ValidationFailed("cost must be finite and >= 0")
    if not np.all((q_raw >= 0.0) & (q_raw <= 1.0)):
        raise ValidationFailed("base_rate must be in [0, 1]")

    floor, cap = policy.margin_floor, policy.max_discount
    q = np.clip(q_raw, _Q_EPS, 1.0 - _Q_EPS)
    logit_q = _logit(q)
    beta = policy.response * (0.5 + s)
    floor_bound = 1.0 - c / ((1.0 - floor) * p)
    below = floor_bound < -_TOL
    d_max = np.clip(np.minimum(cap, floor_bound), 0.0, None)

    d, e = _best_discount(p, c, logit_q, beta, d_max, policy.step)
    d = np.where(below | (e <= 0.0), 0.0, d)

    chosen = d > 0.0
    list_cents = np.round(p, 2)
    price = np.where(chosen, np.round(p * (1.0 - d), 2), list_cents)
    # Rounding down may break the floor or the cap by under a cent: round up instead.
    breaks = chosen & ((price * (1.0 - floor) < c - _TOL) | (price < p * (1.0 - cap) - _TOL))
    price = np.where(breaks, np.round(price + _CENT, 2), price)
    take = np.where(chosen, take_rate(1.0 - price / p, q, policy.response, s), q)
    profit = np.where(chosen, take * (price - c) - q * (p - c), 0.0)
    # A discount rounded away, or one that stops paying at the cent price, is not offered.
    unpaid = chosen & (profit < 0.0)
    revert = unpaid | (chosen & (price >= list_cents))
    price = np.where(revert, list_cents, price)
    take = np.where(revert, q, take)
    profit = np.where(revert, 0.0, profit)

    bound = np.where(floor_bound <= cap, "margin_floor", "max_discount")
    at_bound = (chosen & (d >= d_max - 1e-12)) | (~below & (d_max <= 0.0))
    limit = np.where(at_bound, bound, np.where(chosen, "optimum", "no_discount"))
    limit = np.where(unpaid, "no_discount", limit)
    limit = np.where(below, "below_floor", limit)

    margin = price - c
    return Quotes(
        list_price=p,
        bundle_price=price,
        discount_pct=np.maximum(np.round(100.0 * (1.0 - price / p), 2), 0.0) + 0.0,
        expected_margin=margin,
        margin_pct=margin / price,
        base_rate=q,
        take_rate=take,
        expected_profit=profit,
        limit=[str(x) for x in limit.tolist()],
        policy=policy,
    )


def fit_response(
    discount: npt.ArrayLike,
    base_rate: npt.ArrayLike,
    taken: npt.ArrayLike,
    *,
    min_offers: int = 200,
    min_takes: int = 20,
) -> float | None:
    """The store's discount response from logged offers: the maximum-likelihood slope of
    ``logit P(take) = logit(q) + response * d`` with ``logit(q)`` as a fixed offset, clamped to
    >= 0. None when the log cannot support a fit (too few offers or takes, a single discount
    level, or takes separated by discount so that no finite slope maximises the likelihood);
    callers then keep ``PRIOR_RESPONSE``."""
    d = _vector("discount", discount)
    q = _vector("base_rate", base_rate)
    y = _vector("taken", taken)
    if not (len(d) == len(q) == len(y)):
        raise ValidationFailed(
            f"discount, base_rate and taken must have equal lengths, got {len(d)}, {len(q)}, "
            f"{len(y)}"
        )
    if not np.all((d >= 0.0) & (d < 1.0)):
        raise ValidationFailed("discount must be in [0, 1)")
    if not np.all((q > 0.0) & (q < 1.0)):
        raise ValidationFailed("base_rate must be in (0, 1)")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValidationFailed("taken must be 0 or 1")
    if len(d) < min_offers or y.sum() < min_takes or len(d) == 0 or np.ptp(d) == 0.0:
        return None

    offset = _logit(np.clip(q, _Q_EPS, 1.0 - _Q_EPS))

    def score(b: float) -> tuple[float, float]:
        """Gradient and (negative) curvature of the log-likelihood at slope ``b``."""
        p = _sigmoid(offset + b * d)
        return float(d @ (y - p)), float((d * d) @ (p * (1.0 - p)))

    # The log-likelihood is concave in b, so the gradient falls monotonically: if it is not
    # positive at 0 the constrained optimum is 0, otherwise bracket its root and polish it
    # with Newton steps, bisecting whenever a step leaves the bracket.
    grad, _ = score(0.0)
    if grad <= 0.0:
        return 0.0
    lo, hi = 0.0, 1.0
    while score(hi)[0] > 0.0:
        if hi >= _RESPONSE_CAP:
            return None
        lo, hi = hi, min(2.0 * hi, _RESPONSE_CAP)
    b = 0.5 * (lo + hi)
    for _ in range(100):
        grad, info = score(b)
        if grad > 0.0:
            lo = b
        else:
            hi = b
        nxt = b + grad / info if info > 0.0 else 0.5 * (lo + hi)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - b) < 1e-10 * max(1.0, abs(b)):
            return max(float(nxt), 0.0)
        b = nxt
    return max(float(b), 0.0)

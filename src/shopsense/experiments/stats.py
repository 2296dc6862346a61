"""Statistics for recommendation experiments: estimates, tests, monitoring, SRM, assignment.

Variants are randomised by user, so every metric is computed from per-user pairs
``(numerator, denominator)``: clicks and impressions for CTR, conversions and impressions,
revenue and 1 for revenue per user. Treating impressions as independent (a plain proportion
over impressions) understates the variance, because one user's impressions are correlated;
the ratio of sums with a delta-method standard error over users does not.

Two kinds of p-value are offered, for two ways of reading results:

- `compare` gives fixed-horizon results (z-test, confidence intervals). They are valid only
  when read once, at the sample size planned in advance with `planned_sample_size`. Reading
  them repeatedly while data arrives and stopping at the first significant one ("peeking")
  inflates the false-positive rate far above ``alpha`` (about four times at ten looks).
- `sequential` gives always-valid results (a mixture sequential probability ratio test and
  its confidence sequence). Their error guarantee holds however often and whenever they are
  looked at, so a dashboard can show them live and an experiment can stop as soon as they
  reject; the price is wider intervals than the fixed-horizon ones at the planned size.

Before trusting either, check the assignment with `srm_check`: a sample-ratio mismatch means
users were lost or duplicated unevenly between arms and the comparison is biased.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from shopsense.errors import ValidationFailed

__all__ = [
    "DEFAULT_RELATIVE_TAU",
    "HOLDOUT",
    "Comparison",
    "RatioEstimate",
    "Sequential",
    "Srm",
    "assign",
    "compare",
    "fixed_horizon_valid",
    "planned_sample_size",
    "ratio_estimate",
    "sequential",
    "srm_check",
]

FloatArray = npt.NDArray[np.float64]

#: Default scale of the mSPRT mixing prior, relative to the control's value: effects of the
#: order of a 10 % lift, the minimum detectable effect recommendation tests are usually
#: planned for. The test is most powerful for effects of about this size.
DEFAULT_RELATIVE_TAU = 0.1

#: The arm of units held out of personalization altogether.
HOLDOUT = "holdout"

_NAN = float("nan")
_UNDEFINED = (_NAN, _NAN)


def _json(value: float) -> float | None:
    """JSON has no NaN or infinity: an undefined or unbounded value is null."""
    return float(value) if math.isfinite(value) else None


def _interval(bounds: tuple[float, float]) -> list[float | None]:
    return [_json(bounds[0]), _json(bounds[1])]


@dataclass(frozen=True, slots=True)
class RatioEstimate:
    """A ratio of sums over users with its delta-method standard error.

    ``value`` and ``se`` are NaN when undefined (no users, a zero denominator, or fewer than
    two users for ``se``).
    """

    value: float
    se: float
    users: int
    num_total: float
    den_total: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _json(self.value),
            "se": _json(self.se),
            "users": self.users,
            "num_total": _json(self.num_total),
            "den_total": _json(self.den_total),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Fixed-horizon comparison of a treatment with the control.

    Valid only when read once at the planned sample size (see `fixed_horizon_valid`).
    ``lift`` is relative (treatment / control - 1); intervals are ``(low, high)`` at level
    ``1 - alpha``; undefined values are NaN.
    """

    control: RatioEstimate
    treatment: RatioEstimate
    difference: float
    difference_ci: tuple[float, float]
    lift: float
    lift_ci: tuple[float, float]
    p_value: float
    significant: bool
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.to_dict(),
            "treatment": self.treatment.to_dict(),
            "difference": _json(self.difference),
            "difference_ci": _interval(self.difference_ci),
            "lift": _json(self.lift),
            "lift_ci": _interval(self.lift_ci),
            "p_value": _json(self.p_value),
            "significant": self.significant,
            "alpha": self.alpha,
        }


@dataclass(frozen=True, slots=True)
class Sequential:
    """Always-valid p-value and confidence sequence for the difference treatment - control.

    Valid at every look. When monitoring, keep the running minimum of ``p_value`` and the
    running intersection of ``ci`` across looks; both stay valid. ``tau`` is the mixing
    scale used, in the metric's units.
    """

    p_value: float
    ci: tuple[float, float]
    reject: bool
    difference: float
    tau: float
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_value": _json(self.p_value),
            "ci": _interval(self.ci),
            "reject": self.reject,
            "difference": _json(self.difference),
            "tau": _json(self.tau),
            "alpha": self.alpha,
        }


@dataclass(frozen=True, slots=True)
class Srm:
    """Chi-square goodness-of-fit of the observed arm sizes to the designed shares."""

    p_value: float
    mismatch: bool
    chi2: float
    expected: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_value": _json(self.p_value),
            "mismatch": self.mismatch,
            "chi2": _json(self.chi2),
            "expected": [_json(e) for e in self.expected],
        }


# -- estimates -------------------------------------------------------------------------------


def _vector(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{name} is not numeric") from exc
    if array.ndim != 1:
        raise ValidationFailed(f"{name} must be one value per user, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValidationFailed(f"{name} has NaN or infinite values")
    return array


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValidationFailed(f"alpha must be in (0, 1), got {alpha}")


def ratio_estimate(num: npt.ArrayLike, den: npt.ArrayLike | None = None) -> RatioEstimate:
    """Σnum / Σden over users, with the delta-method standard error for i.i.d. users.

    Var(R) ≈ (var_num - 2·R·cov + R²·var_den) / (n · mean_den²), computed as the sample
    variance of the per-user residuals ``num - R·den`` (the same quantity, without the
    cancellation). ``den`` omitted means 1 per user: the mean and its usual standard error.
    """
    x = _vector(num, "num")
    y = np.ones_like(x) if den is None else _vector(den, "den")
    if y.shape != x.shape:
        raise ValidationFailed(
            f"num and den must have one value per user each, got {x.size} and {y.size}"
        )
    n = int(x.size)
    num_total, den_total = float(x.sum()), float(y.sum())
    if n == 0 or den_total == 0.0:
        return RatioEstimate(_NAN, _NAN, n, num_total, den_total)
    value = num_total / den_total
    if n < 2:
        return RatioEstimate(value, _NAN, n, num_total, den_total)
    residual = x - value * y
    mean_den = den_total / n
    variance = float(residual @ residual) / (n - 1) / (n * mean_den * mean_den)
    return RatioEstimate(value, math.sqrt(variance), n, num_total, den_total)


Arm = RatioEstimate | tuple[npt.ArrayLike, npt.ArrayLike]


def _estimate(arm: Arm) -> RatioEstimate:
    if isinstance(arm, RatioEstimate):
        return arm
    num, den = arm
    return ratio_estimate(num, den)


# -- fixed horizon ---------------------------------------------------------------------------


def _lift_ci(c: RatioEstimate, t: RatioEstimate, z: float) -> tuple[float, float]:
    """Log-ratio interval when both values are positive, else first-order delta."""
    if not (math.isfinite(c.se) and math.isfinite(t.se)):
        return _UNDEFINED
    if c.value > 0.0 and t.value > 0.0:
        # log(t/c) has variance ≈ (se_t/t)² + (se_c/c)²; exponentiating keeps the interval
        # above -100 % and skewed the way ratios are.
        log_ratio = math.log(t.value / c.value)
        half = z * math.hypot(t.se / t.value, c.se / c.value)
        return (math.expm1(log_ratio - half), math.expm1(log_ratio + half))
    if c.value != 0.0 and math.isfinite(c.value):
        ratio = t.value / c.value
        half = z * math.hypot(t.se, ratio * c.se) / abs(c.value)
        return (ratio - 1.0 - half, ratio - 1.0 + half)
    return _UNDEFINED


def compare(control: Arm, treatment: Arm, *, alpha: float = 0.05) -> Comparison:
    """Difference, relative lift, their ``1 - alpha`` intervals and a two-sided z-test.

    Arms are `RatioEstimate`s or ``(num, den)`` per-user arrays; they are independent, so
    the variance of the difference is the sum of theirs. The lift interval is the log-ratio
    (delta method on ``log(treatment / control)``) when both values are positive, else the
    first-order delta method on the ratio. Fixed-horizon: valid read once at the planned
    size, not when monitored (use `sequential` for that).
    """
    _check_alpha(alpha)
    c, t = _estimate(control), _estimate(treatment)
    z = float(stats.norm.isf(alpha / 2.0))
    difference = t.value - c.value
    se = math.hypot(c.se, t.se)
    if math.isfinite(difference) and math.isfinite(se) and se > 0.0:
        p_value = float(2.0 * stats.norm.sf(abs(difference) / se))
        difference_ci = (difference - z * se, difference + z * se)
    else:
        p_value, difference_ci = _NAN, _UNDEFINED
    lift = t.value / c.value - 1.0 if c.value != 0.0 else _NAN
    return Comparison(
        control=c,
        treatment=t,
        difference=difference,
        difference_ci=difference_ci,
        lift=lift,
        lift_ci=_lift_ci(c, t, z),
        p_value=p_value,
        significant=bool(p_value < alpha),
        alpha=alpha,
    )


# -- always valid ----------------------------------------------------------------------------


def sequential(
    control: Arm, treatment: Arm, *, alpha: float = 0.05, tau: float | None = None
) -> Sequential:
    """Always-valid p-value and confidence sequence for the difference (mSPRT).

    The mixture sequential probability ratio test of Johari et al. (2017), on the normal
    approximation θ̂ ~ N(θ, V) of the difference with V = se², mixing over θ ~ N(0, τ²):

        Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²))),   p = min(1, 1 / Λ),

    and the matching confidence sequence (Howard et al. 2021) θ̂ ± sqrt(V (V + τ²) / τ² ·
    (log((V + τ²) / V) + 2 log(1 / α))). Λ is a nonnegative martingale under θ = 0, so by
    Ville's inequality P(p ≤ α at any look) ≤ α: stop whenever it rejects, look as often as
    you like. The guarantee is asymptotic in users, like the normal approximation itself.

    ``tau`` is the prior scale of the effect in the metric's units: the test has most power
    for effects of about that size, and any positive value keeps it valid. By default it is
    `DEFAULT_RELATIVE_TAU` times the control's value (a prior on the relative lift of the
    order of a 10 % minimum detectable effect); that plugs in an estimate, which settles
    within the first looks, so pass a fixed ``tau`` (e.g. relative MDE × planned baseline)
    where the guarantee must be exact from the first user.
    """
    _check_alpha(alpha)
    if tau is not None and not (math.isfinite(tau) and tau > 0.0):
        raise ValidationFailed(f"tau must be a positive number, got {tau}")
    c, t = _estimate(control), _estimate(treatment)
    theta = t.value - c.value
    variance = c.se * c.se + t.se * t.se
    scale = DEFAULT_RELATIVE_TAU * abs(c.value) if tau is None else tau
    if not (
        math.isfinite(theta)
        and math.isfinite(variance)
        and variance > 0.0
        and math.isfinite(scale)
        and scale > 0.0
    ):
        return Sequential(_NAN, _UNDEFINED, False, theta, scale, alpha)
    tau2 = scale * scale
    log_growth = math.log1p(tau2 / variance)  # log((V + τ²) / V)
    log_lr = -0.5 * log_growth + tau2 * theta * theta / (2.0 * variance * (variance + tau2))
    p_value = 1.0 if log_lr <= 0.0 else math.exp(-log_lr)
    half = math.sqrt(
        variance * (variance + tau2) / tau2 * (log_growth + 2.0 * math.log(1.0 / alpha))
    )
    return Sequential(
        p_value=p_value,
        ci=(theta - half, theta + half),
        reject=p_value <= alpha,
        difference=theta,
        tau=scale,
        alpha=alpha,
    )


# -- planning --------------------------------------------------------------------------------


def planned_sample_size(
    baseline_rate: float,
    relative_mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    variants: int = 2,
) -> int:
    """Users per variant for a two-sided two-proportion z-test to detect ``relative_mde``.

    With p1 = baseline, p2 = baseline · (1 + relative_mde), p̄ = (p1 + p2) / 2:

        n = (z_{1-α/2} · sqrt(2 p̄ (1 - p̄)) + z_{power} · sqrt(p1 (1 - p1) + p2 (1 - p2)))²
            / (p2 - p1)²

    rounded up. With more than two variants each of the ``variants - 1`` comparisons with
    the control gets α / (variants - 1) (Bonferroni). The rate is per user (one Bernoulli
    trial each); for a CTR over several impressions per user this is conservative unless
    users differ strongly in their rates.
    """
    _check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise ValidationFailed(f"power must be in (0, 1), got {power}")
    if not 0.0 < baseline_rate < 1.0:
        raise ValidationFailed(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    p1, p2 = baseline_rate, baseline_rate * (1.0 + relative_mde)
    if relative_mde == 0.0 or not 0.0 < p2 < 1.0:
        raise ValidationFailed(
            f"relative_mde must be non-zero and keep the rate in (0, 1), got {relative_mde}"
        )
    if isinstance(variants, bool) or not isinstance(variants, int) or variants < 2:
        raise ValidationFailed(f"variants must be an integer >= 2, got {variants}")
    z_alpha = float(stats.norm.isf(alpha / (variants - 1) / 2.0))
    z_power = float(stats.norm.ppf(power))
    p_bar = (p1 + p2) / 2.0
    spread = z_alpha * math.sqrt(2.0 * p_bar * (1.0 - p_bar)) + z_power * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil((spread / (p2 - p1)) ** 2)


def fixed_horizon_valid(users_per_variant: int | Sequence[int], planned: int) -> bool:
    """Whether fixed-horizon results may be read now: every arm has reached ``planned``.

    Reading `compare` earlier is peeking; its p-values and intervals are then not valid.
    ``users_per_variant`` is one count or one per arm (the smallest decides).
    """
    if planned < 1:
        raise ValidationFailed(f"planned must be a positive number of users, got {planned}")
    counts = [users_per_variant] if isinstance(users_per_variant, int) else users_per_variant
    if len(counts) == 0:
        raise ValidationFailed("users_per_variant is empty")
    return min(counts) >= planned


# -- sample-ratio mismatch -------------------------------------------------------------------


def srm_check(
    observed_counts: Sequence[int],
    expected_shares: Sequence[float],
    *,
    threshold: float = 0.001,
) -> Srm:
    """Chi-square goodness-of-fit of arm sizes to the designed shares (normalised).

    The threshold is strict because the check runs on every experiment and a false alarm
    stops one; real mismatches (lost events, bots, redirects in one arm) are usually far
    below it.
    """
    observed = np.asarray(observed_counts, dtype=np.float64)
    shares = np.asarray(expected_shares, dtype=np.float64)
    if observed.ndim != 1 or shares.shape != observed.shape or observed.size < 2:
        raise ValidationFailed("observed_counts and expected_shares need one entry per arm, >= 2")
    if not (np.isfinite(observed).all() and (observed >= 0).all()):
        raise ValidationFailed("observed_counts must be non-negative counts")
    if not (observed == np.round(observed)).all():
        raise ValidationFailed("observed_counts must be whole numbers")
    if not (np.isfinite(shares).all() and (shares > 0).all()):
        raise ValidationFailed("expected_shares must be positive")
    if not 0.0 < threshold < 1.0:
        raise ValidationFailed(f"threshold must be in (0, 1), got {threshold}")
    expected = observed.sum() * shares / shares.sum()
    if observed.sum() == 0:
        return Srm(_NAN, False, _NAN, tuple(float(e) for e in expected))
    result = stats.chisquare(observed, expected)
    p_value = float(result.pvalue)
    return Srm(
        p_value=p_value,
        mismatch=p_value < threshold,
        chi2=float(result.statistic),
        expected=tuple(float(e) for e in expected),
    )


# -- assignment ------------------------------------------------------------------------------


def _uniform(key: str) -> float:
    """A uniform number in [0, 1) from the first 8 bytes of the key's SHA-256."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(
    experiment: str,
    unit_id: str,
    variants: Sequence[tuple[str, float]],
    *,
    traffic: float = 1.0,
    holdout: float = 0.0,
) -> str | None:
    """The arm of ``unit_id`` in ``experiment``: stable, with no state to store.

    u = hash(f"{experiment}:{unit_id}") puts the first ``holdout`` share of all units in
    `HOLDOUT` (no personalization at all), and splits the rest by the variant weights
    (normalised). An independent hash decides whether a non-holdout unit is in the
    experiment at all (share ``traffic``; outside it: None), so ramping traffic up only adds
    units and never moves one between variants. Changing weights or ``holdout`` does move
    units: start a new experiment name for that.
    """
    if not experiment or not isinstance(experiment, str):
        raise ValidationFailed("experiment must be a non-empty string")
    if not isinstance(unit_id, str) or not unit_id:
        raise ValidationFailed("unit_id must be a non-empty string")
    if not 0.0 <= holdout < 1.0:
        raise ValidationFailed(f"holdout must be in [0, 1), got {holdout}")
    if not 0.0 < traffic <= 1.0:
        raise ValidationFailed(f"traffic must be in (0, 1], got {traffic}")
    if len(variants) == 0:
        raise ValidationFailed("variants is empty")
    names = [name for name, _ in variants]
    weights = [float(weight) for _, weight in variants]
    if len(set(names)) != len(names) or HOLDOUT in names or not all(names):
        raise ValidationFailed(f"variant names must be unique, non-empty and not {HOLDOUT!r}")
    if not all(math.isfinite(w) and w > 0.0 for w in weights):
        raise ValidationFailed("variant weights must be positive numbers")

    u = _uniform(f"{experiment}:{unit_id}")
    if u < holdout:
        return HOLDOUT
    if _uniform(f"traffic|{experiment}:{unit_id}") >= traffic:
        return None
    position = (u - holdout) / (1.0 - holdout) * sum(weights)
    for name, edge in zip(names, accumulate(weights), strict=True):
        if position < edge:
            return name
    return names[-1]  # rounding at the top edge

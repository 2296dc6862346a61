"""Experiment statistics: delta-method errors, error rates under A/A and A/B simulation,
always-valid monitoring versus peeking, SRM and stable assignment."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats

from shopsense.errors import ValidationFailed
from shopsense.experiments import (
    HOLDOUT,
    RatioEstimate,
    assign,
    compare,
    fixed_horizon_valid,
    planned_sample_size,
    ratio_estimate,
    sequential,
    srm_check,
)

IntArray = npt.NDArray[np.int64]

RUNS = 200
BASELINE_CTR = 0.05
# Users differ a lot in CTR (Beta of mean CTR and concentration KAPPA) and see
# Poisson(IMPRESSIONS) impressions each; see _variance_factor for what that does to the error.
KAPPA = 1.5
IMPRESSIONS = 3.0


def _variance_factor() -> float:
    """Per-user variance of the linearised CTR relative to one Bernoulli trial per user.

    That is Var(clicks - p·impressions) / E[impressions]² over p(1 - p).

    With m ~ Poisson(λ) and rate ~ Beta(mean p, concentration κ) independent:
    E[m·r(1 - r)] + E[m²]·Var(r) = p(1 - p)·(λκ + λ + λ²) / (κ + 1), over λ².
    """
    return 1.0 / IMPRESSIONS + 1.0 / (KAPPA + 1.0)


def simulate_ctr(
    rng: np.random.Generator, shape: tuple[int, ...], rate: float
) -> tuple[IntArray, IntArray]:
    """Per-user clicks and impressions with heterogeneous per-user CTRs of mean ``rate``."""
    impressions = rng.poisson(IMPRESSIONS, size=shape)
    rates = rng.beta(rate * KAPPA, (1.0 - rate) * KAPPA, size=shape)
    return rng.binomial(impressions, rates), impressions


# -- delta method ----------------------------------------------------------------------------


def test_delta_method_hand_case() -> None:
    # R = 4/8 = 0.5; residuals num - R·den = (0, -0.5, 0.5, 0), sample variance 1/6;
    # Var(R) = (1/6) / (n · mean_den²) = (1/6) / (4 · 4) = 1/96. Equivalently
    # var_num = var_den = cov = 2/3: (2/3 - 2·0.5·2/3 + 0.25·2/3) / 16 = 1/96.
    estimate = ratio_estimate([1, 0, 2, 1], [2, 1, 3, 2])
    assert estimate.value == pytest.approx(0.5)
    assert estimate.se == pytest.approx(math.sqrt(1.0 / 96.0), rel=1e-12)
    assert (estimate.users, estimate.num_total, estimate.den_total) == (4, 4.0, 8.0)


def test_denominator_one_is_the_mean_and_its_standard_error() -> None:
    values = np.array([3.0, 0.0, 12.5, 7.0, 0.0, 1.5])
    for estimate in (ratio_estimate(values), ratio_estimate(values, np.ones(6))):
        assert estimate.value == pytest.approx(values.mean())
        assert estimate.se == pytest.approx(values.std(ddof=1) / math.sqrt(6))


def test_delta_method_matches_bootstrap_on_clustered_data() -> None:
    rng = np.random.default_rng(7)
    users = 2_000
    # Heavy-tailed impressions, and heavy users click less: both the spread of the
    # denominators and the covariance term matter.
    impressions = 1 + rng.negative_binomial(2, 0.2, size=users)
    rates = np.clip(rng.beta(0.5, 9.5, size=users) * 3.0 / (1.0 + impressions / 4.5), 0, 1)
    clicks = rng.binomial(impressions, rates)

    estimate = ratio_estimate(clicks, impressions)
    resamples = rng.integers(0, users, size=(4_000, users))
    boot = clicks[resamples].sum(axis=1) / impressions[resamples].sum(axis=1)
    boot_se = float(boot.std(ddof=1))
    assert estimate.se == pytest.approx(boot_se, rel=0.10)  # ratio 1.012 with this seed

    # Treating impressions as independent trials understates the error on such data.
    naive = math.sqrt(estimate.value * (1 - estimate.value) / impressions.sum())
    assert naive < 0.85 * boot_se


def test_undefined_estimates_are_nan_and_null_in_json() -> None:
    empty = ratio_estimate([], [])
    assert empty.users == 0 and math.isnan(empty.value) and math.isnan(empty.se)
    assert empty.to_dict() == {
        "value": None,
        "se": None,
        "users": 0,
        "num_total": 0.0,
        "den_total": 0.0,
    }
    single = ratio_estimate([1.0], [4.0])
    assert single.value == 0.25 and math.isnan(single.se)

    result = compare(empty, ratio_estimate([1, 0, 1], [3, 2, 2]))
    assert not result.significant
    document = result.to_dict()
    json.dumps(document, allow_nan=False)
    assert document["p_value"] is None and document["lift_ci"] == [None, None]
    json.dumps(sequential(empty, empty).to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("num", "den"),
    [([1, 2], [1]), ([1, float("nan")], [1, 1]), ([[1, 2]], [[1, 2]]), (["a"], [1])],
)
def test_ratio_estimate_rejects_bad_input(num: object, den: object) -> None:
    with pytest.raises(ValidationFailed):
        ratio_estimate(num, den)  # type: ignore[arg-type]


# -- fixed horizon and sequential on simple cases --------------------------------------------


def test_compare_hand_case() -> None:
    control = RatioEstimate(value=0.05, se=0.001, users=10_000, num_total=0, den_total=0)
    treatment = RatioEstimate(value=0.055, se=0.001, users=10_000, num_total=0, den_total=0)
    result = compare(control, treatment)
    se = math.sqrt(2) * 0.001
    assert result.difference == pytest.approx(0.005)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(0.005 / se))
    assert result.difference_ci == pytest.approx((0.005 - 1.959964 * se, 0.005 + 1.959964 * se))
    assert result.lift == pytest.approx(0.1)
    half = 1.959964 * math.hypot(0.001 / 0.055, 0.001 / 0.05)
    assert result.lift_ci == pytest.approx((1.1 * math.exp(-half) - 1, 1.1 * math.exp(half) - 1))
    assert result.significant

    # The always-valid interval is wider than the fixed-horizon one at the same data.
    always = sequential(control, treatment)
    assert always.tau == pytest.approx(0.005)
    assert always.ci[0] < result.difference_ci[0] and result.difference_ci[1] < always.ci[1]
    assert always.p_value > result.p_value
    v, tau2 = se**2, 0.005**2
    ratio = math.sqrt(v / (v + tau2)) * math.exp(tau2 * 0.005**2 / (2 * v * (v + tau2)))
    assert always.p_value == pytest.approx(min(1.0, 1.0 / ratio))
    assert always.reject == (always.p_value <= 0.05)


def test_compare_accepts_per_user_arrays() -> None:
    arm = ([1, 0, 2, 1], [2, 1, 3, 2])
    assert compare(arm, arm).control == ratio_estimate(*arm)
    assert compare(arm, arm).lift == 0.0
    with pytest.raises(ValidationFailed):
        compare(arm, arm, alpha=1.5)
    with pytest.raises(ValidationFailed):
        sequential(arm, arm, tau=0.0)


# -- A/A: error rates, and why peeking needs the sequential test -----------------------------


def test_aa_false_positive_rates_with_and_without_peeking() -> None:
    rng = np.random.default_rng(2017)
    users, looks = 2_000, 10
    clicks, impressions = simulate_ctr(rng, (RUNS, 2, users), BASELINE_CTR)

    fixed = np.zeros(RUNS, dtype=bool)
    peeking = np.zeros(RUNS, dtype=bool)
    always_valid = np.zeros(RUNS, dtype=bool)
    for run in range(RUNS):
        for look in range(1, looks + 1):
            seen = look * users // looks
            control = ratio_estimate(clicks[run, 0, :seen], impressions[run, 0, :seen])
            treatment = ratio_estimate(clicks[run, 1, :seen], impressions[run, 1, :seen])
            significant = compare(control, treatment).significant
            peeking[run] |= significant
            always_valid[run] |= sequential(control, treatment).reject
        fixed[run] = significant  # the last look is the planned one

    # Measured with seed 2017: fixed 0.055, sequential 0.005, naive peeking 0.200. Over
    # seeds 0-99 the means are 0.051, 0.0002 and 0.197.
    assert fixed.mean() <= 0.06
    assert always_valid.mean() <= 0.05
    assert peeking.mean() > 0.07


# -- A/B at the planned size -----------------------------------------------------------------


def test_ab_power_and_lift_coverage_at_the_planned_size() -> None:
    lift = 0.10
    users = planned_sample_size(BASELINE_CTR, lift, alpha=0.05, power=0.8)
    assert users == 31_234

    # The plan assumes one Bernoulli trial per user; in this CTR design a user carries
    # _variance_factor() = 0.73 of that variance, so the power at the planned size is above 0.8:
    treated = BASELINE_CTR * (1 + lift)
    var_c = BASELINE_CTR * (1 - BASELINE_CTR) * _variance_factor() / users
    var_t = treated * (1 - treated) * _variance_factor() / users
    expected_power = float(
        stats.norm.sf(stats.norm.isf(0.025) - (treated - BASELINE_CTR) / math.sqrt(var_c + var_t))
    )
    assert 0.88 < expected_power < 0.92  # 0.90

    rng = np.random.default_rng(20170101)
    detected = np.zeros(RUNS, dtype=bool)
    covered = np.zeros(RUNS, dtype=bool)
    batch = 50  # runs simulated at once; bounds memory at ~100 MB
    for first in range(0, RUNS, batch):
        c_clicks, c_impressions = simulate_ctr(rng, (batch, users), BASELINE_CTR)
        t_clicks, t_impressions = simulate_ctr(rng, (batch, users), treated)
        for i in range(batch):
            result = compare((c_clicks[i], c_impressions[i]), (t_clicks[i], t_impressions[i]))
            detected[first + i] = result.p_value < 0.05
            covered[first + i] = result.lift_ci[0] <= lift <= result.lift_ci[1]

    # Measured with seed 20170101: power 0.905, lift coverage 0.945.
    power_se = math.sqrt(expected_power * (1 - expected_power) / RUNS)
    assert detected.mean() >= 0.8
    assert abs(detected.mean() - expected_power) < 3 * power_se
    assert covered.mean() >= 0.9


# -- planning --------------------------------------------------------------------------------


def test_planned_sample_size_hand_value() -> None:
    # p1 = 0.05, p2 = 0.055, p̄ = 0.0525, z_0.975 = 1.959964, z_0.8 = 0.841621:
    # (1.959964·sqrt(2·0.0525·0.9475) + 0.841621·sqrt(0.0475 + 0.051975))² / 0.005²
    # = (0.618206 + 0.265445)² / 0.000025 = 31233.6 → 31,234 users per variant.
    assert planned_sample_size(0.05, 0.10) == 31_234
    # Bonferroni over two treatments at α = 0.05 needs more users per variant.
    assert planned_sample_size(0.05, 0.10, variants=3) > 31_234
    # At the planned size the two-proportion z-test has at least the asked power.
    n, p1, p2 = 31_234, 0.05, 0.055
    power = stats.norm.sf(1.959964 - (p2 - p1) / math.sqrt((p1 * 0.95 + p2 * 0.945) / n))
    assert 0.8 <= power < 0.81


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline_rate": 0.0, "relative_mde": 0.1},
        {"baseline_rate": 0.05, "relative_mde": 0.0},
        {"baseline_rate": 0.6, "relative_mde": 1.0},
        {"baseline_rate": 0.05, "relative_mde": 0.1, "power": 1.0},
        {"baseline_rate": 0.05, "relative_mde": 0.1, "variants": 1},
    ],
)
def test_planned_sample_size_rejects_bad_input(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationFailed):
        planned_sample_size(**kwargs)  # type: ignore[arg-type]


def test_fixed_horizon_valid_only_from_the_planned_size() -> None:
    assert not fixed_horizon_valid(20_000, 31_234)
    assert fixed_horizon_valid(31_234, 31_234)
    assert not fixed_horizon_valid([31_500, 31_100], 31_234)
    assert fixed_horizon_valid([31_500, 31_300], 31_234)
    with pytest.raises(ValidationFailed):
        fixed_horizon_valid(10, 0)


# -- sample-ratio mismatch -------------------------------------------------------------------


def test_srm_check() -> None:
    # 5,000 / 5,300 against 5,150 each: χ² = 2·150²/5150 = 8.738, p = 0.0031 — suspicious,
    # but above the default 0.001 threshold.
    borderline = srm_check([5_000, 5_300], [0.5, 0.5])
    assert borderline.chi2 == pytest.approx(2 * 150**2 / 5_150)
    assert borderline.p_value == pytest.approx(0.003117, rel=1e-3)
    assert not borderline.mismatch
    assert srm_check([5_000, 5_300], [0.5, 0.5], threshold=0.01).mismatch

    flagged = srm_check([5_000, 5_400], [0.5, 0.5])  # χ² = 15.38, p = 8.8e-5
    assert flagged.mismatch and flagged.p_value < 0.001
    assert flagged.expected == (5_200.0, 5_200.0)

    fine = srm_check([5_000, 5_050], [1, 1])  # χ² = 0.249, p = 0.62
    assert not fine.mismatch and fine.p_value == pytest.approx(0.618, abs=1e-3)

    three = srm_check([2_000, 1_000, 1_000], [50, 25, 25])
    assert three.p_value == pytest.approx(1.0) and not three.mismatch
    json.dumps(srm_check([0, 0], [0.5, 0.5]).to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("counts", "shares"),
    [([10], [1.0]), ([10, 10], [0.5]), ([10, -1], [0.5, 0.5]), ([10, 10], [0.5, 0.0])],
)
def test_srm_check_rejects_bad_input(counts: list[int], shares: list[float]) -> None:
    with pytest.raises(ValidationFailed):
        srm_check(counts, shares)


# -- assignment ------------------------------------------------------------------------------

IDS = [f"user-{i}" for i in range(100_000)]
VARIANTS = [("A", 5.0), ("B", 3.0), ("C", 2.0)]


def _shares(arms: list[str | None]) -> dict[str | None, float]:
    return {name: count / len(arms) for name, count in Counter(arms).items()}


def test_assignment_is_deterministic_and_follows_the_hash() -> None:
    first = [assign("reco-v2", unit, VARIANTS) for unit in IDS[:1_000]]
    assert first == [assign("reco-v2", unit, VARIANTS) for unit in IDS[:1_000]]
    # The documented hash: sha256("experiment:unit"), first 8 bytes as a fraction of 2**64.
    for unit, arm in zip(IDS[:1_000], first, strict=True):
        digest = hashlib.sha256(f"reco-v2:{unit}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        assert arm == ("A" if u < 0.5 else "B" if u < 0.8 else "C")
    # Another experiment draws independently.
    other = [assign("reco-v3", unit, VARIANTS) for unit in IDS[:1_000]]
    assert 0.3 < np.mean([a == b for a, b in zip(first, other, strict=True)]) < 0.45


def test_assignment_shares_holdout_and_traffic_ramp() -> None:
    shares = _shares([assign("reco-v2", unit, VARIANTS) for unit in IDS])
    assert shares == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2}, abs=0.015)

    ramped_up = [assign("reco-v2", u, VARIANTS, traffic=1.0, holdout=0.1) for u in IDS]
    half = [assign("reco-v2", u, VARIANTS, traffic=0.5, holdout=0.1) for u in IDS]
    full = _shares(ramped_up)
    assert full == pytest.approx({HOLDOUT: 0.1, "A": 0.45, "B": 0.27, "C": 0.18}, abs=0.015)
    partial = _shares(half)
    assert partial == pytest.approx(
        {HOLDOUT: 0.1, None: 0.45, "A": 0.225, "B": 0.135, "C": 0.09}, abs=0.015
    )
    # Ramping 0.5 -> 1.0 only adds units: nobody changes arm, holdout stays holdout.
    assert all(a == b for a, b in zip(half, ramped_up, strict=True) if a is not None)


@pytest.mark.parametrize(
    ("experiment", "variants", "kwargs"),
    [
        ("x", [("A", 1.0), ("B", 0.0)], {}),
        ("x", [("A", 1.0), ("B", -1.0)], {}),
        ("x", [("A", 1.0), ("B", float("nan"))], {}),
        ("x", [], {}),
        ("x", [("A", 1.0), ("A", 1.0)], {}),
        ("x", [("A", 1.0), (HOLDOUT, 1.0)], {}),
        ("", [("A", 1.0)], {}),
        ("x", [("A", 1.0)], {"holdout": 1.0}),
        ("x", [("A", 1.0)], {"holdout": -0.1}),
        ("x", [("A", 1.0)], {"traffic": 0.0}),
        ("x", [("A", 1.0)], {"traffic": 1.5}),
    ],
)
def test_assignment_rejects_bad_input(
    experiment: str, variants: list[tuple[str, float]], kwargs: dict[str, float]
) -> None:
    with pytest.raises(ValidationFailed):
        assign(experiment, "user-1", variants, **kwargs)

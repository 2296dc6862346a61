"""Own-price elasticity per product, and the price advice it supports.

**Data.** One row per product and period (a week or a month): ``product_id``, ``category``
(may be null), ``period`` (a date), ``price`` (> 0), ``quantity`` (units sold; > 0 for the
log model, which cannot see periods without sales; >= 0 for the Poisson model) and ``cost``
(unit cost, may be null; not used by the estimator). A product takes the first non-null
category among its rows.

**Model.** For product ``i`` in category ``c`` and period ``t`` with season ``s(t)`` (the
month of the year, or the ISO week of the year)::

    log E[q_it] = a_i + b_i log p_it + g_{c, s(t)}

fitted by least squares of ``log q`` (``model="log"``) or by Poisson regression
(``model="poisson"``: iteratively reweighted least squares, each step the exact weighted
solve below; standard errors then use the weights and the Pearson statistic, a
quasi-Poisson scale).

``a_i`` is a product effect, ``b_i`` the product's own-price elasticity and ``g_{c,s}`` a
season effect *shared by the products of a category* (a product without a category has its
own season effects). Fixed effects for product and for category x season are solved
exactly: products are nested in categories, so the least-squares normal equations split by
category; each product's intercept and slope are profiled out in closed form from group
sums (Frisch-Waugh), which leaves one small system per category over its season effects,
solved for all categories at once with a stacked pseudo-inverse (season effects are
identified only up to the product intercepts; slopes and residuals are not affected). The
cost is a few passes over the rows plus (categories x seasons^2) of dense algebra, with no
iteration to converge.

**Standard errors.** ``se(b_i)^2 = s_i^2 / sum_t x~_it^2`` where ``x~`` is log price with the
product means and the category x season means removed (the two-way within transform), i.e.
only the price variation that is not explained by the season counts as information.
``s_i^2 = RSS_i / df_i`` with the degrees of freedom corrected
for the absorbed effects: ``df_i = n_i - 2 - (S_c - 1) n_i / N_c`` (intercept and slope, and
the product's share, by observations, of the category's ``S_c - 1`` identified season
effects; ``N_c`` is the category's number of observations). The confidence interval is
``b_i +- t_{1-alpha/2, df_i} se``.

**Pooled category estimate.** One slope per category from all its products' within
variation: ``log q_it = a_i + b_c log p_it + g_{c,s(t)} + e_it``, which is exactly the OLS of
``y~`` on ``x~`` (two-way within transform), with ``df_c = N_c - P_c - (S_c - 1) - 1``
(``P_c`` products). A product with fewer than ``min_periods`` periods or a ``price_cv`` under
``min_price_cv`` gets its category's pooled estimate (``source = "category"``); with no
category, or a category without usable price variation, ``source = "none"`` and the
estimate is null.

``price_cv`` is the standard deviation (ddof 1) of the product's log price over its periods:
for small variation it equals the coefficient of variation (std / mean) of the price, and it
is scale free. ``confident`` is true for a product-level estimate whose confidence interval
excludes 0 (a pooled category estimate is never ``confident``: it says nothing specific
about the product, which has too little price history of its own).

**Price advice.** With constant elasticity ``b``, unit cost ``c``, current price ``p0`` and
current units per period ``q0``, profit per period is ``pi(p) = (p - c) q0 (p / p0)^b``.

- ``b < -1``: ``pi`` is maximised at ``p* = c b / (1 + b)``;
- ``-1 <= b < 0``: demand is inelastic and profit rises with the price: ``p*`` = the upper
  bound;
- ``b >= 0``: implausible, no advice (hold).

The recommendation is ``p_new = clip(p*, lo, hi)`` with ``hi = p0 (1 + max_move)`` and
``lo = max(p0 (1 - max_move), c / (1 - min_margin))`` (the margin floor; when it is above
``hi`` the price moves up to ``hi``), rounded to cents. The expected change in profit per
period is ``dpi = pi(p_new) - pi(p0) = q0 [(p_new - c)(p_new / p0)^b - (p0 - c)]``; its
interval evaluates ``dpi`` at the same ``p_new`` for ``b`` at both ends of the elasticity's
confidence interval and at the point estimate and takes the min and max (``dpi`` is monotone
in ``b`` for a fixed price, so this is the range over the interval). It reflects the
elasticity's uncertainty only, not the noise in next period's demand.

Only ``confident`` estimates get advice; the others are held with the reason, and so are
estimates steeper than ``-max_elasticity`` (implausible as a customer response: in order
data they usually come from quantity-break prices, where the unit price falls because the
order is large, not the other way round).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from shopsense.errors import ValidationFailed

__all__ = [
    "OBS_COLUMNS",
    "CURRENT_COLUMNS",
    "Model",
    "Season",
    "estimate_elasticities",
    "price_advice",
    "synthetic_sales",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Season = Literal["month", "week", "none"]
Model = Literal["log", "poisson"]

OBS_COLUMNS = ("product_id", "category", "period", "price", "quantity")
CURRENT_COLUMNS = ("product_id", "price", "cost", "quantity")
_ESTIMATE_COLUMNS = ("product_id", "elasticity", "ci_low", "ci_high", "source", "confident")

_TOL = 1e-10  # float noise allowed at a price bound
_IRLS_ROUNDS = 100
_IRLS_TOL = 1e-9  # the Poisson fit stops when the linear predictor moves less than this
_FLOOR = 1e-3  # starting mean of a product without sales
_ETA_MIN, _ETA_MAX = -30.0, 30.0
_TINY = 1e-12  # a sum of squared log-price deviations below this is no variation at all
_CENT = 0.01


# --------------------------------------------------------------------------------- checks


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"{what} is missing column(s): {', '.join(missing)}",
            errors=[{"field": c, "problem": "missing"} for c in missing],
        )


def _check_positive(frame: pl.DataFrame, column: str, what: str, *, strict: bool = True) -> None:
    values = frame.get_column(column).cast(pl.Float64, strict=False)
    if values.null_count() > frame.get_column(column).null_count():
        raise ValidationFailed(f"{what}: {column} must be numeric")
    arr = values.to_numpy()
    bad = np.isnan(arr) | ~np.isfinite(arr) | ((arr <= 0) if strict else (arr < 0))
    if bad.any():
        sign = "> 0" if strict else ">= 0"
        raise ValidationFailed(
            f"{what}: {int(bad.sum())} row(s) with {column} missing, not finite or not {sign}",
            errors=[{"field": column, "problem": f"must be finite and {sign}"}],
        )


# --------------------------------------------------------------------------- estimation


def _group_mean(idx: Ints, values: Floats, counts: Floats) -> Floats:
    return np.bincount(idx, weights=values, minlength=counts.size) / counts


def _sums(idx: Ints, weights: Floats, n: int) -> Floats:
    return np.bincount(idx, weights=weights, minlength=n).astype(np.float64)


def _fit_effects(
    y: Floats,
    unit: Ints,
    group: Ints,
    season: Ints,
    x: Floats | None = None,
    slope: Literal["unit", "group"] | None = None,
    w: Floats | None = None,
) -> tuple[Floats, Floats]:
    """Exact (weighted) least squares of ``y`` on unit, group x season effects and slopes.

    ``slope`` = "unit": one slope per unit; "group": one per group; None: no slope. Units are
    nested in groups, so the normal equations split by group: the unit parameters (intercept,
    and the unit's slope) are profiled out in closed form (Frisch-Waugh), which leaves one
    small system per group over its season effects (and the group's slope), ``A θ = b`` with
    ``A = F'F - Σ_i F_i'Z_i (Z_i'Z_i)^+ Z_i'F_i``; all groups are solved at once with a
    stacked pseudo-inverse (the season effects are identified only up to the unit
    intercepts; the residuals and slopes do not depend on that choice). Returns the slope per
    unit (``slope="unit"``) or per group, zero where there is no within-unit variation in
    ``x``, and the residuals. ``w`` are row weights (default 1).
    """
    w = np.ones_like(y) if w is None else w
    n_units = int(unit.max()) + 1
    n_groups = int(group.max()) + 1
    n_seasons = int(season.max()) + 1
    has_x = x is not None and slope is not None
    xs = x if (x is not None and has_x) else np.zeros_like(y)
    k = n_seasons + (1 if slope == "group" else 0)  # group parameters: seasons (+ slope)
    unit_group = np.zeros(n_units, dtype=np.int64)
    unit_group[unit] = group

    # per unit: Z'Z, Z'y with Z = [1, x] (the x column only for unit slopes with variation)
    n_i = _sums(unit, w, n_units)
    sx_i = _sums(unit, w * xs, n_units)
    sxx_i = _sums(unit, w * xs * xs, n_units)
    sy_i = _sums(unit, w * y, n_units)
    sxy_i = _sums(unit, w * xs * y, n_units)
    unit_var = sxx_i - sx_i * sx_i / n_i
    two = slope == "unit"
    var_ok = unit_var > _TINY * np.maximum(n_i, 1.0) if two else np.zeros(n_units, dtype=bool)
    # (Z'Z)^+ per unit as a 2 x 2 (the slope row and column zero without variation)
    det = np.where(var_ok, n_i * sxx_i - sx_i * sx_i, 1.0)
    g_inv = np.zeros((n_units, 2, 2))
    g_inv[:, 0, 0] = np.where(var_ok, sxx_i / det, 1.0 / n_i)
    g_inv[:, 0, 1] = g_inv[:, 1, 0] = np.where(var_ok, -sx_i / det, 0.0)
    g_inv[:, 1, 1] = np.where(var_ok, n_i / det, 0.0)

    # Z_i'F_i (2 x k): counts and x sums per unit and season, and the group-slope column
    us = unit * n_seasons + season
    zf = np.zeros((n_units, 2, k))
    zf[:, 0, :n_seasons] = _sums(us, w, n_units * n_seasons).reshape(n_units, -1)
    zf[:, 1, :n_seasons] = _sums(us, w * xs, n_units * n_seasons).reshape(n_units, -1)
    if slope == "group":
        zf[:, 0, n_seasons] = sx_i
        zf[:, 1, n_seasons] = sxx_i
    zy = np.stack([sy_i, sxy_i], axis=1)

    # F'F and F'y per group
    gs = group * n_seasons + season
    ff = np.zeros((n_groups, k, k))
    diag = np.arange(n_seasons)
    ff[:, diag, diag] = _sums(gs, w, n_groups * n_seasons).reshape(n_groups, -1)
    fy = np.zeros((n_groups, k))
    fy[:, :n_seasons] = _sums(gs, w * y, n_groups * n_seasons).reshape(n_groups, -1)
    if slope == "group":
        sx_gs = _sums(gs, w * xs, n_groups * n_seasons).reshape(n_groups, -1)
        ff[:, n_seasons, :n_seasons] = ff[:, :n_seasons, n_seasons] = sx_gs
        ff[:, n_seasons, n_seasons] = _sums(group, w * xs * xs, n_groups)
        fy[:, n_seasons] = _sums(group, w * xs * y, n_groups)

    # profile the unit parameters out, group by group
    g_zf = np.einsum("uab,ubk->uak", g_inv, zf)
    a = ff.copy()
    np.add.at(a, unit_group, -np.einsum("uak,ual->ukl", zf, g_zf))
    b = fy.copy()
    np.add.at(b, unit_group, -np.einsum("uak,ua->uk", g_zf, zy))
    theta = np.einsum("gkl,gl->gk", np.linalg.pinv(a, rcond=1e-12, hermitian=True), b)

    # the unit parameters given the group's, and the residuals
    coef = np.einsum("uab,ub->ua", g_inv, zy - np.einsum("uak,uk->ua", zf, theta[unit_group]))
    fit = theta[group, season] + coef[unit, 0] + coef[unit, 1] * xs
    if slope == "group":
        fit = fit + theta[group, n_seasons] * xs
        within = _sums(unit_group, unit_var, n_groups)
        return np.where(within > _TINY, theta[:, n_seasons], 0.0), y - fit
    return coef[:, 1], y - fit


def _fit_poisson(
    q: Floats,
    unit: Ints,
    group: Ints,
    season: Ints,
    x: Floats,
    slope: Literal["unit", "group"],
) -> tuple[Floats, Floats, Floats]:
    """Poisson regression with the same effects, ``log E[q] = a_i + b x + g_{c,s}``, by
    iteratively reweighted least squares on :func:`_fit_effects` (working response
    ``z = eta + (q - mu) / mu``, weights ``mu``). Returns the slopes, the working residuals
    and the final weights, so ``sum w r^2`` is the Pearson statistic."""
    n_units = int(unit.max()) + 1
    mean = _sums(unit, q, n_units) / np.bincount(unit, minlength=n_units)
    eta = np.log(np.maximum(mean[unit], _FLOOR))
    for _ in range(_IRLS_ROUNDS):
        mu = np.exp(eta)
        z = eta + (q - mu) / mu
        slopes, resid = _fit_effects(z, unit, group, season, x, slope, mu)
        new_eta = np.clip(z - resid, _ETA_MIN, _ETA_MAX)
        moved = float(np.max(np.abs(new_eta - eta)))
        eta = new_eta
        if moved < _IRLS_TOL:
            break
    mu = np.exp(eta)
    return slopes, (q - mu) / mu, mu


def _codes(frame: pl.DataFrame, expr: pl.Expr) -> Ints:
    return frame.select((expr.rank("dense") - 1).cast(pl.Int64)).to_series().to_numpy()


def _prepare(obs: pl.DataFrame, season: Season, model: Model) -> pl.DataFrame:
    _require(obs, OBS_COLUMNS, "sales observations")
    if obs.height == 0:
        raise ValidationFailed("sales observations are empty")
    for column in ("product_id", "period"):
        if obs.get_column(column).null_count():
            raise ValidationFailed(f"sales observations: {column} must not be null")
    if obs.schema["period"] not in (pl.Date, pl.Datetime):
        raise ValidationFailed("sales observations: period must be a date")
    _check_positive(obs, "price", "sales observations")
    _check_positive(obs, "quantity", "sales observations", strict=model == "log")
    if model not in ("log", "poisson"):
        raise ValidationFailed(f"unknown model {model!r}; known: log, poisson")
    if season not in ("month", "week", "none"):
        raise ValidationFailed(f"unknown season {season!r}; known: month, week, none")
    season_key = {
        "month": pl.col("period").dt.month().cast(pl.Int64),
        "week": pl.col("period").dt.week().cast(pl.Int64),
        "none": pl.lit(0, dtype=pl.Int64),
    }[season]
    frame = obs.select(
        pl.col("product_id").cast(pl.String),
        pl.col("category").cast(pl.String),
        season_key.alias("season"),
        pl.col("price").cast(pl.Float64).log().alias("x"),
        pl.col("quantity").cast(pl.Float64).alias("q"),
    ).with_columns(pl.col("category").drop_nulls().first().over("product_id"))
    # products without a category form a season group of their own
    group = pl.concat_str(
        [
            pl.col("category").is_null().cast(pl.String),
            pl.coalesce("category", "product_id"),
        ],
        separator="|",
    )
    return frame.with_columns(
        (pl.col("product_id").rank("dense") - 1).cast(pl.Int64).alias("unit"),
        (group.rank("dense") - 1).cast(pl.Int64).alias("group"),
        (pl.col("season").rank("dense") - 1).cast(pl.Int64).alias("season_idx"),
    ).with_columns((pl.col("group") * 100 + pl.col("season_idx")).alias("cell"))


def estimate_elasticities(
    obs: pl.DataFrame,
    *,
    min_periods: int = 8,
    min_price_cv: float = 0.02,
    alpha: float = 0.05,
    season: Season = "month",
    model: Model = "log",
) -> pl.DataFrame:
    """Own-price elasticity per product, with season effects shared within the category.

    ``model="log"`` fits log units by least squares (periods with sales only);
    ``"poisson"`` fits the same log-linear mean by Poisson regression, so periods without
    sales (quantity 0, at the price on offer) count too and small counts are not distorted
    by their logarithm.

    Returns one row per product: ``product_id``, ``category``, ``n`` (periods), ``price_cv``
    (std of log price), ``elasticity``, ``se``, ``ci_low``, ``ci_high``, ``source``
    (``"product"``, ``"category"`` or ``"none"``) and ``confident``. See the module
    docstring for the model, the degrees of freedom and the fallback rules.
    """
    if min_periods < 3:
        raise ValidationFailed("min_periods must be at least 3")
    if not 0.0 <= min_price_cv:
        raise ValidationFailed("min_price_cv must be >= 0")
    if not 0.0 < alpha < 1.0:
        raise ValidationFailed("alpha must be in (0, 1)")
    frame = _prepare(obs, season, model)
    q = frame.get_column("q").to_numpy().astype(np.float64)
    x = frame.get_column("x").to_numpy().astype(np.float64)
    unit = frame.get_column("unit").to_numpy().astype(np.int64)
    group = frame.get_column("group").to_numpy().astype(np.int64)
    cell = frame.get_column("cell").to_numpy().astype(np.int64)
    season_idx = frame.get_column("season_idx").to_numpy().astype(np.int64)
    n_units = int(unit.max()) + 1
    n_groups = int(group.max()) + 1

    # per product and per season group counts
    n_i = np.bincount(unit, minlength=n_units).astype(np.float64)
    unit_group = np.zeros(n_units, dtype=np.int64)
    unit_group[unit] = group
    n_g = np.bincount(group, minlength=n_groups).astype(np.float64)
    cells = np.unique(cell)
    s_g = np.bincount(cells // 100, minlength=n_groups).astype(np.float64)  # season cells
    p_g = np.bincount(unit_group, minlength=n_groups).astype(np.float64)  # products

    # price variation: std of log price (ddof 1), and what is left after both fixed effects
    xbar = _group_mean(unit, x, n_i)
    ssx = np.bincount(unit, weights=(x - xbar[unit]) ** 2, minlength=n_units)
    price_cv = np.sqrt(ssx / np.maximum(n_i - 1.0, 1.0))
    # product slopes and pooled category slopes, with the season effects of the category
    if model == "log":
        y = np.log(q)
        beta_i, resid_i = _fit_effects(y, unit, group, season_idx, x, "unit")
        beta_g, resid_g = _fit_effects(y, unit, group, season_idx, x, "group")
        w_i = w_g = np.ones_like(q)
    else:
        beta_i, resid_i, w_i = _fit_poisson(q, unit, group, season_idx, x, "unit")
        beta_g, resid_g, w_g = _fit_poisson(q, unit, group, season_idx, x, "group")
    # the price variation the season does not explain, weighted as in each fit
    _, x_tilde_i = _fit_effects(x, unit, group, season_idx, w=w_i)
    _, x_tilde_g = _fit_effects(x, unit, group, season_idx, w=w_g)
    sxt_i = np.bincount(unit, weights=w_i * x_tilde_i**2, minlength=n_units)
    sxt_g = np.bincount(group, weights=w_g * x_tilde_g**2, minlength=n_groups)
    rss_i = np.bincount(unit, weights=w_i * resid_i**2, minlength=n_units)
    df_i = n_i - 2.0 - (s_g[unit_group] - 1.0) * n_i / n_g[unit_group]
    ok_i = (n_i >= min_periods) & (price_cv >= min_price_cv) & (df_i >= 1.0) & (sxt_i > _TINY)
    se_i = np.sqrt(rss_i / np.maximum(df_i, 1.0) / np.where(sxt_i > _TINY, sxt_i, 1.0))

    rss_g = np.bincount(group, weights=w_g * resid_g**2, minlength=n_groups)
    df_g = n_g - p_g - (s_g - 1.0) - 1.0
    has_category = np.zeros(n_groups, dtype=bool)
    has_category[group] = frame.get_column("category").is_not_null().to_numpy()
    ok_g = has_category & (df_g >= 1.0) & (sxt_g > _TINY)
    se_g = np.sqrt(rss_g / np.maximum(df_g, 1.0) / np.where(sxt_g > _TINY, sxt_g, 1.0))

    # one estimate per product: its own, else its category's, else none
    ok_c = ok_g[unit_group]
    use_product = ok_i
    use_category = ~ok_i & ok_c
    elasticity = np.where(use_product, beta_i, np.where(use_category, beta_g[unit_group], np.nan))
    se = np.where(use_product, se_i, np.where(use_category, se_g[unit_group], np.nan))
    df = np.where(use_product, df_i, np.where(use_category, df_g[unit_group], 1.0))
    t = stats.t.ppf(1.0 - alpha / 2.0, np.maximum(df, 1.0))
    ci_low = elasticity - t * se
    ci_high = elasticity + t * se
    source = np.where(use_product, "product", np.where(use_category, "category", "none"))
    confident = use_product & ((ci_high < 0.0) | (ci_low > 0.0))

    products = (
        frame.group_by("unit")
        .agg(pl.col("product_id").first(), pl.col("category").first())
        .sort("unit")
    )
    return pl.DataFrame(
        {
            "product_id": products.get_column("product_id"),
            "category": products.get_column("category"),
            "n": n_i.astype(np.int64),
            "price_cv": price_cv,
            "elasticity": elasticity,
            "se": se,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "source": source,
            "confident": confident,
        }
    ).with_columns(pl.col("elasticity", "se", "ci_low", "ci_high").fill_nan(None))


# ------------------------------------------------------------------------------- advice


def _profit_change(p_new: Floats, p0: Floats, c: Floats, q0: Floats, b: Floats) -> Floats:
    result: Floats = q0 * ((p_new - c) * (p_new / p0) ** b - (p0 - c))
    return result


def price_advice(
    estimates: pl.DataFrame,
    current: pl.DataFrame,
    *,
    max_move: float = 0.10,
    min_margin: float = 0.0,
    max_elasticity: float = math.inf,
) -> pl.DataFrame:
    """Profit-maximising price moves, bounded to ``max_move`` either way.

    ``estimates`` is the output of :func:`estimate_elasticities`; ``current`` has
    ``product_id``, ``price``, ``cost`` (may be null) and ``quantity`` (current units per
    period). One row per product of ``current``: ``product_id``, ``action``
    (raise | lower | hold), ``price``, ``recommended_price``, ``move_pct``, ``elasticity``,
    ``elasticity_ci`` ([low, high]), ``expected_profit_change`` (per period),
    ``profit_change_low``, ``profit_change_high`` and ``reason``. Held products keep their
    price and a zero change; so does an elasticity below ``-max_elasticity``.
    """
    if not 0.0 < max_move < 1.0:
        raise ValidationFailed("max_move must be in (0, 1)")
    if not 0.0 <= min_margin < 1.0:
        raise ValidationFailed("min_margin must be in [0, 1)")
    _require(estimates, _ESTIMATE_COLUMNS, "elasticity estimates")
    _require(current, CURRENT_COLUMNS, "current prices")
    if current.get_column("product_id").null_count():
        raise ValidationFailed("current prices: product_id must not be null")
    if current.get_column("product_id").n_unique() != current.height:
        raise ValidationFailed("current prices: product_id must be unique")
    _check_positive(current, "price", "current prices")
    _check_positive(current, "quantity", "current prices", strict=False)

    joined = current.select(
        pl.col("product_id").cast(pl.String),
        pl.col("price").cast(pl.Float64),
        pl.col("cost").cast(pl.Float64),
        pl.col("quantity").cast(pl.Float64),
    ).join(
        estimates.select(
            pl.col("product_id").cast(pl.String),
            pl.col("elasticity", "ci_low", "ci_high").cast(pl.Float64),
            pl.col("source").cast(pl.String),
            pl.col("confident").cast(pl.Boolean),
        ),
        on="product_id",
        how="left",
    )
    p0 = joined.get_column("price").to_numpy().astype(np.float64)
    c = joined.get_column("cost").fill_null(np.nan).to_numpy().astype(np.float64)
    q0 = joined.get_column("quantity").to_numpy().astype(np.float64)
    b = joined.get_column("elasticity").fill_null(np.nan).to_numpy().astype(np.float64)
    lo_b = joined.get_column("ci_low").fill_null(np.nan).to_numpy().astype(np.float64)
    hi_b = joined.get_column("ci_high").fill_null(np.nan).to_numpy().astype(np.float64)
    source = joined.get_column("source").fill_null("missing").to_numpy()
    confident = joined.get_column("confident").fill_null(False).to_numpy().astype(bool)

    # why a product is held, first reason wins
    reason = np.full(p0.size, "", dtype=object)
    checks = [
        (source == "missing", "no elasticity estimate"),
        (source == "none", "no estimate: too little price variation and no usable category"),
        (source == "category", "too little price variation or history: category estimate only"),
        (~confident, "elasticity confidence interval includes zero"),
        (b >= 0.0, "non-negative elasticity: no advice"),
        (b < -max_elasticity, f"implausible elasticity (below -{max_elasticity:g}): held"),
        (~np.isfinite(c) | (c < 0.0), "no cost"),
    ]
    for mask, text in checks:
        reason = np.where((reason == "") & mask, text, reason)
    advise = reason == ""

    hi = p0 * (1.0 + max_move)
    lo = np.maximum(p0 * (1.0 - max_move), np.nan_to_num(c) / (1.0 - min_margin))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_star = np.where(b < -1.0, c * b / (1.0 + b), hi)
    target = np.minimum(np.maximum(p_star, lo), hi)
    # to cents, staying inside the bounds (a cent's float noise aside)
    p_new = np.round(target, 2)
    p_new = np.where(p_new > hi + _TOL, np.floor(hi * 100.0 + 1e-6) / 100.0, p_new)
    p_new = np.where(p_new < lo - _TOL, np.ceil(lo * 100.0 - 1e-6) / 100.0, p_new)
    p_new = np.where(advise, p_new, p0)
    moved = advise & (np.abs(p_new - p0) >= _CENT / 2)
    p_new = np.where(moved, p_new, p0)
    action = np.where(moved & (p_new > p0), "raise", np.where(moved, "lower", "hold"))
    reason = np.where(advise & ~moved, "at the profit-maximising price within bounds", reason)

    with np.errstate(invalid="ignore", over="ignore"):
        d_point = _profit_change(p_new, p0, c, q0, b)
        d_low = _profit_change(p_new, p0, c, q0, lo_b)
        d_high = _profit_change(p_new, p0, c, q0, hi_b)
    ends = np.stack([d_point, d_low, d_high])
    zero = np.zeros(p0.size)
    expected = np.where(moved, d_point, zero)
    change_low = np.where(moved, ends.min(axis=0), zero)
    change_high = np.where(moved, ends.max(axis=0), zero)

    return pl.DataFrame(
        {
            "product_id": joined.get_column("product_id"),
            "action": action.astype(str),
            "price": p0,
            "recommended_price": p_new,
            "move_pct": 100.0 * (p_new / p0 - 1.0),
            "elasticity": joined.get_column("elasticity"),
            "elasticity_ci": joined.select(
                pl.when(pl.col("ci_low").is_not_null() & pl.col("ci_high").is_not_null())
                .then(pl.concat_list("ci_low", "ci_high"))
                .otherwise(None)
            ).to_series(),
            "expected_profit_change": expected,
            "profit_change_low": change_low,
            "profit_change_high": change_high,
            "reason": reason.astype(str),
        }
    )


# ---------------------------------------------------------------------------- synthetic


def synthetic_sales(
    n_products: int,
    n_periods: int,
    elasticities: float | Sequence[float] | Floats,
    *,
    seed: int,
    period: Literal["week", "month"] = "week",
    n_categories: int = 4,
    season_amplitude: float = 0.4,
    promo_depth: float | Sequence[float] | Floats = 0.15,
    peak_promo: float = 0.0,
    noise_sd: float = 0.1,
    start: date = date(2023, 1, 2),
) -> pl.DataFrame:
    """Seeded sales observations with known elasticities.

    Product ``i`` (category ``cat{i % n_categories}``) has a base price in [5, 50], a unit
    cost of 40-70 % of it and base demand in [20, 200] units per period. Its price each
    period is ``base * (1 + u - peak_promo * s)`` with ``u`` uniform in
    ``[-promo_depth, promo_depth]`` (0 gives a constant price) and ``s`` in [-1, 1] the
    category's seasonal demand shape (``peak_promo > 0`` times price cuts to the seasonal
    peak). Demand is ``base_q * (price / base)^b * exp(season_amplitude * s) * lognormal(0,
    noise_sd)``. The season follows the month of the year (monthly periods) or the ISO week
    of the year (weekly periods), with a phase per category.
    """
    if n_products < 1 or n_periods < 1 or n_categories < 1:
        raise ValidationFailed("n_products, n_periods and n_categories must be positive")
    rng = np.random.default_rng(seed)
    betas = np.broadcast_to(np.asarray(elasticities, dtype=np.float64), (n_products,))
    depth = np.broadcast_to(np.asarray(promo_depth, dtype=np.float64), (n_products,))
    end = date(start.year + n_periods // 12 + 2, 1, 1)
    dates = pl.date_range(start, end, "1w" if period == "week" else "1mo", eager=True)
    dates = dates.head(n_periods)
    if period == "week":
        position = (dates.dt.week().to_numpy() - 1) / 52.0
    else:
        position = (dates.dt.month().to_numpy() - 1) / 12.0
    category = np.arange(n_products) % n_categories
    phase = rng.uniform(0.0, 1.0, n_categories)[category]
    shape = np.cos(2.0 * np.pi * (position[None, :] - phase[:, None]))  # products x periods

    base_price = rng.uniform(5.0, 50.0, n_products)
    cost = base_price * rng.uniform(0.4, 0.7, n_products)
    base_q = rng.uniform(20.0, 200.0, n_products)
    u = rng.uniform(-1.0, 1.0, (n_products, n_periods)) * depth[:, None]
    rel_price = np.maximum(1.0 + u - peak_promo * shape, 0.05)
    price = base_price[:, None] * rel_price
    noise = rng.normal(0.0, noise_sd, (n_products, n_periods))
    quantity = (
        base_q[:, None] * rel_price ** betas[:, None] * np.exp(season_amplitude * shape + noise)
    )

    width = len(str(n_products - 1))
    ids = np.array([f"p{i:0{width}d}" for i in range(n_products)])
    cats = np.array([f"cat{k}" for k in range(n_categories)])[category]
    return pl.DataFrame(
        {
            "product_id": np.repeat(ids, n_periods),
            "category": np.repeat(cats, n_periods),
            "period": np.tile(dates.to_numpy(), n_products),
            "price": price.ravel(),
            "quantity": quantity.ravel(),
            "cost": np.repeat(cost, n_periods),
        }
    ).with_columns(pl.col("period").cast(pl.Date))

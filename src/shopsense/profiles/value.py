"""Predicted customer value for profiles: BG/NBD for purchases and being alive, Gamma-Gamma
for spend, fitted on every buyer up to ``as_of`` (time unit: days); and a second BG/NBD over
active days (any event or order), whose alive probability drives the lifecycle segments.

Why two: a shop's buyers purchase a few times a year, so over a short history the purchase
model cannot tell a customer who left from one between purchases (on Online Retail it puts
the dropout rate a -> 0 and P(alive) ~ 1 for everyone). Visits are ten times as frequent, so
the same model over active days sees a departure within weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from shopsense.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    summary_from_transactions,
)
from shopsense.errors import ConvergenceError, ValidationFailed

MIN_CUSTOMERS = 20  # fewer buyers than this cannot identify four BG/NBD parameters
# On short or small histories the likelihood can run off to a, b -> infinity (dropout
# indistinguishable from a constant rate); then a light L2 penalty, as lifetimes advises for
# small data, brings the estimate back to finite values that predict the same.
DEGENERATE = 1e4
FALLBACK_PENALIZER = 0.001
HORIZON_DAYS = 90
# The columns of an empty summary (``summary_from_transactions`` of no transactions).
SUMMARY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.String,
    "frequency": pl.Int64,
    "recency": pl.Float64,
    "T": pl.Float64,
}


@dataclass(frozen=True)
class ValueModels:
    """Fitted parameters (None where the data could not support a fit)."""

    beta_geo: dict[str, float] | None
    gamma_gamma: dict[str, float] | None
    customers: int
    repeat_customers: int
    mean_spend: float = 0.0  # all repeat buyers' mean spend, when Gamma-Gamma is missing
    activity: dict[str, float] | None = None  # BG/NBD over active days

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValueModels:
        return cls(
            data.get("beta_geo"),
            data.get("gamma_gamma"),
            int(data.get("customers", 0)),
            int(data.get("repeat_customers", 0)),
            float(data.get("mean_spend", 0.0)),
            data.get("activity"),
        )


def customer_summary(orders: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Frequency (repeat purchase days), recency and T in days, monetary value (mean net
    revenue of repeat purchase days) per buyer."""
    tx = orders.select(
        "user_id",
        "placed_at",
        (pl.col("revenue") - pl.col("refunded_amount")).clip(0.0).alias("value"),
    )
    if tx.is_empty():
        return pl.DataFrame(schema={**SUMMARY_SCHEMA, "monetary_value": pl.Float64})
    return summary_from_transactions(
        tx, "user_id", "placed_at", "value", observation_period_end=as_of, freq="D"
    )


def activity_summary(events: pl.DataFrame, orders: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Frequency (repeat active days), recency and T in days per user, over the days with
    any event or order (imported order histories without events count their order days)."""
    moments = pl.concat(
        [
            events.select("user_id", pl.col("timestamp").alias("at")),
            orders.select("user_id", pl.col("placed_at").alias("at")),
        ]
    )
    if moments.is_empty():
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    return summary_from_transactions(moments, "user_id", "at", observation_period_end=as_of)


def fit_beta_geo(summary: pl.DataFrame) -> dict[str, float] | None:
    """BG/NBD parameters, or None when the data cannot identify them (too few customers, no
    repeat, or a fit that runs off to infinity even with the fallback penalty)."""
    if summary.height < MIN_CUSTOMERS or not (summary["frequency"] > 0).any():
        return None
    for penalizer in (0.0, FALLBACK_PENALIZER):
        try:
            fitted = BetaGeoModel(penalizer_coef=penalizer).fit(
                summary["frequency"], summary["recency"], summary["T"]
            )
        except (ConvergenceError, ValidationFailed):
            continue
        params = dict(fitted.params_ or {})
        if max(params["a"], params["b"]) < DEGENERATE:
            return params
    return None


def fit_value_models(summary: pl.DataFrame, activity: pl.DataFrame | None = None) -> ValueModels:
    """Fit the models; a model the data cannot support is left out, never guessed."""
    repeat = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    beta_geo = fit_beta_geo(summary) if repeat.height > 0 else None
    gamma_gamma: dict[str, float] | None = None
    if repeat.height >= MIN_CUSTOMERS:
        try:
            gg = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
            gamma_gamma = dict(gg.params_ or {})
            if gamma_gamma["q"] <= 1:  # the population mean spend would be infinite
                gamma_gamma = None
        except (ConvergenceError, ValidationFailed):
            gamma_gamma = None
    mean_spend = float(repeat["monetary_value"].to_numpy().mean()) if repeat.height else 0.0
    return ValueModels(
        beta_geo,
        gamma_gamma,
        summary.height,
        repeat.height,
        mean_spend,
        fit_beta_geo(activity) if activity is not None else None,
    )


def predict_activity(activity: pl.DataFrame, models: ValueModels) -> pl.DataFrame:
    """``active_days`` and ``activity_alive`` (P(alive) of the active-days BG/NBD) per user."""
    out = activity.select("user_id", (pl.col("frequency") + 1).alias("active_days"))
    if activity.is_empty() or models.activity is None:
        return out.with_columns(pl.lit(None, pl.Float64).alias("activity_alive"))
    bgf = BetaGeoModel()
    bgf.params_ = models.activity
    alive = bgf.probability_alive(activity["frequency"], activity["recency"], activity["T"])
    return out.with_columns(pl.Series("activity_alive", alive).round(4).fill_nan(None))


def predict_value(
    summary: pl.DataFrame, models: ValueModels, *, discount_rate: float
) -> pl.DataFrame:
    """``probability_alive``, ``expected_purchases_90d`` and ``predicted_clv_12m`` per buyer.
    Without a Gamma-Gamma fit the expected spend is the buyer's own mean (or the mean of all
    repeat buyers, from the fit, for one-time buyers)."""
    out = summary.select("user_id")
    if summary.is_empty() or models.beta_geo is None:
        return out.with_columns(
            pl.lit(None, pl.Float64).alias("probability_alive"),
            pl.lit(None, pl.Float64).alias("expected_purchases_90d"),
            pl.lit(None, pl.Float64).alias("predicted_clv_12m"),
        )
    bgf = BetaGeoModel()
    bgf.params_ = models.beta_geo
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    monetary = summary["monetary_value"].to_numpy().astype(float)
    if models.gamma_gamma is not None:
        ggf = GammaGammaModel()
        ggf.params_ = models.gamma_gamma
        # Repeat days that were refunded in full carry no spend signal: population mean.
        spend = ggf.conditional_expected_average_profit(
            np.where(monetary > 0, x.to_numpy(), 0), monetary
        )
    else:
        spend = np.where(monetary > 0, monetary, models.mean_spend)

    clv = customer_lifetime_value(
        bgf, x, t_x, big_t, spend, time=12, discount_rate=discount_rate, freq="D"
    )
    return out.with_columns(
        pl.Series("probability_alive", bgf.probability_alive(x, t_x, big_t)).round(4),
        pl.Series(
            "expected_purchases_90d",
            bgf.conditional_expected_purchases(HORIZON_DAYS, x, t_x, big_t),
        ).round(4),
        pl.Series("predicted_clv_12m", clv).round(2),
    ).with_columns(  # a degenerate fit must read as "unknown", never as a huge value
        pl.col("probability_alive", "expected_purchases_90d", "predicted_clv_12m").fill_nan(None)
    )

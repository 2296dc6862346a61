"""Predicted customer value for profiles: BG/NBD for purchases and being alive, Gamma-Gamma
for spend, fitted on every buyer up to ``as_of`` (time unit: days)."""

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


@dataclass(frozen=True)
class ValueModels:
    """Fitted parameters (None where the data could not support a fit)."""

    beta_geo: dict[str, float] | None
    gamma_gamma: dict[str, float] | None
    customers: int
    repeat_customers: int
    mean_spend: float = 0.0  # all repeat buyers' mean spend, when Gamma-Gamma is missing

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
        return pl.DataFrame(
            schema={
                "user_id": pl.String,
                "frequency": pl.Int64,
                "recency": pl.Float64,
                "T": pl.Float64,
                "monetary_value": pl.Float64,
            }
        )
    return summary_from_transactions(
        tx, "user_id", "placed_at", "value", observation_period_end=as_of, freq="D"
    )


def fit_value_models(summary: pl.DataFrame) -> ValueModels:
    """Fit both models; a model the data cannot support is left out, never guessed."""
    repeat = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    beta_geo: dict[str, float] | None = None
    gamma_gamma: dict[str, float] | None = None
    if summary.height >= MIN_CUSTOMERS and repeat.height > 0:
        for penalizer in (0.0, FALLBACK_PENALIZER):
            try:
                fitted = BetaGeoModel(penalizer_coef=penalizer).fit(
                    summary["frequency"], summary["recency"], summary["T"]
                )
            except (ConvergenceError, ValidationFailed):
                continue
            beta_geo = dict(fitted.params_ or {})
            if max(beta_geo["a"], beta_geo["b"]) < DEGENERATE:
                break
            beta_geo = None
    if repeat.height >= MIN_CUSTOMERS:
        try:
            gg = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
            gamma_gamma = dict(gg.params_ or {})
            if gamma_gamma["q"] <= 1:  # the population mean spend would be infinite
                gamma_gamma = None
        except (ConvergenceError, ValidationFailed):
            gamma_gamma = None
    mean_spend = float(repeat["monetary_value"].to_numpy().mean()) if repeat.height else 0.0
    return ValueModels(beta_geo, gamma_gamma, summary.height, repeat.height, mean_spend)


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

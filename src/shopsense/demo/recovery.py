"""How well profiles recover what the demo generator planted: the validation of the customer
intelligence against known answers, shared by the tests and ``bench/planted_recovery.py``.

Churn gets a yardstick: the Bayes-optimal posterior that knows each customer's true visit
rate, signup day and the churn process, so a figure can be read against what any model
could reach on the same data, not against an arbitrary bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from shopsense.demo.users import CHURN_AFTER, CHURN_MIN_TENURE, CHURN_SHARE

FLAGGED = ("at_risk", "churned")


@dataclass(frozen=True)
class Detection:
    """Planted churners (gone at least ``min_gone_days``) against everyone never churned;
    churners who left more recently are left out: no data can tell them yet."""

    min_gone_days: int
    customers: int
    churners: int
    flagged: int
    precision: float
    recall: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def truth_frame(truth: dict[str, Any]) -> pl.DataFrame:
    """One row per planted customer with the traits the profiles should recover."""
    start = date.fromisoformat(truth["spec"]["start"])
    end = date.fromisoformat(truth["spec"]["end"])

    def day(iso: str | None) -> int | None:
        return None if iso is None else (date.fromisoformat(iso) - start).days

    def gone(iso: str | None) -> int | None:
        return None if iso is None else (end - date.fromisoformat(iso)).days

    rows = [
        {
            "user_id": uid,
            "peak_hour": t["peak_hour"],
            "true_device": t["main_device"],
            "true_price_sensitivity": t["price_sensitivity"],
            "true_brand_loyalty": t["brand_loyalty"],
            "churned": t["churned"],
            "gone_days": gone(t["churn_date"]),
            "signup_day": day(t["signup_date"]),
            "sessions_per_day": (t["visit_rate"] + t["purchase_rate"]) / 30.0,
        }
        for uid, t in truth["users"].items()
    ]
    return pl.DataFrame(rows)


def spearman(a: pl.Series, b: pl.Series) -> float:
    pair = pl.DataFrame({"a": a, "b": b})
    return float(pair.select(pl.corr("a", "b", method="spearman")).item())


def exact_share(frame: pl.DataFrame, found: str, planted: str) -> float:
    return round(float(frame.select((pl.col(found) == pl.col(planted)).mean()).item()), 4)


def detection(
    flags: pl.DataFrame, flag: str, min_gone_days: int, *, higher: bool = True
) -> Detection:
    """Precision and recall of the boolean column ``flag`` over the evaluation set."""
    kept = flags.filter(~pl.col("churned") | (pl.col("gone_days") >= min_gone_days))
    hit = kept[flag]
    pos = kept["churned"]
    tp = int((hit & pos).sum())
    return Detection(
        min_gone_days,
        kept.height,
        int(pos.sum()),
        int(hit.sum()),
        round(tp / max(int(hit.sum()), 1), 4),
        round(tp / max(int(pos.sum()), 1), 4),
    )


def oracle_churn_probability(joined: pl.DataFrame, days: int) -> pl.Series:
    """P(churned | last seen day) knowing the true session rate and the churn process.

    Sessions are a Poisson process at the planted rate from signup to the churn day (or the
    end); given the last session on day l, a churn day c >= l has likelihood
    exp(-rate (c - l)) and staying has exp(-rate (end - l)), weighted by their priors."""
    end = days - 1
    out = []
    for signup, last, rate in joined.select(
        "signup_day", "last_day", "sessions_per_day"
    ).iter_rows():
        if signup is None or last is None or signup > days - CHURN_MIN_TENURE:
            out.append(0.0)
            continue
        churn_days = np.arange(signup + CHURN_AFTER, days - 2)
        if churn_days.size == 0:
            out.append(0.0)
            continue
        possible = churn_days[churn_days >= last]
        gone = CHURN_SHARE / churn_days.size * np.exp(-rate * (possible - last)).sum()
        stay = (1.0 - CHURN_SHARE) * np.exp(-rate * (end - last))
        out.append(float(gone / (gone + stay)))
    return pl.Series("oracle", out)


def best_threshold(flags: pl.DataFrame, score: str, min_gone_days: int) -> tuple[float, Detection]:
    """The threshold on ``score`` (higher = more likely churned) maximising min(P, R)."""
    candidates = [
        (
            float(th),
            detection(
                flags.with_columns((pl.col(score) > th).alias("_hit")), "_hit", min_gone_days
            ),
        )
        for th in np.round(np.arange(0.05, 0.96, 0.025), 3)
    ]
    return max(candidates, key=lambda c: min(c[1].precision, c[1].recall))


def evaluate(
    profiles: pl.DataFrame,
    truth: dict[str, Any],
    *,
    min_brand_choices: int = 10,
    min_gone_days: int = 21,
) -> dict[str, Any]:
    """Every recovery figure of the customer-intelligence validation, from computed
    profiles (``ProfileEngine.compute``) and the generator's ground truth."""
    start = date.fromisoformat(truth["spec"]["start"])
    days = int(truth["spec"]["days"])
    start_at = datetime.combine(start, datetime.min.time())
    joined = (
        truth_frame(truth)
        .join(profiles, on="user_id", how="inner")
        .with_columns(
            ((pl.col("last_seen") - pl.lit(start_at)).dt.total_days()).alias("last_day"),
            pl.col("lifecycle_segment").is_in(FLAGGED).alias("flagged"),
            (1.0 - pl.col("activity_alive")).alias("activity_dead"),
        )
    )
    joined = joined.with_columns(oracle_churn_probability(joined, days))
    priced = joined.filter(pl.col("price_sensitivity").is_not_null())
    branded = joined.filter(pl.col("brand_choices") >= min_brand_choices)
    oracle_th, oracle = best_threshold(joined, "oracle", min_gone_days)
    model_th, model = best_threshold(
        joined.drop_nulls("activity_dead"), "activity_dead", min_gone_days
    )
    return {
        "customers": joined.height,
        "preferred_hour_exact": exact_share(joined, "preferred_hour", "peak_hour"),
        "main_device_exact": exact_share(joined, "main_device", "true_device"),
        "price_sensitivity_spearman": round(
            spearman(priced["price_sensitivity"], priced["true_price_sensitivity"]), 4
        ),
        "price_sensitivity_customers": priced.height,
        "brand_loyalty_spearman": round(
            spearman(branded["brand_loyalty"], branded["true_brand_loyalty"]), 4
        ),
        "brand_loyalty_customers": branded.height,
        "brand_loyalty_min_choices": min_brand_choices,
        "brand_loyalty_spearman_all": round(
            spearman(
                joined.drop_nulls("brand_loyalty")["brand_loyalty"],
                joined.drop_nulls("brand_loyalty")["true_brand_loyalty"],
            ),
            4,
        ),
        "churn_lifecycle": detection(joined, "flagged", min_gone_days).as_dict(),
        "churn_activity_best": {"threshold_alive": round(1 - model_th, 3), **model.as_dict()},
        "churn_oracle_best": {"threshold": oracle_th, **oracle.as_dict()},
    }

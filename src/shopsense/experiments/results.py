"""An experiment's read-out: per variant its users, impressions, CTR, conversion and
revenue per user, each variant against the control (the first variant) with a fixed-horizon
interval and p-value and an always-valid (sequential) one, the sample-ratio-mismatch check,
and whether the planned sample size has been reached (before it, the fixed-horizon figures
are flagged as peeking).

The unit of analysis is the person the variant was assigned to, not the impression: per
person the numerator and denominator of each metric (clicks and impressions, conversions
and impressions, revenue and 1), so the ratio metrics get delta-method intervals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from shopsense.db.session import Database
from shopsense.experiments.attribution import DEFAULT_WINDOWS, Windows, attribute
from shopsense.experiments.registry import get
from shopsense.experiments.stats import (
    HOLDOUT,
    compare,
    fixed_horizon_valid,
    ratio_estimate,
    sequential,
    srm_check,
)

METRICS = {
    "ctr": ("clicks", "impressions"),
    "conversion": ("conversions", "impressions"),
    "revenue_per_user": ("revenue", None),
}


def experiment_results(
    db: Database, name: str, *, now: datetime, windows: Windows = DEFAULT_WINDOWS
) -> dict[str, Any]:
    with db.read() as conn:
        experiment = get(conn, name)
        end = experiment["stopped_at"] or now
        found = attribute(conn, experiment["started_at"], end, windows=windows)
    answers = found.answers.filter(pl.col("experiment") == name).select(
        "recommendation_id", "variant"
    )
    units = _per_unit(found.impressions, found.clicks, found.credited, answers)
    names = [v["name"] for v in experiment["variants"]]
    arms = names + ([HOLDOUT] if experiment["holdout"] > 0 else [])
    per_variant = {arm: units.filter(pl.col("variant") == arm) for arm in arms}
    users = [per_variant[arm].height for arm in arms]
    shares = _expected_shares(experiment, names)
    srm = srm_check(users, shares) if sum(users) > 0 else None
    planned = experiment["planned_users"]
    reached = planned is not None and fixed_horizon_valid(users[: len(names)], planned)
    variants = []
    control = per_variant[names[0]]
    for arm in arms:
        rows = per_variant[arm]
        entry: dict[str, Any] = {
            "variant": arm,
            "strategy": next(
                (v["strategy"] for v in experiment["variants"] if v["name"] == arm), "popular"
            ),
            "users": rows.height,
            "impressions": int(rows["impressions"].sum()),
            "clicks": int(rows["clicks"].sum()),
            "conversions": int(rows["conversions"].sum()),
            "revenue": round(float(rows["revenue"].sum()), 2),
            "metrics": {},
        }
        for metric, (num, den) in METRICS.items():
            estimate = ratio_estimate(*_arrays(rows, num, den))
            figures: dict[str, Any] = {"value": _num(estimate.value), "se": _num(estimate.se)}
            if arm != names[0] and rows.height > 1 and control.height > 1:
                fixed = compare(_arrays(control, num, den), _arrays(rows, num, den))
                always = sequential(_arrays(control, num, den), _arrays(rows, num, den))
                figures.update(
                    lift=_num(fixed.lift),
                    lift_ci=[_num(x) for x in fixed.lift_ci],
                    difference=_num(fixed.difference),
                    difference_ci=[_num(x) for x in fixed.difference_ci],
                    p_value=_num(fixed.p_value),
                    significant=bool(fixed.significant) and reached,
                    sequential_p_value=_num(always.p_value),
                    sequential_ci=[_num(x) for x in always.ci],
                    sequential_significant=bool(always.reject),
                )
            entry["metrics"][metric] = figures
        variants.append(entry)
    return {
        "experiment": {
            k: experiment[k]
            for k in (
                "name",
                "description",
                "status",
                "variants",
                "traffic",
                "holdout",
                "metric",
                "baseline_rate",
                "minimum_effect",
                "planned_users",
                "started_at",
                "stopped_at",
                "winner",
            )
        },  # fmt: skip
        "from": experiment["started_at"],
        "to": end,
        "impressions_source": found.impressions_source,
        "control": names[0],
        "variants": variants,
        "srm": None if srm is None else {**srm.to_dict(), "expected_shares": shares},
        "planned_users_reached": reached,
        "peeking": not reached,
        "note": (
            "fixed-horizon p-values hold at the planned sample size only; before it, read the "
            "sequential (always-valid) ones, which stay valid however often they are looked at"
        ),
    }


def _per_unit(
    impressions: pl.DataFrame,
    clicks: pl.DataFrame,
    credited: pl.DataFrame,
    answers: pl.DataFrame,
) -> pl.DataFrame:
    """One row per (person, variant): list impressions, clicks, purchase conversions and
    attributed revenue of the experiment's answers."""
    views = (
        impressions.join(answers, on="recommendation_id")
        .unique(subset=["recommendation_id", "person", "at"])
        .group_by("person", "variant")
        .agg(pl.len().alias("impressions"))
    )
    clicked = (
        clicks.join(answers, on="recommendation_id")
        .group_by("person", "variant")
        .agg(pl.len().alias("clicks"))
    )
    bought = (
        credited.filter(pl.col("kind") == "purchase")
        .join(answers, on="recommendation_id")
        .group_by("person", "variant")
        .agg(pl.len().alias("conversions"), pl.col("revenue").sum())
    )
    keys = ["person", "variant"]
    return (
        views.join(clicked, on=keys, how="full", coalesce=True)
        .join(bought, on=keys, how="full", coalesce=True)
        .filter(pl.col("person").is_not_null() & pl.col("variant").is_not_null())
        .with_columns(
            pl.col("impressions", "clicks", "conversions").fill_null(0),
            pl.col("revenue").fill_null(0.0),
        )
    )


def _arrays(rows: pl.DataFrame, num: str, den: str | None) -> tuple[Any, Any]:
    numerator = rows[num].to_numpy().astype(np.float64)
    denominator = np.ones(rows.height) if den is None else rows[den].to_numpy().astype(np.float64)
    return numerator, denominator


def _expected_shares(experiment: dict[str, Any], names: list[str]) -> list[float]:
    """Each arm's expected share of the units in the experiment (holdout last)."""
    holdout = float(experiment["holdout"])
    traffic = float(experiment["traffic"])
    weights = np.asarray([float(v["weight"]) for v in experiment["variants"]])
    inside = (1 - holdout) * traffic
    shares = list(inside * weights / weights.sum())
    if holdout > 0:
        shares.append(holdout)
    total = sum(shares)
    return [s / total for s in shares]


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


__all__ = ["METRICS", "experiment_results"]

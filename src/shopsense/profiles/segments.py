"""Segments: value by predicted 12-month CLV, lifecycle (at risk, churned) and the 11
standard RFM segments. Thresholds are settings; definitions are in ``docs/metrics.md``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

# (R score, FM score) -> segment; the 25 cells of the usual R x FM grid, 11 segments.
RFM_GRID: dict[str, list[tuple[int, int]]] = {
    "champions": [(5, 5), (5, 4), (4, 5)],
    "loyal_customers": [(4, 4), (3, 4), (3, 5)],
    "potential_loyalists": [(5, 2), (5, 3), (4, 2), (4, 3)],
    "new_customers": [(5, 1)],
    "promising": [(4, 1)],
    "need_attention": [(3, 3)],
    "about_to_sleep": [(3, 1), (3, 2)],
    "at_risk_customers": [(2, 3), (2, 4), (1, 3), (1, 4)],
    "cant_lose_them": [(2, 5), (1, 5)],
    "hibernating": [(2, 1), (2, 2)],
    "lost": [(1, 1), (1, 2)],
}
RFM_CELL = {cell: name for name, cells in RFM_GRID.items() for cell in cells}

STRATEGIES: dict[str, str] = {
    "high_value": "premium treatment: early access, free shipping, a personal contact",
    "medium_value": "upsell: premium alternatives and bundles in their categories",
    "low_value": "engagement: recommendations and newsletters to raise frequency",
    "at_risk": "win-back offer: a time-limited discount on their favourite category",
    "churned": "re-activation: a low-cost campaign, only where the expected value pays",
    "champions": "reward: loyalty perks, ask for reviews, early access",
    "loyal_customers": "upsell higher-value products, ask for reviews",
    "potential_loyalists": "membership or loyalty programme, personal recommendations",
    "new_customers": "onboarding: a good first experience and a second-purchase nudge",
    "promising": "brand awareness: free trials and samples",
    "need_attention": "limited-time offers based on past purchases",
    "about_to_sleep": "reconnect: popular products and renewed discounts",
    "at_risk_customers": "personal emails to reconnect, renewal offers",
    "cant_lose_them": "win them back with renewals or newer products; talk to them",
    "hibernating": "offer other relevant products and special discounts",
    "lost": "revive interest with an outreach campaign, or ignore",
}


@dataclass(frozen=True)
class RfmCuts:
    """Quintile cut points fitted on all buyers, so one user can be scored alone."""

    recency: list[float]
    frequency: list[float]
    monetary: list[float]

    def as_dict(self) -> dict[str, list[float]]:
        return {"recency": self.recency, "frequency": self.frequency, "monetary": self.monetary}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RfmCuts:
        return cls(data["recency"], data["frequency"], data["monetary"])


def fit_rfm_cuts(buyers: pl.DataFrame) -> RfmCuts:
    """20/40/60/80 % quantiles of recency (days), frequency (orders) and monetary (revenue)."""
    qs = [0.2, 0.4, 0.6, 0.8]

    def cuts(column: str) -> list[float]:
        values = buyers[column].drop_nulls().to_numpy().astype(float)
        if values.size == 0:
            return [0.0, 0.0, 0.0, 0.0]
        return [float(x) for x in np.quantile(values, qs)]

    return RfmCuts(cuts("recency_days"), cuts("orders"), cuts("revenue"))


def _score(column: str, cuts: list[float], *, reverse: bool) -> pl.Expr:
    """1..5 by how many cut points a value exceeds (recency reversed: recent scores 5)."""
    score = pl.sum_horizontal([(pl.col(column) > c).cast(pl.Int32) for c in cuts]) + 1
    return (6 - score) if reverse else score


def rfm_expressions(cuts: RfmCuts) -> list[pl.Expr]:
    """``rfm_score`` ("545") and ``rfm_segment`` for buyers; null for users without orders."""
    r = _score("recency_days", cuts.recency, reverse=True)
    f = _score("orders", cuts.frequency, reverse=False)
    m = _score("revenue", cuts.monetary, reverse=False)
    fm = ((f + m) / 2).round(0).cast(pl.Int32)
    cell = r.cast(pl.String) + fm.cast(pl.String)
    mapping = {f"{rr}{ff}": name for (rr, ff), name in RFM_CELL.items()}
    buyer = pl.col("orders") > 0
    return [
        pl.when(buyer)
        .then(r.cast(pl.String) + f.cast(pl.String) + m.cast(pl.String))
        .alias("rfm_score"),
        pl.when(buyer)
        .then(cell.replace_strict(mapping, default=None, return_dtype=pl.String))
        .alias("rfm_segment"),
    ]


@dataclass(frozen=True)
class SegmentRules:
    """The thresholds in force, reported with every profile."""

    clv_high: float
    clv_medium: float
    at_risk_alive: float
    churned_alive: float
    at_risk_recency_factor: float
    churn_inactive_days: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def segment_expressions(rules: SegmentRules) -> list[pl.Expr]:
    """``value_segment`` from predicted 12-month CLV and ``lifecycle_segment``
    (churned > at_risk > active, prospect for users who never bought)."""
    clv = pl.col("predicted_clv_12m").fill_null(0.0)
    # Lifecycle follows visits, not purchases: see ``profiles.value`` for why.
    alive = pl.coalesce(pl.col("activity_alive"), pl.col("probability_alive"))
    overdue = pl.col("recency_days") > rules.at_risk_recency_factor * pl.col(
        "mean_interpurchase_days"
    )
    churned = (alive < rules.churned_alive).fill_null(False) | (
        pl.col("days_since_seen") > rules.churn_inactive_days
    )
    at_risk = (alive < rules.at_risk_alive).fill_null(False) | overdue.fill_null(False)
    return [
        pl.when(clv > rules.clv_high)
        .then(pl.lit("high_value"))
        .when(clv >= rules.clv_medium)
        .then(pl.lit("medium_value"))
        .otherwise(pl.lit("low_value"))
        .alias("value_segment"),
        pl.when(churned)
        .then(pl.lit("churned"))
        .when(at_risk)
        .then(pl.lit("at_risk"))
        .when(pl.col("orders") > 0)
        .then(pl.lit("active"))
        .otherwise(pl.lit("prospect"))
        .alias("lifecycle_segment"),
    ]


def definitions(rules: SegmentRules) -> dict[str, str]:
    """Each segment's rule in words, with the thresholds in force."""
    rfm = {
        name: "RFM (R, FM) cells " + ", ".join(f"{r}{fm}" for r, fm in cells)
        for name, cells in RFM_GRID.items()
    }
    return {
        "high_value": f"predicted 12-month CLV > {rules.clv_high:g}",
        "medium_value": f"predicted 12-month CLV in [{rules.clv_medium:g}, {rules.clv_high:g}]",
        "low_value": f"predicted 12-month CLV < {rules.clv_medium:g}",
        "at_risk": (
            f"not churned, with activity P(alive) < {rules.at_risk_alive:g}, or a buyer whose "
            f"days since the last order > {rules.at_risk_recency_factor:g} x own mean "
            "inter-purchase time"
        ),
        "churned": (
            f"activity P(alive) < {rules.churned_alive:g} or no event for "
            f"{rules.churn_inactive_days:g} days"
        ),
        **rfm,
    }


SEGMENT_COLUMN: dict[str, str] = {
    "high_value": "value_segment",
    "medium_value": "value_segment",
    "low_value": "value_segment",
    "at_risk": "lifecycle_segment",
    "churned": "lifecycle_segment",
    **dict.fromkeys(RFM_GRID, "rfm_segment"),
}


def summarise_segments(
    profiles: pl.DataFrame, rules: SegmentRules, *, uplift: float, offer_cost: float
) -> list[dict[str, Any]]:
    """Per segment: users, revenue share, mean predicted CLV, value at stake and the expected
    value of acting on it: sum(P(alive) x CLV) x uplift - offer cost x users."""
    total_revenue = float(profiles["revenue"].sum()) if profiles.height else 0.0
    texts = definitions(rules)
    out = []
    for name, column in SEGMENT_COLUMN.items():
        members = profiles.filter(pl.col(column) == name)
        clv = members["predicted_clv_12m"].fill_null(0.0)
        alive = members["probability_alive"].fill_null(0.0)
        revenue = float(members["revenue"].sum()) if members.height else 0.0
        at_stake = float((clv * alive).sum()) if members.height else 0.0
        out.append(
            {
                "segment": name,
                "kind": column.removesuffix("_segment"),
                "definition": texts[name],
                "users": members.height,
                "revenue": round(revenue, 2),
                "revenue_share": round(revenue / total_revenue, 4) if total_revenue else 0.0,
                "mean_clv": round(float(clv.to_numpy().mean()), 2) if members.height else 0.0,
                "strategy": STRATEGIES[name],
                "value_at_stake": round(at_stake, 2),
                "expected_value": round(at_stake * uplift - offer_cost * members.height, 2),
            }
        )
    return out

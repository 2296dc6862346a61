"""Lifecycle and value segments from hand-made rows, one per rule."""

from __future__ import annotations

import polars as pl

from shopsense.profiles.segments import SegmentRules, segment_expressions

RULES = SegmentRules(
    clv_high=1000,
    clv_medium=200,
    at_risk_alive=0.5,
    churned_alive=0.1,
    at_risk_recency_factor=3,
    churn_inactive_days=180,
)
COLUMNS = (
    "user_id",
    "orders",
    "predicted_clv_12m",
    "probability_alive",
    "activity_alive",
    "recency_days",
    "mean_interpurchase_days",
    "days_since_seen",
)
ROWS = [
    # user, orders, clv, purchase P(alive), activity P(alive), recency, inter-purchase, unseen
    ("gone", 3, 50.0, 0.99, 0.05, 40.0, 10.0, 40.0),  # activity < 0.1
    ("silent", 0, 0.0, None, 0.9, None, None, 200.0),  # no event for 200 > 180 days
    ("fading", 0, 0.0, None, 0.3, None, None, 20.0),  # a non-buyer can be at risk too
    ("overdue", 2, 300.0, 0.99, 0.9, 35.0, 10.0, 1.0),  # 35 > 3 x 10 days
    ("regular", 2, 1500.0, 0.2, 0.9, 25.0, 10.0, 1.0),  # purchase P(alive) is not used
    ("window", 0, 0.0, None, 0.8, None, None, 3.0),
    ("imported", 4, 800.0, 0.3, None, 5.0, 10.0, 5.0),  # no activity fit: purchase P(alive)
]


def test_lifecycle_follows_visits_and_value_follows_clv() -> None:
    frame = pl.DataFrame(ROWS, schema=list(COLUMNS), orient="row")
    out = frame.with_columns(*segment_expressions(RULES))
    lifecycle = dict(zip(out["user_id"], out["lifecycle_segment"], strict=True))
    assert lifecycle == {
        "gone": "churned",
        "silent": "churned",
        "fading": "at_risk",
        "overdue": "at_risk",
        "regular": "active",
        "window": "prospect",
        "imported": "at_risk",
    }
    value = dict(zip(out["user_id"], out["value_segment"], strict=True))
    assert value["regular"] == "high_value"
    assert value["overdue"] == "medium_value" and value["imported"] == "medium_value"
    assert value["gone"] == "low_value" and value["window"] == "low_value"

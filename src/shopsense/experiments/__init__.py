"""Experiments: A/B statistics, always-valid monitoring, SRM checks and stable assignment."""

from shopsense.experiments.stats import (
    DEFAULT_RELATIVE_TAU,
    HOLDOUT,
    Comparison,
    RatioEstimate,
    Sequential,
    Srm,
    assign,
    compare,
    fixed_horizon_valid,
    planned_sample_size,
    ratio_estimate,
    sequential,
    srm_check,
)

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

"""Customer intelligence: behaviour profiles, predicted value and segments."""

from shopsense.profiles.compute import compute_profiles
from shopsense.profiles.engine import ProfileEngine, RebuildSummary
from shopsense.profiles.segments import RFM_GRID, STRATEGIES, SegmentRules

__all__ = [
    "RFM_GRID",
    "STRATEGIES",
    "ProfileEngine",
    "RebuildSummary",
    "SegmentRules",
    "compute_profiles",
]

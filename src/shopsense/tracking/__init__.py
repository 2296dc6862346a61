"""Tracking: the event contract, its validation and the set-based event store."""

from shopsense.tracking.activity_types import ACTIVITY_TYPES, SEGMENT_NAMES, canonical_type
from shopsense.tracking.schema import Event, rule_errors
from shopsense.tracking.service import TrackResult, track_events
from shopsense.tracking.store import StoreResult, store_events

__all__ = [
    "ACTIVITY_TYPES",
    "SEGMENT_NAMES",
    "Event",
    "StoreResult",
    "TrackResult",
    "canonical_type",
    "rule_errors",
    "store_events",
    "track_events",
]

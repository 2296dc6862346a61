"""The one place that reads the wall clock, so tests can pass their own time."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Naive UTC now: the storage form of a time."""
    return datetime.now(UTC).replace(tzinfo=None)

"""Tracking as one call: validate a list of raw events, store the good ones, report the rest.
The HTTP API and ``shopsense import events`` both come through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from shopsense.db.session import Database
from shopsense.settings import Settings
from shopsense.tracking.normalize import validate_events
from shopsense.tracking.store import StoreResult, store_events


@dataclass
class TrackResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def track_events(
    db: Database,
    raw_events: list[Any],
    *,
    settings: Settings,
    received_at: datetime,
    batch_sent_at: datetime | None = None,
    index_offset: int = 0,
) -> TrackResult:
    """Validate each event, store the valid ones in one transaction; durable on return."""
    validated = validate_events(
        raw_events,
        received_at=received_at,
        max_future=timedelta(seconds=settings.max_future_skew_seconds),
        max_event_bytes=settings.max_event_bytes,
        batch_sent_at=batch_sent_at,
    )
    stored = store_events_with_retry(db, validated.rows)
    rejected = [{**r, "index": r["index"] + index_offset} for r in validated.rejected]
    return TrackResult(len(stored.accepted), len(stored.duplicates), rejected)


RETRYABLE = ("40P01", "40001")  # deadlock detected, serialization failure


def store_events_with_retry(
    db: Database, rows: list[dict[str, Any]], attempts: int = 3
) -> StoreResult:
    """Store in one write transaction, retrying a PostgreSQL deadlock or serialization
    failure (another batch touched the same users or orders at the same moment)."""
    for attempt in range(attempts):
        try:
            with db.write() as conn:
                return store_events(conn, rows)
        except (DBAPIError, psycopg.Error) as exc:
            # Raw COPY errors come from psycopg itself, the rest wrapped by SQLAlchemy.
            code = getattr(getattr(exc, "orig", exc), "sqlstate", None)
            if code not in RETRYABLE or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")

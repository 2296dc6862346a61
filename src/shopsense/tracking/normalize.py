"""From raw JSON objects to the rows ``store`` writes: validation with per-event errors,
clock-skew correction, user-agent parsing, and derived commerce fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson
from pydantic import ValidationError

from shopsense.tracking.schema import EARLIEST, Event, rule_errors
from shopsense.tracking.useragent import parse_user_agent
from shopsense.validation import error_list

CONTEXT_COLUMNS = (
    "device_type", "browser", "os", "user_agent", "country", "region", "city", "locale",
    "timezone", "page_url", "page_path", "referrer", "utm_source", "utm_medium",
    "utm_campaign", "utm_term", "utm_content", "time_spent", "scroll_depth",
)  # fmt: skip
EVENT_COLUMNS = (
    "event_id", "type", "user_id", "anonymous_id", "session_id", "product_id", "category",
    "brand", "price", "quantity", "order_id", "revenue", "discount", "coupon", "query",
    "rating", "review_text", "value", "recommendation_id", "bundle_id", "position",
    "experiment", "variant", "properties",
)  # fmt: skip
ROW_COLUMNS = (
    *EVENT_COLUMNS, *CONTEXT_COLUMNS, "items", "timestamp", "client_timestamp", "sent_at",
    "received_at", "timestamp_clamped", "is_bot",
)  # fmt: skip


_event_values = itemgetter(*EVENT_COLUMNS)
_context_values = itemgetter(*CONTEXT_COLUMNS)
_NO_CONTEXT = dict.fromkeys(CONTEXT_COLUMNS)


def naive_utc(value: datetime) -> datetime:
    """Storage form of a time: UTC without tzinfo (the same on SQLite and PostgreSQL)."""
    if value.tzinfo is UTC:  # what the schema gives: no conversion needed
        return value.replace(tzinfo=None)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass
class Validated:
    """The outcome of validating a batch: rows ready to store, and what was rejected."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


class SkewOutOfRange(ValueError):
    """The skew correction would move an event before the earliest time accepted."""


def corrected_time(
    timestamp: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    max_future: timedelta,
) -> tuple[datetime, bool]:
    """``received_at - (sent_at - timestamp)``; a time beyond ``received_at + max_future``
    is clamped to ``received_at`` and flagged. All arguments are aware UTC times.

    Raises ``SkewOutOfRange`` when the corrected time would fall before 1990, the same bound
    a timestamp is held to."""
    if timestamp is None:
        return received_at, False
    if sent_at is None:
        corrected = timestamp
    else:
        skew = sent_at - timestamp
        if skew > received_at - EARLIEST:
            raise SkewOutOfRange(
                "sent_at is so far after timestamp that the corrected time falls before 1990"
            )
        try:
            corrected = received_at - skew
        except OverflowError:  # beyond year 9999: far past any clamp limit
            return received_at, True
    if corrected > received_at + max_future:
        return received_at, True
    return corrected, False


def to_row(
    event: Event, received_at: datetime, max_future: timedelta, batch_sent_at: datetime | None
) -> dict[str, Any]:
    """The ``user_activity`` row of a valid event."""
    # Fields are read from the models' ``__dict__`` in one call each, not attribute by
    # attribute: a row is built for every event tracked.
    row: dict[str, Any] = dict(zip(EVENT_COLUMNS, _event_values(event.__dict__), strict=True))
    if row["event_id"] is None:
        row["event_id"] = uuid.uuid4().hex
    ctx = event.context
    if ctx is None:
        row.update(_NO_CONTEXT)
    else:
        row.update(zip(CONTEXT_COLUMNS, _context_values(ctx.__dict__), strict=True))
    is_bot = row["device_type"] == "bot"
    ua = row["user_agent"]
    if ua and (row["device_type"] is None or row["browser"] is None or row["os"] is None):
        parsed = parse_user_agent(ua)
        row["device_type"] = row["device_type"] or parsed.device_type
        row["browser"] = row["browser"] or parsed.browser
        row["os"] = row["os"] or parsed.os
        is_bot = is_bot or parsed.is_bot
    elif ua:
        is_bot = is_bot or parse_user_agent(ua).is_bot
    row["is_bot"] = is_bot
    if event.items:
        row["items"] = [
            {"product_id": i.product_id, "quantity": i.quantity, "price": i.price}
            for i in event.items
        ]
    elif event.type in ("purchase", "order_refunded") and event.product_id and event.price:
        row["items"] = [
            {"product_id": event.product_id, "quantity": event.quantity or 1, "price": event.price}
        ]
    else:
        row["items"] = None
    sent_at = event.sent_at or batch_sent_at
    timestamp, clamped = corrected_time(event.timestamp, sent_at, received_at, max_future)
    row["timestamp"] = naive_utc(timestamp)
    row["client_timestamp"] = naive_utc(event.timestamp) if event.timestamp else None
    row["sent_at"] = naive_utc(sent_at) if sent_at else None
    row["received_at"] = naive_utc(received_at)
    row["timestamp_clamped"] = clamped
    return row


validate_event = Event.__pydantic_validator__.validate_python
"""``Event.model_validate`` without its wrapper."""


def validate_events(
    raw_events: list[Any],
    *,
    received_at: datetime,
    max_future: timedelta,
    max_event_bytes: int,
    batch_sent_at: datetime | None = None,
) -> Validated:
    """Validate each raw event on its own, so one bad event never sinks the batch."""
    out = Validated()
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            out.rejected.append(
                {
                    "index": index,
                    "errors": [
                        {"loc": [], "msg": "an event must be a JSON object", "type": "type"}
                    ],
                }
            )
            continue
        try:
            size = len(orjson.dumps(raw))
        except TypeError as exc:  # e.g. an integer beyond 64 bits
            err = {"loc": [], "msg": f"not storable JSON: {exc}", "type": "json"}
            out.rejected.append({"index": index, "errors": [err]})
            continue
        if size > max_event_bytes:
            msg = f"event is {size} bytes; the limit is {max_event_bytes}"
            out.rejected.append(
                {"index": index, "errors": [{"loc": [], "msg": msg, "type": "too_large"}]}
            )
            continue
        try:
            event = validate_event(raw)
        except ValidationError as exc:
            out.rejected.append({"index": index, "errors": error_list(exc)})
            continue
        errors = rule_errors(event)
        if errors:
            out.rejected.append({"index": index, "errors": errors})
            continue
        try:
            row = to_row(event, received_at, max_future, batch_sent_at)
        except SkewOutOfRange as exc:
            err = {"loc": ["sent_at"], "msg": str(exc), "type": "value_error"}
            out.rejected.append({"index": index, "errors": [err]})
            continue
        out.rows.append(row)
        out.indices.append(index)
    return out

"""Query parameters shared by the analytics endpoints: ``as_of``, ``limit``, ``cursor``."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Query

from shopsense.errors import ValidationFailed


def parse_as_of(value: str | None) -> datetime | None:
    """``as_of`` as naive UTC: a datetime as given (UTC if no offset), a plain date as the
    end of that day, so ``as_of=2026-11-01`` includes all of the 1st."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "as_of must be an ISO 8601 date or datetime",
            errors=[{"loc": ["query", "as_of"], "msg": "not an ISO 8601 date or datetime"}],
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def encode_cursor(key: str | None) -> str | None:
    return base64.urlsafe_b64encode(key.encode()).decode() if key is not None else None


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            "cursor is not one this service issued",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from None


AsOf = Annotated[
    str | None,
    Query(description="Answer as of this moment (ISO 8601; a date means the end of that day)."),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Cursor = Annotated[str | None, Query(description="Opaque cursor from the previous page.")]

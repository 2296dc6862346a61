"""Query parameters shared by the analytics endpoints (``as_of``, ``limit``, ``cursor``) and
the encoding of their answers."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Query
from fastapi.encoders import jsonable_encoder

from shopsense.errors import ValidationFailed
from shopsense.timefmt import iso_utc


def parse_as_of(value: str | None, name: str = "as_of") -> datetime | None:
    """``as_of`` (or the query parameter ``name``) as naive UTC: a datetime as given (UTC if
    no offset), a plain date as the end of that day, so ``as_of=2026-11-01`` includes all of
    the 1st — and for ``from``, the start of it, so ``from=2026-11-01`` does too."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.min if name == "from" else time.max)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{name} must be an ISO 8601 date or datetime",
            errors=[{"loc": ["query", name], "msg": "not an ISO 8601 date or datetime"}],
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def answer(data: dict[str, Any]) -> dict[str, Any]:
    """An engine's answer as JSON-ready data, times as ISO 8601 UTC."""
    encoded: dict[str, Any] = jsonable_encoder(data, custom_encoder={datetime: iso_utc})
    return encoded


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

"""The period a dashboard answers for, and the one before it that it is compared with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shopsense.errors import ValidationFailed

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """[start, end) and the previous period of the same length, ending where this starts."""

    start: datetime
    end: datetime

    @classmethod
    def resolve(
        cls, start: datetime | None, end: datetime | None, now: datetime, days: int = DEFAULT_DAYS
    ) -> Period:
        """``to`` defaults to now, ``from`` to ``days`` before ``to``; from must precede to."""
        end = end or now
        start = start or end - timedelta(days=days)
        if start >= end:
            raise ValidationFailed(
                "from must be earlier than to",
                errors=[{"loc": ["query", "from"], "msg": "must be earlier than to"}],
            )
        return cls(start, end)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous(self) -> Period:
        return Period(self.start - self.length, self.start)

    def describe(self) -> dict[str, Any]:
        """The period and its comparison period, as every dashboard answer states them."""
        prev = self.previous
        return {
            "period": {"from": self.start, "to": self.end},
            "previous": {"from": prev.start, "to": prev.end},
        }


def compare(value: float | None, previous: float | None) -> dict[str, float | None]:
    """A KPI beside its previous-period value: ``change`` is the relative change
    (value − previous) / previous, None when the previous value is 0 or unknown."""
    change = None
    if value is not None and previous is not None and previous != 0:
        change = (value - previous) / abs(previous)
    return {"value": value, "previous": previous, "change": change}

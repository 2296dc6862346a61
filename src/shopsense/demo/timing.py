"""When things happen: seasonal demand curves, and the shop's local days and hours turned
into the naive UTC times the event store keeps."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shopsense.demo.catalog import Catalog

# Season peak (month, day) and width in days; demand off season falls to FLOOR of the peak.
SEASON_PEAKS: dict[str, tuple[tuple[int, int], float]] = {
    "christmas": ((12, 15), 28.0),
    "summer": ((7, 15), 40.0),
}
FLOOR = 0.04


def season_factor(season: str, day: date) -> float:
    """Demand of a ``season`` item on ``day`` relative to its peak (FLOOR..1)."""
    (month, dom), width = SEASON_PEAKS[season]
    peak = date(day.year, month, dom).timetuple().tm_yday
    distance = abs(day.timetuple().tm_yday - peak)
    distance = min(distance, 365 - distance)
    return FLOOR + (1 - FLOOR) * math.exp(-0.5 * (distance / width) ** 2)


def seasonal_acceptance(catalog: Catalog, start: date, days: int) -> dict[int, list[float]]:
    """Per seasonal product, its season factor for each day of the history."""
    curves = {
        season: [season_factor(season, start + timedelta(days=d)) for d in range(days)]
        for season in SEASON_PEAKS
    }
    return {j: curves[s] for j, s in enumerate(catalog.season) if s is not None}


class Clock:
    """Local shop days (index 0 = first day of history) to naive UTC datetimes."""

    def __init__(self, start: date, days: int, tz: ZoneInfo) -> None:
        self.start = start
        self.days = days
        self.tz = tz
        self._utc = tz.key == "UTC"
        self.end = self.utc(days, 0, 0)  # exclusive: midnight after the last day
        self.weekdays = [(start + timedelta(days=d)).weekday() for d in range(days)]

    def utc(self, day: int, hour: int, second: int) -> datetime:
        """Naive UTC time of ``second`` seconds after ``hour``:00 local on ``day``."""
        local = datetime.combine(self.start + timedelta(days=day), time(hour)) + timedelta(
            seconds=second
        )
        if self._utc:
            return local
        return local.replace(tzinfo=self.tz).astimezone(UTC).replace(tzinfo=None)

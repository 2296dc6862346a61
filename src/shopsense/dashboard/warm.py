"""Fill the dashboard cache for the web dashboard's default range when a server starts, so
the first visit to each page is answered from memory instead of waiting for the rollups and
the engines' full passes (seconds on a store of a million events)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta

from shopsense.dashboard.overview import overview
from shopsense.dashboard.period import DEFAULT_DAYS, Period
from shopsense.dashboard.profit import profit_analytics
from shopsense.dashboard.recommendations import recommendation_analytics
from shopsense.dashboard.users import user_analytics
from shopsense.db.session import Database
from shopsense.settings import Settings

log = logging.getLogger(__name__)
PAGES = (overview, user_analytics, recommendation_analytics, profit_analytics)


def default_period(now: datetime) -> Period:
    """The web dashboard's default range: the last DEFAULT_DAYS days, today included."""
    today = datetime.combine(now.date(), time.min)
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today + timedelta(days=1))


def warm(db: Database, settings: Settings, now: datetime) -> None:
    """Compute every page for the default range into the cache; a page that fails is
    logged and left to its first request."""
    for page in PAGES:
        try:
            page(db, default_period(now), now, settings)
        except Exception:
            log.exception("dashboard warm-up of %s failed", page.__name__)


def warm_in_background(db: Database, settings: Settings, now: datetime) -> threading.Thread:
    thread = threading.Thread(
        target=warm, args=(db, settings, now), daemon=True, name="dashboard-warm"
    )
    thread.start()
    return thread

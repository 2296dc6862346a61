"""The warm-up fills the cache for the web dashboard's default range: the pages' first
requests for that range are then answered without computing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopsense.api.routes.ui import resolve_range
from shopsense.dashboard import cache as cache_module
from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.period import Period
from shopsense.dashboard.warm import PAGES, default_period, warm
from shopsense.db.session import Database
from shopsense.settings import Settings

NOW = datetime(2026, 11, 26, 9, 30)


def test_the_default_period_is_the_web_dashboards(db: Database) -> None:
    assert default_period(NOW) == resolve_range(None, None, NOW).period
    assert default_period(NOW) == Period(datetime(2026, 10, 28), datetime(2026, 11, 27))


def test_warm_fills_the_cache_for_every_page(
    db: Database, settings: Settings, monkeypatch: Any
) -> None:
    cached = settings.model_copy(update={"dashboard_cache_seconds": 300.0})
    CACHE.clear()
    warm(db, cached, NOW)
    computed: list[str] = []
    real_get = cache_module.DashboardCache.get

    def counting_get(self: Any, page: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        before = {k: e.computed for k, e in self.entries.items()}
        answer = real_get(self, page, *args, **kwargs)
        if {k: e.computed for k, e in self.entries.items()} != before:
            computed.append(page)
        return answer

    monkeypatch.setattr(cache_module.DashboardCache, "get", counting_get)
    for page in PAGES:
        answer = page(db, default_period(NOW), NOW, cached)
        assert answer["stale"] is False
    assert computed == []
    CACHE.clear()

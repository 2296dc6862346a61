"""``GET /dashboard/*``: the dashboard's figures as JSON, each for a period beside the one
before it (docs/metrics.md defines every figure)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.api.params import answer, parse_as_of
from shopsense.api.routes.performance import From, To
from shopsense.clock import utcnow
from shopsense.dashboard.overview import overview
from shopsense.dashboard.period import Period
from shopsense.dashboard.profit import profit_analytics
from shopsense.dashboard.recommendations import recommendation_analytics
from shopsense.dashboard.users import user_analytics
from shopsense.db.session import Database
from shopsense.settings import Settings

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

Page = Callable[[Database, Period, datetime, Settings], dict[str, Any]]


async def _serve(
    page: Page, db: Database, settings: Settings, from_: str | None, to: str | None
) -> dict[str, Any]:
    now = utcnow()
    period = Period.resolve(parse_as_of(from_, "from"), parse_as_of(to, "to"), now)
    return answer(await run_in_threadpool(page, db, period, now, settings))


@router.get("/overview")
async def overview_route(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Revenue, orders, AOV, conversion, users, sessions, activities, funnel, top products
    and categories, revenue from recommendations and bundles, and a live block."""
    return await _serve(overview, db, settings, from_, to)


@router.get("/user-analytics")
async def user_analytics_route(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Segments and their movement, cohort retention, churn, CLV distribution, devices,
    browsers, countries, the hour × weekday heatmap and engagement levels."""
    return await _serve(user_analytics, db, settings, from_, to)


@router.get("/recommendation-analytics")
async def recommendation_analytics_route(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """CTR, conversion and revenue by strategy, context and position; running experiments
    with their read-out; bundle performance by type."""
    return await _serve(recommendation_analytics, db, settings, from_, to)


@router.get("/profit-analytics")
async def profit_analytics_route(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Revenue per user, margins, CAC and ROI by channel, inventory turnover and the top
    opportunities."""
    return await _serve(profit_analytics, db, settings, from_, to)

"""``GET /analytics/recommendation-performance`` and ``GET /analytics/bundle-performance``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.api.params import answer, parse_as_of
from shopsense.clock import utcnow
from shopsense.experiments.attribution import Windows
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import parse_group_by, recommendation_performance

router = APIRouter(tags=["measurement"])

From = Annotated[
    str | None,
    Query(alias="from", description="Start (ISO 8601; default 30 days before `to`)."),
]
To = Annotated[str | None, Query(alias="to", description="End, exclusive (ISO 8601; default now).")]
GroupBy = Annotated[
    str | None,
    Query(description="Comma-separated: strategy, context, position, experiment, variant."),
]


@router.get("/analytics/recommendation-performance")
async def recommendation_performance_route(
    _: SecretKey,
    db: DbDep,
    settings: SettingsDep,
    from_: From = None,
    to: To = None,
    group_by: GroupBy = None,
) -> dict[str, Any]:
    """Impressions, clicks, CTR, add-to-carts, conversions, conversion rate, attributed
    revenue and margin, and revenue per impression of the recommendations shown in
    [from, to), in total and per group. Attribution (docs/metrics.md): a conversion is an
    add-to-cart or purchase of a recommended product by the same person within 7 days of a
    click on it, else 1 day of a view (SHOPSENSE_ATTRIBUTION_CLICK_DAYS, _VIEW_DAYS); the
    latest touch gets the credit, once."""
    dims = parse_group_by(group_by)
    report = await run_in_threadpool(
        recommendation_performance, db, parse_as_of(from_, "from"), parse_as_of(to, "to"), dims,
        now=utcnow(), windows=Windows.from_settings(settings),
    )  # fmt: skip
    return answer(report)


@router.get("/analytics/bundle-performance")
async def bundle_performance_route(
    _: SecretKey, db: DbDep, settings: SettingsDep, from_: From = None, to: To = None
) -> dict[str, Any]:
    """Per bundle type and per bundle, for bundles offered or shown in [from, to): offers,
    views, clicks, add-to-carts, purchases (every product bought by the same person within
    7 days of their first touch), conversion rate, average bundle value, discount given,
    margin earned, and discount effectiveness: the take rate against the base rate the
    pricing expected for the same items bought separately (uplift), and margin per offer
    against the separate purchases' (docs/metrics.md)."""
    report = await run_in_threadpool(
        bundle_performance, db, parse_as_of(from_, "from"), parse_as_of(to, "to"), now=utcnow(),
        windows=Windows.from_settings(settings),
    )  # fmt: skip
    return answer(report)

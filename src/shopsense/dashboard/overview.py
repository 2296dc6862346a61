"""The overview page (``GET /dashboard/overview``): the shop's headline figures for a period
beside the previous one. Definitions: docs/metrics.md, "Dashboard".

Orders and revenue are read from ``orders`` (a few thousand indexed rows a month, and a
refund or cancellation changes them after the fact); everything counted from events reads
the dashboard rollups (``shopsense.dashboard.rollup``) - stored closed days plus the open
hours computed live. Revenue from recommendations and bundles is the attribution of
``shopsense.experiments.performance`` and ``shopsense.experiments.bundle_performance``.

The page is served from the dashboard cache (``shopsense.dashboard.cache``: fresh while the
data is unchanged, recomputed in the background when it changes), except revenue, orders,
AOV and the live block, which are read on every request.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, Integer, and_, func, select

from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.period import Period, compare
from shopsense.dashboard.rollup import (
    Rollup,
    as_date,
    day_of,
    minute_of,
    refresh,
    seconds_between,
)
from shopsense.db.models import activity_table as A
from shopsense.db.models import dashboard_activity_day_table as ACTIVITY_DAY
from shopsense.db.models import dashboard_session_day_table as SESSION_DAY
from shopsense.db.models import dashboard_user_day_table as USER_DAY
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.db.models import products_table as P
from shopsense.db.models import users_table as U
from shopsense.db.session import Database
from shopsense.experiments.attribution import Windows
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.experiments.performance import recommendation_performance
from shopsense.settings import Settings

PAGE = "overview"
VERSION = ("events", "answers", "offers", "catalog")  # what the cached figures read
FRESH = ("revenue", "orders", "aov")  # read on every request
TOP = 10
LIVE_MINUTES = 60
ACTIVE_MINUTES = 5
FUNNEL = (
    ("product_view", "viewed"),
    ("add_to_cart", "carted"),
    ("checkout", "checked_out"),
    ("purchase", "purchased"),
)


def overview(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The overview's figures for ``period`` and its previous period: the page from the
    dashboard cache (``computed_at``), with revenue, orders, AOV and the live block read
    fresh on every request, so a purchase shows at once."""
    page = CACHE.page(PAGE, VERSION, compute, db, period, now, settings)
    with db.read() as conn:
        sales = {p: order_figures(conn, p) for p in (period, period.previous)}
        live_block = live(conn, now)
    fresh = {k: compare(sales[period][k], sales[period.previous][k]) for k in FRESH}
    return {**page, **period.describe(), **fresh, "live": live_block}


def compute(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The overview's figures for ``period`` and its previous period, computed now."""
    rollup = refresh(db, now, settings.timezone)
    windows = Windows.from_settings(settings)
    current, previous = period, period.previous
    with db.read() as conn:
        sales = {p: order_figures(conn, p) for p in (current, previous)}
        users = {p: user_figures(conn, rollup, p) for p in (current, previous)}
        sessions = {p: session_figures(conn, rollup, p) for p in (current, previous)}
        activities = {p: activity_counts(conn, rollup, p) for p in (current, previous)}
        top_products, top_categories = top_sellers(conn, current)
        series = daily_series(conn, rollup, current)
        live_block = live(conn, now)
    attributed = {p: attributed_revenue(db, p, now, windows) for p in (current, previous)}

    def kpi(source: dict[Period, dict[str, Any]], key: str) -> dict[str, float | None]:
        return compare(source[current][key], source[previous][key])

    orders_now, orders_before = sales[current]["orders"], sales[previous]["orders"]
    sessions_now, sessions_before = sessions[current]["sessions"], sessions[previous]["sessions"]
    types = sorted(set(activities[current]) | set(activities[previous]))
    return {
        **period.describe(),
        "revenue": kpi(sales, "revenue"),
        "orders": kpi(sales, "orders"),
        "aov": kpi(sales, "aov"),
        "conversion_rate": compare(
            _ratio(orders_now, sessions_now), _ratio(orders_before, sessions_before)
        ),
        "users": {
            "total": kpi(users, "total"),
            "active": kpi(users, "active"),
            "new": kpi(users, "new"),
            "returning_rate": kpi(users, "returning_rate"),
        },
        "sessions": kpi(sessions, "sessions"),
        "mean_session_seconds": kpi(sessions, "mean_session_seconds"),
        "activities": [
            {
                "type": t,
                "count": activities[current].get(t, 0),
                "previous": activities[previous].get(t, 0),
            }
            for t in types
        ],
        "funnel": sessions[current]["funnel"],
        "top_products": top_products,
        "top_categories": top_categories,
        "recommendation_revenue": kpi(attributed, "recommendations"),
        "bundle_revenue": kpi(attributed, "bundles"),
        "daily": series,
        "live": live_block,
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 6)


def sold_in(period: Period) -> Any:
    """The non-cancelled orders placed in the period."""
    return and_(
        O.c.status != "cancelled", O.c.placed_at >= period.start, O.c.placed_at < period.end
    )


def order_figures(conn: Connection, period: Period) -> dict[str, Any]:
    """Orders, net revenue and AOV of the non-cancelled orders placed in the period."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(O.c.revenue - O.c.refunded_amount), 0.0))
        .where(sold_in(period))
    ).one()  # fmt: skip
    orders, revenue = int(row[0]), round(float(row[1]), 2)
    return {"orders": orders, "revenue": revenue, "aov": _ratio(revenue, orders)}


def user_figures(conn: Connection, rollup: Rollup, period: Period) -> dict[str, Any]:
    """Known users, users active and new in the period, and the share of active users who
    were first seen before it."""
    days = rollup.rows(USER_DAY, period.start, period.end)
    active_ids = select(days.c.user_id).distinct().subquery()
    active, returning = conn.execute(
        select(
            func.count(),
            func.count(U.c.user_id),
        )
        .select_from(active_ids.outerjoin(
            U, and_(U.c.user_id == active_ids.c.user_id, U.c.first_seen < period.start)
        ))
    ).one()  # fmt: skip
    total, new = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum((U.c.first_seen >= period.start).cast(Integer)), 0),
        ).where(U.c.first_seen < period.end)
    ).one()
    return {
        "total": int(total),
        "active": int(active),
        "new": int(new),
        "returning_rate": _ratio(int(returning), int(active)),
    }


def session_figures(conn: Connection, rollup: Rollup, period: Period) -> dict[str, Any]:
    """Sessions with an event in the period, their mean duration (first to last event in
    the period) and the funnel: sessions reaching each step and every step before it."""
    days = rollup.rows(SESSION_DAY, period.start, period.end)
    dialect = conn.dialect.name
    per_session = (
        select(
            days.c.session,
            seconds_between(func.max(days.c.last_at), func.min(days.c.first_at), dialect).label(
                "seconds"
            ),
            func.max(days.c.viewed).label("viewed"),
            func.max(days.c.carted).label("carted"),
            func.max(days.c.checked_out).label("checked_out"),
            func.max(days.c.purchased).label("purchased"),
        )
        .group_by(days.c.session)
        .subquery()
    )
    s = per_session.c
    row = conn.execute(
        select(
            func.count(),
            func.avg(s.seconds),
            func.coalesce(func.sum(s.viewed), 0),
            func.coalesce(func.sum(s.viewed * s.carted), 0),
            func.coalesce(func.sum(s.viewed * s.carted * s.checked_out), 0),
            func.coalesce(func.sum(s.viewed * s.carted * s.checked_out * s.purchased), 0),
        )
    ).one()
    sessions = int(row[0])
    counts = [int(v) for v in row[2:]]
    funnel = []
    for i, ((step, _), count) in enumerate(zip(FUNNEL, counts, strict=True)):
        before = sessions if i == 0 else counts[i - 1]
        funnel.append({"step": step, "sessions": count, "rate": _ratio(count, before)})
    mean = None if row[1] is None else round(float(row[1]), 1)
    return {"sessions": sessions, "mean_session_seconds": mean, "funnel": funnel}


def activity_counts(conn: Connection, rollup: Rollup, period: Period) -> dict[str, int]:
    """Events per activity type in the period."""
    days = rollup.rows(ACTIVITY_DAY, period.start, period.end)
    rows = conn.execute(select(days.c.type, func.sum(days.c.events)).group_by(days.c.type)).all()
    return {str(t): int(n) for t, n in rows}


def top_sellers(
    conn: Connection, period: Period
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Products and categories by line revenue (price x quantity) of the period's
    non-cancelled orders, with units."""
    lines = (
        select(
            OI.c.product_id,
            func.sum(OI.c.quantity).label("units"),
            func.sum(OI.c.price * OI.c.quantity).label("revenue"),
        )
        .select_from(OI.join(O, O.c.order_id == OI.c.order_id))
        .where(sold_in(period))
        .group_by(OI.c.product_id)
        .subquery()
    )
    rows = conn.execute(
        select(lines.c.product_id, P.c.name, P.c.category, lines.c.units, lines.c.revenue)
        .select_from(lines.outerjoin(P, P.c.product_id == lines.c.product_id))
    ).all()  # fmt: skip
    frame = pl.DataFrame(
        [(r[0], r[1], r[2], int(r[3]), float(r[4])) for r in rows],
        schema={"product_id": pl.String, "name": pl.String, "category": pl.String,
                "units": pl.Int64, "revenue": pl.Float64},
        orient="row",
    )  # fmt: skip
    products = (
        frame.sort(["revenue", "product_id"], descending=[True, False])
        .head(TOP)
        .with_columns(pl.col("revenue").round(2))
    )
    by_category = (
        frame.group_by(pl.col("category").fill_null("(none)"))
        .agg(pl.col("units").sum(), pl.col("revenue").sum().round(2))
        .sort(["revenue", "category"], descending=[True, False])
        .head(TOP)
    )
    return products.to_dicts(), by_category.to_dicts()


def daily_series(conn: Connection, rollup: Rollup, period: Period) -> list[dict[str, Any]]:
    """Per UTC day of the period: net revenue, orders and sessions with an event that day."""
    dialect = conn.dialect.name
    day = day_of(O.c.placed_at, dialect).label("day")
    sold = conn.execute(
        select(day, func.count(), func.sum(O.c.revenue - O.c.refunded_amount))
        .where(sold_in(period))
        .group_by(day)
    ).all()  # fmt: skip
    days = rollup.rows(SESSION_DAY, period.start, period.end)
    visits = conn.execute(select(days.c.day, func.count()).group_by(days.c.day)).all()
    series: dict[date, dict[str, Any]] = {}
    first = period.start.date()
    last = (period.end - timedelta(microseconds=1)).date()
    d = first
    while d <= last:
        series[d] = {"day": d, "revenue": 0.0, "orders": 0, "sessions": 0}
        d += timedelta(days=1)
    for d, orders, revenue in sold:
        entry = series[as_date(d)]
        entry["orders"], entry["revenue"] = int(orders), round(float(revenue), 2)
    for d, count in visits:
        series[as_date(d)]["sessions"] = int(count)
    return list(series.values())


def live(conn: Connection, now: datetime) -> dict[str, Any]:
    """Events per minute over the 60 minutes up to now (the current minute last, zeros
    included) and the persons (user, else browser) with an event in the last 5 minutes."""
    this_minute = now.replace(second=0, microsecond=0)
    first = this_minute - timedelta(minutes=LIVE_MINUTES - 1)
    dialect = conn.dialect.name
    minute = minute_of(A.c.timestamp, dialect).label("minute")
    counted = conn.execute(
        select(minute, func.count())
        .where(and_(A.c.timestamp >= first, A.c.timestamp <= now, A.c.is_bot.is_(False)))
        .group_by(minute)
    ).all()  # fmt: skip
    by_minute = {str(m): int(n) for m, n in counted}
    minutes = [first + timedelta(minutes=i) for i in range(LIVE_MINUTES)]
    active = conn.execute(
        select(func.count(func.distinct(func.coalesce(A.c.user_id, A.c.anonymous_id)))).where(
            and_(
                A.c.timestamp > now - timedelta(minutes=ACTIVE_MINUTES),
                A.c.timestamp <= now,
                A.c.is_bot.is_(False),
            )
        )
    ).scalar_one()
    return {
        "as_of": now,
        "events_per_minute": [
            {"minute": m, "events": by_minute.get(m.strftime("%Y-%m-%d %H:%M"), 0)} for m in minutes
        ],
        "active_users": int(active),
    }


def attributed_revenue(
    db: Database, period: Period, now: datetime, windows: Windows
) -> dict[str, float]:
    """Revenue credited to the recommendations and to the bundles shown in the period."""
    recs = recommendation_performance(db, period.start, period.end, [], now=now, windows=windows)
    bundles = bundle_performance(db, period.start, period.end, now=now, windows=windows)
    return {
        "recommendations": round(float(recs["totals"]["revenue"]), 2),
        "bundles": round(float(bundles["totals"]["revenue"]), 2),
    }


__all__ = [
    "activity_counts",
    "attributed_revenue",
    "daily_series",
    "live",
    "order_figures",
    "overview",
    "session_figures",
    "top_sellers",
    "user_figures",
]

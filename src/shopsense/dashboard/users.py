"""The user analytics page (``GET /dashboard/user-analytics``). Definitions: docs/metrics.md,
"Dashboard".

Counts from events read the dashboard rollups (``shopsense.dashboard.rollup``). Segments,
their movement and the CLV distribution come from the profile engine
(``ProfileEngine.compute``) at the UTC midnight at or before each period bound; a full
computation takes seconds on a large store, so each snapshot is cached in the process per
database, midnight and population fit (the first answer of a day pays for it). The whole
page is served from the dashboard cache (``shopsense.dashboard.cache``).
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from shopsense.dashboard.cache import CACHE
from shopsense.dashboard.overview import sold_in
from shopsense.dashboard.period import Period, compare
from shopsense.dashboard.rollup import Rollup, as_date, refresh
from shopsense.db.models import activity_table as A
from shopsense.db.models import dashboard_heatmap_day_table as HEATMAP_DAY
from shopsense.db.models import dashboard_user_context_day_table as CONTEXT_DAY
from shopsense.db.models import dashboard_user_day_table as USER_DAY
from shopsense.db.models import orders_table as O
from shopsense.db.session import Database
from shopsense.profiles.engine import ProfileEngine
from shopsense.settings import Settings

PAGE = "user-analytics"
VERSION = ("events", "profiles")  # what the cached figures read
VALUE_SEGMENTS = ("high_value", "medium_value", "low_value")
LIFECYCLE_SEGMENTS = ("active", "at_risk", "churned", "prospect")
CLV_BINS = (0.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
ENGAGEMENT_BANDS = (
    ("one_day", 1, 1),
    ("occasional", 2, 3),
    ("regular", 4, 9),
    ("frequent", 10, None),
)
COHORT_MONTHS = 12
TOP_CUSTOMERS = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BEGINNING = datetime(1970, 1, 1)

_SNAPSHOTS: dict[tuple[Any, ...], pl.DataFrame] = {}
_LOCK = threading.Lock()


def user_analytics(
    db: Database, period: Period, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The page's answer for ``period``, from the dashboard cache (``computed_at``)."""
    return CACHE.page(PAGE, VERSION, compute, db, period, now, settings)


def compute(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The user analytics figures for ``period`` (and the previous period where a rate is
    compared), computed now."""
    rollup = refresh(db, now, settings.timezone)
    start_at, end_at = snapshot_time(period.start), snapshot_time(period.end)
    before = segment_snapshot(db, settings, start_at)
    after = segment_snapshot(db, settings, end_at)
    with db.read() as conn:
        now_rates = churn_rates(conn, rollup, period)
        before_rates = churn_rates(conn, rollup, period.previous)
        contexts = context_shares(conn, rollup, period)
        return {
            **period.describe(),
            "segments": {
                "as_of": end_at,
                "value": _sizes(after, "value_segment", VALUE_SEGMENTS),
                "lifecycle": _sizes(after, "lifecycle_segment", LIFECYCLE_SEGMENTS),
            },
            "movement": {
                "from_as_of": start_at,
                "to_as_of": end_at,
                "value": movement(before, after, "value_segment", VALUE_SEGMENTS),
                "lifecycle": movement(before, after, "lifecycle_segment", LIFECYCLE_SEGMENTS),
            },
            "cohorts": cohorts(conn, rollup, period),
            "churn_rate": compare(now_rates["churn_rate"], before_rates["churn_rate"]),
            "retention_rate": compare(now_rates["retention_rate"], before_rates["retention_rate"]),
            "clv_distribution": clv_distribution(after),
            "devices": contexts["device"],
            "browsers": contexts["browser"],
            "countries": contexts["country"],
            "heatmap": heatmap(conn, rollup, period),
            "top_customers": top_customers(conn, period),
            "engagement": engagement(conn, rollup, period),
        }


# -- segments (profile engine) --------------------------------------------------------------


def snapshot_time(bound: datetime) -> datetime:
    """The UTC midnight at or before a period bound: segments are taken as of it."""
    return datetime.combine(bound.date(), time.min)


def segment_snapshot(db: Database, settings: Settings, as_of: datetime) -> pl.DataFrame:
    """user_id, value and lifecycle segment, predicted 12-month CLV and orders of every
    user as of ``as_of`` (the stored population fit when it is not later, else one fitted
    at ``as_of``); cached per database, time, fit and the events before ``as_of`` (their
    count and newest id: a late event or an erasure makes a new snapshot)."""
    engine = ProfileEngine(db, settings)
    with db.read() as conn:
        state = engine.state_for(conn, as_of)
        events = tuple(
            conn.execute(select(func.count(), func.max(A.c.id)).where(A.c.timestamp < as_of)).one()
        )
        key = (db.url, as_of, settings.timezone, state.as_of if state else None, events)
        with _LOCK:
            cached = _SNAPSHOTS.get(key)
        if cached is not None:
            return cached
        profiles, _ = engine.compute(conn, as_of, state=state)
    columns = ["user_id", "value_segment", "lifecycle_segment", "predicted_clv_12m", "orders"]
    frame = (
        profiles.select(columns)
        if profiles.height
        else pl.DataFrame(
            schema={
                "user_id": pl.String, "value_segment": pl.String,
                "lifecycle_segment": pl.String, "predicted_clv_12m": pl.Float64,
                "orders": pl.Int64,
            }
        )
    )  # fmt: skip
    with _LOCK:
        if len(_SNAPSHOTS) > 32:
            _SNAPSHOTS.clear()
        _SNAPSHOTS[key] = frame
    return frame


def _sizes(snapshot: pl.DataFrame, column: str, names: tuple[str, ...]) -> dict[str, int]:
    counts = dict(snapshot.group_by(column).len().iter_rows())
    return {name: int(counts.get(name, 0)) for name in names}


def movement(
    before: pl.DataFrame, after: pl.DataFrame, column: str, names: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """from -> to -> users: segment at the period start (``new``: not seen yet) against the
    segment at its end, over the users known at the end."""
    joined = after.select("user_id", pl.col(column).alias("to")).join(
        before.select("user_id", pl.col(column).alias("from")), on="user_id", how="left"
    )
    counts = {
        (f, t): n
        for f, t, n in joined.with_columns(pl.col("from").fill_null("new"))
        .group_by("from", "to")
        .len()
        .iter_rows()
    }
    return {f: {t: int(counts.get((f, t), 0)) for t in names} for f in ("new", *names)}


def clv_distribution(snapshot: pl.DataFrame) -> dict[str, Any]:
    """Buyers by predicted 12-month CLV in the fixed bins [0, 50), [50, 100), ... 5000+."""
    buyers = snapshot.filter(pl.col("orders") > 0)["predicted_clv_12m"]
    values = buyers.drop_nulls().to_numpy()
    edges = [*CLV_BINS, float("inf")]
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        count = int(((values >= lo) & (values < hi)).sum())
        bins.append({"from": lo, "to": None if hi == float("inf") else hi, "users": count})
    return {"buyers": buyers.len(), "unscored": buyers.null_count(), "bins": bins}


# -- from the rollups -----------------------------------------------------------------------


def _active_users(rollup: Rollup, period: Period) -> Any:
    days = rollup.rows(USER_DAY, period.start, period.end)
    return select(days.c.user_id).distinct().subquery()


def churn_rates(conn: Connection, rollup: Rollup, period: Period) -> dict[str, float | None]:
    """Of the users active in the previous period, the share not active in this one
    (churn) and the share active again (retention = 1 - churn)."""
    before = _active_users(rollup, period.previous)
    now = _active_users(rollup, period)
    total, kept = conn.execute(
        select(func.count(), func.count(now.c.user_id)).select_from(
            before.outerjoin(now, now.c.user_id == before.c.user_id)
        )
    ).one()
    if not total:
        return {"churn_rate": None, "retention_rate": None}
    retention = round(int(kept) / int(total), 6)
    return {"churn_rate": round(1 - retention, 6), "retention_rate": retention}


def cohorts(conn: Connection, rollup: Rollup, period: Period) -> list[dict[str, Any]]:
    """Monthly cohorts by the UTC month of the user's first event, for the 12 months up to
    the period's end: size and the share of the cohort active in each later month."""
    days = rollup.rows(USER_DAY, BEGINNING, period.end)
    months = select(days.c.user_id, days.c.month).distinct().subquery()
    first = (
        select(months.c.user_id, func.min(months.c.month).label("cohort"))
        .group_by(months.c.user_id)
        .subquery()
    )
    rows = conn.execute(
        select(first.c.cohort, months.c.month, func.count())
        .select_from(months.join(first, first.c.user_id == months.c.user_id))
        .group_by(first.c.cohort, months.c.month)
    ).all()  # fmt: skip
    end_month = _month_index((period.end - timedelta(microseconds=1)).date())
    table: dict[int, dict[int, int]] = {}
    for cohort, month, users in rows:
        c, m = _month_index(as_date(cohort)), _month_index(as_date(month))
        if end_month - COHORT_MONTHS < c <= end_month:
            table.setdefault(c, {})[m - c] = int(users)
    out = []
    for c in sorted(table):
        size = table[c].get(0, 0)
        out.append(
            {
                "cohort": f"{c // 12:04d}-{c % 12 + 1:02d}",
                "users": size,
                "retention": [
                    round(table[c].get(k, 0) / size, 4) if size else None
                    for k in range(end_month - c + 1)
                ],
            }
        )
    return out


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def context_shares(
    conn: Connection, rollup: Rollup, period: Period
) -> dict[str, list[dict[str, Any]]]:
    """Per device type, browser and country: active users with an event from it, and their
    share of the period's active users (a user may count under several)."""
    active = conn.execute(select(func.count()).select_from(_active_users(rollup, period))).scalar()
    rows_ = rollup.rows(CONTEXT_DAY, period.start, period.end)
    rows = conn.execute(
        select(rows_.c.dimension, rows_.c.value, func.count(func.distinct(rows_.c.user_id)))
        .group_by(rows_.c.dimension, rows_.c.value)
    ).all()  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {"device": [], "browser": [], "country": []}
    for dimension, value, users in rows:
        share = round(int(users) / int(active), 4) if active else None
        out[str(dimension)].append({"name": value, "users": int(users), "share": share})
    for entries in out.values():
        entries.sort(key=lambda e: (-e["users"], e["name"]))
    return out


def top_customers(conn: Connection, period: Period) -> list[dict[str, Any]]:
    """The identified customers with the most net revenue from the period's non-cancelled
    orders (the page links each to their profile)."""
    revenue = func.sum(O.c.revenue - O.c.refunded_amount)
    rows = conn.execute(
        select(O.c.user_id, func.count(), revenue)
        .where(O.c.user_id.is_not(None), sold_in(period))
        .group_by(O.c.user_id)
        .order_by(revenue.desc(), O.c.user_id)
        .limit(TOP_CUSTOMERS)
    ).all()
    return [
        {"user_id": user, "orders": int(n), "revenue": round(float(total), 2)}
        for user, n, total in rows
    ]


def heatmap(conn: Connection, rollup: Rollup, period: Period) -> dict[str, Any]:
    """Events by the shop's local weekday (rows, Monday first) and hour (columns)."""
    rows_ = rollup.rows(HEATMAP_DAY, period.start, period.end)
    rows = conn.execute(
        select(rows_.c.weekday, rows_.c.hour, func.sum(rows_.c.events))
        .group_by(rows_.c.weekday, rows_.c.hour)
    ).all()  # fmt: skip
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, events in rows:
        grid[int(weekday)][int(hour)] = int(events)
    return {"timezone": rollup.tz.key, "weekdays": WEEKDAYS, "events": grid}


def engagement(conn: Connection, rollup: Rollup, period: Period) -> list[dict[str, Any]]:
    """Active users by the number of UTC days they were active in the period."""
    days = rollup.rows(USER_DAY, period.start, period.end)
    per_user = (
        select(days.c.user_id, func.count(func.distinct(days.c.day)).label("days"))
        .group_by(days.c.user_id)
        .subquery()
    )
    found = conn.execute(select(per_user.c.days, func.count()).group_by(per_user.c.days)).all()
    counts: dict[int, int] = {int(d): int(n) for d, n in found}
    total = sum(counts.values())
    out = []
    for name, lo, hi in ENGAGEMENT_BANDS:
        users = sum(n for d, n in counts.items() if d >= lo and (hi is None or d <= hi))
        out.append(
            {
                "level": name,
                "active_days": {"from": lo, "to": hi},
                "users": users,
                "share": round(users / total, 4) if total else None,
            }
        )
    return out


__all__ = [
    "churn_rates",
    "clv_distribution",
    "cohorts",
    "context_shares",
    "engagement",
    "heatmap",
    "movement",
    "segment_snapshot",
    "snapshot_time",
    "user_analytics",
]

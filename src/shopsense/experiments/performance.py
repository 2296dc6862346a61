"""Recommendation performance: the attributed figures grouped by strategy, context, position,
experiment and variant (``GET /analytics/recommendation-performance``).

Per group (definitions in docs/metrics.md):

    impressions      views of the group's lists (by position: views of lists holding one)
    clicks           recommendation_click events
    ctr              clicks / impressions
    add_to_carts     add-to-carts credited (click or view window)
    conversions      purchased lines credited
    conversion_rate  conversions / impressions
    click_conversion_rate  conversions credited through a click / clicks
    revenue, margin  of the credited lines; revenue_per_impression = revenue / impressions

Incremental: the figures are first reduced to *daily rows* — per day the recommendations
were shown and per strategy, context, experiment, variant and position (0: the whole list)
— which add up exactly across days, because every recommendation belongs to the day it was
first shown and every conversion is credited to one recommendation. Days whose conversion
windows have all closed are kept in ``recommendation_rollup`` (extended on each read, a
day at a time); a report sums the stored days and computes only the rest live.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, delete, func, select

from shopsense.clock import utcnow
from shopsense.db.models import activity_table as A
from shopsense.db.models import model_state_table as S
from shopsense.db.models import recommendation_log_table as L
from shopsense.db.models import recommendation_rollup_table as R
from shopsense.db.session import Database
from shopsense.db.upsert import insert
from shopsense.errors import ValidationFailed
from shopsense.experiments.attribution import (
    DEFAULT_WINDOWS,
    Attribution,
    Windows,
    attribute,
    sends_views,
)

DIMENSIONS = ("strategy", "context", "position", "experiment", "variant")
DEFAULT_DAYS = 30
ROLLUP_STATE = "recommendation_rollup"
ROLLUP_CHUNK_DAYS = 31  # days attributed per pass while the rollup catches up
KEYS = ("day", "strategy", "context", "experiment", "variant", "position")
COUNTS = ("impressions", "clicks", "add_to_carts", "conversions", "click_conversions")
SUMS = ("revenue", "margin")


def parse_group_by(value: str | None) -> list[str]:
    """``group_by`` as a list of dimensions (comma-separated; default strategy)."""
    if value is None or not value.strip():
        return ["strategy"]
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(
            f"group_by: unknown dimension {unknown[0]!r}; known: {', '.join(DIMENSIONS)}",
            errors=[{"loc": ["query", "group_by"], "msg": f"unknown dimension {unknown[0]!r}"}],
        )
    return list(dict.fromkeys(chosen))


def check_period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise ValidationFailed(
            "from must be before to",
            errors=[{"loc": ["query", "from"], "msg": "must be before to"}],
        )


def recommendation_performance(
    db: Database,
    start: datetime | None,
    end: datetime | None,
    group_by: list[str],
    *,
    now: datetime,
    windows: Windows = DEFAULT_WINDOWS,
) -> dict[str, Any]:
    """The contract's answer for recommendations shown in [start, end) (default: the last
    30 days up to ``now``)."""
    end = end or now
    start = start or end - timedelta(days=DEFAULT_DAYS)
    check_period(start, end)
    closed = refresh_rollup(db, now, windows)
    with db.read() as conn:
        views = sends_views(conn)
        rows = _daily(conn, start, end, closed, views, windows)
    return {
        "from": start,
        "to": end,
        "group_by": group_by,
        "impressions_source": "views" if views else "logged_answers",
        **windows.as_dict(),
        "totals": summarise(rows, [])[0],
        "groups": summarise(rows, group_by),
    }


def daily_rows(found: Attribution) -> pl.DataFrame:
    """The attributed figures per day shown and per dimension; position 0 is the whole list
    (list views, every click and conversion), positions 1.. the items at that rank."""
    answers = found.answers.select(
        "recommendation_id",
        pl.col("shown_at").dt.date().alias("day"),
        "strategy",
        "context",
        pl.col("experiment").fill_null(""),
        pl.col("variant").fill_null(""),
    )
    dims = ["day", "strategy", "context", "experiment", "variant"]

    def tagged(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(answers, on="recommendation_id", how="inner")

    views = tagged(found.impressions)
    clicks = tagged(found.clicks)
    credited = tagged(found.credited)
    credit_aggs = [
        (pl.col("kind") == "cart").sum().alias("add_to_carts"),
        (pl.col("kind") == "purchase").sum().alias("conversions"),
        ((pl.col("kind") == "purchase") & (pl.col("via") == "click"))
        .sum()
        .alias("click_conversions"),
        pl.col("revenue").filter(pl.col("kind") == "purchase").sum().alias("revenue"),
        pl.col("margin").filter(pl.col("kind") == "purchase").sum().alias("margin"),
    ]
    parts = []
    for keys, list_views in ((dims, True), ([*dims, "position"], False)):
        seen = views.unique(subset=["recommendation_id", "person", "at"]) if list_views else views
        table = seen.group_by(keys).agg(pl.len().alias("impressions"))
        for part in (
            clicks.group_by(keys).agg(pl.len().alias("clicks")),
            credited.group_by(keys).agg(credit_aggs),
        ):
            table = table.join(part, on=keys, how="full", coalesce=True)
        if list_views:
            table = table.with_columns(pl.lit(0).alias("position"))
        parts.append(table.select(*KEYS, *COUNTS, *SUMS).filter(pl.col("position").is_not_null()))
    return _typed(pl.concat(parts, how="vertical_relaxed"))


def _typed(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns(
        *(pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS),
        *(pl.col(c).fill_null(0.0).cast(pl.Float64) for c in SUMS),
        *([pl.col("position").cast(pl.Int64)] if "position" in rows.columns else []),
    )


def summarise(rows: pl.DataFrame, group_by: list[str]) -> list[dict[str, Any]]:
    """Daily rows summed per group, with the rates; the totals when ``group_by`` is empty."""
    keys = list(group_by)
    level = rows.filter(pl.col("position") > 0 if "position" in keys else pl.col("position") == 0)
    sums = [*(pl.col(c).sum() for c in COUNTS), *(pl.col(c).sum() for c in SUMS)]
    table = level.group_by(keys).agg(sums) if keys else level.select(sums)
    table = _typed(table).with_columns(
        _rate("clicks", "impressions").alias("ctr"),
        _rate("conversions", "impressions").alias("conversion_rate"),
        _rate("click_conversions", "clicks").alias("click_conversion_rate"),
        _rate("revenue", "impressions").alias("revenue_per_impression"),
        pl.col("revenue").round(2),
        pl.col("margin").round(2),
    )
    if keys:
        table = table.with_columns(
            *(pl.col(k).replace("", None) for k in ("experiment", "variant") if k in keys)
        ).sort(keys, nulls_last=True)
    return table.to_dicts()


def _rate(numerator: str, denominator: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
        .round(6)
    )


# -- the rollup ---------------------------------------------------------------------------


def closed_day(now: datetime, windows: Windows = DEFAULT_WINDOWS) -> date:
    """The last day whose recommendations can earn nothing more: every window of a day ends
    at most the longer window after its midnight."""
    return (now - max(windows.click, windows.view)).date() - timedelta(days=1)


def refresh_rollup(
    db: Database, now: datetime | None = None, windows: Windows = DEFAULT_WINDOWS
) -> date | None:
    """Extend ``recommendation_rollup`` through the last closed day; answers the last day it
    holds (None: no recommendation yet). Rolled up with other windows, it starts over."""
    now = now or utcnow()
    last = closed_day(now, windows)
    with db.read() as conn:
        state = _state(conn)
    if state is not None and state.get("windows") != windows.as_dict():
        with db.write() as conn:
            conn.execute(delete(R))
            conn.execute(delete(S).where(S.c.name == ROLLUP_STATE))
    with db.read() as conn:
        done = _rolled_through(conn)
        first = _first_day(conn) if done is None else done + timedelta(days=1)
        views = sends_views(conn)
    if first is None:
        return done
    day = first
    while day <= last:
        chunk_end = min(last, day + timedelta(days=ROLLUP_CHUNK_DAYS - 1))
        start = datetime.combine(day, time.min)
        end = datetime.combine(chunk_end + timedelta(days=1), time.min)
        with db.read() as conn:
            rows = daily_rows(attribute(conn, start, end, views_sent=views, windows=windows))
        with db.write() as conn:
            conn.execute(delete(R).where(and_(R.c.day >= day, R.c.day <= chunk_end)))
            if rows.height:
                conn.execute(R.insert(), rows.to_dicts())
            _save(conn, chunk_end, now, windows)
        day = chunk_end + timedelta(days=1)
    return max(done or last, last) if first <= last else done


def _daily(
    conn: Connection,
    start: datetime,
    end: datetime,
    closed: date | None,
    views: bool,
    windows: Windows,
) -> pl.DataFrame:
    """Daily rows of [start, end): whole stored days from the rollup, the rest live."""
    first = start.date() if start.time() == time.min else start.date() + timedelta(days=1)
    last = (end - timedelta(microseconds=1)).date()
    if end.time() != time.min:
        last = end.date() - timedelta(days=1)
    if closed is not None:
        last = min(last, closed)
    pieces: list[pl.DataFrame] = []
    live: list[tuple[datetime, datetime]] = [(start, end)]
    if closed is not None and first <= last:
        stored = conn.execute(select(R).where(and_(R.c.day >= first, R.c.day <= last))).all()
        pieces.append(
            pl.DataFrame(
                [tuple(r) for r in stored],
                schema={
                    "day": pl.Date,
                    "strategy": pl.String,
                    "context": pl.String,
                    "experiment": pl.String,
                    "variant": pl.String,
                    "position": pl.Int64,
                    **dict.fromkeys(COUNTS, pl.Int64),
                    **dict.fromkeys(SUMS, pl.Float64),
                },
                orient="row",
            )  # fmt: skip
        )
        lo = datetime.combine(first, time.min)
        hi = datetime.combine(last + timedelta(days=1), time.min)
        live = [(a, b) for a, b in ((start, lo), (hi, end)) if a < b]
    for a, b in live:
        pieces.append(daily_rows(attribute(conn, a, b, views_sent=views, windows=windows)))
    return _typed(pl.concat(pieces, how="vertical_relaxed")) if pieces else pl.DataFrame()


def _state(conn: Connection) -> dict[str, Any] | None:
    state = conn.execute(select(S.c.state).where(S.c.name == ROLLUP_STATE)).scalar()
    return dict(state) if state else None


def _rolled_through(conn: Connection) -> date | None:
    state = _state(conn)
    return date.fromisoformat(state["through"]) if state else None


def _first_day(conn: Connection) -> date | None:
    logged = conn.execute(select(func.min(L.c.created_at))).scalar()
    viewed = conn.execute(
        select(func.min(A.c.timestamp)).where(
            and_(
                A.c.type.in_(["recommendation_view", "recommendation_click"]),
                A.c.recommendation_id.is_not(None),
            )
        )
    ).scalar()
    found = [t for t in (logged, viewed) if t is not None]
    return min(found).date() if found else None


def _save(conn: Connection, through: date, now: datetime, windows: Windows) -> None:
    stmt = insert(conn, S)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={k: stmt.excluded[k] for k in ("fitted_at", "as_of", "state")},
        ),
        [{"name": ROLLUP_STATE, "fitted_at": now, "as_of": now,
          "state": {"through": through.isoformat(), "windows": windows.as_dict()}}],
    )  # fmt: skip


def rebuild_rollup(
    db: Database, now: datetime | None = None, windows: Windows = DEFAULT_WINDOWS
) -> date | None:
    """Forget the rollup and build it again (after importing late events, say)."""
    with db.write() as conn:
        conn.execute(delete(R))
        conn.execute(delete(S).where(S.c.name == ROLLUP_STATE))
    return refresh_rollup(db, now, windows)


__all__ = [
    "DIMENSIONS",
    "check_period",
    "closed_day",
    "daily_rows",
    "parse_group_by",
    "rebuild_rollup",
    "recommendation_performance",
    "refresh_rollup",
    "summarise",
]

"""The dashboard's rollups: per closed UTC day, the rows its pages aggregate.

=========================  ===============================================================
``dashboard_activity_day``  events per day and type
``dashboard_user_day``      per identified user and day: events, first and last event time
``dashboard_user_context_day``  the devices, browsers and countries of a user's events
``dashboard_session_day``   per session and day: events, first/last time, funnel steps
``dashboard_heatmap_day``   events per day by the shop's local weekday and hour
=========================  ===============================================================

Every table is one ``SELECT ... GROUP BY`` over ``user_activity`` (non-bot events). Closed
days (up to yesterday, UTC) are stored, extended on read a chunk of days at a time; the
rest of a period - the open day and a period's partial first and last days - runs the same
statement live over those hours, and ``rows`` answers the union, so a tracked event counts
the moment it is stored. Events that arrive late for a stored day (ids above the stored
watermark with an older timestamp) make their days roll up again; a change of the shop's
timezone starts the rollup over; ``rebuild`` forgets it and builds it again (after an
erasure, say). A session without a ``session_id`` is the user's (else the browser's) local
date, as in the profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Interval,
    Select,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from shopsense.db.models import activity_table as A
from shopsense.db.models import dashboard_activity_day_table as ACTIVITY_DAY
from shopsense.db.models import dashboard_heatmap_day_table as HEATMAP_DAY
from shopsense.db.models import dashboard_session_day_table as SESSION_DAY
from shopsense.db.models import dashboard_user_context_day_table as CONTEXT_DAY
from shopsense.db.models import dashboard_user_day_table as USER_DAY
from shopsense.db.models import model_state_table as S
from shopsense.db.session import Database
from shopsense.db.upsert import insert

STATE = "dashboard_rollup"
CHUNK_DAYS = 31
CHECKOUT_TYPES = ("checkout_start", "checkout_step", "payment_info_entered")
CONTEXT_COLUMNS = {"device": A.c.device_type, "browser": A.c.browser, "country": A.c.country}
TABLES = (ACTIVITY_DAY, USER_DAY, CONTEXT_DAY, SESSION_DAY, HEATMAP_DAY)


# -- dialect helpers ------------------------------------------------------------------------


def as_date(value: Any) -> date:
    """A day column's value as a date (SQLite answers text, PostgreSQL a date)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _pg(dialect: str) -> bool:
    return dialect == "postgresql"


def day_of(ts: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC date of a timestamp."""
    if _pg(dialect):
        return cast(ts, Date)
    return type_coerce(func.date(ts), Date)


def month_of(ts: Any, dialect: str) -> ColumnElement[Any]:
    """The first day of a timestamp's (UTC) month."""
    if _pg(dialect):
        return cast(func.date_trunc("month", ts), Date)
    return type_coerce(func.date(ts, "start of month"), Date)


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    if _pg(dialect):
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def minute_of(ts: Any, dialect: str) -> ColumnElement[Any]:
    """``YYYY-MM-DD HH:MM`` of a timestamp."""
    if _pg(dialect):
        return func.to_char(ts, "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", ts)


def _offsets(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant, offset in seconds from then on) for [lo, hi): the first entry is lo's."""

    def offset(at: datetime) -> int:
        delta = at.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    points = [(lo, offset(lo))]
    at = lo.replace(minute=0, second=0, microsecond=0)
    while at < hi:
        at += timedelta(minutes=15)
        current = offset(at)
        if at < hi and current != points[-1][1]:
            points.append((at, current))
    return points


def local_time(ts: Any, tz: ZoneInfo, lo: datetime, hi: datetime, dialect: str) -> Any:
    """A UTC timestamp column in the shop's timezone, for events in [lo, hi)."""

    def shift(seconds: int) -> Any:
        if seconds == 0:
            return ts if _pg(dialect) else func.datetime(ts)
        if _pg(dialect):
            return ts + literal(timedelta(seconds=seconds), Interval())
        return func.datetime(ts, f"{seconds:+d} seconds")

    points = _offsets(tz, lo, hi)
    if len(points) == 1:
        return shift(points[0][1])
    whens = [(ts < at, shift(points[i][1])) for i, (at, _) in enumerate(points[1:])]
    return case(*whens, else_=shift(points[-1][1]))


def _hour(local: Any, dialect: str) -> ColumnElement[Any]:
    if _pg(dialect):
        return cast(extract("hour", local), Integer)
    return cast(func.strftime("%H", local), Integer)


def _weekday(local: Any, dialect: str) -> ColumnElement[Any]:
    """Monday = 0."""
    if _pg(dialect):
        return cast(extract("isodow", local), Integer) - 1
    return (cast(func.strftime("%w", local), Integer) + 6) % 7


def _date_text(local: Any, dialect: str) -> ColumnElement[Any]:
    if _pg(dialect):
        return func.to_char(local, "YYYY-MM-DD")
    return func.date(local)


# -- the statements -------------------------------------------------------------------------


def _events(lo: datetime, hi: datetime) -> ColumnElement[bool]:
    return and_(A.c.timestamp >= lo, A.c.timestamp < hi, A.c.is_bot.is_(False))


def _activity(lo: datetime, hi: datetime, tz: ZoneInfo, dialect: str) -> Select[Any]:
    day = day_of(A.c.timestamp, dialect).label("day")
    return (
        select(day, A.c.type, func.count().label("events"))
        .where(_events(lo, hi))
        .group_by(day, A.c.type)
    )


def _users(lo: datetime, hi: datetime, tz: ZoneInfo, dialect: str) -> Select[Any]:
    day = day_of(A.c.timestamp, dialect).label("day")
    return (
        select(
            day,
            A.c.user_id,
            func.min(month_of(A.c.timestamp, dialect)).label("month"),
            func.count().label("events"),
            func.min(A.c.timestamp).label("first_at"),
            func.max(A.c.timestamp).label("last_at"),
        )
        .where(and_(_events(lo, hi), A.c.user_id.is_not(None)))
        .group_by(day, A.c.user_id)
    )


def _contexts(lo: datetime, hi: datetime, tz: ZoneInfo, dialect: str) -> Any:
    day = day_of(A.c.timestamp, dialect).label("day")
    parts = [
        select(day, literal(name).label("dimension"), column.label("value"), A.c.user_id)
        .where(and_(_events(lo, hi), A.c.user_id.is_not(None), column.is_not(None)))
        .group_by(day, column, A.c.user_id)
        for name, column in CONTEXT_COLUMNS.items()
    ]
    return union_all(*parts)


def session_key(tz: ZoneInfo, lo: datetime, hi: datetime, dialect: str) -> ColumnElement[Any]:
    """``session_id``, else the user (else the browser) and the local date."""
    local = _date_text(local_time(A.c.timestamp, tz, lo, hi, dialect), dialect)
    who = func.coalesce(A.c.user_id, A.c.anonymous_id)
    return func.coalesce(A.c.session_id, who + literal("@") + local)


def _sessions(lo: datetime, hi: datetime, tz: ZoneInfo, dialect: str) -> Select[Any]:
    day = day_of(A.c.timestamp, dialect).label("day")
    key = session_key(tz, lo, hi, dialect).label("session")

    def reached(condition: ColumnElement[bool], name: str) -> Any:
        return func.max(case((condition, 1), else_=0)).label(name)

    return (
        select(
            day,
            key,
            func.count().label("events"),
            func.min(A.c.timestamp).label("first_at"),
            func.max(A.c.timestamp).label("last_at"),
            reached(A.c.type == "product_view", "viewed"),
            reached(A.c.type == "add_to_cart", "carted"),
            reached(A.c.type.in_(CHECKOUT_TYPES), "checked_out"),
            reached(A.c.type == "purchase", "purchased"),
        )
        .where(
            and_(
                _events(lo, hi),
                func.coalesce(A.c.session_id, A.c.user_id, A.c.anonymous_id).is_not(None),
            )
        )
        .group_by(day, key)
    )


def _heatmap(lo: datetime, hi: datetime, tz: ZoneInfo, dialect: str) -> Select[Any]:
    local = local_time(A.c.timestamp, tz, lo, hi, dialect)
    day = day_of(A.c.timestamp, dialect).label("day")
    weekday = _weekday(local, dialect).label("weekday")
    hour = _hour(local, dialect).label("hour")
    return (
        select(day, weekday, hour, func.count().label("events"))
        .where(_events(lo, hi))
        .group_by(day, weekday, hour)
    )


BUILDERS: dict[str, Any] = {
    ACTIVITY_DAY.name: _activity,
    USER_DAY.name: _users,
    CONTEXT_DAY.name: _contexts,
    SESSION_DAY.name: _sessions,
    HEATMAP_DAY.name: _heatmap,
}


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """What a read needs: the last stored day (None: nothing stored), the timezone and the
    dialect."""

    through: date | None
    tz: ZoneInfo
    dialect: str

    def rows(self, table: Any, start: datetime, end: datetime) -> Any:
        """The table's rows for [start, end) as a subquery: whole stored days from the
        table, the rest computed live by the same statement."""
        build = BUILDERS[table.name]
        first = start.date() if start.time() == time.min else start.date() + timedelta(days=1)
        last = end.date() - timedelta(days=1)
        if self.through is not None:
            last = min(last, self.through)
        parts: list[Any] = []
        live = [(start, end)]
        if self.through is not None and first <= last:
            parts.append(
                select(*table.columns).where(and_(table.c.day >= first, table.c.day <= last))
            )
            lo = datetime.combine(first, time.min)
            hi = datetime.combine(last + timedelta(days=1), time.min)
            live = [(a, b) for a, b in ((start, lo), (hi, end)) if a < b]
        for a, b in live:
            built = build(a, b, self.tz, self.dialect)
            parts.append(
                select(*built.subquery().columns) if not isinstance(built, Select) else built
            )
        return union_all(*parts).subquery(table.name.removeprefix("dashboard_"))


def refresh(db: Database, now: datetime, timezone: str) -> Rollup:
    """Extend the rollup through yesterday (UTC); roll again days that received late
    events; start over when the timezone changed."""
    tz = ZoneInfo(timezone)
    closed = now.date() - timedelta(days=1)
    with db.read() as conn:
        state = _state(conn)
        if state is not None and state.get("timezone") != timezone:
            state = None
            restart = True
        else:
            restart = False
        through = date.fromisoformat(state["through"]) if state else None
        watermark = int(state["watermark"]) if state else 0
        first: date | None
        if through is None:
            earliest = conn.execute(
                select(func.min(A.c.timestamp)).where(A.c.is_bot.is_(False))
            ).scalar()
            first = earliest.date() if earliest is not None else None
        else:
            first = through + timedelta(days=1)
            late = conn.execute(
                select(func.min(A.c.timestamp)).where(
                    and_(
                        A.c.id > watermark,
                        A.c.timestamp < datetime.combine(first, time.min),
                        A.c.is_bot.is_(False),
                    )
                )
            ).scalar()
            if late is not None:
                first = late.date()
    if restart:
        with db.write() as conn:
            clear(conn)
    if first is None or first > closed:
        return Rollup(through, tz, db.dialect)
    day = first
    while day <= closed:
        chunk_end = min(closed, day + timedelta(days=CHUNK_DAYS - 1))
        _roll(db, day, chunk_end, tz, now, timezone)
        day = chunk_end + timedelta(days=1)
    return Rollup(max(closed, through or closed), tz, db.dialect)


def _roll(
    db: Database, first: date, last: date, tz: ZoneInfo, now: datetime, timezone: str
) -> None:
    lo = datetime.combine(first, time.min)
    hi = datetime.combine(last + timedelta(days=1), time.min)
    with db.write() as conn:
        dialect = conn.dialect.name
        top = conn.execute(select(func.max(A.c.id))).scalar() or 0
        for table in TABLES:
            conn.execute(delete(table).where(and_(table.c.day >= first, table.c.day <= last)))
            built = BUILDERS[table.name](lo, hi, tz, dialect)
            conn.execute(table.insert().from_select([c.name for c in table.columns], built))
        previous = _state(conn)
        through = last
        if previous is not None and previous.get("timezone") == timezone:
            through = max(last, date.fromisoformat(previous["through"]))
        _save(conn, {"through": through.isoformat(), "timezone": timezone, "watermark": top}, now)


def rebuild(db: Database, now: datetime, timezone: str) -> Rollup:
    """Forget the rollup and build it again from the events."""
    with db.write() as conn:
        clear(conn)
    return refresh(db, now, timezone)


def live(now: datetime, timezone: str, dialect: str) -> Rollup:
    """A rollup that stores nothing: every row computed from the events (for checks)."""
    return Rollup(None, ZoneInfo(timezone), dialect)


def clear(conn: Connection) -> None:
    """Forget the rollup (the next read builds it again from the events): an erasure takes
    a user's rows out of every day and session they touched."""
    for table in TABLES:
        conn.execute(delete(table))
    conn.execute(delete(S).where(S.c.name == STATE))


def _state(conn: Connection) -> dict[str, Any] | None:
    state = conn.execute(select(S.c.state).where(S.c.name == STATE)).scalar()
    return dict(state) if state else None


def _save(conn: Connection, state: dict[str, Any], now: datetime) -> None:
    stmt = insert(conn, S)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={k: stmt.excluded[k] for k in ("fitted_at", "as_of", "state")},
        ),
        [{"name": STATE, "fitted_at": now, "as_of": now, "state": state}],
    )


__all__ = [
    "BUILDERS",
    "TABLES",
    "Rollup",
    "day_of",
    "live",
    "local_time",
    "minute_of",
    "month_of",
    "rebuild",
    "refresh",
    "seconds_between",
    "session_key",
]

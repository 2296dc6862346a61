"""Writing events and the tables derived from them, set-based and in one transaction.

The ``event_id`` unique constraint decides which events are new (``INSERT ... ON CONFLICT DO
NOTHING RETURNING`` on PostgreSQL; on SQLite, where writers queue for the one write lock, a
lookup inside the write transaction), so concurrent retries of the same event store it once
and derive its orders once. Only the events this transaction inserted update the derived
tables.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, and_, case, func, select, update

from shopsense.db.models import (
    activity_table as ACTIVITY,
)
from shopsense.db.models import (
    identities_table as IDENTITIES,
)
from shopsense.db.models import (
    order_items_table as ORDER_ITEMS,
)
from shopsense.db.models import (
    orders_table as ORDERS,
)
from shopsense.db.models import (
    refund_items_table as REFUND_ITEMS,
)
from shopsense.db.models import (
    refunds_table as REFUNDS,
)
from shopsense.db.models import (
    users_table as USERS,
)
from shopsense.db.upsert import insert
from shopsense.tracking.activity_types import IDENTIFY_TYPES

CENT = 0.005


@dataclass(frozen=True)
class StoreResult:
    """Positions (in the rows given) of the events stored now and of the duplicates."""

    accepted: list[int]
    duplicates: list[int]


def store_events(conn: Connection, rows: list[dict[str, Any]]) -> StoreResult:
    """Insert ``rows`` (from ``normalize``) and update identity, users, orders and refunds."""
    if not rows:
        return StoreResult([], [])
    first: dict[str, int] = {}
    duplicates: list[int] = []
    for pos, row in enumerate(rows):
        if row["event_id"] in first:
            duplicates.append(pos)
        else:
            first[row["event_id"]] = pos
    # Sorted by event_id so concurrent batches lock unique-index entries in the same order.
    unique_rows = [rows[first[eid]] for eid in sorted(first)]
    _resolve_known_identities(conn, unique_rows)

    inserted = _insert_activity(conn, unique_rows)
    new_rows = [row for row in unique_rows if row["event_id"] in inserted]
    duplicates.extend(pos for eid, pos in first.items() if eid not in inserted)

    merged = _merge_identities(conn, new_rows)
    _upsert_users(conn, new_rows, merged)
    _derive_orders(conn, new_rows)
    accepted = sorted(first[row["event_id"]] for row in new_rows)
    return StoreResult(accepted, sorted(duplicates))


# Bound parameters in one statement: under SQLite's 32,766 and PostgreSQL's 65,535.
_MAX_PARAMS = 32_000
_SAMPLE_TIME = datetime(2001, 2, 3, 4, 5, 6, 7)
_MODIFIERS = re.compile(r"\(.*?\)")
Converters = list[tuple[int, Callable[[Sequence[Any]], list[Any]]]]
_converters_cache: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, ...], Converters]] = (
    weakref.WeakKeyDictionary()
)


def _insert_activity(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose ``event_id`` is new; answers those event ids.

    The statements are built here rather than by SQLAlchemy, with values converted by the
    same bind processors: its generic per-row parameter handling took longer than the
    database did."""
    columns = tuple(name for name in rows[0] if name in ACTIVITY.c)
    values = _driver_columns(conn.dialect, columns, rows)
    if conn.dialect.name == "sqlite":
        return _insert_sqlite(conn, columns, list(zip(*values, strict=True)))
    return _insert_unnest(conn, columns, values)


def _insert_unnest(conn: Connection, columns: tuple[str, ...], values: list[Any]) -> set[str]:
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(%s::varchar[], ...) ON CONFLICT
    (event_id) DO NOTHING RETURNING event_id``, an array a column. The unique index
    arbitrates between concurrent transactions as for any insert; one statement of 51
    arrays is four times faster than VALUES lists of 25,000 parameters, which PostgreSQL
    parses and plans every time."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    # Base types without length or precision: an explicit cast to varchar(n) would truncate,
    # where the insert's own conversion to the column's type rejects what does not fit.
    arrays = ", ".join(
        "%s::" + _MODIFIERS.sub("", ACTIVITY.c[name].type.compile(dialect=dialect)) + "[]"
        for name in columns
    )
    sql = (
        f"INSERT INTO {quote(ACTIVITY.name)} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({quote('event_id')}) DO NOTHING RETURNING {quote('event_id')}"
    )
    params = tuple(_one_type(list(column)) for column in values)
    return {r[0] for r in conn.exec_driver_sql(sql, params)}


def _one_type(column: list[Any]) -> list[Any]:
    """The driver sends a list as an array of one type: ints among floats become floats, and
    any other mix is sent as text for PostgreSQL to parse into the column's type."""
    kinds = {type(v) for v in column if v is not None}
    if len(kinds) <= 1:
        return column
    if kinds == {int, float}:
        return [float(v) if type(v) is int else v for v in column]
    return [None if v is None else str(v) for v in column]


def _insert_sqlite(
    conn: Connection, columns: tuple[str, ...], params: list[tuple[Any, ...]]
) -> set[str]:
    """SQLite: ``INSERT ... VALUES (...), (...) ON CONFLICT (event_id) DO NOTHING RETURNING
    event_id`` in statements of at most ``_MAX_PARAMS`` values: the unique index, not a
    lookup, decides which events are new."""
    quote = conn.dialect.identifier_preparer.quote
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    head = f"INSERT INTO {quote(ACTIVITY.name)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608
    tail = f" ON CONFLICT ({quote('event_id')}) DO NOTHING RETURNING {quote('event_id')}"
    per_statement = max(1, _MAX_PARAMS // len(columns))
    inserted: set[str] = set()
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        sql = head + ", ".join([one_row] * len(chunk)) + tail
        flat = tuple(value for row in chunk for value in row)
        inserted.update(r[0] for r in conn.exec_driver_sql(sql, flat))
    return inserted


def _driver_columns(
    dialect: Dialect, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[Any]:
    """The values of each of ``columns`` over ``rows``, as the driver takes them. Converted
    a column at a time: most columns need nothing, and the rest hold one kind of value."""
    if len(columns) == 1:
        by_column: list[Any] = [[row[columns[0]] for row in rows]]
    else:
        by_column = list(zip(*map(itemgetter(*columns), rows), strict=True))
    for pos, convert in _converters(dialect, columns):
        by_column[pos] = convert(by_column[pos])
    return by_column


def _converters(dialect: Dialect, columns: tuple[str, ...]) -> Converters:
    """(position, column converter) of each column whose type converts values for the
    driver (times, JSON, booleans, numbers), giving what SQLAlchemy itself would send."""
    by_columns = _converters_cache.setdefault(dialect, {})
    found = by_columns.get(columns)
    if found is None:
        found = []
        for pos, name in enumerate(columns):
            fn = ACTIVITY.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if fn is not None:
                found.append((pos, _column_converter(fn)))
        by_columns[columns] = found
    return found


def _column_converter(fn: Callable[[Any], Any]) -> Callable[[Sequence[Any]], list[Any]]:
    """A converter of a whole column applying bind processor ``fn``, with shortcuts for the
    values whose result is known: ``None``, floats kept as they are, the two booleans, and
    naive times where ``isoformat`` gives the text ``fn`` would (SQLite's time processor
    formats with ``%`` and a dict)."""
    null = fn(None)
    if _gives(fn, 1.5, 1.5):

        def floats(column: Sequence[Any]) -> list[Any]:
            return [v if v is None or type(v) is float else fn(v) for v in column]

        return floats
    yes, no = _safe(fn, True), _safe(fn, False)
    if type(yes) in (bool, int) and type(no) is type(yes) and yes != no:

        def booleans(column: Sequence[Any]) -> list[Any]:
            return [
                yes if v is True else no if v is False else null if v is None else fn(v)
                for v in column
            ]

        return booleans
    if _gives(fn, _SAMPLE_TIME, _SAMPLE_TIME.isoformat(" ", "microseconds")):

        def times(column: Sequence[Any]) -> list[Any]:
            return [
                v.isoformat(" ", "microseconds")
                if type(v) is datetime and v.tzinfo is None
                else null
                if v is None
                else fn(v)
                for v in column
            ]

        return times

    def other(column: Sequence[Any]) -> list[Any]:
        return [null if v is None else fn(v) for v in column]

    return other


def _safe(fn: Callable[[Any], Any], value: Any) -> Any:
    """``fn(value)``, or None where ``fn`` does not take such a value."""
    try:
        return fn(value)
    except (TypeError, ValueError, AttributeError):
        return None


def _gives(fn: Callable[[Any], Any], value: Any, expected: Any) -> bool:
    """Whether ``fn(value)`` is ``expected``, of the same type."""
    result = _safe(fn, value)
    return type(result) is type(expected) and result == expected


def _resolve_known_identities(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Events carrying only an anonymous id that was merged earlier belong to that user."""
    anonymous = {r["anonymous_id"] for r in rows if r["user_id"] is None and r["anonymous_id"]}
    if not anonymous:
        return
    known = dict(
        conn.execute(
            select(IDENTITIES.c.anonymous_id, IDENTITIES.c.user_id).where(
                IDENTITIES.c.anonymous_id.in_(anonymous)
            )
        ).all()
    )
    for row in rows:
        if row["user_id"] is None and row["anonymous_id"] in known:
            row["user_id"] = known[row["anonymous_id"]]


def _merge_identities(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Login/signup with both ids links the anonymous id (first link wins) and moves its
    history - events, orders, refunds - to the user."""
    links: dict[str, tuple[str, datetime]] = {}
    for r in sorted(rows, key=lambda r: r["timestamp"]):
        if r["type"] in IDENTIFY_TYPES and r["anonymous_id"] and r["user_id"]:
            links.setdefault(r["anonymous_id"], (r["user_id"], r["timestamp"]))
    if not links:
        return {}
    stmt = insert(conn, IDENTITIES).on_conflict_do_nothing(index_elements=["anonymous_id"])
    # Sorted, as the events are, so concurrent merges lock index entries in the same order.
    links_rows = [
        {"anonymous_id": a, "user_id": u, "merged_at": t} for a, (u, t) in sorted(links.items())
    ]
    conn.execute(stmt, links_rows)
    merged = dict(
        conn.execute(
            select(IDENTITIES.c.anonymous_id, IDENTITIES.c.user_id).where(
                IDENTITIES.c.anonymous_id.in_(links)
            )
        ).all()
    )
    for table in (ACTIVITY, ORDERS, REFUNDS):
        owner = (
            select(IDENTITIES.c.user_id)
            .where(IDENTITIES.c.anonymous_id == table.c.anonymous_id)
            .scalar_subquery()
        )
        # On user_activity, ``coalesce(user_id, NULL) IS NULL`` is ``user_id IS NULL`` that
        # SQLite cannot answer from the user_id index: it must pick the anonymous_id index,
        # not scan every anonymous event stored. (Orders and refunds have no such index.)
        unowned = (
            func.coalesce(table.c.user_id, None).is_(None)
            if table is ACTIVITY
            else table.c.user_id.is_(None)
        )
        conn.execute(
            update(table)
            .where(and_(unowned, table.c.anonymous_id.in_(merged)))
            .values(user_id=owner)
        )
    for row in rows:
        if row["user_id"] is None and row["anonymous_id"] in merged:
            row["user_id"] = merged[row["anonymous_id"]]
    return merged


def _upsert_users(conn: Connection, rows: list[dict[str, Any]], merged: dict[str, str]) -> None:
    """First/last seen per user from the new events (and from merged anonymous history)."""
    span: dict[str, list[datetime]] = {}
    signup: dict[str, tuple[datetime, str | None]] = {}
    for row in rows:
        uid = row["user_id"]
        if uid is None:
            continue
        ts = row["timestamp"]
        seen = span.get(uid)
        if seen is None:
            span[uid] = [ts, ts]
        else:
            seen[0] = min(seen[0], ts)
            seen[1] = max(seen[1], ts)
        if row["type"] == "signup":
            props = row["properties"] or {}
            channel = props.get("channel") if isinstance(props.get("channel"), str) else None
            signup[uid] = (ts, channel or row["utm_source"])
    if merged:
        # Events of a merged anonymous id that another transaction committed after the
        # merge's UPDATE still have no user (PostgreSQL reads each statement afresh).
        history = conn.execute(
            select(
                ACTIVITY.c.user_id, func.min(ACTIVITY.c.timestamp), func.max(ACTIVITY.c.timestamp)
            )
            .where(ACTIVITY.c.anonymous_id.in_(merged), ACTIVITY.c.user_id.is_not(None))
            .group_by(ACTIVITY.c.user_id)
        ).all()
        for uid, lo, hi in history:
            seen = span.setdefault(uid, [lo, hi])
            seen[0], seen[1] = min(seen[0], lo), max(seen[1], hi)
    if not span:
        return
    values = [
        {
            "user_id": uid,
            "first_seen": lo,
            "last_seen": hi,
            "signup_at": signup.get(uid, (None, None))[0],
            "signup_channel": signup.get(uid, (None, None))[1],
        }
        for uid, (lo, hi) in sorted(span.items())
    ]
    stmt = insert(conn, USERS)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={
            "first_seen": case(
                (ex.first_seen < USERS.c.first_seen, ex.first_seen), else_=USERS.c.first_seen
            ),
            "last_seen": case(
                (ex.last_seen > USERS.c.last_seen, ex.last_seen), else_=USERS.c.last_seen
            ),
            "signup_at": func.coalesce(USERS.c.signup_at, ex.signup_at),
            "signup_channel": func.coalesce(USERS.c.signup_channel, ex.signup_channel),
        },
    )
    conn.execute(stmt, values)


def _line_total(items: list[dict[str, Any]] | None) -> float:
    return sum(float(i["quantity"] * i["price"]) for i in items or ())


def _derive_orders(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Purchases become orders with items; refunds and cancellations adjust them."""
    purchases = [r for r in rows if r["type"] == "purchase"]
    refunds = [r for r in rows if r["type"] == "order_refunded"]
    cancels = [r for r in rows if r["type"] == "order_cancelled"]
    touched: set[str] = set()
    if purchases:
        by_order: dict[str, dict[str, Any]] = {}
        for r in purchases:
            by_order.setdefault(r["order_id"], r)  # one order per order_id: the first wins
        order_rows = [
            {
                "order_id": oid,
                "event_id": r["event_id"],
                "user_id": r["user_id"],
                "anonymous_id": r["anonymous_id"],
                "session_id": r["session_id"],
                "placed_at": r["timestamp"],
                "status": "placed",
                "revenue": r["revenue"]
                if r["revenue"] is not None
                else max(_line_total(r["items"]) - (r["discount"] or 0.0), 0.0),
                "discount": r["discount"] or 0.0,
                "coupon": r["coupon"],
                "refunded_amount": 0.0,
                "utm_source": r["utm_source"],
                "utm_medium": r["utm_medium"],
            }
            for oid, r in sorted(by_order.items())
        ]
        created = _insert_orders(conn, order_rows)
        _insert_item_lines(
            conn,
            ORDER_ITEMS,
            (
                (oid, line, item)
                for oid in sorted(created)
                for line, item in enumerate(by_order[oid]["items"] or ())
            ),
        )
        touched |= created
    if refunds:
        _store_refunds(conn, refunds)
        touched |= {r["order_id"] for r in refunds}
    if cancels:
        conn.execute(
            update(ORDERS)
            .where(ORDERS.c.order_id.in_({r["order_id"] for r in cancels}))
            .values(status="cancelled")
        )
    if touched:
        _recompute_refunded(conn, touched)


def _store_refunds(conn: Connection, refunds: list[dict[str, Any]]) -> None:
    """A refund's amount is its ``revenue``, else its items, else what is left of the order."""
    left = dict(
        conn.execute(
            select(ORDERS.c.order_id, ORDERS.c.revenue - ORDERS.c.refunded_amount).where(
                ORDERS.c.order_id.in_({r["order_id"] for r in refunds})
            )
        ).all()
    )
    pending: defaultdict[str, float] = defaultdict(float)
    refund_rows = []
    for r in refunds:
        if r["revenue"] is not None:
            amount = float(r["revenue"])
        elif r["items"]:
            amount = _line_total(r["items"])
        else:
            amount = max(float(left.get(r["order_id"], 0.0)) - pending[r["order_id"]], 0.0)
        pending[r["order_id"]] += amount
        refund_rows.append(
            {
                "refund_id": r["event_id"],
                "order_id": r["order_id"],
                "user_id": r["user_id"],
                "anonymous_id": r["anonymous_id"],
                "refunded_at": r["timestamp"],
                "amount": amount,
            }
        )
    conn.execute(REFUNDS.insert(), refund_rows)
    _insert_item_lines(
        conn,
        REFUND_ITEMS,
        (
            (r["event_id"], line, item)
            for r in refunds
            for line, item in enumerate(r["items"] or ())
        ),
    )


def _insert_orders(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert ``rows`` (``ON CONFLICT DO NOTHING``); answers the order ids created. On
    PostgreSQL through psycopg's pipelined ``executemany``: one short statement, parsed
    once, where SQLAlchemy's multi-row VALUES statements cost psycopg more to parse than
    the server takes to run them."""
    if conn.dialect.name != "postgresql":
        stmt = insert(conn, ORDERS).on_conflict_do_nothing(index_elements=["order_id"])
        return {x[0] for x in conn.execute(stmt.returning(ORDERS.c.order_id), rows)}
    columns = list(rows[0])
    processors = [
        ORDERS.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns
    ]
    params = [tuple(r[c] for c in columns) for r in rows]
    if any(processors):
        params = [
            tuple(fn(v) if fn else v for v, fn in zip(values, processors, strict=True))
            for values in params
        ]
    sql = (
        f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 - our own column names
        " ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
    )
    created: set[str] = set()
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.executemany(sql, params, returning=True)
        while True:
            created.update(row[0] for row in cursor.fetchall())
            if not cursor.nextset():
                break
    return created


def _insert_item_lines(
    conn: Connection, table: Table, lines: Iterable[tuple[str, int, dict[str, Any]]]
) -> None:
    """(order or refund id, line, item) into ``table`` straight through the driver: COPY on
    PostgreSQL, executemany of tuples on SQLite. For an import of 500k items SQLAlchemy's
    per-row parameter processing costs more than the inserts themselves."""
    owner = next(c.name for c in table.columns if c.foreign_keys)  # order_id, refund_id
    columns = f"{owner}, line, product_id, quantity, price"
    if conn.dialect.name == "postgresql":
        copy_sql = f"COPY {table.name} ({columns}) FROM STDIN"
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(copy_sql) as copy:
                for key, line, i in lines:
                    copy.write_row((key, line, i["product_id"], i["quantity"], i["price"]))
        return
    money = table.c.price.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    money = money or (lambda v: v)
    rows = [(o, line, i["product_id"], i["quantity"], money(i["price"])) for o, line, i in lines]
    if rows:
        marks = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in range(5))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows)  # noqa: S608 - our own table and column names


def _recompute_refunded(conn: Connection, order_ids: set[str]) -> None:
    """Refunded amount and status follow from the refunds table, so order of arrival and
    retries do not matter."""
    refunded = (
        select(func.coalesce(func.sum(REFUNDS.c.amount), 0.0))
        .where(REFUNDS.c.order_id == ORDERS.c.order_id)
        .scalar_subquery()
    )
    conn.execute(
        update(ORDERS)
        .where(ORDERS.c.order_id.in_(order_ids))
        .values(
            refunded_amount=refunded,
            status=case(
                (ORDERS.c.status == "cancelled", "cancelled"),
                (
                    refunded >= ORDERS.c.revenue - CENT,
                    case((refunded > 0, "refunded"), else_="placed"),
                ),
                (refunded > 0, "partially_refunded"),
                else_="placed",
            ),
        )
    )

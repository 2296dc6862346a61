"""Bulk writes straight through the driver, for the hot paths (tracking, imports).

SQLAlchemy's per-row parameter handling costs more than the database's own work when a batch
holds thousands of rows, so these build the statements themselves and convert values with the
column types' own bind processors (what SQLAlchemy would send). Dedup stays with the
database: ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key``, so the unique index
decides which rows are new, also between concurrent transactions.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table

# Bound parameters in one statement: under SQLite's 32,766 and PostgreSQL's 65,535.
MAX_PARAMS = 32_000
_SAMPLE_TIME = datetime(2001, 2, 3, 4, 5, 6, 7)
_MODIFIERS = re.compile(r"\(.*?\)")
Converter = Callable[[Sequence[Any]], list[Any]]
_cache: weakref.WeakKeyDictionary[
    Dialect, dict[tuple[str, tuple[str, ...]], list[tuple[int, Converter]]]
] = weakref.WeakKeyDictionary()


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]], key: str) -> set[Any]:
    """Insert ``rows`` (dicts with the same keys), skipping those whose ``key`` exists;
    answers the keys inserted now."""
    if not rows:
        return set()
    columns = tuple(name for name in rows[0] if name in table.c)
    values = driver_columns(conn.dialect, table, columns, rows)
    if conn.dialect.name == "postgresql":
        return _insert_unnest(conn, table, columns, values, key)
    return _insert_values(conn, table, columns, list(zip(*values, strict=True)), key)


def _insert_unnest(
    conn: Connection, table: Table, columns: tuple[str, ...], values: list[Any], key: str
) -> set[Any]:
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(%s::varchar[], ...) ON CONFLICT DO
    NOTHING RETURNING``, an array a column: one statement, planned once, where VALUES lists
    of 25,000 parameters are parsed and planned every time (four times slower)."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    # Base types without length or precision: a cast to varchar(n) would truncate, where the
    # insert's own conversion to the column's type rejects what does not fit.
    arrays = ", ".join(
        "%s::" + _MODIFIERS.sub("", table.c[name].type.compile(dialect=dialect)) + "[]"
        for name in columns
    )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {quote(key)}"
    )
    params = tuple(_one_type(list(column)) for column in values)
    return {r[0] for r in conn.exec_driver_sql(sql, params)}


def _insert_values(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    params: list[tuple[Any, ...]],
    key: str,
) -> set[Any]:
    """SQLite: ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING``, in
    statements of at most ``MAX_PARAMS`` values."""
    quote = conn.dialect.identifier_preparer.quote
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608
    tail = f" ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {quote(key)}"
    per_statement = max(1, MAX_PARAMS // len(columns))
    inserted: set[Any] = set()
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        sql = head + ", ".join([one_row] * len(chunk)) + tail
        flat = tuple(value for row in chunk for value in row)
        inserted.update(r[0] for r in conn.exec_driver_sql(sql, flat))
    return inserted


def append_rows(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Append plain rows (no conflict possible): ``COPY`` on PostgreSQL, ``executemany`` of
    tuples on SQLite, values converted a column at a time like ``driver_columns``."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    batch = list(rows)
    if not batch:
        return
    needed = [
        (pos, convert)
        for pos, convert in _converters(conn.dialect, table, columns)
        if not all(type(row[pos]) is float or row[pos] is None for row in batch)
    ]  # a column of floats needs no conversion: skip the transposition it would cost
    if needed:
        by_column = list(zip(*batch, strict=True))
        for pos, convert in needed:
            by_column[pos] = tuple(convert(by_column[pos]))
        batch = list(zip(*by_column, strict=True))
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608
        batch,
    )


def _one_type(column: list[Any]) -> list[Any]:
    """The driver sends a list as an array of one type: ints among floats become floats, and
    any other mix is sent as text for PostgreSQL to parse into the column's type."""
    kinds = {type(v) for v in column if v is not None}
    if len(kinds) <= 1:
        return column
    if kinds == {int, float}:
        return [float(v) if type(v) is int else v for v in column]
    return [None if v is None else str(v) for v in column]


def driver_columns(
    dialect: Dialect, table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[Any]:
    """The values of each of ``columns`` over ``rows``, as the driver takes them. Converted
    a column at a time: most columns need nothing, and the rest hold one kind of value."""
    if len(columns) == 1:
        by_column: list[Any] = [[row[columns[0]] for row in rows]]
    else:
        by_column = list(zip(*map(itemgetter(*columns), rows), strict=True))
    for pos, convert in _converters(dialect, table, columns):
        by_column[pos] = convert(by_column[pos])
    return by_column


def _converters(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> list[tuple[int, Converter]]:
    """(position, column converter) of each column whose type converts values for the
    driver (times, JSON, booleans, numbers), giving what SQLAlchemy itself would send."""
    by_columns = _cache.setdefault(dialect, {})
    found = by_columns.get((table.name, columns))
    if found is None:
        found = []
        for pos, name in enumerate(columns):
            fn = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if fn is not None:
                found.append((pos, _column_converter(fn)))
        by_columns[(table.name, columns)] = found
    return found


def _column_converter(fn: Callable[[Any], Any]) -> Converter:
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

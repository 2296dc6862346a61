"""Engines and transactions.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE``
so concurrent writers queue on the lock instead of failing on a read-to-write upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from shopsense.settings import Settings, get_settings

_WRITE_OPTION = "shopsense_write"


def _sqlite_hooks(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _json_dumps(value: Any) -> str:
    """JSON columns through orjson: the event store writes a JSON document per purchase."""
    return orjson.dumps(value).decode()


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for ``url`` with the settings shopsense relies on for each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
            json_serializer=_json_dumps,
        )
        _sqlite_hooks(engine, sqlite_synchronous.upper())
        return engine
    return create_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_serializer=_json_dumps
    )


class Database:
    """The engine plus the two kinds of transaction the code needs."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._writer = self.engine.execution_options(**{_WRITE_OPTION: True})

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        settings = settings or get_settings()
        return cls(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._writer.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


_SYNCHRONOUS = "shopsense_synchronous"  # a pooled SQLite connection's configured level


@contextmanager
def log_transaction(db: Database) -> Iterator[Connection]:
    """A write transaction whose commit does not wait for the disk. A log row is
    attribution data: a power cut may lose the last few (never corrupt the database: SQLite
    in WAL mode at ``synchronous=NORMAL``, PostgreSQL's asynchronous commit), where an fsync
    per answer costs more than computing the answer, and its variance is the latency tail.
    Events keep the configured durability; the next durable commit carries these rows."""
    if db.dialect == "postgresql":
        with db.write() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn
        return
    if db.dialect != "sqlite":
        with db.write() as conn:
            yield conn
        return
    with db.engine.connect() as conn:
        pooled = conn.connection
        raw: Any = pooled.driver_connection
        level = pooled.info.get(_SYNCHRONOUS)
        if level is None:  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA; outside a transaction only
            level = pooled.info[_SYNCHRONOUS] = int(raw.execute("PRAGMA synchronous").fetchone()[0])
        relax = level > 1
        if relax:
            raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                yield conn
        finally:
            if relax:
                raw.execute(f"PRAGMA synchronous={level}")

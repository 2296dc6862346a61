"""The Alembic migrations build exactly the tables the models declare, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shopsense.db.models import Base
from shopsense.db.session import Database


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"

"""Dialect-specific ``INSERT ... ON CONFLICT`` behind one function, so callers stay portable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: Connection, table: Table) -> Any:
    """An INSERT construct of the connection's dialect, which has ``on_conflict_*``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)

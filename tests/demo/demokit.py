"""Shared pieces of the demo-store tests (imported by name: this folder is on ``sys.path``)."""

from __future__ import annotations

from sqlalchemy import delete

from shopsense.db.models import Base
from shopsense.db.session import Database
from shopsense.demo import StoreSpec
from shopsense.settings import Settings

# Big enough for the planted traits to show in a few hundred orders, small enough to be quick.
TRAIT_SPEC = StoreSpec(users=1000, products=120, days=60, seed=7)
# For checks that look at every row or generate more than once.
SMALL_SPEC = StoreSpec(users=300, products=60, days=30, seed=11)


def empty(database: Database) -> None:
    """Delete every row of every table (children first)."""
    with database.write() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


def demo_settings(db_url: str) -> Settings:
    """Settings for generating into the test database, in UTC so planted hours read as is."""
    return Settings(database_url=db_url, timezone="UTC", datasets=None, log_json=False)

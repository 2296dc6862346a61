"""Alembic environment: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context

from shopsense.db.models import Base
from shopsense.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None  # noqa: S101 - set by shopsense.db.migrate

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()

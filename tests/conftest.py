"""Shared fixtures. Tests run on SQLite by default and on PostgreSQL when
``SHOPSENSE_TEST_DATABASE_URL`` names one (``.ci/run`` does both). The test database is
migrated once per run and emptied before each test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from shopsense.api.app import create_app
from shopsense.db.migrate import upgrade
from shopsense.db.models import Base
from shopsense.db.session import Database
from shopsense.settings import Settings, get_settings

WRITE_KEY = "test-write-key"
SECRET_KEY = "test-secret-key"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SHOPSENSE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _database(db_url: str) -> Iterator[Database]:
    database = Database(db_url, sqlite_synchronous="OFF")
    yield database
    database.dispose()


def empty_all(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.write() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


@pytest.fixture(scope="session")
def emptied() -> Callable[[Database], None]:
    """``empty_all``, for module-scoped fixtures that fill the database once."""
    return empty_all


@pytest.fixture
def db(_database: Database) -> Database:
    """The test database, empty."""
    empty_all(_database)
    return _database


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key=SECRET_KEY,
        write_key=WRITE_KEY,
        datasets=None,
        log_json=False,
        dashboard_cache_seconds=0,  # figures computed on every call; cache tests turn it on
    )


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI against the test database (settings are read afresh from the environment)."""
    monkeypatch.setenv("SHOPSENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("SHOPSENSE_TIMEZONE", "UTC")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def write_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {WRITE_KEY}"}


@pytest.fixture
def secret_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRET_KEY}"}


def datasets_dir() -> Path | None:
    """The real data sets, when this machine has them."""
    configured = os.environ.get("SHOPSENSE_DATASETS")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    return next((c for c in candidates if c.is_dir()), None)

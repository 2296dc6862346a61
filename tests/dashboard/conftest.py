"""Fixtures of the dashboard tests: settings and keys for an app of their own, a generated
store for a module's tests, reading a page's JSON and an emptied answer cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopsense.dashboard.cache import CACHE
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.settings import Settings

SECRET = "dash-secret"
WRITE = "dash-write"

MakeSettings = Callable[..., Settings]
Generated = Callable[..., AbstractContextManager[tuple[Database, Settings]]]
ReadPage = Callable[[TestClient, str, dict[str, str]], dict[str, Any]]


@pytest.fixture(scope="session")
def make_settings(db_url: str) -> MakeSettings:
    """Settings on the test database, in UTC, with the keys of ``dash_secret_headers`` and
    ``dash_write_headers`` (or those given); any other field given on top."""

    def make(**extra: Any) -> Settings:
        fields: dict[str, Any] = {
            "database_url": db_url, "datasets": None, "log_json": False, "timezone": "UTC",
            "secret_key": SECRET, "write_key": WRITE,
        }  # fmt: skip
        return Settings(**{**fields, **extra})

    return make


@pytest.fixture(scope="session")
def dash_secret_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture(scope="session")
def dash_write_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {WRITE}"}


@pytest.fixture(scope="session")
def generated(_database: Database, emptied: Any, make_settings: MakeSettings) -> Generated:
    """A store generated into the emptied test database, with ``make_settings(**extra)``, for
    the length of a ``with`` block (module-scoped fixtures); the database is emptied again
    after it, once the dashboard cache's computations under way are done."""

    @contextmanager
    def store(spec: StoreSpec, **extra: Any) -> Iterator[tuple[Database, Settings]]:
        settings = make_settings(**extra)
        emptied(_database)
        generate_store(_database, spec, settings=settings)
        yield _database, settings
        CACHE.wait()
        emptied(_database)

    return store


@pytest.fixture(scope="session")
def read_page(dash_secret_headers: dict[str, str]) -> ReadPage:
    """A page's JSON for ``params``, read with the secret key (the answer must be a 200)."""

    def read(client: TestClient, path: str, params: dict[str, str]) -> dict[str, Any]:
        got = client.get(path, params=params, headers=dash_secret_headers)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    return read


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """An empty dashboard cache for the test, emptied again once its computations are done."""
    CACHE.clear()
    yield
    CACHE.wait()
    CACHE.clear()

"""Fixtures of the tracking tests: a pinned server clock, posting events, reading rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select
from trackingkit import RECEIVED, TRACK, Rows, Track

from shopsense.db.session import Database


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The route reads the time once per request; pin it so stored times are exact."""
    monkeypatch.setattr("shopsense.api.routes.tracking.now", lambda: RECEIVED)
    return RECEIVED


@pytest.fixture
def track(client: TestClient, write_headers: dict[str, str]) -> Track:
    """POST a JSON body to the tracking endpoint with the write key."""

    def post(body: Any) -> httpx.Response:
        return client.post(TRACK, json=body, headers=write_headers)

    return post


@pytest.fixture
def rows(db: Database) -> Rows:
    """Every row of a table as a dict, in primary-key order."""

    def read(table: Table) -> list[dict[str, Any]]:
        with db.read() as conn:
            stmt = select(table).order_by(*table.primary_key.columns)
            return [dict(r) for r in conn.execute(stmt).mappings()]

    return read

"""Fixtures of the demo-store tests: the planted store, generated once per module."""

from __future__ import annotations

from typing import Any

import pytest
from demokit import TRAIT_SPEC, demo_settings, empty

from shopsense.db.session import Database
from shopsense.demo import generate_store


@pytest.fixture(scope="module")
def planted(_database: Database, db_url: str) -> tuple[Database, dict[str, Any]]:
    """The test database holding TRAIT_SPEC's store, and its ground truth."""
    empty(_database)
    truth = generate_store(_database, TRAIT_SPEC, settings=demo_settings(db_url))
    return _database, truth

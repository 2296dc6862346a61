"""The profit report on a generated store: every section answers, figures agree with their
own modules (margins, CAC), the opportunities are ranked by money, and the endpoint and the
CLI serve the same report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopsense.api.app import create_app
from shopsense.cli import app
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profiles import ProfileEngine
from shopsense.profit.acquisition import cac_by_channel
from shopsense.profit.engine import ProfitOptimizationEngine
from shopsense.profit.margins import margin_analysis
from shopsense.settings import Settings

SPEC = StoreSpec(users=600, products=80, days=45, seed=9)
START, END = datetime(2026, 9, 1), datetime(2026, 11, 2)
SECRET = {"Authorization": "Bearer profit-secret"}


@pytest.fixture(scope="module")
def store(
    _database: Database, db_url: str, emptied: Any
) -> Iterator[tuple[Database, Settings, Any]]:
    emptied(_database)
    settings = Settings(
        database_url=db_url, datasets=None, log_json=False, timezone="UTC",
        secret_key="profit-secret",
    )  # fmt: skip
    truth = generate_store(_database, SPEC, settings=settings)
    ProfileEngine(_database, settings).rebuild(END)
    yield _database, settings, truth
    emptied(_database)


def test_every_section_agrees_with_its_module(store: tuple[Database, Settings, Any]) -> None:
    db, settings, truth = store
    report = ProfitOptimizationEngine(db, settings).report(START, END, now=END)
    with db.read() as conn:
        totals = margin_analysis(conn, START, END, by=[]).totals
        cac = {r["channel"]: r for r in cac_by_channel(conn, START, END)}
    assert report["revenue"]["gross_margin"] == totals["gross_margin"] > 0
    assert report["revenue"]["revenue_per_user"] > 0
    assert {"category", "brand", "channel", "segment", "period"} <= set(report["margins"])
    channels = {c["channel"]: c for c in report["marketing"]}
    for name, planted in truth["channels"].items():
        if planted["cac"] is not None:
            assert channels[name]["cac"] == cac[name]["cac"] == planted["cac"]
            assert channels[name]["roi"] is not None and channels[name]["clv_cac"] is not None
    assert report["inventory"]["totals"]["stock_value"] > 0
    clearing = report["inventory"]["clearing_bundles"]
    slow = {r["item"] for r in report["inventory"]["slow_movers"]}
    assert clearing and all(c["partner"] != c["slow_item"] for c in clearing)
    assert slow & {c["slow_item"] for c in clearing}
    assert {s["segment"] for s in report["retention"]} >= {"high_value", "at_risk"}
    money = [abs(o["money_at_stake"]) for o in report["opportunities"]]
    assert money and money == sorted(money, reverse=True)
    assert {o["kind"] for o in report["opportunities"]} >= {"inventory"}


def test_the_endpoint_and_the_cli(
    store: tuple[Database, Settings, Any], runner: CliRunner, tmp_path: Path
) -> None:
    db, settings, _ = store
    with TestClient(create_app(settings, db)) as client:
        answer = client.get(
            "/analytics/profit-optimization",
            params={"from": "2026-09-01", "to": "2026-11-02"},
            headers=SECRET,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) >= {"revenue", "margins", "pricing", "inventory", "marketing",
                             "retention", "opportunities"}  # fmt: skip
        bad = client.get("/analytics/profit-optimization", params={"from": "x"}, headers=SECRET)
        assert bad.status_code == 422
        assert client.get("/analytics/profit-optimization").status_code == 401
    out = tmp_path / "profit.md"
    result = runner.invoke(
        app,
        ["report", "profit", "--from", "2026-09-01", "--to", "2026-11-02", "--markdown", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "opportunities" in result.output and "# Profit report" in out.read_text()

"""``shopsense generate`` fills the configured database and writes the ground truth."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.models import activity_table, orders_table, users_table
from shopsense.db.session import Database


def test_generate_writes_the_store_and_its_truth(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "truth.json"
    args = ["generate", "--users", "60", "--products", "30", "--days", "14", "--seed", "5"]
    result = runner.invoke(app, [*args, "--ground-truth", str(out)])
    assert result.exit_code == 0, result.output
    truth = json.loads(out.read_text())
    assert truth["spec"]["users"] == 60 and truth["spec"]["seed"] == 5
    with db.read() as conn:
        events, orders, users = (
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (activity_table, orders_table, users_table)
        )
    assert events == truth["counts"]["events"]
    assert orders == truth["counts"]["orders"]
    assert users == 60

"""``shopsense import events`` and ``shopsense import spend`` through the CLI, counted by hand."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.models import activity_table, orders_table, spend_table
from shopsense.db.session import Database
from shopsense.importers.events import import_events
from shopsense.settings import Settings

LINES = [
    '{"event_id": "e1", "type": "page_view", "anonymous_id": "a1"}',
    "",
    '{"event_id": "e2", "type": "Order Completed", "user_id": "u1", "order_id": "O1",'
    ' "items": [{"product_id": "P1", "quantity": 2, "price": 4.5}]}',
    "{not json",
    '{"event_id": "e3", "type": "product_view", "user_id": "u1"}',
    '{"event_id": "e1", "type": "page_view", "anonymous_id": "a1"}',
]


def test_events_file_counts_and_line_numbers(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    summary = import_events(db, path, settings=settings)
    # Lines 1 and 3 stored; 4 is not JSON; 5 lacks product_id; 6 repeats line 1.
    assert summary.counts == {"events": 2, "duplicates": 1}
    assert {r["line"]: r["errors"][0]["loc"] for r in summary.rejected} == {
        4: [],
        5: ["product_id"],
    }
    with db.read() as conn:
        types = conn.execute(select(activity_table.c.event_id, activity_table.c.type)).all()
        revenue = conn.execute(select(orders_table.c.revenue)).scalar_one()
    assert sorted(tuple(t) for t in types) == [("e1", "page_view"), ("e2", "purchase")]
    assert revenue == 9.0


def test_events_through_the_cli(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(LINES))
    result = runner.invoke(app, ["import", "events", str(path)])
    assert result.exit_code == 0, result.output
    assert "events" in result.output and "rejected" in result.output


def test_spend_csv(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(
        "Date,Channel,Campaign,Amount\n"
        "2026-10-01,google,brand,100\n"
        "2026-10-01,facebook,,20.5\n"
        "2026-10-02,google,brand,-3\n"
    )
    result = runner.invoke(app, ["import", "spend", str(path)])
    assert result.exit_code == 0, result.output
    assert "line': 4" in result.output  # the negative amount, header = line 1
    with db.read() as conn:
        rows = conn.execute(
            select(spend_table.c.channel, spend_table.c.amount).order_by(spend_table.c.channel)
        ).all()
    assert [tuple(r) for r in rows] == [("facebook", 20.5), ("google", 100.0)]

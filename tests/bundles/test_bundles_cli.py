"""``shopsense bundles mine`` stores a run per source; ``shopsense bundles show`` answers
as the endpoint would and stores the offers."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.models import bundle_recommendation_table, mining_run_table
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.settings import Settings


def test_mine_then_show(runner: CliRunner, db: Database, db_url: str) -> None:
    spec = StoreSpec(users=300, products=60, days=30, seed=11)
    generate_store(db, spec, settings=Settings(database_url=db_url, datasets=None))
    result = runner.invoke(app, ["bundles", "mine"])
    assert result.exit_code == 0, result.output
    assert "orders:" in result.output and "sessions:" in result.output
    with db.read() as conn:
        sources = conn.execute(select(mining_run_table.c.source)).scalars().all()
    assert sorted(sources) == ["orders", "sessions"]
    result = runner.invoke(
        app, ["bundles", "show", "--types", "upsell,promotional", "--limit", "3"]
    )
    assert result.exit_code == 0, result.output
    with db.read() as conn:
        offered = conn.execute(
            select(bundle_recommendation_table.c.type, func.count())
            .where(bundle_recommendation_table.c.reason != "demo offer")  # the store's own
            .group_by(bundle_recommendation_table.c.type)
        ).all()
    assert offered and {t for t, _ in offered} <= {"upsell", "promotional"}
    assert sum(n for _, n in offered) <= 3
    result = runner.invoke(app, ["bundles", "show", "--types", "nonsense"])
    assert result.exit_code != 0
    result = runner.invoke(app, ["bundles", "mine", "--source", "nonsense"])
    assert result.exit_code != 0

"""``shopsense keys create|list|revoke`` against the test database, then used over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.models import api_keys_table
from shopsense.db.session import Database


def test_created_keys_work_with_their_scope_until_revoked(
    runner: CliRunner, client: TestClient, db: Database
) -> None:
    created = runner.invoke(app, ["keys", "create", "--scope", "write", "--name", "site"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert key.startswith("ss_wk_")
    with db.read() as conn:
        stored = conn.execute(select(api_keys_table)).mappings().one()
    assert stored["key_hash"] != key and key not in stored["key_hash"]
    assert stored["scope"] == "write"

    headers = {"Authorization": f"Bearer {key}"}
    event = {"type": "page_view", "anonymous_id": "a"}
    assert client.post("/analytics/track-activity", json=event, headers=headers).status_code == 200
    assert client.get("/catalog/products/x", headers=headers).status_code == 403

    listed = runner.invoke(app, ["keys", "list"])
    assert "site" in listed.output and key[:12] in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", key[:12]])
    assert revoked.exit_code == 0, revoked.output
    answer = client.post("/analytics/track-activity", json=event, headers=headers)
    assert answer.status_code == 401
    assert runner.invoke(app, ["keys", "revoke", key]).exit_code == 1


def test_secret_key_from_cli_reads_the_catalog(runner: CliRunner, client: TestClient) -> None:
    key = runner.invoke(app, ["keys", "create", "--scope", "secret"]).output.strip()
    answer = client.get("/catalog/products/x", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 404


def test_unknown_scope_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "create", "--scope", "admin"])
    assert result.exit_code != 0

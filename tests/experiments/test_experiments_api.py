"""Experiments over the API and the CLI: create (validated, 409 on a taken name), list,
read out on scripted traffic (exact per-variant counts, intervals and p-values present, the
split checked), stop with a winner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.models import experiment_table, recommendation_log_table
from shopsense.db.session import Database
from shopsense.experiments import assign

T0 = datetime(2026, 10, 1, 12)
SPEC = {
    "name": "ranking-1",
    "variants": [
        {"name": "A", "strategy": "hybrid"},
        {"name": "B", "strategy": "popular", "weight": 1.0},
    ],
    "holdout": 0.1,
    "baseline_rate": 0.05,
}


def _traffic(
    client: TestClient, headers: dict[str, str], db: Database, users: int
) -> dict[str, Any]:
    """Each user is assigned as the router would, sees one list, and clicks it when their
    index is even (B users click every list): exact counts per variant."""
    variants = [("A", 1.0), ("B", 1.0)]
    counts: dict[str, dict[str, int]] = {}
    logs, events = [], []
    for k in range(users):
        user = f"u{k:04d}"
        arm = assign("ranking-1", user, variants, holdout=0.1)
        assert arm is not None
        rid = f"r{k:04d}"
        logs.append(
            {"recommendation_id": rid, "user_id": user, "context": "home",
             "strategy": "popular", "request": {}, "created_at": T0, "experiment": "ranking-1",
             "variant": arm,
             "items": [{"product_id": "P1", "rank": 1, "score": 1.0, "reason_kind": "x"}]}
        )  # fmt: skip
        at = (T0 + timedelta(minutes=k)).isoformat() + "Z"
        events.append({"event_id": f"v{k}", "type": "recommendation_view", "user_id": user,
                       "recommendation_id": rid, "timestamp": at})  # fmt: skip
        clicked = arm == "B" or k % 2 == 0
        if clicked:
            events.append({"event_id": f"c{k}", "type": "recommendation_click", "user_id": user,
                           "recommendation_id": rid, "position": 1, "timestamp": at})  # fmt: skip
        c = counts.setdefault(arm, {"users": 0, "clicks": 0})
        c["users"] += 1
        c["clicks"] += clicked
    with db.write() as conn:
        conn.execute(insert(recommendation_log_table), logs)
    for lo in range(0, len(events), 500):
        answer = client.post(
            "/analytics/track-activity", json={"batch": events[lo : lo + 500]}, headers=headers
        )
        assert answer.json()["accepted"] == len(events[lo : lo + 500])
    return counts


def test_create_read_out_and_stop(
    client: TestClient,
    write_headers: dict[str, str],
    secret_headers: dict[str, str],
    db: Database,
) -> None:
    created = client.post("/experiments", json=SPEC, headers=secret_headers)
    assert created.status_code == 201, created.text
    assert created.json()["planned_users"] > 1000 and created.json()["status"] == "running"
    assert client.post("/experiments", json=SPEC, headers=secret_headers).status_code == 409
    with db.write() as conn:  # the traffic below happened after the start
        conn.execute(update(experiment_table).values(started_at=T0 - timedelta(hours=1)))
    counts = _traffic(client, write_headers, db, 400)
    listed = client.get("/experiments", headers=secret_headers).json()["experiments"]
    assert [e["name"] for e in listed] == ["ranking-1"]
    report = client.get("/experiments/ranking-1", headers=secret_headers)
    assert report.status_code == 200, report.text
    body = report.json()
    by_variant = {v["variant"]: v for v in body["variants"]}
    assert set(by_variant) == {"A", "B", "holdout"}
    for arm in ("A", "B", "holdout"):
        got = by_variant.get(arm)
        want = counts.get(arm, {"users": 0, "clicks": 0})
        assert got is not None and (got["users"], got["clicks"]) == (want["users"], want["clicks"])
        assert got["impressions"] == want["users"]
    b = by_variant["B"]["metrics"]["ctr"]
    assert by_variant["A"]["metrics"]["ctr"]["value"] == pytest.approx(
        counts["A"]["clicks"] / counts["A"]["users"]
    )
    # B clicks every list, A about half: a lift near +100 %, clearly significant.
    assert b["value"] == pytest.approx(1.0)
    assert b["lift_ci"][0] < b["lift"] < b["lift_ci"][1]
    assert b["p_value"] < 0.001 and b["sequential_p_value"] < 0.05
    assert body["peeking"] is True and b["significant"] is False  # below the planned size
    assert body["srm"]["mismatch"] is False
    stopped = client.post(
        "/experiments/ranking-1/stop", json={"winner": "B"}, headers=secret_headers
    )
    assert stopped.status_code == 200 and stopped.json()["winner"] == "B"
    again = client.post("/experiments/ranking-1/stop", json={}, headers=secret_headers)
    assert again.status_code == 409
    assert client.get("/experiments/nope", headers=secret_headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SPEC, "variants": SPEC["variants"][:1]}, ["body", "variants"]),
        ({**SPEC, "holdout": 1.0}, ["body", "holdout"]),
        ({**SPEC, "traffic": 0}, ["body", "traffic"]),
        ({**SPEC, "variants": [{"name": "A", "strategy": "magic"}, SPEC["variants"][1]]},
         ["body", "variants", 0, "strategy"]),
        ({**SPEC, "name": "no spaces please"}, ["body", "name"]),
        ({**SPEC, "colour": "red"}, ["body", "colour"]),
    ],
)  # fmt: skip
def test_bad_experiments_are_422(
    client: TestClient, secret_headers: dict[str, str], body: dict[str, Any], field: list[Any]
) -> None:
    answer = client.post("/experiments", json=body, headers=secret_headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["loc"] for e in answer.json()["errors"]]


def test_experiments_need_the_secret_key(client: TestClient, write_headers: dict[str, str]) -> None:
    assert client.post("/experiments", json=SPEC, headers=write_headers).status_code == 403
    assert client.get("/experiments").status_code == 401


def test_the_cli_creates_reads_and_stops(runner: CliRunner, db: Database) -> None:
    create = [
        "experiments", "create", "cli-1", "--variant", "A=strategy:hybrid",
        "--variant", "B=strategy:popular,weight:2", "--holdout", "0.05", "--baseline", "0.05",
    ]  # fmt: skip
    result = runner.invoke(app, create)
    assert result.exit_code == 0, result.output
    assert "planned" in result.output
    assert runner.invoke(app, ["experiments", "list"]).exit_code == 0
    result = runner.invoke(app, ["experiments", "results", "cli-1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["experiments", "stop", "cli-1", "--winner", "B"])
    assert result.exit_code == 0 and "winner B" in result.output
    bad = runner.invoke(app, ["experiments", "create", "cli-2", "--variant", "A=hybrid"])
    assert bad.exit_code != 0
    rebuilt = runner.invoke(app, ["experiments", "rebuild-rollup"])
    assert rebuilt.exit_code == 0 and "rebuilt" in rebuilt.output

"""Keys and scopes: a write key may track; only a secret key reaches the rest."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shopsense.auth.keys import create_key, hash_key, revoke_key
from shopsense.db.models import activity_table, api_keys_table
from shopsense.db.session import Database

TRACK = "/analytics/track-activity"
EVENT = {"event_id": "e1", "type": "page_view", "user_id": "U1"}
PRODUCT = [{"product_id": "P1", "name": "Mug", "price": 12.5}]
SPEND = [{"date": "2024-04-01", "channel": "google", "amount": 10}]

# Every secret-only endpoint, as (method, path, JSON body), in an order that succeeds.
SECRET_ONLY: list[tuple[str, str, Any]] = [
    ("PUT", "/catalog/products", PRODUCT),
    ("GET", "/catalog/products/P1", None),
    ("DELETE", "/catalog/products/P1", None),
    ("POST", "/marketing/spend", SPEND),
    ("DELETE", "/users/U1", None),
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def call(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.request(method, path, json=body, headers=headers)


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def stored_events(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(activity_table.c.event_id)).scalars())


@pytest.mark.parametrize(("method", "path", "body"), [("POST", TRACK, EVENT), *SECRET_ONLY])
@pytest.mark.parametrize(
    "headers",
    [{}, bearer("not-a-key"), {"Authorization": "Bearer "}, {"Authorization": "Basic dTpw"}],
    ids=["no key", "unknown key", "empty key", "basic auth"],
)
def test_without_a_valid_key_it_is_401(
    client: TestClient, db: Database, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    answer = call(client, method, path, body, headers)
    assert assert_problem(answer, 401)["title"] == "Unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert stored_events(db) == []


def test_a_write_key_can_track(
    client: TestClient, db: Database, write_headers: dict[str, str]
) -> None:
    answer = client.post(TRACK, json=EVENT, headers=write_headers)
    assert answer.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert stored_events(db) == ["e1"]


@pytest.mark.parametrize(("method", "path", "body"), SECRET_ONLY)
def test_a_write_key_is_forbidden_the_rest(
    client: TestClient,
    secret_headers: dict[str, str],
    write_headers: dict[str, str],
    method: str,
    path: str,
    body: Any,
) -> None:
    client.put("/catalog/products", json=PRODUCT, headers=secret_headers)
    client.post(TRACK, json=EVENT, headers=secret_headers)
    body_out = assert_problem(call(client, method, path, body, write_headers), 403)
    assert "secret" in body_out["detail"]
    still = client.get("/catalog/products/P1", headers=secret_headers).json()
    assert (still["name"], still["active"]) == ("Mug", True)  # nothing was changed


def test_a_secret_key_can_do_everything(
    client: TestClient, db: Database, secret_headers: dict[str, str]
) -> None:
    assert client.post(TRACK, json=EVENT, headers=secret_headers).json()["accepted"] == 1
    for method, path, body in SECRET_ONLY:
        answer = call(client, method, path, body, secret_headers)
        assert answer.status_code == 200, (method, path, answer.text)
    assert stored_events(db) == []  # DELETE /users/U1 erased the event


def test_keys_made_in_the_database_work_until_revoked(client: TestClient, db: Database) -> None:
    with db.write() as conn:
        write_key = create_key(conn, "write", "shop front")
        secret_key = create_key(conn, "secret", "back office")
    assert client.post(TRACK, json=EVENT, headers=bearer(write_key)).json()["accepted"] == 1
    assert_problem(client.get("/catalog/products/P1", headers=bearer(write_key)), 403)
    answer = client.put("/catalog/products", json=PRODUCT, headers=bearer(secret_key))
    assert answer.json() == {"upserted": 1, "rejected": []}

    with db.write() as conn:
        assert revoke_key(conn, write_key) == 1
    assert_problem(client.post(TRACK, json=EVENT, headers=bearer(write_key)), 401)
    with db.write() as conn:
        assert revoke_key(conn, secret_key[:12]) == 1  # by its printed prefix
    assert_problem(client.get("/catalog/products/P1", headers=bearer(secret_key)), 401)


def test_only_the_hash_of_a_key_is_stored(db: Database) -> None:
    with db.write() as conn:
        key = create_key(conn, "secret", "ops")
    with db.read() as conn:
        [row] = conn.execute(select(api_keys_table)).mappings().all()
    assert row["key_hash"] == hash_key(key)
    assert row["prefix"] == key[:12]
    assert (row["scope"], row["name"], row["revoked_at"]) == ("secret", "ops", None)
    assert not any(isinstance(v, str) and key in v for v in row.values())

"""PUT/GET/DELETE /catalog/products and POST /marketing/spend."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from shopsense.db.models import spend_table
from shopsense.db.session import Database

MUG = {
    "product_id": "P1",
    "name": "Mug",
    "description": "Stoneware mug",
    "category": " Home / Kitchen /Mugs ",
    "brand": "Acme",
    "price": 12.5,
    "cost": 5.0,
    "stock": 40,
    "attributes": {"colour": "blue"},
    "tags": ["gift"],
}


def test_upsert_then_read_back(client: TestClient, secret_headers: dict[str, str]) -> None:
    answer = client.put("/catalog/products", json=[MUG], headers=secret_headers)
    assert answer.status_code == 200
    assert answer.json() == {"upserted": 1, "rejected": []}
    product = client.get("/catalog/products/P1", headers=secret_headers).json()
    assert product["category"] == "Home/Kitchen/Mugs"
    assert product["cost"] == 5.0
    assert product["cost_estimated"] is False
    assert product["attributes"] == {"colour": "blue"}
    assert product["created_at"].endswith("Z")


def test_upsert_replaces_and_estimates_missing_cost(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    client.put("/catalog/products", json=[MUG], headers=secret_headers)
    changed = {"product_id": "P1", "name": "Big mug", "price": 20.0}
    client.put("/catalog/products", json=[changed], headers=secret_headers)
    product = client.get("/catalog/products/P1", headers=secret_headers).json()
    assert product["name"] == "Big mug"
    assert product["cost"] == 12.0  # 20 x (1 - default margin 0.4)
    assert product["cost_estimated"] is True


def test_bad_products_are_named_and_good_ones_kept(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    body = [MUG, {"product_id": "P2", "price": -1}, {"name": "no id", "price": 3}, "text"]
    answer = client.put("/catalog/products", json=body, headers=secret_headers).json()
    assert answer["upserted"] == 1
    rejected = {r["index"]: r["errors"] for r in answer["rejected"]}
    assert set(rejected) == {1, 2, 3}
    assert rejected[1][0]["loc"] == ["price"]
    assert rejected[2][0]["loc"] == ["product_id"]


def test_catalog_body_must_be_a_list(client: TestClient, secret_headers: dict[str, str]) -> None:
    answer = client.put("/catalog/products", json=MUG, headers=secret_headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["loc"] == ["body"]


def test_too_many_products_is_413(client: TestClient, secret_headers: dict[str, str]) -> None:
    body = [{"product_id": f"P{i}", "price": 1} for i in range(1001)]
    assert client.put("/catalog/products", json=body, headers=secret_headers).status_code == 413


def test_unknown_product_is_404_problem(client: TestClient, secret_headers: dict[str, str]) -> None:
    for method in ("GET", "DELETE"):
        answer = client.request(method, "/catalog/products/nope", headers=secret_headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert "nope" in answer.json()["detail"]


def test_delete_deactivates(client: TestClient, secret_headers: dict[str, str]) -> None:
    client.put("/catalog/products", json=[MUG], headers=secret_headers)
    answer = client.delete("/catalog/products/P1", headers=secret_headers)
    assert answer.status_code == 200
    assert answer.json()["active"] is False
    assert client.get("/catalog/products/P1", headers=secret_headers).json()["active"] is False


def test_spend_upserts_by_day_channel_campaign(
    client: TestClient, secret_headers: dict[str, str], db: Database
) -> None:
    lines = [
        {"date": "2026-10-01", "channel": "google", "campaign": "brand", "amount": 100},
        {"date": "2026-10-01", "channel": "google", "campaign": "brand", "amount": 120},
        {"date": "2026-10-01", "channel": "facebook", "amount": 50.5},
        {"date": "not a date", "channel": "x", "amount": 1},
    ]
    answer = client.post("/marketing/spend", json=lines, headers=secret_headers).json()
    assert answer["upserted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [3]
    client.post("/marketing/spend", json=lines[:1], headers=secret_headers)
    with db.read() as conn:
        rows = conn.execute(
            select(spend_table.c.channel, spend_table.c.campaign, spend_table.c.amount).order_by(
                spend_table.c.channel
            )
        ).all()
    assert [tuple(r) for r in rows] == [("facebook", "", 50.5), ("google", "brand", 100.0)]

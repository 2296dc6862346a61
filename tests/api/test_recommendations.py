"""``POST /analytics/recommendations`` over HTTP: every context and strategy answers the
contract's shape, bad requests are 422 problems naming the field, keys are checked, a
visitor's session counts at once, and no input makes it answer 5xx."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shopsense.api.app import create_app
from shopsense.db.models import products_table, recommendation_log_table
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profiles import ProfileEngine
from shopsense.recommend.training import train
from shopsense.settings import Settings

URL = "/analytics/recommendations"
WRITE = {"Authorization": "Bearer rec-write-key"}
SECRET = {"Authorization": "Bearer rec-secret-key"}
SPEC = StoreSpec(users=300, products=80, days=45, seed=7)
AS_OF = datetime(2026, 11, 1, 23, 59)
CONTEXTS = ["home", "product", "cart", "category", "search", "email", "checkout"]
STRATEGIES = [
    "auto", "personalized", "collaborative", "content", "popular", "trending", "similar_items",
]  # fmt: skip
ITEM_FIELDS = {"product_id", "rank", "score", "reason", "name", "price"}


def _settings(db_url: str, models_dir: Path) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key="rec-secret-key",
        write_key="rec-write-key",
        datasets=None,
        log_json=False,
        timezone="UTC",
        models_dir=models_dir,
    )


@pytest.fixture(scope="module")
def served(
    _database: Database, db_url: str, emptied: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Database]]:
    """A client over the store with its profiles and one trained version."""
    emptied(_database)
    settings = _settings(db_url, tmp_path_factory.mktemp("models"))
    generate_store(_database, SPEC, settings=settings)
    ProfileEngine(_database, settings).rebuild(AS_OF)
    train(_database, settings, AS_OF)
    with TestClient(create_app(settings, _database), raise_server_exceptions=False) as client:
        yield client, _database


@pytest.fixture(scope="module")
def client(served: tuple[TestClient, Database]) -> TestClient:
    return served[0]


@pytest.fixture(scope="module")
def catalog(served: tuple[TestClient, Database]) -> list[dict[str, Any]]:
    with served[1].read() as conn:
        rows = conn.execute(select(products_table).order_by(products_table.c.product_id))
        return [dict(r) for r in rows.mappings()]


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(("context", "strategy"), list(itertools.product(CONTEXTS, STRATEGIES)))
def test_every_context_and_strategy_answers(
    served: tuple[TestClient, Database],
    catalog: list[dict[str, Any]],
    context: str,
    strategy: str,
) -> None:
    client, db = served
    body: dict[str, Any] = {"user_id": "U00010", "context": context, "strategy": strategy}
    body |= {
        "product": {"product_id": catalog[0]["product_id"]},
        "cart": {"cart": [catalog[1]["product_id"], catalog[2]["product_id"]]},
        "checkout": {"cart": [catalog[3]["product_id"]]},
        "category": {"category": "Home"},  # the demo's largest department
    }.get(context, {})
    answer = client.post(URL, json=body, headers=WRITE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    out = answer.json()
    assert set(out) == {"recommendation_id", "strategy", "model_version", "experiment", "items"}
    assert out["experiment"] is None and out["strategy"]
    assert len(out["items"]) == 10  # the default limit
    for rank, item in enumerate(out["items"], start=1):
        assert set(item) == ITEM_FIELDS and item["rank"] == rank
        assert set(item["reason"]) == {"kind", "detail"} and item["reason"]["kind"]
    with db.read() as conn:
        logged = conn.execute(
            select(recommendation_log_table.c.context, recommendation_log_table.c.strategy).where(
                recommendation_log_table.c.recommendation_id == out["recommendation_id"]
            )
        ).one()
    assert tuple(logged) == (context, out["strategy"])


def test_both_keys_may_ask_and_others_may_not(client: TestClient) -> None:
    body = {"user_id": "U00010", "limit": 3}
    assert client.post(URL, json=body, headers=WRITE).status_code == 200
    assert client.post(URL, json=body, headers=SECRET).status_code == 200
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dTpw"}):
        assert_problem(client.post(URL, json=body, headers=headers), 401)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"user_id": "u", "limit": 0}, ["body", "limit"]),
        ({"user_id": "u", "limit": 101}, ["body", "limit"]),
        ({"user_id": "u", "limit": "ten"}, ["body", "limit"]),
        ({"user_id": "u", "context": "basket"}, ["body", "context"]),
        ({"user_id": "u", "strategy": "magic"}, ["body", "strategy"]),
        ({"user_id": "u", "objective": "fun"}, ["body", "objective"]),
        ({"user_id": "u", "diversity": 1.5}, ["body", "diversity"]),
        ({"user_id": "u", "filters": {"price_min": 50, "price_max": 10}},
         ["body", "filters", "price_max"]),
        ({"user_id": "u", "filters": {"price_min": -1}}, ["body", "filters", "price_min"]),
        ({"user_id": "u", "filters": {"colour": "red"}}, ["body", "filters", "colour"]),
        ({}, ["body", "user_id"]),
        ({"context": "home", "limit": 5}, ["body", "user_id"]),
        ({"session_id": "s", "context": "product"}, ["body", "product_id"]),
        ({"session_id": "s", "context": "category"}, ["body", "category"]),
        ({"user_id": ""}, ["body", "user_id"]),
        ({"user_id": "a\x00b"}, ["body", "user_id"]),
        ({"user_id": "u" * 256}, ["body", "user_id"]),
        ({"user_id": "u", "cart": ["p"] * 201}, ["body", "cart"]),
        ({"user_id": "u", "exclude": "P0001"}, ["body", "exclude"]),
        ({"user_id": "u", "colour": "red"}, ["body", "colour"]),
        ([{"user_id": "u"}], ["body"]),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(client: TestClient, body: Any, loc: list[str]) -> None:
    problem = assert_problem(client.post(URL, json=body, headers=WRITE), 422)
    assert loc in [e["loc"] for e in problem["errors"]]
    assert ".".join(loc) in problem["detail"]


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    assert_problem(client.post(URL, content=b"{not json", headers=WRITE), 400)
    assert_problem(client.post(URL, content=b"", headers=WRITE), 400)
    huge = {"user_id": "u", "exclude": ["x" * 200] * 20_000}
    assert_problem(client.post(URL, json=huge, headers=WRITE), 413)


def test_an_unknown_product_is_404(client: TestClient) -> None:
    body = {"session_id": "s", "context": "product", "product_id": "no-such-product"}
    assert (
        "no-such-product"
        in assert_problem(client.post(URL, json=body, headers=WRITE), 404)["detail"]
    )


def test_without_a_trained_model_it_is_503(
    db_url: str, served: tuple[TestClient, Database], tmp_path: Path
) -> None:
    app = create_app(_settings(db_url, tmp_path / "none"), served[1])
    with TestClient(app, raise_server_exceptions=False) as client:
        problem = assert_problem(client.post(URL, json={"user_id": "u"}, headers=WRITE), 503)
    assert problem["title"] == "No trained model"
    assert "shopsense train" in problem["detail"]


def test_a_visitors_session_counts_at_once(
    client: TestClient, catalog: list[dict[str, Any]]
) -> None:
    """Two product views tracked for a new session change its next answer, with no
    retraining: the neighbours of what was viewed, saying so."""
    home = next(p for p in catalog if p["category"].startswith("Home/"))
    same = [p for p in catalog if p["category"] == home["category"]]
    viewed = same[:2] if len(same) > 1 else [home, catalog[0]]
    cold = client.post(URL, json={"session_id": "sess-new", "limit": 5}, headers=WRITE).json()
    assert cold["strategy"] == "popular"
    events = [
        {"event_id": f"sess-view-{k}", "type": "product_view", "anonymous_id": "anon-new",
         "session_id": "sess-new", "product_id": p["product_id"]}
        for k, p in enumerate(viewed)
    ]  # fmt: skip
    tracked = client.post("/analytics/track-activity", json={"batch": events}, headers=WRITE)
    assert tracked.json()["accepted"] == 2
    for who in ({"session_id": "sess-new"}, {"anonymous_id": "anon-new"}):
        warm = client.post(URL, json={**who, "limit": 5}, headers=WRITE).json()
        assert warm["strategy"] == "similar_items"
        names = {p["name"] for p in viewed}
        assert [i["reason"]["kind"] for i in warm["items"]][0] == "because_you_viewed"
        for item in warm["items"]:
            if item["reason"]["kind"] == "because_you_viewed":
                assert item["reason"]["detail"] in names
        assert not {p["product_id"] for p in viewed} & {i["product_id"] for i in warm["items"]}
        assert [i["product_id"] for i in warm["items"]] != [i["product_id"] for i in cold["items"]]


def test_deactivated_products_leave_at_once(
    served: tuple[TestClient, Database], catalog: list[dict[str, Any]]
) -> None:
    client, _ = served
    body = {"session_id": "s-deactivate", "strategy": "popular", "limit": 3}
    first = client.post(URL, json=body, headers=WRITE).json()["items"][0]
    product = next(p for p in catalog if p["product_id"] == first["product_id"])
    assert client.delete(f"/catalog/products/{product['product_id']}", headers=SECRET).is_success
    try:
        client.app.state.personalization.expire()  # type: ignore[attr-defined]
        again = client.post(URL, json=body, headers=WRITE).json()["items"]
        assert product["product_id"] not in {i["product_id"] for i in again}
    finally:
        fields = ("product_id", "name", "category", "brand", "price", "cost", "stock")
        restore = {k: product[k] for k in fields}
        client.put("/catalog/products", json=[restore | {"active": True}], headers=SECRET)
        client.app.state.personalization.expire()  # type: ignore[attr-defined]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
FIELDS = {
    "user_id": st.sampled_from(["U00010", "nobody", ""]) | JSON,
    "anonymous_id": st.text(max_size=20) | JSON,
    "session_id": st.text(max_size=20),
    "context": st.sampled_from(CONTEXTS) | JSON,
    "strategy": st.sampled_from(STRATEGIES) | JSON,
    "product_id": st.sampled_from(["P0001", "P0002", "nope"]) | JSON,
    "cart": st.lists(st.sampled_from(["P0001", "P0003", "x"]), max_size=4) | JSON,
    "category": st.sampled_from(["Home", "home/", "Nope", "/"]) | JSON,
    "limit": st.integers(-5, 120) | JSON,
    "filters": st.fixed_dictionaries(
        {},
        optional={
            "category": st.sampled_from(["Home", "Beauty/"]) | JSON,
            "brand": st.text(max_size=10) | JSON,
            "price_min": st.floats(-10, 300) | JSON,
            "price_max": st.floats(-10, 300) | JSON,
            "in_stock_only": st.booleans() | JSON,
        },
    )
    | JSON,
    "exclude": st.lists(st.sampled_from(["P0001", "P0004"]), max_size=3) | JSON,
    "exclude_purchased": st.booleans() | JSON,
    "diversity": st.floats(-1, 2) | JSON,
    "objective": st.sampled_from(["relevance", "revenue", "profit"]) | JSON,
}


@settings(max_examples=150, deadline=None)
@given(body=st.fixed_dictionaries({}, optional=FIELDS) | JSON)
def test_no_body_makes_it_fail(client: TestClient, body: Any) -> None:
    answer = client.post(URL, json=body, headers=WRITE)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"

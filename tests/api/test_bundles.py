"""``POST /analytics/bundles`` over HTTP: the contract's shape on a product page, every bundle
stored as offered, each type answered alone, bad requests as 422 problems naming the field,
keys checked, no deactivated or sold-out product offered from what a shopper viewed, bundles
before any mining run, and no input making it answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from shopsense.api.app import create_app
from shopsense.bundles.rules import load_rules, mine
from shopsense.db.models import association_rule_table, mining_run_table, products_table
from shopsense.db.models import bundle_recommendation_table as BR
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.settings import Settings

URL = "/analytics/bundles"
WRITE = {"Authorization": "Bearer bundle-write-key"}
SECRET = {"Authorization": "Bearer bundle-secret-key"}
SPEC = StoreSpec(users=1000, products=120, days=60, seed=7)
AS_OF = datetime(2026, 11, 1, 23, 59)
TYPES = ["complementary", "cross_sell", "upsell", "seasonal", "promotional"]
UNMINED = {"upsell", "seasonal", "promotional"}  # the types built without mined rules
CONTEXTS = ["home", "product", "cart", "checkout", "email"]
BUNDLE_FIELDS = {
    "bundle_id", "type", "products", "list_price", "bundle_price", "discount_pct",
    "expected_margin", "expected_profit", "support", "lift", "reason", "valid_until",
}  # fmt: skip
PRODUCT_FIELDS = {"product_id", "name", "price", "quantity"}
Served = tuple[TestClient, Database, Settings]


class Answer(Protocol):
    """What the tests read of a test client's response."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self, **kwargs: Any) -> Any: ...


def _settings(db_url: str, models_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key="bundle-secret-key",
        write_key="bundle-write-key",
        datasets=None,
        log_json=False,
        timezone="UTC",
        models_dir=models_dir,
        **overrides,
    )


@pytest.fixture(scope="module")
def served(
    _database: Database, db_url: str, emptied: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A client over the demo store with its baskets mined (no models needed)."""
    emptied(_database)
    settings = _settings(db_url, tmp_path_factory.mktemp("models"))
    generate_store(_database, SPEC, settings=settings)
    mine(_database, settings, AS_OF)
    with TestClient(create_app(settings, _database), raise_server_exceptions=False) as client:
        yield client, _database, settings


@pytest.fixture(scope="module")
def client(served: Served) -> TestClient:
    return served[0]


@pytest.fixture(scope="module")
def catalog(served: Served) -> list[str]:
    with served[1].read() as conn:
        return list(
            conn.execute(
                select(products_table.c.product_id).order_by(products_table.c.product_id)
            ).scalars()
        )


def _mined_pairs(db: Database) -> tuple[str | None, set[tuple[str, str]]]:
    """The newest orders run and its mined pairs (both directions)."""
    with db.read() as conn:
        stored = load_rules(conn, "orders")
    pairs = stored.rules.filter(pl.col("size") == 2)
    found = set()
    for antecedent, consequent in pairs.select("antecedent", "consequent").iter_rows():
        found |= {(antecedent[0], consequent), (consequent, antecedent[0])}
    return stored.mining_id, found


@pytest.fixture(scope="module")
def anchored(served: Served) -> str:
    """The product mined with the most partners."""
    with served[1].read() as conn:
        rules = load_rules(conn, "orders").rules
    counts = (
        rules.filter(pl.col("size") == 2)
        .group_by(pl.col("antecedent").list.first().alias("product_id"))
        .len()
        .sort(["len", "product_id"], descending=[True, False])
    )
    assert counts.height, "the demo store's orders mined no pairs"
    product_id: str = counts["product_id"][0]
    return product_id


def _types(answer: Answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [b["type"] for b in answer.json()["bundles"]]


@pytest.fixture(scope="module")
def versatile(client: TestClient, catalog: list[str]) -> tuple[str, set[str]]:
    """A product whose page gets complementary, upsell and promotional bundles, with every
    type it gets when all are asked for."""
    for product_id in catalog:
        body = {"product_id": product_id, "limit": 20}
        offered = set(_types(client.post(URL, json=body, headers=WRITE)))
        if {"complementary", "upsell", "promotional"} <= offered:
            return product_id, offered
    raise AssertionError("no product page of the demo store gets all of those types")


def assert_problem(answer: Answer, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def assert_bundle(bundle: dict[str, Any], max_size: int) -> None:
    """One bundle of the contract, every field present and typed, its prices consistent."""
    assert BUNDLE_FIELDS <= set(bundle), BUNDLE_FIELDS - set(bundle)
    assert isinstance(bundle["bundle_id"], str) and bundle["bundle_id"]
    assert bundle["type"] in TYPES
    products = bundle["products"]
    assert isinstance(products, list) and 1 <= len(products) <= max_size
    for product in products:
        assert set(product) == PRODUCT_FIELDS
        assert isinstance(product["product_id"], str) and product["product_id"]
        assert isinstance(product["name"], str) and product["name"]
        assert isinstance(product["price"], int | float) and product["price"] > 0
        assert isinstance(product["quantity"], int) and product["quantity"] >= 1
    assert len({p["product_id"] for p in products}) == len(products)
    for name in ("list_price", "bundle_price", "discount_pct", "expected_margin"):
        assert isinstance(bundle[name], int | float) and not isinstance(bundle[name], bool)
    assert isinstance(bundle["expected_profit"], int | float)
    listed = sum(p["price"] * p["quantity"] for p in products)
    assert bundle["list_price"] == pytest.approx(listed, abs=0.005)
    assert 0 < bundle["bundle_price"] <= bundle["list_price"]
    assert 0 <= bundle["discount_pct"] < 100
    shown = 100 * (1 - bundle["bundle_price"] / bundle["list_price"])
    assert abs(bundle["discount_pct"] - shown) <= 0.01 + 1e-9, (bundle["discount_pct"], shown)
    for name in ("support", "lift"):
        assert bundle[name] is None or isinstance(bundle[name], int | float)
    if bundle["support"] is not None:
        assert 0 < bundle["support"] <= 1
    assert isinstance(bundle["reason"], str) and bundle["reason"].strip()
    assert isinstance(bundle["valid_until"], str)
    assert datetime.fromisoformat(bundle["valid_until"]) > datetime.now()  # noqa: DTZ005


# -- the contract's shape --------------------------------------------------------------------


def test_a_product_page_answers_the_contract_and_stores_each_bundle(
    served: Served, anchored: str
) -> None:
    client, db, _ = served
    body = {"user_id": "U00010", "product_id": anchored, "limit": 10, "max_size": 3}
    answer = client.post(URL, json=body, headers=WRITE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    out = answer.json()
    assert set(out) == {"bundles", "mining_id"}
    mining_id, pairs = _mined_pairs(db)
    assert mining_id is not None and out["mining_id"] == mining_id
    bundles = out["bundles"]
    assert 1 <= len(bundles) <= 10
    for bundle in bundles:
        assert_bundle(bundle, max_size=3)
    assert len({b["bundle_id"] for b in bundles}) == len(bundles)
    assert len({frozenset(p["product_id"] for p in b["products"]) for b in bundles}) == len(
        bundles
    ), "the same set of products offered twice"

    complementary = [b for b in bundles if b["type"] == "complementary"]
    assert complementary, f"no complementary bundle for {anchored}, mined with many partners"
    for bundle in complementary:
        ids = [p["product_id"] for p in bundle["products"]]
        assert ids[0] == anchored and len(ids) >= 2
        # Every pair of the set was mined together.
        for k, a in enumerate(ids):
            for b in ids[k + 1 :]:
                assert (a, b) in pairs, (a, b)
        assert isinstance(bundle["support"], float) and isinstance(bundle["lift"], float)
        assert bundle["lift"] > 1

    with db.read() as conn:
        rows = {
            r["bundle_id"]: r
            for r in conn.execute(
                select(BR).where(BR.c.bundle_id.in_([b["bundle_id"] for b in bundles]))
            ).mappings()
        }
    assert set(rows) == {b["bundle_id"] for b in bundles}
    for bundle in bundles:
        row = rows[bundle["bundle_id"]]
        assert row["type"] == bundle["type"]
        assert row["products"] == bundle["products"]
        for name in ("list_price", "bundle_price", "discount_pct", "expected_margin"):
            assert row[name] == pytest.approx(bundle[name], abs=1e-6), name
        assert row["expected_profit"] == pytest.approx(bundle["expected_profit"], abs=1e-4)
        assert row["context"] == "product"
        assert row["user_id"] == "U00010"
        assert row["anonymous_id"] is None and row["session_id"] is None
        assert row["product_id"] == anchored
        assert row["mining_id"] == mining_id
        assert row["valid_until"] == datetime.fromisoformat(bundle["valid_until"])


def test_limit_and_max_size_are_kept(client: TestClient, anchored: str) -> None:
    for limit, max_size in ((1, 2), (3, 2), (20, 5)):
        body = {"product_id": anchored, "limit": limit, "max_size": max_size}
        answer = client.post(URL, json=body, headers=WRITE)
        assert answer.status_code == 200, answer.text
        bundles = answer.json()["bundles"]
        assert 1 <= len(bundles) <= limit
        for bundle in bundles:
            assert_bundle(bundle, max_size=max_size)


# -- types -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_each_type_alone_answers_only_that_type(
    client: TestClient, versatile: tuple[str, set[str]], catalog: list[str], kind: str
) -> None:
    product_id, offered = versatile
    other = next(p for p in catalog if p != product_id)
    bodies: list[dict[str, Any]] = [
        {"product_id": product_id},
        {"context": "cart", "cart": [product_id, other]},
        {"context": "checkout", "cart": [other]},
        {"context": "home", "user_id": "U00010"},
        {"context": "email", "anonymous_id": "anon-bundles"},
    ]
    for body in bodies:
        types = _types(client.post(URL, json={**body, "types": [kind], "limit": 20}, headers=WRITE))
        assert set(types) <= {kind}, (body, types)
        if "product_id" in body and kind in offered:
            # A type offered among all types has a candidate, so asked alone it answers.
            assert types, f"{kind} offered among all types for {product_id} but not alone"


def test_a_subset_of_types_answers_every_one_that_has_a_candidate(
    client: TestClient, versatile: tuple[str, set[str]]
) -> None:
    product_id, _ = versatile
    wanted = ["promotional", "complementary", "upsell", "upsell"]  # a repeat counts once
    body = {"product_id": product_id, "types": wanted, "limit": 3}
    types = _types(client.post(URL, json=body, headers=WRITE))
    assert sorted(types) == ["complementary", "promotional", "upsell"]


# -- bad requests and keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"product_id": "P0001", "types": ["bogus"]}, ["body", "types", 0]),
        ({"product_id": "P0001", "types": ["upsell", "bogus"]}, ["body", "types", 1]),
        ({"product_id": "P0001", "types": []}, ["body", "types"]),
        ({"product_id": "P0001", "types": "upsell"}, ["body", "types"]),
        ({"product_id": "P0001", "max_size": 1}, ["body", "max_size"]),
        ({"product_id": "P0001", "max_size": 6}, ["body", "max_size"]),
        ({"product_id": "P0001", "max_size": "big"}, ["body", "max_size"]),
        ({"product_id": "P0001", "limit": 0}, ["body", "limit"]),
        ({"product_id": "P0001", "limit": 21}, ["body", "limit"]),
        ({"product_id": "P0001", "limit": 2.5}, ["body", "limit"]),
        ({"product_id": "P0001", "limit": 10**30}, ["body", "limit"]),
        ({"context": "product"}, ["body", "product_id"]),
        ({"context": "product", "cart": ["P0001"]}, ["body", "product_id"]),
        ({"context": "cart"}, ["body", "cart"]),
        ({"context": "checkout", "cart": []}, ["body", "cart"]),
        ({"context": "basket"}, ["body", "context"]),
        ({"product_id": ""}, ["body", "product_id"]),
        ({"product_id": "   "}, ["body", "product_id"]),
        ({"product_id": 1}, ["body", "product_id"]),
        ({"user_id": "u" * 256}, ["body", "user_id"]),
        ({"user_id": "a\x00b"}, ["body", "user_id"]),
        ({"session_id": ["s"]}, ["body", "session_id"]),
        ({"cart": ["P0001", 5]}, ["body", "cart", 1]),
        ({"cart": "P0001"}, ["body", "cart"]),
        ({"cart": ["P0001"] * 201}, ["body", "cart"]),
        ({"product_id": "P0001", "colour": "red"}, ["body", "colour"]),
        ({"product_id": "P0001", "strategy": "popular"}, ["body", "strategy"]),
        ([{"product_id": "P0001"}], ["body"]),
        ("P0001", ["body"]),
        (b"null", ["body"]),
        (b"42", ["body"]),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(client: TestClient, body: Any, loc: list[Any]) -> None:
    if isinstance(body, bytes):  # a JSON document that is no object
        answer = client.post(URL, content=body, headers=WRITE)
    else:
        answer = client.post(URL, json=body, headers=WRITE)
    problem = assert_problem(answer, 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert ".".join(map(str, loc)) in problem["detail"]


def test_malformed_and_oversized_bodies(
    served: Served, anchored: str, db_url: str, tmp_path: Path
) -> None:
    client, db, _ = served
    assert_problem(client.post(URL, content=b'{"product_id": ', headers=WRITE), 400)
    assert_problem(client.post(URL, content=b"", headers=WRITE), 400)
    assert_problem(client.post(URL, content=b"\xff\xfe", headers=WRITE), 400)
    huge = {"product_id": anchored, "user_id": "u" * (3 * 1024 * 1024)}
    assert_problem(client.post(URL, json=huge, headers=WRITE), 413)

    small = create_app(_settings(db_url, tmp_path, max_body_bytes=200), db)
    with TestClient(small, raise_server_exceptions=False) as tiny:
        fits = tiny.post(URL, json={"product_id": anchored, "limit": 2}, headers=WRITE)
        assert fits.status_code == 200, fits.text
        body = {"product_id": anchored, "cart": [f"P{k:04d}" for k in range(1, 41)]}
        problem = assert_problem(tiny.post(URL, json=body, headers=WRITE), 413)
        assert "200" in problem["detail"]


def test_an_unknown_product_is_404_and_unknown_cart_items_are_ignored(
    client: TestClient, anchored: str
) -> None:
    body = {"context": "product", "product_id": "no-such-product"}
    problem = assert_problem(client.post(URL, json=body, headers=WRITE), 404)
    assert "no-such-product" in problem["detail"]
    unknown = {"product_id": "no-such-product", "cart": [anchored]}
    assert_problem(client.post(URL, json=unknown, headers=WRITE), 404)
    for cart in (["no-such-product"], [anchored, "no-such-product", anchored]):
        answer = client.post(URL, json={"context": "cart", "cart": cart}, headers=WRITE)
        assert answer.status_code == 200, answer.text
        for bundle in answer.json()["bundles"]:
            assert "no-such-product" not in {p["product_id"] for p in bundle["products"]}


def test_both_keys_may_ask_and_others_may_not(client: TestClient, anchored: str) -> None:
    body = {"product_id": anchored, "limit": 2}
    assert client.post(URL, json=body, headers=WRITE).status_code == 200
    assert client.post(URL, json=body, headers=SECRET).status_code == 200
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer bundle-write-key-but-longer"},
        {"Authorization": "Basic dTpw"},
    ):
        assert_problem(client.post(URL, json=body, headers=headers), 401)


# -- what a shopper viewed -------------------------------------------------------------------


def _offered(answer: Answer) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {p["product_id"] for b in answer.json()["bundles"] for p in b["products"]}


@pytest.mark.parametrize(
    "change", [{"active": False}, {"stock": 0}], ids=["deactivated", "sold_out"]
)
def test_a_home_page_offers_no_deactivated_or_sold_out_product(
    served: Served, anchored: str, change: dict[str, Any]
) -> None:
    """A visitor's product view anchors their home-page bundles at once; once the product is
    deactivated or sold out, no bundle offers it any more."""
    client, db, _ = served
    engine = client.app.state.bundles  # type: ignore[attr-defined]
    with db.read() as conn:
        product = (
            conn.execute(select(products_table).where(products_table.c.product_id == anchored))
            .mappings()
            .one()
        )
    who = f"bundles-home-{next(iter(change))}"
    event = {"event_id": f"{who}-view", "type": "product_view", "anonymous_id": who,
             "session_id": who, "product_id": anchored}  # fmt: skip
    tracked = client.post("/analytics/track-activity", json={"batch": [event]}, headers=WRITE)
    assert tracked.status_code == 200 and tracked.json()["accepted"] == 1, tracked.text
    body = {"session_id": who, "context": "home", "types": ["complementary"], "limit": 20}
    assert anchored in _offered(client.post(URL, json=body, headers=WRITE))

    fields = ("product_id", "name", "description", "category", "brand", "price", "cost",
              "stock", "attributes", "tags")  # fmt: skip
    restore = {k: product[k] for k in fields if product[k] is not None} | {"active": True}
    try:
        changed = client.put("/catalog/products", json=[restore | change], headers=SECRET)
        assert changed.is_success, changed.text
        engine.expire()
        for wanted in (["complementary"], TYPES):
            again = client.post(URL, json={**body, "types": wanted}, headers=WRITE)
            assert anchored not in _offered(again), (change, wanted)
    finally:
        client.put("/catalog/products", json=[restore], headers=SECRET)
        engine.expire()


# -- no input makes it fail ------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
IDS = st.sampled_from(["P0001", "P0008", "P0042", "P0120", "nope", "", " P0003 ", "é\u200b"])
FIELDS = {
    "user_id": st.sampled_from(["U00010", "U00999", "nobody", "", "ü" * 300]) | JSON,
    "anonymous_id": st.text(max_size=20) | JSON,
    "session_id": st.text(max_size=20) | JSON,
    "context": st.sampled_from([*CONTEXTS, "category", "PRODUCT"]) | JSON,
    "product_id": IDS | JSON,
    "cart": st.lists(IDS, max_size=8) | st.lists(IDS, min_size=195, max_size=205) | JSON,
    "types": st.lists(st.sampled_from([*TYPES, "bogus", ""]), max_size=7) | JSON,
    "limit": st.integers(-5, 30) | st.integers(min_value=2**31) | JSON,
    "max_size": st.integers(-1, 8) | st.integers(max_value=-(2**63)) | JSON,
}


@settings(max_examples=60, deadline=None)
@given(body=st.fixed_dictionaries({}, optional=FIELDS) | JSON)
def test_no_body_makes_it_fail(client: TestClient, body: Any) -> None:
    answer = client.post(URL, json=body, headers=WRITE)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
        return
    assert answer.status_code == 200
    bundles = answer.json()["bundles"]
    if isinstance(body.get("types"), list):
        assert {b["type"] for b in bundles} <= set(body["types"])
    for bundle in bundles:
        assert bundle["bundle_price"] <= bundle["list_price"]


# -- before any mining run (last: it deletes the runs, then mines again) ---------------------


def test_before_any_mining_run_only_unmined_types_answer(
    served: Served, versatile: tuple[str, set[str]]
) -> None:
    client, db, settings = served
    product_id, _ = versatile
    engine = client.app.state.bundles  # type: ignore[attr-defined]
    with db.write() as conn:
        conn.execute(delete(association_rule_table))
        conn.execute(delete(mining_run_table))
    engine.expire()
    try:
        for body in (
            {"product_id": product_id, "limit": 20},
            {"context": "cart", "cart": [product_id], "limit": 20},
            {"context": "home", "user_id": "U00010", "limit": 20},
        ):
            answer = client.post(URL, json=body, headers=WRITE)
            assert answer.status_code == 200, answer.text
            out = answer.json()
            assert out["mining_id"] is None
            assert {b["type"] for b in out["bundles"]} <= UNMINED
            for bundle in out["bundles"]:
                assert_bundle(bundle, max_size=3)
        page = client.post(URL, json={"product_id": product_id, "limit": 20}, headers=WRITE)
        assert {"upsell", "promotional"} <= set(_types(page))
        for kind in ("complementary", "cross_sell"):
            body = {"product_id": product_id, "types": [kind]}
            assert _types(client.post(URL, json=body, headers=WRITE)) == []
        ids = [b["bundle_id"] for b in page.json()["bundles"]]
        with db.read() as conn:
            stored = conn.execute(select(BR.c.mining_id).where(BR.c.bundle_id.in_(ids))).all()
        assert len(stored) == len(ids) and all(r.mining_id is None for r in stored)
    finally:
        mine(db, settings, AS_OF)
        engine.expire()
    again = client.post(URL, json={"product_id": product_id, "limit": 20}, headers=WRITE)
    assert again.json()["mining_id"] is not None
    assert "complementary" in _types(again)

"""The web dashboard without a browser: nothing under /ui/ but the sign-in form and the static
files is served without a session (pages redirect, JSON and CSV answer 401); a secret key
opens a signed HttpOnly session that a forged cookie, a write key or a revoked key cannot;
pages show the figures of the page functions formatted one way; every table's CSV is the
rows the page shows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopsense.api.app import create_app
from shopsense.api.routes.ui import resolve_range
from shopsense.auth.keys import create_key, revoke_key
from shopsense.clock import utcnow
from shopsense.dashboard import web_session
from shopsense.dashboard.web_view import build_view, fmt, fmt_change, kind_of
from shopsense.db.session import Database
from shopsense.demo import StoreSpec
from shopsense.settings import Settings

SECRET = "ui-secret-key"
WRITE = "ui-write-key"
PAGES = ("/ui/", "/ui/users", "/ui/recommendations", "/ui/bundles", "/ui/profit")


@pytest.fixture(scope="module")
def store(
    generated: Callable[..., AbstractContextManager[tuple[Database, Settings]]],
) -> Iterator[tuple[Database, Settings]]:
    spec = StoreSpec(users=250, products=50, days=40, seed=5, end=utcnow().date())
    with generated(spec, secret_key=SECRET, write_key=WRITE) as store:
        yield store


@pytest.fixture(scope="module")
def anonymous(store: tuple[Database, Settings]) -> Iterator[TestClient]:
    db, settings = store
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def signed_in(store: tuple[Database, Settings]) -> Iterator[TestClient]:
    db, settings = store
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        answer = client.post(
            "/ui/login", data={"key": SECRET, "next": "/ui/"}, follow_redirects=False
        )
        assert answer.status_code == 303
        yield client


def test_pages_redirect_to_sign_in_without_a_session(anonymous: TestClient) -> None:
    for path in (*PAGES, "/ui/users/U00001", "/ui/users?from=2026-11-01&to=2026-11-05"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/ui/login?next=%2Fui%2F")
    assert anonymous.get("/ui/login").status_code == 200
    assert anonymous.get("/ui/static/ui.css").status_code == 200
    assert anonymous.get("/ui/static/vendor/chart.umd.min.js").status_code == 200


def test_json_and_csv_answer_401_without_a_session(anonymous: TestClient) -> None:
    for path in (
        "/ui/api/overview",
        "/ui/api/profit",
        "/ui/export/overview/top_products.csv",
        "/ui/export/profile/U00001/summary.csv",
    ):
        answer = anonymous.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"].startswith("application/problem+json")
    bearer = anonymous.get("/ui/api/overview", headers={"Authorization": f"Bearer {SECRET}"})
    assert bearer.status_code == 401  # the UI's JSON is for the session, not for keys


def test_sign_in_sets_a_signed_http_only_cookie(store: tuple[Database, Settings]) -> None:
    db, settings = store
    with TestClient(create_app(settings, db)) as client:
        answer = client.post(
            "/ui/login", data={"key": SECRET, "next": "/ui/profit"}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/profit"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{web_session.COOKIE_NAME}=")
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/ui" in cookie
        assert SECRET not in cookie
        assert client.get("/ui/api/overview").status_code == 200
        out = client.post("/ui/logout", follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/ui/login"
        assert client.get("/ui/api/overview").status_code == 401


@pytest.mark.parametrize("key", ["", "nonsense", WRITE])
def test_only_a_secret_key_signs_in(store: tuple[Database, Settings], key: str) -> None:
    db, settings = store
    with TestClient(create_app(settings, db)) as client:
        answer = client.post("/ui/login", data={"key": key}, follow_redirects=False)
        assert answer.status_code == 401
        assert "set-cookie" not in answer.headers
        assert "not a secret key" in answer.text


def test_a_forged_or_expired_cookie_is_refused(store: tuple[Database, Settings]) -> None:
    db, settings = store
    with db.read() as conn:
        session = web_session.sign_in(conn, SECRET, settings)
    assert session is not None
    good = web_session.issue(session)
    expired = web_session.issue(session, now=0)
    head, signature = good.rsplit(".", 1)
    kid, expires = head.split(".")[1:]
    forged = [
        f"{head}.{'0' * len(signature)}",
        f"v1.{kid}.{int(expires) + 3600}.{signature}",
        f"v1.1.{expires}.{signature}",
        expired,
        "v1.b",
        "",
    ]
    with db.read() as conn:
        assert web_session.verify(conn, good, settings)
        for cookie in forged:
            assert not web_session.verify(conn, cookie, settings), cookie


def test_revoking_the_key_ends_its_sessions(store: tuple[Database, Settings]) -> None:
    db, settings = store
    with db.write() as conn:
        key = create_key(conn, "secret", name="ui test")
    with TestClient(create_app(settings, db)) as client:
        client.post("/ui/login", data={"key": key}, follow_redirects=False)
        assert client.get("/ui/api/overview").status_code == 200
        with db.write() as conn:
            revoke_key(conn, key)
        assert client.get("/ui/api/overview").status_code == 401
        assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_sign_in_returns_only_to_dashboard_paths(store: tuple[Database, Settings]) -> None:
    db, settings = store
    with TestClient(create_app(settings, db)) as client:
        for target in ("https://example.com/", "//example.com/ui/", "/docs"):
            answer = client.post(
                "/ui/login", data={"key": SECRET, "next": target}, follow_redirects=False
            )
            assert answer.headers["location"] == "/ui/", target


def test_every_page_renders_with_its_figures(signed_in: TestClient) -> None:
    for path in PAGES:
        answer = signed_in.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
    page = signed_in.get("/ui/").text
    data = signed_in.get("/ui/api/overview").json()
    for key in ("revenue", "orders", "aov", "conversion_rate"):
        kpi = data[key]
        shown = fmt(kpi["value"], kind_of(key, kpi["value"]))
        assert re.search(rf'data-kpi="{key}".*?data-field="value">{re.escape(shown)}<', page, re.S)
        assert fmt_change(kpi["change"]) in page


def test_the_ui_json_is_the_page_function_answer(signed_in: TestClient) -> None:
    today = utcnow().date()
    query = {"from": str(today - timedelta(days=20)), "to": str(today - timedelta(days=2))}
    ui = signed_in.get("/ui/api/overview", params=query).json()
    rng = resolve_range(query["from"], query["to"], utcnow())
    api = signed_in.get(
        "/dashboard/overview",
        params={"from": rng.period.start.isoformat(), "to": rng.period.end.isoformat()},
        headers={"Authorization": f"Bearer {SECRET}"},
    ).json()
    for key in ("period", "previous", "revenue", "orders", "aov", "top_products", "daily"):
        assert ui[key] == api[key], key
    assert ui["period"]["from"].startswith(query["from"])


def test_a_date_range_changes_the_figures(signed_in: TestClient) -> None:
    today = utcnow().date()
    week = signed_in.get(
        "/ui/api/overview", params={"from": str(today - timedelta(days=6)), "to": str(today)}
    ).json()
    month = signed_in.get("/ui/api/overview").json()
    assert week["orders"]["value"] < month["orders"]["value"]
    page = signed_in.get(
        "/ui/", params={"from": str(today - timedelta(days=6)), "to": str(today)}
    ).text
    assert 'class="preset active" href="/ui/?from=' in page and 'data-days="7"' in page
    bad = signed_in.get("/ui/", params={"from": "2026-13-01"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text


def _links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'class="csv" href="([^"]+)"', html)]


@pytest.mark.parametrize("path", PAGES)
def test_every_table_downloads_as_csv(signed_in: TestClient, path: str) -> None:
    html = signed_in.get(path).text
    links = _links(html)
    tables = html.count("data-table=")
    assert tables and len(links) >= tables
    for link in links:
        answer = signed_in.get(link)
        assert answer.status_code == 200, link
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        assert list(csv.reader(io.StringIO(answer.text))) is not None, link


def test_a_csv_holds_the_rows_the_page_shows(signed_in: TestClient) -> None:
    data = signed_in.get("/ui/api/overview").json()
    rows = list(
        csv.DictReader(io.StringIO(signed_in.get("/ui/export/overview/top_products.csv").text))
    )
    assert [r["product_id"] for r in rows] == [p["product_id"] for p in data["top_products"]]
    assert [float(r["revenue"]) for r in rows] == [p["revenue"] for p in data["top_products"]]
    summary = list(
        csv.DictReader(io.StringIO(signed_in.get("/ui/export/overview/summary.csv").text))
    )
    revenue = next(r for r in summary if r["figure"] == "revenue")
    assert float(revenue["value"]) == data["revenue"]["value"]
    assert signed_in.get("/ui/export/overview/nothing.csv").status_code == 404
    assert signed_in.get("/ui/export/nothing/top_products.csv").status_code == 404


def test_a_customer_profile_drills_down_from_the_users_page(signed_in: TestClient) -> None:
    users = signed_in.get("/ui/users/go", params={"user_id": "U00001"}, follow_redirects=False)
    assert users.headers["location"] == "/ui/users/U00001"
    profile = signed_in.get("/ui/users/U00001")
    assert profile.status_code == 200 and "U00001" in profile.text
    for link in _links(profile.text):
        assert signed_in.get(link).status_code == 200, link
    assert signed_in.get("/ui/users/nobody-here").status_code == 404
    # the users page lists its top customers, each a link to the profile
    page = signed_in.get("/ui/users").text
    linked = re.findall(r'href="(/ui/users/[^"/]+)"', page)
    assert linked
    for link in linked[:3]:
        assert signed_in.get(link).status_code == 200, link


def test_the_views_find_every_table_of_the_answers(signed_in: TestClient) -> None:
    overview = build_view(signed_in.get("/ui/api/overview").json())
    names = {t.name for t in overview.tables}
    assert {"top_products", "top_categories", "funnel", "daily", "activities"} <= names
    assert {t.path for t in overview.tiles} >= {"revenue", "orders", "aov", "users.active"}


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (1234.5, "money", "1,234.50"),
        (0.125, "money", "0.13"),  # halves away from zero, as JavaScript's toFixed
        (-0.004, "money", "0.00"),
        (12, "count", "12"),
        (1234567, "count", "1,234,567"),
        (0.1234, "percent", "12.3 %"),
        (0.00004, "fine", "0.0000"),
        (None, "money", "—"),
        ("2026-11-01T10:15:00Z", "text", "2026-11-01 10:15 UTC"),
    ],
)
def test_figures_are_formatted_one_way(value: Any, kind: Any, shown: str) -> None:
    assert fmt(value, kind) == shown


def test_changes_are_signed() -> None:
    assert fmt_change(0.4567) == "+45.7 %"
    assert fmt_change(-0.05) == "-5.0 %"
    assert fmt_change(0) == "0.0 %"
    assert fmt_change(None) == "—"

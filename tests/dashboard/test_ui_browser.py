"""The web dashboard in a real browser (Playwright driving Chromium) against a server on a
free port over a generated store: sign-in is required; every page loads without console
errors or failed requests and fits a phone's width; tiles show the figures of the page's JSON
formatted the same way; a purchase tracked through the API changes the live revenue tile
without a reload; another date range changes the figures.

Needs Chromium at /usr/bin/chromium (``apt-get install chromium``; ``.ci/run`` installs it)
or at ``SHOPSENSE_TEST_CHROMIUM``; without it these tests are skipped."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from shopsense.api.app import create_app
from shopsense.clock import utcnow
from shopsense.dashboard.web_view import fmt, fmt_change, kind_of
from shopsense.db.session import Database
from shopsense.demo import StoreSpec
from shopsense.settings import Settings

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = os.environ.get("SHOPSENSE_TEST_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) or set"
        " SHOPSENSE_TEST_CHROMIUM to run the browser tests",
        allow_module_level=True,
    )

SECRET = "ui-browser-secret"
WRITE = "ui-browser-write"
PAGES = ("/ui/", "/ui/users", "/ui/recommendations", "/ui/bundles", "/ui/profit")
TILES = ("revenue", "orders", "aov", "conversion_rate", "sessions")


@pytest.fixture(scope="module")
def server(
    generated: Callable[..., AbstractContextManager[tuple[Database, Settings]]],
) -> Iterator[str]:
    """A generated store ending today, served by uvicorn in a thread on a free port."""
    spec = StoreSpec(users=250, products=50, days=40, seed=9, end=utcnow().date())
    with generated(spec, secret_key=SECRET, write_key=WRITE) as (db, settings):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"
        )
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not uv.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Watched:
    """A page that records console errors, uncaught exceptions and failed requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _failed(self, request: Any) -> None:
        # a request the browser dropped because the page moved on is not a failure
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed: {request.url} ({request.failure})")

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def _context(browser: Any, width: int = 1280, height: int = 900) -> Any:
    return browser.new_context(viewport={"width": width, "height": height})


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#key", SECRET)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")


@pytest.fixture
def signed_in(browser: Any, server: str) -> Iterator[Watched]:
    context = _context(browser)
    watched = Watched(context.new_page())
    _sign_in(watched.page, server)
    yield watched
    context.close()


def _tile_text(page: Any, path: str, field: str = "value") -> str:
    text: str = page.locator(f'[data-kpi="{path}"] [data-field="{field}"]').inner_text()
    return text.strip()


def _json(page: Any, base: str, slug: str, query: str = "") -> dict[str, Any]:
    answer = page.request.get(f"{base}/ui/api/{slug}{query}")
    assert answer.status == 200
    data: dict[str, Any] = answer.json()
    return data


def test_sign_in_is_required(browser: Any, server: str) -> None:
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{server}/ui/profit")
    assert page.url.startswith(f"{server}/ui/login")
    assert page.request.get(f"{server}/ui/api/overview").status == 401
    page.fill("#key", "not-a-key")
    page.click("button[type=submit]")
    assert page.locator(".error").is_visible()
    page.fill("#key", SECRET)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/ui/profit")
    assert page.locator("h1").inner_text() == "Profit"
    page.click(".signout button")
    page.wait_for_url(f"{server}/ui/login")
    page.goto(f"{server}/ui/")
    assert page.url.startswith(f"{server}/ui/login")
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_loads_cleanly(browser: Any, server: str, width: int) -> None:
    context = _context(browser, width, 844)
    watched = Watched(context.new_page())
    page = watched.page
    _sign_in(page, server)
    for path in PAGES:
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1
        assert page.locator("canvas[data-chart]").count() > 0, path
        assert page.evaluate("() => Chart.instances ? Object.keys(Chart.instances).length : 0")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{path} is wider than the screen by {overflow}px"
    page.goto(f"{server}/ui/users")
    page.fill("#user-id", "U00001")
    page.click("form.lookup button")
    page.wait_for_url(f"{server}/ui/users/U00001")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "U00001"
    assert watched.problems == []
    context.close()


def test_tiles_show_the_figures_of_the_json(signed_in: Watched, server: str) -> None:
    page = signed_in.page
    page.wait_for_load_state("networkidle")
    data = _json(page, server, "overview")
    for key in TILES:
        kpi = data[key]
        kind = kind_of(key, kpi["value"])
        assert _tile_text(page, key) == fmt(kpi["value"], kind), key
        assert _tile_text(page, key, "previous") == fmt(kpi["previous"], kind), key
        assert _tile_text(page, key, "change") == fmt_change(kpi["change"]), key
    first = data["top_products"][0]
    row = page.locator('[data-table="top_products"] tbody tr').first
    assert first["product_id"] in row.inner_text()
    assert fmt(first["revenue"], "money") in row.inner_text()
    page.goto(f"{server}/ui/profit")
    profit = _json(page, server, "profit")
    for key in ("net_revenue", "margin_pct", "buyers"):
        kpi = profit["kpis"][key]
        expected = fmt(kpi["value"], kind_of(key, kpi["value"]))
        assert _tile_text(page, f"kpis.{key}") == expected
    assert signed_in.problems == []


def test_a_tracked_purchase_updates_the_live_revenue_tile(signed_in: Watched, server: str) -> None:
    page = signed_in.page
    page.wait_for_load_state("networkidle")
    before = _json(page, server, "overview")["revenue"]["value"]
    assert _tile_text(page, "revenue") == fmt(before, "money")
    page.evaluate("() => { window.notReloaded = true; }")
    now = utcnow()
    event = {
        "event_id": f"ui-live-{now.timestamp()}",
        "type": "purchase",
        "user_id": "U00001",
        "order_id": f"ui-live-order-{now.timestamp()}",
        "revenue": 321.09,
        "items": [{"product_id": "P0001", "quantity": 1, "price": 321.09}],
        "timestamp": now.isoformat() + "Z",
    }
    tracked = httpx.post(
        f"{server}/analytics/track-activity",
        json=event,
        headers={"Authorization": f"Bearer {WRITE}"},
        timeout=30,
    )
    assert tracked.status_code == 200 and tracked.json()["accepted"] == 1
    expected = fmt(round(before + 321.09, 2), "money")
    page.wait_for_function(
        '([text]) => document.querySelector(\'[data-kpi="revenue"] [data-field="value"]\')'
        ".textContent.trim() === text",
        arg=[expected],
        timeout=30_000,
    )
    assert page.evaluate("() => window.notReloaded") is True
    after = _json(page, server, "overview")["revenue"]
    assert _tile_text(page, "revenue") == fmt(after["value"], "money") == expected
    assert _tile_text(page, "revenue", "change") == fmt_change(after["change"])
    assert signed_in.problems == []


def test_another_date_range_changes_the_figures(signed_in: Watched, server: str) -> None:
    page = signed_in.page
    page.wait_for_load_state("networkidle")
    month = _tile_text(page, "orders")
    page.click('a.preset[data-days="7"]')
    page.wait_for_load_state("networkidle")
    assert "from=" in page.url and "to=" in page.url
    week = _json(page, server, "overview", "?" + page.url.split("?", 1)[1])
    assert _tile_text(page, "orders") == fmt(week["orders"]["value"], "count") != month
    today = utcnow().date()
    start, end = today - timedelta(days=20), today - timedelta(days=10)
    page.fill('input[name="from"]', str(start))
    page.fill('input[name="to"]', str(end))
    page.click(".range button[type=submit]")
    page.wait_for_url(f"{server}/ui/?from={start}&to={end}")
    chosen = _json(page, server, "overview", f"?from={start}&to={end}")
    assert chosen["period"]["from"].startswith(str(start))
    assert _tile_text(page, "revenue") == fmt(chosen["revenue"]["value"], "money")
    assert page.locator("[data-period]").inner_text().startswith(f"{start} to {end}")
    assert signed_in.problems == []

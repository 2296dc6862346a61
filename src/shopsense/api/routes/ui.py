"""``/ui/``: the web dashboard, rendered on the server from the same page functions as
``GET /dashboard/*`` (called directly, not over HTTP).

Pages need a session opened at ``/ui/login`` with a secret-scope key (a signed, HttpOnly,
SameSite=Lax cookie; see :mod:`shopsense.dashboard.web_session`); without one a page
redirects to the sign-in form and ``/ui/api/*`` and ``/ui/export/*`` answer 401. Tiles are
refreshed live from ``/ui/api/{page}``; every table is downloadable as CSV from
``/ui/export/{page}/{table}.csv`` with the page's period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from shopsense import __version__
from shopsense.api.params import answer, parse_as_of
from shopsense.clock import utcnow
from shopsense.dashboard import web_session
from shopsense.dashboard.overview import overview
from shopsense.dashboard.period import DEFAULT_DAYS, Period
from shopsense.dashboard.profit import profit_analytics
from shopsense.dashboard.recommendations import recommendation_analytics
from shopsense.dashboard.users import user_analytics
from shopsense.dashboard.web_charts import Chart, charts_for, profile_charts
from shopsense.dashboard.web_view import (
    FactGroup,
    Table,
    View,
    build_view,
    csv_text,
    fmt,
    fmt_change,
    label,
    lookup,
    make_table,
)
from shopsense.db.session import Database
from shopsense.errors import NotFound, Unauthorized, ValidationFailed
from shopsense.experiments.attribution import Windows
from shopsense.experiments.bundle_performance import bundle_performance
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings

STATIC_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "static"
PRESETS = (7, 30, 90)
POLL_SECONDS = 5
TOP_BUNDLES = 20
TOP_BUNDLE_SKIP = frozenset({"base_rate", "separate_margin_per_offer"})

router = APIRouter(include_in_schema=False)
router.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")

_env = Environment(
    loader=PackageLoader("shopsense.dashboard", "templates"),
    autoescape=select_autoescape(),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(fmt=fmt, fmt_change=fmt_change, label=label, version=__version__)

Fetch = Callable[[Database, Period, datetime, Settings], dict[str, Any]]


def _bundle_keys(data: dict[str, Any]) -> list[str]:
    return [k for k in data if "bundle" in k.lower()]


def _recommendations(
    db: Database, period: Period, now: datetime, settings: Settings
) -> dict[str, Any]:
    data = answer(recommendation_analytics(db, period, now, settings))
    return {k: v for k, v in data.items() if k not in _bundle_keys(data)}


def _bundles(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
    """The bundle part of the recommendation analytics, and the period's best bundles."""
    data = answer(recommendation_analytics(db, period, now, settings))
    keep = {"period", "previous", *_bundle_keys(data)}
    found = bundle_performance(
        db, period.start, period.end, now=now, windows=Windows.from_settings(settings)
    )
    top = [
        {k: v for k, v in row.items() if k not in TOP_BUNDLE_SKIP}
        for row in found["by_bundle"][:TOP_BUNDLES]
    ]
    return {**{k: v for k, v in data.items() if k in keep}, "top_bundles": answer({"r": top})["r"]}


def _plain(page: Fetch) -> Fetch:
    def fetch(db: Database, period: Period, now: datetime, settings: Settings) -> dict[str, Any]:
        return answer(page(db, period, now, settings))

    return fetch


@dataclass(frozen=True)
class Page:
    """One page of the dashboard: its slug, title, path and where its figures come from."""

    slug: str
    title: str
    path: str
    fetch: Fetch
    live: bool = False
    intro: str = ""


PAGES: dict[str, Page] = {
    p.slug: p
    for p in (
        Page(
            "overview",
            "Overview",
            "/ui/",
            _plain(overview),
            live=True,
            intro="Sales, traffic and the funnel for the period, beside the period before.",
        ),
        Page(
            "users",
            "Users",
            "/ui/users",
            _plain(user_analytics),
            intro="Segments, retention, churn, customer value and how people shop.",
        ),
        Page(
            "recommendations",
            "Recommendations",
            "/ui/recommendations",
            _recommendations,
            intro="What recommendations earned by strategy, context and position, and the "
            "experiments comparing them.",
        ),
        Page(
            "bundles",
            "Bundles",
            "/ui/bundles",
            _bundles,
            intro="Bundles offered, taken and what they earned, by type.",
        ),
        Page(
            "profit",
            "Profit",
            "/ui/profit",
            _plain(profit_analytics),
            intro="Margins, marketing return by channel, inventory and the opportunities "
            "ranked by money at stake.",
        ),
    )
}


# -- the period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """The period a page shows, as the date inputs and links carry it."""

    period: Period
    from_: str
    to: str
    days: int | None

    @property
    def query(self) -> str:
        return urlencode({"from": self.from_, "to": self.to})

    @property
    def span(self) -> str:
        return _span(self.period)

    @property
    def previous_span(self) -> str:
        return _span(self.period.previous)


def _span(period: Period) -> str:
    """A period as people read it: both days included (an end at midnight is the day before)."""

    def shown(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d" if moment.time() == time.min else "%Y-%m-%d %H:%M")

    end = period.end
    last = end - timedelta(days=1) if end.time() == time.min else end
    return f"{shown(period.start)} to {shown(last)}"


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _bound(value: str | None, name: str, default: date, end: bool) -> tuple[datetime, date | None]:
    """A bound of the range: a day (its start; for ``to`` the end of it) or an ISO
    datetime, with the day it names (None for a datetime)."""
    day = default if value is None else _day(value)
    if day is None:
        moment = parse_as_of(value, name)
        if moment is None:  # pragma: no cover - value is set here
            raise ValidationFailed(f"{name} is missing")
        return moment, None
    return datetime.combine(day + timedelta(days=1) if end else day, time.min), day


def resolve_range(from_: str | None, to: str | None, now: datetime) -> Range:
    """``from`` and ``to`` as days (from the start of ``from`` to the end of ``to``) or ISO
    datetimes; by default the last 30 days, today included."""
    end, end_day = _bound(to, "to", now.date(), end=True)
    default_start = (end_day or end.date()) - timedelta(days=DEFAULT_DAYS - 1)
    start, start_day = _bound(from_, "from", default_start, end=False)
    period = Period.resolve(start, end, now)
    days = (end_day - start_day).days + 1 if start_day and end_day else None
    return Range(period, from_ or str(start_day), to or str(end_day), days)


def _range_or_default(request: Request, now: datetime) -> tuple[Range, str | None]:
    try:
        return resolve_range(
            request.query_params.get("from"), request.query_params.get("to"), now
        ), None
    except ValidationFailed as exc:
        return resolve_range(None, None, now), f"{exc.detail}; showing the last {DEFAULT_DAYS} days"


# -- the session --------------------------------------------------------------------------


def _signed_in(request: Request) -> bool:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    with db.read() as conn:
        return web_session.verify(conn, request.cookies.get(web_session.COOKIE_NAME), settings)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)


def _require(request: Request) -> None:
    if not _signed_in(request):
        raise Unauthorized("sign in at /ui/login with a secret key")


def _safe_next(target: str | None) -> str:
    """Only a dashboard path is a place to return to after signing in."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/"


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


@router.get("/ui/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if _signed_in(request):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _html("login.html", next=_safe_next(next), error=None)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    target = _safe_next((form.get("next") or [""])[0])
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings

    def check() -> web_session.SessionKey | None:
        with db.read() as conn:
            return web_session.sign_in(conn, key, settings) if key else None

    session = await run_in_threadpool(check)
    if session is None:
        return _html(
            "login.html",
            status=401,
            next=target,
            error="That key is unknown, revoked or not a secret key.",
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        web_session.COOKIE_NAME,
        web_session.issue(session),
        max_age=web_session.SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.api_route("/ui/logout", methods=["GET", "POST"])
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(web_session.COOKIE_NAME, path="/ui", httponly=True, samesite="lax")
    return response


# -- pages --------------------------------------------------------------------------------


def _nav() -> list[tuple[str, str, str]]:
    return [(p.slug, p.title, p.path) for p in PAGES.values()]


def _fetch(request: Request, page: Page, rng: Range, now: datetime) -> dict[str, Any]:
    return page.fetch(request.app.state.db, rng.period, now, request.app.state.settings)


def _render_page(request: Request, page: Page) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    now = utcnow()
    rng, warning = _range_or_default(request, now)
    data = _fetch(request, page, rng, now)
    view = build_view(data)
    charts = charts_for(page.slug, view, live=page.live)
    return _html(
        "page.html",
        page=page,
        nav=_nav(),
        rng=rng,
        presets=_presets(now, rng),
        data=data,
        view=view,
        charts=charts,
        warning=warning,
        live_url=f"/ui/api/{page.slug}?{rng.query}" if page.live else None,
        poll_ms=POLL_SECONDS * 1000,
        currency=request.app.state.settings.currency,
    )


def _presets(now: datetime, rng: Range) -> list[dict[str, Any]]:
    today = now.date()
    out = []
    for days in PRESETS:
        start = today - timedelta(days=days - 1)
        out.append(
            {
                "days": days,
                "query": urlencode({"from": str(start), "to": str(today)}),
                "active": rng.from_ == str(start) and rng.to == str(today),
            }
        )
    return out


def _page_route(page: Page) -> Callable[[Request], Response]:
    """The handler of ``GET page.path``: the page rendered for its period."""

    def show(request: Request) -> Response:
        return _render_page(request, page)

    return show


for _page in PAGES.values():
    router.add_api_route(_page.path, _page_route(_page), methods=["GET"], name=f"{_page.slug}_page")


def _profile(request: Request, user_id: str) -> tuple[dict[str, Any], View]:
    engine = ProfileEngine(request.app.state.db, request.app.state.settings)
    data = answer(engine.profile(user_id))
    view = build_view(data, PROFILE_LABELS)
    if view.meta:
        view.groups.insert(0, FactGroup("", "Customer", view.meta))
        view.meta = []
    return data, view


@router.get("/ui/users/go")
def profile_search(request: Request, user_id: str = "") -> Response:
    """The users page's search box: to the profile of the user id typed."""
    if not _signed_in(request):
        return _to_login(request)
    target = user_id.strip()
    if not target:
        return RedirectResponse("/ui/users", status_code=303)
    return RedirectResponse(f"/ui/users/{quote(target, safe='')}", status_code=303)


PROFILE_LABELS = {
    "clv": "Customer value",
    "rfm": "RFM",
    "events_by_type": "Events by type",
    "purchase_frequency": "Purchase frequency",
    "segment.thresholds": "Segment thresholds",
}
PROFILE_HEADLINE = (
    ("orders", "Orders", "count"),
    ("revenue", "Revenue", "money"),
    ("aov", "Average order value", "money"),
    ("clv.predicted_12m", "Predicted CLV, 12 months", "money"),
    ("clv.probability_alive", "Probability alive", "percent"),
    ("sessions", "Sessions", "count"),
)


@router.get("/ui/users/{user_id}")
def profile_page(request: Request, user_id: str) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    now = utcnow()
    rng, _ = _range_or_default(request, now)
    try:
        data, view = _profile(request, user_id)
    except NotFound as exc:
        return _html(
            "missing.html",
            status=404,
            nav=_nav(),
            page=PAGES["users"],
            rng=rng,
            message=exc.detail,
        )
    return _html(
        "profile.html",
        page=PAGES["users"],
        nav=_nav(),
        rng=rng,
        user_id=user_id,
        data=data,
        view=view,
        charts=profile_charts(data),
        headline=PROFILE_HEADLINE,
        lookup=lookup,
        currency=request.app.state.settings.currency,
    )


# -- JSON and CSV -------------------------------------------------------------------------


def _requested(request: Request, slug: str) -> tuple[Range, dict[str, Any]]:
    """The figures of page ``slug`` for the period of ``from`` and ``to``, with that period
    (session required)."""
    _require(request)
    page = PAGES.get(slug)
    if page is None:
        raise NotFound(f"no dashboard page {slug!r}")
    now = utcnow()
    rng = resolve_range(request.query_params.get("from"), request.query_params.get("to"), now)
    return rng, _fetch(request, page, rng, now)


@router.get("/ui/api/{slug}")
def page_json(request: Request, slug: str) -> dict[str, Any]:
    """A page's figures, exactly as its page function answers them (session required)."""
    _, data = _requested(request, slug)
    return data


def _csv_response(name: str, text: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/ui/export/profile/{user_id}/{table}.csv")
def export_profile(request: Request, user_id: str, table: str) -> Response:
    """One table of a user's profile page as CSV."""
    _require(request)
    _, view = _profile(request, user_id)
    if table == "summary":
        found: Table | None = make_table(
            "summary", [{"figure": f.path, "value": f.value} for f in view.facts]
        )
    else:
        found = view.table(table)
    if found is None:
        raise NotFound(f"the profile page has no table {table!r}")
    return _csv_response(f"profile-{user_id}-{table}", csv_text(found))


@router.get("/ui/export/{slug}/{table}.csv")
def export_table(request: Request, slug: str, table: str) -> Response:
    """One table of a page as CSV, for the period of ``from`` and ``to``."""
    rng, data = _requested(request, slug)
    view = build_view(data)
    if table == "summary":
        found: Table | None = make_table("summary", [_tile_row(t) for t in view.tiles])
    else:
        found = view.table(table)
    if found is None:
        raise NotFound(f"the {slug} page has no table {table!r}")
    return _csv_response(f"{slug}-{table}-{rng.from_}-{rng.to}", csv_text(found))


def _tile_row(tile: Any) -> dict[str, Any]:
    return {
        "figure": tile.path,
        "value": tile.value,
        "previous": tile.previous,
        "change": tile.change,
    }


__all__ = ["PAGES", "Chart", "resolve_range", "router"]

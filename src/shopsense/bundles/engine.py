"""BundleAutomationEngine: bundles of five types for one shopper and page, priced for profit
and stored as offered. Plain Python: the API, the CLI and the tests call the same engine.

Serving reads the newest mining run (``shopsense bundles mine``), the catalog and the order
history once, and again when a new run or a catalog change appears (checked at most every
``check_seconds``) or the data is older than ``max_age``; a request then costs a few
statements: the shopper's recent events and profile, and the INSERT of the offered rows
(committed without waiting for the disk, like the recommendation log).

A request's anchors are the page's product and the cart; on a home page, the shopper's
recent items, else the store's best sellers. Each requested type gives candidates (see
``candidates``); they are ranked for the shopper — strength within the type, times the
affinity of the bundle's departments to the shopper's recent interest, times a price fit
for price-sensitive shoppers, times the context's weight of the type — the best of each
type first, so every requested type that has a candidate is answered, then by score. The
chosen bundles are priced by ``pricing.price_bundles`` with the store's fitted discount
response when enough offers have outcomes, else the documented prior.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, func, or_, select

from shopsense.bundles.candidates import (
    TYPES,
    Candidate,
    complementary,
    cross_sell,
    promotional,
    seasonal,
    seasonal_pairs,
    upsell,
)
from shopsense.bundles.outcomes import offer_outcomes
from shopsense.bundles.pricing import (
    PRIOR_RESPONSE,
    PricingPolicy,
    Quotes,
    fit_response,
    price_bundles,
)
from shopsense.bundles.request import BundleRequest
from shopsense.bundles.signals import Seasonality, seasonal_lift, stock_pressure
from shopsense.bundles.state import BundleData, load_data
from shopsense.clock import utcnow
from shopsense.db.models import activity_table as A
from shopsense.db.models import bundle_recommendation_table as BR
from shopsense.db.models import mining_run_table as M
from shopsense.db.models import products_table as P
from shopsense.db.models import profiles_table
from shopsense.db.session import Database, log_transaction
from shopsense.errors import NotFound
from shopsense.settings import Settings

log = logging.getLogger("shopsense.bundles")

CHECK_SECONDS = 5.0
MAX_AGE = timedelta(minutes=30)  # order history and stock are re-read at least this often
RECENT_EVENTS = 100  # a shopper's recent product events read for anchors and affinity
HOME_ANCHORS = 5
AFFINITY = 1.0  # a bundle entirely in the shopper's departments scores x (1 + AFFINITY)
ANCHORED = 1.5  # bundles holding a page item rank above those that do not
DEFAULT_SENSITIVITY = 0.5
CONTEXT_WEIGHTS: dict[str, dict[str, float]] = {
    "product": {"complementary": 1.0, "upsell": 1.0, "cross_sell": 0.9, "seasonal": 0.6,
                "promotional": 0.5},
    "cart": {"cross_sell": 1.0, "complementary": 0.9, "promotional": 0.7, "seasonal": 0.6,
             "upsell": 0.5},
    "home": {"seasonal": 1.0, "complementary": 0.8, "promotional": 0.8, "cross_sell": 0.7,
             "upsell": 0.5},
}  # fmt: skip
CONTEXT_WEIGHTS["checkout"] = CONTEXT_WEIGHTS["cart"]
CONTEXT_WEIGHTS["email"] = CONTEXT_WEIGHTS["home"]


@dataclass(frozen=True)
class Served:
    data: BundleData
    stamp: tuple[Any, ...]
    loaded: float  # monotonic time of the load
    response: float  # discount response used for pricing
    response_fitted: bool


@dataclass(frozen=True)
class Signals:
    items: Seasonality
    categories: Seasonality
    pairs: pl.DataFrame  # seasonal lift of every mined pair
    pressure: pl.DataFrame


@dataclass(frozen=True)
class Shopper:
    recent: list[int]  # item indexes, most recent first
    departments: dict[str, float]  # share of recent product events per department
    sensitivity: float


class BundleAutomationEngine:
    """Bundles for ``POST /analytics/bundles``; see the module docstring."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        check_seconds: float = CHECK_SECONDS,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self.db = db
        self.settings = settings
        self.check_seconds = check_seconds
        self.max_age = max_age
        self._served: Served | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()
        self._stale = False
        self._signals: dict[tuple[str | None, date], Signals] = {}

    # -- state -------------------------------------------------------------------------------

    def expire(self, *_: object) -> None:
        """Re-read everything on the next request (after a mining run, say)."""
        self._stale = True
        self._checked_at = -math.inf

    def served(self) -> Served:
        """The data requests read, re-read when a mining run or a catalog change appears
        (looked for at most every ``check_seconds``) or it is older than ``max_age``. One
        thread re-reads; the others keep answering from the data they have."""
        served = self._served
        if served is not None and time.monotonic() - self._checked_at < self.check_seconds:
            return served
        if served is not None and not self._lock.acquire(blocking=False):
            return served
        if served is None:
            self._lock.acquire()
        try:
            with self.db.read() as conn:
                stamp = _stamp(conn)
            current = self._served
            if (
                current is None
                or self._stale
                or current.stamp != stamp
                or time.monotonic() - current.loaded > self.max_age.total_seconds()
            ):
                self._stale = False
                current = self._load(stamp)
                self._signals = {}
                self._served = current
            self._checked_at = time.monotonic()
        finally:
            self._lock.release()
        return current

    def _load(self, stamp: tuple[Any, ...]) -> Served:
        now = utcnow()
        with self.db.read() as conn:
            data = load_data(conn)
            outcomes = offer_outcomes(conn, now)
        fitted = None
        if outcomes.height:
            fitted = fit_response(
                outcomes["discount"].to_numpy(),
                outcomes["base_rate"].to_numpy(),
                outcomes["taken"].to_numpy(),
            )
        log.info("bundle data loaded: run %s, %d products", data.mining_id, data.catalog.size)
        return Served(
            data,
            stamp,
            time.monotonic(),
            fitted if fitted is not None else PRIOR_RESPONSE,
            fitted is not None,
        )

    def signals(self, data: BundleData, as_of: datetime) -> Signals:
        """Seasonality (of items and of categories) and stock pressure for ``as_of``'s day,
        cached per mining run and day.
        The coming weeks are counted from the newest order when the history stops earlier
        (a copy of last month's shop still gets the season that was coming then)."""
        if data.history_end is not None:
            as_of = min(as_of, data.history_end + timedelta(seconds=1))
        key = (data.mining_id, as_of.date())
        cached = self._signals.get(key)
        if cached is None:
            horizon = self.settings.bundle_seasonal_horizon_days
            lines = data.lines.filter(pl.col("placed_at") < as_of)
            seasonality = seasonal_lift(lines, as_of, horizon_days=horizon)
            c = data.catalog
            by_category = lines.with_columns(
                pl.col("item").replace_strict(c.ids, c.category, default="")
            ).filter(pl.col("item") != "")
            categories = seasonal_lift(by_category, as_of, horizon_days=horizon)
            products = pl.DataFrame(
                {
                    "item": c.ids,
                    "stock": pl.Series(c.stock).fill_nan(None).cast(pl.Int64),
                    "price": c.price,
                    "cost": c.cost,
                    "active": c.active,
                }
            )
            pressure = stock_pressure(products, lines, as_of)
            pairs = seasonal_pairs(data, seasonality)
            cached = Signals(seasonality, categories, pairs, pressure)
            self._signals[key] = cached
        return cached

    # -- answering -------------------------------------------------------------------------

    def bundles(self, request: BundleRequest, as_of: datetime | None = None) -> dict[str, Any]:
        """The contract's answer to ``request``; every bundle offered is stored."""
        served = self.served()
        data = served.data
        now = as_of or utcnow()
        c = data.catalog
        if request.product_id is not None and request.product_id not in c.index:
            raise NotFound(f"no product {request.product_id!r}")
        page = [c.index[request.product_id]] if request.product_id else []
        cart = [c.index[p] for p in dict.fromkeys(request.cart) if p in c.index]
        with self.db.read() as conn:
            shopper = _shopper(conn, data, request)
        context = request.where
        anchors = list(dict.fromkeys(page + cart))
        if not anchors:  # a home page: what the shopper looked at lately, else best sellers
            available = c.active & ~(c.stock <= 0)
            recent = [i for i in shopper.recent if available[i]]
            anchors = recent[:HOME_ANCHORS] or data.popular(available)[:HOME_ANCHORS].tolist()
        candidates = self._candidates(data, request, anchors, set(), now)
        chosen = _rank(candidates, data, shopper, context, request.limit, set(page + cart))
        answer = self._offer(served, chosen, shopper, request, context, now)
        return {"bundles": answer, "mining_id": data.mining_id}

    def _candidates(
        self,
        data: BundleData,
        request: BundleRequest,
        anchors: list[int],
        excluded: set[int],
        now: datetime,
    ) -> list[Candidate]:
        size = request.max_size
        found: list[Candidate] = []
        for kind in request.types:
            if kind == "complementary":
                found += complementary(data, anchors, excluded, size)
            elif kind == "cross_sell":
                found += cross_sell(data, anchors, excluded, size)
            elif kind == "upsell":
                found += upsell(data, anchors, excluded, size)
            else:
                signals = self.signals(data, now)
                if kind == "seasonal":
                    found += seasonal(
                        data, anchors, excluded, size, signals.items, signals.categories,
                        signals.pairs,
                    )  # fmt: skip
                else:
                    found += promotional(data, anchors, excluded, size, signals.pressure)
        return found

    def _offer(
        self,
        served: Served,
        chosen: list[Candidate],
        shopper: Shopper,
        request: BundleRequest,
        context: str,
        now: datetime,
    ) -> list[dict[str, Any]]:
        if not chosen:
            return []
        data = served.data
        c = data.catalog
        items = [list(b.items) for b in chosen]
        list_price = np.asarray([c.price[i].sum() for i in items])
        cost = np.asarray([c.cost[i].sum() for i in items])
        policy = PricingPolicy(
            margin_floor=self.settings.bundle_margin_floor,
            max_discount=self.settings.bundle_max_discount,
            response=served.response,
        )
        base = np.asarray([_base_rate(data, b) for b in chosen])
        quotes = price_bundles(list_price, cost, base, shopper.sensitivity, policy)
        valid_until = now + timedelta(hours=self.settings.bundle_valid_hours)
        rows, answer = [], []
        for k, bundle in enumerate(chosen):
            entry = _entry(data, bundle, quotes, k, valid_until, served.response_fitted)
            answer.append(entry)
            rows.append(
                {
                    **{f: entry[f] for f in ("bundle_id", "type", "products", "list_price",
                                             "bundle_price", "discount_pct", "expected_margin",
                                             "expected_profit", "take_rate", "support", "lift",
                                             "reason", "valid_until")},
                    "base_rate": float(quotes.base_rate[k]),
                    "user_id": request.user_id,
                    "anonymous_id": request.anonymous_id,
                    "session_id": request.session_id,
                    "context": context,
                    "product_id": request.product_id,
                    "mining_id": data.mining_id,
                    "created_at": now,
                }
            )  # fmt: skip
        with log_transaction(self.db) as conn:
            conn.execute(BR.insert(), rows)
        return answer


def _stamp(conn: Connection) -> tuple[Any, ...]:
    """Changes when a mining run is stored or the catalog changes."""
    runs = conn.execute(select(func.count(), func.max(M.c.mined_at)).select_from(M)).one()
    products = conn.execute(select(func.count(), func.max(P.c.updated_at)).select_from(P)).one()
    return (*runs, *products)


def _shopper(conn: Connection, data: BundleData, request: BundleRequest) -> Shopper:
    """Recent product events of whoever asks (user, browser or session) and their price
    sensitivity from the profile (0.5 when unknown)."""
    who = []
    if request.user_id:
        who.append(A.c.user_id == request.user_id)
    if request.anonymous_id:
        who.append(A.c.anonymous_id == request.anonymous_id)
    if request.session_id:
        who.append(A.c.session_id == request.session_id)
    recent: list[int] = []
    if who:
        rows = conn.execute(
            select(A.c.product_id)
            .where(or_(*who), A.c.product_id.is_not(None))
            .order_by(A.c.timestamp.desc())
            .limit(RECENT_EVENTS)
        ).scalars()
        recent = [data.catalog.index[p] for p in rows if p in data.catalog.index]
    departments: dict[str, float] = {}
    for i in recent:
        d = data.catalog.department[i]
        if d:
            departments[d] = departments.get(d, 0.0) + 1.0 / len(recent)
    sensitivity = DEFAULT_SENSITIVITY
    if request.user_id:
        value = conn.execute(
            select(profiles_table.c.price_sensitivity).where(
                profiles_table.c.user_id == request.user_id
            )
        ).scalar()
        if value is not None:
            sensitivity = float(value)
    return Shopper(list(dict.fromkeys(recent)), departments, sensitivity)


def _rank(
    candidates: list[Candidate],
    data: BundleData,
    shopper: Shopper,
    context: str,
    limit: int,
    page: set[int],
) -> list[Candidate]:
    """Score each candidate for the shopper and the context; the best of each type first,
    then the rest by score. The same set of items is offered once, as its best type; a
    bundle that is exactly the cart is no offer."""
    if not candidates:
        return []
    weights = CONTEXT_WEIGHTS.get(context, CONTEXT_WEIGHTS["home"])
    top = {
        t: max((b.strength for b in candidates if b.type == t), default=1.0) or 1.0 for t in TYPES
    }
    prices = np.asarray([data.catalog.price[list(b.items)].sum() for b in candidates])
    order = np.argsort(np.argsort(prices)) / max(len(prices) - 1, 1)  # 0 cheapest .. 1 dearest
    scored = []
    for k, b in enumerate(candidates):
        depts = [data.catalog.department[i] for i in b.items]
        affinity = float(np.mean([shopper.departments.get(d, 0.0) for d in depts]))
        price_fit = 1.0 - 0.5 * max(shopper.sensitivity - 0.5, 0.0) * 2 * order[k]
        score = (
            b.strength / top[b.type]
            * (1 + AFFINITY * affinity)
            * price_fit
            * (ANCHORED if b.anchored else 1.0)
            * weights.get(b.type, 0.5)
        )  # fmt: skip
        scored.append((score, k, b))
    scored.sort(key=lambda s: (-s[0], s[1]))
    taken: set[frozenset[int]] = {frozenset(page)} if page else set()
    firsts: list[tuple[float, int, Candidate]] = []
    # Each type's best set not yet taken, the types with the fewest candidates choosing first
    # (complementary and cross_sell often find the same set; the scarcer type keeps it).
    counts = {t: sum(1 for _, _, b in scored if b.type == t) for t in TYPES}
    for kind in sorted(counts, key=lambda t: (counts[t], TYPES.index(t))):
        for entry in scored:
            key = frozenset(entry[2].items)
            if entry[2].type == kind and key not in taken and not key <= page:
                taken.add(key)
                firsts.append(entry)
                break
    firsts.sort(key=lambda s: (-s[0], s[1]))
    first_ids = {k for _, k, _ in firsts}
    rest = []
    for entry in scored:
        key = frozenset(entry[2].items)
        if entry[1] not in first_ids and key not in taken and not key <= page:
            taken.add(key)
            rest.append(entry)
    return [b for _, _, b in (firsts + rest)[:limit]]


def _base_rate(data: BundleData, bundle: Candidate) -> float:
    """The chance the shopper buys the bundle's items anyway, at list price: the lead item's
    view-to-purchase rate times the mined confidence of the rest given it, or, without a
    rule, the rest's own rates (as if independent)."""
    rate = data.buy_rate
    lead, rest = bundle.items[0], list(bundle.items[1:])
    given = bundle.rule_confidence
    if given is None or given <= 0:
        given = float(np.prod(rate[rest])) if rest else 1.0
    return float(np.clip(rate[lead] * given, 1e-4, 0.5))


def _entry(
    data: BundleData,
    bundle: Candidate,
    quotes: Quotes,
    k: int,
    valid_until: datetime,
    fitted: bool,
) -> dict[str, Any]:
    c = data.catalog
    response = "fitted from this store's offers" if fitted else "prior discount response"
    return {
        "bundle_id": f"bun_{uuid.uuid4().hex}",
        "type": bundle.type,
        "products": [
            {"product_id": c.ids[i], "name": c.names[i], "price": float(c.price[i]), "quantity": 1}
            for i in bundle.items
        ],
        "list_price": round(float(quotes.list_price[k]), 2),
        "bundle_price": float(quotes.bundle_price[k]),
        "discount_pct": float(quotes.discount_pct[k]),
        "expected_margin": round(float(quotes.expected_margin[k]), 2),
        "expected_profit": round(float(quotes.expected_profit[k]), 4),
        "take_rate": round(float(quotes.take_rate[k]), 6),
        "support": None if bundle.support is None else round(bundle.support, 6),
        "lift": None if bundle.lift is None else round(bundle.lift, 4),
        "reason": f"{bundle.reason}. {quotes.reason(k)} ({response}).",
        "valid_until": valid_until,
    }


__all__ = ["BundleAutomationEngine", "Served", "Shopper"]

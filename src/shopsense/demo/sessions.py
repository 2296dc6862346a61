"""Sessions that walk the real funnel, written as ``user_activity`` rows.

A session lands (with utm tags and referrer when it comes from a campaign), navigates by
category, search, brand or promotion, and views products, with recommendations and bundles
shown along the way; ``checkout`` takes it on to cart, checkout and payment. Rows have the
columns and values ``tracking.normalize.to_row`` gives for the same event sent to the API.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import urlencode

from shopsense.demo import checkout
from shopsense.demo.catalog import Catalog
from shopsense.demo.channels import Channel
from shopsense.demo.devices import Agent
from shopsense.demo.geo import Country
from shopsense.demo.pages import BASE_URL, brand_page, category_page
from shopsense.demo.pricing import PriceTests
from shopsense.experiments.stats import assign
from shopsense.tracking.normalize import ROW_COLUMNS

Row = dict[str, Any]
EXPERIMENT = "recs-ranking"
# The strategy each arm of the experiment is served: the two the A/B test compares.
RECOMMENDATION_STRATEGY = {"control": "popular", "treatment": "hybrid"}
# Chance that a shown recommendation list is clicked, per experiment arm.
RECOMMENDATION_CTR = {"control": 0.12, "treatment": 0.2}
# Chance that a clicked recommendation is bought at once: cart, checkout and payment.
RECOMMENDATION_PURCHASE = {"control": 0.10, "treatment": 0.15}
RECOMMENDATION_DRAWS = 4  # products drawn for a list (a product drawn twice is listed once)
# Chance a purchase session starts from a co-purchase group product (the shopper's choice).
GROUP_ANCHOR = 0.08
MEAN_VIEWS = {"browse": 2.2, "cart": 2.6, "purchase": 2.6}
SORTS = ("price_asc", "price_desc", "popularity", "newest", "rating")
NETWORKS = ("whatsapp", "pinterest", "facebook", "email", "copy_link")
QUESTIONS = (
    "Is this true to size?",
    "Does it come with a warranty?",
    "Is it dishwasher safe?",
    "How long does delivery take?",
    "Is this available in other colours?",
)
PROMOTIONS = ("free-shipping-50", "autumn-sale", "new-arrivals", "bundle-and-save")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass
class Shopper:
    """Who is browsing and how they choose products (cumulative and plain preferences)."""

    user_id: str | None
    cum: list[float]
    pref: list[float]
    sensitivity: float = 0.5
    loyalty: float = 0.0
    favourite_brand: str | None = None
    variant: str = "control"
    app: bool = False
    first_order: bool = True
    wishlist: list[int] = field(default_factory=list)


def arm(unit: str) -> str:
    """The experiment arm of a shopper known only by ``unit`` (an anonymous visitor's id):
    its hash decides, half and half, as the server's experiment router does."""
    return assign(EXPERIMENT, unit, [(v, 1.0) for v in RECOMMENDATION_STRATEGY]) or "control"


@dataclass(frozen=True)
class Shown:
    """A recommendation list as shown: its ``recommendation_view`` row, the shopper's arm and
    the listed products, best first, each with the reason it was listed."""

    row: Row
    variant: str
    items: list[tuple[int, str]]


class Visit:
    """One session being written: its context, its clock and the page it is on."""

    def __init__(
        self,
        sim: Simulator,
        context: dict[str, Any],
        start: datetime,
        limit: datetime,
        entry: dict[str, Any],
        app: bool,
    ) -> None:
        self.sim = sim
        self.context = context
        self.start = start
        self.limit = limit
        self.entry = entry
        self.app = app
        self.seconds = 0.0
        self.alive = True
        self.converted = False  # an order was placed
        self.page: str | None = None

    def emit(self, type_: str, gap: float, page: str | None, **fields: Any) -> bool:
        """Write an event ``gap`` seconds after the previous one, on ``page`` or else on the
        page the shopper is on; False once the session has run past the shopper's last
        active moment (then nothing more is written)."""
        if not self.alive:
            return False
        self.seconds += gap
        stamp = self.start + timedelta(seconds=self.seconds)
        if stamp >= self.limit:
            self.alive = False
            return False
        row = self.sim.row(type_, stamp, self.context, fields)
        if page is None:
            page = self.page
        else:
            self.page = page
        if page is not None:
            row["page_path"] = page
            row["page_url"] = None if self.app else BASE_URL + page
        if self.entry:
            row.update(self.entry)
            if row["page_url"] and self.entry.get("utm_source"):
                row["page_url"] += "?" + urlencode({k: self.entry[k] for k in UTM_KEYS})
            self.entry = {}
        return True

    def identify(self, user_id: str) -> None:
        self.context = {**self.context, "user_id": user_id}


class Simulator:
    """Writes sessions, and the events that follow orders, into ``rows``.

    ``py`` draws the shoppers' behaviour; ``response`` only whether, and how, a clicked
    recommendation is bought at once (and what follows that order), so a purchase it adds
    leaves every other draw, and so the rest of the store, as it was without it."""

    def __init__(
        self,
        catalog: Catalog,
        py: random.Random,
        seasonal: dict[int, list[float]],
        quality: list[float],
        response: random.Random,
        price_tests: PriceTests | None = None,
    ) -> None:
        self.catalog = catalog
        self.price_tests = price_tests or PriceTests({}, {}, datetime.min, response)
        self.py = py
        self.response = response
        self.seasonal = seasonal
        self.quality = quality
        self.rows: list[Row] = []
        self.orders: list[checkout.Order] = []
        self.clicks: Counter[tuple[int, str, str]] = Counter()
        self.sessions = 0
        self.bot_sessions = 0
        self.converted_sessions = 0
        self.n_orders = 0
        self.n_offers = 0
        self._n_recommendations = 0
        self.shown: list[Shown] = []
        self.offers: list[checkout.Offer] = []
        self.bundles_accepted = 0
        # Per arm: recommendation clicks, clicked products carted and then bought.
        self.recommendation_clicks: Counter[str] = Counter()
        self.carted_after_click: Counter[str] = Counter()
        self.bought_after_click: Counter[str] = Counter()
        self.bought_at_once: list[checkout.Order] = []  # their orders, for what follows
        self._base: Row = dict.fromkeys(ROW_COLUMNS)
        self._base["timestamp_clamped"] = False
        self._base["is_bot"] = False
        self.info: list[dict[str, Any]] = [
            {
                "product_id": catalog.ids[j],
                "category": catalog.category(j),
                "brand": catalog.brand[j],
                "price": float(catalog.price[j]),
            }
            for j in range(catalog.size)
        ]
        self.pages = [f"/products/{pid}" for pid in catalog.ids]
        self.prices: list[float] = catalog.price.tolist()
        self.index = {pid: j for j, pid in enumerate(catalog.ids)}
        self.group_of = {
            j: g for g, members in enumerate(catalog.co_purchase_groups) for j in members
        }
        self._grouped = sorted(self.group_of)
        self._leaf_of: list[int] = catalog.leaf.tolist()
        self._leaf_products: dict[int, list[int]] = {}
        for j, leaf in enumerate(self._leaf_of):
            self._leaf_products.setdefault(leaf, []).append(j)
        self._leaf_seasonal = {
            leaf: any(k in seasonal for k in members)
            for leaf, members in self._leaf_products.items()
        }
        self._leaf_shown = {
            leaf: [catalog.ids[k] for k in members[:8]]
            for leaf, members in self._leaf_products.items()
        }
        self._stock_out = {j for j in range(catalog.size) if catalog.stock[j] == 0}
        # Delivery delays, cycled: cheaper than a random draw per event, as deterministic.
        self._latency = [timedelta(seconds=0.08 + 2.4 * k / 97) for k in range(97)]

    # rows -------------------------------------------------------------------------------
    def row(
        self, type_: str, stamp: datetime, context: dict[str, Any], fields: dict[str, Any]
    ) -> Row:
        """Append the row of one event (``event_id`` is given once all rows are sorted)."""
        row = self._base.copy()
        row.update(context)
        row.update(fields)
        row["type"] = type_
        row["timestamp"] = stamp
        row["client_timestamp"] = stamp
        row["received_at"] = stamp + self._latency[len(self.rows) % 97]
        self.rows.append(row)
        return row

    def context(
        self,
        agent: Agent,
        country: Country,
        place: int,
        anonymous_id: str | None,
        user_id: str | None,
        session_id: str | None,
    ) -> dict[str, Any]:
        region, city = country.places[place % len(country.places)]
        return {
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "session_id": session_id,
            "user_agent": agent.user_agent,
            "device_type": agent.device_type,
            "browser": agent.browser,
            "os": agent.os,
            "is_bot": agent.is_bot,
            "country": country.code,
            "region": region,
            "city": city,
            "locale": country.locale,
            "timezone": country.timezone,
        }

    def price(self, j: int, visit: Visit) -> float:
        """Product ``j``'s price during ``visit`` (its list price unless price-tested)."""
        return self.price_tests.price(j, self.prices[j], visit.start)

    def session_id(self) -> str:
        self.sessions += 1
        return f"s{self.sessions:07d}"

    def entry(self, channel: Channel, day: int, campaign: str | None) -> Row:
        """First-event fields of a session from ``channel``; paid clicks are counted."""
        fields: Row = {"referrer": channel.referrer}
        if channel.utm_source is not None and campaign is not None:
            fields |= dict(
                zip(UTM_KEYS, (channel.utm_source, channel.utm_medium, campaign), strict=True)
            )
            if channel.target_cac > 0:
                self.clicks[day, channel.name, campaign] += 1
        return fields

    def category_page_of(self, j: int) -> str:
        return category_page(self.catalog.category(j))

    # product choice ---------------------------------------------------------------------
    def pick(self, shopper: Shopper, day: int) -> int:
        """A product by the shopper's preference, thinned by its season on ``day``."""
        last = len(shopper.cum) - 1
        j = 0
        for _ in range(25):
            j = min(bisect_right(shopper.cum, self.py.random() * shopper.cum[-1]), last)
            curve = self.seasonal.get(j)
            if curve is None or self.py.random() < curve[day]:
                return j
        return j

    def pick_like(self, shopper: Shopper, j: int, day: int) -> int:
        """Another product of ``j``'s category, by the shopper's preference."""
        leaf = self._leaf_of[j]
        candidates = self._leaf_products[leaf]
        if len(candidates) < 2:
            return self.pick(shopper, day)
        pref = shopper.pref
        if self._leaf_seasonal[leaf]:
            seasonal = self.seasonal
            weights = [pref[k] * (seasonal[k][day] if k in seasonal else 1.0) for k in candidates]
        else:
            weights = [pref[k] for k in candidates]
        weights[candidates.index(j)] = 0.0
        cum = list(accumulate(weights))
        return candidates[bisect_right(cum, self.py.random() * cum[-1])]

    # the session ------------------------------------------------------------------------
    def landing(self, visit: Visit, shopper: Shopper, day: int) -> int | None:
        """The first page; a product landing page returns the product it shows."""
        r = self.py.random()
        if visit.app:
            visit.emit("screen_view", 0.0, "/", properties={"screen": "Home"})
            return None
        if r < 0.45:
            visit.emit("page_view", 0.0, "/", properties={"title": "Home"})
            return None
        j = self.pick(shopper, day)
        if r < 0.75:
            visit.emit("page_view", 0.0, self.pages[j], properties={"title": "Product"})
            return j
        visit.emit("page_view", 0.0, self.category_page_of(j), properties={"title": "Category"})
        return None

    def bounce(self, visit: Visit, shopper: Shopper, day: int, landed: int | None) -> None:
        if landed is not None and self.py.random() < 0.7:
            self.view(visit, shopper, landed, day, gap=1.0)

    def shop(
        self, visit: Visit, shopper: Shopper, day: int, kind: str, landed: int | None
    ) -> checkout.Order | None:
        """Browse; ``cart`` and ``purchase`` sessions fill a cart, ``purchase`` sessions
        check out. Returns the order placed, if any."""
        py = self.py
        if landed is not None:
            first = landed
        else:
            if kind == "purchase" and self._grouped and py.random() < GROUP_ANCHOR:
                members = self._grouped
                first = py.choices(members, [shopper.pref[k] for k in members])[0]
            else:
                first = self.pick(shopper, day)
            self.navigate(visit, shopper, first, day)
        if py.random() < 0.15:
            self.promote(visit)
        n_views = 1 + min(int(py.expovariate(1 / (MEAN_VIEWS[kind] - 1))), 12)
        viewed: list[int] = []
        j = first
        attribution: Row = {}
        for i in range(n_views):
            if i == 0 and landed is not None:
                gap = 1.0  # the landing page already shows the product
            else:
                if i > 0 and not attribution:
                    j = (
                        self.pick_like(shopper, j, day)
                        if py.random() < 0.5
                        else self.pick(shopper, day)
                    )
                if not attribution and py.random() < 0.35:
                    visit.emit(
                        "product_click",
                        py.expovariate(1 / 5),
                        None,
                        **self.info[j],
                        position=int(py.random() * 24),
                        properties={"list_id": "category"},
                    )
                gap = py.expovariate(1 / 6)
            self.view(visit, shopper, j, day, gap=gap, **attribution)
            viewed.append(j)
            if attribution:
                self.buy_at_once(visit, shopper, j)
            attribution = {}
            if i < n_views - 1:
                attribution = self.recommend(visit, shopper, j, day)
                if attribution:
                    j = self.index[attribution.pop("product_id")]
            if not visit.alive:
                return None
        if kind == "browse":
            return None
        cart = checkout.fill_cart(self, visit, shopper, viewed, day, kind)
        if kind == "cart":
            checkout.abandon(self, visit, cart)
            return None
        return checkout.pay(self, visit, shopper, cart)

    def buy_at_once(self, visit: Visit, shopper: Shopper, j: int) -> None:
        """With its arm's RECOMMENDATION_PURCHASE chance, the clicked product ``j`` (viewed
        just now) goes into a cart of its own and through checkout before the shopper browses
        on, without a coupon. Drawn from ``response``; the order's aftermath is written by
        whoever runs the session (``bought_at_once``)."""
        arm = shopper.variant
        if self.response.random() >= RECOMMENDATION_PURCHASE[arm]:
            return
        cart: list[checkout.Line] = []
        if not checkout.add(self, visit, shopper, cart, j, py=self.response):
            return
        self.carted_after_click[arm] += 1
        order = checkout.pay(self, visit, shopper, cart, py=self.response, coupons=False)
        if order is not None:
            self.bought_after_click[arm] += 1
            self.bought_at_once.append(order)

    def navigate(self, visit: Visit, shopper: Shopper, j: int, day: int) -> None:
        """From the landing page to a product list: by brand, search or category."""
        py = self.py
        info = self.info[j]
        category: str = info["category"]
        brand_first = 0.06 + 0.45 * shopper.loyalty
        r = py.random()
        gap = py.expovariate(1 / 8)
        if r < brand_first:
            brand: str = shopper.favourite_brand or info["brand"]
            visit.emit("brand_browse", gap, brand_page(brand), brand=brand)
            list_id = "brand"
        elif r < brand_first + 0.3:
            visit.emit("search", gap, "/search", query=self.query(shopper, j))
            list_id = "search_results"
        else:
            visit.emit("category_browse", gap, category_page(category), category=category)
            list_id = "category"
        shown = self._leaf_shown[self._leaf_of[j]]
        visit.emit(
            "product_list_view",
            py.expovariate(1 / 3),
            None,
            category=category,
            properties={"list_id": list_id, "products": shown},
        )
        if py.random() < 0.12 + 0.25 * shopper.sensitivity:
            if py.random() < 0.6:
                filters = {"price": "0-25" if shopper.sensitivity > 0.6 else "25-100"}
            else:
                filters = {"brand": info["brand"]}
            visit.emit(
                "filter_applied", py.expovariate(1 / 6), None, properties={"filters": filters}
            )
        if py.random() < 0.15:
            sort = "price_asc" if shopper.sensitivity > 0.7 else py.choice(SORTS)
            visit.emit("sort_applied", py.expovariate(1 / 5), None, properties={"sort": sort})

    def promote(self, visit: Visit) -> None:
        py = self.py
        props = {"promotion_id": py.choice(PROMOTIONS), "creative": "hero-banner"}
        visit.emit("promotion_view", py.expovariate(1 / 6), None, properties=props)
        if py.random() < 0.18:
            visit.emit("promotion_click", py.expovariate(1 / 8), None, properties=props)

    def query(self, shopper: Shopper, j: int) -> str:
        """What someone looking for product ``j`` types into the search box."""
        noun = self.catalog.leaves[self._leaf_of[j]].noun.lower()
        r = self.py.random()
        if shopper.sensitivity > 0.7 and r < 0.3:
            return f"cheap {noun}"
        if r < 0.55:
            return noun
        if r < 0.8:
            return f"{self.catalog.attributes[j]['colour']} {noun}"
        return f"{self.catalog.brand[j].lower()} {noun}"

    def view(
        self, visit: Visit, shopper: Shopper, j: int, day: int, gap: float, **extra: Any
    ) -> None:
        """A product page, and what a shopper sometimes does there."""
        py = self.py
        info = self.info[j]
        if j in self.price_tests.factors:
            info = info | {"price": self.price(j, visit)}
        page = self.pages[j]
        seconds = round(min(py.lognormvariate(3.3, 0.7), 900.0), 1)
        depth = float(py.choice((25, 50, 50, 75, 75, 100)))
        visit.emit(
            "product_view", gap, page, **info, **extra, time_spent=seconds, scroll_depth=depth
        )
        visit.seconds += seconds
        r = py.random()
        if r < 0.05:
            visit.emit(
                "video_play",
                3.0,
                page,
                product_id=info["product_id"],
                properties={"video": "product-demo", "duration": 45},
            )
        elif r < 0.09:
            visit.emit("wishlist_add", 2.0, page, **info)
            shopper.wishlist.append(j)
        elif r < 0.105:
            visit.emit(
                "product_share", 2.0, page, **info, properties={"network": py.choice(NETWORKS)}
            )
        elif r < 0.125:
            other = self.info[self.pick_like(shopper, j, day)]["product_id"]
            visit.emit(
                "product_compare",
                4.0,
                page,
                product_id=info["product_id"],
                properties={"compared_with": other},
            )
        elif r < 0.133:
            visit.emit(
                "question_asked", 20.0, page, **info, properties={"question": py.choice(QUESTIONS)}
            )
        if shopper.user_id is not None:
            if j in self._stock_out and py.random() < 0.35:
                visit.emit("back_in_stock_subscribe", 3.0, page, **info)
            elif shopper.sensitivity > 0.7 and py.random() < 0.03:
                target = round(info["price"] * 0.85, 2)
                visit.emit(
                    "price_alert_subscribe", 3.0, page, **info, properties={"target_price": target}
                )
        group = self.group_of.get(j)
        if group is not None and py.random() < 0.15:
            checkout.offer(
                self, visit, group, j, "product", 2.0, page, product_id=info["product_id"]
            )

    def recommend(self, visit: Visit, shopper: Shopper, j: int, day: int) -> Row:
        """Sometimes a recommendation list under product ``j``: products the shopper likes
        and others of ``j``'s category, each listed once. A click leads to the product viewed
        next, which carries the recommendation's id and the clicked item's position: its rank
        in the list, 1 = first, as in the logged answer."""
        py = self.py
        if py.random() >= 0.2:
            return {}
        self._n_recommendations += 1
        rec_id = f"rec{self._n_recommendations:07d}"
        drawn = [
            (self.pick_like(shopper, j, day), "similar_to")
            if k % 2
            else (self.pick(shopper, day), "personalized")
            for k in range(RECOMMENDATION_DRAWS)
        ]
        personal = RECOMMENDATION_STRATEGY[shopper.variant] == "hybrid"
        listed: dict[int, str] = {}
        for k, reason in drawn:
            listed.setdefault(k, reason if personal else "popular")
        listing = list(listed)
        ids = [self.info[k]["product_id"] for k in listing]
        common = {"recommendation_id": rec_id, "experiment": EXPERIMENT, "variant": shopper.variant}
        if visit.emit(
            "recommendation_view",
            py.expovariate(1 / 4),
            None,
            **common,
            product_id=self.info[j]["product_id"],
            properties={"placement": "product_page", "items": ids},
        ):
            self.shown.append(Shown(self.rows[-1], shopper.variant, list(listed.items())))
        if py.random() >= RECOMMENDATION_CTR[shopper.variant]:
            return {}
        # One of the draws: a product drawn twice is twice as likely to be the one clicked.
        clicked = drawn[int(py.random() * len(drawn))][0]
        rank = listing.index(clicked) + 1
        if visit.emit(
            "recommendation_click",
            py.expovariate(1 / 5),
            None,
            **common,
            product_id=ids[rank - 1],
            position=rank,
        ):
            self.recommendation_clicks[shopper.variant] += 1
        return {"recommendation_id": rec_id, "position": rank, "product_id": ids[rank - 1]}


def log_row(shown: Shown) -> Row:
    """The ``recommendation_log`` row of a list shown (read once ids are final)."""
    view = shown.row
    return {
        "recommendation_id": view["recommendation_id"],
        "user_id": view["user_id"],
        "anonymous_id": view["anonymous_id"],
        "session_id": view["session_id"],
        "context": "product",
        "strategy": RECOMMENDATION_STRATEGY[shown.variant],
        "model_version": "demo",
        "experiment": EXPERIMENT,
        "variant": shown.variant,
        "request": {},
        "items": [
            {
                "product_id": view["properties"]["items"][rank - 1],
                "rank": rank,
                "score": round(1.0 / rank, 4),
                "reason_kind": reason,
            }
            for rank, (_, reason) in enumerate(shown.items, start=1)
        ],
        "created_at": view["timestamp"],
    }

"""A demo store with known answers: catalog, customers with planted traits, their sessions,
orders and refunds, anonymous and bot traffic, and marketing spend, all from one seed.

Everything random comes from ``numpy.random.default_rng(seed)`` (and a ``random.Random``
seeded from it), and the history ends on a fixed date, so a spec always gives the same rows,
event ids included. Events are written through ``tracking.store.store_events``, so orders,
users, identities and refunds are derived exactly as for tracked traffic.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from shopsense.catalog.products import upsert_products
from shopsense.db.models import (
    activity_table,
    identities_table,
    order_items_table,
    orders_table,
    products_table,
    refund_items_table,
    refunds_table,
    spend_table,
    users_table,
)
from shopsense.db.session import Database
from shopsense.demo.catalog import DEPARTMENTS, Catalog, build_catalog
from shopsense.demo.channels import CHANNELS, cost_per_click, spend_lines
from shopsense.demo.checkout import GROUP_COMPLETION
from shopsense.demo.devices import agents
from shopsense.demo.journeys import RETURN_RATES, Journeys
from shopsense.demo.pages import bundle_id
from shopsense.demo.sessions import EXPERIMENT, RECOMMENDATION_CTR, Simulator
from shopsense.demo.timing import SEASON_PEAKS, Clock, seasonal_acceptance
from shopsense.demo.users import Population, base_weights, build_population, preferences
from shopsense.marketing.spend import SpendIn, upsert_spend
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings
from shopsense.tracking.store import store_events

CHUNK = 5_000
VISITORS_PER_USER = 0.5  # anonymous visitors who never sign up, per customer
USERS_PER_CRAWLER = 1_000
# What a generation writes, for refreshing planner statistics afterwards.
ANALYZED = tuple(
    t.name
    for t in (
        activity_table,
        users_table,
        identities_table,
        orders_table,
        order_items_table,
        refunds_table,
        refund_items_table,
        products_table,
        spend_table,
    )
)


@dataclass(frozen=True)
class StoreSpec:
    """What to generate; ``end`` is the last day of history (in the shop's timezone)."""

    users: int = 10_000
    products: int = 500
    days: int = 90
    seed: int = 42
    end: date = date(2026, 11, 1)

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass(frozen=True)
class DemoStore:
    """A generated store, ready to write: rows in the shapes the writers take."""

    products: list[dict[str, Any]]
    events: list[dict[str, Any]]
    spend: list[SpendIn]
    truth: dict[str, Any]
    as_of: datetime


def build_store(spec: StoreSpec, *, timezone: str = "UTC", reporter: Reporter = NULL) -> DemoStore:
    """Generate the store in memory; the same spec and timezone give the same store."""
    if spec.users < 1 or spec.products < 10 or spec.days < 1:
        raise ValueError("a demo store needs at least 1 user, 10 products and 1 day")
    rng = np.random.default_rng(spec.seed)
    py = random.Random(int(rng.integers(2**62)))  # noqa: S311 - a simulation, not secrets
    clock = Clock(spec.start, spec.days, ZoneInfo(timezone))
    catalog = build_catalog(rng, spec.products)
    population = build_population(rng, spec.users, spec.days, catalog)
    crowd = base_weights(catalog)
    quality = (2.4 + 2.4 * rng.beta(5.0, 2.0, catalog.size)).tolist()
    sim = Simulator(catalog, py, seasonal_acceptance(catalog, spec.start, spec.days), quality)
    journeys = Journeys(
        sim, population, catalog, clock, preferences(population, catalog), crowd / crowd.sum()
    )

    last = np.where(population.churn_day >= 0, population.churn_day, spec.days - 1)
    active = np.maximum(last - population.signup_day, 0)
    n_visits = rng.poisson(population.visit_rate * active / 30.0)
    n_purchases = rng.poisson(population.purchase_rate * (active + 1) / 30.0)
    n_visitors = round(spec.users * VISITORS_PER_USER)
    crawlers = agents("bot")
    n_crawlers = max(1, spec.users // USERS_PER_CRAWLER)

    task = reporter.task("simulating shoppers", total=spec.users + n_visitors + n_crawlers)
    for u in range(spec.users):
        journeys.customer(u, int(n_visits[u]), int(n_purchases[u]))
        if u % 500 == 499:
            task.advance(500)
    task.advance(spec.users % 500)
    for _ in range(n_visitors):
        journeys.visitor()
    task.advance(n_visitors)
    for b in range(n_crawlers):
        journeys.crawler(crawlers[b % len(crawlers)])
    task.advance(n_crawlers)

    events = sim.rows
    events.sort(key=itemgetter("timestamp"))  # stable: ties keep the order they were made in
    _number_in_time_order(events, spec.seed)
    acquired = Counter(CHANNELS[int(c)].name for c in population.channel)
    spend = spend_lines(sim.clicks, acquired, spec.start, rng)
    truth = _truth(spec, timezone, catalog, population, sim, journeys, spend, acquired)
    return DemoStore(catalog.rows(clock.end), events, spend, truth, clock.end)


def generate_store(
    db: Database, spec: StoreSpec, *, settings: Settings, reporter: Reporter = NULL
) -> dict[str, Any]:
    """Write a demo store into ``db`` and return its ground truth (JSON-serialisable).

    Meant for an empty database; generating the same spec again changes nothing (events are
    idempotent by id, products and spend are upserts)."""
    store = build_store(spec, timezone=settings.timezone, reporter=reporter)
    with db.write() as conn:
        upsert_products(conn, store.products)
        upsert_spend(conn, store.spend, store.as_of)
    task = reporter.task("writing events", total=len(store.events))
    for start in range(0, len(store.events), CHUNK):
        chunk = store.events[start : start + CHUNK]
        with db.write() as conn:
            store_events(conn, chunk)
        task.advance(len(chunk))
    if db.dialect == "postgresql":
        # Fresh planner statistics: without them PostgreSQL takes the just-filled tables
        # for empty ones and picks nested loops that take minutes.
        with db.write() as conn:
            conn.exec_driver_sql(f"ANALYZE {', '.join(ANALYZED)}")
    return store.truth


def _number_in_time_order(events: list[dict[str, Any]], seed: int) -> None:
    """Event, session and order ids that count up with time, as a shop's own would (and
    which the store's indexes take in order)."""
    sessions: dict[str, str] = {}
    orders: dict[str, str] = {}
    for i, row in enumerate(events, start=1):
        row["event_id"] = f"demo{seed}-{i:08d}"
        sid = row["session_id"]
        if sid is not None:
            row["session_id"] = sessions.setdefault(sid, f"S{len(sessions) + 1:07d}")
        oid = row["order_id"]
        if oid is not None:
            row["order_id"] = orders.setdefault(oid, f"O{len(orders) + 1:06d}")


def _truth(
    spec: StoreSpec,
    timezone: str,
    catalog: Catalog,
    population: Population,
    sim: Simulator,
    journeys: Journeys,
    spend: list[SpendIn],
    acquired: Counter[str],
) -> dict[str, Any]:
    """What was planted, for tests and for checking the analytics against."""
    ids = catalog.ids
    by_type = Counter(row["type"] for row in sim.rows)
    human_sessions = sim.sessions - sim.bot_sessions
    spent: dict[str, float] = {}
    for line in spend:
        spent[line.channel] = spent.get(line.channel, 0.0) + line.amount
    price = cost_per_click(sim.clicks, acquired)
    clicks = Counter[str]()
    for (_, channel, _), n in sim.clicks.items():
        clicks[channel] += n
    channels = {
        c.name: {
            "utm_source": c.utm_source,
            "utm_medium": c.utm_medium,
            "target_cac": c.target_cac or None,
            "cost_per_click": round(price[c.name], 4) if c.name in price else None,
            "paid_clicks": clicks[c.name],
            "spend": round(spent.get(c.name, 0.0), 2),
            "users_acquired": acquired[c.name],
            "cac": round(spent.get(c.name, 0.0) / acquired[c.name], 2)
            if c.target_cac > 0 and acquired[c.name]
            else None,
        }
        for c in CHANNELS
    }
    return {
        "spec": {
            **asdict(spec),
            "end": spec.end.isoformat(),
            "start": spec.start.isoformat(),
            "timezone": timezone,
        },
        "users": {
            uid: population.truth(u, catalog, spec.start) for u, uid in enumerate(population.ids)
        },
        "co_purchase_groups": [
            {
                "bundle_id": bundle_id(g),
                "products": [ids[j] for j in group],
                "categories": [catalog.category(j) for j in group],
                "completion_rate": GROUP_COMPLETION,
            }
            for g, group in enumerate(catalog.co_purchase_groups)
        ],
        "seasonal_products": {
            season: {
                "peak": f"{peak[0]:02d}-{peak[1]:02d}",
                "width_days": width,
                "products": [ids[j] for j, s in enumerate(catalog.season) if s == season],
            }
            for season, (peak, width) in SEASON_PEAKS.items()
        },
        "slow_movers": [ids[j] for j in catalog.slow_movers],
        "low_stock": [ids[j] for j in range(catalog.size) if catalog.stock[j] <= 3],
        "margins": {d.name: {"min": d.margin[0], "max": d.margin[1]} for d in DEPARTMENTS},
        "return_rates": RETURN_RATES,
        "experiments": {
            EXPERIMENT: {
                "metric": "recommendation_click / recommendation_view",
                "ctr": RECOMMENDATION_CTR,
            }
        },
        "channels": channels,
        "counts": {
            "events": len(sim.rows),
            "events_by_type": dict(sorted(by_type.items())),
            "orders": by_type["purchase"],
            "users": population.size,
            "sessions": human_sessions,
            "converted_sessions": sim.converted_sessions,
            "session_conversion": round(sim.converted_sessions / max(human_sessions, 1), 4),
            "bot_sessions": sim.bot_sessions,
            "anonymous_visitors": journeys.visitors,
            "anonymous_visitors_merged": journeys.merged_visitors,
            "order_revenue": round(sum(o.revenue for o in sim.orders), 2),
        },
    }

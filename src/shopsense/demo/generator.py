"""A demo store with known answers: catalog, customers with planted traits, their sessions,
orders and refunds, anonymous and bot traffic, marketing spend, and the recommendation
experiment and bundle offers as served (their log rows and the experiment), all from one seed.

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
from shopsense.db.bulk import insert_new
from shopsense.db.models import (
    activity_table,
    bundle_recommendation_table,
    experiment_table,
    identities_table,
    order_items_table,
    orders_table,
    products_table,
    recommendation_log_table,
    refund_items_table,
    refunds_table,
    spend_table,
    users_table,
)
from shopsense.db.session import Database
from shopsense.demo.catalog import DEPARTMENTS, Catalog, build_catalog
from shopsense.demo.channels import CHANNELS, cost_per_click, spend_lines
from shopsense.demo.checkout import (
    BUNDLE_DISCOUNT,
    BUNDLE_TAKE,
    GROUP_COMPLETION,
    OFFER_BASE_RATE,
    OFFER_TAKE_RATE,
    offer_row,
)
from shopsense.demo.devices import agents
from shopsense.demo.journeys import RETURN_RATES, Journeys
from shopsense.demo.pages import bundle_id
from shopsense.demo.pricing import PriceTests
from shopsense.demo.sessions import (
    EXPERIMENT,
    RECOMMENDATION_CTR,
    RECOMMENDATION_PURCHASE,
    RECOMMENDATION_STRATEGY,
    Simulator,
    log_row,
)
from shopsense.demo.timing import SEASON_PEAKS, Clock, seasonal_acceptance
from shopsense.demo.users import Population, base_weights, build_population, preferences
from shopsense.experiments.stats import planned_sample_size
from shopsense.marketing.spend import SpendIn, upsert_spend
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings
from shopsense.tracking.store import store_events

CHUNK = 5_000
PLANNED_EFFECT = 0.5  # the relative CTR lift the demo's experiment is planned to detect
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
        recommendation_log_table,
        bundle_recommendation_table,
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
    """A generated store, ready to write: rows in the shapes the writers take
    (``recommendations``, ``bundles`` and ``experiments`` are ``recommendation_log``,
    ``bundle_recommendation`` and ``experiment`` rows)."""

    products: list[dict[str, Any]]
    events: list[dict[str, Any]]
    spend: list[SpendIn]
    truth: dict[str, Any]
    as_of: datetime
    recommendations: list[dict[str, Any]]
    bundles: list[dict[str, Any]]
    experiments: list[dict[str, Any]]


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
    # Recommendation purchases have their own stream (seeded by the spec, taking nothing
    # from ``rng``), so they add to the store without changing the rest of it.
    response = random.Random(f"shopsense-demo-{spec.seed}-responses")  # noqa: S311
    price_tests = PriceTests.plant(catalog, crowd, spec.days, clock.utc(0, 0, 0), spec.seed)
    sim = Simulator(
        catalog,
        py,
        seasonal_acceptance(catalog, spec.start, spec.days),
        quality,
        response,
        price_tests,
    )
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
    # Logged as served: the ids the events carried then (before any identity merge).
    recommendations = sorted((log_row(s) for s in sim.shown), key=itemgetter("created_at"))
    bundles = sorted((offer_row(sim, o) for o in sim.offers), key=itemgetter("created_at"))
    experiment = _experiment(clock.utc(0, 0, 0), clock.end)
    acquired = Counter(CHANNELS[int(c)].name for c in population.channel)
    spend = spend_lines(sim.clicks, acquired, spec.start, rng)
    truth = _truth(spec, timezone, catalog, population, sim, journeys, spend, acquired)
    truth["experiments"][EXPERIMENT]["started_at"] = experiment["started_at"].isoformat()
    return DemoStore(
        catalog.rows(clock.end),
        events,
        spend,
        truth,
        clock.end,
        recommendations,
        bundles,
        [experiment],
    )


def _experiment(started_at: datetime, stopped_at: datetime) -> dict[str, Any]:
    """The ``experiment`` row of the recommendation A/B test the sessions ran over the
    history: control served ``popular``, treatment ``hybrid``. It is stored as stopped at the
    end of the history — it can be read out, and the served store's answers use ``auto`` —
    and planned for the large effect it was given (a relative lift of 0.5)."""
    return {
        "name": EXPERIMENT,
        "description": "Demo store: product-page recommendations, popular against hybrid.",
        "status": "stopped",
        "variants": [
            {"name": variant, "strategy": strategy, "weight": 1.0}
            for variant, strategy in RECOMMENDATION_STRATEGY.items()
        ],
        "traffic": 1.0,
        "holdout": 0.0,
        "metric": "ctr",
        "baseline_rate": RECOMMENDATION_CTR["control"],
        "minimum_effect": PLANNED_EFFECT,
        "planned_users": planned_sample_size(RECOMMENDATION_CTR["control"], PLANNED_EFFECT),
        "started_at": started_at,
        "stopped_at": stopped_at,
        "winner": None,
    }


def generate_store(
    db: Database, spec: StoreSpec, *, settings: Settings, reporter: Reporter = NULL
) -> dict[str, Any]:
    """Write a demo store into ``db`` and return its ground truth (JSON-serialisable).

    Meant for an empty database; generating the same spec again changes nothing (events,
    logged recommendations, bundle offers and the experiment are idempotent by id, products
    and spend are upserts; an experiment already stored under the demo's name is kept)."""
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
    logged = (
        (recommendation_log_table, store.recommendations, "recommendation_id"),
        (bundle_recommendation_table, store.bundles, "bundle_id"),
        (experiment_table, store.experiments, "name"),
    )
    for table, rows, key in logged:
        for start in range(0, len(rows), CHUNK):
            with db.write() as conn:
                insert_new(conn, table, rows[start : start + CHUNK], key)
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
    lists = Counter(s.variant for s in sim.shown)
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
        "price_tests": sim.price_tests.truth(catalog),
        "low_stock": [ids[j] for j in range(catalog.size) if catalog.stock[j] <= 3],
        "margins": {d.name: {"min": d.margin[0], "max": d.margin[1]} for d in DEPARTMENTS},
        "return_rates": RETURN_RATES,
        "experiments": {
            EXPERIMENT: {
                "metric": "recommendation_click / recommendation_view",
                "ctr": RECOMMENDATION_CTR,
                "purchase_after_click": RECOMMENDATION_PURCHASE,
                "variants": {
                    variant: {
                        "strategy": strategy,
                        "ctr": RECOMMENDATION_CTR[variant],
                        "purchase_after_click": RECOMMENDATION_PURCHASE[variant],
                        "lists": lists[variant],
                        "clicks": sim.recommendation_clicks[variant],
                        "carted_after_click": sim.carted_after_click[variant],
                        "bought_after_click": sim.bought_after_click[variant],
                    }
                    for variant, strategy in RECOMMENDATION_STRATEGY.items()
                },
            }
        },
        "bundles": {
            "type": "complementary",
            "discount": BUNDLE_DISCOUNT,
            "completion_rate": GROUP_COMPLETION,
            "through_offer": BUNDLE_TAKE,
            "take_rate": OFFER_TAKE_RATE,
            "base_rate": OFFER_BASE_RATE,
            "offers": len(sim.offers),
            "offers_by_context": dict(sorted(Counter(o.context for o in sim.offers).items())),
            "accepted": sim.bundles_accepted,
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
            "recommendation_lists": len(sim.shown),
            "recommendation_clicks": sim.recommendation_clicks.total(),
            "bundle_offers": len(sim.offers),
        },
    }

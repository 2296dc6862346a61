"""Customers with planted traits, drawn as arrays, and the product preferences that follow
from them: department affinity, price position within a category and brand loyalty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from shopsense.demo.catalog import DEPARTMENTS, Catalog, Floats, Ints
from shopsense.demo.channels import CHANNELS, acquisition_weights
from shopsense.demo.devices import DEVICE_CLASSES, agent_weights, agents
from shopsense.demo.geo import COUNTRIES, country_weights

PRICE_SEGMENTS = ("budget", "mid", "premium")
# Peak-hour habits: (share of users, hours to pick from).
HOUR_HABITS: tuple[tuple[float, tuple[int, ...]], ...] = (
    (0.15, (7, 8, 9)),
    (0.2, (12, 13)),
    (0.2, (14, 15, 16, 17)),
    (0.45, (19, 20, 21, 22)),
)
FAVOURITE_WEIGHTS = (6.0, 3.0, 2.0)  # affinity of a user's 1st, 2nd, 3rd department
PRICE_FIT_WIDTH = 0.2
SEASONAL_BOOST = 4.0  # seasonal items at their peak sell this much above their base


@dataclass(frozen=True)
class Population:
    """Traits of ``n`` customers; index ``u`` is user ``ids[u]``."""

    ids: list[str]
    signup_day: Ints
    churn_day: Ints  # -1: not a churner
    country: Ints
    place: Ints
    device: Ints  # index into DEVICE_CLASSES: the main device
    agent: Ints  # (n, 3): the user's agent for each device class
    app_user: npt.NDArray[np.bool_]
    price_sensitivity: Floats
    price_segment: Ints
    brand_loyalty: Floats
    loyal: npt.NDArray[np.bool_]
    favourite_brand: Ints  # index into Catalog.brands
    favourites: Ints  # (n, 3) department indices, -1 for none
    peak_hour: Ints
    weekdays: list[list[int]]  # preferred weekdays, Monday = 0
    purchase_rate: Floats  # orders per 30 days while active
    visit_rate: Floats  # sessions without a purchase per 30 days
    channel: Ints  # index into CHANNELS
    pre_signup_sessions: Ints  # anonymous sessions before the signup
    subscriber: npt.NDArray[np.bool_]
    unsubscribe_day: Ints  # -1: stays subscribed
    treatment: npt.NDArray[np.bool_]  # recommendation experiment arm

    @property
    def size(self) -> int:
        return len(self.ids)

    def truth(self, u: int, catalog: Catalog, start: date) -> dict[str, Any]:
        """The ground truth of user ``u`` (days as ISO dates)."""

        def day(d: int) -> str | None:
            return None if d < 0 else (start + timedelta(days=d)).isoformat()

        channel = CHANNELS[int(self.channel[u])]
        return {
            "signup_date": day(int(self.signup_day[u])),
            "channel": channel.name,
            "utm_source": channel.utm_source,
            "utm_medium": channel.utm_medium,
            "country": COUNTRIES[int(self.country[u])].code,
            "main_device": DEVICE_CLASSES[int(self.device[u])],
            "price_sensitivity": round(float(self.price_sensitivity[u]), 3),
            "price_segment": PRICE_SEGMENTS[int(self.price_segment[u])],
            "brand_loyalty": round(float(self.brand_loyalty[u]), 3),
            "loyal": bool(self.loyal[u]),
            "favourite_brand": catalog.brands[int(self.favourite_brand[u])],
            "favourite_categories": [
                DEPARTMENTS[int(d)].name for d in self.favourites[u] if d >= 0
            ],
            "peak_hour": int(self.peak_hour[u]),
            "preferred_weekdays": self.weekdays[u],
            "purchase_rate": round(float(self.purchase_rate[u]), 3),
            "visit_rate": round(float(self.visit_rate[u]), 3),
            "churned": bool(self.churn_day[u] >= 0),
            "churn_date": day(int(self.churn_day[u])),
            "pre_signup_sessions": int(self.pre_signup_sessions[u]),
            "newsletter": bool(self.subscriber[u]),
            "newsletter_unsubscribed": day(int(self.unsubscribe_day[u])),
            "recommendation_variant": "treatment" if self.treatment[u] else "control",
        }


LOYAL_FROM = 0.5  # a planted loyalty from which a customer counts as brand-loyal
# Churn: a share of the customers who signed up at least CHURN_MIN_TENURE days before the end
# stop visiting on a day drawn uniformly from CHURN_AFTER days after signup to 2 days before
# the end, and never come back.
CHURN_SHARE = 0.22
CHURN_MIN_TENURE = 10
CHURN_AFTER = 3


def build_population(rng: np.random.Generator, n: int, days: int, catalog: Catalog) -> Population:
    """Draw every trait independently, so each can be recovered on its own."""
    signup_day = np.minimum((days * rng.random(n) ** 1.6).astype(np.int64), days - 1)
    churn_day = np.full(n, -1, dtype=np.int64)
    eligible = (signup_day <= days - CHURN_MIN_TENURE) & (rng.random(n) < CHURN_SHARE)
    lo = signup_day[eligible] + CHURN_AFTER
    churn_day[eligible] = lo + (rng.random(int(eligible.sum())) * (days - 2 - lo)).astype(np.int64)

    country = rng.choice(len(COUNTRIES), size=n, p=country_weights())
    place = rng.integers(0, 1_000, n) % np.array([len(COUNTRIES[c].places) for c in country])
    device = rng.choice(len(DEVICE_CLASSES), size=n, p=[0.42, 0.48, 0.10])
    agent = np.stack(
        [
            rng.choice(len(agents(cls)), size=n, p=_normalised(agent_weights(cls)))
            for cls in DEVICE_CLASSES
        ],
        axis=1,
    )
    app_user = (device == 1) & (rng.random(n) < 0.3)

    price_segment = rng.choice(3, size=n, p=[0.35, 0.4, 0.25])
    price_sensitivity = np.choose(
        price_segment,
        [rng.uniform(0.7, 1.0, n), rng.uniform(0.35, 0.65, n), rng.uniform(0.0, 0.3, n)],
    )
    brand_loyalty = rng.uniform(0.0, 0.9, n)
    loyal = brand_loyalty >= LOYAL_FROM

    dept_weight = np.array([d.weight for d in DEPARTMENTS])
    n_favourites = rng.choice([1, 2, 3], size=n, p=[0.3, 0.45, 0.25])
    favourites = np.full((n, 3), -1, dtype=np.int64)
    keys = rng.random((n, len(DEPARTMENTS))) ** (1.0 / dept_weight)  # weighted, no repeats
    ranked = np.argsort(-keys, axis=1)
    for k in range(3):
        favourites[:, k] = np.where(n_favourites > k, ranked[:, k], -1)
    favourite_brand = np.empty(n, dtype=np.int64)
    for d in range(len(DEPARTMENTS)):
        members = favourites[:, 0] == d
        own = np.flatnonzero(catalog.brand_department == d)
        favourite_brand[members] = rng.choice(own, size=int(members.sum()))

    habit = rng.choice(len(HOUR_HABITS), size=n, p=[h[0] for h in HOUR_HABITS])
    hour_pick = rng.random(n)
    peak_hour = np.array(
        [
            HOUR_HABITS[h][1][int(x * len(HOUR_HABITS[h][1]))]
            for h, x in zip(habit, hour_pick, strict=True)
        ],
        dtype=np.int64,
    )
    n_weekdays = rng.choice([2, 3], size=n)
    weekdays = [sorted(int(d) for d in rng.permutation(7)[:k]) for k in n_weekdays]

    purchase_rate = np.clip(rng.lognormal(np.log(0.11), 0.9, n), 0.02, 3.0)
    visit_rate = np.clip(rng.lognormal(np.log(2.2), 0.6, n), 0.5, 30.0) + 3 * purchase_rate

    channel = rng.choice(len(CHANNELS), size=n, p=acquisition_weights())
    pre_signup = np.where(rng.random(n) < 0.35, rng.integers(1, 4, n), 0)
    pre_signup[signup_day == 0] = 0
    subscriber = rng.random(n) < 0.45
    unsubscribe_day = np.full(n, -1, dtype=np.int64)
    leaving = subscriber & (rng.random(n) < 0.08) & (signup_day < days - 3)
    span = days - 1 - signup_day[leaving]
    unsubscribe_day[leaving] = (
        signup_day[leaving] + 1 + (rng.random(len(span)) * span).astype(np.int64)
    )
    unsubscribe_day[leaving] = np.minimum(unsubscribe_day[leaving], days - 1)
    treatment = rng.random(n) < 0.5
    return Population(
        ids=[f"U{u + 1:05d}" for u in range(n)],
        signup_day=signup_day,
        churn_day=churn_day,
        country=country,
        place=place,
        device=device,
        agent=agent,
        app_user=app_user,
        price_sensitivity=price_sensitivity,
        price_segment=price_segment,
        brand_loyalty=brand_loyalty,
        loyal=loyal,
        favourite_brand=favourite_brand,
        favourites=favourites,
        peak_hour=peak_hour,
        weekdays=weekdays,
        purchase_rate=purchase_rate,
        visit_rate=visit_rate,
        channel=channel,
        pre_signup_sessions=pre_signup,
        subscriber=subscriber,
        unsubscribe_day=unsubscribe_day,
        treatment=treatment,
    )


def _normalised(weights: tuple[float, ...]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]


def base_weights(catalog: Catalog) -> Floats:
    """Product popularity, with seasonal items lifted so their peak stands out."""
    boost = np.array([SEASONAL_BOOST if s else 1.0 for s in catalog.season])
    return np.asarray(catalog.popularity * boost, dtype=np.float64)


def preferences(population: Population, catalog: Catalog) -> Floats:
    """(users x products) probability of a product being the one a user looks at.

    A mixture: with weight 1 - loyalty any product, by popularity x department affinity x
    price fit; with weight loyalty a product of the favourite brand, by popularity x price
    fit. Price fit peaks where the product's percentile within its category is
    1 - price sensitivity, so budget users look at the cheap end and premium users at the
    dear end."""
    base = base_weights(catalog)
    target = 1.0 - population.price_sensitivity
    fit = np.exp(
        -((catalog.price_percentile[None, :] - target[:, None]) ** 2) / (2 * PRICE_FIT_WIDTH**2)
    )
    fit += 0.02
    affinity = np.ones((population.size, len(DEPARTMENTS)))
    rows = np.arange(population.size)
    for k, weight in enumerate(FAVOURITE_WEIGHTS):
        has = population.favourites[:, k] >= 0
        affinity[rows[has], population.favourites[has, k]] = weight
    general = base[None, :] * fit * affinity[:, catalog.department]
    general /= general.sum(axis=1, keepdims=True)
    own = catalog.brand_index[None, :] == population.favourite_brand[:, None]
    brand = base[None, :] * fit * own
    totals = brand.sum(axis=1, keepdims=True)
    # A favourite brand may have no products in a small catalog: then loyalty has no object.
    brand = np.divide(brand, totals, out=general.copy(), where=totals > 0)
    loyalty = population.brand_loyalty[:, None]
    return np.asarray((1.0 - loyalty) * general + loyalty * brand, dtype=np.float64)

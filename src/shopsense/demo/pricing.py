"""Planted price tests: a few popular products whose price moves week by week, and whose
demand answers each move with a planted own-price elasticity — the ground truth the profit
engine's elasticity estimates are checked against.

A tested product's price in week ``w`` is its list price × ``FACTORS[k]`` (drawn per
product and week). Demand answers through the cart: a tested product that a shopper would
put in the cart goes in with probability ``f^b / max_f f^b`` for the week's factor ``f`` and
the product's elasticity ``b``, so units sold follow ``f^b`` (a constant elasticity) up to
the noise of the draws. Products of co-purchase groups (bundle prices), seasonal products
and slow movers are not tested, so the other planted answers stay as they were. The tests
draw from their own seeded streams, so a store without them would be the same store up to
the carts they change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from shopsense.demo.catalog import Catalog

FACTORS = (0.6, 0.8, 1.0, 1.2, 1.4)
TESTED_SHARE = 25  # one product in this many is price-tested, at most MAX_TESTED
MAX_TESTED = 20
MIN_CATALOG = 200  # in a smaller catalog the best sellers carry too much of the sales to test
ELASTICITY_RANGE = (-3.0, -0.5)


@dataclass(frozen=True)
class PriceTests:
    """Per tested product (catalog index): its elasticity and its factor for each week of
    the history (week 0 starts at ``origin``, the first midnight of the history)."""

    elasticity: dict[int, float]
    factors: dict[int, list[float]]
    origin: datetime
    draws: random.Random

    @classmethod
    def plant(
        cls,
        catalog: Catalog,
        popularity: npt.NDArray[np.float64],
        days: int,
        origin: datetime,
        seed: int,
    ) -> PriceTests:
        """The most popular products (one in TESTED_SHARE of the catalog, at most MAX_TESTED,
        none in a catalog under MIN_CATALOG) that are in stock and neither grouped, seasonal
        nor slow."""
        grouped = {j for group in catalog.co_purchase_groups for j in group}
        excluded = grouped | set(catalog.slow_movers)
        eligible = [
            j
            for j in np.argsort(-popularity, kind="stable").tolist()
            if j not in excluded and catalog.season[j] is None and catalog.stock[j] > 0
        ]
        n = min(MAX_TESTED, catalog.size // TESTED_SHARE) if catalog.size >= MIN_CATALOG else 0
        tested = sorted(eligible[:n])
        rng = np.random.default_rng([seed, 8_317])
        betas = rng.uniform(*ELASTICITY_RANGE, len(tested))
        weeks = days // 7 + 1
        picks = rng.integers(0, len(FACTORS), (len(tested), weeks))
        return cls(
            elasticity={j: float(b) for j, b in zip(tested, betas, strict=True)},
            factors={
                j: [FACTORS[k] for k in row] for j, row in zip(tested, picks.tolist(), strict=True)
            },
            origin=origin,
            draws=random.Random(f"shopsense-demo-{seed}-prices"),  # noqa: S311 - a simulation
        )

    def factor(self, j: int, when: datetime) -> float:
        """Product ``j``'s price factor at ``when`` (1 for an untested product)."""
        weekly = self.factors.get(j)
        if weekly is None:
            return 1.0
        week = min(max((when - self.origin).days // 7, 0), len(weekly) - 1)
        return weekly[week]

    def price(self, j: int, list_price: float, when: datetime) -> float:
        """What product ``j`` sells for at ``when``, to the cent."""
        return round(list_price * self.factor(j, when), 2)

    def declines(self, j: int, when: datetime) -> bool:
        """Whether the week's price keeps product ``j`` out of the cart (never for an
        untested product)."""
        b = self.elasticity.get(j)
        if b is None:
            return False
        top = max(f**b for f in FACTORS)
        share: float = self.factor(j, when) ** b / top
        return self.draws.random() >= share

    def truth(self, catalog: Catalog) -> dict[str, dict[str, object]]:
        """Per tested product id: the planted elasticity and the weekly factors."""
        return {
            catalog.ids[j]: {"elasticity": round(b, 6), "factors": self.factors[j]}
            for j, b in self.elasticity.items()
        }

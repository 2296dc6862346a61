"""Popularity with time decay, and trending (recent growth): the non-personal baselines,
also the fallback for anonymous visitors and for filling short lists."""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp

from shopsense.recommend.base import Floats, Ints, Recommender, State
from shopsense.recommend.interactions import Interactions

DAY_US = 86_400 * 1e6


def _age_days(data: Interactions) -> pl.Expr:
    return (pl.lit(data.as_of) - pl.col("timestamp")).dt.total_microseconds() / DAY_US


class _ItemScores(Recommender):
    """A non-personal model: one score per item, the same for everyone."""

    personalised = False

    def __init__(self) -> None:
        super().__init__()
        self.item_scores_: Floats = np.zeros(0)

    def _set_scores(self, n_items: int, items: pl.Series, values: Floats) -> None:
        scores = np.zeros(n_items)
        scores[items.to_numpy()] = values
        self.item_scores_ = scores

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        return np.broadcast_to(self.item_scores_, (len(users), len(self.item_scores_)))


class Popular(_ItemScores):
    """How many customers took each item, each counted once and decayed from their latest
    take by 0.5^(age / half-life): what the shop sells *now*, to how many people.

    Counting customers rather than lines keeps one wholesaler's fifty orders of an item from
    outranking what fifty customers bought once. ``kinds`` restricts the events counted
    (default purchases and carts, the demand signal; on a store without them, every event)."""

    name = "popular"

    def __init__(
        self, half_life_days: float = 30.0, kinds: tuple[str, ...] = ("purchase", "cart")
    ) -> None:
        super().__init__()
        self.half_life_days = half_life_days
        self.kinds = kinds

    def _fit(self, data: Interactions) -> None:
        events = data.events.filter(pl.col("kind").is_in(list(self.kinds)))
        if events.is_empty():
            events = data.events
        latest = events.group_by("user", "item").agg(pl.col("timestamp").max())
        decayed = latest.group_by("item").agg(
            (0.5 ** (_age_days(data) / self.half_life_days)).sum().alias("s")
        )
        self._set_scores(data.n_items, decayed["item"], decayed["s"].to_numpy())

    def _state(self) -> State:
        return {
            "item_scores": self.item_scores_,
            "half_life_days": self.half_life_days,
            "kinds": list(self.kinds),
        }

    def _restore(self, state: State) -> None:
        self.item_scores_ = np.asarray(state["item_scores"], dtype=np.float64)
        self.half_life_days = float(state["half_life_days"])
        self.kinds = tuple(state["kinds"])


class Trending(_ItemScores):
    """Growth: decayed demand in the last ``recent_days`` against the ``baseline_days``
    before, (recent + 1) / (baseline x recent/baseline-days + 1) weighted by the recent
    volume, so a new hit outranks a steady seller and noise on one sale does not."""

    name = "trending"

    def __init__(self, recent_days: float = 7.0, baseline_days: float = 28.0) -> None:
        super().__init__()
        self.recent_days = recent_days
        self.baseline_days = baseline_days

    def _fit(self, data: Interactions) -> None:
        age = _age_days(data)
        window = data.events.with_columns(age.alias("age")).filter(
            pl.col("age") < self.recent_days + self.baseline_days
        )
        counts = window.group_by("item").agg(
            pl.col("weight").filter(pl.col("age") < self.recent_days).sum().alias("recent"),
            pl.col("weight").filter(pl.col("age") >= self.recent_days).sum().alias("before"),
        )
        expected = counts["before"].to_numpy() * (self.recent_days / self.baseline_days)
        recent = counts["recent"].to_numpy()
        growth = (recent + 1.0) / (expected + 1.0)
        self._set_scores(data.n_items, counts["item"], np.log1p(recent) * growth)

    def _state(self) -> State:
        return {
            "item_scores": self.item_scores_,
            "recent_days": self.recent_days,
            "baseline_days": self.baseline_days,
        }

    def _restore(self, state: State) -> None:
        self.item_scores_ = np.asarray(state["item_scores"], dtype=np.float64)
        self.recent_days = float(state["recent_days"])
        self.baseline_days = float(state["baseline_days"])

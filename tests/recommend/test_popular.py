"""Popularity and trending: the contract, plus decay and growth by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from contract import AS_OF, RecommenderContract

from shopsense.recommend import Interactions
from shopsense.recommend.models import Popular, Trending


class TestPopular(RecommenderContract):
    def make(self) -> Popular:
        return Popular()


class TestTrending(RecommenderContract):
    def make(self) -> Trending:
        return Trending()


def _events(rows: list[tuple[str, str, str, int]]) -> Interactions:
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": k, "timestamp": AS_OF - timedelta(days=d)}
            for u, i, k, d in rows
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def test_popularity_halves_every_half_life() -> None:
    # a: one buyer today (1); b: two buyers 30 days ago (2 x 0.5 = 1); c: three buyers 60
    # days ago (3 x 0.25 = 0.75), u1 twice: counted once, from the latest (30 days: 0.5,
    # so c = 0.5 + 2 x 0.25 = 1.0); views do not count while purchases exist.
    data = _events(
        [("u1", "a", "purchase", 0), ("u1", "b", "purchase", 30), ("u2", "b", "purchase", 30),
         ("u1", "c", "purchase", 60), ("u1", "c", "purchase", 30), ("u2", "c", "purchase", 60),
         ("u3", "c", "purchase", 60), ("u1", "d", "view", 0)]
    )  # fmt: skip
    model = Popular(half_life_days=30).fit(data)
    scores = model.score(np.array([0]), data.user_items(np.array([0])))[0]
    by_id = dict(zip(data.item_ids.tolist(), scores.tolist(), strict=True))
    assert by_id == pytest.approx({"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0})


def test_trending_prefers_growth_over_volume() -> None:
    # steady: 4 purchases a week for 5 weeks; hit: 4 purchases this week, none before.
    rows = [(f"s{w}{k}", "steady", "purchase", 7 * w + 1) for w in range(5) for k in range(4)]
    rows += [(f"h{k}", "hit", "purchase", 1) for k in range(4)]
    data = _events(rows)
    model = Trending(recent_days=7, baseline_days=28).fit(data)
    ids, _ = model.recommend(np.array([0]), data.user_items(np.array([0])), n=2)
    assert data.item_ids[ids[0, 0]] == "hit"

"""Repeat: the contract, plus rankings worked out by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from contract import AS_OF, RecommenderContract

from shopsense.errors import ValidationFailed
from shopsense.recommend import Interactions
from shopsense.recommend.models import MODELS, Repeat


class TestRepeat(RecommenderContract):
    def make(self) -> Repeat:
        return Repeat()


def _store() -> Interactions:
    """User u: item a bought 30 and 60 days ago, b bought today, c viewed twice today.

    Others make the cycles: a is rebought every 30 days (v, w and u: three gaps), b every
    10 days (x, y, z); d is bought only by v."""
    rows = [("u", "a", "purchase", 30), ("u", "a", "purchase", 60), ("u", "b", "purchase", 0),
            ("u", "c", "view", 0), ("u", "c", "view", 0),
            ("v", "a", "purchase", 90), ("v", "a", "purchase", 60), ("v", "d", "purchase", 5),
            ("w", "a", "purchase", 100), ("w", "a", "purchase", 70),
            ("x", "b", "purchase", 20), ("x", "b", "purchase", 10),
            ("y", "b", "purchase", 25), ("y", "b", "purchase", 15),
            ("z", "b", "purchase", 40), ("z", "b", "purchase", 30)]  # fmt: skip
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": k, "timestamp": AS_OF - timedelta(days=d)}
            for u, i, k, d in rows
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def _scores(model: Repeat, data: Interactions, user: str) -> dict[str, float]:
    users = np.array([data.user_index(user)])
    row = model.score(users, data.user_items(users))[0]
    return dict(zip(data.item_ids.tolist(), row.tolist(), strict=True))


def test_cycles_are_median_gaps_per_item() -> None:
    data = _store()
    model = Repeat().fit(data)
    cycles = dict(zip(data.item_ids.tolist(), model.cycles_.tolist(), strict=True))
    # a and b have three gaps each; c and d none, so the median of all six gaps.
    assert cycles == {"a": 30.0, "b": 10.0, "c": 20.0, "d": 20.0}


def test_ranking_by_hand() -> None:
    data = _store()
    model = Repeat(half_life_days=30, cycle_weight=1.0, view_weight=0.5, popularity_weight=0.0).fit(
        data
    )
    # a: log1p(0.5 + 0.25) + due 1 (bought 30 days ago, cycle 30: (30+1)/(30+1));
    # b: log1p(1) + due 1/11 (bought today, cycle 10: (0+1)/(10+1));
    # c: 0.5 x log1p(2 views); d: never touched by u.
    expected = {
        "a": math.log1p(0.75) + 1.0,
        "b": math.log(2.0) + 1 / 11,
        "c": 0.5 * math.log1p(2.0),
        "d": -math.inf,
    }
    assert _scores(model, data, "u") == pytest.approx(expected)
    users = np.array([data.user_index("u")])
    ids, _ = model.recommend(users, data.user_items(users), n=4)
    assert [data.item_ids[i] if i >= 0 else None for i in ids[0]] == ["a", "b", "c", None]


def test_without_the_cycle_the_fresh_purchase_leads() -> None:
    data = _store()
    model = Repeat(half_life_days=30, cycle_weight=0.0, view_weight=0.5, popularity_weight=0.0).fit(
        data
    )
    # b log1p(1) = 0.693 > a log1p(0.75) = 0.560 > c 0.5 x log1p(2) = 0.549.
    users = np.array([data.user_index("u")])
    ids, _ = model.recommend(users, data.user_items(users), n=3)
    assert [data.item_ids[i] for i in ids[0]] == ["b", "a", "c"]


def test_popularity_breaks_a_flat_history() -> None:
    # p bought a and d once each, the same day; q and r bought a too, so a is the busier.
    rows = [("p", "a", 5), ("p", "d", 5), ("q", "a", 3), ("r", "a", 2)]
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": "purchase", "timestamp": AS_OF - timedelta(d)}
            for u, i, d in rows
        ]
    )
    data = Interactions.from_events(frame, AS_OF)
    model = Repeat(popularity_weight=0.5, popularity_half_life_days=30).fit(data)
    # Popularity: log1p of decayed purchase days, over its maximum (a's). Nobody bought
    # anything twice, so there is no cycle and no due term.
    pop_a = math.log1p(0.5 ** (5 / 30) + 0.5 ** (3 / 30) + 0.5 ** (2 / 30))
    pop_d = math.log1p(0.5 ** (5 / 30))
    own = math.log1p(0.5 ** (5 / 365))
    scores = _scores(model, data, "p")
    assert scores["a"] == pytest.approx(own + 0.5)
    assert scores["d"] == pytest.approx(own + 0.5 * pop_d / pop_a)
    assert np.isnan(model.cycles_).all()


def test_a_session_scores_its_items_as_fresh_views() -> None:
    data = _store()
    model = Repeat(view_weight=0.5, popularity_weight=0.0).fit(data)
    scores = model.score(np.array([-1]), data.history(["a", "c"], [1.0, 3.0]))[0]
    by_id = dict(zip(data.item_ids.tolist(), scores.tolist(), strict=True))
    assert by_id == pytest.approx(
        {"a": 0.5 * math.log(2.0), "b": -math.inf, "c": 0.5 * math.log(4.0), "d": -math.inf}
    )


def test_parameters_are_checked_and_registered() -> None:
    assert MODELS["repeat"] is Repeat
    assert not Repeat.recommends_unseen
    with pytest.raises(ValidationFailed):
        Repeat(half_life_days=0)
    with pytest.raises(ValidationFailed):
        Repeat(cycle_weight=-1)

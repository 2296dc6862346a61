"""The runner: popularity on a store small enough to rank by hand, a planted block structure
an item-based model must solve, exclusions, batching and the JSON shape."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from shopsense.errors import ShopsenseError
from shopsense.recommend import Interactions, Recommender
from shopsense.recommend.base import Floats, Ints, State
from shopsense.recommend.evaluation import Split, choose_models, evaluate
from shopsense.recommend.evaluation.datasets import relevance
from shopsense.recommend.evaluation.runner import top_lists
from shopsense.recommend.models import MODELS, Popular

AS_OF = datetime(2026, 6, 1)
X = 1 / math.log2(3)  # the discount of rank 2

# Four buyers, all on the same day, so popularity is a plain count:
# a: i0 i1 i2 / b: i0 i1 i3 / c: i0 i2 / d: i0 i1  ->  i0: 4, i1: 3, i2: 2, i3: 1, i4: 0
# (i4 is in the catalog only). Test: a {i0 (a repeat), i3}, b {i2}, c {i1, i4}, d nothing.
BOUGHT = {"a": ["i0", "i1", "i2"], "b": ["i0", "i1", "i3"], "c": ["i0", "i2"], "d": ["i0", "i1"]}
TEST = {"a": ["i0", "i3"], "b": ["i2"], "c": ["i1", "i4"]}


def _store(exclude: dict[str, list[str]] | None = None) -> Split:
    events = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": "purchase", "timestamp": AS_OF - timedelta(1)}
            for u, items in BOUGHT.items()
            for i in items
        ]
    )
    catalog = pl.DataFrame({"item_id": [f"i{j}" for j in range(5)]})
    train = Interactions.from_events(events, AS_OF, items=catalog)

    def pairs(mapping: dict[str, list[str]]) -> pl.DataFrame:
        rows = [(u, i) for u, items in mapping.items() for i in items]
        return pl.DataFrame(rows, schema=["user_id", "item_id"], orient="row")

    excluded = relevance(train, pairs(exclude)) if exclude else None
    return Split("hand", "temporal", "test", train, relevance(train, pairs(TEST)), None, excluded)


def test_popularity_by_hand() -> None:
    result = evaluate(_store(), {"popular": Popular}, k=2)
    # all (repeats count): every list is [i0, i1].
    #   a: hit at 1 of {i0, i3}: NDCG 1 / (1 + X), recall 1/2, AP 1 / 2.
    #   b: no hit. c: hit at 2 of {i1, i4}: NDCG X / (1 + X), recall 1/2, AP (1/2) / 2.
    every = result.variants["all"]["popular"]
    assert every.metrics["ndcg"] == pytest.approx((1 / (1 + X) + X / (1 + X)) / 3)  # = 1/3
    assert every.metrics["recall"] == pytest.approx(1 / 3)
    assert every.metrics["hit"] == pytest.approx(2 / 3)
    assert every.metrics["map"] == pytest.approx((0.5 + 0.25) / 3)
    assert every.metrics["coverage"] == pytest.approx(2 / 5)
    # Self-information over 4 buyers: i0 0 bits, i1 -log2(3/4), i2 1, i3 2, i4 (nobody) 2.
    i1 = -math.log2(3 / 4)
    assert every.metrics["novelty"] == pytest.approx(i1 / 2)
    assert every.ndcg == pytest.approx([1 / (1 + X), 0.0, X / (1 + X)])
    # new items: a's i0 leaves its relevance; the lists skip what each bought:
    #   a [i3, i4] -> {i3}: NDCG 1, AP 1. b [i2, i4] -> {i2}: 1, 1.
    #   c [i1, i3] -> {i1, i4}: NDCG 1 / (1 + X), recall 1/2, AP 1/2.
    new = result.variants["new_items"]["popular"]
    assert new.metrics["ndcg"] == pytest.approx((2 + 1 / (1 + X)) / 3)
    assert new.metrics["recall"] == pytest.approx(2.5 / 3)
    assert new.metrics["hit"] == pytest.approx(1.0)
    assert new.metrics["map"] == pytest.approx(2.5 / 3)
    assert new.metrics["coverage"] == pytest.approx(4 / 5)
    assert new.metrics["novelty"] == pytest.approx((2 + 1.5 + (i1 + 2) / 2) / 3)
    split = _store()
    assert [split.train.user_ids[u] for u in new.users] == ["a", "b", "c"]


def test_excluded_items_leave_the_lists() -> None:
    # Excluding i3 for a: a's new-items list becomes [i4] and misses its only relevant item.
    split = _store(exclude={"a": ["i3"]})
    a = split.train.user_index("a")
    model = Popular().fit(split.train)
    lists = top_lists(model, split, np.array([a]), 2, filter_seen=True)
    assert [split.train.item_ids[i] if i >= 0 else None for i in lists[0]] == ["i4", None]
    new = evaluate(split, {"popular": Popular}, k=2).variants["new_items"]["popular"]
    assert new.metrics["ndcg"] == pytest.approx((0 + 1 + 1 / (1 + X)) / 3)


def test_batches_do_not_change_the_figures() -> None:
    one = evaluate(_store(), {"popular": Popular}, k=2, batch_size=1)
    many = evaluate(_store(), {"popular": Popular}, k=2)
    assert one.to_json()["variants"] == {
        v: {
            m: {**row, "fit_seconds": pytest.approx(row["fit_seconds"], abs=1)}
            for m, row in ms.items()
        }
        for v, ms in many.to_json()["variants"].items()
    }


def test_json_shape() -> None:
    result = evaluate(_store(), {"popular": Popular, "trending": MODELS["trending"]}, k=3)
    data = result.to_json()
    assert set(data) == {"dataset", "split", "k", "variants"}
    assert (data["dataset"], data["split"], data["k"]) == ("hand", "temporal", 3)
    assert set(data["variants"]) == {"all", "new_items"}
    metrics = {"ndcg@3", "recall@3", "hit@3", "map@3", "coverage", "novelty"}
    for models in data["variants"].values():
        assert list(models) == ["popular", "trending"]
        for row in models.values():
            assert metrics <= set(row)
            assert set(row) - metrics <= {"fit_seconds", "users"}


class CoOccurrence(Recommender):
    """Items bought together: a user's history times the item-item co-occurrence counts."""

    name = "co_occurrence"

    def _fit(self, data: Interactions) -> None:
        seen = sp.csr_matrix(data.matrix > 0, dtype=np.float64)
        together = sp.csr_matrix(seen.T @ seen)
        together.setdiag(0.0)
        self.together_ = together

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        history = sp.csr_matrix(user_items > 0, dtype=np.float64)
        return np.asarray((history @ self.together_).todense(), dtype=np.float64)

    def _state(self) -> State:
        return {"together": self.together_}

    def _restore(self, state: State) -> None:
        self.together_ = state["together"]


def _blocks() -> Split:
    """Users 0-9 buy from items 0-4 and users 10-19 from items 5-9, each all of its block
    but one, (u % 5): the held-out item, which only the block's co-buyers point to."""
    rows = []
    for u in range(20):
        block = 0 if u < 10 else 5
        for j in range(block, block + 5):
            if j != block + u % 5:
                day = AS_OF - timedelta(days=(u + j) % 7 + 1)
                rows.append({"user_id": f"u{u:02d}", "item_id": f"i{j}", "kind": "purchase",
                             "timestamp": day})  # fmt: skip
    catalog = pl.DataFrame(
        {
            "item_id": [f"i{j}" for j in range(10)],
            "name": [("Mug " if j < 5 else "Brick set ") + str(j) for j in range(10)],
            "category": ["Home/Mugs" if j < 5 else "Toys/Bricks" for j in range(10)],
        }
    )
    train = Interactions.from_events(pl.DataFrame(rows), AS_OF, items=catalog)
    held = pl.DataFrame(
        [(f"u{u:02d}", f"i{(0 if u < 10 else 5) + u % 5}") for u in range(20)],
        schema=["user_id", "item_id"],
        orient="row",
    )
    return Split("blocks", "temporal", "test", train, relevance(train, held))


def test_an_item_based_model_finds_the_planted_items() -> None:
    result = evaluate(_blocks(), {"co_occurrence": CoOccurrence, "popular": Popular}, k=3)
    new = result.variants["new_items"]
    assert new["co_occurrence"].metrics["ndcg"] == pytest.approx(1.0)
    assert new["co_occurrence"].metrics["hit"] == pytest.approx(1.0)
    # Popularity cannot tell the blocks apart: it ranks the same items for everyone.
    assert new["popular"].metrics["ndcg"] < 0.8
    paired = result.compare("new_items", "co_occurrence", "popular", n=500)
    assert paired.low > 0.0


def test_every_registered_model_runs() -> None:
    result = evaluate(_blocks(), k=3)
    for models in result.variants.values():
        assert list(models) == list(MODELS)
        for scores in models.values():
            assert len(scores.users) == 20
            assert len(scores.ndcg) == 20
            for key in ("ndcg", "recall", "hit", "map", "coverage"):
                assert 0.0 <= scores.metrics[key] <= 1.0
            assert scores.metrics["novelty"] >= 0.0


def test_choosing_models() -> None:
    assert list(choose_models(None)) == list(MODELS)
    assert list(choose_models("trending, popular")) == ["trending", "popular"]
    with pytest.raises(ShopsenseError, match="nope"):
        choose_models("popular,nope")
    with pytest.raises(ShopsenseError, match="variant"):
        evaluate(_store(), {"popular": Popular}, variants=["sideways"])

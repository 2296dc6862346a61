"""Item-kNN: the contract, plus cosine similarity with shrinkage worked out by hand."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from contract import AS_OF, RecommenderContract

from shopsense.errors import ValidationFailed
from shopsense.recommend import Interactions
from shopsense.recommend.models import MODELS, ItemKNN

L = math.log1p(5.0)  # one purchase: confidence 5, compared as log1p


class TestItemKNN(RecommenderContract):
    def make(self) -> ItemKNN:
        return ItemKNN()


class TestItemKNNUnweighted(RecommenderContract):
    def make(self) -> ItemKNN:
        return ItemKNN(weighting="none", shrinkage=0.0)


class TestItemKNNBM25(RecommenderContract):
    def make(self) -> ItemKNN:
        return ItemKNN(weighting="bm25")


def _store() -> Interactions:
    """One purchase each: u1 and u2 bought a and b, u3 a and c, u4 b.

    As user vectors a = L(1,1,1,0), b = L(1,1,0,1), c = L(0,0,1,0): a.b = 2L², a.c = L²,
    b.c = 0; |a| = |b| = √3 L, |c| = L."""
    pairs = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u3", "a"), ("u3", "c"),
             ("u4", "b")]  # fmt: skip
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": "purchase", "timestamp": AS_OF - timedelta(1)}
            for u, i in pairs
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def _similar(model: ItemKNN, data: Interactions, item: str) -> list[tuple[str, float]]:
    ids, scores = model.similar_items(data.item_indexes([item]), n=3)
    return [(str(data.item_ids[i]), s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _session_scores(model: ItemKNN, data: Interactions, item: str) -> dict[str, float]:
    row = model.score(np.array([-1]), data.history([item]))[0]
    return dict(zip(data.item_ids.tolist(), row.tolist(), strict=True))


def test_cosine_with_shrinkage_by_hand() -> None:
    data = _store()
    model = ItemKNN(weighting="none", shrinkage=10.0).fit(data)
    ab = 2 * L**2 / (3 * L**2 + 10)  # 0.327
    ac = L**2 / (math.sqrt(3) * L**2 + 10)  # 0.206
    assert _similar(model, data, "a") == [("b", pytest.approx(ab)), ("c", pytest.approx(ac))]
    assert _similar(model, data, "b") == [("a", pytest.approx(ab))]
    assert _similar(model, data, "c") == [("a", pytest.approx(ac))]
    # Without shrinkage, the plain cosines 2/3 and 1/√3.
    plain = ItemKNN(weighting="none", shrinkage=0.0).fit(data)
    assert _similar(plain, data, "a") == [
        ("b", pytest.approx(2 / 3)),
        ("c", pytest.approx(1 / math.sqrt(3))),
    ]


def test_an_item_is_scored_from_its_own_neighbours() -> None:
    """With k = 1, a keeps only b, while c (and b) keep a: a history of c says nothing
    about a, a history of a recommends c."""
    data = _store()
    model = ItemKNN(k=1, weighting="none", shrinkage=0.0).fit(data)
    of_c = _session_scores(model, data, "c")
    assert of_c == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0})
    of_a = _session_scores(model, data, "a")
    # A session item counts log1p(1); b and c both have a as their one neighbour.
    assert of_a == pytest.approx(
        {"a": 0.0, "b": math.log(2) * 2 / 3, "c": math.log(2) / math.sqrt(3)}
    )


def test_a_session_is_scored_fast() -> None:
    """The real-time path: one history row against a 4,000-item model."""
    rng = np.random.default_rng(5)
    n = 12_000
    frame = pl.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, 2_000, n)],
            "item_id": [f"i{i}" for i in rng.permutation(np.arange(n) % 4_000)],
            "kind": "purchase",
            "timestamp": AS_OF - timedelta(days=1),
        }
    )
    data = Interactions.from_events(frame, AS_OF)
    model = ItemKNN().fit(data)
    assert data.n_items == 4_000
    session = data.history(["i1", "i20", "i300", "i3999"])
    times = []
    for _ in range(200):
        start = time.perf_counter()
        model.score(np.array([-1]), session)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 1e-3


def test_parameters_are_checked_and_registered() -> None:
    assert MODELS["item_knn"] is ItemKNN
    with pytest.raises(ValidationFailed):
        ItemKNN(k=0)
    with pytest.raises(ValidationFailed):
        ItemKNN(shrinkage=-1.0)
    with pytest.raises(ValidationFailed):
        ItemKNN(weighting="idf")  # type: ignore[arg-type]
    model = ItemKNN().fit(_store())
    with pytest.raises(ValidationFailed):
        model.similar_items(np.array([3]))

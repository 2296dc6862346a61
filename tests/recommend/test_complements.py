"""Bought together: the recommender contract, plus complements that views alone do not make."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from contract import AS_OF, RecommenderContract

from shopsense.recommend import Interactions
from shopsense.recommend.complements import BoughtTogether, NoPurchases, top_k_per_row


class TestBoughtTogether(RecommenderContract):
    def make(self) -> BoughtTogether:
        return BoughtTogether()


def _events(rows: list[tuple[str, str, str]]) -> Interactions:
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": k, "timestamp": AS_OF - timedelta(days=1)}
            for u, i, k in rows
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def test_purchases_make_complements_and_views_do_not() -> None:
    # mug and coffee are bought together by three customers; mug and cup only viewed together.
    rows = [(f"u{n}", item, "purchase") for n in range(3) for item in ("mug", "coffee")]
    rows += [(f"v{n}", item, "view") for n in range(5) for item in ("mug", "cup")]
    data = _events(rows)
    model = BoughtTogether(min_support=2).fit(data)
    ids, scores = model.similar_items(data.item_indexes(["mug"]), n=2)
    assert data.item_ids[ids[0, 0]] == "coffee"
    assert scores[0, 0] == pytest.approx(3 / (3 + 2))  # 3 together / (sqrt(3 x 3) + 2)
    assert scores[0, 1] == 0.0  # the viewed cup is no complement


def test_pairs_under_the_support_are_dropped() -> None:
    data = _events([("u1", "a", "purchase"), ("u1", "b", "purchase")])
    model = BoughtTogether(min_support=2).fit(data)
    assert model.similarity_.nnz == 0


def test_without_purchases_the_model_declines() -> None:
    with pytest.raises(NoPurchases):
        BoughtTogether().fit(_events([("u1", "a", "view")]))


def test_top_k_per_row_keeps_the_largest() -> None:
    matrix = sp.csr_matrix(np.array([[0.1, 0.5, 0.3, 0.0], [0.0, 0.0, 0.2, 0.9]]))
    kept = top_k_per_row(matrix, 2).toarray()
    np.testing.assert_allclose(kept, [[0.0, 0.5, 0.3, 0.0], [0.0, 0.0, 0.2, 0.9]])

"""The behaviour every recommender must show (in the manner of implicit's
``RecommenderBaseTestMixin``): a model's test module subclasses ``RecommenderContract`` and
supplies ``make()``; the checks below run against it.

The data is a checkerboard: users 0-9 touch items 0-4 and users 10-19 items 5-9, each user
missing exactly one item of its own block, item (u % 5) of the block: the planted answer,
which every personalised model must rank first once seen items are filtered. Items 10-11
are catalog items nobody touched. Block A items are category "Home/Mugs", brand "Acme";
block B "Toys/Bricks", brand "Zed", so content models see the blocks too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shopsense.recommend import Interactions, Recommender

AS_OF = datetime(2026, 11, 1)
N_USERS, BLOCK = 20, 5


def checkerboard() -> Interactions:
    rows = []
    for u in range(N_USERS):
        block = 0 if u < N_USERS // 2 else BLOCK
        planted = block + u % BLOCK
        for j in range(block, block + BLOCK):
            if j == planted:
                continue
            for kind in ("view", "purchase"):
                rows.append(
                    {
                        "user_id": f"u{u:02d}",
                        "item_id": f"i{j:02d}",
                        "kind": kind,
                        "timestamp": AS_OF - timedelta(days=(u + j) % 20 + 1),
                        "quantity": 1.0,
                    }
                )
    items = pl.DataFrame(
        [
            {
                "item_id": f"i{j:02d}",
                "name": ("Mug " if j < BLOCK or j == 10 else "Brick set ") + str(j),
                "description": "stoneware coffee mug" if j < BLOCK or j == 10 else "toy bricks",
                "category": "Home/Mugs" if j < BLOCK or j == 10 else "Toys/Bricks",
                "brand": "Acme" if j < BLOCK or j == 10 else "Zed",
                "price": 5.0 + j,
                "active": True,
            }
            for j in range(12)
        ]
    )
    return Interactions.from_events(pl.DataFrame(rows), AS_OF, items=items)


class RecommenderContract:
    """Subclass with ``make()`` returning an unfitted model."""

    def make(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture
    def data(self) -> Interactions:
        return checkerboard()

    @pytest.fixture
    def model(self, data: Interactions) -> Recommender:
        return self.make().fit(data)

    def _all_users(self, data: Interactions) -> np.ndarray:
        return np.arange(data.n_users, dtype=np.int64)

    def test_shapes_order_and_finite_scores(self, model: Recommender, data: Interactions) -> None:
        users = self._all_users(data)
        ids, scores = model.recommend(users, data.user_items(users), n=5)
        assert ids.shape == scores.shape == (data.n_users, 5)
        valid = ids >= 0
        assert ((ids < data.n_items) & (ids >= -1)).all()
        assert np.isfinite(scores[valid]).all()
        assert (np.diff(np.where(valid, scores, -np.inf), axis=1) <= 1e-12).all()
        for row in ids:  # no item twice in a list
            kept = row[row >= 0]
            assert len(set(kept.tolist())) == len(kept)

    def test_planted_item_comes_first(self, model: Recommender, data: Interactions) -> None:
        if not model.personalised:
            pytest.skip(f"{model.name} does not personalise")
        if not model.recommends_unseen:
            pytest.skip(f"{model.name} only proposes items the user already had")
        users = self._all_users(data)
        ids, _ = model.recommend(users, data.user_items(users), n=3, filter_seen=True)
        planted = [
            data.item_index(f"i{(0 if u < N_USERS // 2 else BLOCK) + u % BLOCK:02d}")
            for u in range(N_USERS)
        ]
        users_ids = [data.user_index(f"u{u:02d}") for u in range(N_USERS)]
        hits = sum(ids[users_ids[u], 0] == planted[u] for u in range(N_USERS))
        assert hits == N_USERS

    def test_n_larger_than_the_catalog(self, model: Recommender, data: Interactions) -> None:
        users = self._all_users(data)[:3]
        ids, scores = model.recommend(users, data.user_items(users), n=500)
        assert ids.shape == (3, data.n_items)
        if model.recommends_unseen:
            assert (ids[:, :1] >= 0).all()
        else:  # only the user's own items, the rest padding
            history = data.user_items(users).toarray() > 0
            for u, row in enumerate(ids):
                assert history[u, row[row >= 0]].all()

    def test_filter_items_and_seen(self, model: Recommender, data: Interactions) -> None:
        users = self._all_users(data)
        banned = data.item_indexes(["i00", "i05", "i10"])
        ids, _ = model.recommend(
            users, data.user_items(users), n=data.n_items, filter_items=banned, filter_seen=True
        )
        history = data.user_items(users).toarray() > 0
        for u, row in enumerate(ids):
            kept = row[row >= 0]
            assert not set(kept.tolist()) & set(banned.tolist())
            assert not history[u, kept].any()

    def test_save_and_load_give_the_same_answers(
        self, model: Recommender, data: Interactions, tmp_path: Path
    ) -> None:
        model.save(tmp_path / "m")
        loaded = type(model).load(tmp_path / "m")
        users = self._all_users(data)
        a = model.recommend(users, data.user_items(users), n=5)
        b = loaded.recommend(users, data.user_items(users), n=5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)

    def test_cold_user_known_by_a_session(self, model: Recommender, data: Interactions) -> None:
        """A user unknown to the model, seen only viewing two block-B items."""
        session = data.history(["i05", "i06"])
        ids, scores = model.recommend(np.array([-1]), session, n=3, filter_seen=True)
        assert ids.shape[0] == 1
        kept = ids[0][ids[0] >= 0]
        assert np.isfinite(scores[0][: len(kept)]).all()
        if model.personalised and model.recommends_unseen and model.name not in ("als", "bpr"):
            # Item-based models turn the session into block-B items at once.
            assert data.item_ids[kept[0]] in {"i07", "i08", "i09"}

    def test_similar_items_exclude_the_item(self, model: Recommender, data: Interactions) -> None:
        items = data.item_indexes(["i00", "i05"])
        ids, _ = model.similar_items(items, n=3)
        assert ids.shape == (2, 3)
        for item, row in zip(items, ids, strict=True):
            assert item not in row.tolist()

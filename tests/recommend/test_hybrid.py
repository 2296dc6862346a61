"""The learned hybrid: the contract on the checkerboard (one short window, where the ranker
has little to learn and the fused base ranks must carry it), and the ranker learning a
signal no base model carries on its own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
from contract import AS_OF, RecommenderContract

from shopsense.recommend import Interactions
from shopsense.recommend.models.hybrid import Hybrid

SMALL = {"bases": ("item_knn", "repeat", "popular"), "holdout_days": 5.0, "windows": 1}


class TestHybrid(RecommenderContract):
    def make(self) -> Hybrid:
        return Hybrid(**SMALL)  # type: ignore[arg-type]


def _restocking_shop() -> Interactions:
    """300 shoppers; each buys 'staple' items every 10 days and browses 'novelty' items
    once. A next-month purchase is a staple: the ranker must learn that an item the user
    bought on several days comes back, while popularity alone favours the novelties."""
    rng = np.random.default_rng(3)
    rows = []
    for u in range(300):
        staples = rng.choice(20, size=3, replace=False)
        for day in range(0, 120, 10):
            for j in staples:
                rows.append((f"u{u}", f"staple{j}", "purchase", 120 - day - rng.integers(0, 3)))
        for j in rng.choice(40, size=6, replace=False):
            rows.append((f"u{u}", f"novelty{j}", "purchase", int(rng.integers(1, 120))))
            for _ in range(3):
                rows.append((f"v{u}", f"novelty{j}", "purchase", int(rng.integers(1, 60))))
    frame = pl.DataFrame(
        [
            {
                "user_id": user,
                "item_id": item,
                "kind": kind,
                "timestamp": AS_OF - timedelta(days=int(d)),
            }
            for user, item, kind, d in rows
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def test_the_ranker_learns_restocking_and_survives_a_reload(tmp_path: Path) -> None:
    data = _restocking_shop()
    model = Hybrid(bases=("item_knn", "popular"), holdout_days=20.0, windows=2).fit(data)
    users = np.array([data.user_index(f"u{u}") for u in range(50)])
    ids, _ = model.recommend(users, data.user_items(users), n=3)
    names = data.item_ids[ids]
    assert np.char.startswith(names.astype(str), "staple").mean() > 0.9
    model.save(tmp_path / "hybrid")
    again = Hybrid.load(tmp_path / "hybrid")
    np.testing.assert_array_equal(again.recommend(users, data.user_items(users), n=3)[0], ids)
    # Discovery lists (own items excluded) come from the second ranker and hold no staple
    # the user already buys.
    new_ids, _ = model.recommend(users, data.user_items(users), n=3, filter_seen=True)
    seen = data.user_items(users).toarray() > 0
    assert not seen[np.arange(len(users))[:, None], np.where(new_ids >= 0, new_ids, 0)].any()

"""ALS and BPR: the contract, plus the fold-in solve checked against implicit's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from contract import AS_OF, BLOCK, N_USERS, RecommenderContract, checkerboard
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import bm25_weight
from threadpoolctl import threadpool_limits

from shopsense.errors import ValidationFailed
from shopsense.recommend import Interactions
from shopsense.recommend.models import ALS, BPR, MODELS, factors


class TestALS(RecommenderContract):
    def make(self) -> ALS:
        return ALS(factors=4, regularization=1.0, iterations=15)


class TestALSUnweighted(RecommenderContract):
    def make(self) -> ALS:
        return ALS(factors=4, regularization=1.0, iterations=15, weighting="none")


class TestBPR(RecommenderContract):
    def make(self) -> BPR:
        return BPR(factors=8, learning_rate=0.05, iterations=200)


def _random_store(seed: int = 3, users: int = 60, items: int = 40) -> Interactions:
    """Interactions with uneven histories and weights (several events per pair)."""
    rng = np.random.default_rng(seed)
    n = 900
    frame = pl.DataFrame(
        {
            "user_id": [f"u{u:03d}" for u in rng.integers(0, users, n)],
            "item_id": [f"i{i:03d}" for i in rng.zipf(1.6, n) % items],
            "kind": rng.choice(["view", "cart", "purchase"], n).tolist(),
            "timestamp": [AS_OF - timedelta(hours=int(h)) for h in rng.integers(1, 900, n)],
        }
    )
    return Interactions.from_events(frame, AS_OF)


def test_models_are_registered() -> None:
    assert MODELS["als"] is ALS and MODELS["bpr"] is BPR


@pytest.mark.parametrize("weighting", ["none", "bm25"])
def test_als_fold_in_is_the_fitted_solve(weighting: Literal["none", "bm25"]) -> None:
    """A known user's history folded in as a stranger gives that user's own factor: the
    fit ends with an exact user solve (implicit's Cholesky) and the fold-in is the same
    normal equations in numpy, so two implementations must agree."""
    data = _random_store()
    model = ALS(factors=6, regularization=0.5, alpha=2.0, weighting=weighting).fit(data)
    users = np.arange(data.n_users, dtype=np.int64)
    folded = model._fold_in(data.matrix)
    np.testing.assert_allclose(folded, model.user_factors_, rtol=1e-3, atol=1e-4)
    known = model.score(users, data.matrix)
    cold = model.score(np.full(data.n_users, -1), data.matrix)
    np.testing.assert_allclose(cold, known, atol=1e-4)


def test_als_fold_in_matches_implicit_recalculate_user() -> None:
    """Against implicit's ``recalculate_user`` on a model holding the saved factors, for
    histories the model never saw (with a dislike: a negative confidence)."""
    data = _random_store()
    model = ALS(factors=5, regularization=0.3, alpha=3.0, weighting="none").fit(data)
    rows = sp.csr_matrix(
        np.array(
            [
                [5.0, 0, 0, 1.0, 3.0] + [0.0] * (data.n_items - 5),
                [0.0, 2.0, 0, 0, 0] + [1.0] * (data.n_items - 5),
                [0.0, 0, -2.0, 4.0, 0] + [0.0] * (data.n_items - 5),
            ]
        )
    )
    with threadpool_limits(1, "blas"):
        reference = AlternatingLeastSquares(factors=5, regularization=0.3, alpha=3.0)
    reference.item_factors = model.item_factors_.copy()
    reference.user_factors = model.user_factors_.copy()
    expected = reference.recalculate_user(np.arange(3), sp.csr_matrix(rows, dtype=np.float32))
    np.testing.assert_allclose(model._fold_in(rows), expected, rtol=1e-3, atol=1e-5)


def test_als_fold_in_in_small_chunks_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Users are solved in chunks of similar history length: any chunking, same answer."""
    data = _random_store()
    model = ALS(factors=6, regularization=0.5).fit(data)
    whole = model._fold_in(data.matrix)
    monkeypatch.setattr(factors, "FOLD_IN_BLOCK", 6 * 8)  # a few users per chunk
    np.testing.assert_allclose(model._fold_in(data.matrix), whole, rtol=1e-6, atol=1e-7)


def test_als_bm25_of_a_new_history_is_the_training_weighting() -> None:
    """The fold-in weighs a row as implicit's ``bm25_weight`` weighed it for the fit."""
    data = _random_store()
    model = ALS(factors=4, weighting="bm25", bm25_k1=10.0, bm25_b=0.6).fit(data)
    expected = sp.csr_matrix(bm25_weight(data.matrix, K1=10.0, B=0.6))
    got = model._weigh_rows(data.matrix)
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-12)


def test_als_is_reproducible() -> None:
    data = _random_store()
    a = ALS(factors=8, random_state=7).fit(data)
    b = ALS(factors=8, random_state=7).fit(data)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)


def test_bpr_learns_the_checkerboard_blocks() -> None:
    """Every user ranks all of its own block above the other block, and item factors are
    closer within a block than across."""
    data = checkerboard()
    model = BPR(factors=8, learning_rate=0.05, iterations=200).fit(data)
    users = np.arange(data.n_users, dtype=np.int64)
    scores = model.score(users, data.user_items(users))
    block_a = data.item_indexes([f"i{j:02d}" for j in range(BLOCK)])
    block_b = data.item_indexes([f"i{j:02d}" for j in range(BLOCK, 2 * BLOCK)])
    for u in range(N_USERS):
        row = scores[data.user_index(f"u{u:02d}")]
        own, other = (block_a, block_b) if u < N_USERS // 2 else (block_b, block_a)
        assert row[own].min() > row[other].max()
    emb = model.item_factors_[:, :-1]
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True).clip(1e-12)
    cos = unit @ unit.T
    within = cos[np.ix_(block_a, block_a)][~np.eye(BLOCK, dtype=bool)].min()
    across = cos[np.ix_(block_a, block_b)].max()
    assert within > across


def test_bpr_is_reproducible() -> None:
    data = _random_store()
    a = BPR(factors=8, iterations=20, random_state=5).fit(data)
    b = BPR(factors=8, iterations=20, random_state=5).fit(data)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_bpr_fold_in_is_the_weighted_mean_of_history_factors() -> None:
    data = checkerboard()
    model = BPR(factors=4, iterations=10).fit(data)
    history = data.history(["i01", "i02"], weights=[3.0, 1.0])
    y = model.item_factors_.astype(np.float64)
    i1, i2 = data.item_index("i01"), data.item_index("i02")
    user = np.append((3.0 * y[i1, :-1] + 1.0 * y[i2, :-1]) / 4.0, 1.0)
    expected = y @ user
    got = model.score(np.array([-1]), history)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # No history: the item biases alone.
    empty = model.score(np.array([-1]), sp.csr_matrix((1, data.n_items)))[0]
    np.testing.assert_allclose(empty, y[:, -1], rtol=1e-6)


@pytest.mark.parametrize("model", [ALS(factors=3), BPR(factors=3, iterations=5)])
def test_no_interactions_fits_and_scores_nothing(model: ALS | BPR) -> None:
    data = checkerboard().before(AS_OF - timedelta(days=365))
    assert data.matrix.nnz == 0
    model.fit(data)
    users = np.arange(data.n_users, dtype=np.int64)
    assert not model.score(users, data.user_items(users)).any()
    assert not model.score(np.array([-1]), data.history(["i01"])).any()


def test_unknown_user_indexes_are_refused() -> None:
    data = checkerboard()
    model = ALS(factors=2).fit(data)
    with pytest.raises(ValidationFailed):
        model.score(np.array([data.n_users]), data.user_items(np.array([0])))


@pytest.mark.parametrize(
    "build",
    [
        lambda: ALS(weighting="tfidf"),  # type: ignore[arg-type]
        lambda: ALS(factors=0),
        lambda: ALS(regularization=-1.0),
        lambda: BPR(learning_rate=0.0),
        lambda: BPR(iterations=0),
    ],
)
def test_bad_parameters_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValidationFailed):
        build()


def test_als_regularization_follows_the_history_per_user(tmp_path: Path) -> None:
    """Unless given, λ = 0.5 x stored items per user; the λ in force survives a reload."""
    data = _random_store()
    model = ALS(factors=4).fit(data)
    assert model.regularization_ == pytest.approx(0.5 * data.matrix.nnz / data.n_users)
    assert ALS(factors=4, regularization=2.0).fit(data).regularization_ == 2.0
    model.save(tmp_path / "als")
    assert ALS.load(tmp_path / "als").regularization_ == model.regularization_

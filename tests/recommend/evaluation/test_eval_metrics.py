"""The ranking metrics on a two-user example worked out by hand, and the paired bootstrap on
differences whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from shopsense.recommend.evaluation.metrics import (
    coverage,
    hits,
    novelty,
    paired_bootstrap,
    per_user,
    self_information,
)

N_ITEMS = 10
# k = 4. User 0: relevant {1, 3, 7}, list [3, 5, 1, 8] -> hits at ranks 1 and 3.
#   DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal over min(3, 4) = 3 hits:
#   1 + 1/log2(3) + 1/2 = 2.130930; NDCG = 0.703918. Recall = 2/3 (hits / |relevant|).
#   AP = (precision@1 + precision@3) / min(3, 4) = (1 + 2/3) / 3 = 5/9.
# User 1: relevant {2, 4, 5, 6, 8, 9}, list [0, 4, -1, -1] -> one hit at rank 2; the -1
#   padding must not match item 9, the last column.
#   DCG = 1/log2(3) = 0.630930; ideal over min(6, 4) = 4 hits: 1 + 0.630930 + 0.5 + 1/log2(5)
#   = 2.561606; NDCG = 0.246303. Recall = 1/6 (RecBole: not 1/4).
#   AP = precision@2 / min(6, 4) = (1/2) / 4 = 0.125.
IDS = np.array([[3, 5, 1, 8], [0, 4, -1, -1]])
RELEVANT = sp.csr_matrix(
    (np.ones(9), ([0, 0, 0, 1, 1, 1, 1, 1, 1], [1, 3, 7, 2, 4, 5, 6, 8, 9])), shape=(2, N_ITEMS)
)


def test_hits_ignore_padding() -> None:
    expected = [[True, False, True, False], [False, True, False, False]]
    assert hits(IDS, RELEVANT).tolist() == expected


def test_accuracy_metrics_by_hand() -> None:
    got = per_user(IDS, RELEVANT)
    ideal_0 = 1 + 1 / math.log2(3) + 0.5
    ideal_1 = ideal_0 + 1 / math.log2(5)
    assert got["ndcg"] == pytest.approx([1.5 / ideal_0, (1 / math.log2(3)) / ideal_1])
    assert got["ndcg"] == pytest.approx([0.703918, 0.246303], abs=1e-6)
    assert got["recall"] == pytest.approx([2 / 3, 1 / 6])
    assert got["hit"] == pytest.approx([1.0, 1.0])
    assert got["map"] == pytest.approx([5 / 9, 0.125])


def test_no_hit_and_no_relevant_score_zero() -> None:
    ids = np.array([[0, 1], [2, 3]])
    rel = sp.csr_matrix(([1.0], ([0], [5])), shape=(2, 6))  # user 1 has nothing relevant
    got = per_user(ids, rel)
    for key in ("ndcg", "recall", "hit", "map"):
        assert got[key].tolist() == [0.0, 0.0]


def test_a_perfect_list_scores_one() -> None:
    ids = np.array([[7, 1, 3, 0]])
    got = per_user(ids, RELEVANT[[0]])
    assert got["ndcg"] == pytest.approx([1.0])
    assert got["map"] == pytest.approx([1.0])
    assert got["recall"] == pytest.approx([1.0])


def test_coverage_and_novelty_by_hand() -> None:
    # Lists hold items {0, 1, 3, 4, 5, 8}: 6 of 10.
    assert coverage(IDS, N_ITEMS) == pytest.approx(0.6)
    # 4 training users. Share of users per item: 3 -> 2/4 (1 bit), 5 -> 4/4 (0 bits),
    # 1 -> 1/4 (2 bits), 8 -> nobody, counted as 1/4 (2 bits), 0 -> 1/4 (2), 4 -> 2/4 (1).
    touched = {3: [0, 1], 5: [0, 1, 2, 3], 1: [2], 0: [3], 4: [1, 2]}
    rows = [u for users in touched.values() for u in users]
    cols = [i for i, users in touched.items() for _ in users]
    train = sp.csr_matrix((np.full(len(rows), 5.0), (rows, cols)), shape=(4, N_ITEMS))
    info = self_information(train)
    assert info[[3, 5, 1, 8, 0, 4]] == pytest.approx([1.0, 0.0, 2.0, 2.0, 2.0, 1.0])
    # User 0: (1 + 0 + 2 + 2) / 4 = 1.25; user 1 (two listed items): (2 + 1) / 2 = 1.5.
    assert novelty(IDS, info) == pytest.approx([1.25, 1.5])


def test_bootstrap_of_a_constant_difference_is_exact() -> None:
    rng = np.random.default_rng(1)
    b = rng.uniform(size=500)
    result = paired_bootstrap(b + 0.1, b, n=500, seed=3)
    assert result.mean == pytest.approx(0.1)
    assert result.low == pytest.approx(0.1)
    assert result.high == pytest.approx(0.1)


def test_bootstrap_finds_a_known_noisy_difference() -> None:
    # 4,000 users, true mean difference 0.05, per-user noise sd 0.2: the 95 % interval's
    # half-width should be about 1.96 x 0.2 / sqrt(4000) = 0.0062.
    rng = np.random.default_rng(7)
    b = rng.uniform(size=4000)
    a = b + 0.05 + rng.normal(0.0, 0.2, size=4000)
    result = paired_bootstrap(a, b, n=2000, seed=11)
    diff = a - b
    half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff))
    assert result.mean == pytest.approx(diff.mean())
    assert result.low < 0.05 < result.high
    assert result.low > 0.0  # the difference is real, and the interval says so
    assert (result.high - result.low) / 2 == pytest.approx(half, rel=0.1)
    assert paired_bootstrap(a, b, n=2000, seed=11) == result  # the seed fixes the draws


def test_bootstrap_without_a_difference_straddles_zero() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.uniform(size=2000), rng.uniform(size=2000)
    result = paired_bootstrap(a, b, seed=2)
    assert result.low < 0.0 < result.high


def test_bootstrap_refuses_unpaired_input() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap(np.zeros(3), np.zeros(4))

"""Top-k ranking metrics, per user and vectorised over a (users x k) matrix of item ids.

Relevance is binary: a users x items sparse matrix whose non-zero entries are the held-out
items of each row's user (row ``u`` of the relevance belongs to row ``u`` of the ids). Ids
of -1 pad short lists and are never hits. The definitions are RecBole's, so figures compare
with its published tables:

* NDCG@k: DCG over the list / DCG of an ideal list of min(|relevant|, k) hits;
* Recall@k: hits / |relevant| (not hits / min(|relevant|, k): a user with 30 relevant
  items cannot reach 1 at k=10, as in RecBole);
* HitRate@k: 1 when the list holds at least one hit;
* MAP@k: the sum of precision@i over the positions i of the hits / min(|relevant|, k).

Catalog coverage and novelty describe the lists themselves, not their accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

ACCURACY = ("ndcg", "recall", "hit", "map")


def hits(ids: Ints, relevant: sp.csr_matrix) -> Bools:
    """(users, k): whether each listed item is relevant to its row's user.

    One sorted key per relevant (row, item) pair and a binary search per listed item: no
    dense users x items matrix, whatever the catalog size."""
    ids = np.asarray(ids, dtype=np.int64)
    rel = sp.csr_matrix(relevant, copy=True)
    rel.sum_duplicates()
    rel.eliminate_zeros()
    if rel.shape[0] != ids.shape[0]:
        raise ValueError(f"{ids.shape[0]} lists against {rel.shape[0]} relevance rows")
    n_items = np.int64(rel.shape[1])
    rows = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))
    keys = np.sort(rows * n_items + rel.indices.astype(np.int64))
    if len(keys) == 0:
        return np.zeros(ids.shape, dtype=np.bool_)
    wanted = np.arange(ids.shape[0], dtype=np.int64)[:, None] * n_items + ids
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found: Bools = (keys[at] == wanted) & (ids >= 0)
    return found


def relevant_counts(relevant: sp.csr_matrix) -> Ints:
    """|relevant| per row."""
    rel = sp.csr_matrix(relevant, copy=True)
    rel.sum_duplicates()
    rel.eliminate_zeros()
    counts: Ints = np.diff(rel.indptr).astype(np.int64)
    return counts


def _ratio(num: Floats, den: Floats) -> Floats:
    """num / den, 0 where den is 0 (a user without relevant items scores nothing)."""
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def ndcg(hit: Bools, n_relevant: Ints) -> Floats:
    """NDCG@k per user, k = hit.shape[1]; the ideal list has min(|relevant|, k) hits."""
    k = hit.shape[1]
    discount = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    dcg: Floats = hit.astype(np.float64) @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_relevant, k)]
    return _ratio(dcg, ideal)


def recall(hit: Bools, n_relevant: Ints) -> Floats:
    """Recall@k per user: hits / |relevant| (RecBole's definition)."""
    return _ratio(hit.sum(axis=1).astype(np.float64), n_relevant.astype(np.float64))


def hit_rate(hit: Bools) -> Floats:
    """HitRate@k per user: 1 with at least one hit in the list."""
    rate: Floats = np.asarray(hit.any(axis=1), dtype=np.float64)
    return rate


def average_precision(hit: Bools, n_relevant: Ints) -> Floats:
    """AP@k per user: sum of precision@i at the hits / min(|relevant|, k) (RecBole's MAP)."""
    k = hit.shape[1]
    precision = np.cumsum(hit, axis=1) / np.arange(1, k + 1, dtype=np.float64)
    summed = (precision * hit).sum(axis=1)
    return _ratio(summed, np.minimum(n_relevant, k).astype(np.float64))


def coverage(ids: Ints, n_items: int) -> float:
    """Share of the catalog that appears in at least one list."""
    listed = np.unique(ids[ids >= 0])
    return len(listed) / n_items if n_items else 0.0


def self_information(train: sp.csr_matrix) -> Floats:
    """-log2 of each item's popularity share in training: the share of training users who
    interacted with it. An item nobody touched counts as touched once, so it carries the
    most information, log2 |users|, instead of an infinite amount."""
    users = max(train.shape[0], 1)
    touched = np.diff(sp.csc_matrix(train != 0).indptr).astype(np.float64)
    result: Floats = -np.log2(np.maximum(touched, 1.0) / users)
    return result


def novelty(ids: Ints, information: Floats) -> Floats:
    """Mean self-information of each user's listed items (0 for an empty list)."""
    valid = ids >= 0
    bits = np.where(valid, information[np.where(valid, ids, 0)], 0.0)
    return _ratio(bits.sum(axis=1), valid.sum(axis=1).astype(np.float64))


def per_user(ids: Ints, relevant: sp.csr_matrix) -> dict[str, Floats]:
    """Every accuracy metric per user (keys of ``ACCURACY``) at k = ids.shape[1]."""
    hit = hits(ids, relevant)
    n_relevant = relevant_counts(relevant)
    return {
        "ndcg": ndcg(hit, n_relevant),
        "recall": recall(hit, n_relevant),
        "hit": hit_rate(hit),
        "map": average_precision(hit, n_relevant),
    }


@dataclass(frozen=True)
class Bootstrap:
    """Mean per-user difference of two models and its 95 % percentile interval."""

    mean: float
    low: float
    high: float


def paired_bootstrap(a: Floats, b: Floats, n: int = 2000, seed: int = 0) -> Bootstrap:
    """Resample users with replacement ``n`` times and take the mean of a - b each time.

    Pairing by user removes the between-user variance both models share, so a difference
    too small to see in two separate intervals can still be significant."""
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if first.ndim != 1 or first.shape != second.shape or len(first) == 0:
        raise ValueError("paired_bootstrap needs two equally long, non-empty 1-d arrays")
    diff = first - second
    rng = np.random.default_rng(seed)
    means = np.empty(n, dtype=np.float64)
    # About 4M indexes per draw batch: bounded memory however many users there are.
    step = max(1, 4_000_000 // len(diff))
    for start in range(0, n, step):
        size = min(step, n - start)
        sample = rng.integers(0, len(diff), size=(size, len(diff)))
        means[start : start + size] = diff[sample].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Bootstrap(mean=float(diff.mean()), low=float(low), high=float(high))


__all__ = [
    "ACCURACY",
    "Bootstrap",
    "average_precision",
    "coverage",
    "hit_rate",
    "hits",
    "ndcg",
    "novelty",
    "paired_bootstrap",
    "per_user",
    "recall",
    "relevant_counts",
    "self_information",
]

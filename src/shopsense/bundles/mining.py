"""Frequent itemsets and association rules, set-based on sparse matrices.

Baskets are the rows of a 0/1 matrix X (baskets x items). Item supports are column sums;
every pair's count is the sparse product X_fᵀX_f over the frequent items, computed only above
the diagonal in column blocks that run on all cores (scipy's product releases the GIL); triples
extend the frequent pairs: for each item a, the baskets holding a, restricted to a's frequent
partners, give every (a, b, c) count in one small dense product (BLAS). A triple can only be
frequent if its pairs are (counts only shrink as items are added), so extending frequent pairs
finds every frequent triple, as Apriori does, without building candidates one by one.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from shopsense.errors import ValidationFailed

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Itemsets:
    """Frequent itemsets of one mining run: ``frame`` has ``items`` (sorted lists of column
    indexes), ``count`` and ``support``; ``n_baskets`` is the denominator."""

    frame: pl.DataFrame
    n_baskets: int
    item_counts: Ints

    def of_length(self, k: int) -> pl.DataFrame:
        return self.frame.filter(pl.col("items").list.len() == k)


def basket_matrix(baskets: pl.DataFrame, basket: str, item: str) -> tuple[sp.csr_matrix, list[str]]:
    """The 0/1 baskets x items matrix of a (basket, item) table and the item of each column
    (repeats of an item in one basket count once)."""
    pairs = baskets.select(basket, item).unique()
    rows = (pairs[basket].cast(pl.String).rank("dense") - 1).to_numpy()
    items = pairs[item].cast(pl.String)
    names = sorted(items.unique().to_list())
    index = {name: j for j, name in enumerate(names)}
    cols = items.replace_strict(index, return_dtype=pl.Int64).to_numpy()
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows.astype(np.int64), cols)),
        shape=(n_rows, len(names)),
    )
    return matrix, names


def frequent_itemsets(x: sp.spmatrix, min_support: float, max_len: int = 2) -> Itemsets:
    """Every itemset of 1 to ``max_len`` (at most 3) items in at least ``min_support`` of the
    baskets (support = count / baskets, as mlxtend counts it)."""
    if not 0 < min_support <= 1:
        raise ValidationFailed(f"min_support must be in (0, 1], not {min_support!r}")
    if max_len not in (1, 2, 3):
        raise ValidationFailed(f"max_len must be 1, 2 or 3, not {max_len!r}")
    matrix = _binary_csr(x)
    n = matrix.shape[0]
    min_count = int(np.ceil(min_support * n - 1e-9))
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
    frequent = np.flatnonzero(counts >= min_count)
    parts = [_frame(frequent, np.arange(len(frequent)).reshape(-1, 1), counts[frequent])]
    if max_len >= 2 and len(frequent) > 1:
        xf = sp.csc_matrix(matrix[:, frequent])
        a, b, c = _pairs(xf, min_count)
        parts.append(_frame(frequent, np.stack([a, b], axis=1), c))
        if max_len >= 3 and len(a):
            parts.append(_triples(xf, a, b, frequent, min_count))
    frame = pl.concat(parts).with_columns((pl.col("count") / n).alias("support"))
    return Itemsets(frame, n, counts)


def _binary_csr(x: sp.spmatrix) -> sp.csr_matrix:
    """``x`` as a canonical 0/1 CSR matrix (no copy when it already is one)."""
    matrix = sp.csr_matrix(x, dtype=np.int32)
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    if matrix.nnz and not (matrix.data == 1).all():
        matrix = sp.csr_matrix(
            (np.ones_like(matrix.data), matrix.indices, matrix.indptr), matrix.shape
        )
    return matrix


def _pairs(xf: sp.csc_matrix, min_count: int) -> tuple[Ints, Ints, Ints]:
    """Every pair (a < b) of columns of ``xf`` in at least ``min_count`` rows, with its count.
    Column block j needs only the rows of Xᵀ up to its last column (the upper triangle), which
    saves close to half the work of the full product; blocks run in parallel."""
    n_items = xf.shape[1]
    xt = sp.csr_matrix(xf.T)
    bounds = np.linspace(0, n_items, _BLOCKS + 1).astype(np.int64)

    def block(j: int) -> tuple[Ints, Ints, Ints]:
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        product = sp.coo_matrix(xt[:hi] @ xf[:, lo:hi])
        col = product.col.astype(np.int64) + lo
        row = product.row.astype(np.int64)
        keep = (row < col) & (product.data >= min_count)
        return row[keep], col[keep], product.data[keep].astype(np.int64)

    # The widest blocks (the most work) first, so two or more workers finish together.
    with ThreadPoolExecutor(max_workers=min(_BLOCKS, os.cpu_count() or 1)) as pool:
        found = list(pool.map(block, range(_BLOCKS - 1, -1, -1)))
    return (
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
    )


_BLOCKS = 4
_DENSE_BUDGET = 256 * 2**20  # bytes of 0/1 baskets held at once while counting triples


def _triples(
    xf: sp.csc_matrix,
    a: Ints,
    b: Ints,
    frequent: Ints,
    min_count: int,
    budget: int | None = None,
) -> pl.DataFrame:
    """Frequent triples (a < b < c), anchored on their first item: among the baskets that
    hold a, one dense product over a's frequent partners counts every (b, c) at once (BLAS).
    Only items with a frequent partner are held densely, one byte per basket and item, in
    chunks of baskets that fit ``budget`` bytes; each anchor's counts add up over chunks."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    starts = np.searchsorted(a, np.arange(xf.shape[1] + 1))
    anchors = np.flatnonzero(np.diff(starts) >= 2)
    involved = np.union1d(a, b)
    position = np.full(xf.shape[1], -1, dtype=np.int64)
    position[involved] = np.arange(len(involved))
    n = xf.shape[0]
    chunk = max(1, (budget or _DENSE_BUDGET) // max(1, len(involved)))
    exact = np.float32 if n < 2**24 else np.float64  # integer counts stay exact
    together = {
        int(anchor): np.zeros((starts[anchor + 1] - starts[anchor],) * 2, dtype=exact)
        for anchor in anchors
    }
    xr = sp.csr_matrix(xf[:, involved])
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        dense = xr[lo:hi].toarray().astype(bool)
        for anchor in anchors:
            column = xf.indices[xf.indptr[anchor] : xf.indptr[anchor + 1]]
            baskets = column[np.searchsorted(column, lo) : np.searchsorted(column, hi)] - lo
            partners = position[b[starts[anchor] : starts[anchor + 1]]]
            sub = dense[np.ix_(baskets, partners)].astype(exact)
            together[int(anchor)] += sub.T @ sub
    found_a, found_b, found_c, found_n = [], [], [], []
    for key, counts in together.items():
        partners = b[starts[key] : starts[key + 1]]
        row, col = np.nonzero(np.triu(counts, k=1) >= min_count)
        found_a.append(np.full(len(row), key, dtype=np.int64))
        found_b.append(partners[row])
        found_c.append(partners[col])
        found_n.append(np.rint(counts[row, col]).astype(np.int64))
    if not found_n:
        return _frame(frequent, np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64))
    local = np.stack(
        [np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_c)], axis=1
    )
    return _frame(frequent, local, np.concatenate(found_n))


def _frame(
    frequent: Ints, local: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> pl.DataFrame:
    items = frequent[local] if len(local) else np.zeros((0, local.shape[1]), dtype=np.int64)
    return pl.DataFrame(
        {
            "items": pl.Series(items.astype(np.int64)).cast(pl.List(pl.Int64)),
            "count": np.asarray(counts, dtype=np.int64),
        }
    )


def association_rules(itemsets: Itemsets) -> pl.DataFrame:
    """Rules antecedent -> consequent from every frequent pair and triple (one item as the
    consequent): support, confidence, lift and conviction (inf when confidence is 1).
    Set-based on integer arrays: a pair gives two rules, a triple three, and each
    antecedent's count is found by binary search among the sorted pair keys (an antecedent
    of a frequent itemset is frequent itself, so it is always there)."""
    n = itemsets.n_baskets
    frame = itemsets.frame
    sizes = frame["items"].list.len().to_numpy()
    counts = frame["count"].to_numpy()
    singles = np.zeros(len(itemsets.item_counts), dtype=np.int64)
    ones = sizes == 1
    singles[frame.filter(pl.Series(ones))["items"].list.first().to_numpy()] = counts[ones]
    width = max(len(itemsets.item_counts), 1)

    def matrix(k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        chosen = sizes == k
        if not chosen.any():
            return np.zeros((0, k), dtype=np.int64), np.zeros(0, dtype=np.int64)
        items = frame.filter(pl.Series(chosen))["items"].list.to_array(k).to_numpy()
        return items.astype(np.int64), counts[chosen]

    pairs, pair_counts = matrix(2)
    triples, triple_counts = matrix(3)
    keys = pairs[:, 0] * width + pairs[:, 1]
    order = np.argsort(keys)
    keys, sorted_counts = keys[order], pair_counts[order]

    def pair_count(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return sorted_counts[np.searchsorted(keys, a * width + b)]

    antecedents = [pairs[:, [0]], pairs[:, [1]]]
    consequents = [pairs[:, 1], pairs[:, 0]]
    together = [pair_counts, pair_counts]
    given = [singles[pairs[:, 0]], singles[pairs[:, 1]]]
    for drop in (2, 1, 0):  # the triple (a, b, c) without one item: {a,b}->c, {a,c}->b, {b,c}->a
        keep = [k for k in range(3) if k != drop]
        antecedents.append(triples[:, keep])
        consequents.append(triples[:, drop])
        together.append(triple_counts)
        given.append(pair_count(triples[:, keep[0]], triples[:, keep[1]]))
    rules = pl.concat(
        [
            pl.DataFrame(
                {
                    "antecedent": pl.Series(a.astype(np.int64)).cast(pl.List(pl.Int64)),
                    "consequent": c.astype(np.int64),
                    "count": t.astype(np.int64),
                    "antecedent_count": g.astype(np.int64),
                    "consequent_count": singles[c],
                }
            )
            for a, c, t, g in zip(antecedents, consequents, together, given, strict=True)
            if len(c)
        ]
        or [
            pl.DataFrame(
                schema={"antecedent": pl.List(pl.Int64), "consequent": pl.Int64,
                        "count": pl.Int64, "antecedent_count": pl.Int64,
                        "consequent_count": pl.Int64}
            )
        ]
    )  # fmt: skip
    confidence = pl.col("count") / pl.col("antecedent_count")
    consequent_support = pl.col("consequent_count") / n
    return rules.with_columns(
        (pl.col("count") / n).alias("support"),
        confidence.alias("confidence"),
        (confidence / consequent_support).alias("lift"),
        pl.when(confidence < 1)
        .then((1 - consequent_support) / (1 - confidence))
        .otherwise(float("inf"))
        .alias("conviction"),
    )


__all__ = ["Itemsets", "association_rules", "basket_matrix", "frequent_itemsets"]

"""Frequent itemsets and association rules, set-based on sparse matrices.

Baskets are the rows of a 0/1 matrix X (baskets x items). Item supports are column sums;
every pair's count is one sparse product X_fᵀX_f over the frequent items; triples extend the
frequent pairs: for each item a, the baskets holding a, restricted to a's frequent partners,
give every (a, b, c) count in one product. A triple can only be frequent if its pairs are
(counts only shrink as items are added), so extending frequent pairs finds every frequent
triple, as Apriori does, without building candidates one by one.
"""

from __future__ import annotations

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
    matrix = sp.csc_matrix(x, dtype=np.int32)
    matrix.data[:] = 1
    n = matrix.shape[0]
    min_count = int(np.ceil(min_support * n - 1e-9))
    counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
    frequent = np.flatnonzero(counts >= min_count)
    parts = [
        pl.DataFrame(
            {"items": [[int(j)] for j in frequent], "count": counts[frequent]},
            schema={"items": pl.List(pl.Int64), "count": pl.Int64},
        )
    ]
    if max_len >= 2 and len(frequent) > 1:
        xf = sp.csc_matrix(matrix[:, frequent])
        co = sp.triu(sp.csr_matrix(xf.T @ xf), k=1).tocoo()
        keep = co.data >= min_count
        a, b, c = co.row[keep], co.col[keep], co.data[keep]
        parts.append(_frame(frequent, np.stack([a, b], axis=1), c))
        if max_len >= 3 and len(a):
            parts.append(_triples(xf, a, b, frequent, min_count))
    frame = pl.concat(parts).with_columns((pl.col("count") / n).alias("support"))
    return Itemsets(frame, n, counts)


def _triples(xf: sp.csc_matrix, a: Ints, b: Ints, frequent: Ints, min_count: int) -> pl.DataFrame:
    """Frequent triples (a < b < c), anchored on their first item: among the baskets that
    hold a, one product over a's frequent partners counts every (b, c) at once. Only one
    anchor's baskets are in memory at a time."""
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    starts = np.searchsorted(a, np.arange(xf.shape[1] + 1))
    rows_of = sp.csr_matrix(xf)
    found_a, found_b, found_c, found_n = [], [], [], []
    for anchor in np.flatnonzero(np.diff(starts) >= 2):
        partners = b[starts[anchor] : starts[anchor + 1]]
        baskets = xf.indices[xf.indptr[anchor] : xf.indptr[anchor + 1]]
        sub = rows_of[baskets][:, partners]
        pairs = sp.triu(sp.csr_matrix(sub.T @ sub), k=1).tocoo()
        keep = pairs.data >= min_count
        found_a.append(np.full(int(keep.sum()), anchor, dtype=np.int64))
        found_b.append(partners[pairs.row[keep]])
        found_c.append(partners[pairs.col[keep]])
        found_n.append(pairs.data[keep])
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
    consequent): support, confidence, lift and conviction (inf when confidence is 1)."""
    n = itemsets.n_baskets
    counts = {tuple(r[0]): r[1] for r in itemsets.frame.select("items", "count").iter_rows()}
    rows = []
    for items, count in counts.items():
        if len(items) < 2:
            continue
        for consequent in items:
            antecedent = tuple(i for i in items if i != consequent)
            rows.append(
                (list(antecedent), consequent, count, counts[antecedent], counts[(consequent,)])
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "antecedent": pl.List(pl.Int64),
            "consequent": pl.Int64,
            "count": pl.Int64,
            "antecedent_count": pl.Int64,
            "consequent_count": pl.Int64,
        },
        orient="row",
    )
    confidence = pl.col("count") / pl.col("antecedent_count")
    consequent_support = pl.col("consequent_count") / n
    return frame.with_columns(
        (pl.col("count") / n).alias("support"),
        confidence.alias("confidence"),
        (confidence / consequent_support).alias("lift"),
        pl.when(confidence < 1)
        .then((1 - consequent_support) / (1 - confidence))
        .otherwise(float("inf"))
        .alias("conviction"),
    )


__all__ = ["Itemsets", "association_rules", "basket_matrix", "frequent_itemsets"]

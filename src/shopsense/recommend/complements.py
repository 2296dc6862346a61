"""Bought together: complements learned from purchases only.

Views say what is *like* an item (substitutes: another mug); purchases by the same
customers say what goes *with* it (the coffee for the mug). Serving uses this for cart and
checkout pages and beside "similar items" on product pages.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp

from shopsense.errors import ShopsenseError
from shopsense.recommend.base import Floats, Ints, Recommender, State
from shopsense.recommend.interactions import Interactions


class NoPurchases(ShopsenseError):
    status = 409
    title = "Not enough data"


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (vectorised: one sort of all entries)."""
    coo = sp.coo_matrix(matrix)
    if coo.nnz == 0:
        return sp.csr_matrix(matrix.shape)
    order = np.lexsort((-coo.data, coo.row))
    rows, cols, vals = coo.row[order], coo.col[order], coo.data[order]
    starts = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - starts) < k
    out = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=matrix.shape)
    out.sum_duplicates()
    return out


class BoughtTogether(Recommender):
    """Item-item co-purchase: customers who bought both, over sqrt(buyers_i x buyers_j) plus
    ``shrinkage`` (so two sales together do not outrank a hundred); pairs bought together by
    fewer than ``min_support`` customers are dropped, and each item keeps its ``neighbours``
    best complements. A user's scores sum the complements of what they hold."""

    name = "bought_together"

    def __init__(self, shrinkage: float = 2.0, min_support: int = 2, neighbours: int = 100) -> None:
        super().__init__()
        self.shrinkage = shrinkage
        self.min_support = min_support
        self.neighbours = neighbours
        self.similarity_: sp.csr_matrix = sp.csr_matrix((0, 0))

    def _fit(self, data: Interactions) -> None:
        bought = data.events.filter(pl.col("kind") == "purchase").select("user", "item").unique()
        if bought.is_empty():
            raise NoPurchases("no purchases to learn what is bought together from")
        buyers = sp.csr_matrix(
            (
                np.ones(bought.height, dtype=np.float64),
                (bought["user"].to_numpy(), bought["item"].to_numpy()),
            ),
            shape=(data.n_users, data.n_items),
        )
        together = sp.csr_matrix(buyers.T @ buyers)
        together.setdiag(0.0)
        together.data[together.data < self.min_support] = 0.0
        together.eliminate_zeros()
        counts = np.asarray(buyers.sum(axis=0)).ravel()
        coo = together.tocoo()
        norm = np.sqrt(counts[coo.row] * counts[coo.col]) + self.shrinkage
        similarity = sp.csr_matrix((coo.data / norm, (coo.row, coo.col)), shape=together.shape)
        self.similarity_ = top_k_per_row(similarity, self.neighbours)

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        held = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
        held.data[:] = 1.0
        return np.asarray((held @ self.similarity_).toarray(), dtype=np.float64)

    def _state(self) -> State:
        return {
            "similarity": self.similarity_,
            "shrinkage": self.shrinkage,
            "min_support": self.min_support,
            "neighbours": self.neighbours,
        }

    def _restore(self, state: State) -> None:
        self.similarity_ = sp.csr_matrix(state["similarity"])
        self.shrinkage = float(state["shrinkage"])
        self.min_support = int(state["min_support"])
        self.neighbours = int(state["neighbours"])


__all__ = ["BoughtTogether", "NoPurchases", "top_k_per_row"]

"""Interactions: who did what with which item, indexed for the recommenders.

Every recommender fits on one ``Interactions``: a users x items matrix of confidence
weights (view < cart < purchase), the event log behind it (with times, for decay, trends
and repeat cycles) and the items' attributes (for content and business rules). Rows and
columns are dense integer indexes; ``user_ids`` / ``item_ids`` map them back to ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

# Confidence of one interaction of each kind: a purchase says more than a view.
KIND_WEIGHTS: dict[str, float] = {"view": 1.0, "cart": 3.0, "purchase": 5.0}
EVENT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.String,
    "item_id": pl.String,
    "kind": pl.String,  # view | cart | purchase
    "timestamp": pl.Datetime("us"),
    "quantity": pl.Float64,
}
ITEM_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "item_id": pl.String,
    "name": pl.String,
    "description": pl.String,
    "category": pl.String,
    "brand": pl.String,
    "price": pl.Float64,
    "cost": pl.Float64,
    "stock": pl.Int64,
    "active": pl.Boolean,
    "attributes": pl.String,  # "key value key value ..." text, for content models
}

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interactions:
    """The training data of every recommender (build with ``from_events``).

    ``events`` has integer ``user`` and ``item`` columns beside the ids, ``weight`` per row
    and ``timestamp``; ``items`` has one row per item index, in index order (attributes may
    be null: items seen only in events). ``matrix`` sums the weights per (user, item).
    """

    user_ids: npt.NDArray[np.str_]
    item_ids: npt.NDArray[np.str_]
    matrix: sp.csr_matrix
    events: pl.DataFrame
    items: pl.DataFrame
    as_of: datetime
    _user_index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)
    _item_index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_id: str) -> int:
        """The row of ``user_id``, or -1 for a user not seen in training."""
        return self._user_index.get(user_id, -1)

    def item_index(self, item_id: str) -> int:
        """The column of ``item_id``, or -1 for an item not in the catalog of the model."""
        return self._item_index.get(item_id, -1)

    def item_indexes(self, item_ids: list[str]) -> Ints:
        """Columns of the known ``item_ids`` (unknown ones are dropped)."""
        found = [self._item_index[i] for i in item_ids if i in self._item_index]
        return np.asarray(found, dtype=np.int64)

    def history(self, item_ids: list[str], weights: list[float] | None = None) -> sp.csr_matrix:
        """A one-row user-items matrix for a user known only by items (a session, a cart)."""
        cols = [self._item_index[i] for i in item_ids if i in self._item_index]
        vals = weights or [1.0] * len(item_ids)
        data = [w for i, w in zip(item_ids, vals, strict=False) if i in self._item_index]
        row = sp.csr_matrix(
            (np.asarray(data, dtype=np.float64), (np.zeros(len(cols), dtype=np.int64), cols)),
            shape=(1, self.n_items),
        )
        row.sum_duplicates()
        return row

    def user_items(self, users: Ints) -> sp.csr_matrix:
        """History rows of the given user indexes (-1: an empty row)."""
        users = np.asarray(users, dtype=np.int64)
        known = np.where(users >= 0, users, 0)
        rows = self.matrix[known]
        if (users < 0).any():
            mask = sp.diags((users >= 0).astype(np.float64))
            rows = sp.csr_matrix(mask @ rows)
        return sp.csr_matrix(rows)

    def before(self, cut: datetime) -> Interactions:
        """The same users and items (same indexes) with only the events before ``cut``: the
        training half of a temporal split whose features must line up with the whole."""
        return self.with_events(self.events.filter(pl.col("timestamp") < cut), as_of=cut)

    def with_events(self, events: pl.DataFrame, as_of: datetime | None = None) -> Interactions:
        """The same users and items (same indexes) with a subset of the events."""
        matrix = sp.csr_matrix(
            (events["weight"].to_numpy(), (events["user"].to_numpy(), events["item"].to_numpy())),
            shape=self.matrix.shape,
        )
        matrix.sum_duplicates()
        return Interactions(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            matrix=matrix,
            events=events,
            items=self.items,
            as_of=as_of or self.as_of,
            _user_index=self._user_index,
            _item_index=self._item_index,
        )

    @classmethod
    def from_events(
        cls,
        events: pl.DataFrame,
        as_of: datetime,
        items: pl.DataFrame | None = None,
        kind_weights: dict[str, float] | None = None,
    ) -> Interactions:
        """Index ``events`` (columns of ``EVENT_SCHEMA``; later than ``as_of`` dropped).

        The item index covers the catalog ``items`` (``ITEM_SCHEMA`` columns, any subset
        beyond ``item_id``) and every item in the events, so a catalog item nobody touched
        can still be recommended by content or rules."""
        weights = kind_weights or KIND_WEIGHTS
        ev = events.select(
            [
                pl.col(c).cast(t) if c in events.columns else pl.lit(None, t).alias(c)
                for c, t in EVENT_SCHEMA.items()
            ]
        ).filter(pl.col("timestamp") <= as_of)
        ev = ev.with_columns(pl.col("quantity").fill_null(1.0))
        catalog = _catalog(items)
        seen_items = ev.select("item_id").unique()
        all_items = (
            pl.concat([catalog.select("item_id"), seen_items])
            .unique(maintain_order=True)
            .sort("item_id")
        )
        item_ids = all_items["item_id"].to_numpy().astype(str)
        user_ids = np.sort(ev["user_id"].unique().to_numpy().astype(str))
        user_index = {u: i for i, u in enumerate(user_ids.tolist())}
        item_index = {i: j for j, i in enumerate(item_ids.tolist())}
        ev = ev.with_columns(
            pl.col("user_id").replace_strict(user_index, return_dtype=pl.Int64).alias("user"),
            pl.col("item_id").replace_strict(item_index, return_dtype=pl.Int64).alias("item"),
            pl.col("kind")
            .replace_strict(weights, default=1.0, return_dtype=pl.Float64)
            .alias("weight"),
        ).sort("timestamp")
        matrix = sp.csr_matrix(
            (ev["weight"].to_numpy(), (ev["user"].to_numpy(), ev["item"].to_numpy())),
            shape=(len(user_ids), len(item_ids)),
        )
        matrix.sum_duplicates()
        item_frame = all_items.join(catalog, on="item_id", how="left")
        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            matrix=matrix,
            events=ev,
            items=item_frame,
            as_of=as_of,
            _user_index=user_index,
            _item_index=item_index,
        )


def _catalog(items: pl.DataFrame | None) -> pl.DataFrame:
    """The catalog with every ``ITEM_SCHEMA`` column (missing ones null)."""
    if items is None:
        items = pl.DataFrame(schema={"item_id": pl.String})
    return items.select(
        [
            pl.col(c).cast(t) if c in items.columns else pl.lit(None, t).alias(c)
            for c, t in ITEM_SCHEMA.items()
        ]
    ).unique("item_id", keep="last")


__all__ = ["EVENT_SCHEMA", "ITEM_SCHEMA", "KIND_WEIGHTS", "Interactions"]

"""What the bundle engine reads, built once per mining run and catalog change: the catalog by
item index, the mined pair and triple evidence as sparse matrices, content similarity,
popularity and buy rates, and the order lines the seasonal and stock signals come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from sqlalchemy import Connection, and_, func, select

from shopsense.bundles.baskets import order_lines
from shopsense.bundles.rules import StoredRules, load_rules
from shopsense.catalog.codes import label_codes
from shopsense.db.models import activity_table as A
from shopsense.recommend.data import load_catalog
from shopsense.recommend.models.content import item_vectors

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

POPULARITY_DAYS = 90  # sales window of "popular" and of the buy rates
DEFAULT_BUY_RATE = 0.05  # views that end in a purchase, when the store has no views at all
MIN_VIEWS = 20  # views below which an item's buy rate is shrunk toward the store's


@dataclass(frozen=True)
class PairEvidence:
    """Mined pairs of one source as symmetric sparse matrices over the item index, plus the
    directed confidence P(column | row) and the triples' counts by their sorted key
    (a·n² + b·n + c over the sorted item indexes, kept sorted for binary search)."""

    baskets: int
    count: sp.csr_matrix
    lift: sp.csr_matrix
    confidence: sp.csr_matrix
    triple_keys: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    triple_counts: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def from_rules(cls, stored: StoredRules, index: dict[str, int], n_items: int) -> PairEvidence:
        rules = stored.rules.filter(
            pl.col("consequent").is_in(list(index))
            & pl.col("antecedent").list.eval(pl.element().is_in(list(index))).list.all()
        )
        pairs = rules.filter(pl.col("size") == 2)
        rows = _indexes(pairs["antecedent"].list.first(), index)
        cols = _indexes(pairs["consequent"], index)
        shape = (n_items, n_items)

        def matrix(values: pl.Series) -> sp.csr_matrix:
            return sp.csr_matrix((values.to_numpy().astype(np.float64), (rows, cols)), shape=shape)

        triples = rules.filter(pl.col("size") == 3)
        members = np.sort(
            np.stack(
                [
                    _indexes(triples["antecedent"].list.get(0), index),
                    _indexes(triples["antecedent"].list.get(1), index),
                    _indexes(triples["consequent"], index),
                ],
                axis=1,
            ),
            axis=1,
        )
        keys, first = np.unique(_triple_key(members, n_items), return_index=True)
        return cls(
            stored.baskets,
            matrix(pairs["count"]),
            matrix(pairs["lift"]),
            matrix(pairs["confidence"]),
            keys,
            triples["count"].to_numpy().astype(np.int64)[first],
        )

    def support(self, items: tuple[int, ...]) -> float | None:
        """Share of baskets holding every item: exact for mined pairs and triples; for more
        items the least pair support (an upper bound); None when not mined."""
        if not self.baskets:
            return None
        if len(items) == 3 and self.triple_keys.size:
            key = _triple_key(
                np.sort(np.asarray([items], dtype=np.int64), axis=1), self.count.shape[0]
            )
            at = int(np.searchsorted(self.triple_keys, key[0]))
            if at < self.triple_keys.size and self.triple_keys[at] == key[0]:
                return int(self.triple_counts[at]) / self.baskets
        counts = [self.count[a, b] for k, a in enumerate(items) for b in items[k + 1 :]]
        if not counts or min(counts) <= 0:
            return None
        return float(min(counts)) / self.baskets

    def lift_of(self, items: tuple[int, ...]) -> float | None:
        """The pair's lift; for more items the least lift among their pairs."""
        lifts = [self.lift[a, b] for k, a in enumerate(items) for b in items[k + 1 :]]
        if not lifts or min(lifts) <= 0:
            return None
        return float(min(lifts))


def _triple_key(sorted_items: Ints, n_items: int) -> Ints:
    """One int64 per row of sorted (a, b, c) item indexes."""
    n = np.int64(max(n_items, 1))
    return (sorted_items[:, 0] * n + sorted_items[:, 1]) * n + sorted_items[:, 2]


def _indexes(values: pl.Series, index: dict[str, int]) -> Ints:
    return values.replace_strict(index, return_dtype=pl.Int64).to_numpy()


@dataclass(frozen=True)
class Catalog:
    """Product facts by item index."""

    ids: list[str]
    index: dict[str, int]
    names: list[str]
    category: list[str]  # "" when none
    department: list[str]  # first level of the category path, "" when none
    brand: list[str]
    price: Floats
    cost: Floats
    stock: Floats  # NaN: not tracked
    active: Bools
    vectors: sp.csr_matrix  # L2-normalised content vectors
    category_code: Ints  # one code per category path, -1 none: for vector comparisons
    department_code: Ints

    @classmethod
    def from_frame(cls, items: pl.DataFrame) -> Catalog:
        category = items["category"].fill_null("").str.strip_chars("/ ")
        return cls(
            ids=items["item_id"].to_list(),
            index={p: k for k, p in enumerate(items["item_id"].to_list())},
            names=items["name"].fill_null("").to_list(),
            category=category.to_list(),
            department=category.str.split("/").list.first().fill_null("").to_list(),
            brand=items["brand"].fill_null("").to_list(),
            price=items["price"].cast(pl.Float64).fill_null(0.0).to_numpy(),
            cost=items["cost"].cast(pl.Float64).fill_null(0.0).to_numpy(),
            stock=items["stock"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            active=items["active"].fill_null(False).to_numpy().astype(bool),
            vectors=item_vectors(items),
            category_code=label_codes(category),
            department_code=label_codes(category.str.split("/").list.first().fill_null("")),
        )

    @property
    def size(self) -> int:
        return len(self.ids)

    def similarity(self, a: int, items: Ints) -> Floats:
        """Content cosine of item ``a`` with each of ``items``."""
        if not self.vectors.shape[1] or not len(items):
            return np.zeros(len(items))
        return np.asarray((self.vectors[items] @ self.vectors[a].T).todense()).ravel()


@dataclass(frozen=True)
class BundleData:
    """Everything the candidates are built from; immutable, swapped whole."""

    catalog: Catalog
    orders: PairEvidence
    sessions: PairEvidence
    mining_id: str | None
    lines: pl.DataFrame  # order lines (basket, item, placed_at, quantity, user_id)
    history_end: datetime | None  # the newest order line
    units: Floats  # units sold per item in the last POPULARITY_DAYS
    buy_rate: Floats  # share of an item's viewing sessions with an order of it (shrunk)

    def popular(self, mask: Bools) -> Ints:
        """Items of ``mask`` by units sold, best first (only items that sold)."""
        candidates = np.flatnonzero(mask & (self.units > 0))
        return candidates[np.lexsort((candidates, -self.units[candidates]))]


def load_data(conn: Connection, as_of: datetime | None = None) -> BundleData:
    """Read the catalog, the newest mining runs and the order history before ``as_of``
    (None: all of it; requests look only at what precedes their own time)."""
    items = load_catalog(conn)
    lines = order_lines(conn, as_of)
    end = lines["placed_at"].max() if lines.height else None
    views = _views(conn, end) if isinstance(end, datetime) else pl.DataFrame()
    orders = load_rules(conn, "orders", every_triple_rule=False)
    sessions = load_rules(conn, "sessions", every_triple_rule=False)
    return build_data(items, orders, sessions, lines, views)


def build_data(
    items: pl.DataFrame,
    orders: StoredRules,
    sessions: StoredRules,
    lines: pl.DataFrame,
    views: pl.DataFrame | None = None,
) -> BundleData:
    """The engine's data from frames: the catalog (``ITEM_SCHEMA``), the stored rules of each
    source, order lines (``LINE_SCHEMA``) and sessions viewing each item (item, sessions;
    none: every item has the store's default buy rate)."""
    catalog = Catalog.from_frame(items.sort("item_id"))
    lines = lines.filter(pl.col("item").is_in(catalog.ids))
    end = lines["placed_at"].max() if lines.height else None
    history_end = end if isinstance(end, datetime) else None
    units, buy_rate = _sales(catalog, lines, history_end, views)
    return BundleData(
        catalog=catalog,
        orders=PairEvidence.from_rules(orders, catalog.index, catalog.size),
        sessions=PairEvidence.from_rules(sessions, catalog.index, catalog.size),
        mining_id=orders.mining_id,
        lines=lines,
        history_end=history_end,
        units=units,
        buy_rate=buy_rate,
    )


def _views(conn: Connection, end: datetime) -> pl.DataFrame:
    """Sessions (people) viewing each product in the popularity window up to ``end``."""
    rows = conn.execute(
        select(A.c.product_id, func.count(func.distinct(A.c.session_id)))
        .where(
            and_(
                A.c.type == "product_view",
                A.c.is_bot.is_(False),
                A.c.product_id.is_not(None),
                A.c.timestamp >= end - timedelta(days=POPULARITY_DAYS),
                A.c.timestamp <= end,
            )
        )
        .group_by(A.c.product_id)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows], schema={"item": pl.String, "sessions": pl.Int64}, orient="row"
    )


def _sales(
    catalog: Catalog, lines: pl.DataFrame, end: datetime | None, views: pl.DataFrame | None
) -> tuple[Floats, Floats]:
    """Units sold per item in the popularity window and the view-to-purchase rate: orders
    holding the item over sessions viewing it, shrunk toward the store's rate by MIN_VIEWS
    pseudo-views (an item seen twice and bought once is not a 50 % seller)."""
    n = catalog.size
    units, orders, seen = np.zeros(n), np.zeros(n), np.zeros(n)
    if end is not None:
        recent = lines.filter(pl.col("placed_at") >= end - timedelta(days=POPULARITY_DAYS))
        by_item = recent.group_by("item").agg(
            pl.col("quantity").sum().alias("units"), pl.col("basket").n_unique().alias("orders")
        )
        cols = _indexes(by_item["item"], catalog.index)
        units[cols] = by_item["units"].to_numpy()
        orders[cols] = by_item["orders"].to_numpy()
    if views is not None and views.height:
        known = views.filter(pl.col("item").is_in(catalog.ids))
        seen[_indexes(known["item"], catalog.index)] = known["sessions"].to_numpy()
    store = float(orders.sum() / seen.sum()) if seen.sum() > 0 else DEFAULT_BUY_RATE
    store = float(np.clip(store, 1e-3, 0.9))
    rate = (np.minimum(orders, seen) + MIN_VIEWS * store) / (seen + MIN_VIEWS)
    return units, np.clip(rate, 1e-3, 0.9)


__all__ = ["BundleData", "Catalog", "PairEvidence", "build_data", "load_data"]

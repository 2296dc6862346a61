"""Evaluation data sets, each split by its own published protocol into a training
``Interactions`` and held-out relevance.

* ``online-retail`` (temporal): the UCI Online Retail file. Purchase lines (not a credit
  note, with a CustomerID, Quantity > 0) are one purchase event each; models train on the
  lines before the cut (2011-11-09) and are judged on the distinct items each training
  customer buys from then to the end of the file (30 days, and the morning of 2011-12-09).
  Items never sold before the cut are dropped from the relevance: no model can rank an
  item it has never seen, and keeping them would only lower every model's figure. Repeat
  purchases count (most of what a wholesaler's customer buys next month it bought
  before), so the ``all`` variant lets bought items be recommended.
* ``ml-100k`` (random): RecBole's MovieLens protocol. Ratings >= 3 are positives, the rest
  are dropped; each user's positives are shuffled and split 8:1:1 into train, validation
  and test; every item is ranked, less the user's train items (and at test time its
  validation items, as RecBole's full-sort evaluation does). A movie is seen once, so
  there are no repeats: both variants filter train items.
* ``demo`` (temporal): the shop database; the last 14 days are held out, and their purchases
  and cart adds (including wishlist adds, which the event log records as carts) are the
  relevance.

Every relevance matrix is users x items over the training index, binary, and holds only
users and items known to training.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from sqlalchemy import func, select

from shopsense.db.models import activity_table, orders_table
from shopsense.db.session import Database
from shopsense.errors import ShopsenseError
from shopsense.importers.online_retail import read_lines
from shopsense.recommend.data import load_catalog, load_events
from shopsense.recommend.interactions import Interactions

Ints = npt.NDArray[np.int64]

TEMPORAL, RANDOM = "temporal", "random"
# The protocol each data set is evaluated by; any other is refused, not approximated.
PROTOCOLS: dict[str, str] = {"online-retail": TEMPORAL, "ml-100k": RANDOM, "demo": TEMPORAL}

OR_FILE = Path("online_retail") / "online_retail.csv.gz"
OR_CUT = datetime(2011, 11, 9)
OR_END = datetime(2011, 12, 10)  # the file's last invoice is on 2011-12-09
OR_WINDOW = timedelta(days=30)

ML_FOLDER = Path("ml-100k")
ML_POSITIVE = 3  # lowest rating that counts as a positive
ML_RATIOS = (0.8, 0.1, 0.1)
ML_SEED = 2020  # RecBole's default seed
ML_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

DEMO_DAYS = 14
DEMO_KINDS = ("purchase", "cart")


class DatasetMissing(ShopsenseError):
    """The data set's files (or the shop's events) are not there to evaluate on."""

    status = 404
    title = "Data set not found"


class WrongProtocol(ShopsenseError):
    """A split other than the data set's own protocol was asked for."""

    status = 400
    title = "Not the data set's protocol"


@dataclass(frozen=True)
class Split:
    """A training set and what is held out from it, aligned to its index.

    ``test`` is the relevance evaluated (with ``phase`` "validation", the validation
    window or fold, for tuning); ``validation`` the validation fold when the protocol keeps
    one beside the test (random splits), else None; ``exclude`` the items never ranked for
    a user beyond its train history (RecBole's validation items at test time); ``repeats``
    whether the ``all`` variant may recommend train items and count them as hits."""

    dataset: str
    protocol: str
    phase: str
    train: Interactions
    test: sp.csr_matrix
    validation: sp.csr_matrix | None = None
    exclude: sp.csr_matrix | None = None
    repeats: bool = True

    @property
    def users(self) -> Ints:
        """The training rows evaluated: every user with at least one test item."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0).astype(np.int64)

    @property
    def label(self) -> str:
        """The protocol, suffixed "-validation" when the validation set is evaluated."""
        return self.protocol if self.phase == "test" else f"{self.protocol}-validation"


def relevance(train: Interactions, pairs: pl.DataFrame) -> sp.csr_matrix:
    """Binary users x items matrix of the distinct (user_id, item_id) ``pairs``; users and
    items unknown to ``train`` are dropped."""
    users = pl.DataFrame(
        {"user_id": train.user_ids.tolist(), "user": np.arange(train.n_users, dtype=np.int64)}
    )
    items = pl.DataFrame(
        {"item_id": train.item_ids.tolist(), "item": np.arange(train.n_items, dtype=np.int64)}
    )
    found = (
        pairs.select(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String))
        .unique()
        .join(users, on="user_id")
        .join(items, on="item_id")
    )
    matrix = sp.csr_matrix(
        (np.ones(found.height), (found["user"].to_numpy(), found["item"].to_numpy())),
        shape=(train.n_users, train.n_items),
    )
    matrix.sort_indices()
    return matrix


# -- Online Retail --------------------------------------------------------------------------


def online_retail_lines(path: Path) -> pl.DataFrame:
    """The purchase lines: not a credit note ("C" invoice), with a customer, quantity > 0."""
    if not path.is_file():
        raise DatasetMissing(
            f"Online Retail file not found at {path}: set SHOPSENSE_DATASETS to the folder "
            f"holding {OR_FILE}"
        )
    lines, _ = read_lines(path)
    return lines.filter(
        ~pl.col("invoice").str.starts_with("C")
        & pl.col("user_id").is_not_null()
        & (pl.col("quantity") > 0)
    )


def online_retail(
    path: Path, cut: datetime = OR_CUT, end: datetime = OR_END, *, validation: bool = False
) -> Split:
    """Train on the purchase lines before ``cut``; test on those in [cut, end). With
    ``validation``, train before cut - 30 days and evaluate [cut - 30 days, cut): a window
    the test never sees, for tuning."""
    lines = online_retail_lines(path)
    start, stop = cut, end
    if validation:
        start, stop = cut - OR_WINDOW, cut
    events = lines.select(
        "user_id",
        pl.col("product_id").alias("item_id"),
        pl.lit("purchase").alias("kind"),
        "timestamp",
        pl.col("quantity").cast(pl.Float64),
        "name",
    )
    before = events.filter(pl.col("timestamp") < start)
    if before.is_empty():
        raise DatasetMissing(f"{path.name} has no purchase line before {start:%Y-%m-%d}")
    names = (  # each item's most frequent description in training (ties: alphabetical)
        before.filter(pl.col("name").is_not_null())
        .group_by("item_id", "name")
        .len()
        .sort(["len", "name"], descending=[True, False])
        .group_by("item_id", maintain_order=True)
        .agg(pl.col("name").first())
    )
    catalog = before.select("item_id").unique().join(names, on="item_id", how="left")
    train = Interactions.from_events(before.drop("name"), start, items=catalog)
    held_out = events.filter(pl.col("timestamp").is_between(start, stop, closed="left"))
    return Split(
        dataset="online-retail",
        protocol=TEMPORAL,
        phase="validation" if validation else "test",
        train=train,
        test=relevance(train, held_out),
        repeats=True,
    )


# -- MovieLens 100K -------------------------------------------------------------------------


def _ml_items(path: Path, movies: pl.Series) -> pl.DataFrame:
    """Titles and genres of ``movies`` from u.item (Latin-1, "|"-separated, 19 genre flags):
    the title is the name, the first genre the category, all genres the attributes text."""
    if not path.is_file():
        return pl.DataFrame({"item_id": movies.cast(pl.String)})
    text = path.read_bytes().decode("latin-1")
    columns = ["movie", "title", "released", "video", "url", *ML_GENRES]
    raw = pl.read_csv(
        io.StringIO(text),
        separator="|",
        has_header=False,
        new_columns=columns,
        quote_char=None,
        schema_overrides={
            "movie": pl.Int64,
            "title": pl.String,
            **dict.fromkeys(ML_GENRES, pl.Int8),
        },
    )
    genres = pl.concat_list(
        [pl.when(pl.col(g) == 1).then(pl.lit(g)) for g in ML_GENRES]
    ).list.drop_nulls()
    return (
        raw.filter(pl.col("movie").is_in(movies.implode()))
        .select(
            pl.col("movie").cast(pl.String).alias("item_id"),
            pl.col("title").alias("name"),
            genres.list.first().alias("category"),
            genres.list.join(" ").alias("attributes"),
        )
        .join(pl.DataFrame({"item_id": movies.cast(pl.String)}), on="item_id", how="right")
        .select("item_id", "name", "category", "attributes")
    )


def split_counts(n: Ints) -> tuple[Ints, Ints, Ints]:
    """Train, validation and test sizes of users with ``n`` positives, as RecBole computes
    them: the two held-out parts are floor(0.1 n); a user with under 10 gets one in each
    (test first) as long as more than one stays in train."""
    n = np.asarray(n, dtype=np.int64)
    _, r_valid, r_test = ML_RATIOS
    valid = np.floor(r_valid * n).astype(np.int64)
    test = np.floor(r_test * n).astype(np.int64)
    train = n - valid - test
    add_test = (r_test * n > 0) & (r_test * n < 1) & (train > 1)
    test, train = test + add_test, train - add_test
    add_valid = (r_valid * n > 0) & (r_valid * n < 1) & (train > 1)
    valid, train = valid + add_valid, train - add_valid
    return train, valid, test


def movielens_100k(folder: Path, seed: int = ML_SEED, *, validation: bool = False) -> Split:
    """RecBole's protocol on u.data (see the module docstring); ``seed`` fixes the shuffle.
    With ``validation`` the validation fold is evaluated, with only train items filtered."""
    data = folder / "u.data"
    if not data.is_file():
        raise DatasetMissing(
            f"MovieLens 100K not found at {folder}: set SHOPSENSE_DATASETS to the folder "
            f"holding {ML_FOLDER}/u.data"
        )
    ratings = pl.read_csv(
        data,
        separator="\t",
        has_header=False,
        new_columns=["user", "movie", "rating", "seconds"],
        schema_overrides={"user": pl.Int64, "movie": pl.Int64, "rating": pl.Int64},
    )
    positives = ratings.filter(pl.col("rating") >= ML_POSITIVE)
    if positives.is_empty():
        raise DatasetMissing(f"{data} holds no rating of {ML_POSITIVE} or more")
    order = np.random.default_rng(seed).permutation(positives.height)
    shuffled = positives[order].with_columns(
        pl.int_range(pl.len()).over("user").alias("rank"), pl.len().over("user").alias("n")
    )
    n = shuffled["n"].to_numpy()
    rank = shuffled["rank"].to_numpy()
    n_train, n_valid, _ = split_counts(n)
    part = np.where(rank < n_train, 0, np.where(rank < n_train + n_valid, 1, 2))
    events = shuffled.with_columns(part=pl.Series(part)).select(
        pl.col("user").cast(pl.String).alias("user_id"),
        pl.col("movie").cast(pl.String).alias("item_id"),
        pl.lit("purchase").alias("kind"),
        pl.from_epoch("seconds", time_unit="s").cast(pl.Datetime("us")).alias("timestamp"),
        pl.lit(1.0).alias("quantity"),
        "part",
    )
    as_of = events["timestamp"].max()
    if not isinstance(as_of, datetime):
        raise DatasetMissing(f"{data} holds no readable timestamp")
    items = _ml_items(folder / "u.item", positives["movie"].unique().sort())
    train = Interactions.from_events(
        events.filter(pl.col("part") == 0).drop("part"), as_of, items=items
    )
    valid = relevance(train, events.filter(pl.col("part") == 1))
    test = relevance(train, events.filter(pl.col("part") == 2))
    if validation:
        return Split("ml-100k", RANDOM, "validation", train, valid, repeats=False)
    return Split("ml-100k", RANDOM, "test", train, test, valid, exclude=valid, repeats=False)


# -- the shop's own database ----------------------------------------------------------------


def latest_event(db: Database) -> datetime | None:
    """The time of the newest activity or order: the end of the shop's history."""
    with db.read() as conn:
        times = [
            conn.execute(select(func.max(activity_table.c.timestamp))).scalar_one(),
            conn.execute(select(func.max(orders_table.c.placed_at))).scalar_one(),
        ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def demo(
    db: Database,
    as_of: datetime | None = None,
    *,
    days: int = DEMO_DAYS,
    validation: bool = False,
) -> Split:
    """Train on the shop's events before ``as_of`` - ``days`` (default: the newest event);
    the purchases and carts of the held-out days are the relevance. With ``validation``
    the split moves ``days`` back."""
    end = as_of or latest_event(db)
    if end is None:
        raise DatasetMissing("the database holds no events: generate or import a store first")
    with db.read() as conn:
        events = load_events(conn, end)
        catalog = load_catalog(conn)
    start = end - timedelta(days=days)
    stop: datetime | None = None
    if validation:
        start, stop = start - timedelta(days=days), start
    before = events.filter(pl.col("timestamp") < start)
    if before.is_empty():
        raise DatasetMissing(f"the database holds no events before {start:%Y-%m-%d %H:%M}")
    train = Interactions.from_events(before, start, items=catalog)
    held_out = events.filter(
        (pl.col("timestamp") >= start)
        & pl.col("kind").is_in(list(DEMO_KINDS))
        & (pl.col("timestamp") < stop if stop is not None else pl.lit(True))
    )
    return Split(
        dataset="demo",
        protocol=TEMPORAL,
        phase="validation" if validation else "test",
        train=train,
        test=relevance(train, held_out),
        repeats=True,
    )


# -- by name --------------------------------------------------------------------------------


def check_protocol(dataset: str, split: str | None) -> str:
    """The data set's protocol; ``split``, when given, must be it."""
    if dataset not in PROTOCOLS:
        known = ", ".join(PROTOCOLS)
        raise ShopsenseError(f"unknown data set {dataset!r}: choose one of {known}")
    protocol = PROTOCOLS[dataset]
    if split is not None and split != protocol:
        raise WrongProtocol(
            f"{dataset} is evaluated with the {protocol} split, not {split!r}: its published "
            f"figures come from that protocol alone"
        )
    return protocol


def load(
    dataset: str,
    datasets_dir: Path | None,
    *,
    db: Database | None = None,
    validation: bool = False,
) -> Split:
    """The split of ``dataset`` ("online-retail" and "ml-100k" from ``datasets_dir``, the
    SHOPSENSE_DATASETS folder; "demo" from ``db``)."""
    check_protocol(dataset, None)
    if dataset == "demo":
        if db is None:
            raise DatasetMissing("the demo data set needs the shop database")
        return demo(db, validation=validation)
    if datasets_dir is None:
        raise DatasetMissing(f"no data set folder: set SHOPSENSE_DATASETS to evaluate on {dataset}")
    if dataset == "online-retail":
        return online_retail(datasets_dir / OR_FILE, validation=validation)
    return movielens_100k(datasets_dir / ML_FOLDER, validation=validation)


__all__ = [
    "PROTOCOLS",
    "DatasetMissing",
    "Split",
    "WrongProtocol",
    "check_protocol",
    "demo",
    "latest_event",
    "load",
    "movielens_100k",
    "online_retail",
    "online_retail_lines",
    "relevance",
    "split_counts",
]

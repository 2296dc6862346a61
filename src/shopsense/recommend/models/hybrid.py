"""Hybrid: a learned ranker over the candidates of every other recommender.

Linear blends of model scores do not beat repeat-purchase on retail data: the models are
right about different users and different items. So the hybrid learns *when* to trust which:
each base model proposes candidates, every (user, candidate) pair gets features — each
model's score and rank, how often and how recently the user took the item, the item's own
repurchase cycle, popularity and trend, the user's category and brand affinity, the price
against what the user usually pays — and a LightGBM lambdarank model, trained on what users
actually took in the last ``holdout_days`` of the history (base models fitted on the days
before), orders them. The base models are then refitted on all the history for serving.

Two rankers are learned: one for full lists (buying again counts) and one for discovery
(the user's own items excluded, trained only on items new to the user), because what makes
a good next purchase differs from what makes a good new find; ``recommend(...,
filter_seen=True)`` uses the second.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import polars as pl
import scipy.sparse as sp

from shopsense.errors import ValidationFailed
from shopsense.recommend.base import Floats, Ints, Recommender, State
from shopsense.recommend.interactions import Interactions

DEFAULT_BASES = ("repeat", "item_knn", "ease", "als", "popular")
DAY_US = 86_400 * 1e6
TIE_BREAK = 1e-6
MIN_TRAIN_USERS = 10  # fewer labelled users than this teach a ranker nothing
SMALL_BATCH = 5_000  # candidate rows predicted on one thread (a request has a few hundred)
MAX_TIED_VALUES = 16  # more distinct tied scores among the candidates: rank by a full sort
RANKER_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 20,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}


def _registry() -> dict[str, type[Recommender]]:
    from shopsense.recommend.models import MODELS

    return MODELS


class ItemFacts:
    """What is known of each user-item pair and each item at fit time, for features."""

    def __init__(self, data: Interactions) -> None:
        ev = data.events.with_columns(
            ((pl.lit(data.as_of) - pl.col("timestamp")).dt.total_microseconds() / DAY_US).alias(
                "age"
            )
        )
        shape = (data.n_users, data.n_items)
        bought = ev.filter(pl.col("kind") == "purchase")
        pairs = bought.group_by("user", "item").agg(
            pl.len().alias("lines"), (pl.col("age") // 1).n_unique().alias("days")
        )
        self.purchases = _csr(pairs, "lines", shape)
        self.purchase_days = _csr(pairs, "days", shape)
        per_user = ev.group_by("user").agg(
            pl.col("age").min().alias("since"),
            (pl.col("age") // 1).filter(pl.col("kind") == "purchase").n_unique().alias("days"),
        )
        self.user_since = np.full(data.n_users, np.nan)
        self.user_since[per_user["user"].to_numpy()] = per_user["since"].to_numpy()
        self.user_days = np.zeros(data.n_users)
        self.user_days[per_user["user"].to_numpy()] = per_user["days"].to_numpy()
        # How much of what the user buys is buying again: some shoppers restock, some explore.
        habits = pairs.group_by("user").agg((pl.col("days") > 1).mean().alias("share"))
        self.user_repeat = np.full(data.n_users, np.nan)
        self.user_repeat[habits["user"].to_numpy()] = habits["share"].to_numpy()
        last = ev.group_by("user", "item").agg((pl.col("age").min() + 1.0).alias("age"))
        self.last_age = _csr(last, "age", shape)  # days since last touch + 1; 0 = never
        days = bought.with_columns((pl.col("age") // 1).alias("day")).unique(
            ["user", "item", "day"]
        )
        gaps = (
            days.sort("user", "item", "day", descending=[False, False, True])
            .with_columns(pl.col("day").diff().over("user", "item").alias("gap"))
            .filter(pl.col("gap").is_not_null())
            .group_by("item")
            .agg(pl.col("gap").median().alias("cycle"), pl.len().alias("repeats"))
        )
        self.cycle = np.full(data.n_items, np.nan)
        self.cycle[gaps["item"].to_numpy()] = gaps["cycle"].to_numpy()
        self.repeats = np.zeros(data.n_items)
        self.repeats[gaps["item"].to_numpy()] = gaps["repeats"].to_numpy()
        buyers = bought.group_by("item").agg(pl.col("user").n_unique().alias("n"))
        self.buyers = np.zeros(data.n_items)
        self.buyers[buyers["item"].to_numpy()] = buyers["n"].to_numpy()
        self.repeat_share = np.divide(
            self.repeats, self.buyers, out=np.zeros(data.n_items), where=self.buyers > 0
        )
        recent = (
            ev.filter(pl.col("age") < 60)
            .group_by("item")
            .agg(
                pl.col("weight").filter(pl.col("age") < 30).sum().alias("now"),
                pl.col("weight").filter(pl.col("age") >= 30).sum().alias("before"),
            )
        )
        self.recent = np.zeros(data.n_items)
        self.recent[recent["item"].to_numpy()] = recent["now"].to_numpy()
        self.before = np.zeros(data.n_items)
        self.before[recent["item"].to_numpy()] = recent["before"].to_numpy()
        self.price = data.items["price"].fill_null(np.nan).to_numpy().astype(np.float64)
        self.category = _one_hot(data.items["category"])
        self.brand = _one_hot(data.items["brand"])

    def state(self) -> State:
        return {
            "purchases": self.purchases,
            "purchase_days": self.purchase_days,
            "user_since": self.user_since,
            "user_days": self.user_days,
            "user_repeat": self.user_repeat,
            "before": self.before,
            "last_age": self.last_age,
            "cycle": self.cycle,
            "repeats": self.repeats,
            "buyers": self.buyers,
            "repeat_share": self.repeat_share,
            "recent": self.recent,
            "price": self.price,
            "category": self.category,
            "brand": self.brand,
        }

    @classmethod
    def restore(cls, state: State) -> ItemFacts:
        facts = cls.__new__(cls)
        for key in ("purchases", "purchase_days", "last_age", "category", "brand"):
            setattr(facts, key, sp.csr_matrix(state[key]))
        for key in (
            "cycle", "repeats", "buyers", "repeat_share", "recent", "before", "price",
            "user_since", "user_days", "user_repeat",
        ):  # fmt: skip
            setattr(facts, key, np.asarray(state[key], dtype=np.float64))
        return facts


def _csr(frame: pl.DataFrame, value: str, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix(
        (
            frame[value].cast(pl.Float64).to_numpy(),
            (frame["user"].to_numpy(), frame["item"].to_numpy()),
        ),
        shape=shape,
    )


def _one_hot(column: pl.Series) -> sp.csr_matrix:
    """items x distinct values (nulls: no column)."""
    codes = column.cast(pl.Categorical).to_physical().to_numpy()
    valid = ~column.is_null().to_numpy()
    n_values = int(codes[valid].max()) + 1 if valid.any() else 0
    rows = np.flatnonzero(valid)
    return sp.csr_matrix(
        (np.ones(len(rows)), (rows, codes[valid].astype(np.int64))),
        shape=(len(column), n_values),
    )


def _pair_values(matrix: sp.csr_matrix, rows: Ints, cols: Ints) -> Floats:
    if matrix.shape[1] == 0 or len(rows) == 0:
        return np.zeros(len(rows))
    if rows.min() == rows.max():  # one user (a request): its row, without scipy's indexing
        start, end = int(matrix.indptr[rows[0]]), int(matrix.indptr[rows[0] + 1])
        line = np.zeros(matrix.shape[1])
        np.add.at(line, matrix.indices[start:end], matrix.data[start:end])
        return line[cols]
    return np.asarray(matrix[rows, cols]).ravel().astype(np.float64)


def _ranks(scores: Floats) -> Floats:
    """Rank of every item in each row (0 = best)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(scores.shape[1])[None, :]
    return ranks.astype(np.float64)


def _ranks_at(scores: Floats, rows: Ints, cols: Ints) -> Floats:
    """``_ranks(scores)[rows, cols]``. For one row (a request) each candidate's rank is
    counted instead: the items scoring more, found in a sorted copy, plus the items scoring
    the same with a smaller index (a stable sort's order among ties). A vectorised sort of
    fresh scores takes a third of the time of the stable argsort that ranks every item."""
    if scores.shape[0] != 1 or not len(cols) or np.isnan(scores).any():
        return _ranks(scores)[rows, cols]
    row = scores[0]
    value = row[cols]
    ascending = np.sort(row)
    above = np.searchsorted(ascending, value, side="right")
    tied = above - np.searchsorted(ascending, value, side="left") > 1
    ranks: Floats = (len(row) - above).astype(np.float64)
    if tied.any():
        shared = np.unique(value[tied])
        if len(shared) > MAX_TIED_VALUES:
            return _ranks(scores)[rows, cols]
        for same in shared:
            equal = row == same
            before = np.cumsum(equal) - equal  # equal items with a smaller index
            at = tied & (value == same)
            ranks[at] += before[cols[at]]
    return ranks


class Hybrid(Recommender):
    """LightGBM lambdarank over the candidates of ``bases`` (names in ``MODELS``)."""

    name = "hybrid"

    def __init__(
        self,
        bases: tuple[str, ...] = DEFAULT_BASES,
        candidates: int = 50,
        holdout: str = "time",
        holdout_days: float = 30.0,
        holdout_share: float = 0.2,
        max_train_users: int = 4_000,
        windows: int = 3,
        rounds: int = 300,
        patience: int = 40,
        seed: int = 7,
    ) -> None:
        super().__init__()
        self.bases = bases
        self.candidates = candidates
        if holdout not in ("time", "random"):
            raise ValidationFailed(f"hybrid: holdout must be 'time' or 'random', not {holdout!r}")
        self.holdout = holdout
        self.holdout_days = holdout_days
        self.holdout_share = holdout_share
        self.max_train_users = max_train_users
        self.windows = windows
        self.rounds = rounds
        self.patience = patience
        self.seed = seed
        self.models_: dict[str, Recommender] = {}
        self.facts_: ItemFacts | None = None
        self.rankers_: dict[str, lgb.Booster] = {}
        self._fixed_ranks: dict[str, tuple[Recommender, Floats]] = {}

    @classmethod
    def for_protocol(cls, protocol: str) -> Self:
        return cls(holdout="random" if protocol.startswith("random") else "time")

    # -- features -------------------------------------------------------------------------

    def _candidates(
        self, users: Ints, user_items: sp.csr_matrix, *, new_only: bool
    ) -> tuple[Ints, Ints, Floats, dict[str, Floats]]:
        """Candidate pairs (batch row, item), their feature matrix and each base's rank of
        each candidate (0 = its best item)."""
        history = sp.csr_matrix(user_items)
        dense: dict[str, Floats] = {}
        ordered: dict[str, Floats] = {}  # scores with -inf for none, as ranked
        chosen = np.zeros((len(users), self._n_items()), dtype=bool)
        for name, model in self.models_.items():
            s = np.asarray(model.score(users, history), dtype=np.float64)
            s = np.where(np.isfinite(s), s, np.nan)
            dense[name] = s
            filled = ordered[name] = np.where(np.isnan(s), -np.inf, s)
            if new_only:
                filled = filled.copy()
                seen = history.tocoo()
                filled[seen.row, seen.col] = -np.inf
            k = min(self.candidates, filled.shape[1])
            top = np.argpartition(-filled, k - 1, axis=1)[:, :k]
            rows = np.arange(len(users))[:, None]
            ok = np.isfinite(filled[rows, top])
            chosen[np.broadcast_to(rows, top.shape)[ok], top[ok]] = True
        if not new_only:
            seen = history.tocoo()
            chosen[seen.row, seen.col] = True
        rows, cols = np.nonzero(chosen)
        # Ranked once: the features and the serving tie-breaker both read them.
        ranked = {name: self._ranked(name, ordered[name], rows, cols) for name in dense}
        return rows, cols, self._features(users, history, rows, cols, dense, ranked), ranked

    def _ranked(self, name: str, scores: Floats, rows: Ints, cols: Ints) -> Floats:
        """The rank of each candidate (0 = best) by one base model. A model whose scores do
        not depend on the user (popularity) ranks everybody alike: its items are ranked once
        per fitted model rather than per request."""
        model = self.models_[name]
        if model.personalised or not len(scores):
            return _ranks_at(scores, rows, cols)
        cached = self._fixed_ranks.get(name)
        if cached is None or cached[0] is not model:
            cached = self._fixed_ranks[name] = (model, _ranks(scores[:1])[0])
        return cached[1][cols]

    def _features(
        self,
        users: Ints,
        history: sp.csr_matrix,
        rows: Ints,
        cols: Ints,
        dense: dict[str, Floats],
        ranked: dict[str, Floats],
    ) -> Floats:
        facts = self.facts_
        if facts is None:
            raise ValidationFailed("hybrid: not fitted")
        known = users[rows] >= 0
        user_rows = np.where(known, users[rows], 0)
        columns: list[Floats] = []
        for name, s in dense.items():
            columns.append(s[rows, cols])
            columns.append(ranked[name])
        purchases = np.where(known, _pair_values(facts.purchases, user_rows, cols), 0.0)
        purchase_days = np.where(known, _pair_values(facts.purchase_days, user_rows, cols), 0.0)
        last_age = np.where(known, _pair_values(facts.last_age, user_rows, cols), 0.0)
        last_age = np.where(last_age > 0, last_age - 1.0, np.nan)
        weight = _pair_values(history, rows, cols)
        cycle = facts.cycle[cols]
        row_weight = np.asarray(history.sum(axis=1)).ravel()
        row_items = np.diff(history.indptr).astype(np.float64)
        cat = _affinity(history, facts.category, rows, cols, row_weight)
        brand = _affinity(history, facts.brand, rows, cols, row_weight)
        price = facts.price
        paid = np.asarray(history @ np.nan_to_num(price)).ravel()
        mean_price = np.divide(
            paid, row_weight, out=np.full(len(row_weight), np.nan), where=row_weight > 0
        )
        columns += [
            purchases,
            purchase_days,
            np.where(known, facts.user_since[user_rows], np.nan),
            np.where(known, facts.user_days[user_rows], np.nan),
            np.where(known, facts.user_repeat[user_rows], np.nan),
            np.log1p(facts.before[cols]),
            last_age,
            weight,
            cycle,
            last_age / cycle,
            facts.repeat_share[cols],
            np.log1p(facts.buyers[cols]),
            np.log1p(facts.recent[cols]),
            row_items[rows],
            np.log1p(row_weight[rows]),
            cat,
            brand,
            price[cols],
            price[cols] / mean_price[rows],
        ]
        return np.column_stack(columns).astype(np.float64)

    def _n_items(self) -> int:
        return self._check_fitted()

    # -- learning -------------------------------------------------------------------------

    def _fit(self, data: Interactions) -> None:
        registry = _registry()
        missing = [b for b in self.bases if b not in registry]
        if missing:
            raise ValidationFailed(f"hybrid: unknown base models {', '.join(missing)}")
        sets: dict[str, list[tuple[Floats, Floats, Ints]]] = {"all": [], "new": []}
        for window in range(self.windows):
            early, later = self._holdout(data, window)
            target = "purchase" if (later["kind"] == "purchase").any() else "cart"
            labels = later.filter(pl.col("kind") == target).select("user", "item").unique()
            label_matrix = sp.csr_matrix(
                (np.ones(labels.height), (labels["user"].to_numpy(), labels["item"].to_numpy())),
                shape=(data.n_users, data.n_items),
            )
            users = np.unique(labels["user"].to_numpy())
            users = users[np.diff(early.matrix.indptr)[users] > 0]
            if len(users) > self.max_train_users:
                rng = np.random.default_rng(self.seed + window)
                users = np.sort(rng.choice(users, self.max_train_users, replace=False))
            if len(users) < MIN_TRAIN_USERS:
                break
            self._fit_bases(early, registry)
            for mode in sets:
                sets[mode].append(
                    self._examples(early, users, label_matrix, new_only=mode == "new")
                )
        # Too little history to learn from: the fused ranks of the base models rank alone.
        self.rankers_ = {mode: self._learn(examples) for mode, examples in sets.items() if examples}
        self._fit_bases(data, registry)

    def _holdout(self, data: Interactions, window: int) -> tuple[Interactions, pl.DataFrame]:
        """What the base models see and what the ranker learns to predict, for one window.

        ``time``: the ``holdout_days`` before the window's end are held out (a shop's next
        month); ``random``: a random ``holdout_share`` of each user's items, all their events
        (for data without a meaningful order in time, like a random-split benchmark)."""
        if self.holdout == "random":
            pairs = data.events.select("user", "item").unique().sort("user", "item")
            rng = np.random.default_rng(self.seed + window)
            held = pairs.filter(pl.Series(rng.random(pairs.height) < self.holdout_share))
            later = data.events.join(held, on=["user", "item"], how="semi")
            kept = data.events.join(held, on=["user", "item"], how="anti")
            return data.with_events(kept), later
        end = data.as_of - timedelta(days=self.holdout_days * window)
        cut = end - timedelta(days=self.holdout_days)
        later = data.events.filter((pl.col("timestamp") >= cut) & (pl.col("timestamp") < end))
        return data.before(cut), later

    def _fit_bases(self, data: Interactions, registry: dict[str, type[Recommender]]) -> None:
        self.models_ = {name: registry[name]().fit(data) for name in self.bases}
        self.facts_ = ItemFacts(data)

    def _examples(
        self, early: Interactions, users: Ints, labels: sp.csr_matrix, *, new_only: bool
    ) -> tuple[Floats, Floats, Ints]:
        """Features, labels and group sizes of the candidates of ``users`` (only users with a
        positive among their candidates: a list without one teaches a ranker nothing)."""
        xs, ys, groups = [], [], []
        for start in range(0, len(users), 500):
            batch = users[start : start + 500]
            history = early.user_items(batch)
            rows, cols, x, _ = self._candidates(batch, history, new_only=new_only)
            y = _pair_values(labels, batch[rows], cols)
            if new_only:
                y = np.where(_pair_values(history, rows, cols) > 0, 0.0, y)
            counts = np.bincount(rows, minlength=len(batch))
            positives = np.bincount(rows, weights=y, minlength=len(batch))
            keep_rows = positives[rows] > 0
            xs.append(x[keep_rows])
            ys.append(y[keep_rows])
            groups.append(counts[positives > 0])
        return np.vstack(xs), np.concatenate(ys), np.concatenate(groups)

    def _learn(self, examples: list[tuple[Floats, Floats, Ints]]) -> lgb.Booster:
        """LambdaRank on the examples of every window; the last fifth of each window's users
        is held out for early stopping."""
        train_parts, valid_parts = [], []
        for x, y, group in examples:
            split = max(1, int(len(group) * 0.8))
            cut_row = int(group[:split].sum())
            train_parts.append((x[:cut_row], y[:cut_row], group[:split]))
            valid_parts.append((x[cut_row:], y[cut_row:], group[split:]))

        def stack(parts: list[tuple[Floats, Floats, Ints]]) -> tuple[Floats, Floats, Ints]:
            return (
                np.vstack([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]),
            )

        tx, ty, tg = stack(train_parts)
        vx, vy, vg = stack(valid_parts)
        params = {**RANKER_PARAMS, "seed": self.seed}
        train = lgb.Dataset(tx, ty, group=tg)
        valid = lgb.Dataset(vx, vy, group=vg, reference=train)
        return lgb.train(
            params,
            train,
            num_boost_round=self.rounds,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(self.patience, verbose=False)],
        )

    # -- scoring --------------------------------------------------------------------------

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        return self._rank(users, user_items, new_only=False)

    def _scores_for(self, users: Ints, user_items: sp.csr_matrix, *, filter_seen: bool) -> Floats:
        return self._rank(users, user_items, new_only=filter_seen)

    def _rank(self, users: Ints, user_items: sp.csr_matrix, *, new_only: bool) -> Floats:
        """Ranker scores for the candidates; every other item below them, by popularity."""
        users = np.asarray(users, dtype=np.int64)
        rows, cols, x, ranked = self._candidates(users, user_items, new_only=new_only)
        booster = self.rankers_.get("new" if new_only else "all")
        predicted: Floats = np.zeros(len(rows))
        if booster is not None:
            # A request's few hundred rows on one thread: they take well under a millisecond,
            # and an OpenMP team per call only waits for a core under concurrent requests.
            threads = 1 if len(rows) <= SMALL_BATCH else 0  # 0: OpenMP's default
            predicted = np.asarray(
                booster.predict(
                    x, num_iteration=booster.best_iteration or None, num_threads=threads
                ),
                dtype=np.float64,
            )
        facts = self.facts_
        if facts is None:
            raise ValidationFailed("hybrid: not fitted")
        # Where the ranker cannot tell candidates apart (little training data), the fused
        # ranks of the base models decide: a tie-breaker far below any learned difference.
        fused = np.zeros(len(rows))
        for r in ranked.values():
            fused += 1.0 / (10.0 + r)
        predicted = predicted + TIE_BREAK * fused
        popularity = np.log1p(facts.recent)
        floor = popularity / (popularity.max() + 1.0)  # in [0, 1)
        out = np.broadcast_to(floor - 2.0, (len(users), len(floor))).copy()
        if len(rows):
            low = np.full(len(users), np.inf)
            np.minimum.at(low, rows, predicted)
            low = np.where(np.isfinite(low), low, 0.0)
            out += low[:, None]
            out[rows, cols] = predicted
        return out

    # -- persistence ----------------------------------------------------------------------

    def _state(self) -> State:
        if self.facts_ is None:
            raise ValidationFailed("hybrid: not fitted")
        return {
            **{f"facts.{k}": v for k, v in self.facts_.state().items()},
            "rankers": {mode: b.model_to_string() for mode, b in self.rankers_.items()},
            "bases": list(self.bases),
            "candidates": self.candidates,
            "holdout": self.holdout,
            "holdout_days": self.holdout_days,
            "holdout_share": self.holdout_share,
            "max_train_users": self.max_train_users,
            "windows": self.windows,
            "rounds": self.rounds,
            "patience": self.patience,
            "seed": self.seed,
        }

    def _restore(self, state: State) -> None:
        self._fixed_ranks = {}
        self.bases = tuple(state["bases"])
        self.candidates = int(state["candidates"])
        self.holdout = str(state["holdout"])
        self.holdout_days = float(state["holdout_days"])
        self.holdout_share = float(state["holdout_share"])
        self.max_train_users = int(state["max_train_users"])
        self.windows = int(state["windows"])
        self.rounds = int(state["rounds"])
        self.patience = int(state["patience"])
        self.seed = int(state["seed"])
        self.facts_ = ItemFacts.restore(
            {k.removeprefix("facts."): v for k, v in state.items() if k.startswith("facts.")}
        )
        self.rankers_ = {
            mode: lgb.Booster(model_str=text) for mode, text in dict(state["rankers"]).items()
        }

    def save(self, folder: Path) -> None:
        super().save(folder)
        for name, model in self.models_.items():
            model.save(folder / "bases" / name)

    @classmethod
    def load(cls, folder: Path) -> Self:
        model = super().load(folder)
        registry = _registry()
        model.models_ = {name: registry[name].load(folder / "bases" / name) for name in model.bases}
        return model


def _affinity(
    history: sp.csr_matrix, one_hot: sp.csr_matrix, rows: Ints, cols: Ints, total: Floats
) -> Floats:
    """Share of the user's history weight in the candidate item's category (or brand)."""
    if one_hot.shape[1] == 0:
        return np.full(len(rows), np.nan)
    per_value = sp.csr_matrix(history @ one_hot)  # users x values
    counts = np.diff(one_hot.indptr)
    if counts.max(initial=0) <= 1:  # one entry per item: read it, no argmax and sum per call
        first = one_hot.indptr[:-1][counts > 0]
        item_value = np.zeros(one_hot.shape[0], dtype=np.int64)
        item_value[counts > 0] = one_hot.indices[first]
        has_value = np.zeros(one_hot.shape[0], dtype=bool)
        has_value[counts > 0] = one_hot.data[first] > 0
    else:
        item_value = np.asarray(one_hot.argmax(axis=1)).ravel()
        has_value = np.asarray(one_hot.sum(axis=1)).ravel() > 0
    share = _pair_values(per_value, rows, item_value[cols])
    share = np.divide(share, total[rows], out=np.zeros(len(rows)), where=total[rows] > 0)
    return np.where(has_value[cols], share, np.nan)


__all__ = ["DEFAULT_BASES", "Hybrid", "ItemFacts"]

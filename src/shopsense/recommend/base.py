"""One small interface for every recommender, in the style of ``implicit``.

``fit(interactions)`` learns; ``score(users, user_items)`` gives a dense relevance row per
user over every item; ``recommend`` and ``similar_items`` are built on it once, here, with
the filters and the NaN guard; ``save``/``load`` round-trip the fitted state through one
``.npz`` plus a JSON of parameters (no pickle: artifacts are data, not code).

Users are row indexes of the training ``Interactions`` (-1: unknown to the model) and
``user_items`` holds their history rows, so one call serves known users, a cold user known
only by a session, or a cart: item-based models read the rows, factor models the indexes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shopsense.errors import NotFitted, ShopsenseError, ValidationFailed
from shopsense.recommend.interactions import Interactions

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
State = dict[str, Any]  # numpy arrays, scipy sparse matrices and JSON values
STATE_FILE = "state.npz"
PARAMS_FILE = "params.json"


class ModelFailure(ShopsenseError):
    """A model produced non-finite scores: better no answer than a garbage one."""

    status = 503
    title = "Model produced invalid scores"


class Recommender(ABC):
    """Base of every recommender; subclasses implement ``_fit``, ``score``, ``_state`` and
    ``_restore`` (and may override ``similar_items``)."""

    name: ClassVar[str]
    # Whether scores depend on the user (popularity does not): the known-answer test uses it.
    personalised: ClassVar[bool] = True
    # Whether the model can propose items outside the user's history (repeat-purchase
    # models cannot): the contract's discovery checks use it.
    recommends_unseen: ClassVar[bool] = True

    def __init__(self) -> None:
        self.n_items_: int | None = None
        self.as_of_: datetime | None = None

    # -- learning -----------------------------------------------------------------------

    @classmethod
    def for_protocol(cls, protocol: str) -> Self:
        """An unfitted model with the defaults for an evaluation protocol ("temporal" or
        "random"); most models have one set of defaults."""
        return cls()

    def fit(self, data: Interactions) -> Self:
        self.n_items_ = data.n_items
        self.as_of_ = data.as_of
        self._fit(data)
        return self

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    # -- scoring ------------------------------------------------------------------------

    @abstractmethod
    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        """(len(users), n_items) relevance; higher is better; -inf for "never"."""

    def _scores_for(self, users: Ints, user_items: sp.csr_matrix, *, filter_seen: bool) -> Floats:
        """The scores ``recommend`` ranks: ``score``, unless a model ranks differently when
        the user's own items are excluded (a learned ranker trained for discovery)."""
        return self.score(users, user_items)

    def _check_fitted(self) -> int:
        if self.n_items_ is None:
            raise NotFitted(f"{self.name}: fit or load the model first")
        return self.n_items_

    def recommend(
        self,
        users: Ints,
        user_items: sp.csr_matrix,
        n: int = 10,
        *,
        filter_items: Ints | None = None,
        filter_seen: bool = False,
    ) -> tuple[Ints, Floats]:
        """Top ``n`` item indexes and scores per user, best first.

        ``filter_items`` are never returned; with ``filter_seen`` neither is anything in the
        user's history row. Fewer than ``n`` candidates (a small catalog, strict filters)
        pad with id -1 and score -inf."""
        n_items = self._check_fitted()
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        scores = np.array(
            self._scores_for(users, user_items, filter_seen=filter_seen),
            dtype=np.float64,
            copy=True,
        )
        if scores.shape != (len(users), n_items):
            raise ModelFailure(f"{self.name}: scores of shape {scores.shape}")
        if np.isnan(scores).any() or np.isposinf(scores).any():
            raise ModelFailure(f"{self.name}: NaN or infinite scores")
        if filter_items is not None and len(filter_items):
            scores[:, np.asarray(filter_items, dtype=np.int64)] = -np.inf
        if filter_seen:
            seen = sp.csr_matrix(user_items).tocoo()
            scores[seen.row, seen.col] = -np.inf
        return top_n(scores, n)

    def similar_items(self, items: Ints, n: int = 10) -> tuple[Ints, Floats]:
        """Items most like each of ``items`` (the item itself excluded): by default, the
        scores for a user whose whole history is that one item."""
        n_items = self._check_fitted()
        items = np.atleast_1d(np.asarray(items, dtype=np.int64))
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            raise ValidationFailed(f"{self.name}: item indexes outside the trained catalog")
        # Built as CSR directly: through COO it cost more than many a model's scoring.
        one_hot = sp.csr_matrix(
            (np.ones(len(items)), items, np.arange(len(items) + 1)), shape=(len(items), n_items)
        )
        scores = np.array(
            self.score(np.full(len(items), -1, dtype=np.int64), one_hot), dtype=np.float64
        )
        scores[np.arange(len(items)), items] = -np.inf
        return top_n(scores, n)

    # -- persistence --------------------------------------------------------------------

    @abstractmethod
    def _state(self) -> State: ...

    @abstractmethod
    def _restore(self, state: State) -> None: ...

    def save(self, folder: Path) -> None:
        """Write the fitted model into ``folder`` (created)."""
        n_items = self._check_fitted()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {}
        params: dict[str, Any] = {
            "model": self.name,
            "n_items": n_items,
            "as_of": self.as_of_.isoformat() if self.as_of_ else None,
        }
        for key, value in self._state().items():
            if sp.issparse(value):
                csr = sp.csr_matrix(value)
                arrays[f"{key}.data"] = csr.data
                arrays[f"{key}.indices"] = csr.indices
                arrays[f"{key}.indptr"] = csr.indptr
                arrays[f"{key}.shape"] = np.asarray(csr.shape)
            elif isinstance(value, np.ndarray):
                arrays[key] = value
            else:
                params[key] = value
        np.savez(folder / STATE_FILE, **arrays)  # type: ignore[arg-type]
        (folder / PARAMS_FILE).write_text(json.dumps(params, indent=1))

    @classmethod
    def load(cls, folder: Path) -> Self:
        params: dict[str, Any] = json.loads((folder / PARAMS_FILE).read_text())
        if params.get("model") != cls.name:
            raise ShopsenseError(
                f"{folder} holds a {params.get('model')!r} model, not {cls.name!r}"
            )
        state: State = {k: v for k, v in params.items() if k not in ("model", "n_items", "as_of")}
        with np.load(folder / STATE_FILE, allow_pickle=False) as saved:
            for key in saved.files:
                if key.endswith(".data"):
                    base = key.removesuffix(".data")
                    shape = tuple(int(x) for x in saved[f"{base}.shape"])
                    state[base] = sp.csr_matrix(
                        (saved[key], saved[f"{base}.indices"], saved[f"{base}.indptr"]),
                        shape=shape,
                    )
                elif not key.endswith((".indices", ".indptr", ".shape")):
                    state[key] = saved[key]
        model = cls.__new__(cls)
        Recommender.__init__(model)
        model.n_items_ = int(params["n_items"])
        model.as_of_ = datetime.fromisoformat(params["as_of"]) if params.get("as_of") else None
        model._restore(state)
        return model


def stored_entries(matrix: sp.csr_matrix, rows: Ints) -> tuple[Ints, Ints, Floats]:
    """(position in ``rows``, column, value) of every stored entry of those rows of a CSR
    matrix, in storage order: ``sp.coo_matrix(matrix[rows])`` read straight from the
    arrays, since scipy's row indexing and conversion cost more than a request's scoring."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    counts = (ends - starts).astype(np.int64)
    at = np.arange(int(counts.sum())) + np.repeat(starts - np.cumsum(counts) + counts, counts)
    return np.repeat(np.arange(len(rows)), counts), matrix.indices[at], matrix.data[at]


def top_n(scores: Floats, n: int) -> tuple[Ints, Floats]:
    """Best ``n`` columns of each row, sorted; -inf entries become id -1."""
    k = max(0, min(n, scores.shape[1]))
    if k == 0:
        return (
            np.empty((scores.shape[0], 0), dtype=np.int64),
            np.empty((scores.shape[0], 0), dtype=np.float64),
        )
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.arange(scores.shape[0])[:, None]
    order = np.argsort(-scores[rows, part], axis=1, kind="stable")
    ids = part[rows, order].astype(np.int64)
    best = scores[rows, ids]
    ids[np.isneginf(best)] = -1
    return ids, best


__all__ = ["ModelFailure", "Recommender", "State", "stored_entries", "top_n"]

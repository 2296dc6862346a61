"""Matrix factorisation on implicit feedback: ALS and BPR, fitted by ``implicit`` (CPU).

The fitted state is the two factor arrays (and for ALS the BM25 statistics of training),
so a saved model serves without the library object: a known user scores
``user_factors[u] @ item_factors.T``; a visitor the model never saw (a session, a cart) is
folded in from the history row, for ALS by the same least-squares solve the fit makes for
every user, for BPR as the weighted mean of the history items' factors.
"""

from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractContextManager
from functools import cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import bm25_weight
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from shopsense.errors import ValidationFailed
from shopsense.recommend.base import Floats, Ints, Recommender, State
from shopsense.recommend.interactions import Interactions

Weighting = Literal["none", "bm25"]
WEIGHTINGS: tuple[str, ...] = ("none", "bm25")
F32 = npt.NDArray[np.float32]
# Fold-in pads each history to the longest one of its chunk: bound the padded block.
FOLD_IN_BLOCK = 1 << 22


@cache
def _threadpools() -> Any:
    """One controller per process: building one scans the loaded libraries (about 1 ms,
    too much per request), limiting through it costs microseconds."""
    return ThreadpoolController()


def _one_blas_thread() -> AbstractContextManager[Any]:
    """BLAS on one thread: implicit parallelises over users with OpenMP itself, a fixed
    reduction order keeps fits reproducible, and the many small solves of a fold-in only
    lose time to BLAS threads fighting OpenMP's (ten times slower on a busy machine)."""
    limited: AbstractContextManager[Any] = _threadpools().limit(limits=1, user_api="blas")
    return limited


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValidationFailed(f"{name} must be positive, not {value!r}")


class _Factors(Recommender):
    """Scores from user x item factor products; subclasses learn the factors and say how
    an unknown user is folded in."""

    def __init__(self) -> None:
        super().__init__()
        self.user_factors_: F32 = np.zeros((0, 0), dtype=np.float32)
        self.item_factors_: F32 = np.zeros((0, 0), dtype=np.float32)

    @abstractmethod
    def _fold_in(self, rows: sp.csr_matrix) -> F32:
        """User factors for history rows of users unknown to the model."""

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        if (users >= len(self.user_factors_)).any() or (users < -1).any():
            raise ValidationFailed(f"{self.name}: user indexes outside the trained users")
        vectors = np.empty((len(users), self.user_factors_.shape[1]), dtype=np.float32)
        known = users >= 0
        vectors[known] = self.user_factors_[users[known]]
        if not known.all():
            rows = sp.csr_matrix(user_items)[np.flatnonzero(~known)]
            vectors[~known] = self._fold_in(sp.csr_matrix(rows))
        return np.asarray(vectors @ self.item_factors_.T, dtype=np.float64)

    def _factor_state(self) -> State:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _restore_factors(self, state: State) -> None:
        self.user_factors_ = np.asarray(state["user_factors"], dtype=np.float32)
        self.item_factors_ = np.asarray(state["item_factors"], dtype=np.float32)


class ALS(_Factors):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with the conjugate-gradient solver.

    Confidence is the summed event weight (view < cart < purchase), optionally BM25-weighted
    with users as documents and items as terms, times ``alpha``: an item everybody buys says
    little about anyone (idf), and a user's repeat purchases saturate relative to how much
    that user buys at all (length norm). Items as documents, the orientation of implicit's
    examples, penalises best sellers and heavy users instead; on Online Retail that lost a
    quarter of the NDCG. After the last sweep the user factors are solved exactly once more
    against the final item factors, so a known user's factor is the very solve a folded-in
    visitor with the same history gets.

    implicit's ``regularization`` is absolute, so its best value grows with the history per
    user: on Online Retail (about 53 items per customer) and MovieLens 100K (about 71) the
    optimum is near λ = 30, α = 0.3, but on a sparse store (about 6 per user) that λ
    outweighs every history and flattens the ranking to popularity. So by default λ is set
    at fit time to ``regularization_per_item`` (0.5) x the mean stored items per user,
    unless ``regularization`` gives it.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 128,
        regularization: float | None = None,
        alpha: float = 0.3,
        iterations: int = 15,
        weighting: Weighting = "bm25",
        bm25_k1: float = 100.0,
        bm25_b: float = 0.8,
        random_state: int = 0,
        num_threads: int = 0,
        regularization_per_item: float = 0.5,
    ) -> None:
        super().__init__()
        self._configure(
            factors=factors,
            regularization=regularization,
            regularization_per_item=regularization_per_item,
            alpha=alpha,
            iterations=iterations,
            weighting=weighting,
            bm25_k1=bm25_k1,
            bm25_b=bm25_b,
            random_state=random_state,
            num_threads=num_threads,
        )
        # BM25 statistics of the training users, to weigh a folded-in history alike.
        self.item_idf_: Floats = np.zeros(0)
        self.mean_length_ = 0.0
        self._gram: Floats | None = None

    def _configure(
        self,
        factors: int,
        regularization: float | None,
        alpha: float,
        iterations: int,
        weighting: Weighting,
        bm25_k1: float,
        bm25_b: float,
        random_state: int,
        num_threads: int,
        regularization_per_item: float = 0.5,
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValidationFailed(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
        # A positive regularisation keeps every solve well posed, even for a user whose items
        # nobody else touched.
        for label, value in (
            ("factors", factors),
            ("iterations", iterations),
            ("alpha", alpha),
            ("regularization_per_item", regularization_per_item),
        ):
            _positive(label, value)
        if regularization is not None:
            _positive("regularization", regularization)
        self.factors = int(factors)
        self.regularization = None if regularization is None else float(regularization)
        self.regularization_per_item = float(regularization_per_item)
        self.regularization_ = self.regularization or 0.0  # the λ in force, set by fit
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.weighting: Weighting = weighting
        self.bm25_k1 = float(bm25_k1)
        self.bm25_b = float(bm25_b)
        self.random_state = int(random_state)
        self.num_threads = int(num_threads)

    # -- confidence ---------------------------------------------------------------------

    def _weigh_fit(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """The confidence matrix (before ``alpha``) the factors are fitted on."""
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
        if self.weighting == "none":
            self.item_idf_, self.mean_length_ = np.zeros(0), 0.0
            return matrix
        users_per_item = np.bincount(matrix.indices, minlength=matrix.shape[1])
        self.item_idf_ = np.log(matrix.shape[0]) - np.log1p(users_per_item)
        self.mean_length_ = float(matrix.sum() / max(matrix.shape[0], 1))
        return sp.csr_matrix(bm25_weight(matrix, K1=self.bm25_k1, B=self.bm25_b).tocsr())

    def _weigh_rows(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """``_weigh_fit`` for history rows of users outside the training matrix: the item
        idf and the mean history length come from training, the length from the row."""
        rows = sp.csr_matrix(rows, dtype=np.float64, copy=True)
        rows.sum_duplicates()
        rows.eliminate_zeros()
        if self.weighting == "none":
            return rows
        lengths = np.asarray(rows.sum(axis=1)).ravel()
        norm = (1.0 - self.bm25_b) + self.bm25_b * lengths / (self.mean_length_ or 1.0)
        user = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        x, k1 = rows.data, self.bm25_k1
        data = x * (k1 + 1.0) / (k1 * norm[user] + x) * self.item_idf_[rows.indices]
        return sp.csr_matrix((data, rows.indices, rows.indptr), shape=rows.shape)

    # -- learning -----------------------------------------------------------------------

    def _fit(self, data: Interactions) -> None:
        self._gram = None
        # λ in proportion to the history per user unless given: the data term of each user's
        # solve grows with it, so a fixed λ is too weak on dense data and too strong on sparse.
        per_user = data.matrix.nnz / max(data.n_users, 1)
        self.regularization_ = self.regularization or max(
            self.regularization_per_item * per_user, 1e-3
        )
        if data.matrix.nnz == 0:  # nothing to learn from: every score 0
            self.item_idf_, self.mean_length_ = np.zeros(data.n_items), 0.0
            self.user_factors_ = np.zeros((data.n_users, self.factors), dtype=np.float32)
            self.item_factors_ = np.zeros((data.n_items, self.factors), dtype=np.float32)
            return
        confidence = self._weigh_fit(data.matrix).astype(np.float32)
        with _one_blas_thread():
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization_,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.num_threads,
                random_state=self.random_state,
            )
            model.fit(confidence, show_progress=False)
            users = np.arange(data.n_users)
            user_factors = model.recalculate_user(users, confidence)
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _fold_in(self, rows: sp.csr_matrix) -> F32:
        """x_u = (YᵀY + λI + Yᵀ(C_u − I)Y)⁻¹ YᵀC_u p_u, batched over users with numpy.

        Only the history items enter the correction term, so each user's system is built
        from its own padded block of item factors; users go in chunks of similar history
        length, so one long history does not pad a whole batch."""
        conf = sp.csr_matrix(self._weigh_rows(rows) * self.alpha)
        y = self.item_factors_
        n_factors = y.shape[1]
        if self._gram is None:  # YᵀY + λI: the same for every visitor
            with _one_blas_thread():
                y64 = y.astype(np.float64)
                self._gram = y64.T @ y64 + self.regularization_ * np.eye(n_factors)
        base = self._gram
        out = np.zeros((conf.shape[0], n_factors), dtype=np.float32)
        order = np.argsort(np.diff(conf.indptr), kind="stable")
        cells = np.maximum(np.diff(conf.indptr)[order], 1) * max(n_factors, 1)
        start = 0
        while start < len(order):
            # Sorted lengths: the chunk's padded size grows with its end, so take the prefix
            # that fits the block (at least one user).
            sizes = np.arange(1, len(order) - start + 1) * cells[start:]
            end = start + max(1, int(np.searchsorted(sizes, FOLD_IN_BLOCK, side="right")))
            chunk = order[start:end]
            with _one_blas_thread():
                out[chunk] = self._solve(sp.csr_matrix(conf[chunk]), y, base)
            start = end
        return out

    @staticmethod
    def _solve(conf: sp.csr_matrix, y: F32, base: Floats) -> F32:
        counts = np.diff(conf.indptr)
        n_users, n_factors = conf.shape[0], y.shape[1]
        width = max(int(counts.max(initial=0)), 1)
        row = np.repeat(np.arange(n_users), counts)
        slot = np.arange(conf.nnz) - np.repeat(conf.indptr[:-1], counts)
        padded = np.zeros((n_users, width, n_factors))
        padded[row, slot] = y[conf.indices]
        c = conf.data
        # implicit's convention: a negative confidence is a dislike (p = 0, |c| confidence).
        w_a = np.zeros((n_users, width))
        w_a[row, slot] = np.abs(c) - 1.0
        w_b = np.zeros((n_users, width))
        w_b[row, slot] = np.maximum(c, 0.0)
        a = base + np.matmul((padded * w_a[..., None]).transpose(0, 2, 1), padded)
        b = np.einsum("ulf,ul->uf", padded, w_b)
        solved: Floats = np.linalg.solve(a, b[..., None])[..., 0]
        return solved.astype(np.float32)

    # -- persistence --------------------------------------------------------------------

    def _state(self) -> State:
        return {
            **self._factor_state(),
            "item_idf": self.item_idf_,
            "mean_length": self.mean_length_,
            "regularization_in_force": self.regularization_,
            "params": self._params(),
        }

    def _params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "regularization_per_item": self.regularization_per_item,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "weighting": self.weighting,
            "bm25_k1": self.bm25_k1,
            "bm25_b": self.bm25_b,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    def _restore(self, state: State) -> None:
        self._configure(**state["params"])
        self._restore_factors(state)
        self.item_idf_ = np.asarray(state["item_idf"], dtype=np.float64)
        self.mean_length_ = float(state["mean_length"])
        self.regularization_ = float(state["regularization_in_force"])
        self._gram = None


class BPR(_Factors):
    """Bayesian Personalised Ranking (Rendle et al. 2009) by SGD on sampled triples.

    implicit's BPR reads the matrix as binary (any interaction is a positive; negatives
    are drawn in proportion to popularity), so event weights do not enter the fit; they
    weigh the history items when a visitor is folded in. The last factor column is the
    item bias (users carry a constant 1 there). Fitted on one thread: SGD threads race on
    shared factors, and a seeded fit must give the same model twice. The defaults won the
    Online Retail validation cut; more epochs or a larger ``learning_rate`` overfit there.
    """

    name = "bpr"

    def __init__(
        self,
        factors: int = 128,
        learning_rate: float = 0.01,
        regularization: float = 0.0001,
        iterations: int = 100,
        random_state: int = 0,
    ) -> None:
        super().__init__()
        self._configure(
            factors=factors,
            learning_rate=learning_rate,
            regularization=regularization,
            iterations=iterations,
            random_state=random_state,
        )

    def _configure(
        self,
        factors: int,
        learning_rate: float,
        regularization: float,
        iterations: int,
        random_state: int,
    ) -> None:
        for label, value in (
            ("factors", factors),
            ("iterations", iterations),
            ("learning_rate", learning_rate),
        ):
            _positive(label, value)
        if regularization < 0:
            raise ValidationFailed(f"regularization must be >= 0, not {regularization!r}")
        self.factors = int(factors)
        self.learning_rate = float(learning_rate)
        self.regularization = float(regularization)
        self.iterations = int(iterations)
        self.random_state = int(random_state)

    def _fit(self, data: Interactions) -> None:
        matrix = sp.csr_matrix(data.matrix, dtype=np.float32)
        matrix.eliminate_zeros()
        if matrix.nnz == 0:  # nothing to learn from: every score 0
            self.user_factors_ = np.zeros((data.n_users, self.factors + 1), dtype=np.float32)
            self.item_factors_ = np.zeros((data.n_items, self.factors + 1), dtype=np.float32)
            return
        with _one_blas_thread():
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                num_threads=1,
                random_state=self.random_state,
            )
            model.fit(matrix, show_progress=False)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _fold_in(self, rows: sp.csr_matrix) -> F32:
        """Weighted mean of the history items' factors, bias column 1; an empty history
        leaves only the item biases, a popularity ranking."""
        rows = sp.csr_matrix(rows, dtype=np.float64)
        totals = np.asarray(rows.sum(axis=1)).ravel()
        scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        mean = sp.diags(scale) @ rows @ self.item_factors_[:, :-1].astype(np.float64)
        out = np.ones((rows.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        out[:, :-1] = mean
        return out

    def _state(self) -> State:
        return {
            **self._factor_state(),
            "params": {
                "factors": self.factors,
                "learning_rate": self.learning_rate,
                "regularization": self.regularization,
                "iterations": self.iterations,
                "random_state": self.random_state,
            },
        }

    def _restore(self, state: State) -> None:
        self._configure(**state["params"])
        self._restore_factors(state)


__all__ = ["ALS", "BPR", "WEIGHTINGS"]

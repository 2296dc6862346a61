"""Fit each model on a split's training data, rank for every evaluated user, score the lists.

Two variants answer two questions. ``all``: what will the customer buy next, reorders
included (when the split's protocol has repeats; otherwise train items are filtered, as in
RecBole). ``new_items``: what will the customer discover: each user's train items are
filtered from the ranking and removed from its relevance, and users left with nothing
relevant are not evaluated. A model is fitted once and serves both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shopsense.errors import ShopsenseError
from shopsense.progress import NULL, Reporter
from shopsense.recommend.base import Recommender
from shopsense.recommend.evaluation.datasets import Split
from shopsense.recommend.evaluation.metrics import (
    ACCURACY,
    Bootstrap,
    coverage,
    hits,
    novelty,
    paired_bootstrap,
    per_user,
    self_information,
)
from shopsense.recommend.models import MODELS

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
ModelFactory = Callable[[], Recommender]

VARIANTS = ("all", "new_items")
BATCH_USERS = 1_000  # users per recommend call: a dense batch x items score block each


def default_models() -> dict[str, ModelFactory]:
    """Every registered model with its default parameters, in registry order."""
    return dict(MODELS)


def choose_models(names: str | Iterable[str] | None) -> dict[str, ModelFactory]:
    """The registered models named (comma-separated or a list); None: all of them."""
    registry = default_models()
    if names is None:
        return registry
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    wanted = [n for n in wanted if n]
    unknown = [n for n in wanted if n not in registry]
    if unknown or not wanted:
        raise ShopsenseError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}: "
            f"choose from {', '.join(registry)}"
        )
    return {n: registry[n] for n in wanted}


def _for_protocol(factory: Callable[[], Recommender], protocol: str) -> Recommender:
    """A registered model configured for the split's protocol (the hybrid holds out at
    random on a random split), any other factory called as it is."""
    configure = getattr(factory, "for_protocol", None)
    model = configure(protocol) if configure is not None else factory()
    if not isinstance(model, Recommender):
        raise ShopsenseError(f"{factory!r} did not make a recommender")
    return model


@dataclass(frozen=True)
class ModelScores:
    """One model on one variant: mean metrics, and NDCG per evaluated user (in the order of
    ``users``, the same for every model of the variant) for paired comparisons."""

    metrics: dict[str, float]
    ndcg: Floats
    users: Ints
    fit_seconds: float
    score_seconds: float


@dataclass(frozen=True)
class Evaluation:
    """Every model on every variant of one split."""

    dataset: str
    split: str
    k: int
    variants: dict[str, dict[str, ModelScores]]

    def to_json(self) -> dict[str, Any]:
        """``{"dataset", "split", "k", "variants": {variant: {model: {metric@k, ...}}}}``,
        plus ``"hybrid"`` (``hybrid_summary``) when the hybrid was evaluated."""
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "split": self.split,
            "k": self.k,
            "variants": {
                variant: {name: self._row(s) for name, s in models.items()}
                for variant, models in self.variants.items()
            },
        }
        summary = self.hybrid_summary()
        if summary:
            out["hybrid"] = summary
        return out

    def hybrid_summary(self, model: str = "hybrid") -> dict[str, dict[str, Any]]:
        """Per variant: the hybrid against the best other model by NDCG — the ratio of the
        means and the paired-bootstrap 95 % interval of the per-user difference."""
        summary: dict[str, dict[str, Any]] = {}
        for variant, models in self.variants.items():
            others = {n: s for n, s in models.items() if n != model}
            if model not in models or not others:
                continue
            best = max(others, key=lambda n: others[n].metrics["ndcg"])
            ours, theirs = models[model].metrics["ndcg"], others[best].metrics["ndcg"]
            diff = self.compare(variant, model, best)
            summary[variant] = {
                "baseline": best,
                f"ndcg@{self.k}": round(ours, 4),
                f"baseline_ndcg@{self.k}": round(theirs, 4),
                "ratio": round(ours / theirs, 4) if theirs > 0 else None,
                "difference": round(diff.mean, 4),
                "ci95": [round(diff.low, 4), round(diff.high, 4)],
            }
        return summary

    def _row(self, scores: ModelScores) -> dict[str, float | int]:
        m = scores.metrics
        row: dict[str, float | int] = {f"{key}@{self.k}": m[key] for key in ACCURACY}
        row["coverage"] = m["coverage"]
        row["novelty"] = m["novelty"]
        row["fit_seconds"] = round(scores.fit_seconds, 3)
        row["users"] = len(scores.users)
        return row

    def compare(self, variant: str, a: str, b: str, n: int = 2000, seed: int = 0) -> Bootstrap:
        """Paired bootstrap of model ``a``'s NDCG minus model ``b``'s on ``variant``."""
        models = self.variants[variant]
        return paired_bootstrap(models[a].ndcg, models[b].ndcg, n=n, seed=seed)


@dataclass(frozen=True)
class _Target:
    relevance: sp.csr_matrix  # users x items over the training index
    users: Ints  # rows with something relevant
    filter_seen: bool


def _targets(split: Split, variants: Iterable[str]) -> dict[str, _Target]:
    test = sp.csr_matrix(split.test, dtype=np.float64)
    test.eliminate_zeros()
    seen = sp.csr_matrix(split.train.matrix != 0, dtype=np.float64)
    targets: dict[str, _Target] = {}
    for variant in variants:
        if variant == "all":
            rel, filter_seen = test, not split.repeats
        elif variant == "new_items":
            rel = sp.csr_matrix(test - test.multiply(seen))
            rel.eliminate_zeros()
            filter_seen = True
        else:
            raise ShopsenseError(f"unknown variant {variant!r}: choose from {', '.join(VARIANTS)}")
        users = np.flatnonzero(np.diff(rel.indptr) > 0).astype(np.int64)
        targets[variant] = _Target(rel, users, filter_seen)
    return targets


def _drop_excluded(ids: Ints, excluded: sp.csr_matrix) -> Ints:
    """Remove each row's excluded items, closing the gaps (order kept, -1 at the end)."""
    gone = hits(ids, excluded) | (ids < 0)
    order = np.argsort(gone, axis=1, kind="stable")
    kept = np.take_along_axis(np.where(gone, -1, ids), order, axis=1)
    return kept.astype(np.int64)


def top_lists(
    model: Recommender,
    split: Split,
    users: Ints,
    k: int,
    *,
    filter_seen: bool,
    batch_size: int = BATCH_USERS,
    advance: Callable[[int], None] | None = None,
) -> Ints:
    """(len(users), k) item ids, best first, -1 padded: ``recommend`` in batches of users,
    each with its training history, less the split's exclusions."""
    train = split.train
    out = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        excluded = split.exclude[batch] if split.exclude is not None else None
        extra = int(np.diff(excluded.indptr).max(initial=0)) if excluded is not None else 0
        n = min(k + extra, train.n_items)
        ids, _ = model.recommend(batch, train.user_items(batch), n=n, filter_seen=filter_seen)
        if excluded is not None and extra:
            ids = _drop_excluded(ids, excluded)
        width = min(k, ids.shape[1])
        out[start : start + len(batch), :width] = ids[:, :width]
        if advance is not None:
            advance(len(batch))
    return out


def _score(
    lists: Ints, target: _Target, information: Floats, n_items: int
) -> tuple[dict[str, float], Floats]:
    rel = sp.csr_matrix(target.relevance[target.users])
    by_user = per_user(lists, rel)
    listed = (lists >= 0).any(axis=1)
    novel = novelty(lists, information)
    metrics = {key: float(by_user[key].mean()) if len(lists) else 0.0 for key in ACCURACY}
    metrics["coverage"] = coverage(lists, n_items)
    metrics["novelty"] = float(novel[listed].mean()) if listed.any() else 0.0
    return metrics, by_user["ndcg"]


def evaluate(
    split: Split,
    models: Mapping[str, ModelFactory] | None = None,
    k: int = 10,
    variants: Iterable[str] = VARIANTS,
    *,
    batch_size: int = BATCH_USERS,
    reporter: Reporter = NULL,
) -> Evaluation:
    """Fit every model (``models``: name -> factory of an unfitted model; default: every
    registered model) on ``split.train`` and score its top ``k`` on each variant."""
    if k < 1:
        raise ShopsenseError(f"k must be at least 1, not {k}")
    targets = _targets(split, variants)
    factories = default_models() if models is None else dict(models)
    train = split.train
    information = self_information(train.matrix)
    # Variants that filter alike share one ranking: a user is ranked once per filter setting.
    ranked = {
        flag: np.unique(
            np.concatenate([t.users for t in targets.values() if t.filter_seen == flag])
        )
        for flag in {t.filter_seen for t in targets.values()}
    }
    results: dict[str, dict[str, ModelScores]] = {v: {} for v in targets}
    for name, factory in factories.items():
        fitting = reporter.task(f"{name}: fit", total=1)
        started = time.perf_counter()
        model = _for_protocol(factory, split.protocol).fit(train)
        fit_seconds = time.perf_counter() - started
        fitting.advance(1)
        scoring = reporter.task(f"{name}: rank", total=sum(len(u) for u in ranked.values()))
        started = time.perf_counter()
        lists = {
            flag: top_lists(
                model, split, users, k, filter_seen=flag, batch_size=batch_size,
                advance=scoring.advance,
            )
            for flag, users in ranked.items()
        }  # fmt: skip
        score_seconds = time.perf_counter() - started
        for variant, target in targets.items():
            users = ranked[target.filter_seen]
            rows = np.searchsorted(users, target.users)
            metrics, ndcg = _score(
                lists[target.filter_seen][rows], target, information, train.n_items
            )
            results[variant][name] = ModelScores(
                metrics, ndcg, target.users, fit_seconds, score_seconds
            )
    return Evaluation(split.dataset, split.label, k, results)


__all__ = [
    "BATCH_USERS",
    "VARIANTS",
    "Evaluation",
    "ModelFactory",
    "ModelScores",
    "choose_models",
    "default_models",
    "evaluate",
    "top_lists",
]

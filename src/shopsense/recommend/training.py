"""Training: every registered recommender fitted on the shop's data, saved as one version.

A model the data does not support (it raises ``ShopsenseError``, e.g. EASE over its item
limit) is skipped and the reason recorded in the version's metadata; the others still
ship. ``Retrainer`` runs this on a schedule inside the server; the server's loader picks up
the new version by itself, as it does for one made by ``shopsense train`` in any process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Connection, select

from shopsense.clock import utcnow
from shopsense.db.models import profiles_table
from shopsense.db.session import Database
from shopsense.errors import ShopsenseError
from shopsense.progress import NULL, Reporter
from shopsense.recommend.artifacts import Floats, prune, purchase_counts, save_version
from shopsense.recommend.base import Recommender
from shopsense.recommend.complements import BoughtTogether
from shopsense.recommend.data import load_interactions
from shopsense.recommend.interactions import Interactions
from shopsense.settings import Settings

log = logging.getLogger("shopsense.recommend")

# Fitted with every training beside the registered models: serving's complements.
SERVING_MODELS: dict[str, type[Recommender]] = {BoughtTogether.name: BoughtTogether}


class NothingToTrain(ShopsenseError):
    status = 409
    title = "Nothing to train on"


def registry() -> dict[str, type[Recommender]]:
    """Every model a version may hold, by name (read at call time: models register late)."""
    from shopsense.recommend.models import MODELS

    return {**MODELS, **SERVING_MODELS}


def segment_popularity(conn: Connection, data: Interactions) -> dict[str, Floats]:
    """Purchases per item within each value segment of the stored profiles, when those
    profiles are no newer than the data (a later rebuild would leak the future)."""
    rows = conn.execute(
        select(profiles_table.c.user_id, profiles_table.c.value_segment).where(
            profiles_table.c.value_segment.is_not(None), profiles_table.c.as_of <= data.as_of
        )
    ).all()
    if not rows:
        return {}
    names = sorted({r.value_segment for r in rows})
    code = {name: k for k, name in enumerate(names)}
    users = np.asarray([data.user_index(r.user_id) for r in rows], dtype=np.int64)
    segs = np.asarray([code[r.value_segment] for r in rows], dtype=np.int64)
    known = users >= 0
    member = sp.csr_matrix(
        (np.ones(int(known.sum())), (segs[known], users[known])), shape=(len(names), data.n_users)
    )
    counts = np.asarray((member @ purchase_counts(data)).toarray(), dtype=np.float64)
    return {name: counts[k] for name, k in code.items() if counts[k].any()}


def train(
    db: Database,
    settings: Settings,
    as_of: datetime | None = None,
    reporter: Reporter = NULL,
    *,
    models: Mapping[str, type[Recommender]] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Fit every model on the interactions up to ``as_of`` (default now) and save them as a
    new version under ``settings.models_dir``; answers the version's folder. ``metrics``
    (an evaluation, if one was run) are stored in the metadata as given."""
    started = time.perf_counter()
    as_of = as_of or utcnow()
    loading = reporter.task("train: load interactions", total=1)
    with db.read() as conn:
        data = load_interactions(conn, as_of)
        segments = segment_popularity(conn, data)
    loading.advance()
    if data.events.is_empty() or data.n_items == 0:
        raise NothingToTrain(
            f"no product views, carts or purchases up to {as_of:%Y-%m-%d %H:%M}; "
            "track or import some first"
        )
    fitted: dict[str, Recommender] = {}
    described: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for name, cls in (models or registry()).items():
        task = reporter.task(f"train: {name}", total=1)
        t0 = time.perf_counter()
        try:
            fitted[name] = cls().fit(data)
        except ShopsenseError as exc:
            skipped[name] = exc.detail
            log.warning("model %s skipped: %s", name, exc.detail)
        else:
            described[name] = {"fit_seconds": round(time.perf_counter() - t0, 3)}
        task.advance()
    saving = reporter.task("train: save", total=1)
    metadata: dict[str, Any] = {
        "trained_at": utcnow().isoformat(),
        "models": described,
        "skipped": skipped,
        "segments": sorted(segments),
        "metrics": metrics,
    }
    metadata["seconds"] = round(time.perf_counter() - started, 3)
    path = save_version(settings.models_dir, data, fitted, metadata=metadata, segments=segments)
    prune(settings.models_dir, settings.models_keep)
    saving.advance()
    log.info("trained %s: %s", path.name, ", ".join(fitted))
    return path


class Retrainer:
    """Retrains every ``settings.retrain_interval_minutes`` in a daemon thread (at once when
    there is no version yet). A failed training is logged and the current version kept."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        on_trained: Callable[[Path], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.on_trained = on_trained
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval_seconds(self) -> float:
        return self.settings.retrain_interval_minutes * 60.0

    def start(self) -> None:
        if self.interval_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="shopsense-retrain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to end; a training under way finishes on its own (daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from shopsense.recommend.artifacts import newest

        if newest(self.settings.models_dir) is None:
            self.run_once()
        while not self._stop.wait(self.interval_seconds):
            self.run_once()

    def run_once(self) -> Path | None:
        try:
            path = train(self.db, self.settings)
        except Exception:  # a background job: log it, keep serving the version in memory
            log.exception("scheduled training failed")
            return None
        if self.on_trained is not None:
            self.on_trained(path)
        return path


__all__ = [
    "SERVING_MODELS",
    "NothingToTrain",
    "Retrainer",
    "registry",
    "segment_popularity",
    "train",
]

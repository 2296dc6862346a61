"""Which variant of a running experiment a recommendation request is in, and the strategy
that variant asks for. The running experiments are re-read at most every ``check_seconds``
(one primary-key-sized query), so creating or stopping one takes effect within seconds in
every server process."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from shopsense.db.session import Database
from shopsense.experiments.registry import HOLDOUT_STRATEGY, running
from shopsense.experiments.stats import HOLDOUT, assign


@dataclass(frozen=True)
class Arm:
    experiment: str
    variant: str
    strategy: str


class ExperimentRouter:
    """Routes a unit (user id, else anonymous id, else session id) to the newest running
    experiment that takes it: the holdout share gets popularity only, the rest the strategy
    of the variant their hash falls in; outside ``traffic``, the next experiment or none."""

    def __init__(self, db: Database, *, check_seconds: float = 5.0) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._experiments: list[dict[str, Any]] = []
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def expire(self) -> None:
        self._checked_at = -math.inf

    def _running(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._checked_at >= self.check_seconds:
            with self._lock:
                if time.monotonic() - self._checked_at >= self.check_seconds:
                    with self.db.read() as conn:
                        self._experiments = running(conn)
                    self._checked_at = time.monotonic()
        return self._experiments

    def arm(self, unit: str | None) -> Arm | None:
        if not unit:
            return None
        for experiment in self._running():
            variants = experiment["variants"]
            chosen = assign(
                experiment["name"],
                unit,
                [(v["name"], float(v["weight"])) for v in variants],
                traffic=float(experiment["traffic"]),
                holdout=float(experiment["holdout"]),
            )
            if chosen is None:
                continue
            if chosen == HOLDOUT:
                return Arm(experiment["name"], HOLDOUT, HOLDOUT_STRATEGY)
            strategy = next(v["strategy"] for v in variants if v["name"] == chosen)
            return Arm(experiment["name"], chosen, strategy)
        return None


__all__ = ["Arm", "ExperimentRouter"]

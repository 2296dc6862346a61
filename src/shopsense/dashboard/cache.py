"""The dashboard's answer cache: a page's figures are computed once and served from memory
while they are fresh, so a dashboard request costs one cheap version query and a dictionary
look-up instead of the attribution and profit engines' full passes over the events.

What is cached
    The whole answer of a page (recommendation or profit analytics) per database, settings,
    page and period. A period ending at the request's ``now`` (no ``to`` given) is *rolling*:
    its entry is shared by every request for the same start (or, without ``from``, the same
    length) and holds the figures of the period as it was when they were computed; the answer
    states that period (``period``, ``previous``) and ``computed_at``.

Freshness
    An entry is fresh while it is younger than ``SHOPSENSE_DASHBOARD_CACHE_SECONDS`` (300 s by
    default) and the data version it was computed at is still current. The **data version**
    is one query of indexed maxima and tiny-table counts per page (the newest event id, the
    newest logged recommendation and bundle offer, the experiments, the catalog's and the
    marketing spend's last update, the last profiles rebuild and bundle mining run), so new
    events, answers, offers, experiments, catalog or spend changes, rebuilt profiles and
    mined bundles are seen at the next request.
    Changes that leave every one of those as it was (an erasure that does not touch the
    newest event, say) are seen when the TTL runs out.

Staleness
    A stale entry is still served, flagged ``"stale": true`` with its ``computed_at``, while
    one recomputation per entry runs in the background; a data change starts that
    recomputation at most once per ``SHOPSENSE_DASHBOARD_REFRESH_SECONDS`` (30 s) per entry,
    so a steady stream of events does not keep the server recomputing. An entry older than
    twice the TTL is never served: the request waits for the new figures. The first request
    for a page and period computes them while it waits (concurrent requests for the same
    entry share that one computation). A TTL of 0 turns the cache off: every request
    computes its figures.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from sqlalchemy import func, select

from shopsense.dashboard.period import DEFAULT_DAYS, Period
from shopsense.db.models import activity_table as A
from shopsense.db.models import bundle_recommendation_table as B
from shopsense.db.models import experiment_table as E
from shopsense.db.models import mining_run_table as M
from shopsense.db.models import model_state_table as S
from shopsense.db.models import products_table as P
from shopsense.db.models import recommendation_log_table as L
from shopsense.db.models import spend_table as SP
from shopsense.db.session import Database
from shopsense.profiles.engine import STATE_NAME as PROFILES_STATE
from shopsense.settings import Settings

MAX_ENTRIES = 64  # least recently used entries beyond this are dropped

Compute = Callable[[Period, datetime], dict[str, Any]]
PageCompute = Callable[[Database, Period, datetime, Settings], dict[str, Any]]

_VERSION_PARTS: dict[str, Any] = {
    "events": select(func.max(A.c.id)),
    "answers": select(func.max(L.c.created_at)),
    "offers": select(func.max(B.c.created_at)),
    "experiments": select(func.count(E.c.name), func.max(E.c.started_at), func.max(E.c.stopped_at)),
    "catalog": select(func.count(P.c.product_id), func.max(P.c.updated_at)),
    "spend": select(func.count(SP.c.id), func.max(SP.c.updated_at), func.sum(SP.c.amount)),
    "profiles": select(func.max(S.c.fitted_at)).where(S.c.name == PROFILES_STATE),
    "mining": select(func.max(M.c.mined_at)),
}


def data_version(db: Database, parts: tuple[str, ...]) -> tuple[Any, ...]:
    """The cheap fingerprint of the data a page reads: one statement of scalar subqueries
    over indexed maxima and small tables (``parts`` names them, see ``_VERSION_PARTS``)."""
    columns: list[Any] = []
    for name in parts:
        stmt = _VERSION_PARTS[name]
        columns.extend(stmt.with_only_columns(c).scalar_subquery() for c in stmt.selected_columns)
    with db.read() as conn:
        row = conn.execute(select(*columns)).one()
    return tuple(row)


@dataclass
class _Entry:
    answer: dict[str, Any] | None = None
    version: tuple[Any, ...] | None = None
    computed: float = 0.0  # time.monotonic() when the answer was computed
    running: Future[None] | None = None  # the computation under way, if any
    error: BaseException | None = None


@dataclass
class DashboardCache:
    """Answers per (database, settings, page, period) with their data version and age."""

    entries: OrderedDict[tuple[Any, ...], _Entry] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self,
        page: str,
        db: Database,
        period: Period,
        now: datetime,
        settings: Settings,
        compute: Compute,
        version_parts: tuple[str, ...],
    ) -> dict[str, Any]:
        """The page's answer for ``period`` as of ``now``: cached while fresh (see the module
        docstring), with ``computed_at`` and ``stale`` added."""
        ttl = settings.dashboard_cache_seconds

        def run() -> dict[str, Any]:
            return {**compute(period, now), "computed_at": now}

        if ttl <= 0:
            return {**run(), "stale": False}
        key = (db.url, _settings_key(settings), page, _period_key(period, now))
        version = data_version(db, version_parts)
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                entry = self.entries[key] = _Entry()
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)
            age = time.monotonic() - entry.computed
            changed = entry.version != version
            cached = entry.answer if age < 2 * ttl else None
            if cached is not None and not changed and age < ttl:
                return {**cached, "stale": False}
            due = age >= ttl or (changed and age >= settings.dashboard_refresh_seconds)
            mine: Future[None] | None = None
            if entry.running is None and (cached is None or due):
                mine = entry.running = Future()
                mine.set_running_or_notify_cancel()
            waiting = entry.running
        if cached is not None:  # stale: served while a fresh answer is computed
            if mine is not None:
                threading.Thread(
                    target=self._fill, args=(entry, mine, run, version), daemon=True,
                    name="dashboard-refresh",
                ).start()  # fmt: skip
            return {**cached, "stale": True}
        if mine is not None:
            self._fill(entry, mine, run, version)
        if waiting is not None:
            waiting.result()  # raises what the computation raised
        with self.lock:
            if entry.answer is None:
                raise RuntimeError("the dashboard figures could not be computed")
            return {**entry.answer, "stale": False}

    def page(
        self,
        page: str,
        version_parts: tuple[str, ...],
        compute: PageCompute,
        db: Database,
        period: Period,
        now: datetime,
        settings: Settings,
    ) -> dict[str, Any]:
        """The answer of a page whose figures are ``compute(db, period, now, settings)``,
        cached as ``get`` caches them."""

        def run(p: Period, at: datetime) -> dict[str, Any]:
            return compute(db, p, at, settings)

        return self.get(page, db, period, now, settings, run, version_parts)

    def _fill(
        self,
        entry: _Entry,
        done: Future[None],
        run: Callable[[], dict[str, Any]],
        version: tuple[Any, ...],
    ) -> None:
        """Compute the answer into ``entry`` and settle ``done`` (waiting requests read the
        entry, or get the error)."""
        try:
            answer = run()
        except Exception as exc:
            with self.lock:
                entry.error, entry.running = exc, None
            done.set_exception(exc)
            return
        with self.lock:
            entry.answer, entry.version, entry.error = answer, version, None
            entry.computed, entry.running = time.monotonic(), None
        done.set_result(None)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the computations under way (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                running = [e.running for e in self.entries.values() if e.running is not None]
            if not running:
                return
            for future in running:
                future.exception(timeout=max(0.0, deadline - time.monotonic()))

    def clear(self) -> None:
        """Forget every answer (computations under way still finish into their entries)."""
        with self.lock:
            self.entries.clear()


def _period_key(period: Period, now: datetime) -> tuple[Any, ...]:
    """A period ending at ``now`` (no ``to``) is rolling: keyed by its length when its start
    is the default, else by its start; any other period by its bounds."""
    if period.end != now:
        return ("fixed", period.start, period.end)
    if period.length == timedelta(days=DEFAULT_DAYS):
        return ("last", period.length)
    return ("since", period.start)


def _settings_key(settings: Settings) -> str:
    return sha256(settings.model_dump_json().encode()).hexdigest()


CACHE = DashboardCache()
"""The process's dashboard cache."""

__all__ = ["CACHE", "DashboardCache", "data_version"]

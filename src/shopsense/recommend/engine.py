"""PersonalizationEngine: the recommendation endpoint's logic, over the newest trained models.

Serving holds one loaded model version in memory and swaps in a newer one when a training
(``shopsense train`` or the scheduled retrainer, in any process) publishes it: the folder
listing is checked at most every ``check_seconds``. Nothing is trained per request; what is
real-time comes from the database in a few statements a request: the shopper's recent
events (one query), their segment (one primary-key read, only with a ``user_id``), whether
a ``product_id`` the models do not know exists (one primary-key read, only then) and the
log row (one INSERT, committed without waiting for the disk: see ``log_transaction``).
Product facts that change between trainings (price, stock, active)
are re-read, set-based, when the products table changes.

A request becomes a *plan*: a strategy and its components (a model scoring the shopper, or
a model's neighbours of some anchor items, or a popularity list), fused by reciprocal rank
(each component adds ``weight / (RRF_K + rank)``). Business rules are one boolean mask over
the catalog, applied to every component; then the objective weights the relevance, MMR
spreads the list over categories, and short lists are filled from popularity. Each item's
reason is the component that contributed most to it.

Without any trained version the engine answers 503 ``No trained model`` rather than
guessing: run ``shopsense train`` (``shopsense demo`` does), or set
``SHOPSENSE_RETRAIN_INTERVAL_MINUTES`` so the server trains at start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from sqlalchemy import Connection, Select, and_, bindparam, func, or_, select

from shopsense.catalog.codes import label_codes
from shopsense.clock import utcnow
from shopsense.db.models import activity_table as A
from shopsense.db.models import products_table as P
from shopsense.db.models import profiles_table, recommendation_log_table
from shopsense.db.session import Database, log_transaction
from shopsense.errors import NotFound, ServiceUnavailable
from shopsense.experiments.routing import Arm, ExperimentRouter
from shopsense.recommend.artifacts import ModelSet, load_version, newest
from shopsense.recommend.base import top_n
from shopsense.recommend.data import EVENT_KINDS
from shopsense.recommend.interactions import ITEM_SCHEMA, KIND_WEIGHTS
from shopsense.recommend.request import RecommendationRequest, logged_request
from shopsense.recommend.training import registry
from shopsense.settings import Settings

log = logging.getLogger("shopsense.recommend")

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

CHECK_SECONDS = 5.0
RRF_K = 10  # small: relevance falls clearly with rank, so objectives do not drown it
POOL = 100  # candidates asked of each component, at least
MAX_POOL = 5_000
HISTORY_EVENTS = 200  # recent events read for a shopper
HISTORY_ANCHORS = 5  # recent items whose neighbours a session user gets
MAX_ANCHORS = 20  # page items (product, cart) whose neighbours are asked for
EXPLAIN_ITEMS = 10  # recent items a "because you viewed" may name
MMR_POOL = 5  # MMR picks among limit x this many of the best candidates
MMR_SAME_DEPARTMENT = 0.5  # similarity of two categories sharing only the first level
LIVE_TYPES = (*EVENT_KINDS, "purchase")
CART_WEIGHT = KIND_WEIGHTS["cart"]
VIEW_WEIGHT = KIND_WEIGHTS["view"]
BUY_WEIGHT = KIND_WEIGHTS["purchase"]

# Roles of the models by registered name; a personalised model of another name is blended
# as "personal" and explained like the item-based ones.
HYBRID = "hybrid"
REPEAT = "repeat"
POPULAR = "popular"
TRENDING = "trending"
CONTENT = "content"
COMPLEMENTS = "bought_together"
COLLABORATIVE = ("als", "bpr", "item_knn", "ease")
SIMILAR = (("item_knn", 1.0), ("content", 0.5))
SIMILAR_FALLBACK = ("ease", "als", "bpr")
SIGNED = ("als", "bpr", HYBRID)  # scores may be <= 0 and still rank; elsewhere 0 = no evidence
EXPLAINERS = ("item_knn", "content", COMPLEMENTS)
SEGMENT = "segment"  # the per-segment popularity of the version (not a model)
PERSONAL = "personal"  # reason resolved per item: buy_again, because_you_viewed, personalized


# What can change between trainings and is read live from the catalog.
LIVE_COLUMNS = ("item_id", "name", "category", "brand", "price", "cost", "stock", "active")


class NoTrainedModel(ServiceUnavailable):
    title = "No trained model"


# -- the catalog as served ----------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """Product facts by model column: what filters, objectives, diversity and answers read."""

    names: Objects
    category: Objects
    price: Floats  # NaN: unknown
    cost: Floats
    stock: Floats  # NaN: not tracked
    active: Bools
    category_key: pl.Series  # lower case, for prefix matching
    brand_key: Objects
    department: Ints  # code of the first category level, -1 none
    full_category: Ints  # code of the whole path, -1 none

    @classmethod
    def from_frame(cls, items: pl.DataFrame) -> Catalog:
        """``items``: one row per model column, in column order (missing products: nulls)."""
        category = items["category"].fill_null("").str.strip_chars("/ ")
        key = category.str.to_lowercase()
        department = key.str.split("/").list.first().fill_null("")
        return cls(
            names=items["name"].fill_null("").to_numpy().astype(object),
            category=category.to_numpy().astype(object),
            price=items["price"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            cost=items["cost"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            stock=items["stock"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            active=items["active"].fill_null(False).to_numpy().astype(bool),
            category_key=key,
            brand_key=items["brand"].fill_null("").str.to_lowercase().to_numpy().astype(object),
            department=label_codes(department),
            full_category=label_codes(key),
        )

    def under(self, prefix: str) -> Bools:
        """Items whose category path starts with the path ``prefix`` (case-insensitive)."""
        p = prefix.strip().strip("/").lower()
        mask = (self.category_key == p) | self.category_key.str.starts_with(p + "/")
        return mask.to_numpy().astype(bool)


@dataclass(frozen=True)
class Serving:
    """What a request reads: the models and the catalog, swapped together."""

    models: ModelSet
    catalog: Catalog
    stamp: tuple[int, datetime | None] | None
    repurchased: Bools  # items some customer bought more than once


# -- the shopper and the plan -------------------------------------------------------------


@dataclass
class Shopper:
    """Who asks, as the models see them: a training row (-1: unknown) and a history row
    (training history, recent events, the cart and the product on the page)."""

    index: int
    row: sp.csr_matrix
    recent: list[int]  # item columns, most recent first
    bought: dict[int, int]  # item column -> purchase lines
    segment: str | None = None

    @property
    def has_history(self) -> bool:
        return bool(self.row.nnz)


@dataclass(frozen=True)
class Component:
    source: str  # a model name, or SEGMENT
    weight: float
    reason: str
    anchors: Ints | None = None  # None: the shopper is scored
    filter_seen: bool = False


@dataclass(frozen=True)
class Plan:
    strategy: str
    components: list[Component]


@dataclass
class Fused:
    """Fused relevance per item and, per item, the component and anchor that gave most."""

    score: Floats
    best: Floats
    component: Ints
    anchor: Ints
    components: list[Component] = field(default_factory=list)
    top: float = 0.0  # the best candidate's fused score: relevance 1

    @classmethod
    def empty(cls, n: int) -> Fused:
        return cls(np.zeros(n), np.zeros(n), np.full(n, -1), np.full(n, -1))

    def add(self, c: Component, items: Ints, contrib: Floats, anchors: Ints) -> None:
        if not len(items):
            return
        index = len(self.components)
        self.components.append(c)
        np.add.at(self.score, items, contrib)
        order = np.lexsort((contrib, items))  # by item, then contribution: the last one wins
        items, contrib, anchors = items[order], contrib[order], anchors[order]
        last = np.r_[items[1:] != items[:-1], True]
        items, contrib, anchors = items[last], contrib[last], anchors[last]
        better = contrib > self.best[items]
        chosen = items[better]
        self.best[chosen] = contrib[better]
        self.component[chosen] = index
        self.anchor[chosen] = anchors[better]


def _rrf(weight: float, n: int) -> Floats:
    return weight / (RRF_K + 1.0 + np.arange(n, dtype=np.float64))


# -- the engine ---------------------------------------------------------------------------


class PersonalizationEngine:
    """Recommendations from the newest trained version; plain Python, no web imports."""

    def __init__(
        self, db: Database, settings: Settings, *, check_seconds: float = CHECK_SECONDS
    ) -> None:
        self.db = db
        self.settings = settings
        self.check_seconds = check_seconds
        self._serving: Serving | None = None
        self._checked_at = -math.inf
        self._swap = threading.Lock()
        self._loading = threading.Lock()
        self._failed: set[str] = set()
        self.experiments = ExperimentRouter(db, check_seconds=check_seconds)

    # -- versions --------------------------------------------------------------------------

    def expire(self, *_: object) -> None:
        """Look for a new version (and catalog changes) on the next request."""
        self._checked_at = -math.inf

    def current(self) -> Serving:
        """The serving state, refreshed when the last check is older than ``check_seconds``.
        One thread refreshes; the others keep answering from the state they have."""
        serving = self._serving
        if serving is not None and time.monotonic() - self._checked_at < self.check_seconds:
            return serving
        if serving is not None and not self._loading.acquire(blocking=False):
            return serving
        if serving is None:
            self._loading.acquire()
        try:
            serving = self._serving
            if serving is None or time.monotonic() - self._checked_at >= self.check_seconds:
                refreshed = self._refresh(serving)
                with self._swap:
                    self._serving = refreshed
                    self._checked_at = time.monotonic()
                serving = refreshed
        finally:
            self._loading.release()
        if serving is None:
            raise NoTrainedModel(
                "no trained model; run `shopsense train` (or set "
                "SHOPSENSE_RETRAIN_INTERVAL_MINUTES so the server trains)"
            )
        return serving

    def _refresh(self, old: Serving | None) -> Serving | None:
        models = old.models if old is not None else None
        path = newest(self.settings.models_dir)
        if (
            path is not None
            and (models is None or path.name != models.version)
            and path.name not in self._failed
        ):
            try:
                models = load_version(path, registry())
                log.info("serving model version %s", path.name)
            except Exception:  # a bad version must not stop serving the good one in memory
                log.exception("model version %s could not be loaded", path.name)
                self._failed.add(path.name)
        if models is None:
            return None
        with self.db.read() as conn:
            count, changed = conn.execute(
                select(func.count(), func.max(P.c.updated_at)).select_from(P)
            ).one()
            stamp = (int(count), changed)
            if old is not None and old.models is models and old.stamp == stamp:
                return old
            catalog = _live_catalog(conn, models)
        repurchased = np.asarray((models.purchased >= 2).sum(axis=0)).ravel() > 0
        return Serving(models, catalog, stamp, repurchased)

    # -- answering -------------------------------------------------------------------------

    def recommend(self, request: RecommendationRequest) -> dict[str, Any]:
        """The contract's answer to ``request``, logged under its ``recommendation_id``."""
        serving = self.current()
        ms, catalog = serving.models, serving.catalog
        arm = None
        if request.strategy == "auto":  # an explicit strategy is the shop's own choice
            arm = self.experiments.arm(
                request.user_id or request.anonymous_id or request.session_id
            )
            if arm is not None:
                request = request.model_copy(update={"strategy": arm.strategy})
        with self.db.read() as conn:
            _check_product(conn, ms, request.product_id)
            shopper = _shopper(conn, ms, request)
        page = _page_anchors(ms, request)
        plan = _plan(ms, request, shopper, page)
        rebuy = None
        if request.exclude_purchased or any(c.source == REPEAT for c in plan.components):
            rebuy = _rebuy(ms, shopper, request, serving.repurchased)
        allowed = _allowed(catalog, ms, request, shopper, rebuy)
        fused = _run(ms, plan, shopper, allowed, request.limit, rebuy)
        picked, strategy = _select(catalog, fused, allowed, request), plan.strategy
        if not picked:
            strategy = POPULAR
        picked += _fill(ms, catalog, allowed, request, picked, fused)
        items = _present(ms, catalog, fused, shopper, picked)
        recommendation_id = f"rec_{uuid.uuid4().hex}"
        self._log(recommendation_id, request, strategy, ms.version, items, arm)
        return {
            "recommendation_id": recommendation_id,
            "strategy": strategy,
            "model_version": ms.version,
            "experiment": None if arm is None else {"name": arm.experiment, "variant": arm.variant},
            "items": items,
        }

    def _log(
        self,
        recommendation_id: str,
        request: RecommendationRequest,
        strategy: str,
        version: str,
        items: list[dict[str, Any]],
        arm: Arm | None = None,
    ) -> None:
        row = {
            "recommendation_id": recommendation_id,
            "user_id": request.user_id,
            "anonymous_id": request.anonymous_id,
            "session_id": request.session_id,
            "context": request.context,
            "strategy": strategy,
            "model_version": version,
            "experiment": None if arm is None else arm.experiment,
            "variant": None if arm is None else arm.variant,
            "request": logged_request(request),
            "items": [
                {
                    "product_id": i["product_id"],
                    "rank": i["rank"],
                    "score": i["score"],
                    "reason_kind": i["reason"]["kind"],
                }
                for i in items
            ],
            "created_at": utcnow(),
        }
        with log_transaction(self.db) as conn:
            conn.execute(_LOG, row)


# -- reading the database -----------------------------------------------------------------


def _live_catalog(conn: Connection, ms: ModelSet) -> Catalog:
    """The catalog by model column with today's names, prices, stock and active flags; items
    no longer in the products table are inactive."""
    rows = conn.execute(
        select(
            P.c.product_id, P.c.name, P.c.category, P.c.brand, P.c.price, P.c.cost, P.c.stock,
            P.c.active,
        )
    ).all()  # fmt: skip
    live = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={name: ITEM_SCHEMA[name] for name in LIVE_COLUMNS},
        orient="row",
    )
    columns = pl.DataFrame({"item_id": ms.data.item_ids.tolist()}, schema={"item_id": pl.String})
    frame = (
        columns.with_row_index("column")
        .join(live, on="item_id", how="left")
        .sort("column")
        .drop("column")
    )
    return Catalog.from_frame(frame)


# Statements a request runs, built once: building and compiling one took longer than the
# database took to run it.
_PRODUCT = select(P.c.product_id).where(P.c.product_id == bindparam("product_id"))
_SEGMENT = select(profiles_table.c.value_segment).where(
    profiles_table.c.user_id == bindparam("user_id")
)
_LOG = recommendation_log_table.insert()


@cache
def _history_query(session: bool, anonymous: bool, user: bool, since: bool) -> Select[Any]:
    """The recent events of the ids a request names (``since``: only after the training)."""
    conditions = []
    if session:
        conditions.append(A.c.session_id == bindparam("session_id"))
    if anonymous:
        conditions.append(A.c.anonymous_id == bindparam("anonymous_id"))
    if user:
        by_user = A.c.user_id == bindparam("user_id")
        after = A.c.timestamp > bindparam("as_of", type_=A.c.timestamp.type)
        conditions.append(and_(by_user, after) if since else by_user)
    return (
        select(A.c.type, A.c.product_id, A.c["items"])
        .where(or_(*conditions), A.c.is_bot.is_(False), A.c.type.in_(LIVE_TYPES))
        .order_by(A.c.timestamp.desc())
        .limit(HISTORY_EVENTS)
    )


def _check_product(conn: Connection, ms: ModelSet, product_id: str | None) -> None:
    """An unknown product is a 404; one the models have not seen yet (new since training)
    is fine and simply anchors nothing."""
    if product_id is None or ms.data.item_index(product_id) >= 0:
        return
    found = conn.execute(_PRODUCT, {"product_id": product_id}).first()
    if found is None:
        raise NotFound(f"no product {product_id!r}")


def _shopper(conn: Connection, ms: ModelSet, request: RecommendationRequest) -> Shopper:
    """The shopper's history row from training plus, in one query, their recent product
    views, carts, wishlist adds and purchases (this session, this browser, or a user unknown
    to the models; for a known user, what happened since training)."""
    data = ms.data
    index = data.user_index(request.user_id) if request.user_id else -1
    ids = {
        "session_id": request.session_id,
        "anonymous_id": request.anonymous_id,
        "user_id": request.user_id,
    }
    params: dict[str, Any] = {name: value for name, value in ids.items() if value}
    if request.user_id and index >= 0:
        params["as_of"] = data.as_of
    weights: dict[int, float] = {}
    recent: list[int] = []
    bought: dict[int, int] = {}

    def touch(item_id: str | None, weight: float) -> int:
        column = data.item_index(item_id) if item_id else -1
        if column >= 0:
            weights[column] = weights.get(column, 0.0) + weight
            recent.append(column)
        return column

    touch(request.product_id, VIEW_WEIGHT)
    for item_id in request.cart:
        touch(item_id, CART_WEIGHT)
    if params:
        query = _history_query(
            "session_id" in params, "anonymous_id" in params, "user_id" in params, "as_of" in params
        )
        events = conn.execute(query, params).all()
        for kind, product_id, lines in events:
            if kind == "purchase":
                for line in lines if isinstance(lines, list) else []:
                    if not isinstance(line, dict):
                        continue
                    column = touch(line.get("product_id"), BUY_WEIGHT)
                    if column >= 0:
                        bought[column] = bought.get(column, 0) + 1
            else:
                touch(product_id, KIND_WEIGHTS[EVENT_KINDS[kind]])
    segment = None
    if request.user_id and ms.segments:
        segment = conn.execute(_SEGMENT, {"user_id": request.user_id}).scalar()
    # The history row: the training row plus what the request and the recent events add,
    # summed on a dense row (scipy's per-call overhead was most of this function).
    dense = np.zeros(data.n_items)
    if index >= 0:
        trained_items, trained_weights = _row(data.matrix, index)
        np.add.at(dense, trained_items, trained_weights)
        order = np.argsort(-trained_weights, kind="stable")
        recent += trained_items[order].tolist()
        past_items, past_counts = _row(ms.purchased, index)
        for column, count in zip(past_items.tolist(), past_counts.tolist(), strict=True):
            bought[column] = bought.get(column, 0) + int(count)
    if weights:
        dense[np.fromiter(weights, dtype=np.int64)] += np.fromiter(weights.values(), np.float64)
    columns = np.flatnonzero(dense)
    row = sp.csr_matrix(
        (dense[columns], columns, np.array([0, len(columns)])), shape=(1, data.n_items)
    )
    return Shopper(index, row, list(dict.fromkeys(recent)), bought, segment)


def _row(matrix: sp.csr_matrix, index: int) -> tuple[Ints, Floats]:
    """Columns and values of one CSR row, as stored (``matrix[index]`` without its cost)."""
    start, end = int(matrix.indptr[index]), int(matrix.indptr[index + 1])
    return matrix.indices[start:end].astype(np.int64), matrix.data[start:end]


# -- business rules -----------------------------------------------------------------------


def _business(catalog: Catalog, request: RecommendationRequest) -> Bools:
    """Active products that pass the filters and the page's category."""
    allowed = catalog.active.copy()
    f = request.filters
    for prefix in (f.category, request.category if request.context == "category" else None):
        if prefix:
            allowed &= catalog.under(prefix)
    if f.brand:
        allowed &= catalog.brand_key == f.brand.strip().lower()
    with np.errstate(invalid="ignore"):
        if f.price_min is not None:
            allowed &= catalog.price >= f.price_min
        if f.price_max is not None:
            allowed &= catalog.price <= f.price_max
        if f.in_stock_only:
            allowed &= np.isnan(catalog.stock) | (catalog.stock > 0)
    return allowed


def _allowed(
    catalog: Catalog,
    ms: ModelSet,
    request: RecommendationRequest,
    shopper: Shopper,
    rebuy: tuple[Ints, Floats] | None,
) -> Bools:
    """The business mask plus the exclusions: ``exclude``, the page's own items, and (with
    ``exclude_purchased``) what the shopper bought, except what the repeat model expects
    them to buy again."""
    allowed = _business(catalog, request)
    data = ms.data
    allowed[data.item_indexes(request.exclude)] = False
    if request.context == "product" and request.product_id:
        allowed[data.item_indexes([request.product_id])] = False
    if request.context in ("cart", "checkout"):
        allowed[data.item_indexes(request.cart)] = False
    if request.exclude_purchased and shopper.bought:
        bought = np.fromiter(shopper.bought, dtype=np.int64)
        if rebuy is not None:
            bought = np.setdiff1d(bought, rebuy[0])
        allowed[bought] = False
    return allowed


def _rebuy(
    ms: ModelSet, shopper: Shopper, request: RecommendationRequest, repurchased: Bools
) -> tuple[Ints, Floats] | None:
    """What the shopper may buy again: items the repeat model scores for them (its one call a
    request) that customers do repurchase. The repeat model scores everything a user
    touched, so its score alone would keep a sofa bought once; a repurchased item is a
    consumable."""
    model = ms.models.get(REPEAT)
    if model is None or not shopper.bought:
        return None
    n = max(POOL, len(shopper.bought), request.limit)
    ids, scores = model.recommend(np.array([shopper.index]), shopper.row, n=n)
    ids, scores = ids[0], scores[0]
    keep = (ids >= 0) & np.isfinite(scores) & (scores > 0)
    keep[keep] &= repurchased[ids[keep]]
    return ids[keep], scores[keep]


# -- planning -----------------------------------------------------------------------------


def _page_anchors(ms: ModelSet, request: RecommendationRequest) -> Ints:
    """The product on the page and the cart's items (the first ``MAX_ANCHORS``)."""
    ids = ([request.product_id] if request.product_id else []) + list(request.cart)
    columns = list(dict.fromkeys(ms.data.item_indexes(ids).tolist()))[:MAX_ANCHORS]
    return np.asarray(columns, dtype=np.int64)


def _personal(ms: ModelSet) -> list[str]:
    return [
        name
        for name, model in ms.models.items()
        if model.personalised and name not in (HYBRID, COMPLEMENTS)
    ]


def _similar(ms: ModelSet, anchors: Ints, reason: str) -> list[Component]:
    found = [Component(n, w, reason, anchors) for n, w in SIMILAR if n in ms.models]
    if not found:
        found = [Component(n, 1.0, reason, anchors) for n in SIMILAR_FALLBACK if n in ms.models][:1]
    return found


def _user(ms: ModelSet, names: Iterable[str], weight: float = 1.0) -> list[Component]:
    return [
        Component(
            name,
            weight,
            "buy_again" if name == REPEAT else PERSONAL,
            filter_seen=name not in (REPEAT, HYBRID),
        )
        for name in names
        if name in ms.models
    ]


def _popular(ms: ModelSet, request: RecommendationRequest, shopper: Shopper) -> list[Component]:
    found = []
    if shopper.segment and shopper.segment in ms.segments:
        found.append(Component(SEGMENT, 1.0, "popular_in_segment"))
    if POPULAR in ms.models:
        found.append(Component(POPULAR, 0.5 if found else 1.0, "popular"))
    if request.context == "category" and TRENDING in ms.models:
        found.append(Component(TRENDING, 0.5, "trending_in_category"))
    return found


def _plan(ms: ModelSet, request: RecommendationRequest, shopper: Shopper, page: Ints) -> Plan:
    """The strategy actually used and its components. ``auto``: on product, cart and
    checkout pages the page's items' neighbours and complements (with a touch of the
    shopper's own taste); elsewhere the hybrid ranker for a user the models know, else a
    blend of the personal models for a known user, the neighbours of a session's items for
    a visitor, and popularity (by segment when known) for a stranger. An explicit strategy
    whose models are missing, or that has nothing to work from, falls back to ``auto``'s
    choice."""
    on_page = set(page.tolist())
    history = np.asarray(
        [i for i in shopper.recent if i not in on_page][:HISTORY_ANCHORS], dtype=np.int64
    )
    strategy = request.strategy
    personal = _personal(ms)
    if strategy == HYBRID and HYBRID in ms.models and shopper.index >= 0 and shopper.has_history:
        return Plan(HYBRID, _user(ms, [HYBRID]))
    if strategy == "personalized" and shopper.has_history and personal:
        return Plan("personalized", _user(ms, personal))
    if strategy == "collaborative" and shopper.has_history:
        found = _user(ms, COLLABORATIVE)
        if found:
            return Plan("collaborative", found)
    if strategy == "content" and CONTENT in ms.models:
        if len(page):
            return Plan("content", [Component(CONTENT, 1.0, "similar_to", page)])
        if shopper.has_history:
            return Plan("content", _user(ms, [CONTENT]))
    if strategy == "similar_items":
        anchors, reason = (page, "similar_to") if len(page) else (history, "because_you_viewed")
        found = _similar(ms, anchors, reason) if len(anchors) else []
        if found:
            return Plan("similar_items", found)
    if strategy == "popular":
        return Plan("popular", _popular(ms, request, shopper))
    if strategy == "trending" and TRENDING in ms.models:
        reason = "trending_in_category" if request.context == "category" else "trending"
        return Plan("trending", [Component(TRENDING, 1.0, reason)])
    return _auto(ms, request, shopper, page, history)


def _auto(
    ms: ModelSet, request: RecommendationRequest, shopper: Shopper, page: Ints, history: Ints
) -> Plan:
    personal = _personal(ms)
    if request.context in ("product", "cart", "checkout") and len(page):
        complements = 1.0 if request.context == "product" else 1.5
        found = _similar(ms, page, "similar_to")
        if COMPLEMENTS in ms.models:
            found.append(Component(COMPLEMENTS, complements, "bought_together", page))
        if shopper.index >= 0 and shopper.has_history:
            found += _user(ms, [HYBRID] if HYBRID in ms.models else personal, weight=0.25)
        if found:
            return Plan("similar_items", found)
    if HYBRID in ms.models and shopper.index >= 0 and shopper.has_history:
        return Plan("hybrid", _user(ms, [HYBRID]))
    if shopper.index >= 0 and shopper.has_history and personal:
        return Plan("personalized", _user(ms, personal))
    if len(history):
        found = _similar(ms, history, "because_you_viewed")
        if found:
            return Plan("similar_items", found)
    return Plan("popular", _popular(ms, request, shopper))


# -- scoring ------------------------------------------------------------------------------


def _pool(n_items: int, allowed: Bools, limit: int) -> int:
    """Candidates to ask for: more when filters leave few items (neighbour lists are not
    filtered by the model)."""
    share = max(int(allowed.sum()), 1) / max(n_items, 1)
    return int(min(n_items, MAX_POOL, max(POOL, MMR_POOL * limit) / share))


def _run(
    ms: ModelSet,
    plan: Plan,
    shopper: Shopper,
    allowed: Bools,
    limit: int,
    rebuy: tuple[Ints, Floats] | None,
) -> Fused:
    n_items = ms.data.n_items
    fused = Fused.empty(n_items)
    blocked = np.flatnonzero(~allowed)
    pool = max(POOL, MMR_POOL * limit)
    for c in plan.components:
        if c.source == SEGMENT:
            bought_by_segment = ms.segments.get(shopper.segment or "")
            if bought_by_segment is None:
                continue
            scores = np.where(allowed, bought_by_segment, -np.inf)[None, :]
            ids, best = top_n(scores, pool)
            items, values, anchors = _ranked(ids[0], best[0], signed=False)
        elif c.anchors is not None:
            model = ms.models[c.source]
            ids, scores = model.similar_items(c.anchors, n=_pool(n_items, allowed, limit))
            parts = [
                _ranked(ids[k], scores[k], signed=c.source in SIGNED, anchor=int(a))
                for k, a in enumerate(c.anchors.tolist())
            ]
            items = np.concatenate([p[0] for p in parts])
            values = np.concatenate([p[1] for p in parts])
            anchors = np.concatenate([p[2] for p in parts])
        elif c.source == REPEAT:  # its list is what may be bought again
            if rebuy is None:
                continue
            items, values, anchors = _ranked(*rebuy, signed=False)
        else:
            model = ms.models[c.source]
            ids, scores = model.recommend(
                np.array([shopper.index]),
                shopper.row,
                n=pool,
                filter_items=blocked,
                filter_seen=c.filter_seen,
            )
            items, values, anchors = _ranked(ids[0], scores[0], signed=c.source in SIGNED)
        keep = allowed[items]
        if c.anchors is not None:  # the anchors themselves are what the shopper has
            keep &= ~np.isin(items, c.anchors)
        items, ranks, anchors = items[keep], values[keep], anchors[keep]
        fused.add(c, items, c.weight / (RRF_K + 1.0 + ranks), anchors)
    return fused


def _ranked(
    ids: Ints, scores: Floats, *, signed: bool, anchor: int = -1
) -> tuple[Ints, Floats, Ints]:
    """A model's best-first list as (items, 0-based ranks, anchor per item), without the
    padding and, for unsigned models, without the zero scores (no evidence)."""
    valid = (ids >= 0) & np.isfinite(scores)
    if not signed:
        valid &= scores > 0
    items = ids[valid].astype(np.int64)
    return items, np.arange(len(items), dtype=np.float64), np.full(len(items), anchor)


# -- choosing -----------------------------------------------------------------------------


def _value(catalog: Catalog, relevance: Floats, items: Ints, objective: str) -> Floats:
    """Expected value per item: relevance, or relevance x price / x (price - cost)."""
    if objective == "relevance":
        return relevance
    price = np.nan_to_num(catalog.price[items], nan=0.0)
    if objective == "revenue":
        return relevance * price
    cost = catalog.cost[items]
    margin = np.where(np.isnan(cost), 0.0, price - np.nan_to_num(cost, nan=0.0))
    return relevance * margin


def _select(
    catalog: Catalog,
    fused: Fused,
    allowed: Bools,
    request: RecommendationRequest,
) -> list[tuple[int, float]]:
    """(item, score) best first: the objective's value, diversified by MMR."""
    candidates = np.flatnonzero((fused.score > 0) & allowed)
    if not len(candidates):
        return []
    fused.top = float(fused.score[candidates].max())
    relevance = fused.score[candidates] / fused.top
    value = _value(catalog, relevance, candidates, request.objective)
    order = np.lexsort((candidates, -value))[: max(request.limit * MMR_POOL, request.limit)]
    candidates, value = candidates[order], value[order]
    if request.diversity <= 0 or len(candidates) <= 1:
        chosen = np.arange(min(request.limit, len(candidates)))
    else:
        chosen = _mmr(catalog, candidates, value, request.diversity, request.limit)
    return [(int(candidates[k]), float(value[k])) for k in chosen]


def _mmr(catalog: Catalog, items: Ints, value: Floats, diversity: float, limit: int) -> Ints:
    """Maximal marginal relevance: each pick maximises (1 - d) x value - d x its largest
    category similarity to the picks so far (1 same category, 0.5 same department)."""
    span = float(np.abs(value).max()) or 1.0
    v = value / span
    full, dept = catalog.full_category[items], catalog.department[items]
    same_full = (full[:, None] == full[None, :]) & (full[:, None] >= 0)
    same_dept = (dept[:, None] == dept[None, :]) & (dept[:, None] >= 0)
    similarity = np.where(same_full, 1.0, np.where(same_dept, MMR_SAME_DEPARTMENT, 0.0))
    nearest = np.zeros(len(items))
    taken = np.zeros(len(items), dtype=bool)
    picks: list[int] = []
    for _ in range(min(limit, len(items))):
        gain = np.where(taken, -np.inf, (1.0 - diversity) * v - diversity * nearest)
        k = int(np.argmax(gain))
        picks.append(k)
        taken[k] = True
        nearest = np.maximum(nearest, similarity[k])
    return np.asarray(picks, dtype=np.int64)


def _fill(
    ms: ModelSet,
    catalog: Catalog,
    allowed: Bools,
    request: RecommendationRequest,
    picked: list[tuple[int, float]],
    fused: Fused,
) -> list[tuple[int, float]]:
    """Fill a short list from popularity. Filled items rank after the strategy's: their
    relevance is their popularity scaled to half the least relevant pick's."""
    missing = request.limit - len(picked)
    model = ms.models.get(POPULAR)
    if missing <= 0 or model is None:
        return []
    open_ = allowed.copy()
    open_[[i for i, _ in picked]] = False
    ids, scores = model.recommend(
        np.array([-1]), _empty_row(ms), n=missing, filter_items=np.flatnonzero(~open_)
    )
    valid = ids[0] >= 0
    items, popularity = ids[0][valid], scores[0][valid]
    if not len(items):
        return []
    floor = 1.0
    if picked and fused.top > 0:
        floor = 0.5 * min(fused.score[i] for i, _ in picked) / fused.top
    relevance = floor * popularity / (float(popularity.max()) or 1.0)
    value = _value(catalog, relevance, items, request.objective)
    fused.components.append(Component(POPULAR, 0.0, "popular"))
    fused.component[items] = len(fused.components) - 1
    fused.anchor[items] = -1
    order = np.lexsort((items, -value))
    return [(int(items[k]), float(value[k])) for k in order]


def _empty_row(ms: ModelSet) -> sp.csr_matrix:
    return sp.csr_matrix((1, ms.data.n_items), dtype=np.float64)


# -- answering ----------------------------------------------------------------------------


def _explanations(ms: ModelSet, shopper: Shopper, items: Ints) -> dict[int, int]:
    """For items a personal model chose: the shopper's recent item most like each (one
    neighbour call of the first explainer model)."""
    model = next((ms.models[n] for n in EXPLAINERS if n in ms.models), None)
    history = np.asarray(shopper.recent[:EXPLAIN_ITEMS], dtype=np.int64)
    if model is None or not len(history) or not len(items):
        return {}
    ids, scores = model.similar_items(history, n=min(ms.data.n_items, POOL * 5))
    wanted = np.isin(ids, items) & np.isfinite(scores) & (scores > 0)
    rows, cols = np.nonzero(wanted)
    if not len(rows):
        return {}
    found, values, anchors = ids[rows, cols], scores[rows, cols], history[rows]
    order = np.lexsort((values, found))
    found, anchors = found[order], anchors[order]
    last = np.r_[found[1:] != found[:-1], True]
    return dict(zip(found[last].tolist(), anchors[last].tolist(), strict=True))


def _present(
    ms: ModelSet,
    catalog: Catalog,
    fused: Fused,
    shopper: Shopper,
    picked: list[tuple[int, float]],
) -> list[dict[str, Any]]:
    items = np.asarray([i for i, _ in picked], dtype=np.int64)
    personal = [
        i
        for i in items.tolist()
        if fused.component[i] >= 0 and fused.components[fused.component[i]].reason == PERSONAL
    ]
    because = _explanations(ms, shopper, np.asarray(personal, dtype=np.int64))
    answer = []
    for rank, (item, score) in enumerate(picked, start=1):
        kind, detail = _reason(ms, catalog, fused, shopper, because, item)
        price = catalog.price[item]
        answer.append(
            {
                "product_id": str(ms.data.item_ids[item]),
                "rank": rank,
                "score": round(score, 6),
                "reason": {"kind": kind, "detail": detail},
                "name": str(catalog.names[item]),
                "price": None if np.isnan(price) else float(price),
            }
        )
    return answer


def _reason(
    ms: ModelSet,
    catalog: Catalog,
    fused: Fused,
    shopper: Shopper,
    because: dict[int, int],
    item: int,
) -> tuple[str, str | None]:
    c = fused.components[fused.component[item]] if fused.component[item] >= 0 else None
    category = str(catalog.category[item]) or None
    if c is None:
        return "popular", category
    anchor = int(fused.anchor[item])
    if c.reason in ("similar_to", "bought_together", "because_you_viewed") and anchor >= 0:
        return c.reason, str(catalog.names[anchor])
    if c.reason == "buy_again" or (c.reason == PERSONAL and item in shopper.bought):
        times = shopper.bought.get(item, 0)
        return "buy_again", f"bought {times} time{'s' if times != 1 else ''}"
    if c.reason == PERSONAL:
        if item in because:
            return "because_you_viewed", str(catalog.names[because[item]])
        return "personalized", category
    if c.reason == "popular_in_segment":
        return c.reason, shopper.segment
    if c.reason == "trending_in_category":
        return c.reason, category
    return c.reason, category


__all__ = ["Catalog", "NoTrainedModel", "PersonalizationEngine", "Plan", "Serving", "Shopper"]

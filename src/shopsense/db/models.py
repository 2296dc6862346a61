"""Tables. ``user_activity`` is the source of truth; orders, refunds and users are derived
from it in the same transaction and can be rebuilt from it.

Timestamps are stored as naive UTC on every backend, so SQLite and PostgreSQL compare and
sort them the same way. Money is ``NUMERIC`` read back as float.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(14, 4, asdecimal=False)
Id = String(255)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserActivity(Base):
    """One tracked event, with its corrected time and parsed context."""

    __tablename__ = "user_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    user_id: Mapped[str | None] = mapped_column(Id)
    anonymous_id: Mapped[str | None] = mapped_column(Id)
    session_id: Mapped[str | None] = mapped_column(Id)
    timestamp: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    client_timestamp: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    timestamp_clamped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_bot: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # commerce
    product_id: Mapped[str | None] = mapped_column(Id)
    category: Mapped[str | None] = mapped_column(String(500))
    brand: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[float | None] = mapped_column(Money)
    quantity: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[str | None] = mapped_column(Id)
    revenue: Mapped[float | None] = mapped_column(Money)
    discount: Mapped[float | None] = mapped_column(Money)
    coupon: Mapped[str | None] = mapped_column(String(255))
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    query: Mapped[str | None] = mapped_column(String(1000))
    rating: Mapped[int | None] = mapped_column(Integer)
    review_text: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    # attribution
    recommendation_id: Mapped[str | None] = mapped_column(Id)
    bundle_id: Mapped[str | None] = mapped_column(Id)
    position: Mapped[int | None] = mapped_column(Integer)
    experiment: Mapped[str | None] = mapped_column(String(255))
    variant: Mapped[str | None] = mapped_column(String(255))
    # context
    device_type: Mapped[str | None] = mapped_column(String(20))
    browser: Mapped[str | None] = mapped_column(String(100))
    os: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(1000))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(35))
    timezone: Mapped[str | None] = mapped_column(String(64))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    page_path: Mapped[str | None] = mapped_column(String(2000))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    utm_term: Mapped[str | None] = mapped_column(String(255))
    utm_content: Mapped[str | None] = mapped_column(String(255))
    time_spent: Mapped[float | None] = mapped_column(Float)
    scroll_depth: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (
        Index("ix_user_activity_user_time", "user_id", "timestamp"),
        Index("ix_user_activity_product_time", "product_id", "timestamp"),
        Index("ix_user_activity_type_time", "type", "timestamp"),
        Index("ix_user_activity_anonymous", "anonymous_id"),
        Index("ix_user_activity_session", "session_id"),
        Index("ix_user_activity_timestamp", "timestamp"),
    )


class User(Base):
    """An identified customer; first/last seen span every event of theirs."""

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(Id, primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    signup_at: Mapped[datetime | None] = mapped_column(DateTime)
    signup_channel: Mapped[str | None] = mapped_column(String(255))


class UserIdentity(Base):
    """An anonymous id merged into a user (first identify wins, as in Segment)."""

    __tablename__ = "user_identities"

    anonymous_id: Mapped[str] = mapped_column(Id, primary_key=True)
    user_id: Mapped[str] = mapped_column(Id, nullable=False, index=True)
    merged_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Product(Base):
    """Catalog entry. ``cost_estimated`` marks a cost derived from the default margin."""

    __tablename__ = "products"

    product_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(500), index=True)
    brand: Mapped[str | None] = mapped_column(String(255), index=True)
    price: Mapped[float] = mapped_column(Money, nullable=False)
    cost: Mapped[float] = mapped_column(Money, nullable=False)
    cost_estimated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    stock: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    tags: Mapped[list[str] | None] = mapped_column(Json)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Order(Base):
    """A purchase, derived from its ``purchase`` event; refunds adjust status and amount."""

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(Id, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[str | None] = mapped_column(Id)
    anonymous_id: Mapped[str | None] = mapped_column(Id)
    session_id: Mapped[str | None] = mapped_column(Id)
    placed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="placed")
    revenue: Mapped[float] = mapped_column(Money, nullable=False)
    discount: Mapped[float] = mapped_column(Money, nullable=False, default=0)
    coupon: Mapped[str | None] = mapped_column(String(255))
    refunded_amount: Mapped[float] = mapped_column(Money, nullable=False, default=0)
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_orders_user_time", "user_id", "placed_at"),
        Index("ix_orders_placed_at", "placed_at"),
        Index("ix_orders_anonymous_id", "anonymous_id"),
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    order_id: Mapped[str] = mapped_column(
        Id, ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(Id, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[float] = mapped_column(Money, nullable=False)

    __table_args__ = (
        Index("ix_order_items_product", "product_id"),
        # Clustered on (order_id, line) on SQLite: one B-tree less, filled in order.
        {"sqlite_with_rowid": False},
    )


class Refund(Base):
    """A refund, derived from its ``order_refunded`` event. ``order_id`` names the refunded
    order, which may be unknown to shopsense (imported credit notes)."""

    __tablename__ = "refunds"

    refund_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(Id, nullable=False, index=True)
    user_id: Mapped[str | None] = mapped_column(Id, index=True)
    anonymous_id: Mapped[str | None] = mapped_column(Id, index=True)
    refunded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    # NULL: "the rest of the order", for a refund that named no amount before its order was
    # known; resolved against the order's revenue when the purchase arrives.
    amount: Mapped[float | None] = mapped_column(Money)


class RefundItem(Base):
    __tablename__ = "refund_items"

    refund_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("refunds.refund_id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(Id, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[float] = mapped_column(Money, nullable=False)

    __table_args__ = (
        Index("ix_refund_items_product", "product_id"),
        {"sqlite_with_rowid": False},
    )


class ApiKey(Base):
    """A CLI-made key; only the SHA-256 of the key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class MarketingSpend(Base):
    """Spend per day, channel and campaign; a repeat post of the same key replaces the amount."""

    __tablename__ = "marketing_spend"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    channel: Mapped[str] = mapped_column(String(255), nullable=False)
    campaign: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    amount: Mapped[float] = mapped_column(Money, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (UniqueConstraint("date", "channel", "campaign"),)


class UserBehaviorProfile(Base):
    """A user's behaviour, value and segments as of ``as_of`` (derived, rebuildable).

    Scalars that segments and lists filter on are columns; distributions live in ``details``.
    Definitions: ``docs/metrics.md``.
    """

    __tablename__ = "user_behavior_profile"

    user_id: Mapped[str] = mapped_column(Id, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    first_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    sessions: Mapped[int] = mapped_column(Integer, nullable=False)
    sessions_30d: Mapped[int] = mapped_column(Integer, nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue: Mapped[float] = mapped_column(Money, nullable=False)
    refunded: Mapped[float] = mapped_column(Money, nullable=False)
    aov: Mapped[float | None] = mapped_column(Money)
    orders_per_30d: Mapped[float] = mapped_column(Float, nullable=False)
    mean_interpurchase_days: Mapped[float | None] = mapped_column(Float)
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(DateTime)
    recency_days: Mapped[float | None] = mapped_column(Float)
    days_since_seen: Mapped[float] = mapped_column(Float, nullable=False)
    preferred_hour: Mapped[int] = mapped_column(Integer, nullable=False)
    preferred_day: Mapped[int] = mapped_column(Integer, nullable=False)
    main_device: Mapped[str | None] = mapped_column(String(20))
    brand_loyalty: Mapped[float | None] = mapped_column(Float)
    top_brand_share: Mapped[float | None] = mapped_column(Float)
    brand_hhi: Mapped[float | None] = mapped_column(Float)
    brand_switch_rate: Mapped[float | None] = mapped_column(Float)
    price_percentile: Mapped[float | None] = mapped_column(Float)
    discount_share: Mapped[float | None] = mapped_column(Float)
    promotion_response: Mapped[float | None] = mapped_column(Float)
    price_sensitivity: Mapped[float | None] = mapped_column(Float)
    price_tier: Mapped[str | None] = mapped_column(String(10))
    mean_session_seconds: Mapped[float | None] = mapped_column(Float)
    events_per_session: Mapped[float | None] = mapped_column(Float)
    view_to_cart: Mapped[float | None] = mapped_column(Float)
    recommendation_ctr: Mapped[float | None] = mapped_column(Float)
    engagement_score: Mapped[float] = mapped_column(Float, nullable=False)
    engagement_level: Mapped[str] = mapped_column(String(10), nullable=False)
    probability_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float)
    activity_alive: Mapped[float | None] = mapped_column(Float)
    active_days: Mapped[int | None] = mapped_column(Integer)
    predicted_clv_12m: Mapped[float | None] = mapped_column(Money)
    value_segment: Mapped[str | None] = mapped_column(String(20), index=True)
    lifecycle_segment: Mapped[str | None] = mapped_column(String(20), index=True)
    rfm_score: Mapped[str | None] = mapped_column(String(3))
    rfm_segment: Mapped[str | None] = mapped_column(String(30), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)


class ModelState(Base):
    """Small fitted state the server reads (e.g. CLV parameters and RFM cut points)."""

    __tablename__ = "model_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    state: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)


class RecommendationLog(Base):
    """One recommendation answer as served: who asked, in which context, what the strategy
    and model version were and which items were shown. Later events echo its id (and the
    item's position) so views, clicks and purchases can be attributed to it."""

    __tablename__ = "recommendation_log"

    recommendation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(Id)
    anonymous_id: Mapped[str | None] = mapped_column(Id)
    session_id: Mapped[str | None] = mapped_column(Id)
    context: Mapped[str] = mapped_column(String(20), nullable=False)
    strategy: Mapped[str] = mapped_column(String(30), nullable=False)
    model_version: Mapped[str | None] = mapped_column(String(64))
    experiment: Mapped[str | None] = mapped_column(String(255))
    variant: Mapped[str | None] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(Json, nullable=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(Json, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        Index("ix_recommendation_log_user_time", "user_id", "created_at"),
        Index("ix_recommendation_log_anonymous_time", "anonymous_id", "created_at"),
        Index("ix_recommendation_log_session", "session_id"),
        Index("ix_recommendation_log_created_at", "created_at"),
    )


class MiningRun(Base):
    """One run of ``shopsense bundles mine`` over one source of baskets: what was mined and
    with which thresholds. The bundle engine serves the newest run of each source."""

    __tablename__ = "mining_run"

    mining_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # orders | sessions
    mined_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    baskets: Mapped[int] = mapped_column(Integer, nullable=False)
    items: Mapped[int] = mapped_column(Integer, nullable=False)
    min_support: Mapped[float] = mapped_column(Float, nullable=False)
    min_count: Mapped[int] = mapped_column(Integer, nullable=False)
    min_lift: Mapped[float] = mapped_column(Float, nullable=False)
    max_len: Mapped[int] = mapped_column(Integer, nullable=False)
    itemsets: Mapped[int] = mapped_column(Integer, nullable=False)
    rules: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (Index("ix_mining_run_source_time", "source", "mined_at"),)


class AssociationRule(Base):
    """A rule antecedent -> consequent of one mining run (lift at least the run's minimum)."""

    __tablename__ = "association_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mining_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("mining_run.mining_id", ondelete="CASCADE"), nullable=False
    )
    # The antecedent's one or two items, in the mined order (plain columns: a run may hold
    # a million rules, and the server reads them all).
    antecedent_a: Mapped[str] = mapped_column(Id, nullable=False)
    antecedent_b: Mapped[str | None] = mapped_column(Id)
    consequent: Mapped[str] = mapped_column(Id, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)  # items in the whole itemset
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    support: Mapped[float] = mapped_column(Float, nullable=False)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    lift: Mapped[float] = mapped_column(Float, nullable=False)
    conviction: Mapped[float | None] = mapped_column(Float)  # null: infinite (confidence 1)

    __table_args__ = (Index("ix_association_rule_mining", "mining_id"),)


class BundleRecommendation(Base):
    """One bundle as offered: its products, prices and expected profit, to whom and in which
    context. Later ``bundle_view``/``bundle_click`` events and purchases echo its id."""

    __tablename__ = "bundle_recommendation"

    bundle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    products: Mapped[list[dict[str, Any]]] = mapped_column(Json, nullable=False)
    list_price: Mapped[float] = mapped_column(Money, nullable=False)
    bundle_price: Mapped[float] = mapped_column(Money, nullable=False)
    discount_pct: Mapped[float] = mapped_column(Float, nullable=False)
    expected_margin: Mapped[float] = mapped_column(Money, nullable=False)
    expected_profit: Mapped[float] = mapped_column(Money, nullable=False)
    take_rate: Mapped[float] = mapped_column(Float, nullable=False)
    base_rate: Mapped[float] = mapped_column(Float, nullable=False)  # take rate at list price
    support: Mapped[float | None] = mapped_column(Float)
    lift: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    user_id: Mapped[str | None] = mapped_column(Id)
    anonymous_id: Mapped[str | None] = mapped_column(Id)
    session_id: Mapped[str | None] = mapped_column(Id)
    context: Mapped[str] = mapped_column(String(20), nullable=False)
    product_id: Mapped[str | None] = mapped_column(Id)  # the anchor on a product page
    mining_id: Mapped[str | None] = mapped_column(String(64))
    valid_until: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        Index("ix_bundle_recommendation_user_time", "user_id", "created_at"),
        Index("ix_bundle_recommendation_anonymous_time", "anonymous_id", "created_at"),
        Index("ix_bundle_recommendation_created_at", "created_at"),
    )


class Experiment(Base):
    """An A/B experiment on recommendations: its variants (each a strategy and a weight),
    the share of traffic in it, the holdout share that gets no personalization, and when it
    ran. Who is in which variant is not stored: a hash of the unit id decides, always the
    same way (``experiments.stats.assign``)."""

    __tablename__ = "experiment"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # running | stopped
    variants: Mapped[list[dict[str, Any]]] = mapped_column(Json, nullable=False)
    traffic: Mapped[float] = mapped_column(Float, nullable=False)
    holdout: Mapped[float] = mapped_column(Float, nullable=False)
    metric: Mapped[str] = mapped_column(String(30), nullable=False)
    baseline_rate: Mapped[float | None] = mapped_column(Float)
    minimum_effect: Mapped[float | None] = mapped_column(Float)
    planned_users: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
    winner: Mapped[str | None] = mapped_column(String(100))


class RecommendationRollup(Base):
    """Attributed recommendation figures per day the recommendations were shown and per
    strategy, context, experiment, variant and position (0: the whole list), for the days
    whose every conversion window has closed. The performance endpoint sums these and
    computes only the open days live, so it stays fast as the logs grow."""

    __tablename__ = "recommendation_rollup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(30), primary_key=True)
    context: Mapped[str] = mapped_column(String(20), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(255), primary_key=True)  # "" when none
    variant: Mapped[str] = mapped_column(String(255), primary_key=True)  # "" when none
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    clicks: Mapped[int] = mapped_column(BigInteger, nullable=False)
    add_to_carts: Mapped[int] = mapped_column(BigInteger, nullable=False)
    conversions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    click_conversions: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revenue: Mapped[float] = mapped_column(Money, nullable=False)
    margin: Mapped[float] = mapped_column(Money, nullable=False)


# -- dashboard rollups (shopsense.dashboard.rollup) ----------------------------------------
# Per closed UTC day, built set-based from the events and extended on read; rebuildable.


class DashboardActivityDay(Base):
    """Events per day and activity type."""

    __tablename__ = "dashboard_activity_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, nullable=False)


class DashboardUserDay(Base):
    """An identified user's events on a day, with the first and last event time."""

    __tablename__ = "dashboard_user_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(Id, primary_key=True)
    month: Mapped[date] = mapped_column(Date, nullable=False)  # first day of the day's month
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    first_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (Index("ix_dashboard_user_day_user", "user_id", "month"),)


class DashboardUserContextDay(Base):
    """The devices, browsers and countries an identified user's events came from on a day."""

    __tablename__ = "dashboard_user_context_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[str] = mapped_column(Id, primary_key=True)


class DashboardSessionDay(Base):
    """A session's events on a day and the funnel steps it reached that day."""

    __tablename__ = "dashboard_session_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    session: Mapped[str] = mapped_column(String(300), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    first_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    viewed: Mapped[int] = mapped_column(Integer, nullable=False)
    carted: Mapped[int] = mapped_column(Integer, nullable=False)
    checked_out: Mapped[int] = mapped_column(Integer, nullable=False)
    purchased: Mapped[int] = mapped_column(Integer, nullable=False)


class DashboardHeatmapDay(Base):
    """Events per day by the shop's local weekday (Monday = 0) and hour."""

    __tablename__ = "dashboard_heatmap_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, nullable=False)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core tables, for the set-based statements of the engines.
activity_table = _table(UserActivity)
users_table = _table(User)
identities_table = _table(UserIdentity)
products_table = _table(Product)
orders_table = _table(Order)
order_items_table = _table(OrderItem)
refunds_table = _table(Refund)
refund_items_table = _table(RefundItem)
api_keys_table = _table(ApiKey)
spend_table = _table(MarketingSpend)
profiles_table = _table(UserBehaviorProfile)
model_state_table = _table(ModelState)
recommendation_log_table = _table(RecommendationLog)
mining_run_table = _table(MiningRun)
association_rule_table = _table(AssociationRule)
bundle_recommendation_table = _table(BundleRecommendation)
experiment_table = _table(Experiment)
recommendation_rollup_table = _table(RecommendationRollup)
# dashboard rollups
dashboard_activity_day_table = _table(DashboardActivityDay)
dashboard_user_day_table = _table(DashboardUserDay)
dashboard_user_context_day_table = _table(DashboardUserContextDay)
dashboard_session_day_table = _table(DashboardSessionDay)
dashboard_heatmap_day_table = _table(DashboardHeatmapDay)

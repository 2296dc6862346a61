"""One settings object for the whole service; every field is an environment variable
prefixed ``SHOPSENSE_`` (for example ``SHOPSENSE_DATABASE_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_datasets() -> Path | None:
    """The shared data sets sit beside the checkout; use them when they are there."""
    for candidate in (Path.cwd() / "../shared/datasets", Path.cwd() / "../../shared/datasets"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


class Settings(BaseSettings):
    """Service configuration. Secrets have no default: without them only CLI-made keys work."""

    model_config = SettingsConfigDict(env_prefix="SHOPSENSE_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///shopsense.db",
        description="SQLAlchemy URL; SQLite (WAL) by default, postgresql+psycopg:// in production.",
    )
    sqlite_synchronous: str = Field(
        default="FULL",
        description="SQLite PRAGMA synchronous; FULL keeps acknowledged events across power loss.",
    )
    datasets: Path | None = Field(
        default_factory=_default_datasets,
        description="Folder with the real data sets (online_retail/, cdnow/, ml-100k/).",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Bootstrap secret-scope key (full access)."
    )
    write_key: SecretStr | None = Field(
        default=None, description="Bootstrap write-scope key (tracking, recommendations, bundles)."
    )
    currency: str = Field(default="USD", min_length=3, max_length=3)
    timezone: str = Field(default="UTC", description="The shop's timezone (IANA name).")
    default_margin: float = Field(
        default=0.4,
        ge=0.0,
        lt=1.0,
        description="Gross margin assumed when a product has no cost: cost = price x (1 - margin).",
    )
    max_future_skew_seconds: float = Field(
        default=300.0,
        ge=0.0,
        description="Corrected timestamps later than received_at + this are clamped and flagged.",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="Largest request body.")
    max_batch_events: int = Field(default=1000, description="Most events in one batch.")
    max_event_bytes: int = Field(default=32 * 1024, description="Largest single event.")
    clv_high: float = Field(
        default=1000.0, description="Predicted 12-month CLV above which a user is high value."
    )
    clv_medium: float = Field(
        default=200.0, description="Predicted 12-month CLV from which a user is medium value."
    )
    clv_discount_rate: float = Field(
        default=0.01, ge=0.0, lt=1.0, description="Monthly discount rate of predicted CLV."
    )
    at_risk_alive: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Alive probability under which a buyer is at risk."
    )
    churned_alive: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Alive probability under which a buyer churned."
    )
    at_risk_recency_factor: float = Field(
        default=3.0,
        gt=0.0,
        description="At risk when days since the last order exceed this many inter-purchase times.",
    )
    churn_inactive_days: float = Field(
        default=180.0, gt=0.0, description="Churned after this many days without any event."
    )
    retention_uplift: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Share of a segment's at-stake value a retention action is expected to save.",
    )
    retention_offer_cost: float = Field(
        default=5.0, ge=0.0, description="Cost of one retention offer to one user."
    )
    models_dir: Path = Field(
        default=Path("models"),
        description="Folder of trained recommendation model versions (relative: to the working "
        "folder).",
    )
    models_keep: int = Field(
        default=5, ge=0, description="Model versions kept after a training (0: keep all)."
    )
    retrain_interval_minutes: float = Field(
        default=0.0,
        ge=0.0,
        description="The server retrains the recommenders this often, in the background (0: off).",
    )
    bundle_min_support: float = Field(
        default=0.002,
        gt=0.0,
        le=1.0,
        description="Least share of baskets an itemset is in to be mined (never under 2 baskets).",
    )
    bundle_min_lift: float = Field(
        default=1.5, ge=0.0, description="Least lift of a stored association rule."
    )
    bundle_max_len: int = Field(default=3, ge=2, le=3, description="Longest itemset mined.")
    bundle_margin_floor: float = Field(
        default=0.15,
        ge=0.0,
        lt=1.0,
        description="Least gross margin of a bundle, as a share of the bundle price.",
    )
    bundle_max_discount: float = Field(
        default=0.3, ge=0.0, lt=1.0, description="Largest bundle discount (0.3 = 30 %)."
    )
    bundle_valid_hours: float = Field(
        default=48.0, gt=0.0, description="How long an offered bundle's price holds."
    )
    bundle_seasonal_horizon_days: int = Field(
        default=28, ge=1, le=120, description="The coming weeks a seasonal bundle is for."
    )
    attribution_click_days: float = Field(
        default=7.0,
        gt=0.0,
        le=90.0,
        description="A conversion within this many days after a click is credited to it.",
    )
    attribution_view_days: float = Field(
        default=1.0,
        gt=0.0,
        le=90.0,
        description="Without a click, a conversion within this many days after a view is.",
    )
    reorder_lead_days: float = Field(
        default=14.0,
        gt=0.0,
        description="Days a reorder takes to arrive: stock covering fewer days is at risk.",
    )
    price_max_move: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="Largest price move pricing advice may recommend (0.1 = 10 %).",
    )
    price_max_elasticity: float = Field(
        default=8.0,
        gt=1.0,
        description="Elasticities steeper than minus this are held as implausible (likely "
        "confounded by quantity discounts or promotions), not acted on.",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    log_json: bool = Field(default=True, description="Structured JSON logs on stderr.")
    # Dashboard answer cache (shopsense.dashboard.cache): how long computed figures are served
    # and how often a change in the data may start their recomputation.
    dashboard_cache_seconds: float = Field(
        default=300.0,
        ge=0.0,
        description="Dashboard figures are reused this long while the data is unchanged "
        "(0: computed on every request).",
    )
    dashboard_refresh_seconds: float = Field(
        default=30.0,
        ge=0.0,
        description="After the data changes, dashboard figures are recomputed (in the "
        "background) at most this often.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

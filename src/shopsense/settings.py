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
    host: str = "127.0.0.1"
    port: int = 8080
    log_json: bool = Field(default=True, description="Structured JSON logs on stderr.")

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

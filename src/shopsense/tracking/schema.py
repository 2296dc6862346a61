"""The tracked event as the contract defines it, with every validation rule in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from shopsense.tracking.activity_types import ACTIVITY_TYPES, REQUIRED_FIELDS, canonical_type

MAX_MONEY = 1e9
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _check_json(value: Any, depth: int = 0) -> None:
    """Free-form JSON must still be storable on every backend."""
    if depth > 32:
        raise ValueError("nested deeper than 32 levels")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ValueError("integers must fit in 64 bits")


def _utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; everything is answered in UTC."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC form
        raise ValueError("is out of the supported range") from None
    if value < EARLIEST:
        raise ValueError("must be 1990-01-01 or later")
    if value.year > 9000:
        raise ValueError("is too far in the future")
    return value


def _properties(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value)
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Id = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul)]
Short = Annotated[str, Field(max_length=255), AfterValidator(_no_nul)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
Timestamp = Annotated[datetime, AfterValidator(_utc)]
DeviceType = Literal["desktop", "mobile", "tablet", "bot", "other"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Item(Strict):
    product_id: Id
    quantity: Quantity = 1
    price: Money


class Context(Strict):
    device_type: DeviceType | None = None
    browser: Annotated[str, Field(max_length=100), AfterValidator(_no_nul)] | None = None
    os: Annotated[str, Field(max_length=100), AfterValidator(_no_nul)] | None = None
    user_agent: Annotated[str, Field(max_length=1000), AfterValidator(_no_nul)] | None = None
    ip: Annotated[str, Field(max_length=45), AfterValidator(_no_nul)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    region: Short | None = None
    city: Short | None = None
    locale: Annotated[str, Field(max_length=35), AfterValidator(_no_nul)] | None = None
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_no_nul)] | None = None
    page_url: Url | None = None
    page_path: Url | None = None
    referrer: Url | None = None
    utm_source: Short | None = None
    utm_medium: Short | None = None
    utm_campaign: Short | None = None
    utm_term: Short | None = None
    utm_content: Short | None = None
    time_spent: Annotated[float, Field(ge=0, le=7 * 86400, allow_inf_nan=False)] | None = None
    scroll_depth: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class Event(Strict):
    """One tracked interaction. ``type`` accepts the aliases of ``activity_types``."""

    event_id: (
        Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)] | None
    ) = None
    type: str
    user_id: Id | None = None
    anonymous_id: Id | None = None
    session_id: Id | None = None
    timestamp: Timestamp | None = None
    sent_at: Timestamp | None = None
    # commerce
    product_id: Id | None = None
    category: Annotated[str, Field(max_length=500), AfterValidator(_no_nul)] | None = None
    brand: Short | None = None
    price: Money | None = None
    quantity: Quantity | None = None
    order_id: Id | None = None
    revenue: Money | None = None
    discount: Money | None = None
    coupon: Short | None = None
    items: Annotated[list[Item], Field(max_length=500)] | None = None
    query: Annotated[str, Field(max_length=1000), AfterValidator(_no_nul)] | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    review_text: Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)] | None = None
    value: Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY, allow_inf_nan=False)] | None = None
    # attribution
    recommendation_id: Id | None = None
    bundle_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    experiment: Short | None = None
    variant: Short | None = None
    context: Context | None = None
    properties: Annotated[dict[str, Any], AfterValidator(_properties)] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        canonical = canonical_type(value)
        if canonical is None:
            raise ValueError(
                f"unknown activity type {value[:60]!r}; expected one of "
                f"{', '.join(ACTIVITY_TYPES[:6])}, ... (see the contract)"
            )
        return canonical


def rule_errors(event: Event) -> list[dict[str, Any]]:
    """Cross-field rules, each error naming the field it is about."""
    errors: list[dict[str, Any]] = []

    def fail(field: str, msg: str, kind: str = "missing") -> None:
        errors.append({"loc": [field], "msg": msg, "type": kind})

    if event.user_id is None and event.anonymous_id is None:
        fail("user_id", "user_id or anonymous_id is required")
    for field in REQUIRED_FIELDS.get(event.type, ()):
        if getattr(event, field) is None:
            fail(field, f"required for a {event.type} event")
    if event.type == "purchase" and not event.items:
        if event.product_id is None:
            fail("items", "a purchase event requires items or product_id")
        elif event.price is None:
            fail("price", "a purchase event with product_id and no items requires price")
    if event.type == "review" and event.review_text is None and event.rating is None:
        fail("review_text", "a review event requires review_text or rating")
    # An order's revenue is derived from its lines and must fit the money columns.
    if event.items and sum(i.quantity * i.price for i in event.items) > MAX_MONEY:
        fail("items", f"the items total more than {MAX_MONEY:,.0f}", "value_error")
    elif (
        not event.items
        and event.type in ("purchase", "order_refunded")
        and event.price is not None
        and (event.quantity or 1) * event.price > MAX_MONEY
    ):
        fail("quantity", f"price x quantity is more than {MAX_MONEY:,.0f}", "value_error")
    return errors


class Batch(Strict):
    """``{"batch": [...]}``; a batch-level ``sent_at`` applies to events that have none."""

    batch: list[Any]
    sent_at: Timestamp | None = None

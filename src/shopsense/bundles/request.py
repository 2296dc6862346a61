"""The bundle request and answer of the contract (``POST /analytics/bundles``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shopsense.recommend.request import MAX_CART, fail_fields
from shopsense.tracking.schema import Id

BundleType = Literal["complementary", "cross_sell", "upsell", "seasonal", "promotional"]
ALL_TYPES: list[BundleType] = ["complementary", "cross_sell", "upsell", "seasonal", "promotional"]
BundleContext = Literal["home", "product", "cart", "checkout", "email"]
MAX_BUNDLES = 20


class BundleRequest(BaseModel):
    """Who asks (optional: a stranger gets bundles for the page), the product on the page
    and the cart, the types wanted, how many bundles and how large."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: Id | None = None
    anonymous_id: Id | None = None
    session_id: Id | None = None
    context: BundleContext | None = Field(
        default=None,
        description="Where the bundles are shown; default: product with a product_id, cart "
        "with a cart, else home.",
    )
    product_id: Id | None = Field(default=None, description="The product on the page.")
    cart: list[Id] = Field(default_factory=list, max_length=MAX_CART)
    types: list[BundleType] = Field(
        default_factory=lambda: list(ALL_TYPES), min_length=1, max_length=len(ALL_TYPES)
    )
    limit: int = Field(default=5, ge=1, le=MAX_BUNDLES)
    max_size: int = Field(default=3, ge=2, le=5, description="Most products in one bundle.")

    @field_validator("types")
    @classmethod
    def _distinct(cls, value: list[BundleType]) -> list[BundleType]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _where(self) -> Self:
        if self.context == "product" and not self.product_id:
            fail_fields(
                "BundleRequest", [(("product_id",), "is required when context is 'product'")]
            )
        if self.context in ("cart", "checkout") and not self.cart:
            fail_fields(
                "BundleRequest", [(("cart",), f"is required when context is {self.context!r}")]
            )
        return self

    @property
    def where(self) -> str:
        if self.context is not None:
            return self.context
        if self.product_id:
            return "product"
        return "cart" if self.cart else "home"


class BundleProduct(BaseModel):
    product_id: str
    name: str
    price: float
    quantity: int


class Bundle(BaseModel):
    bundle_id: str
    type: BundleType
    products: list[BundleProduct]
    list_price: float
    bundle_price: float
    discount_pct: float
    expected_margin: float = Field(description="Gross margin of one sale at the bundle price.")
    expected_profit: float = Field(
        description="Expected profit of offering it, over not offering: take rate x margin at "
        "the bundle price minus the base rate x margin at list price."
    )
    take_rate: float
    support: float | None
    lift: float | None
    reason: str
    valid_until: datetime


class BundleResponse(BaseModel):
    bundles: list[Bundle]
    mining_id: str | None = Field(description="The mining run the rules came from.")


__all__ = ["ALL_TYPES", "Bundle", "BundleRequest", "BundleResponse", "BundleType"]

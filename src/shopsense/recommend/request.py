"""The recommendation request and answer of the contract, with every validation rule.

Cross-field rules (who is asking, what a context needs) fail with the field they concern
in ``loc``, like the per-field rules, so a client sees ``["body", "product_id"]`` and not
just ``["body"]``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shopsense.tracking.schema import Id, Money

Context = Literal["home", "product", "cart", "category", "search", "email", "checkout"]
Strategy = Literal[
    "auto",
    "hybrid",
    "personalized",
    "collaborative",
    "content",
    "popular",
    "trending",
    "similar_items",
]
Objective = Literal["relevance", "revenue", "profit"]
Category = Annotated[str, Field(min_length=1, max_length=500)]
MAX_CART = 200
MAX_EXCLUDE = 1000
MAX_LIMIT = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def fail_fields(model: str, problems: list[tuple[tuple[str, ...], str]]) -> None:
    """Raise a pydantic ValidationError naming each (field path, message), so cross-field
    rules report the field they concern like per-field rules do."""
    if problems:
        raise ValidationError.from_exception_data(
            model,
            [
                InitErrorDetails(type=PydanticCustomError("invalid", msg), loc=loc, input=None)
                for loc, msg in problems
            ],
        )


class Filters(_Strict):
    """Business filters, applied to whatever the strategy ranks."""

    category: Category | None = Field(
        default=None, description='Category path prefix: "Home" matches "Home/Kitchen/Mugs".'
    )
    brand: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="Brand, case-insensitive."
    )
    price_min: Money | None = None
    price_max: Money | None = None
    in_stock_only: bool = Field(
        default=False, description="Only products with stock above 0 or not tracked (null)."
    )

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            fail_fields("Filters", [(("price_max",), "must not be below price_min")])
        return self


class RecommendationRequest(_Strict):
    """``POST /analytics/recommendations``. One of ``user_id``, ``anonymous_id`` or
    ``session_id`` names who asks; ``context`` says where the list is shown."""

    user_id: Id | None = None
    anonymous_id: Id | None = None
    session_id: Id | None = None
    context: Context = "home"
    product_id: Id | None = Field(
        default=None, description="The product on the page (required for context product)."
    )
    cart: list[Id] = Field(default_factory=list, max_length=MAX_CART)
    category: Category | None = Field(
        default=None, description="The category on the page (required for context category)."
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    strategy: Strategy = "auto"
    filters: Filters = Field(default_factory=Filters)
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_EXCLUDE)
    exclude_purchased: bool = Field(
        default=False,
        description="Drop what the user bought, except what they rebuy (the repeat model).",
    )
    diversity: float = Field(
        default=0.0, ge=0.0, le=1.0, description="0: pure relevance; 1: spread over categories."
    )
    objective: Objective = Field(
        default="relevance",
        description="Rank by relevance, or by expected revenue (x price) or profit (x margin).",
    )

    @model_validator(mode="after")
    def _who_and_where(self) -> Self:
        problems: list[tuple[tuple[str, ...], str]] = []
        if not (self.user_id or self.anonymous_id or self.session_id):
            problems.append((("user_id",), "one of user_id, anonymous_id or session_id is needed"))
        if self.context == "product" and not self.product_id:
            problems.append((("product_id",), "is required when context is 'product'"))
        if self.context == "category" and not (self.category or self.filters.category):
            problems.append((("category",), "is required when context is 'category'"))
        fail_fields("RecommendationRequest", problems)
        return self


class Reason(BaseModel):
    kind: str = Field(
        description="similar_to, bought_together, because_you_viewed, buy_again, personalized, "
        "popular, popular_in_segment, trending or trending_in_category"
    )
    detail: str | None = Field(
        description="What the kind refers to: a product name, a category or a segment."
    )


class RecommendedItem(BaseModel):
    product_id: str
    rank: int
    score: float
    reason: Reason
    name: str
    price: float | None


class Experiment(BaseModel):
    name: str
    variant: str


class RecommendationResponse(BaseModel):
    recommendation_id: str
    strategy: str
    model_version: str
    experiment: Experiment | None
    items: list[RecommendedItem]


def logged_request(request: RecommendationRequest) -> dict[str, Any]:
    """What the log keeps of a request beyond its own columns: filters, cart, options."""
    return request.model_dump(
        mode="json", exclude={"user_id", "anonymous_id", "session_id", "context"}
    )


__all__ = [
    "Context",
    "Experiment",
    "Filters",
    "Objective",
    "Reason",
    "RecommendationRequest",
    "RecommendationResponse",
    "RecommendedItem",
    "Strategy",
    "logged_request",
]

"""``POST /analytics/recommendations``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from shopsense.api.body import read_json, validated
from shopsense.api.deps import SettingsDep, WriteKey
from shopsense.recommend.engine import PersonalizationEngine
from shopsense.recommend.request import RecommendationRequest, RecommendationResponse

router = APIRouter(tags=["personalization"])


def get_personalization(request: Request) -> PersonalizationEngine:
    engine: PersonalizationEngine = request.app.state.personalization
    return engine


Personalization = Annotated[PersonalizationEngine, Depends(get_personalization)]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RecommendationRequest"}}
        },
    }
}


@router.post(
    "/analytics/recommendations",
    response_model=RecommendationResponse,
    summary="Recommend products",
    openapi_extra=_BODY,
    responses={
        404: {"description": "product_id names no product"},
        503: {"description": "No model trained yet: run `shopsense train`"},
    },
)
async def recommendations(
    request: Request, _: WriteKey, settings: SettingsDep, engine: Personalization
) -> dict[str, Any]:
    """Products for one shopper in one context, each with a reason, logged under the answer's
    ``recommendation_id`` (echo it, with ``position``, on recommendation_view and
    recommendation_click events).

    Who: a ``user_id`` the models know is scored from their history; a visitor (an unknown
    ``user_id``, an ``anonymous_id`` or a ``session_id``) from the product views, carts and
    purchases tracked for that session or browser so far - no retraining needed - plus the
    ``cart`` and ``product_id`` sent; with none of these, popularity (within the user's value
    segment when their profile has one).

    Strategy ``auto``: on product, cart and checkout pages the items similar to the page's
    products and bought with them; elsewhere the hybrid ranker when one is trained, else a
    rank blend of the personal models (known users), the neighbours of the session's items
    (visitors) or popularity (strangers). ``strategy`` in the answer is the one used: an
    explicit strategy whose model is not trained, or that has nothing to work from, falls
    back to ``auto``'s choice, and ``popular`` when nothing at all matched. Short lists are
    filled from popularity (reason ``popular``).

    Context: ``product`` excludes ``product_id`` (required); ``cart`` and ``checkout`` exclude
    the cart; ``category`` keeps only products under ``category`` (required; a path prefix);
    ``home``, ``search`` and ``email`` add no rule. Filters, ``exclude`` and
    ``exclude_purchased`` (which keeps what the repeat model expects to be bought again)
    apply to every strategy; inactive products never appear.

    ``score`` is the objective's value: relevance in (0, 1] (reciprocal-rank fusion of the
    strategy's models, 1 for the best candidate), times the price for ``revenue`` or the
    margin for ``profit``. ``diversity`` re-ranks by maximal marginal relevance over
    categories, so with diversity above 0 scores need not fall with rank."""
    payload = await read_json(request, settings.max_body_bytes)
    body = validated(RecommendationRequest, payload)
    answer: dict[str, Any] = await run_in_threadpool(engine.recommend, body)
    return answer

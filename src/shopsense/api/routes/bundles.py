"""``POST /analytics/bundles``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from shopsense.api.body import read_json, validated
from shopsense.api.deps import SettingsDep, WriteKey
from shopsense.bundles.engine import BundleAutomationEngine
from shopsense.bundles.request import BundleRequest, BundleResponse

router = APIRouter(tags=["bundles"])


def get_bundles(request: Request) -> BundleAutomationEngine:
    engine: BundleAutomationEngine = request.app.state.bundles
    return engine


Bundles = Annotated[BundleAutomationEngine, Depends(get_bundles)]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BundleRequest"}}},
    }
}


@router.post(
    "/analytics/bundles",
    response_model=BundleResponse,
    summary="Bundles for a shopper and page",
    openapi_extra=_BODY,
    responses={404: {"description": "product_id names no product"}},
)
async def bundles(
    request: Request, _: WriteKey, settings: SettingsDep, engine: Bundles
) -> dict[str, Any]:
    """Bundles of the requested ``types`` for the product on the page (``product_id``), the
    ``cart``, or — on a home page — the shopper's recent items, each priced at the discount
    that maximises expected profit within the margin floor and the maximum discount
    (SHOPSENSE_BUNDLE_MARGIN_FLOOR, SHOPSENSE_BUNDLE_MAX_DISCOUNT), with the reason.

    Every bundle offered is stored (``bundle_recommendation``) under its ``bundle_id``: echo
    it on bundle_view, bundle_click and bundle_add_to_cart events. Types (defined in
    docs/bundles.md): ``complementary`` (bought together far more than chance),
    ``cross_sell`` (complements from another department), ``upsell`` (a premium alternative
    in the same category, with an accessory), ``seasonal`` (sales concentrating in the
    coming weeks), ``promotional`` (an overstocked item with a best seller). The rules come
    from the newest ``shopsense bundles mine`` run; before any run only upsell, seasonal and
    promotional bundles can be built."""
    payload = await read_json(request, settings.max_body_bytes)
    body = validated(BundleRequest, payload)
    answer: dict[str, Any] = await run_in_threadpool(engine.bundles, body)
    return answer

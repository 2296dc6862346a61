"""Catalog and marketing spend: ``PUT /catalog/products``, ``GET``/``DELETE
/catalog/products/{product_id}``, ``POST /marketing/spend``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from shopsense.api.body import expect_list, read_json
from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.catalog import (
    ProductIn,
    deactivate_product,
    get_product,
    product_rows,
    upsert_products,
)
from shopsense.clock import utcnow
from shopsense.marketing.spend import SpendIn, upsert_spend
from shopsense.timefmt import UtcDatetime
from shopsense.validation import validate_each

router = APIRouter(tags=["catalog and spend"])
MAX_ITEMS = 1000


class UpsertResponse(BaseModel):
    upserted: int
    rejected: list[dict[str, Any]]


class ProductOut(ProductIn):
    model_config = ConfigDict(extra="ignore")

    cost: float
    cost_estimated: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


def _list_body(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    schema = {"type": "array", "items": ref, "maxItems": MAX_ITEMS}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.put("/catalog/products", response_model=UpsertResponse, openapi_extra=_list_body(ProductIn))
async def put_products(
    request: Request, _: SecretKey, db: DbDep, settings: SettingsDep
) -> UpsertResponse:
    """Bulk upsert (at most 1,000 a request). Good products are stored; bad ones are named by
    index. A product without ``cost`` gets an estimated one (see ``default_margin``)."""
    raw = expect_list(await read_json(request, settings.max_body_bytes), MAX_ITEMS, "products")
    products, _positions, rejected = validate_each(ProductIn, raw)
    rows = product_rows(products, default_margin=settings.default_margin, now=utcnow())

    def write() -> int:
        with db.write() as conn:
            return upsert_products(conn, rows)

    return UpsertResponse(upserted=await run_in_threadpool(write), rejected=rejected)


@router.get("/catalog/products/{product_id}", response_model=ProductOut)
def read_product(product_id: str, _: SecretKey, db: DbDep) -> dict[str, Any]:
    with db.read() as conn:
        return get_product(conn, product_id)


@router.delete("/catalog/products/{product_id}", response_model=ProductOut)
def delete_product(product_id: str, _: SecretKey, db: DbDep) -> dict[str, Any]:
    """Deactivates the product (orders and events keep referring to it)."""
    with db.write() as conn:
        return deactivate_product(conn, product_id, utcnow())


@router.post("/marketing/spend", response_model=UpsertResponse, openapi_extra=_list_body(SpendIn))
async def post_spend(
    request: Request, _: SecretKey, db: DbDep, settings: SettingsDep
) -> UpsertResponse:
    """Spend lines ``[{date, channel, campaign, amount}]``; a repeat of the same
    (date, channel, campaign) replaces its amount."""
    raw = expect_list(await read_json(request, settings.max_body_bytes), MAX_ITEMS, "lines")
    lines, _positions, rejected = validate_each(SpendIn, raw)

    def write() -> int:
        with db.write() as conn:
            return upsert_spend(conn, lines, utcnow())

    return UpsertResponse(upserted=await run_in_threadpool(write), rejected=rejected)

"""The catalog: bulk upsert, read, deactivate. ``cost`` drives every margin; a product sent
without one gets ``price x (1 - default_margin)`` and is flagged ``cost_estimated``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection, select, update

from shopsense.db.models import products_table as PRODUCTS
from shopsense.db.upsert import insert
from shopsense.errors import NotFound
from shopsense.tracking.schema import Id, Money, Text, _properties

_Name = Annotated[Text, Field(max_length=500)]


class ProductIn(BaseModel):
    """One product of ``PUT /catalog/products``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_id: Id
    name: _Name = ""
    description: Annotated[Text, Field(max_length=20_000)] | None = None
    category: _Name | None = Field(default=None, description='A path, e.g. "Home/Kitchen/Mugs".')
    brand: Annotated[Text, Field(max_length=255)] | None = None
    price: Money
    cost: Money | None = None
    stock: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    attributes: Annotated[dict[str, Any], AfterValidator(_properties)] | None = None
    tags: Annotated[list[Annotated[Text, Field(max_length=100)]], Field(max_length=100)] | None = (
        None
    )
    active: bool = True

    @model_validator(mode="after")
    def _clean_category(self) -> ProductIn:
        if self.category is not None:
            self.category = "/".join(p.strip() for p in self.category.split("/") if p.strip())
        return self


def product_rows(
    products: list[ProductIn], *, default_margin: float, now: datetime
) -> list[dict[str, Any]]:
    """Rows for ``products`` with estimated costs filled in."""
    rows = []
    for p in products:
        row = p.model_dump()
        row["cost_estimated"] = p.cost is None
        if p.cost is None:
            row["cost"] = round(p.price * (1.0 - default_margin), 4)
        row["created_at"] = now
        row["updated_at"] = now
        rows.append(row)
    return rows


def upsert_products(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert or replace products (all fields but ``created_at``) in one statement."""
    if not rows:
        return 0
    stmt = insert(conn, PRODUCTS)
    replaced = {
        c.name: stmt.excluded[c.name]
        for c in PRODUCTS.columns
        if c.name not in ("product_id", "created_at")
    }
    conn.execute(stmt.on_conflict_do_update(index_elements=["product_id"], set_=replaced), rows)
    return len(rows)


def get_product(conn: Connection, product_id: str) -> dict[str, Any]:
    row = conn.execute(select(PRODUCTS).where(PRODUCTS.c.product_id == product_id)).mappings()
    found = row.first()
    if found is None:
        raise NotFound(f"no product {product_id!r}")
    return dict(found)


def deactivate_product(conn: Connection, product_id: str, now: datetime) -> dict[str, Any]:
    """Products are deactivated, never deleted: orders and events keep pointing at them."""
    result = conn.execute(
        update(PRODUCTS)
        .where(PRODUCTS.c.product_id == product_id)
        .values(active=False, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFound(f"no product {product_id!r}")
    return get_product(conn, product_id)

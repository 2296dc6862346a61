"""The product catalog."""

from shopsense.catalog.products import (
    ProductIn,
    deactivate_product,
    get_product,
    product_rows,
    upsert_products,
)

__all__ = ["ProductIn", "deactivate_product", "get_product", "product_rows", "upsert_products"]

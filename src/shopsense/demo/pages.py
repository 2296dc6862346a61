"""Addresses in the demo shop: page paths and the ids of its bundles."""

from __future__ import annotations

BASE_URL = "https://shop.example.com"


def bundle_id(group: int) -> str:
    """The bundle offering co-purchase group ``group`` (0-based)."""
    return f"bundle-{group + 1:02d}"


def slug(text: str) -> str:
    return "-".join(text.lower().replace("&", "and").split())


def category_page(category: str) -> str:
    return "/c/" + "/".join(slug(part) for part in category.split("/"))


def brand_page(brand: str) -> str:
    return "/brands/" + slug(brand)

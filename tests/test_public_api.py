"""The public names of each package are pinned, so they cannot drift silently."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "shopsense.tracking": [
        "ACTIVITY_TYPES",
        "SEGMENT_NAMES",
        "Event",
        "StoreResult",
        "TrackResult",
        "canonical_type",
        "rule_errors",
        "store_events",
        "track_events",
    ],
    "shopsense.catalog": [
        "ProductIn",
        "deactivate_product",
        "get_product",
        "product_rows",
        "upsert_products",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_members(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name

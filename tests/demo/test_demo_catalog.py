"""The generated catalog: every product has its own name, as in a real shop."""

from __future__ import annotations

import numpy as np

from shopsense.demo.catalog import _unique, build_catalog


def test_names_are_unique_even_in_a_large_catalog() -> None:
    catalog = build_catalog(np.random.default_rng(42), 2_000)
    assert len(set(catalog.names)) == len(catalog.names) == 2_000


def test_repeats_get_a_model_number() -> None:
    assert _unique(["Acme Mug", "Zed Pan", "Acme Mug", "Acme Mug"]) == [
        "Acme Mug", "Zed Pan", "Acme Mug 2", "Acme Mug 3",
    ]  # fmt: skip

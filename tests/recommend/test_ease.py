"""EASE: the contract, plus the closed form against hand algebra and per-item ridge solves."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from contract import AS_OF, RecommenderContract

from shopsense.errors import ValidationFailed
from shopsense.recommend import Interactions
from shopsense.recommend.models import EASE, MODELS
from shopsense.recommend.models import ease as ease_module

L = math.log1p(5.0)  # one purchase: confidence 5, fitted as log1p


class TestEASE(RecommenderContract):
    def make(self) -> EASE:
        return EASE()


def _events(pairs: list[tuple[str, str, str]]) -> Interactions:
    frame = pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "kind": k, "timestamp": AS_OF - timedelta(days=1)}
            for u, i, k in pairs
        ]
    )
    return Interactions.from_events(frame, AS_OF)


def test_two_items_by_hand() -> None:
    """With two items B is two ridge regressions on one variable: B_ab = G_ab / (G_aa + λ).

    a is bought by u1, u2; b by u1, u3, u4: G_aa = 2L², G_bb = 3L², G_ab = L²."""
    data = _events(
        [("u1", "a", "purchase"), ("u1", "b", "purchase"), ("u2", "a", "purchase"),
         ("u3", "b", "purchase"), ("u4", "b", "purchase")]
    )  # fmt: skip
    model = EASE(lambda_=1.0).fit(data)
    a, b = data.item_index("a"), data.item_index("b")
    expected = np.zeros((2, 2))
    expected[a, b] = L**2 / (2 * L**2 + 1)
    expected[b, a] = L**2 / (3 * L**2 + 1)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-6)
    # A visitor who viewed a (confidence 1) scores b at log1p(1) x B_ab.
    scores = model.score(np.array([-1]), data.history(["a"]))[0]
    np.testing.assert_allclose(scores[[a, b]], [0.0, math.log(2) * expected[a, b]], rtol=1e-6)


@pytest.mark.parametrize("block", [ease_module.MIRROR_BLOCK, 5])
def test_closed_form_is_each_items_ridge_regression(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steck's B column j is the ridge regression of item j on all the other items: solved
    here one item at a time, independently of the closed form (the in-place inverse is
    mirrored in one block, then in several)."""
    monkeypatch.setattr(ease_module, "MIRROR_BLOCK", block)
    rng = np.random.default_rng(11)
    kinds = ["view", "cart", "purchase"]
    pairs = [
        (f"u{rng.integers(0, 30)}", f"i{rng.integers(0, 12)}", kinds[rng.integers(0, 3)])
        for _ in range(200)
    ]
    data = _events(pairs)
    lam = 3.0
    model = EASE(lambda_=lam).fit(data)
    x = data.matrix.toarray()
    x = np.log1p(x)
    n = x.shape[1]
    expected = np.zeros((n, n))
    for j in range(n):
        others = [i for i in range(n) if i != j]
        xo = x[:, others]
        expected[others, j] = np.linalg.solve(xo.T @ xo + lam * np.eye(n - 1), xo.T @ x[:, j])
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-4, atol=1e-6)
    assert model.weights_.dtype == np.float32 and model.weights_.flags.c_contiguous


def test_catalog_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _events([("u1", "a", "purchase"), ("u1", "b", "purchase"), ("u2", "c", "view")])
    monkeypatch.setattr(ease_module, "MAX_ITEMS", 2)
    with pytest.raises(ValidationFailed, match="3 items is over the 2"):
        EASE().fit(data)


def test_parameters_are_checked_and_registered() -> None:
    assert MODELS["ease"] is EASE
    with pytest.raises(ValidationFailed):
        EASE(lambda_=0.0)

"""The sparse miner on baskets small enough to count by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from shopsense.bundles import association_rules, basket_matrix, frequent_itemsets
from shopsense.errors import ValidationFailed

# 5 baskets: A B C | A B | A C | B C D | A B C D
BASKETS = pl.DataFrame(
    [("o1", "A"), ("o1", "B"), ("o1", "C"), ("o2", "A"), ("o2", "B"), ("o2", "B"),
     ("o3", "A"), ("o3", "C"), ("o4", "B"), ("o4", "C"), ("o4", "D"),
     ("o5", "A"), ("o5", "B"), ("o5", "C"), ("o5", "D")],
    schema=["order_id", "product_id"],
    orient="row",
)  # fmt: skip


def _by_names(frame: pl.DataFrame, names: list[str]) -> dict[tuple[str, ...], int]:
    return {
        tuple(names[i] for i in items): count
        for items, count in frame.select("items", "count").iter_rows()
    }


def test_counts_by_hand() -> None:
    x, names = basket_matrix(BASKETS, "order_id", "product_id")
    assert x.shape == (5, 4) and names == ["A", "B", "C", "D"]
    found = frequent_itemsets(x, min_support=0.4, max_len=3)
    # Items: A 4, B 4, C 4, D 2 (o2's second B counts once). Pairs: AB 3, AC 3, AD 1,
    # BC 3, BD 2, CD 2. Triples: ABC 2, ABD 1, ACD 1, BCD 2. At 40 % (2 baskets):
    assert _by_names(found.frame, names) == {
        ("A",): 4, ("B",): 4, ("C",): 4, ("D",): 2,
        ("A", "B"): 3, ("A", "C"): 3, ("B", "C"): 3, ("B", "D"): 2, ("C", "D"): 2,
        ("A", "B", "C"): 2, ("B", "C", "D"): 2,
    }  # fmt: skip
    assert found.frame.filter(pl.col("count") == 3)["support"].to_list() == pytest.approx([0.6] * 3)


def test_max_len_and_support_threshold() -> None:
    x, names = basket_matrix(BASKETS, "order_id", "product_id")
    pairs = frequent_itemsets(x, min_support=0.6, max_len=2)
    assert _by_names(pairs.frame, names) == {
        ("A",): 4, ("B",): 4, ("C",): 4, ("A", "B"): 3, ("A", "C"): 3, ("B", "C"): 3,
    }  # fmt: skip
    with pytest.raises(ValidationFailed):
        frequent_itemsets(x, min_support=0.0)
    with pytest.raises(ValidationFailed):
        frequent_itemsets(x, min_support=0.5, max_len=4)


def test_rules_by_hand() -> None:
    x, names = basket_matrix(BASKETS, "order_id", "product_id")
    rules = association_rules(frequent_itemsets(x, min_support=0.4, max_len=3))
    d = names.index("D")
    b = names.index("B")
    # D -> B: support 2/5, confidence 2/2 = 1, lift 1 / (4/5) = 1.25, conviction inf.
    rule = rules.filter((pl.col("antecedent") == [d]) & (pl.col("consequent") == b)).row(
        0, named=True
    )
    assert rule["support"] == pytest.approx(0.4)
    assert rule["confidence"] == 1.0 and rule["lift"] == pytest.approx(1.25)
    assert math.isinf(rule["conviction"])
    # B -> D: confidence 2/4 = 0.5, lift 0.5 / 0.4 = 1.25, conviction (1 - 0.4) / 0.5 = 1.2.
    rule = rules.filter((pl.col("antecedent") == [b]) & (pl.col("consequent") == d)).row(
        0, named=True
    )
    assert rule["confidence"] == 0.5 and rule["lift"] == pytest.approx(1.25)
    assert rule["conviction"] == pytest.approx(1.2)
    # B C -> D from the triple BCD (2) and BC (3): confidence 2/3.
    c = names.index("C")
    rule = rules.filter((pl.col("antecedent") == [b, c]) & (pl.col("consequent") == d)).row(
        0, named=True
    )
    assert rule["confidence"] == pytest.approx(2 / 3)


def test_random_baskets_match_brute_force_in_any_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against counting every itemset of every basket directly; the triple counter is forced to
    hold only a few baskets at a time, and repeated entries (quantities) count once."""
    import itertools

    import numpy as np
    import scipy.sparse as sp

    from shopsense.bundles import mining

    rng = np.random.default_rng(7)
    dense = rng.random((300, 12)) < np.linspace(0.05, 0.6, 12)
    quantities = dense * rng.integers(1, 4, dense.shape)
    truth: dict[tuple[int, ...], int] = {}
    for row in dense:
        items = np.flatnonzero(row).tolist()
        for k in (1, 2, 3):
            for combo in itertools.combinations(items, k):
                truth[combo] = truth.get(combo, 0) + 1
    min_count = 15
    expected = {items: n for items, n in truth.items() if n >= min_count}
    for budget in (None, 12 * 7):
        monkeypatch.setattr(mining, "_DENSE_BUDGET", budget or mining._DENSE_BUDGET)
        found = frequent_itemsets(sp.csr_matrix(quantities), min_support=min_count / 300, max_len=3)
        got = {tuple(items): n for items, n in found.frame.select("items", "count").iter_rows()}
        assert got == expected

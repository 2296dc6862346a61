"""Content (TF-IDF): the contract, plus cosines worked out by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from contract import AS_OF, RecommenderContract

from shopsense.errors import ValidationFailed
from shopsense.recommend import Interactions
from shopsense.recommend.models import MODELS, Content
from shopsense.recommend.models.content import item_documents


class TestContent(RecommenderContract):
    def make(self) -> Content:
        return Content()


def _store(items: list[dict[str, str | None]]) -> Interactions:
    events = pl.DataFrame(
        {
            "user_id": ["u1"],
            "item_id": [items[0]["item_id"]],
            "kind": ["view"],
            "timestamp": [AS_OF - timedelta(days=1)],
        }
    )
    return Interactions.from_events(events, AS_OF, items=pl.DataFrame(items))


def test_content_is_registered() -> None:
    assert MODELS["content"] is Content


def test_category_path_gives_levels_and_prefixes() -> None:
    items = pl.DataFrame(
        {"item_id": ["a"], "category": ["Home/Kitchen Ware/Mugs"], "brand": ["Acme Home"]}
    )
    terms = item_documents(items)[0]
    assert {"home", "kitchen", "ware", "kitchen ware", "mugs", "acme", "acme home"} <= set(terms)
    assert {
        "category:home",
        "category:home/kitchen ware",
        "category:home/kitchen ware/mugs",
        "brand:acme home",
    } <= set(terms)
    assert "mugs home" not in terms  # no bigram across a level or a field


def test_cosine_of_two_hand_written_items() -> None:
    """Items "red mug" and "blue mug" have the terms red, mug, "red mug" and blue, mug,
    "blue mug"; with n = 2 documents the smooth idf is 1 + ln(3/2) for a term of one item
    and 1 for "mug", tf is 1 everywhere, so the cosine is 1 / (2 idf² + 1)."""
    data = _store([{"item_id": "a", "name": "Red mug"}, {"item_id": "b", "name": "blue MUG"}])
    model = Content().fit(data)
    idf = 1.0 + math.log(3 / 2)
    expected = 1.0 / (2 * idf**2 + 1.0)
    a, b = data.item_index("a"), data.item_index("b")
    scores = model.score(np.array([-1]), data.history(["a"]))[0]
    assert scores[b] == pytest.approx(expected, rel=1e-12)
    assert scores[a] == pytest.approx(1.0, rel=1e-12)


def test_repeated_terms_are_damped_and_history_weights_count() -> None:
    """Sublinear tf: "tea tea tea tea" weighs "tea" 1 + ln 4, not 4. A history of 3 x a and
    1 x c is the profile 3·v_a + v_c, normalised."""
    items = [
        {"item_id": "a", "name": "tea tea tea tea"},
        {"item_id": "b", "name": "tea cup"},
        {"item_id": "c", "name": "cup"},
    ]
    data = _store(items)
    model = Content().fit(data)
    # Vocabulary: tea (df 2), cup (df 2), "tea tea" (df 1), "tea cup" (df 1); n = 3.
    common, single = 1.0 + math.log(4 / 3), 1.0 + math.log(4 / 2)
    tf4, tf3 = 1.0 + math.log(4), 1.0 + math.log(3)
    # columns: tea, cup, "tea tea", "tea cup"
    va = np.array([tf4 * common, 0.0, tf3 * single, 0.0])
    vb = np.array([common, common, 0.0, single])
    vc = np.array([0.0, common, 0.0, 0.0])
    va, vb, vc = (v / np.linalg.norm(v) for v in (va, vb, vc))
    profile = 3 * va + vc
    profile /= np.linalg.norm(profile)
    history = data.history(["a", "c"], weights=[3.0, 1.0])
    scores = model.score(np.array([-1]), history)[0]
    got = [scores[data.item_index(i)] for i in "abc"]
    np.testing.assert_allclose(got, [profile @ va, profile @ vb, profile @ vc], rtol=1e-12)


def test_items_without_text_score_zero_and_similar_items_follow_the_category() -> None:
    data = _store(
        [
            {"item_id": "a", "name": "Mug", "category": "Home/Mugs", "brand": "Acme"},
            {"item_id": "b", "name": "Cup", "category": "Home/Mugs", "brand": "Zed"},
            {"item_id": "c", "name": "Kite", "category": "Toys/Outdoor", "brand": "Zed"},
            {"item_id": "d", "name": None, "description": "", "category": None},
        ]
    )
    model = Content().fit(data)
    scores = model.score(np.array([0]), data.history(["a"]))[0]
    assert scores[data.item_index("d")] == 0.0
    assert scores[data.item_index("c")] == 0.0  # shares nothing with a mug by Acme
    ids, _ = model.similar_items(data.item_indexes(["a", "c"]), n=1)
    assert data.item_ids[ids[0, 0]] == "b"
    assert data.item_ids[ids[1, 0]] == "b"  # the other Zed item
    # A history of a text-less item gives no preference at all.
    blank = model.score(np.array([-1]), data.history(["d"]))[0]
    assert not blank.any()


def test_a_catalog_without_text_still_fits() -> None:
    data = _store([{"item_id": "a", "name": None}, {"item_id": "b", "name": "  "}])
    model = Content().fit(data)
    assert not model.score(np.array([0]), data.user_items(np.array([0]))).any()
    ids, scores = model.recommend(np.array([0]), data.user_items(np.array([0])), n=2)
    assert ids.shape == (1, 2) and (scores == 0).all()


def test_min_df_prunes_rare_terms() -> None:
    items = [
        {"item_id": "a", "name": "red mug"},
        {"item_id": "b", "name": "blue mug"},
    ]
    data = _store(items)
    model = Content(min_df=2).fit(data)  # only "mug" is left: the two items are the same
    scores = model.score(np.array([-1]), data.history(["a"]))[0]
    assert scores[data.item_index("b")] == pytest.approx(1.0)
    with pytest.raises(ValidationFailed):
        Content(min_df=0)

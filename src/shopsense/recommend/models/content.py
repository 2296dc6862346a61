"""Content-based recommendations: TF-IDF over what the catalog says about each item.

The only model that needs no interactions with an item, so it covers new products and
shops too young for collaborative filtering. Each item is one document of its name,
description, brand, attributes and category path; a user is the weighted sum of the
documents in their history. Only the L2-normalised item vectors are kept: the vocabulary
is not needed to score, since users arrive as history rows, not as text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from shopsense.errors import ValidationFailed
from shopsense.recommend.base import Floats, Ints, Recommender, State
from shopsense.recommend.interactions import Interactions

TEXT_FIELDS = ("name", "description", "attributes")
Document = list[str]


def _words() -> Callable[[str], list[str]]:
    """Lower-cased, accent-stripped word unigrams and bigrams of one text field."""
    analyzer: Callable[[str], list[str]] = TfidfVectorizer(
        ngram_range=(1, 2), strip_accents="unicode", lowercase=True
    ).build_analyzer()
    return analyzer


def item_documents(items: pl.DataFrame) -> list[Document]:
    """The terms of each item, field by field (no bigram spans two fields).

    A category "Home/Kitchen/Mugs" gives the words of each level and one term per path
    prefix ("category:home", "category:home/kitchen", ...), so items share the broad
    levels and items of the same leaf share more; a brand gives its words and one
    whole-brand term, so "Acme Home" is not half of "Home Depot"."""
    words = _words()
    columns = {
        c: items[c].to_list() if c in items.columns else [None] * items.height
        for c in (*TEXT_FIELDS, "category", "brand")
    }
    docs: list[Document] = []
    for row in range(items.height):
        terms: Document = []
        for c in TEXT_FIELDS:
            text = columns[c][row]
            if text:
                terms += words(text)
        brand = columns["brand"][row]
        if brand and brand.strip():
            terms += words(brand)
            terms.append("brand:" + " ".join(brand.lower().split()))
        category = columns["category"][row]
        if category:
            levels = [" ".join(level.lower().split()) for level in category.split("/")]
            levels = [level for level in levels if level]
            for depth, level in enumerate(levels):
                terms += words(level)
                terms.append("category:" + "/".join(levels[: depth + 1]))
        docs.append(terms)
    return docs


def _as_is(doc: Document) -> Document:
    return doc


def item_vectors(items: pl.DataFrame, min_df: int = 1) -> sp.csr_matrix:
    """L2-normalised sublinear TF-IDF vectors of the items' documents, one row per item
    (no columns when there is no text to learn from: every similarity is then 0)."""
    docs = item_documents(items)
    frequency = Counter(term for doc in docs for term in set(doc))
    if not frequency or max(frequency.values()) < min_df:
        return sp.csr_matrix((items.height, 0))
    vectorizer = TfidfVectorizer(
        analyzer=_as_is, sublinear_tf=True, min_df=min_df, dtype=np.float64
    )
    return sp.csr_matrix(vectorizer.fit_transform(docs))


class Content(Recommender):
    """Cosine similarity of sublinear TF-IDF item vectors; a user's profile is their
    history row (event weights) times the item vectors, normalised.

    ``min_df`` defaults to 1: in a catalog of dozens of items most useful terms occur only
    a few times, and a term of one item still tells how specific that item is."""

    name = "content"

    def __init__(self, min_df: int = 1) -> None:
        super().__init__()
        self._configure(min_df=min_df)
        self._set_vectors(sp.csr_matrix((0, 0)))

    def _set_vectors(self, vectors: sp.csr_matrix) -> None:
        self.item_vectors_ = vectors
        # Transposed once here rather than by every ``score`` call (it dominated a request).
        self._vectors_t = sp.csr_matrix(vectors.T)

    def _configure(self, min_df: int) -> None:
        if int(min_df) < 1:
            raise ValidationFailed(f"min_df must be at least 1, not {min_df!r}")
        self.min_df = int(min_df)

    def _fit(self, data: Interactions) -> None:
        self._set_vectors(item_vectors(data.items, self.min_df))

    def score(self, users: Ints, user_items: sp.csr_matrix) -> Floats:
        self._check_fitted()
        rows = sp.csr_matrix(user_items, dtype=np.float64)
        profiles = sp.csr_matrix(rows @ self.item_vectors_)
        norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel())
        inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        # diag(inverse) as CSR without its zeros, as ``sp.diags(...).tocsr()`` gives it, but
        # built directly: the DIA detour cost more than the products.
        rows_kept = np.flatnonzero(inverse)
        indptr = np.concatenate(([0], np.cumsum(inverse != 0)))
        scale = sp.csr_matrix(
            (inverse[rows_kept], rows_kept, indptr), shape=(len(inverse), len(inverse))
        )
        scores = sp.csr_matrix(scale @ profiles @ self._vectors_t)
        return np.asarray(scores.toarray(), dtype=np.float64)

    def _state(self) -> State:
        return {
            "item_vectors": self.item_vectors_,
            "params": {"min_df": self.min_df},
        }

    def _restore(self, state: State) -> None:
        self._configure(**state["params"])
        self._set_vectors(sp.csr_matrix(state["item_vectors"], dtype=np.float64))


__all__ = ["Content", "item_documents"]

"""The recommenders; ``MODELS`` names each class by its ``name``."""

from shopsense.recommend.base import Recommender
from shopsense.recommend.models.content import Content
from shopsense.recommend.models.ease import EASE
from shopsense.recommend.models.factors import ALS, BPR
from shopsense.recommend.models.hybrid import Hybrid
from shopsense.recommend.models.item_knn import ItemKNN
from shopsense.recommend.models.popular import Popular, Trending
from shopsense.recommend.models.repeat import Repeat

MODELS: dict[str, type[Recommender]] = {
    m.name: m for m in (Popular, Trending, ALS, BPR, Content, Repeat, ItemKNN, EASE, Hybrid)
}

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "MODELS",
    "Content",
    "Hybrid",
    "ItemKNN",
    "Popular",
    "Repeat",
    "Trending",
]

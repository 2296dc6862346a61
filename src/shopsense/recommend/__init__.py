"""Recommendations: the models behind one interface, and the PersonalizationEngine."""

from shopsense.recommend.base import ModelFailure, Recommender, top_n
from shopsense.recommend.interactions import Interactions

__all__ = ["Interactions", "ModelFailure", "Recommender", "top_n"]

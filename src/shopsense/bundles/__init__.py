"""Bundles: frequent itemsets and association rules mined from baskets and sessions, five
bundle types built from them and from seasonality and stock, priced for profit."""

from shopsense.bundles.engine import BundleAutomationEngine
from shopsense.bundles.mining import Itemsets, association_rules, basket_matrix, frequent_itemsets
from shopsense.bundles.pricing import PricingPolicy, Quotes, fit_response, price_bundles, take_rate
from shopsense.bundles.request import BundleRequest
from shopsense.bundles.rules import MiningSummary, load_rules, mine, mine_rules

__all__ = [
    "BundleAutomationEngine",
    "BundleRequest",
    "Itemsets",
    "MiningSummary",
    "PricingPolicy",
    "Quotes",
    "association_rules",
    "basket_matrix",
    "fit_response",
    "frequent_itemsets",
    "load_rules",
    "mine",
    "mine_rules",
    "price_bundles",
    "take_rate",
]

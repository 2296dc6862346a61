"""Bundles: frequent itemsets and association rules mined from baskets and sessions."""

from shopsense.bundles.mining import Itemsets, association_rules, basket_matrix, frequent_itemsets

__all__ = ["Itemsets", "association_rules", "basket_matrix", "frequent_itemsets"]

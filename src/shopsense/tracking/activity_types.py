"""The activity types of the contract and the names accepted for them.

Every type is accepted in snake case, in the seed's upper case (``PRODUCT_VIEW``) and, where
Segment's e-commerce or lifecycle spec names the same thing, by Segment's name
(``Product Viewed``). Names are matched after folding case and spaces/hyphens to ``_``.
"""

from __future__ import annotations

import re

ACTIVITY_TYPES: tuple[str, ...] = (
    "page_view", "screen_view", "product_view", "product_list_view", "product_click",
    "category_browse", "brand_browse", "search", "filter_applied", "sort_applied",
    "product_compare", "add_to_cart", "remove_from_cart", "cart_view", "cart_abandonment",
    "checkout_start", "checkout_step", "payment_info_entered", "coupon_applied",
    "coupon_removed", "purchase", "order_refunded", "order_cancelled", "return_requested",
    "wishlist_add", "wishlist_remove", "review", "rating", "question_asked", "product_share",
    "email_open", "email_click", "push_notification_open", "sms_click", "ad_click",
    "promotion_view", "promotion_click", "signup", "login", "logout", "profile_update",
    "newsletter_subscribe", "newsletter_unsubscribe", "recommendation_view",
    "recommendation_click", "bundle_view", "bundle_click", "bundle_add_to_cart",
    "back_in_stock_subscribe", "price_alert_subscribe", "video_play", "chat_started",
)  # fmt: skip

SEGMENT_NAMES: dict[str, str] = {
    "Page Viewed": "page_view",
    "Screen Viewed": "screen_view",
    "Products Searched": "search",
    "Product List Viewed": "product_list_view",
    "Product List Filtered": "filter_applied",
    "Product Clicked": "product_click",
    "Product Viewed": "product_view",
    "Product Added": "add_to_cart",
    "Product Removed": "remove_from_cart",
    "Cart Viewed": "cart_view",
    "Cart Abandoned": "cart_abandonment",
    "Checkout Started": "checkout_start",
    "Checkout Step Viewed": "checkout_step",
    "Checkout Step Completed": "checkout_step",
    "Payment Info Entered": "payment_info_entered",
    "Coupon Entered": "coupon_applied",
    "Coupon Applied": "coupon_applied",
    "Coupon Removed": "coupon_removed",
    "Order Completed": "purchase",
    "Order Refunded": "order_refunded",
    "Order Cancelled": "order_cancelled",
    "Product Added to Wishlist": "wishlist_add",
    "Product Removed from Wishlist": "wishlist_remove",
    "Product Shared": "product_share",
    "Product Reviewed": "review",
    "Promotion Viewed": "promotion_view",
    "Promotion Clicked": "promotion_click",
    "Signed Up": "signup",
    "Signed In": "login",
    "Signed Out": "logout",
    "Email Opened": "email_open",
    "Email Link Clicked": "email_click",
    "Push Notification Opened": "push_notification_open",
    "Video Playback Started": "video_play",
    "Live Chat Conversation Started": "chat_started",
}

_FOLD = re.compile(r"[\s\-]+")


def fold(name: str) -> str:
    """Case- and separator-insensitive key of a name."""
    return _FOLD.sub("_", name.strip()).lower()


ALIASES: dict[str, str] = {fold(t): t for t in ACTIVITY_TYPES} | {
    fold(name): t for name, t in SEGMENT_NAMES.items()
}


def canonical_type(name: str) -> str | None:
    """The contract's snake-case type for ``name``, or None when it names no known type."""
    return ALIASES.get(fold(name))


# Which fields a type cannot do without (checked on top of the general rules).
PRODUCT_TYPES = (
    "product_view", "product_click", "add_to_cart", "remove_from_cart", "wishlist_add",
    "wishlist_remove", "rating", "question_asked", "product_share",
    "back_in_stock_subscribe", "price_alert_subscribe", "review",
)  # fmt: skip

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PRODUCT_TYPES, ("product_id",)),
    "search": ("query",),
    "category_browse": ("category",),
    "brand_browse": ("brand",),
    "coupon_applied": ("coupon",),
    "coupon_removed": ("coupon",),
    "purchase": ("order_id",),
    "order_refunded": ("order_id",),
    "order_cancelled": ("order_id",),
    "return_requested": ("order_id",),
    "recommendation_view": ("recommendation_id",),
    "recommendation_click": ("recommendation_id",),
    "bundle_view": ("bundle_id",),
    "bundle_click": ("bundle_id",),
    "bundle_add_to_cart": ("bundle_id",),
    "signup": ("user_id",),
    "login": ("user_id",),
}

IDENTIFY_TYPES = frozenset({"login", "signup"})

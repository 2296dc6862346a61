"""From viewed products to money: the cart (with co-purchase groups usually completed, often
through a discounted bundle offer), abandonment, checkout and payment, and what follows an
order - cancellation, return and refund, review and rating."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shopsense.demo.pages import BASE_URL, bundle_id

if TYPE_CHECKING:
    from shopsense.demo.sessions import Shopper, Simulator, Visit

GROUP_COMPLETION = 0.6  # chance a cart holding one product of a group gets the rest
BUNDLE_TAKE = 0.45  # share of those completions made through the bundle offer
BUNDLE_DISCOUNT = 0.10  # off each item's price when bought as the bundle
# What every demo offer stores as expected: the offered cart completes its group at the
# completion rate (take rate); the completions made item by item at list price are the
# sales the store had without the discount (base rate).
OFFER_TAKE_RATE = GROUP_COMPLETION
OFFER_BASE_RATE = round(GROUP_COMPLETION * (1 - BUNDLE_TAKE), 4)
OFFER_VALID = timedelta(hours=48)
COUPONS = (("SAVE15", 0.15), ("AUTUMN20", 0.2))
WELCOME = ("WELCOME10", 0.1)  # a customer's first order
PAYMENT_METHODS = ("card", "paypal", "apple_pay", "klarna")
PAYMENT_WEIGHTS = (0.6, 0.25, 0.1, 0.05)
FREE_SHIPPING_FROM = 50.0
REVIEW_TEXT = {
    1: ("Broke after a week, very disappointed.", "Not as described. Returning it."),
    2: ("Quality is below what I expected.", "Okay, but not worth the price."),
    3: ("Does the job, nothing special.", "Decent for the price."),
    4: ("Good quality and fast delivery.", "Very happy with it, would buy again."),
    5: ("Absolutely love it!", "Excellent quality, exactly as pictured.", "Perfect gift."),
}


@dataclass
class Line:
    """A cart line; ``bundle_id`` when it came in through a bundle offer, and ``price`` the
    unit price when it is not the list price (a bundle's, or a price test's)."""

    product: int
    quantity: int
    bundle_id: str | None = None
    price: float | None = None


@dataclass(frozen=True)
class Offer:
    """A bundle offer shown: its id, the co-purchase group it offers, the product it was
    offered with, where (``product`` page or ``cart``) and its ``bundle_view`` row."""

    bundle_id: str
    group: int
    anchor: int
    context: str
    row: dict[str, Any]


@dataclass
class Order:
    """A placed order, kept for what follows it."""

    order_id: str
    placed_at: datetime
    items: list[dict[str, Any]]
    revenue: float
    discount: float
    context: dict[str, Any]
    limit: datetime


def fill_cart(
    sim: Simulator, visit: Visit, shopper: Shopper, viewed: list[int], day: int, kind: str
) -> list[Line]:
    """The first product viewed and some of the others; a product of a co-purchase group
    brings the group's bundle offer, and usually the rest of the group (through the offer,
    at the bundle price, or one by one at list price)."""
    py = sim.py
    keep = 0.35 if kind == "purchase" else 0.25
    chosen = [viewed[0]] + [j for j in viewed[1:] if py.random() < keep]
    cart: list[Line] = []
    for j in dict.fromkeys(chosen):
        if not sim.price_tests.declines(j, visit.start):
            add(sim, visit, shopper, cart, j)
    offered: dict[int, str | None] = {}
    for j in [line.product for line in cart]:
        group = sim.group_of.get(j)
        if group is None:
            continue
        members = sim.catalog.co_purchase_groups[group]
        in_cart = {line.product for line in cart}
        others = [k for k in members if k not in in_cart]
        products = {"products": [sim.info[k]["product_id"] for k in members]}
        if others and group not in offered:
            offered[group] = offer(sim, visit, group, j, "cart", 3.0, None, properties=products)
        if py.random() >= GROUP_COMPLETION:
            continue
        shown = offered.get(group)
        if py.random() < BUNDLE_TAKE:
            gap = py.expovariate(1 / 6)
            if shown is None or not others:
                continue
            visit.emit("bundle_click", gap, None, bundle_id=shown)
            if not visit.emit(
                "bundle_add_to_cart", 3.0, None, bundle_id=shown, properties=products
            ):
                continue
            sim.bundles_accepted += 1
            for k in others:
                add(sim, visit, shopper, cart, k, shown, gap=0.5)
            for line in cart:
                if line.product in members:
                    line.bundle_id, line.price = shown, bundle_unit_price(sim, line.product)
        else:
            for k in others:
                sim.view(visit, shopper, k, day, gap=py.expovariate(1 / 10))
                add(sim, visit, shopper, cart, k)
    if len(cart) > 1 and py.random() < 0.15:
        line = cart.pop()
        visit.emit(
            "remove_from_cart",
            py.expovariate(1 / 10),
            "/cart",
            **sim.info[line.product],
            quantity=line.quantity,
        )
        for other in cart:  # a broken bundle is back at list price
            if line.bundle_id is not None and other.bundle_id == line.bundle_id:
                other.price = None
    return cart


def offer(
    sim: Simulator,
    visit: Visit,
    group: int,
    anchor: int,
    context: str,
    gap: float,
    page: str | None,
    **fields: Any,
) -> str | None:
    """Show the bundle of co-purchase ``group`` (a ``bundle_view`` with the offer's own id,
    which keeps the group's); the id, unless the session ran out first."""
    sim.n_offers += 1
    offer_id = f"{bundle_id(group)}-{sim.n_offers:05d}"
    if not visit.emit("bundle_view", gap, page, bundle_id=offer_id, **fields):
        return None
    sim.offers.append(Offer(offer_id, group, anchor, context, sim.rows[-1]))
    return offer_id


def bundle_unit_price(sim: Simulator, j: int) -> float:
    """Product ``j``'s price in a bundle: BUNDLE_DISCOUNT off, to the cent."""
    return round(sim.prices[j] * (1 - BUNDLE_DISCOUNT), 2)


def offer_row(sim: Simulator, shown: Offer) -> dict[str, Any]:
    """The ``bundle_recommendation`` row of an offer shown (read once ids are final): one of
    each product, the bundle price the sum of their bundle prices."""
    members = sim.catalog.co_purchase_groups[shown.group]
    list_price = round(sum(sim.prices[k] for k in members), 2)
    price = round(sum(bundle_unit_price(sim, k) for k in members), 2)
    cost = round(sum(float(sim.catalog.cost[k]) for k in members), 2)
    margin = round(price - cost, 2)
    view = shown.row
    return {
        "bundle_id": shown.bundle_id,
        "type": "complementary",
        "products": [
            {
                "product_id": sim.info[k]["product_id"],
                "name": sim.catalog.names[k],
                "price": sim.prices[k],
                "quantity": 1,
            }
            for k in members
        ],
        "list_price": list_price,
        "bundle_price": price,
        # The planted discount; the rounded price may differ from it by a cent per item.
        "discount_pct": round(100 * BUNDLE_DISCOUNT, 2),
        "expected_margin": margin,
        # The pricing's E(d): take rate x margin - base rate x margin at list price.
        "expected_profit": round(
            OFFER_TAKE_RATE * margin - OFFER_BASE_RATE * (list_price - cost), 2
        ),
        "take_rate": OFFER_TAKE_RATE,
        "base_rate": OFFER_BASE_RATE,
        "support": None,
        "lift": None,
        "reason": "demo offer",
        "user_id": view["user_id"],
        "anonymous_id": view["anonymous_id"],
        "session_id": view["session_id"],
        "context": shown.context,
        "product_id": sim.info[shown.anchor]["product_id"],
        "mining_id": None,
        "valid_until": view["timestamp"] + OFFER_VALID,
        "created_at": view["timestamp"],
    }


def add(
    sim: Simulator,
    visit: Visit,
    shopper: Shopper,
    cart: list[Line],
    j: int,
    bundle: str | None = None,
    gap: float | None = None,
    py: random.Random | None = None,
) -> bool:
    """Add product ``j`` (one, at the bundle price, through ``bundle``, if given); a
    wishlisted product leaves the wishlist. False if the session ran out first. ``py``
    draws the quantity and the time taken (else the simulator's own)."""
    py = py or sim.py
    r = py.random()
    quantity = 1 if r < 0.85 or bundle else 2 if r < 0.96 else 3
    price = sim.price(j, visit) if bundle is None else bundle_unit_price(sim, j)
    gap = py.expovariate(1 / 6) if gap is None else gap
    info = sim.info[j] | {"price": price}
    if not visit.emit(
        "add_to_cart", gap, sim.pages[j], **info, quantity=quantity, bundle_id=bundle
    ):
        return False
    cart.append(Line(j, quantity, bundle, None if price == sim.prices[j] else price))
    if j in shopper.wishlist:
        shopper.wishlist.remove(j)
        visit.emit("wishlist_remove", 1.0, None, **sim.info[j])
    return True


def unit_price(sim: Simulator, line: Line) -> float:
    return sim.prices[line.product] if line.price is None else line.price


def cart_value(sim: Simulator, cart: list[Line]) -> float:
    return round(sum(unit_price(sim, line) * line.quantity for line in cart), 2)


def payment_method(py: random.Random) -> str:
    return py.choices(PAYMENT_METHODS, PAYMENT_WEIGHTS)[0]


def abandon(sim: Simulator, visit: Visit, cart: list[Line]) -> None:
    """A cart left behind, sometimes only at the payment step."""
    py = sim.py
    if not cart:
        return
    value = cart_value(sim, cart)
    visit.emit("cart_view", py.expovariate(1 / 8), "/cart", value=value)
    if py.random() < 0.3:
        visit.emit("checkout_start", py.expovariate(1 / 10), "/checkout", value=value)
        visit.emit(
            "checkout_step",
            py.expovariate(1 / 30),
            "/checkout/shipping",
            properties={"step": 1, "step_name": "shipping"},
        )
        if py.random() < 0.25:
            visit.emit(
                "payment_info_entered",
                py.expovariate(1 / 40),
                "/checkout/payment",
                properties={"payment_method": payment_method(py)},
            )
    visit.emit("cart_abandonment", 1800.0, None, value=value, properties={"items": len(cart)})


def pay(
    sim: Simulator,
    visit: Visit,
    shopper: Shopper,
    cart: list[Line],
    *,
    py: random.Random | None = None,
    coupons: bool = True,
) -> Order | None:
    """Checkout steps, maybe a coupon (price-sensitive customers use more; none without
    ``coupons``), payment and the purchase event; the order, unless the session ran out
    first. ``py`` draws the shopper's steps (else the simulator's own)."""
    py = py or sim.py
    if not cart:
        return None
    value = cart_value(sim, cart)
    if py.random() < 0.7:
        visit.emit("cart_view", py.expovariate(1 / 8), "/cart", value=value)
    visit.emit("checkout_start", py.expovariate(1 / 10), "/checkout", value=value)
    visit.emit(
        "checkout_step",
        py.expovariate(1 / 40),
        "/checkout/shipping",
        properties={"step": 1, "step_name": "shipping"},
    )
    visit.emit(
        "checkout_step",
        py.expovariate(1 / 20),
        "/checkout/delivery",
        properties={"step": 2, "step_name": "delivery"},
    )
    coupon, rate = None, 0.0
    if coupons and shopper.user_id is not None and py.random() < 0.06 + 0.3 * shopper.sensitivity:
        coupon, rate = WELCOME if shopper.first_order else py.choice(COUPONS)
        visit.emit("coupon_applied", py.expovariate(1 / 15), None, coupon=coupon)
        if py.random() < 0.08:
            visit.emit("coupon_removed", py.expovariate(1 / 10), None, coupon=coupon)
            coupon, rate = None, 0.0
    method = payment_method(py)
    visit.emit(
        "payment_info_entered",
        py.expovariate(1 / 40),
        "/checkout/payment",
        properties={"payment_method": method},
    )
    items = [
        {
            "product_id": sim.info[line.product]["product_id"],
            "quantity": line.quantity,
            "price": unit_price(sim, line),
        }
        for line in cart
    ]
    discount = round(value * rate, 2)
    sim.n_orders += 1
    order_id = f"o{sim.n_orders:06d}"
    placed = visit.emit(
        "purchase",
        py.expovariate(1 / 20),
        "/checkout/confirmation",
        order_id=order_id,
        items=items,
        bundle_id=next((line.bundle_id for line in cart if line.bundle_id), None),
        revenue=round(value - discount, 2),
        discount=discount,
        coupon=coupon,
        properties={
            "shipping": 0.0 if value >= FREE_SHIPPING_FROM else 4.95,
            "payment_method": method,
        },
    )
    if not placed:
        return None
    # An order without the coupon step leaves the welcome coupon for the next one.
    if visit.context["user_id"] is not None and coupons:
        shopper.first_order = False
    if not visit.converted:
        sim.converted_sessions += 1
        visit.converted = True
    row = sim.rows[-1]
    order = Order(
        order_id, row["timestamp"], items, row["revenue"], discount, visit.context, visit.limit
    )
    sim.orders.append(order)
    return order


def after_order(
    sim: Simulator, order: Order, return_rate: float, py: random.Random | None = None
) -> None:
    """Cancellation, or return and refund, or a review or rating - each dated after the
    order and written only while the shopper is still active (``py`` draws them, else the
    simulator's own)."""
    py = py or sim.py
    context = {**order.context, "session_id": None}

    def later(type_: str, seconds: float, page: str | None, **fields: Any) -> bool:
        stamp = order.placed_at + timedelta(seconds=round(seconds))
        if stamp >= order.limit:
            return False
        row = sim.row(type_, stamp, context, fields)
        row["page_path"] = page
        row["page_url"] = BASE_URL + page if page else None
        return True

    r = py.random()
    if r < 0.02:
        later(
            "order_cancelled",
            py.uniform(600, 7200),
            "/account/orders",
            order_id=order.order_id,
            properties={"reason": "changed_mind"},
        )
        return
    if r < 0.02 + return_rate:
        days = py.uniform(3, 12)
        if later("return_requested", days * 86400, "/account/returns", order_id=order.order_id):
            partial = len(order.items) > 1 and py.random() < 0.5
            items = [py.choice(order.items)] if partial else order.items
            paid_share = order.revenue / (order.revenue + order.discount or 1.0)
            amount = (
                round(sum(i["price"] * i["quantity"] for i in items) * paid_share, 2)
                if partial
                else order.revenue
            )
            later(
                "order_refunded",
                (days + py.uniform(2, 6)) * 86400,
                None,
                order_id=order.order_id,
                items=items,
                revenue=amount,
            )
        return
    if context["user_id"] is None:
        return
    item = py.choice(order.items)
    j = sim.index[item["product_id"]]
    rating = max(1, min(5, round(py.gauss(sim.quality[j], 0.9))))
    r = py.random()
    if r < 0.12:
        later(
            "review",
            py.uniform(4, 20) * 86400,
            sim.pages[j],
            **sim.info[j],
            rating=rating,
            review_text=py.choice(REVIEW_TEXT[rating]),
        )
    elif r < 0.22:
        later("rating", py.uniform(4, 20) * 86400, sim.pages[j], **sim.info[j], rating=rating)

"""From viewed products to money: the cart (with co-purchase groups usually completed),
abandonment, checkout and payment, and what follows an order - cancellation, return and
refund, review and rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shopsense.demo.pages import BASE_URL, bundle_id

if TYPE_CHECKING:
    from shopsense.demo.sessions import Shopper, Simulator, Visit

GROUP_COMPLETION = 0.6  # chance a cart holding one product of a group gets the rest
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
    """A cart line; ``bundle_id`` when it came in through a bundle offer."""

    product: int
    quantity: int
    bundle_id: str | None = None


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
    """The first product viewed, some of the others, and for a product of a co-purchase
    group usually the rest of its group (through the bundle offer or one by one)."""
    py = sim.py
    keep = 0.35 if kind == "purchase" else 0.25
    chosen = [viewed[0]] + [j for j in viewed[1:] if py.random() < keep]
    cart: list[Line] = []
    for j in dict.fromkeys(chosen):
        add(sim, visit, shopper, cart, j)
    for j in [line.product for line in cart]:
        group = sim.group_of.get(j)
        if group is None or py.random() >= GROUP_COMPLETION:
            continue
        members = sim.catalog.co_purchase_groups[group]
        in_cart = {line.product for line in cart}
        others = [k for k in members if k not in in_cart]
        offer = bundle_id(group)
        if py.random() < 0.45:
            products = {"products": [sim.info[k]["product_id"] for k in members]}
            visit.emit("bundle_view", 3.0, None, bundle_id=offer, properties=products)
            visit.emit("bundle_click", py.expovariate(1 / 6), None, bundle_id=offer)
            visit.emit("bundle_add_to_cart", 3.0, None, bundle_id=offer, properties=products)
            for k in others:
                add(sim, visit, shopper, cart, k, offer, gap=0.5)
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
    return cart


def add(
    sim: Simulator,
    visit: Visit,
    shopper: Shopper,
    cart: list[Line],
    j: int,
    offer: str | None = None,
    gap: float | None = None,
) -> None:
    """Add product ``j`` (through bundle ``offer``, if given); a wishlisted product leaves
    the wishlist."""
    py = sim.py
    r = py.random()
    quantity = 1 if r < 0.85 else 2 if r < 0.96 else 3
    gap = py.expovariate(1 / 6) if gap is None else gap
    if visit.emit(
        "add_to_cart", gap, sim.pages[j], **sim.info[j], quantity=quantity, bundle_id=offer
    ):
        cart.append(Line(j, quantity, offer))
        if j in shopper.wishlist:
            shopper.wishlist.remove(j)
            visit.emit("wishlist_remove", 1.0, None, **sim.info[j])


def cart_value(sim: Simulator, cart: list[Line]) -> float:
    return round(sum(sim.prices[line.product] * line.quantity for line in cart), 2)


def payment_method(sim: Simulator) -> str:
    return sim.py.choices(PAYMENT_METHODS, PAYMENT_WEIGHTS)[0]


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
                properties={"payment_method": payment_method(sim)},
            )
    visit.emit("cart_abandonment", 1800.0, None, value=value, properties={"items": len(cart)})


def pay(sim: Simulator, visit: Visit, shopper: Shopper, cart: list[Line]) -> Order | None:
    """Checkout steps, maybe a coupon (price-sensitive customers use more), payment and the
    purchase event; the order, unless the session ran out first."""
    py = sim.py
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
    if shopper.user_id is not None and py.random() < 0.06 + 0.3 * shopper.sensitivity:
        coupon, rate = WELCOME if shopper.first_order else py.choice(COUPONS)
        visit.emit("coupon_applied", py.expovariate(1 / 15), None, coupon=coupon)
        if py.random() < 0.08:
            visit.emit("coupon_removed", py.expovariate(1 / 10), None, coupon=coupon)
            coupon, rate = None, 0.0
    method = payment_method(sim)
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
            "price": sim.prices[line.product],
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
    if visit.context["user_id"] is not None:
        shopper.first_order = False
    sim.converted_sessions += 1
    row = sim.rows[-1]
    order = Order(
        order_id, row["timestamp"], items, row["revenue"], discount, visit.context, visit.limit
    )
    sim.orders.append(order)
    return order


def after_order(sim: Simulator, order: Order, return_rate: float) -> None:
    """Cancellation, or return and refund, or a review or rating - each dated after the
    order and written only while the shopper is still active."""
    py = sim.py
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

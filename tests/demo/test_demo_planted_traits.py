"""What the generator plants can be found again with plain SQL over what it stored."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import combinations
from statistics import mean, median
from typing import Any

import pytest
from demokit import TRAIT_SPEC
from sqlalchemy import Connection, text

from shopsense.db.session import Database
from shopsense.tracking.activity_types import ACTIVITY_TYPES

Planted = tuple[Database, dict[str, Any]]


def query(conn: Connection, sql: str, **params: Any) -> list[Any]:
    return list(conn.execute(text(sql), params).all())


def as_datetime(value: Any) -> datetime:
    """SQLite answers raw SQL times as text; PostgreSQL as datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def users(planted: Planted) -> dict[str, dict[str, Any]]:
    return planted[1]["users"]


def test_every_reported_type_is_stored_with_its_count(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        stored = dict(query(conn, "SELECT type, COUNT(*) FROM user_activity GROUP BY type"))
    assert stored == truth["counts"]["events_by_type"]
    assert set(stored) <= set(ACTIVITY_TYPES)
    assert len(stored) >= 48, sorted(set(ACTIVITY_TYPES) - set(stored))
    # views far outnumber carts, carts far outnumber purchases
    assert stored["product_view"] > 4 * stored["add_to_cart"] > 4 * stored["purchase"]
    assert 0.02 <= truth["counts"]["session_conversion"] <= 0.05


def test_orders_are_the_purchase_events(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        (purchases,) = query(conn, "SELECT COUNT(*) FROM user_activity WHERE type = 'purchase'")
        (orders,) = query(conn, "SELECT COUNT(*) FROM orders")
        (refunds,) = query(conn, "SELECT COUNT(*) FROM refunds")
        (refund_events,) = query(
            conn, "SELECT COUNT(*) FROM user_activity WHERE type = 'order_refunded'"
        )
        statuses = dict(query(conn, "SELECT status, COUNT(*) FROM orders GROUP BY status"))
    assert purchases[0] == orders[0] == truth["counts"]["orders"] > 150
    assert refunds[0] == refund_events[0] > 0
    assert statuses.get("refunded", 0) + statuses.get("partially_refunded", 0) > 0
    assert statuses.get("cancelled", 0) > 0


def test_users_sign_up_through_their_channel(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        stored = dict(query(conn, "SELECT user_id, signup_channel FROM users"))
        first = query(
            conn,
            "SELECT a.user_id, a.utm_source, a.utm_medium FROM user_activity a JOIN "
            "(SELECT MIN(id) AS id FROM user_activity WHERE user_id IS NOT NULL GROUP BY user_id)"
            " f ON f.id = a.id",
        )
    assert stored == {uid: u["channel"] for uid, u in users.items()}
    # the first event of a customer's history carries the utm tags of their channel
    assert {uid: (src, medium) for uid, src, medium in first} == {
        uid: (u["utm_source"], u["utm_medium"]) for uid, u in users.items()
    }


def test_anonymous_history_is_merged_at_signup(planted: Planted, users: dict[str, Any]) -> None:
    db, truth = planted
    with db.read() as conn:
        linked = {uid for (uid,) in query(conn, "SELECT DISTINCT user_id FROM user_identities")}
        signup_day = dict(
            query(
                conn,
                "SELECT user_id, MIN(timestamp) FROM user_activity "
                "WHERE type = 'signup' GROUP BY user_id",
            )
        )
        first_seen = dict(query(conn, "SELECT user_id, first_seen FROM users"))
        (anonymous,) = query(
            conn, "SELECT COUNT(*) FROM user_activity WHERE user_id IS NULL AND NOT is_bot"
        )
        bots = query(conn, "SELECT DISTINCT device_type, user_id FROM user_activity WHERE is_bot")
    merged = [uid for uid, u in users.items() if u["pre_signup_sessions"] > 0]
    assert len(merged) == truth["counts"]["anonymous_visitors_merged"] > 100
    assert set(merged) <= linked
    # their history now starts before the signup that identified them
    assert all(as_datetime(first_seen[u]) < as_datetime(signup_day[u]) for u in merged)
    assert anonymous[0] > 1000  # visitors who never identify stay anonymous
    assert [tuple(b) for b in bots] == [("bot", None)]


def test_loyal_customers_buy_their_favourite_brand(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        lines = query(
            conn,
            "SELECT o.user_id, p.brand FROM order_items i JOIN orders o USING (order_id) "
            "JOIN products p ON p.product_id = i.product_id WHERE o.user_id IS NOT NULL",
        )
    bought: dict[str, list[str]] = defaultdict(list)
    for uid, brand in lines:
        bought[uid].append(brand)

    def share(low: float, high: float) -> float:
        shares = [
            sum(b == users[uid]["favourite_brand"] for b in brands) / len(brands)
            for uid, brands in bought.items()
            if low <= users[uid]["brand_loyalty"] <= high
        ]
        assert len(shares) > 20
        return mean(shares)

    # Planted loyalty is uniform on 0-0.9: the most loyal buy their brand far more often.
    assert share(0.6, 0.9) > 0.45
    assert share(0.6, 0.9) > 2 * share(0.0, 0.2)


def test_price_sensitivity_sets_where_in_a_category_customers_buy(
    planted: Planted, users: dict[str, Any]
) -> None:
    db, _ = planted
    with db.read() as conn:
        lines = query(
            conn,
            "SELECT o.user_id, r.pct FROM order_items i JOIN orders o USING (order_id) JOIN "
            "(SELECT product_id, PERCENT_RANK() OVER (PARTITION BY category ORDER BY price) "
            "AS pct FROM products) r ON r.product_id = i.product_id "
            "WHERE o.user_id IS NOT NULL",
        )
    by_segment: dict[str, list[float]] = defaultdict(list)
    for uid, pct in lines:
        by_segment[users[uid]["price_segment"]].append(float(pct))
    budget, mid, premium = (mean(by_segment[s]) for s in ("budget", "mid", "premium"))
    assert budget < mid < premium
    assert premium - budget > 0.3


def test_customers_shop_at_their_peak_hour(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        events = query(
            conn, "SELECT user_id, type, timestamp FROM user_activity WHERE user_id IS NOT NULL"
        )
    every: dict[str, Counter[int]] = defaultdict(Counter)
    purchases: dict[str, Counter[int]] = defaultdict(Counter)
    for uid, type_, stamp in events:
        hour = as_datetime(stamp).hour
        every[uid][hour] += 1
        if type_ == "purchase":
            purchases[uid][hour] += 1

    def matches(counts: dict[str, Counter[int]], least: int) -> float:
        hits = [
            users[uid]["peak_hour"] in {h for h, n in c.items() if n == max(c.values())}
            for uid, c in counts.items()
            if sum(c.values()) >= least
        ]
        assert len(hits) > 100
        return mean(hits)

    assert matches(purchases, least=1) > 0.5  # the modal purchase hour, for most buyers
    assert matches(every, least=30) > 0.9


def test_customers_prefer_their_weekdays(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        sessions = query(
            conn,
            "SELECT user_id, MIN(timestamp) FROM user_activity "
            "WHERE user_id IS NOT NULL AND session_id IS NOT NULL GROUP BY user_id, session_id",
        )
    on_preferred = expected = 0.0
    for uid, start in sessions:
        preferred = users[uid]["preferred_weekdays"]
        on_preferred += as_datetime(start).weekday() in preferred
        expected += len(preferred) / 7
    assert on_preferred > 1.4 * expected


def test_main_device_is_the_most_used(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        counts = query(
            conn,
            "SELECT user_id, device_type, COUNT(*) FROM user_activity "
            "WHERE user_id IS NOT NULL GROUP BY user_id, device_type",
        )
    devices: dict[str, Counter[str]] = defaultdict(Counter)
    for uid, device, n in counts:
        devices[uid][device] = n
    hits = [
        c.most_common(1)[0][0] == users[uid]["main_device"]
        for uid, c in devices.items()
        if sum(c.values()) >= 10
    ]
    assert len(hits) > 300
    assert mean(hits) > 0.9


def test_churners_go_silent_after_their_churn_date(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        last = dict(
            query(
                conn,
                "SELECT user_id, MAX(timestamp) FROM user_activity "
                "WHERE user_id IS NOT NULL GROUP BY user_id",
            )
        )
    churners = {uid: u["churn_date"] for uid, u in users.items() if u["churned"]}
    assert 0.1 < len(churners) / len(users) < 0.3
    for uid, churn in churners.items():
        assert as_datetime(last[uid]).date() <= date.fromisoformat(churn), uid
    stayed = sorted(as_datetime(last[u]) for u in users if u not in churners)
    gone = sorted(as_datetime(last[u]) for u in churners)
    assert stayed[len(stayed) // 2] > gone[len(gone) // 2] + timedelta(days=7)


def test_planted_purchase_rate_drives_orders(planted: Planted, users: dict[str, Any]) -> None:
    db, _ = planted
    with db.read() as conn:
        orders = dict(
            query(
                conn,
                "SELECT user_id, COUNT(*) FROM orders WHERE user_id IS NOT NULL GROUP BY user_id",
            )
        )
    end = TRAIT_SPEC.end
    rate = {}
    for uid, u in users.items():
        stop = date.fromisoformat(u["churn_date"]) if u["churned"] else end
        active = (stop - date.fromisoformat(u["signup_date"])).days + 1
        if active >= 20:
            rate[uid] = orders.get(uid, 0) * 30 / active
    ranked = sorted(rate, key=lambda uid: users[uid]["purchase_rate"])
    quarter = len(ranked) // 4
    low = mean(rate[uid] for uid in ranked[:quarter])
    high = mean(rate[uid] for uid in ranked[-quarter:])
    assert high > 4 * low


def test_co_purchase_groups_are_bought_together(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        lines = query(conn, "SELECT order_id, product_id FROM order_items")
    baskets: dict[str, set[str]] = defaultdict(set)
    for order_id, product_id in lines:
        baskets[order_id].add(product_id)
    n = len(baskets)
    alone = Counter(p for basket in baskets.values() for p in basket)
    lifts = []
    for group in truth["co_purchase_groups"]:
        assert len({c.split("/")[0] for c in group["categories"]}) == len(group["products"])
        together = [
            sum(1 for basket in baskets.values() if {a, b} <= basket)
            for a, b in combinations(group["products"], 2)
        ]
        assert max(together) >= 2, group
        lifts += [
            t * n / (alone[a] * alone[b])
            for t, (a, b) in zip(together, combinations(group["products"], 2), strict=True)
            if t
        ]
    assert len(truth["co_purchase_groups"]) >= 3
    assert median(lifts) > 5


def test_seasonal_products_peak_in_their_season(planted: Planted) -> None:
    db, truth = planted
    start, days = TRAIT_SPEC.start, TRAIT_SPEC.days
    with db.read() as conn:
        views = query(
            conn,
            "SELECT product_id, timestamp FROM user_activity "
            "WHERE type = 'product_view' AND NOT is_bot",
        )
    third = days // 3
    early, late = Counter[str](), Counter[str]()
    for product_id, stamp in views:
        day = (as_datetime(stamp).date() - start).days
        if day < third:
            early[product_id] += 1
        elif day >= days - third:
            late[product_id] += 1

    def late_over_early(season: str) -> float:
        products = truth["seasonal_products"][season]["products"]
        assert products
        share_late = sum(late[p] for p in products) / late.total()
        share_early = sum(early[p] for p in products) / early.total()
        return share_late / share_early

    assert late_over_early("christmas") > 2  # the history ends on November 1st
    assert late_over_early("summer") < 0.5


def test_slow_movers_sit_on_stock(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        stock = dict(query(conn, "SELECT product_id, stock FROM products"))
        views = dict(
            query(
                conn,
                "SELECT product_id, COUNT(*) FROM user_activity "
                "WHERE type = 'product_view' AND NOT is_bot GROUP BY product_id",
            )
        )
    slow = truth["slow_movers"]
    assert slow and all(stock[p] >= 300 for p in slow)
    assert all(stock[p] <= 3 for p in truth["low_stock"])
    others = [views.get(p, 0) for p in stock if p not in slow]
    assert mean(views.get(p, 0) for p in slow) < 0.2 * mean(others)


def test_spend_follows_paid_channels(planted: Planted) -> None:
    db, truth = planted
    with db.read() as conn:
        spend = {
            c: float(a)
            for c, a in query(
                conn, "SELECT channel, SUM(amount) FROM marketing_spend GROUP BY channel"
            )
        }
    channels = truth["channels"]
    assert set(spend) == {name for name, c in channels.items() if c["target_cac"]}
    for name, amount in spend.items():
        assert amount == pytest.approx(channels[name]["spend"], abs=0.01 * len(spend) + 0.05)
        assert channels[name]["cac"] == pytest.approx(channels[name]["target_cac"], rel=0.15)
    assert all(c["spend"] == 0 for c in channels.values() if not c["target_cac"])


def test_recommendation_experiment_arms_differ(planted: Planted) -> None:
    db, _ = planted
    with db.read() as conn:
        arms = query(
            conn,
            "SELECT variant, type, COUNT(*) FROM user_activity WHERE experiment IS NOT NULL "
            "GROUP BY variant, type",
        )
    counts = {(variant, type_): n for variant, type_, n in arms}

    def ctr(variant: str) -> float:
        views = counts[variant, "recommendation_view"]
        assert views > 200
        return counts[variant, "recommendation_click"] / views

    assert ctr("treatment") > ctr("control")
